//! The operator as a local process, and a way to ask its HTTP endpoints
//! (`/metrics`, `/healthz`, `/readyz`). Used by `shopfleet-local up`, the e2e
//! tests and the benchmarks.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::{ManagedProcess, free_port};

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
    let port = free_port()?;
    let mut command = Command::new(binary);
    command
        .args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env);
    let process = ManagedProcess::spawn("shopfleet-operator", command, log)?;
    Ok(Operator {
        process,
        port,
        log: log.to_owned(),
    })
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (no chunked body to decode): the status
/// code and the body.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("no HTTP status line")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
