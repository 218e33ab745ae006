//! `analytics-load`: how fast the analytics reports answer over a store's
//! two years of trade, against the same figures from plain `GROUP BY`s over
//! the raw tables.
//!
//! On a throwaway PostgreSQL it makes a tenant database as the operator
//! does and one store, and loads it with COPY (`data.rs`: 10 M order lines
//! by default, with their orders, events, discounts, tickets, customers,
//! stock and the shop front's sessions). It times the rebuild of the rollups
//! (`fold(From::Start)`, as the tenant's runtime role), starts the release
//! API, and for each dashboard query (`queries.rs`, one table) runs
//! concurrent clients against its route (`load.rs`), then the baseline
//! statement as the superuser, checks that both give the same figures, and
//! prints a Markdown table. A benchmark, not a test: it fails only when
//! something is broken (an error, or figures that disagree). See
//! bench/README.md.

mod civil;
mod data;
mod load;
mod queries;
mod random;
#[path = "../../shared/tenant.rs"]
mod tenant;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::Value;
use shopfleet_api::analytics::fold::{self, Folded, From};
use shopfleet_api::db::Db;
use shopfleet_e2e::postgres::Postgres;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::queries::{QUERIES, Query};

/// The store's zone and currency.
const ZONE: &str = "Europe/Berlin";
const CURRENCY: &str = "EUR";

/// The latency a dashboard query should keep under, and how many times
/// faster than the baseline it should be.
const TARGET_P99: Duration = Duration::from_millis(50);
const TARGET_RATIO: f64 = 100.0;

/// Sequential requests of one client before the load, for "API alone".
const ALONE: usize = 3;

#[derive(Parser)]
#[command(
    about = "Measures the analytics reports over a large store against plain GROUP BYs over the raw tables"
)]
struct Args {
    /// Order lines to make (about 3 per order).
    #[arg(long, default_value_t = 10_000_000)]
    lines: u64,
    /// Days of trade, ending yesterday (the store's local day).
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// Standard products (2 variants each).
    #[arg(long, default_value_t = 1000)]
    products: u32,
    #[arg(long, default_value_t = 20)]
    categories: u32,
    /// Room-night products.
    #[arg(long, default_value_t = 30)]
    rooms: u32,
    /// Rooms per room product and night.
    #[arg(long, default_value_t = 20)]
    room_capacity: u32,
    /// Ticket products (events spread over the period).
    #[arg(long, default_value_t = 50)]
    events: u32,
    /// Seats per event.
    #[arg(long, default_value_t = 2000)]
    event_capacity: u32,
    #[arg(long, default_value_t = 200_000)]
    customers: u32,
    /// Shop-front sessions per order (60 % of orders come from one; the
    /// rest browse without buying).
    #[arg(long, default_value_t = 1.5)]
    sessions_per_order: f64,
    /// The seed of the data.
    #[arg(long, default_value_t = 20261128)]
    seed: u64,
    /// Concurrent clients, for the API and the baseline alike.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// How long each query is measured through the API.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Unmeasured load through the API before each measurement.
    #[arg(long, default_value_t = 2.0)]
    warm_up_seconds: f64,
    /// How long each baseline is measured (each client runs it at least once).
    #[arg(long, default_value_t = 20.0)]
    baseline_seconds: f64,
    /// Log the plan (EXPLAIN ANALYZE, BUFFERS) of every statement of the API
    /// slower than this many milliseconds, with auto_explain, into a file
    /// named at the end. Instrumenting every statement slows the API: a
    /// diagnosis, not a measurement.
    #[arg(long, value_name = "MS")]
    explain_over: Option<u64>,
    /// Only these queries (repeat the flag, or separate names with commas); all by default.
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = clap::builder::PossibleValuesParser::new(QUERIES.iter().map(|q| q.name)),
    )]
    only: Vec<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if cfg!(debug_assertions) {
        bail!(
            "analytics-load is a debug build, so it would load the debug API beside it: run it with \
             `cargo run --release` (`make bench-analytics` does)"
        );
    }
    if args.clients == 0 || args.lines == 0 || args.days < 2 || args.products == 0 || args.customers == 0 {
        bail!("--clients, --lines, --products and --customers must be at least 1, --days at least 2");
    }
    let dir = tempfile::Builder::new()
        .prefix("shopfleet-analytics-load-")
        .tempdir()
        .context("creating the benchmark's temporary folder")?;
    run(&args, dir.path()).inspect_err(|_| {
        let kept = dir.keep();
        eprintln!("==> Kept {} for its logs (PostgreSQL, the API)", kept.display());
    })
}

