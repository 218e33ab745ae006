//! The real Kubernetes binaries, built with Go from the published modules and
//! cached per machine.
//!
//! `e2e/kube/go.mod` pins k8s.io/kubernetes (and with it etcd); `e2e/kwok/go.mod`
//! pins kwok. The binaries land in `<cache>/k8s-<version>-<hash>/`, where the hash
//! covers both modules' go.mod and go.sum, so a version bump builds afresh and an
//! unchanged one never builds twice. Only the first run on a machine pays the
//! build (about 10-20 minutes on 2 cores).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Bump when the way the binaries are built changes, so caches are rebuilt.
const RECIPE: &str = "3";

/// What gets built, from which module folder under `e2e/`, and the Go package.
const BINARIES: &[(&str, &str, &str)] = &[
    ("etcd", "kube", "./etcd"),
    ("kube-apiserver", "kube", "k8s.io/kubernetes/cmd/kube-apiserver"),
    (
        "kube-controller-manager",
        "kube",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
    ),
    ("kube-scheduler", "kube", "k8s.io/kubernetes/cmd/kube-scheduler"),
    ("kubectl", "kube", "k8s.io/kubernetes/cmd/kubectl"),
    ("kwok", "kwok", "sigs.k8s.io/kwok/cmd/kwok"),
];

/// Where the built binaries are.
#[derive(Clone, Debug)]
pub struct KubeBinaries {
    pub dir: PathBuf,
    pub version: String,
}

/// kwok's own stage definitions (from its module, at the pinned version) that
/// make nodes Ready, keep their leases, and run Pods: what `kwokctl` uses.
const KWOK_STAGES: &[&str] = &[
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
];
const KWOK_CONFIG: &str = "kwok-stages.yaml";

impl KubeBinaries {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The `--config` file for kwok.
    pub fn kwok_config(&self) -> PathBuf {
        self.dir.join(KWOK_CONFIG)
    }
}

/// The folder Shopfleet caches machine-wide artefacts in: `$SHOPFLEET_CACHE`,
/// else `$XDG_CACHE_HOME/shopfleet`, else `~/.cache/shopfleet`.
pub fn cache_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SHOPFLEET_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("shopfleet"));
    }
    let home = std::env::var_os("HOME").context("neither SHOPFLEET_CACHE nor HOME is set")?;
    Ok(PathBuf::from(home).join(".cache/shopfleet"))
}

pub(crate) fn modules_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The pinned Kubernetes version, read from `e2e/kube/go.mod`.
pub fn kubernetes_version() -> Result<String> {
    let go_mod = std::fs::read_to_string(modules_root().join("kube/go.mod"))?;
    go_mod
        .lines()
        .find_map(|line| {
            let line = line.trim();
            let mut words = line.strip_prefix("require ").unwrap_or(line).split_whitespace();
            (words.next() == Some("k8s.io/kubernetes"))
                .then(|| words.next())
                .flatten()
        })
        .filter(|version| version.starts_with('v'))
        .map(str::to_owned)
        .context("e2e/kube/go.mod requires no version of k8s.io/kubernetes")
}

fn modules_hash() -> Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(RECIPE);
    for module in ["kube", "kwok"] {
        for file in ["go.mod", "go.sum"] {
            let path = modules_root().join(module).join(file);
            hasher.update(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        }
    }
    hasher.update(std::fs::read(modules_root().join("kube/etcd/main.go"))?);
    Ok(hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Returns the cached binaries, building them first if this machine has none.
pub fn ensure() -> Result<KubeBinaries> {
    let version = kubernetes_version()?;
    let dir = cache_root()?.join(format!("k8s-{version}-{}", modules_hash()?));
    if BINARIES.iter().all(|(name, ..)| dir.join(name).is_file()) && dir.join(KWOK_CONFIG).is_file() {
        return Ok(KubeBinaries { dir, version });
    }
    which_go()?;
    eprintln!(
        "==> Building Kubernetes {version} (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, \
         kubectl) and kwok from the Go module proxy.\n    This happens once per machine and takes about \
         10-20 minutes on 2 cores; the result is cached in {}",
        dir.display()
    );
    let staging = dir.with_extension("partial");
    std::fs::create_dir_all(&staging)?;
    let started = Instant::now();
    for (name, module, package) in BINARIES {
        if !staging.join(name).is_file() {
            go_build(
                name,
                &modules_root().join(module),
                package,
                &staging,
                &version_ldflags(&version),
            )?;
        }
    }
    write_kwok_config(&staging)?;
    // A crash above leaves only `.partial`: the real folder appears whole or not at all.
    std::fs::rename(&staging, &dir).with_context(|| format!("moving binaries into {}", dir.display()))?;
    eprintln!("==> Kubernetes binaries ready after {}", human(started.elapsed()));
    Ok(KubeBinaries { dir, version })
}

pub(crate) fn which_go() -> Result<()> {
    match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => bail!(
            "Go is missing: it is needed once per machine to build the Kubernetes binaries and helm, which the tests run. \
             Install Go 1.26 or newer (https://go.dev/doc/install or your package manager) and run again."
        ),
    }
}

/// `go build -v` one binary with `ldflags`, printing a progress line now and
/// then instead of the thousands of package names Go reports.
pub(crate) fn go_build(
    name: &str,
    module_dir: &Path,
    package: &str,
    out_dir: &Path,
    ldflags: &str,
) -> Result<()> {
    eprintln!("    building {name} ...");
    let started = Instant::now();
    let mut child = Command::new("go")
        .args(["build", "-v", "-trimpath"])
        .arg(ldflags)
        .arg("-o")
        .arg(out_dir.join(name))
        .arg(package)
        .current_dir(module_dir)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-buildvcs=false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running go build")?;
    let stderr = child.stderr.take().expect("piped stderr");
    let mut packages = 0usize;
    let mut errors = Vec::new();
    let mut last_report = Instant::now();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        // `-v` prints bare import paths; anything else is a diagnostic worth keeping.
        if line.contains(' ') || line.starts_with('#') {
            errors.push(line);
        } else {
            packages += 1;
        }
        if last_report.elapsed() > Duration::from_secs(20) {
            eprintln!(
                "    {name}: {packages} packages compiled, {} elapsed",
                human(started.elapsed())
            );
            last_report = Instant::now();
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "go build of {name} ({package}) failed ({status}):\n{}",
            errors.join("\n")
        );
    }
    eprintln!("    {name} built in {}", human(started.elapsed()));
    Ok(())
}

fn write_kwok_config(out_dir: &Path) -> Result<()> {
    let out = Command::new("go")
        .args(["list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"])
        .current_dir(modules_root().join("kwok"))
        .output()
        .context("running go list")?;
    if !out.status.success() {
        bail!(
            "locating the kwok module failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let module = PathBuf::from(String::from_utf8(out.stdout)?.trim());
    let mut config = String::new();
    for stage in KWOK_STAGES {
        let path = module.join(stage);
        config += "---\n";
        config += &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    }
    std::fs::write(out_dir.join(KWOK_CONFIG), config)?;
    Ok(())
}

/// Stamps the Kubernetes version into the binaries, as the release build does
/// (`kubectl version` and the apiserver's `/version` report it).
fn version_ldflags(version: &str) -> String {
    let mut parts = version.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
    let mut flags = String::from("-ldflags=-s -w");
    for package in ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"] {
        flags += &format!(
            " -X {package}.gitVersion={version} -X {package}.gitMajor={major} -X {package}.gitMinor={minor} \
             -X {package}.gitTreeState=clean"
        );
    }
    flags
}

pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}
