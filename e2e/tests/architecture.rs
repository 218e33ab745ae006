//! The source files of the API and the operator import each other without
//! cycles: each file can be read knowing only what it imports, and a change
//! low in the stack never has to reach back up. An edge is any `crate::…`,
//! `super::…` or `self::…` path in a file's code (not its comments or its
//! unit tests), resolved to the file that defines the module it names.
//! Declaring a child module (`mod x;`) is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file, as its module path from the crate root (`orders/change`).
type Node = String;

#[test]
fn the_api_has_no_import_cycle() {
    let graph = Graph::of_crate("api");
    graph.assert_sound(&[
        ("orders/place", "promotions/apply"),
        ("catalog/products", "access"),
    ]);
    graph.assert_acyclic();
}

#[test]
fn the_operator_has_no_import_cycle() {
    let graph = Graph::of_crate("operator");
    graph.assert_sound(&[("tenant/mod", "context")]);
    graph.assert_acyclic();
}

struct Graph {
    name: &'static str,
    edges: BTreeMap<Node, BTreeSet<Node>>,
}

impl Graph {
    fn of_crate(name: &'static str) -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(name)
            .join("src");
        let mut edges: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
        for file in rust_files(&src) {
            let node = node_of(&src, &file);
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            let module = module_of(&node);
            for path in paths_in(&code_of(&text)) {
                let target = match path.first().map(String::as_str) {
                    Some("crate") => resolve(&src, &path[1..]),
                    Some("super") => resolve(
                        &src,
                        &[&module[..module.len().saturating_sub(1)], &path[1..]].concat(),
                    ),
                    Some("self") => resolve(&src, &[&module[..], &path[1..]].concat()),
                    _ => None,
                };
                if let Some(target) = target.filter(|target| *target != node) {
                    edges.entry(node.clone()).or_default().insert(target);
                }
            }
            edges.entry(node).or_default();
        }
        Self { name, edges }
    }

    /// Guards against a parser that finds nothing: known edges must be there.
    fn assert_sound(&self, known: &[(&str, &str)]) {
        let count: usize = self.edges.values().map(BTreeSet::len).sum();
        assert!(
            self.edges.len() > 10 && count > 30,
            "{}: only {} files and {count} imports found",
            self.name,
            self.edges.len()
        );
        for (from, to) in known {
            assert!(
                self.edges.get(*from).is_some_and(|targets| targets.contains(*to)),
                "{}: expected {from} to import {to}; found {:?}",
                self.name,
                self.edges.get(*from)
            );
        }
    }

    fn assert_acyclic(&self) {
        let mut done = BTreeSet::new();
        for start in self.edges.keys() {
            let mut path = Vec::new();
            if let Some(cycle) = self.cycle_from(start, &mut path, &mut done) {
                panic!("{}: import cycle: {}", self.name, cycle.join(" → "));
            }
        }
    }

    /// Depth-first search; the cycle found through `node`, if any.
    fn cycle_from(&self, node: &Node, path: &mut Vec<Node>, done: &mut BTreeSet<Node>) -> Option<Vec<Node>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in self.edges.get(node).into_iter().flatten() {
            if let Some(cycle) = self.cycle_from(next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `orders/change.rs` → `orders/change`; `orders/mod.rs` → `orders/mod`.
fn node_of(src: &Path, file: &Path) -> Node {
    let relative = file.strip_prefix(src).expect("a file under src");
    relative.with_extension("").to_string_lossy().replace('\\', "/")
}

/// The module path a file defines: `orders/mod` and `orders/change` → `[orders]`, `[orders, change]`.
fn module_of(node: &str) -> Vec<String> {
    let mut parts: Vec<String> = node.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The file defining the longest prefix of `path` that is a module.
fn resolve(src: &Path, path: &[String]) -> Option<Node> {
    (1..=path.len()).rev().find_map(|n| {
        let dir = path[..n].join("/");
        if src.join(format!("{dir}.rs")).is_file() {
            Some(dir)
        } else if src.join(&dir).join("mod.rs").is_file() {
            Some(format!("{dir}/mod"))
        } else {
            None
        }
    })
}

/// The code of a file without comments and without its unit tests.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting with `crate`, `super` or `self`, with `{a, b::c}`
/// groups expanded one level: `crate::{a, b::c}` gives `crate::a` and `crate::b`.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(root) {
            let start = from + at;
            from = start + root.len();
            let preceded_by_ident =
                start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            if preceded_by_ident {
                continue;
            }
            let mut path = vec![root.trim_end_matches("::").to_owned()];
            let mut rest = &code[from..];
            loop {
                let ident: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    path.push(ident.clone());
                    rest = &rest[ident.len()..];
                    if let Some(after) = rest.strip_prefix("::") {
                        rest = after;
                        continue;
                    }
                    paths.push(path);
                } else if let Some(group) = rest.strip_prefix('{') {
                    for item in top_level_items(group) {
                        let first: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !first.is_empty() {
                            paths.push([path.clone(), vec![first]].concat());
                        }
                    }
                } else {
                    paths.push(path);
                }
                break;
            }
        }
    }
    paths
}

/// The comma-separated items of a `{…}` group (the text after its `{`).
fn top_level_items(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items
}

#[test]
fn paths_are_read_from_uses_groups_and_expressions() {
    let code = "use crate::{a, b::{c, d}};\nuse super::e::F;\nlet x = self::g::h();\nmy_crate::z;";
    let found: Vec<String> = paths_in(code).iter().map(|p| p.join("::")).collect();
    assert_eq!(found, ["crate::a", "crate::b", "super::e::F", "self::g::h"]);
}
