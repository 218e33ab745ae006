//! The Prometheus Operator's CRDs for the kinds the chart can render
//! (ServiceMonitor, PodMonitor, PrometheusRule), so the apiserver can check
//! those objects. They come from the operator's published Go module, pinned
//! here by version and checksum, and are cached per machine beside helm
//! (`<cache>/prometheus-operator-crds-<version>/`). Installed on a cluster
//! without the Prometheus Operator they are inert: nothing acts on them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::kube_binaries::{cache_root, which_go};

const MODULE: &str = "github.com/prometheus-operator/prometheus-operator";
/// The one place the version is pinned.
pub const VERSION: &str = "v0.94.0";
/// The module's checksum, as go.sum would record it: a different download
/// is refused.
const SUM: &str = "h1:VxMKzqr8Xqw5/QInNT7a3B5XInPnHqE7SD2UIdwKpRM=";
/// Where the module keeps its CRDs, and the ones the chart needs.
const CRD_DIR: &str = "example/prometheus-operator-crd";
const CRDS: [&str; 3] = [
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_podmonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
];

/// The CRD files, downloading the module first if this machine has none.
pub fn crds() -> Result<Vec<PathBuf>> {
    let dir = cache_root()?.join(format!("prometheus-operator-crds-{VERSION}"));
    let files = || CRDS.iter().map(|name| dir.join(name)).collect::<Vec<_>>();
    if files().iter().all(|file| file.is_file()) {
        return Ok(files());
    }
    which_go()?;
    eprintln!("==> Fetching the Prometheus Operator's CRDs ({MODULE} {VERSION}) from the Go module proxy");
    // Outside any module, so no go.mod of ours is consulted or changed.
    let scratch = tempfile::tempdir()?;
    let output = Command::new("go")
        .args(["mod", "download", "-json", &format!("{MODULE}@{VERSION}")])
        .current_dir(scratch.path())
        .output()
        .context("running go mod download")?;
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "go mod download printed no JSON ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if let Some(error) = info["Error"].as_str() {
        bail!("downloading {MODULE}@{VERSION}: {error}");
    }
    if info["Sum"] != SUM {
        bail!(
            "{MODULE}@{VERSION} has checksum {}, not the pinned {SUM}",
            info["Sum"]
        );
    }
    let module = Path::new(info["Dir"].as_str().context("go mod download named no Dir")?);
    let staging = dir.with_extension("partial");
    std::fs::create_dir_all(&staging)?;
    for name in CRDS {
        let source = module.join(CRD_DIR).join(name);
        std::fs::copy(&source, staging.join(name))
            .with_context(|| format!("copying {}", source.display()))?;
    }
    // A crash above leaves only `.partial`: the real folder appears whole or not at all.
    std::fs::rename(&staging, &dir).with_context(|| format!("moving the CRDs into {}", dir.display()))?;
    Ok(files())
}

/// Applies the CRDs with `kubectl` (server-side: they are too large for the
/// last-applied annotation) and waits until the apiserver serves them.
pub fn install(kubectl: &Path) -> Result<()> {
    let files = crds()?;
    let mut apply = Command::new(kubectl);
    apply.args([
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=shopfleet-e2e",
    ]);
    for file in &files {
        apply.arg("-f").arg(file);
    }
    run(apply, "applying the Prometheus Operator's CRDs")?;
    let mut wait = Command::new(kubectl);
    wait.args(["wait", "--for=condition=Established", "--timeout=60s"]);
    for name in CRDS {
        let crd = name
            .trim_start_matches("monitoring.coreos.com_")
            .trim_end_matches(".yaml");
        wait.arg(format!("crd/{crd}.monitoring.coreos.com"));
    }
    run(
        wait,
        "waiting until the Prometheus Operator's CRDs are Established",
    )
}

fn run(mut command: Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("{what}: running kubectl"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
