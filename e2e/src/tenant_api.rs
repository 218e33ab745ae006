//! A tenant's API as a local process, configured from the tenant's Secrets
//! exactly as its Pod is (`DATABASE_URL` from `<tenant>-db`, the key set
//! from `<tenant>-jwt`). kwok runs no containers, so `shopfleet-local up` and
//! the e2e tests run the API this way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::process::{ManagedProcess, spawn_on_free_port};

/// What the API reads from the tenant's Secrets.
pub struct TenantSecrets {
    /// `DATABASE_URL` of `<tenant>-db`.
    pub database_url: String,
    /// `keys.json` of `<tenant>-jwt`.
    pub jwt_keys: String,
}

pub struct TenantApi {
    pub process: ManagedProcess,
    pub port: u16,
    pub log: PathBuf,
}

/// Starts `binary` for `tenant` on a free port, with its key set written
/// under `dir`, and waits until `/readyz` answers 200.
pub fn start(binary: &Path, tenant: &str, secrets: &TenantSecrets, dir: &Path) -> Result<TenantApi> {
    if !binary.is_file() {
        bail!("{} is missing: build it with cargo first", binary.display());
    }
    std::fs::create_dir_all(dir)?;
    let keys = dir.join(format!("{tenant}-jwt-keys.json"));
    std::fs::write(&keys, &secrets.jwt_keys)?;
    let log = dir.join(format!("{tenant}-api.log"));
    let command = |port: u16| {
        let mut command = Command::new(binary);
        command
            .env("DATABASE_URL", &secrets.database_url)
            .env("SHOPFLEET_TENANT", tenant)
            .env("SHOPFLEET_JWT_KEYS", &keys)
            .env("SHOPFLEET_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info");
        command
    };
    let ready = |port: u16| crate::operator::http_get(port, "/readyz").is_ok_and(|(status, _)| status == 200);
    let (process, port) = spawn_on_free_port("shopfleet-api", &log, Duration::from_secs(30), command, ready)?;
    Ok(TenantApi { process, port, log })
}
