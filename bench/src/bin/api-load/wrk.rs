//! The load on the API: wrk, with a Lua script that picks one of the
//! scenario's requests at random (each order with a new idempotency key) and
//! reports wrk's own figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::scenario::{Credentials, Request, Scenario};
use crate::{Load, Measurement};

/// The line the script's `done` prints, for us to read.
const SUMMARY: &str = "api-load:";

/// wrk from PATH; installs Debian's `wrk` package when it is missing and we
/// may (root with apt-get).
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(wrk) = on_path("wrk") {
        return Ok(wrk);
    }
    if shopfleet_e2e::debian::may_install() {
        shopfleet_e2e::debian::install(&["wrk"], "wrk not found")?;
        if let Some(wrk) = on_path("wrk") {
            return Ok(wrk);
        }
    }
    bail!("wrk is missing: install it (Debian/Ubuntu: `apt-get install wrk`) and run again")
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Runs wrk on `scenario` for `seconds`; fails on any error or non-2xx answer.
pub fn run(
    wrk: &Path,
    dir: &Path,
    scenario: &Scenario,
    credentials: &Credentials,
    port: u16,
    load: &Load,
    seconds: u64,
) -> Result<Measurement> {
    let script = dir.join(format!("wrk-{}.lua", scenario.name));
    std::fs::write(&script, lua_script(scenario, credentials, load))?;
    let output = Command::new(wrk)
        .arg(format!("--threads={}", load.threads))
        .arg(format!("--connections={}", load.connections))
        .arg(format!("--duration={seconds}s"))
        .arg("--latency")
        .arg(format!("--script={}", script.display()))
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = dir.join(format!("wrk-{}-{seconds}s.txt", scenario.name));
    std::fs::write(&log, stdout.as_bytes())?;
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{stdout}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let summary = stdout
        .lines()
        .find_map(|line| line.strip_prefix(SUMMARY))
        .with_context(|| format!("wrk printed no `{SUMMARY}` line:\n{stdout}"))?;
    let field = |name: &str| -> Result<u64> {
        summary
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .with_context(|| format!("no {name} in wrk's `{summary}`"))?
            .parse()
            .with_context(|| format!("{name} in wrk's `{summary}`"))
    };
    let errors: Vec<String> = ["non_2xx", "connect", "read", "write", "timeout"]
        .into_iter()
        .map(|name| Ok((name, field(name)?)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    if !errors.is_empty() {
        bail!(
            "wrk saw errors on {}: {} (its output: {})",
            scenario.name,
            errors.join(", "),
            log.display()
        );
    }
    let count = field("requests")?;
    Ok(Measurement {
        count,
        per_second: count as f64 / (field("duration_us")? as f64 / 1e6),
        p50: Duration::from_micros(field("p50_us")?),
        p99: Duration::from_micros(field("p99_us")?),
    })
}

/// The scenario's requests, one at random per call, as its caller (see
/// `scenario::Caller`); orders with a new idempotency key each. `done` prints wrk's counts and exact
/// percentiles of its latency record in one line.
fn lua_script(scenario: &Scenario, credentials: &Credentials, load: &Load) -> String {
    let store = credentials.store;
    let (header, value) = credentials.header(scenario.caller);
    let orders: Vec<&str> = scenario
        .requests
        .iter()
        .filter_map(|request| match request {
            Request::Order(order) => Some(order.body.as_str()),
            _ => None,
        })
        .collect();
    let requests = if let Some(Request::Events { batch }) = scenario.requests.first() {
        let now = sqlx::types::chrono::Utc::now();
        let templates: String = batch
            .iter()
            .map(|event| format!("  [=[{}]=],\n", event.json_format(now)))
            .collect();
        let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
        format!(
            r#"local path = "{path}"
local headers = {{
  ["{header}"] = "{value}",
  ["Content-Type"] = "application/json",
}}

-- Each event, its id left as %s.
local templates = {{
{templates}}}

-- Each event's id: unique per run, thread and event, so none is a duplicate.
local run = "{run}"
local sent = 0

function request()
  local parts = {{}}
  for i = 1, #templates do
    sent = sent + 1
    parts[i] = string.format(templates[i], string.format("%s-%04x-4000-8000-%012x", run, seed, sent))
  end
  return wrk.format("POST", path, headers, '{{"events":[' .. table.concat(parts, ",") .. ']}}')
end"#,
            path = scenario.requests[0].path(store.id),
        )
    } else if orders.is_empty() {
        let paths: String = scenario
            .requests
            .iter()
            .map(|request| format!("  \"{}\",\n", request.path(store.id)))
            .collect();
        format!(
            r#"wrk.headers["{header}"] = "{value}"

local paths = {{
{paths}}}

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end"#,
        )
    } else {
        let bodies: String = orders.iter().map(|body| format!("  [=[{body}]=],\n")).collect();
        // Unique per run: wrk starts again for the measurement after the
        // warm-up, and a key used before would replay (or refuse) its order.
        let run = uuid::Uuid::new_v4().simple().to_string();
        format!(
            r#"local path = "{path}"
local headers = {{
  ["{header}"] = "{value}",
  ["Content-Type"] = "application/json",
}}

local bodies = {{
{bodies}}}

-- Each request's Idempotency-Key, 36 characters as a UUID's text: random
-- first (so keys land all over the table's index, as clients' UUIDs do),
-- then the run, the thread and a counter, which make it unique.
local run = "{run}"
local sent = 0

function request()
  sent = sent + 1
  headers["Idempotency-Key"] = string.format("%08x-%s-%02x-%09x", math.random(0, 0x7fffffff), run, seed, sent)
  return wrk.format("POST", path, headers, bodies[math.random(#bodies)])
end"#,
            path = scenario.requests[0].path(store.id),
            run = &run[..14],
        )
    };
    format!(
        r#"-- api-load, scenario `{name}`: written by bench/src/bin/api-load/wrk.rs.

-- Each thread seeds its own sequence: LuaJIT starts every one from the same seed.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(seed)
end

{requests}
{delay}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "{SUMMARY} requests=%d duration_us=%d p50_us=%d p99_us=%d non_2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"#,
        name = scenario.name,
        delay = match load.rate {
            // Each connection waits this long before each request: about
            // `rate` requests a second in all while answers are fast.
            Some(rate) => format!(
                "\nfunction delay()\n  return {}\nend\n",
                u64::from(load.connections) * 1000 / u64::from(rate.max(1))
            ),
            None => String::new(),
        },
    )
}
