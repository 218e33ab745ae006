//! A tenant's API as a local process, started the way its Pod starts: from
//! the `api` container of the Deployment the operator made, with every
//! variable resolved as the kubelet resolves it (literal values, keys of
//! Secrets) and every volume written out under a folder of its own. kwok
//! runs no containers, so `shopfleet-local up` and the e2e tests run the API
//! this way, and a Deployment the API cannot start from fails them.
//!
//! Two things differ from a Pod, both of them places: a volume lives under
//! the launch folder rather than at its `mountPath` (variables naming a path
//! inside a mount are rewritten to match), and the API listens on free
//! ports of 127.0.0.1 rather than on the container's ports.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::Value;

use crate::process::{ManagedProcess, free_port, port_open, spawn_on_free_port};

/// The container the operator runs the API in.
const CONTAINER: &str = "api";

/// What the kubelet would hand the API's container: its environment, with
/// the volumes already written under the launch folder.
#[derive(Clone, Debug)]
pub struct ApiLaunch {
    pub tenant: String,
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
}

pub struct TenantApi {
    pub process: ManagedProcess,
    pub port: u16,
    /// Where `/metrics` is served (the container's port `metrics`).
    pub metrics_port: u16,
    pub log: PathBuf,
}

impl ApiLaunch {
    /// Reads Deployment `name` in `namespace` and the Secrets it uses with
    /// `kubectl` (a command against the cluster), and writes its volumes
    /// under `dir`.
    pub fn from_deployment(
        kubectl: impl Fn() -> Command,
        namespace: &str,
        name: &str,
        dir: &Path,
    ) -> Result<Self> {
        let get = |kind: &str, object: &str| -> Result<Value> {
            let out = kubectl()
                .args(["get", kind, object, "-n", namespace, "-o", "json"])
                .output()
                .context("running kubectl")?;
            if !out.status.success() {
                bail!(
                    "reading {kind} {namespace}/{object}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            Ok(serde_json::from_slice(&out.stdout)?)
        };
        let deployment = get("deployment", name)?;
        let pod = &deployment["spec"]["template"]["spec"];
        let container = pod["containers"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["name"] == CONTAINER))
            .with_context(|| format!("Deployment {namespace}/{name} has no container {CONTAINER:?}"))?;
        let secret_data = |secret: &str| -> Result<BTreeMap<String, Vec<u8>>> {
            let object = get("secret", secret)?;
            let mut data = BTreeMap::new();
            for (key, encoded) in object["data"].as_object().into_iter().flatten() {
                let decoded = base64::engine::general_purpose::STANDARD.decode(text(encoded)?)?;
                data.insert(key.clone(), decoded);
            }
            Ok(data)
        };
        let secret_key = |secret: &str, key: &str| -> Result<Vec<u8>> {
            secret_data(secret)?
                .remove(key)
                .with_context(|| format!("Secret {namespace}/{secret} has no key {key:?}"))
        };

        // Volumes first: variables may name paths inside them.
        let mut mounts = Vec::new();
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let (volume_name, mount_path) = (text(&mount["name"])?, text(&mount["mountPath"])?);
            let volume = pod["volumes"]
                .as_array()
                .and_then(|all| all.iter().find(|v| v["name"] == volume_name))
                .with_context(|| format!("volume {volume_name:?} is mounted but not defined"))?;
            let local = dir.join("volumes").join(volume_name);
            std::fs::create_dir_all(&local)?;
            if let Some(secret) = volume.get("secret") {
                write_secret_volume(secret, &local, &secret_data)?;
            } else if volume.get("emptyDir").is_none() {
                bail!("volume {volume_name:?} is neither a Secret nor an emptyDir: no local stand-in for it");
            }
            mounts.push((mount_path.to_owned(), local));
        }

        let mut env = Vec::new();
        for var in container["env"].as_array().into_iter().flatten() {
            let name = text(&var["name"])?;
            let value = if let Some(value) = var["value"].as_str() {
                within_mounts(value, &mounts)
            } else if let Some(reference) = var["valueFrom"].get("secretKeyRef") {
                let bytes = secret_key(text(&reference["name"])?, text(&reference["key"])?)?;
                String::from_utf8(bytes).with_context(|| format!("variable {name} is not UTF-8"))?
            } else {
                bail!("variable {name} comes from neither a value nor a Secret key");
            };
            env.push((name.to_owned(), value));
        }
        Ok(Self {
            tenant: env_value(&env, shopfleet_contract::TENANT)?.to_owned(),
            env,
            dir: dir.to_owned(),
        })
    }

