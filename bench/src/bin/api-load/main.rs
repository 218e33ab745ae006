//! `api-load`: how fast the API serves its catalog reads and places orders,
//! against a ceiling.
//!
//! On a throwaway PostgreSQL it makes a tenant database as the operator does,
//! one store with N products × M variants, some of them stocked, and a
//! promotion code (`store.rs`), and starts the release API over it. For each
//! scenario (product list, product get with a store key and again with a
//! customer's token, product search, order creation, batches of storefront
//! events: `scenario.rs`; `--only` picks some) it loads the API with wrk
//! (`wrk.rs`), then the database with pgbench running the same SQL the API
//! runs per request (`ceiling.rs`; for events, COPY of the same rows:
//! `events.rs`), and reports requests per second, p50 and p99 of both and
//! their ratio. See bench/README.md.

mod api;
mod ceiling;
mod cpu;
mod events;
mod scenario;
mod store;
mod stream;
#[path = "../../shared/tenant.rs"]
mod tenant;
mod wrk;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use shopfleet_e2e::postgres::Postgres;

use crate::cpu::{CpuTimes, Processes};
use crate::scenario::{Credentials, Request, Scenario};

#[derive(Parser)]
#[command(
    about = "Loads the API's catalog reads and order creation with wrk, and the same SQL with pgbench (the ceiling)"
)]
struct Args {
    /// Products in the store.
    #[arg(long, default_value_t = 10_000)]
    products: u32,
    /// Variants of each product.
    #[arg(long, default_value_t = 3)]
    variants: u32,
    /// Connections of wrk, and clients of pgbench.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Threads of wrk and of pgbench (one per core of the reference machine).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// How long each measurement lasts.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Requests a second, in all (about: each wrk connection waits
    /// `connections / rate` seconds before each request; pgbench's `--rate`),
    /// instead of as many as the API answers: latency below saturation.
    #[arg(long)]
    rate: Option<u32>,
    /// Run only this scenario (repeat the flag, or separate names with commas); all by default.
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = clap::builder::PossibleValuesParser::new(scenario::NAMES),
    )]
    only: Vec<String>,
    /// Drop the transaction ids analytics add to order and storefront
    /// events (and so the fold's work): the run to compare order creation
    /// and event ingestion against.
    #[arg(long)]
    without_analytics: bool,
    /// Drop the live stream's triggers (and so its log and NOTIFY at every
    /// order's commit): the run to compare order creation against.
    #[arg(long)]
    without_live: bool,
    /// Keep this many live stream clients of the store open while the
    /// scenarios run, and time every event from its commit to each of them.
    #[arg(long, default_value_t = 0)]
    stream_clients: usize,
}

/// How hard both sides are loaded.
pub struct Load {
    pub connections: u32,
    pub threads: u32,
    pub seconds: u64,
    /// Requests a second in all, when limited (`--rate`).
    pub rate: Option<u32>,
}

