//! The operator as a local process, and a way to ask its HTTP endpoints
//! (`/metrics`, `/healthz`, `/readyz`). Used by `shopfleet-local up`, the e2e
//! tests and the benchmarks.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::process::{ManagedProcess, port_open, spawn_on_free_port};

/// A running operator, and the port of its HTTP endpoints.
pub struct Operator {
    pub process: ManagedProcess,
    pub port: u16,
    pub log: PathBuf,
}

/// Starts `binary run --listen 127.0.0.1:<free port>` plus `args`, with `env`
/// added to ours, logging to `log`.
pub fn start<I, K, V>(binary: &Path, args: &[&str], env: I, log: &Path) -> Result<Operator>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    if !binary.is_file() {
        bail!("{} is missing: build it with cargo first", binary.display());
    }
    let env: Vec<(K, V)> = env.into_iter().collect();
    let command = |port: u16| {
        let mut command = Command::new(binary);
        command
            .args(["run", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)));
        command
    };
    let (process, port) = spawn_on_free_port(
        "shopfleet-operator",
        log,
        Duration::from_secs(30),
        command,
        port_open,
    )?;
    Ok(Operator {
        process,
        port,
        log: log.to_owned(),
    })
}

/// The operator's requests to the apiserver so far, per (RBAC verb,
/// resource), from `shopfleet_operator_kube_requests_total` in a scrape of
/// its `/metrics`.
pub fn kube_requests(metrics: &str) -> BTreeMap<(String, String), f64> {
    let prefix = "shopfleet_operator_kube_requests_total{resource=\"";
    metrics
        .lines()
        .filter_map(|line| {
            let (resource, rest) = line.strip_prefix(prefix)?.split_once("\",verb=\"")?;
            let (verb, count) = rest.split_once("\"} ")?;
            Some(((verb.to_owned(), resource.to_owned()), count.trim().parse().ok()?))
        })
        .collect()
}

/// A GET on 127.0.0.1:`port`: the status code and the body.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let response = crate::http::request(port, "GET", path, &[], None)?;
    Ok((response.status, response.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_per_verb_and_resource_and_nothing_else() {
        let metrics = "# TYPE shopfleet_operator_kube_requests_total counter\n\
            shopfleet_operator_kube_requests_total{resource=\"tenants/status\",verb=\"patch\"} 273\n\
            shopfleet_operator_kube_requests_total{resource=\"secrets\",verb=\"get\"} 4\n\
            shopfleet_operator_reconciles_total{kind=\"tenant\"} 9\n";
        let requests = kube_requests(metrics);
        let expected = BTreeMap::from([
            (("get".to_owned(), "secrets".to_owned()), 4.0),
            (("patch".to_owned(), "tenants/status".to_owned()), 273.0),
        ]);
        assert_eq!(requests, expected);
    }
}