    /// Starts `binary` with exactly this environment (nothing of the test's
    /// own), on a free port and its metrics on another, and waits until
    /// `/readyz` answers 200 and the metrics port is open.
    pub fn start(&self, binary: &Path) -> Result<TenantApi> {
        if !binary.is_file() {
            bail!("{} is missing: build it with cargo first", binary.display());
        }
        let log = self.dir.join(format!("{}-api.log", self.tenant));
        // Chosen with each attempt: a taken metrics port fails the start
        // like a taken API port, and the next attempt picks both again.
        let metrics_port = Cell::new(0);
        let command = |port: u16| {
            metrics_port.set(free_port().unwrap_or(0));
            let mut command = Command::new(binary);
            command
                .env_clear()
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env(shopfleet_contract::LISTEN, format!("127.0.0.1:{port}"))
                .env(
                    shopfleet_contract::METRICS_LISTEN,
                    format!("127.0.0.1:{}", metrics_port.get()),
                );
            command
        };
        let ready = |port: u16| {
            crate::operator::http_get(port, "/readyz").is_ok_and(|(status, _)| status == 200)
                && port_open(metrics_port.get())
        };
        let (process, port) =
            spawn_on_free_port("shopfleet-api", &log, Duration::from_secs(30), command, ready)?;
        Ok(TenantApi {
            process,
            port,
            metrics_port: metrics_port.get(),
            log,
        })
    }
}

/// Writes a Secret volume's files as the kubelet does: each of its `items`
/// to its `path`, or without items every key to a file of its name.
fn write_secret_volume(
    volume: &Value,
    local: &Path,
    secret_data: &impl Fn(&str) -> Result<BTreeMap<String, Vec<u8>>>,
) -> Result<()> {
    let secret = text(&volume["secretName"])?;
    let mut data = secret_data(secret)?;
    match volume["items"].as_array() {
        Some(items) => {
            for item in items {
                let (key, path) = (text(&item["key"])?, text(&item["path"])?);
                let bytes = data
                    .remove(key)
                    .with_context(|| format!("Secret {secret} has no key {key:?}"))?;
                std::fs::write(local.join(path), bytes)?;
            }
        }
        None => {
            for (key, bytes) in data {
                std::fs::write(local.join(key), bytes)?;
            }
        }
    }
    Ok(())
}

/// `value` with a path inside a mount moved to the mount's local folder.
fn within_mounts(value: &str, mounts: &[(String, PathBuf)]) -> String {
    for (mount_path, local) in mounts {
        if let Some(rest) = value.strip_prefix(mount_path.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{}{rest}", local.display());
        }
    }
    value.to_owned()
}

fn text(value: &Value) -> Result<&str> {
    value
        .as_str()
        .with_context(|| format!("expected a string, found {value}"))
}

fn env_value<'e>(env: &'e [(String, String)], name: &str) -> Result<&'e str> {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .with_context(|| format!("the Deployment sets no {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_a_mount_move_with_it() {
        let mounts = [(
            "/etc/shopfleet/jwt".to_owned(),
            PathBuf::from("/tmp/x/volumes/jwt"),
        )];
        assert_eq!(
            within_mounts("/etc/shopfleet/jwt/keys.json", &mounts),
            "/tmp/x/volumes/jwt/keys.json"
        );
        assert_eq!(
            within_mounts("/etc/shopfleet/jwtx", &mounts),
            "/etc/shopfleet/jwtx"
        );
        assert_eq!(within_mounts("info", &mounts), "info");
    }
}