/// One query's figures.
struct Measured<'q> {
    query: &'q Query,
    path: String,
    api: load::Latencies,
    api_alone: Duration,
    api_seconds: f64,
    baseline: load::Latencies,
    baseline_alone: Duration,
    figures: usize,
    buckets: usize,
    headline: String,
    load_average: String,
}

fn run(args: &Args, dir: &Path) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let postgres = Postgres::start(&dir.join("postgres"))?;
    let tenant = runtime.block_on(tenant::Tenant::create(&postgres.url))?;
    let superuser: PgConnectOptions = tenant.admin.options.clone().database(&tenant.names.database);
    let (store, keys) = runtime.block_on(async {
        let mut conn = PgConnection::connect_with(&superuser).await?;
        let store = tenant::add_store(&mut conn, CURRENCY, "hospitality").await?;
        conn.close().await?;
        anyhow::Ok(store)
    })?;

    // 1. The data.
    let calendar = data::calendar(args.days, ZONE)?;
    let today = calendar.last;
    eprintln!(
        "==> Making {} order lines over {} days ({} to {}), seed {}",
        args.lines,
        args.days,
        civil::date_text(calendar.first),
        civil::date_text(calendar.last),
        args.seed
    );
    let params = data::Params {
        lines: args.lines,
        products: args.products,
        categories: args.categories,
        rooms: args.rooms,
        room_capacity: args.room_capacity,
        events: args.events,
        event_capacity: args.event_capacity,
        customers: args.customers,
        sessions_per_order: args.sessions_per_order,
        seed: args.seed,
    };
    let generator = data::Generator::new(params, store, calendar);
    let loaded = runtime.block_on(data::load(&postgres.url, &tenant.names.database, generator))?;
    let c = &loaded.counts;
    eprintln!(
        "==> Loaded {} orders, {} lines, {} storefront events; database {}",
        c.orders,
        c.lines,
        c.storefront_events,
        bytes(loaded.database_bytes)
    );

    // 2. The rebuild, as `shopfleet-api rebuild-analytics` does it.
    eprintln!("==> Rebuilding the rollups (fold from the start, as the runtime role) ...");
    let started = Instant::now();
    runtime.block_on(async {
        let db = Db::connect_lazy(&tenant.runtime.url(), 1)?;
        match fold::fold(&db, store, From::Start).await {
            Ok(Folded::UpTo) => Ok(()),
            Ok(Folded::Busy) => bail!("the rebuild found the store busy, with no API running"),
            Err(error) => bail!("the rebuild failed: {error:?}"),
        }
    })?;
    let rebuild = started.elapsed();
    let after_rebuild = runtime.block_on(sizes_after_rebuild(&superuser))?;
    eprintln!("==> Rebuilt in {:.1} s", rebuild.as_secs_f64());

    // 3 and 4. Each query through the API, then its baseline.
    let (port, mut api) = tenant::start_api(dir, &tenant.runtime.url())?;
    let baseline_options = superuser.clone();
    let mut measured = Vec::new();
    let mut disagreements = Vec::new();
    let queries: Vec<&Query> = QUERIES
        .iter()
        .filter(|q| args.only.is_empty() || args.only.iter().any(|name| name == q.name))
        .collect();
    for query in queries {
        let path = query.path(store.0, today);
        eprintln!("==> {}: GET {path}", query.name);
        let (status, body) = load::Client::new(port).get(&path, &keys.secret)?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        let answer: Value = serde_json::from_str(&body).with_context(|| format!("GET {path}: {body}"))?;
        let started = Instant::now();
        let rows = runtime.block_on(async {
            let mut conn = load::connect(&baseline_options, ZONE).await?;
            let started = Instant::now();
            let rows = query.baseline(store.0, ZONE, today).fetch_all(&mut conn).await?;
            let alone = started.elapsed();
            conn.close().await?;
            anyhow::Ok((rows, alone))
        });
        let (rows, baseline_alone) = rows.with_context(|| format!("the baseline of {}", query.name))?;
        let rows = queries::baseline_rows(&rows)?;
        let checked = queries::compare(query, &answer, &rows)?;
        eprintln!(
            "    baseline alone {:.0} ms ({:.1} s with connecting); {} figures compared{}",
            millis(baseline_alone),
            started.elapsed().as_secs_f64(),
            checked.figures,
            if checked.differences.is_empty() {
                ", all equal".to_owned()
            } else {
                format!(", {} DIFFER", checked.differences.len())
            }
        );
        if !checked.differences.is_empty() {
            for difference in checked.differences.iter().take(10) {
                eprintln!("    DIFFERENCE {difference}");
            }
            disagreements.push((query.name, path.clone(), checked.differences.clone()));
        }

        // One client alone first: what a request costs without others.
        let mut alone = Vec::new();
        let mut client = load::Client::new(port);
        for _ in 0..ALONE {
            let started = Instant::now();
            client.get(&path, &keys.secret)?;
            alone.push(started.elapsed());
        }
        alone.sort_unstable();
        let api_alone = alone[ALONE / 2];
        let load_average = load_average()?;
        eprintln!(
            "    API alone (median of {ALONE} requests, one client): {:.1} ms",
            millis(api_alone)
        );
        eprintln!(
            "    API: {} clients × {:.0} s (after {:.0} s of warm-up); load average {load_average}",
            args.clients, args.seconds, args.warm_up_seconds
        );
        load::api(port, &path, &keys.secret, args.clients, args.warm_up_seconds)?;
        let api_latencies = load::api(port, &path, &keys.secret, args.clients, args.seconds)?;
        api.check_running()?;
        eprintln!(
            "    API: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            api_latencies.count(),
            millis(api_latencies.percentile(50.0)),
            millis(api_latencies.percentile(99.0)),
            millis(api_latencies.max())
        );
        eprintln!(
            "    baseline: {} clients × {:.0} s (each at least once)",
            args.clients, args.baseline_seconds
        );
        let baseline = runtime.block_on(load::baseline(
            &baseline_options,
            ZONE,
            args.clients,
            args.baseline_seconds,
            async |conn: &mut PgConnection| {
                query.baseline(store.0, ZONE, today).fetch_all(conn).await?;
                Ok(())
            },
        ))?;
        eprintln!(
            "    baseline: {} runs, p50 {:.0} ms",
            baseline.count(),
            millis(baseline.percentile(50.0))
        );
        measured.push(Measured {
            query,
            path,
            api: api_latencies,
            api_alone,
            api_seconds: args.seconds,
            baseline,
            baseline_alone,
            figures: checked.figures,
            buckets: checked.rows,
            headline: checked.headline,
            load_average,
        });
    }
    drop(api);
    if let Some(ms) = args.explain_over {
        // After the measurements, which instrumenting would slow: a new API
        // (new sessions, which load auto_explain) asked each query once.
        runtime.block_on(explain_slow_statements(
            &superuser,
            &tenant.names.runtime_role,
            ms,
        ))?;
        let (port, api) = tenant::start_api(dir, &tenant.runtime.url())?;
        for m in &measured {
            load::Client::new(port).get(&m.path, &keys.secret)?;
        }
        drop(api);
        let plans = std::env::temp_dir().join(format!("analytics-load-plans-{}.log", std::process::id()));
        std::fs::copy(dir.join("postgres/postgres.log"), &plans)?;
        eprintln!(
            "==> The plans of the API's statements slower than {ms} ms (one request per query) are in {}",
            plans.display()
        );
    }

    print_results(args, &loaded, rebuild, &after_rebuild, &measured, today)?;
    if !disagreements.is_empty() {
        eprintln!("\n==> REPORTS THAT DISAGREE WITH THEIR BASELINE:");
        for (name, path, differences) in &disagreements {
            eprintln!("  {name}: GET {path}");
            for difference in differences.iter().take(25) {
                eprintln!("    {difference}");
            }
            if differences.len() > 25 {
                eprintln!("    … and {} more", differences.len() - 25);
            }
        }
        bail!(
            "{} of the reports disagree with their baselines: {}",
            disagreements.len(),
            disagreements
                .iter()
                .map(|(name, ..)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Makes every new session of `role` log the plan of its statements slower
/// than `ms` milliseconds, with their actual times and buffers.
async fn explain_slow_statements(superuser: &PgConnectOptions, role: &str, ms: u64) -> Result<()> {
    let mut conn = PgConnection::connect_with(superuser).await?;
    for (setting, value) in [
        ("session_preload_libraries", "auto_explain".to_owned()),
        ("auto_explain.log_min_duration", format!("{ms}ms")),
        ("auto_explain.log_analyze", "on".to_owned()),
        ("auto_explain.log_buffers", "on".to_owned()),
        ("auto_explain.log_nested_statements", "on".to_owned()),
    ] {
        // A role's name and a setting's value cannot be bound: both are ours.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER ROLE \"{role}\" SET {setting} = '{value}'"
        )))
        .execute(&mut conn)
        .await?;
    }
    conn.close().await?;
    Ok(())
}