/// Throughput and latency of one side of one scenario.
pub struct Measurement {
    /// Requests (wrk) or transactions (pgbench).
    pub count: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// One side of one scenario, and the CPU it took per request or transaction.
struct Side {
    measurement: Measurement,
    cpu_per_call: CpuTimes,
}

impl Side {
    /// Measures `run`, reading the CPU times of `processes` around it.
    fn measure(processes: &Processes, run: impl FnOnce() -> Result<Measurement>) -> Result<Self> {
        let before = processes.cpu_times()?;
        let measurement = run()?;
        let used = processes.cpu_times()? - before;
        Ok(Self {
            cpu_per_call: used.per_call(measurement.count),
            measurement,
        })
    }
}

/// Products the get scenario asks for, drawn at random. pgbench takes each
/// request as a script of its own, and at most 128 scripts.
const SAMPLE: usize = 100;
const _: () = assert!(
    SAMPLE <= ceiling::MAX_SCRIPTS
        && store::WORDS.len() <= ceiling::MAX_SCRIPTS
        && store::BASKETS <= ceiling::MAX_SCRIPTS
);

/// wrk's run before each measurement: the API's pool connects lazily, and
/// pgbench's figures leave out its connections too.
const WARM_UP_SECONDS: u64 = 2;

fn main() -> Result<()> {
    let args = Args::parse();
    if cfg!(debug_assertions) {
        bail!(
            "api-load is a debug build, so it would load the debug API beside it: run it with \
             `cargo run --release` (`make bench-api` does)"
        );
    }
    let load = Load {
        connections: args.connections,
        threads: args.threads,
        seconds: args.seconds,
        rate: args.rate,
    };
    let wrk = wrk::find_or_install()?;
    let pgbench = ceiling::find()?;
    let dir = tempfile::Builder::new()
        .prefix("shopfleet-api-load-")
        .tempdir()
        .context("creating the benchmark's temporary folder")?;
    run(&args, &load, &wrk, &pgbench, dir.path()).inspect_err(|_| {
        let kept = dir.keep();
        eprintln!(
            "==> Kept {} for its logs (PostgreSQL, the API, wrk, pgbench)",
            kept.display()
        );
    })
}

/// Everything that runs in `dir`; every process has stopped when it returns.
fn run(args: &Args, load: &Load, wrk: &Path, pgbench: &Path, dir: &Path) -> Result<()> {
    let postgres = Postgres::start(&dir.join("postgres"))?;
    eprintln!(
        "==> Seeding a store with {} products × {} variants",
        args.products, args.variants
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime.block_on(store::seed(
        &postgres.url,
        args.products,
        args.variants,
        SAMPLE,
        store::Without {
            analytics: args.without_analytics,
            live: args.without_live,
        },
    ))?;
    let (fewest, most) = store.match_shares;
    eprintln!(
        "==> Each search word finds {:.1}–{:.1} % of the products",
        fewest * 100.0,
        most * 100.0
    );
    let mut api = api::start(dir, &store)?;
    let access_token = api.sign_in_customer()?;
    let credentials = Credentials {
        store: &store,
        access_token: &access_token,
    };
    let mut scenarios = scenario::scenarios(&store);
    scenarios.retain(|scenario| args.only.is_empty() || args.only.iter().any(|name| name == scenario.name));
    for scenario in &mut scenarios {
        if let Some(placed) = api.check(scenario, &credentials)? {
            runtime.block_on(placed.check_stored(scenario, &store))?;
            scenario.answer = Some(placed.body);
        }
    }
    eprintln!(
        "==> API on 127.0.0.1:{} answers every request as its queries do",
        api.port
    );

    let fanout = match args.stream_clients {
        0 => None,
        clients => {
            let before = resident_kib(api.pid())?;
            let fanout = stream::open(&runtime, api.port, store.id.0, &store.keys.secret, clients)?;
            let after = resident_kib(api.pid())?;
            eprintln!(
                "==> The API's resident memory: {before} KiB before, {after} KiB with {clients} streams \
                 ({:.1} KiB per stream)",
                (after.saturating_sub(before)) as f64 / clients as f64
            );
            Some(fanout)
        }
    };
    let processes = Processes::new(api.pid(), &dir.join("postgres/data"))?;
    let load_average = load_average()?;
    eprintln!("==> Load average before measuring: {load_average}");
    let mut rows = Vec::new();
    let mut fanouts = Vec::new();
    for scenario in &scenarios {
        eprintln!(
            "==> {}: wrk, {} connections, {} s (after {WARM_UP_SECONDS} s of warm-up)",
            scenario.name, load.connections, load.seconds
        );
        let wrk_for = |seconds| wrk::run(wrk, dir, scenario, &credentials, api.port, load, seconds);
        wrk_for(WARM_UP_SECONDS)?;
        if let Some(fanout) = &fanout {
            fanout.settle();
            fanout.reset();
        }
        let through_api = Side::measure(&processes, || wrk_for(load.seconds))?;
        api.check_running()?;
        if let Some(fanout) = &fanout {
            let figures = fanout.settle();
            eprintln!(
                "==> {}: {} events to {} stream clients ({}–{} each), commit to client p50 {}, p99 {}, max {}",
                scenario.name,
                figures.delivered,
                figures.clients,
                figures.fewest,
                figures.most,
                millis(figures.p50),
                millis(figures.p99),
                millis(figures.max),
            );
            fanouts.push((scenario.name, figures));
        }
        let ceiling_tool = match scenario.requests.first() {
            Some(Request::Events { .. }) => "COPY",
            _ => "pgbench",
        };
        eprintln!(
            "==> {}: {ceiling_tool}, {} clients, {} s",
            scenario.name, load.connections, load.seconds
        );
        let ceiling = Side::measure(&processes, || match scenario.requests.first() {
            Some(Request::Events { batch }) => {
                runtime.block_on(events::copy_ceiling(&postgres.url, &store, batch, load))
            }
            _ => ceiling::run(pgbench, dir, scenario, &store, load),
        })?;
        rows.push((scenario, through_api, ceiling));
    }

    print_figures(&rows);
    print_cpu(&rows);
    print_fanout(&fanouts);
    if let Some(fanout) = fanout {
        fanout.close();
    }
    println!(
        "\n{} products × {} variants; search words find {:.1}–{:.1} % of the products each; \
         {} connections, {} threads, {} s per measurement, {}; analytics {}; live stream {}; load average \
         before measuring: {load_average}.",
        args.products,
        args.variants,
        fewest * 100.0,
        most * 100.0,
        load.connections,
        load.threads,
        load.seconds,
        load.rate.map_or("as fast as answered".to_owned(), |rate| format!(
            "at about {rate} requests/s"
        )),
        if args.without_analytics { "taken out" } else { "on" },
        if args.without_live { "taken out" } else { "on" },
    );
    Ok(())
}

fn print_figures(rows: &[(&Scenario, Side, Side)]) {
    println!(
        "\n| scenario | API req/s | API p50 | API p99 | ceiling tps | ceiling p50 | ceiling p99 | API / ceiling |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (scenario, through_api, ceiling) in rows {
        let (api, ceiling) = (&through_api.measurement, &ceiling.measurement);
        println!(
            "| {} `{}` | {:.0} | {} | {} | {:.0} | {} | {} | {:.0} % |",
            scenario.name,
            scenario.route,
            api.per_second,
            millis(api.p50),
            millis(api.p99),
            ceiling.per_second,
            millis(ceiling.p50),
            millis(ceiling.p99),
            api.per_second / ceiling.per_second * 100.0,
        );
    }
}

/// CPU per request through the API, and per transaction of the ceiling.
fn print_cpu(rows: &[(&Scenario, Side, Side)]) {
    println!("\n| CPU per call | wrk or pgbench | API | PostgreSQL | interrupts | other | idle |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (scenario, through_api, ceiling) in rows {
        for (side, cpu) in [
            ("API", through_api.cpu_per_call),
            ("ceiling", ceiling.cpu_per_call),
        ] {
            println!(
                "| {} {side} | {} | {} | {} | {} | {} | {} |",
                scenario.name,
                micros(cpu.load),
                micros(cpu.api),
                micros(cpu.postgres),
                micros(cpu.interrupts),
                micros(cpu.other()),
                micros(cpu.idle),
            );
        }
    }
}

/// Commit-to-client latencies of the live stream, per scenario.
fn print_fanout(fanouts: &[(&str, stream::Figures)]) {
    if fanouts.is_empty() {
        return;
    }
    println!(
        "\n| stream fan-out | clients | events delivered | per client | commit to client p50 | p99 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (scenario, figures) in fanouts {
        println!(
            "| {scenario} | {} | {} | {}–{} | {} | {} | {} |",
            figures.clients,
            figures.delivered,
            figures.fewest,
            figures.most,
            millis(figures.p50),
            millis(figures.p99),
            millis(figures.max),
        );
    }
}

/// A process's resident memory, in KiB.
fn resident_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/<pid>/status")
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn micros(duration: Duration) -> String {
    format!("{} µs", duration.as_micros())
}

/// The 1-, 5- and 15-minute load averages: figures taken on a busy machine
/// say so.
fn load_average() -> Result<String> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    Ok(loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}
