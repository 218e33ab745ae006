//! helm, built with Go from its published module and cached per machine, as
//! the Kubernetes binaries are (`kube_binaries`): `e2e/helm/go.mod` pins it,
//! and the binary lands in `<cache>/helm-<version>-<hash>/`, the hash over
//! that module's go.mod and go.sum. Only the first run on a machine builds it
//! (a few minutes on 2 cores).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::kube_binaries::{cache_root, go_build, human, modules_root, which_go};

/// The Go package of helm's command.
const PACKAGE: &str = "helm.sh/helm/v3/cmd/helm";
const MODULE: &str = "helm.sh/helm/v3";

/// One build at a time in this process: tests run in parallel threads.
static BUILDING: Mutex<()> = Mutex::new(());

/// The path of helm, building it first if this machine has none.
pub fn ensure() -> Result<PathBuf> {
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let module = modules_root().join("helm");
    let go_mod = std::fs::read_to_string(module.join("go.mod")).context("reading e2e/helm/go.mod")?;
    let version = go_mod
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(MODULE)).then(|| words.next()).flatten()
        })
        .context("e2e/helm/go.mod requires no version of helm.sh/helm/v3")?
        .to_owned();
    let mut hasher = Sha256::new();
    for file in ["go.mod", "go.sum"] {
        hasher.update(std::fs::read(module.join(file))?);
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache_root()?.join(format!("helm-{version}-{hash}"));
    let binary = dir.join("helm");
    if binary.is_file() {
        return Ok(binary);
    }
    which_go()?;
    eprintln!(
        "==> Building helm {version} from the Go module proxy (once per machine, a few minutes on 2 cores; \
         cached in {})",
        dir.display()
    );
    let started = Instant::now();
    let staging = dir.with_extension("partial");
    std::fs::create_dir_all(&staging)?;
    // `helm version` reports what the release build would.
    let ldflags = format!("-ldflags=-X helm.sh/helm/v3/internal/version.version={version}");
    go_build("helm", &module, PACKAGE, &staging, &ldflags)?;
    // A crash above leaves only `.partial`: the real folder appears whole or not at all.
    std::fs::rename(&staging, &dir).with_context(|| format!("moving helm into {}", dir.display()))?;
    eprintln!("==> helm ready after {}", human(started.elapsed()));
    Ok(binary)
}
