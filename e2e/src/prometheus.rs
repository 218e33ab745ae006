//! Prometheus and promtool from Debian's `prometheus` package (installed when
//! missing, if we may, as Chromium is), and a Prometheus server for one test:
//! on a free port of 127.0.0.1, its configuration and data in a folder of
//! the test's, stopped with the test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::debian;
use crate::process::{ManagedProcess, spawn_on_free_port};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PROMTOOL: &str = "/usr/bin/promtool";

/// The paths of `prometheus` and `promtool`.
pub struct Tools {
    pub prometheus: PathBuf,
    pub promtool: PathBuf,
}

/// One installation at a time in this process: tests run in parallel
/// threads, and apt-get takes a lock of its own.
static INSTALLING: Mutex<()> = Mutex::new(());

/// Prometheus' binaries, installing Debian's package when they are missing
/// and we may.
pub fn ensure() -> Result<Tools> {
    let _one_at_a_time = INSTALLING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let found = || {
        [PROMETHEUS, PROMTOOL]
            .iter()
            .all(|path| Path::new(path).is_file())
    };
    if !found() && debian::may_install() {
        debian::install(&["prometheus"], "Prometheus and promtool not found")?;
    }
    if !found() {
        bail!(
            "Prometheus is missing (looked for {PROMETHEUS} and {PROMTOOL}): the monitoring tests check the \
             chart's alerts with promtool and run them in a Prometheus server. Install it (Debian/Ubuntu: \
             `apt-get install prometheus`)."
        );
    }
    Ok(Tools {
        prometheus: PROMETHEUS.into(),
        promtool: PROMTOOL.into(),
    })
}

/// Runs `promtool` with `args` in `dir`, feeding it `stdin`: its output
/// (stdout and stderr) when it succeeds, else an error holding that output.
pub fn promtool(dir: &Path, args: &[&str], stdin: &str) -> Result<String> {
    let tools = ensure()?;
    let mut child = Command::new(&tools.promtool)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running promtool")?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())?;
    let output = child.wait_with_output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!(
            "`promtool {}` failed ({}):\n{text}",
            args.join(" "),
            output.status
        );
    }
    Ok(text)
}

/// A Prometheus server of a test's own.
pub struct Prometheus {
    pub process: ManagedProcess,
    pub port: u16,
}

impl Prometheus {
    /// Writes `config` to `dir/prometheus.yml` (relative paths in it, such
    /// as rule files, are read from `dir`), starts Prometheus on a free port
    /// and waits until it is ready.
    pub fn start(dir: &Path, config: &str) -> Result<Self> {
        let tools = ensure()?;
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config)?;
        let command = |port: u16| {
            let mut command = Command::new(&tools.prometheus);
            command
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            command
        };
        let ready = |port: u16| {
            crate::http::request(port, "GET", "/-/ready", &[], None).is_ok_and(|r| r.status == 200)
        };
        let (process, port) = spawn_on_free_port(
            "prometheus",
            &dir.join("prometheus.log"),
            Duration::from_secs(30),
            command,
            ready,
        )?;
        Ok(Self { process, port })
    }

    /// The `data` of an instant query; an error with Prometheus' own message
    /// when it refuses the expression.
    pub fn query(&self, expr: &str) -> Result<Value> {
        self.api(&format!("/api/v1/query?query={}", percent_encode(expr)))
            .with_context(|| format!("querying {expr}"))
    }

    /// The alerts that are pending or firing.
    pub fn alerts(&self) -> Result<Vec<Value>> {
        let data = self.api("/api/v1/alerts")?;
        Ok(data["alerts"].as_array().cloned().unwrap_or_default())
    }

    fn api(&self, path: &str) -> Result<Value> {
        let response = crate::http::request(self.port, "GET", path, &[], None)?;
        let body = response.json()?;
        if body["status"] != "success" {
            bail!(
                "{} ({}): {}",
                body["errorType"].as_str().unwrap_or("error"),
                response.status,
                body["error"].as_str().unwrap_or(&response.body)
            );
        }
        Ok(body["data"].clone())
    }
}

/// `text` for a URL's query string: everything but unreserved characters
/// percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            percent_encode(r#"sum(up{job="a b"}) > 0.5"#),
            "sum%28up%7Bjob%3D%22a%20b%22%7D%29%20%3E%200.5"
        );
    }
}