/// The database's size and its tables after the rebuild.
async fn sizes_after_rebuild(superuser: &PgConnectOptions) -> Result<(i64, Vec<(String, i64, i64)>)> {
    let mut conn = PgConnection::connect_with(superuser).await?;
    // Exact row counts of the rollups (the rebuild wrote them after the
    // first ANALYZE), and their pages marked all-visible, as autovacuum
    // soon marks those of a store that runs: the reports then read their
    // covering indexes without visiting the table.
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
    let sizes = data::sizes(&mut conn).await?;
    conn.close().await?;
    Ok(sizes)
}

fn print_results(
    args: &Args,
    loaded: &data::Loaded,
    rebuild: Duration,
    after_rebuild: &(i64, Vec<(String, i64, i64)>),
    measured: &[Measured],
    today: i64,
) -> Result<()> {
    // The checkout this binary was built from, wherever it runs.
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let commit = command_output("git", &["-C", repo, "rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "unknown".to_owned());
    let dirty = command_output(
        "git",
        &["-C", repo, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|status| !status.is_empty());
    let c = &loaded.counts;
    println!(
        "\n### analytics-load at {commit}{}\n",
        if dirty { " (with uncommitted changes)" } else { "" }
    );
    println!(
        "{} order lines in {} orders over {} days (the last, \"today\", {}), {} clients, {:.0} s per query through \
         the API, {:.0} s per baseline.\n",
        thousands(c.lines),
        thousands(c.orders),
        args.days,
        civil::date_text(today),
        args.clients,
        args.seconds,
        args.baseline_seconds
    );
    println!(
        "| query | API requests | API p50 | API p99 | API max | p99 < {} ms | API alone | baseline runs | \
         baseline p50 | baseline alone | baseline ÷ API (p50) | figures checked |",
        TARGET_P99.as_millis()
    );
    println!("|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|");
    for m in measured {
        let p50 = m.api.percentile(50.0);
        let p99 = m.api.percentile(99.0);
        let ratio = m.baseline.percentile(50.0).as_secs_f64() / p50.as_secs_f64().max(1e-9);
        println!(
            "| {} | {} ({:.1}/s) | {:.1} ms | {:.1} ms | {:.1} ms | {} | {:.1} ms | {} | {:.0} ms | {:.0} ms | {:.*}×{} | {} ({} rows) |",
            m.query.name,
            thousands(m.api.count() as u64),
            m.api.count() as f64 / m.api_seconds,
            millis(p50),
            millis(p99),
            millis(m.api.max()),
            if p99 < TARGET_P99 { "yes" } else { "**no**" },
            millis(m.api_alone),
            m.baseline.count(),
            millis(m.baseline.percentile(50.0)),
            millis(m.baseline_alone),
            if ratio < 10.0 { 1 } else { 0 },
            ratio,
            if ratio >= TARGET_RATIO {
                ""
            } else {
                " (**< 100×**)"
            },
            m.figures,
            m.buckets,
        );
    }
    println!("\nRequests:\n");
    for m in measured {
        println!("- {}: `GET {}` ({})", m.query.name, shorten(&m.path), m.headline);
    }
    println!(
        "\nLoad average (1, 5, 15 min) before each query's API run: {}.",
        measured
            .iter()
            .map(|m| m.load_average.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );

    println!("\n| data | rows |\n|---|---:|");
    let share = |part: u64| part as f64 * 100.0 / c.lines.max(1) as f64;
    for (what, rows) in [
        ("orders", c.orders),
        ("  paid", c.paid),
        ("  paid, then refunded (in part or whole)", c.refunded),
        ("  paid, then cancelled", c.cancelled_after_payment),
        ("  cancelled unpaid", c.unpaid_cancelled),
        ("  still pending", c.pending),
        ("  with a promotion", c.with_promotion),
        ("  with a customer", c.with_customer),
        ("  with a shop-front session", c.with_session),
        ("  table orders (party size)", c.tables),
        (
            "  rooms or tickets wanted but sold out (made standard)",
            c.sold_out,
        ),
        ("order lines", c.lines),
        ("order events", c.order_events),
        ("order discounts", c.order_discounts),
        ("tickets", c.tickets),
        ("shop-front sessions", c.sessions),
        ("storefront events", c.storefront_events),
        ("customers", u64::from(args.customers)),
    ] {
        println!("| {what} | {} |", thousands(rows));
    }
    println!(
        "\nLines: {:.1} % standard, {:.1} % room nights, {:.1} % tickets.",
        share(c.standard_lines),
        share(c.room_lines),
        share(c.ticket_lines)
    );
    println!(
        "\n| step | time |\n|---|---:|\n| catalog and customers (COPY) | {:.1} s |\n| orders and storefront events \
         (made and COPYed a week at a time, without foreign-key triggers) | {:.0} s |\n| their references checked \
         (an anti-join per foreign key) | {:.0} s |\n| VACUUM (ANALYZE) | {:.0} s |\n| rebuild of the rollups \
         (`fold(From::Start)`, runtime role) | {:.1} s |",
        loaded.catalog_seconds,
        loaded.rows_seconds,
        loaded.references_seconds,
        loaded.vacuum_seconds,
        rebuild.as_secs_f64()
    );
    let loaded_tables: Vec<&str> = loaded.tables.iter().map(|(table, ..)| table.as_str()).collect();
    println!(
        "\nDatabase: {} after loading, {} after the rebuild (tables of 1 MB or more; rollups are those the \
         rebuild filled).\n\n| table | rows | size with indexes |\n|---|---:|---:|",
        bytes(loaded.database_bytes),
        bytes(after_rebuild.0)
    );
    for (table, rows, size) in &after_rebuild.1 {
        let rollup = if loaded_tables.contains(&table.as_str()) {
            ""
        } else {
            " (rollup)"
        };
        println!(
            "| {table}{rollup} | {} | {} |",
            thousands(*rows as u64),
            bytes(*size)
        );
    }
    Ok(())
}

fn shorten(path: &str) -> String {
    match path.split_once("/analytics/") {
        Some((_, rest)) => format!("…/analytics/{rest}"),
        None => path.to_owned(),
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn bytes(n: i64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else {
        format!("{:.0} MB", n / 1e6)
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The 1-, 5- and 15-minute load averages.
fn load_average() -> Result<String> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    Ok(loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}
