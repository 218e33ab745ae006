//! The ceiling: pgbench running, per request, the SQL the API runs, taken
//! from the API's own constants, on the same database as the same role.
//!
//! Not pgbench's `-M prepared`: it binds every variable as text, so it cannot
//! bind the NULLs the API binds (7 of the 10 parameters of a list), and it
//! leaves parameter types to the server. Instead each connection prepares the statements
//! once with `PREPARE`, with the parameter types sqlx declares, as the API's
//! connections do on first use, and each transaction runs them with `EXECUTE`
//! and the values the API binds, NULLs included. The server therefore plans
//! and caches exactly as it does for the API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use shopfleet_api::catalog::sql;
use shopfleet_api::db;
use shopfleet_api::ids::ProductId;

use crate::scenario::{Read, Scenario};
use crate::store::{CURRENCY, PAGE, Store};
use crate::{Load, Measurement};

/// pgbench reads at most this many scripts; a scenario is one per request.
pub const MAX_SCRIPTS: usize = 128;

/// A query of the API, and the types sqlx declares for its parameters (from
/// the Rust types the API binds, in the order of the doc comments).
struct Statement {
    name: &'static str,
    sql: &'static str,
    parameter_types: &'static [&'static str],
}

/// store, status, kind, category, min price, max price, cursor id, cursor
/// rank, search, limit: both list queries bind all ten.
const PRODUCT_FILTER_TYPES: &[&str] = &[
    "uuid", "text", "text", "uuid", "bigint", "bigint", "uuid", "real", "text", "bigint",
];
const LIST_PRODUCTS: Statement = Statement {
    name: "list_products",
    sql: sql::LIST_PRODUCTS,
    parameter_types: PRODUCT_FILTER_TYPES,
};
const SEARCH_PRODUCTS: Statement = Statement {
    name: "search_products",
    sql: sql::SEARCH_PRODUCTS,
    parameter_types: PRODUCT_FILTER_TYPES,
};
const PRODUCT: Statement = Statement {
    name: "product",
    sql: sql::PRODUCT,
    parameter_types: &["uuid", "text"],
};
const VARIANTS_OF: Statement = Statement {
    name: "variants_of",
    sql: sql::VARIANTS_OF,
    parameter_types: &["uuid[]", "text"],
};

impl Statement {
    /// `PREPARE`, after checking that the SQL has as many parameters as we bind.
    fn prepare(&self) -> Result<String> {
        let highest = highest_parameter(self.sql);
        ensure!(
            highest == self.parameter_types.len(),
            "the API's {} query now has {highest} parameters, the benchmark binds {}: update \
             bench/src/bin/api-load/ceiling.rs from the query's doc comment",
            self.name,
            self.parameter_types.len()
        );
        Ok(format!(
            "PREPARE {}({}) AS {};",
            self.name,
            self.parameter_types.join(", "),
            self.sql
        ))
    }

    /// `EXECUTE` with `values` for $1, $2, ... (None: NULL).
    fn execute(&self, values: &[Option<String>]) -> String {
        assert_eq!(values.len(), self.parameter_types.len(), "{}", self.name);
        let values: Vec<&str> = values.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
        format!("EXECUTE {}({});", self.name, values.join(", "))
    }
}

/// The highest `$n` in `sql`.
fn highest_parameter(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// A value to bind, as a SQL string literal.
fn literal(value: &str) -> Option<String> {
    Some(format!("'{}'", value.replace('\'', "''")))
}

/// Ids to bind, as a `uuid[]` literal.
fn id_array(ids: &[ProductId]) -> Option<String> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    literal(&format!("{{{}}}", ids.join(",")))
}

/// The pgbench script of one request: what the API runs for it, in order.
fn script(read: &Read, store: &Store) -> Result<String> {
    let store_id = literal(&store.id.to_string());
    let currency = literal(CURRENCY);
    // Shoppers (a publishable key) read active products only.
    let active = literal("active");
    let limit = Some((PAGE + 1).to_string());
    // What both list queries bind for a shopper's first page, $1 to $10.
    let first_page = |search: Option<String>| {
        let mut values = vec![store_id.clone(), active.clone()];
        // kind, category, min price, max price, cursor id, cursor rank: none
        values.extend([None, None, None, None, None, None]);
        values.extend([search, limit.clone()]);
        values
    };
    let queries: Vec<(&Statement, Vec<Option<String>>)> = match read {
        Read::List { page } => vec![
            (&LIST_PRODUCTS, first_page(None)),
            (&VARIANTS_OF, vec![id_array(page), currency]),
        ],
        Read::Get { product } => vec![
            (&PRODUCT, vec![literal(&product.to_string()), active.clone()]),
            (&VARIANTS_OF, vec![id_array(&[*product]), currency]),
        ],
        Read::Search { word, page } => vec![
            (&SEARCH_PRODUCTS, first_page(literal(word))),
            (&VARIANTS_OF, vec![id_array(page), currency]),
        ],
    };

    let mut lines = vec![
        format!("-- api-load: `GET {}`, as the API runs it", read.path(store.id)),
        // Variables are per connection: the first transaction of each prepares.
        r"\if :prepared = 0".to_owned(),
    ];
    for (statement, _) in &queries {
        lines.push(statement.prepare()?);
    }
    lines.extend([r"\set prepared 1".to_owned(), r"\endif".to_owned()]);
    // The API keeps the store's row and the key's lookup for a few seconds,
    // so in steady state a request opens the store's transaction at once: its
    // BEGIN and RLS setting in one round trip (`\;` sends both together).
    lines.push(format!(
        "{};",
        db::scope_statement(store.id).replace("; ", "\\; ")
    ));
    for (statement, values) in &queries {
        lines.push(statement.execute(values));
    }
    lines.push("COMMIT;".to_owned());
    Ok(lines.join("\n") + "\n")
}

