//! The release API as a process over the seeded database, and a check of
//! what it answers before it is measured.

use std::io::{Read as _, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use shopfleet_e2e::operator::http_get;
use shopfleet_e2e::process::{ManagedProcess, free_port};
use shopfleet_operator::tenant::jwt::KeySet;

use crate::scenario::{Read, Scenario};
use crate::store::Store;

pub struct Api {
    pub port: u16,
    process: ManagedProcess,
}

/// Starts the `shopfleet-api` built beside this binary, serving `store`'s
/// tenant database as its runtime role, and waits until it is ready.
pub fn start(dir: &Path, store: &Store) -> Result<Api> {
    let binary = std::env::current_exe()?.with_file_name("shopfleet-api");
    if !binary.is_file() {
        bail!(
            "{} is missing: `cargo build --release -p shopfleet-api` builds it (`make bench-api` does)",
            binary.display()
        );
    }
    let keys = dir.join("jwt-keys.json");
    std::fs::write(&keys, serde_json::to_vec(&KeySet::new(jiff::Timestamp::now()))?)?;
    let port = free_port()?;
    let mut command = Command::new(&binary);
    command
        .env("DATABASE_URL", store.runtime.url())
        .env("SHOPFLEET_TENANT", "bench")
        .env("SHOPFLEET_JWT_KEYS", &keys)
        .env("SHOPFLEET_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn");
    let mut process = ManagedProcess::spawn("shopfleet-api", command, &dir.join("api.log"))?;
    process.wait_ready(Duration::from_secs(30), || {
        http_get(port, "/readyz").is_ok_and(|(status, _)| status == 200)
    })?;
    Ok(Api { port, process })
}

impl Api {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Fails if the API has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }

    /// Asks every request of `scenario` once and checks the answer: 200, and
    /// the products the ceiling's queries read.
    pub fn check(&self, scenario: &Scenario, store: &Store) -> Result<()> {
        for read in &scenario.reads {
            let path = read.path(store.id);
            let (status, body) = self.get(&path, &store.keys.publishable)?;
            ensure!(status == 200, "GET {path} answered {status}: {body}");
            let body: Value = serde_json::from_str(&body).with_context(|| format!("GET {path}: {body}"))?;
            match read {
                Read::List { page } | Read::Search { page, .. } => {
                    let ids: Vec<String> = page.iter().map(|id| id.to_string()).collect();
                    let items: Vec<&str> = body["items"]
                        .as_array()
                        .with_context(|| format!("GET {path}: no items in {body}"))?
                        .iter()
                        .filter_map(|item| item["id"].as_str())
                        .collect();
                    ensure!(
                        items == ids,
                        "GET {path} answered other products than its query returns: {items:?}, not {ids:?}"
                    );
                }
                Read::Get { product } => {
                    ensure!(
                        body["id"] == product.to_string(),
                        "GET {path} answered another product: {body}"
                    );
                    let variants = body["variants"].as_array().map_or(0, Vec::len);
                    ensure!(
                        variants == store.variants_per_product,
                        "GET {path} answered {variants} variants, not {}",
                        store.variants_per_product
                    );
                }
            }
        }
        Ok(())
    }

    /// A GET with the store's API key: the status code and the body.
    fn get(&self, path: &str, api_key: &str) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        // HTTP/1.0: the API closes the connection after the body, so the body
        // is everything after the head.
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: localhost\r\nX-Api-Key: {api_key}\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("GET {path}: no HTTP status line in {response:?}"))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}