/// pgbench from the PostgreSQL server's folder, as the e2e library finds the
/// server: on PATH (not Debian's wrapper), else the newest
/// `/usr/lib/postgresql/<major>/bin`.
pub fn find() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .filter_map(|dir| dir.join("pgbench").canonicalize().ok())
        .find(|program| program.file_name().is_some_and(|name| name == "pgbench"));
    let newest_server = || {
        let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let major = entry.file_name().to_str()?.parse().ok()?;
                Some((major, entry.path().join("bin/pgbench")))
            })
            .filter(|(major, program)| *major >= 15 && program.is_file())
            .collect();
        majors.sort();
        majors.pop().map(|(_, program)| program)
    };
    on_path.or_else(newest_server).context(
        "pgbench is missing: it comes with the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`)",
    )
}

/// Runs pgbench on `scenario`: one script per request, picked at random per
/// transaction; the percentiles come from its log of every transaction.
pub fn run(
    pgbench: &Path,
    dir: &Path,
    scenario: &Scenario,
    store: &Store,
    load: &Load,
) -> Result<Measurement> {
    ensure!(
        scenario.reads.len() <= MAX_SCRIPTS,
        "{} has {} requests; pgbench takes at most {MAX_SCRIPTS} scripts",
        scenario.name,
        scenario.reads.len()
    );
    let scripts = dir.join(format!("pgbench-{}", scenario.name));
    std::fs::create_dir_all(&scripts)?;
    let mut command = Command::new(pgbench);
    for (i, read) in scenario.reads.iter().enumerate() {
        let path = scripts.join(format!("{i}.sql"));
        std::fs::write(&path, script(read, store)?)?;
        command.arg(format!("--file={}", path.display()));
    }
    let log_prefix = scripts.join("latency");
    let runtime = &store.runtime;
    let output = command
        .args(["--no-vacuum", "--protocol=simple", "--define=prepared=0", "--log"])
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .arg(format!("--client={}", load.connections))
        .arg(format!("--jobs={}", load.threads))
        .arg(format!("--time={}", load.seconds))
        .arg(format!("--host={}", runtime.host))
        .arg(format!("--port={}", runtime.port))
        .arg(format!("--username={}", runtime.user))
        .arg(&runtime.database)
        .env("PGPASSWORD", &runtime.password)
        .output()
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = dir.join(format!("pgbench-{}.txt", scenario.name));
    std::fs::write(&log, [&output.stdout[..], &output.stderr[..]].concat())?;
    if !output.status.success() {
        bail!(
            "pgbench failed on {} ({}): {}",
            scenario.name,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let failed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("number of failed transactions: "))
        .context("pgbench printed no count of failed transactions")?;
    ensure!(
        failed.starts_with("0 "),
        "pgbench had failed transactions on {}: {failed} (its output: {})",
        scenario.name,
        log.display()
    );
    let per_second: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("pgbench printed no tps (its output: {})", log.display()))?;

    let mut latencies = transaction_latencies(&scripts)?;
    ensure!(!latencies.is_empty(), "pgbench logged no transactions");
    latencies.sort_unstable();
    Ok(Measurement {
        count: latencies.len() as u64,
        per_second,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    })
}

/// Every transaction's latency from pgbench's logs (one file per thread:
/// `client transaction latency_us script epoch_s epoch_us`).
fn transaction_latencies(dir: &Path) -> Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("latency."))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let micros: u64 = line
                .split_whitespace()
                .nth(2)
                .and_then(|field| field.parse().ok())
                .with_context(|| format!("{}: no latency in {line:?}", path.display()))?;
            latencies.push(Duration::from_micros(micros));
        }
    }
    Ok(latencies)
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_parameter_reads_multi_digit_numbers() {
        assert_eq!(highest_parameter("a = $1 AND b = $10 AND c = $2::text"), 10);
        assert_eq!(highest_parameter("no parameters"), 0);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&values[..1], 99.0), Duration::from_micros(1));
    }
}
