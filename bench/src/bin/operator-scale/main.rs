//! `operator-scale`: how the operator copes with many Tenants at once.
//!
//! On the local platform (real control plane and PostgreSQL), it first times
//! the floor: the same objects and databases made by a plain script, as fast
//! as it can (`floor.rs`). Then it starts the operator (release build),
//! creates N Tenants with 2 Stores each, and reports the time until all are
//! Ready, the operator's peak RSS, its requests to the apiserver per tenant,
//! and its writes during a quiet period (steady state). See bench/README.md.

mod cpu;
mod floor;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use shopfleet_e2e::operator::{self, Operator};
use shopfleet_e2e::platform::Platform;
use shopfleet_operator::crd::{
    DeletionPolicy, Industry, Plan, Store, StoreSpec, Tenant, TenantApi, TenantDatabase, TenantOwner,
    TenantSpec, is_true,
};

#[derive(Parser)]
#[command(about = "Creates N Tenants × 2 Stores and measures the operator against a plain script")]
struct Args {
    /// How many Tenants (each gets 2 Stores).
    #[arg(long, default_value_t = 100)]
    tenants: usize,
    /// How long to watch the operator's writes once everything is Ready.
    #[arg(long, default_value_t = 300)]
    steady_seconds: u64,
    /// Requests in flight at once, for the script and for creating the Tenants.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// Skip the floor (the plain script).
    #[arg(long)]
    skip_floor: bool,
    /// Rounds of floor-then-operator: this machine's speed drifts by a
    /// quarter from minute to minute (other guests on its host), so the
    /// ratio is taken within each round and the median reported.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    // The folders of the platforms that ran, deleted only at the end: on an
    // ext4 file system without a journal, as this machine's is, a new file
    // skips every inode deleted in the last minute, or in the last six while
    // its inode table block is not written back (the kernel's
    // `recently_deleted`), and
    // PostgreSQL makes a file per relation. Deleting one side's platform
    // (several hundred files per tenant database) before the next side ran
    // cost that side about two thirds of PostgreSQL's CPU in the kernel, and it
    // was always the operator's side that ran next.
    let mut spent = Vec::new();
    for round in 1..=args.rounds {
        eprintln!("==> Round {round} of {}", args.rounds);
        // Each side gets a platform of its own, so both start from an empty
        // cluster and server: on the floor's leftovers (a thousand
        // namespaces, Pods and databases) the operator measured 325 s
        // instead of 281 s.
        let floor = if args.skip_floor {
            None
        } else {
            let platform = fresh_platform()?;
            let took = runtime.block_on(run_floor(&platform, &args))?;
            spent.push(platform.stop_keeping_files());
            Some(took)
        };
        let platform = fresh_platform()?;
        let (row, ratio) = runtime.block_on(run(&platform, &args, floor))?;
        spent.push(platform.stop_keeping_files());
        rows.push(row);
        ratios.extend(ratio);
    }
    eprintln!("==> Deleting the {} platforms' folders", spent.len());
    drop(spent);
    let seconds = args.steady_seconds;
    println!(
        "\n| tenants | floor | operator | ratio | peak RSS | operator CPU | requests/tenant | writes in {seconds} s of steady state |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|---|");
    for row in rows {
        println!("{row}");
    }
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        let middle = ratios.len() / 2;
        let median = if ratios.len() % 2 == 0 {
            (ratios[middle - 1] + ratios[middle]) / 2.0
        } else {
            ratios[middle]
        };
        println!("\nMedian ratio over {} rounds: {median:.2}×", ratios.len());
    }
    Ok(())
}

fn fresh_platform() -> Result<Platform> {
    if std::env::var_os("KUBECONFIG").is_some() || std::env::var_os("DATABASE_URL").is_some() {
        eprintln!(
            "==> Warning: with KUBECONFIG or DATABASE_URL set, the floor and the operator share a cluster"
        );
    }
    let platform = Platform::start()?;
    platform.install_crds(&repo_root().join("crds"))?;
    Ok(platform)
}

async fn client_of(platform: &Platform) -> Result<Client> {
    let kubeconfig = Kubeconfig::read_from(&platform.kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

async fn run_floor(platform: &Platform, args: &Args) -> Result<Duration> {
    let n = args.tenants;
    eprintln!(
        "==> Floor: {n} tenants × 2 stores by a plain script, {} at a time",
        args.parallel
    );
    let client = client_of(platform).await?;
    let cpu_before = cpu::Snapshot::take()?;
    let took = floor::run(&client, &platform.database_url, n, args.parallel).await?;
    eprintln!("==> Floor done in {took:.1?}");
    eprintln!("==> CPU: {}", cpu::Snapshot::take()?.since(&cpu_before));
    Ok(took)
}

/// The operator's side: one row of the results table, and the ratio to the floor.
async fn run(platform: &Platform, args: &Args, floor: Option<Duration>) -> Result<(String, Option<f64>)> {
    let client = client_of(platform).await?;
    let n = args.tenants;
    let mut operator = start_operator(platform)?;
    wait_until_leading(operator.port).await?;
    eprintln!("==> Operator leading; creating {n} Tenants × 2 Stores");
    let cpu_before = cpu::Snapshot::take()?;
    let started = Instant::now();
    let tenants_ready = create_and_wait(&client, n, args.parallel).await?;
    let took = started.elapsed();
    eprintln!("==> All Ready in {took:.1?} (tenants alone: {tenants_ready:.1?})");
    eprintln!("==> CPU: {}", cpu::Snapshot::take()?.since(&cpu_before));
    operator.process.check_running()?;
    let peak_rss_kib = peak_rss_kib(operator.process.pid())?;
    let cpu_seconds = cpu_seconds(operator.process.pid())?;
    let requests = kube_requests(operator.port).await?;

    eprintln!(
        "==> Steady state: watching the operator's writes for {} s",
        args.steady_seconds
    );
    let before = writes(&requests);
    tokio::time::sleep(Duration::from_secs(args.steady_seconds)).await;
    let after = writes(&kube_requests(operator.port).await?);
    let (steady_writes, lease_renewals) = (after.0 - before.0, after.1 - before.1);

    let verbs = by_verb(&requests);
    let per_tenant = verbs.values().sum::<f64>() / n as f64;
    let verbs: Vec<String> = verbs
        .iter()
        .map(|(verb, count)| format!("{verb} {:.1}", count / n as f64))
        .collect();
    let ratio = floor.map(|f| took.as_secs_f64() / f.as_secs_f64());
    let row = format!(
        "| {n} | {} | {:.1} s | {} | {:.1} MiB | {cpu_seconds:.1} s | {per_tenant:.1} ({}) | {steady_writes} (+ {lease_renewals} Lease renewals) |",
        floor.map_or("–".to_owned(), |f| format!("{:.1} s", f.as_secs_f64())),
        took.as_secs_f64(),
        ratio.map_or("–".to_owned(), |r| format!("{r:.2}×")),
        peak_rss_kib as f64 / 1024.0,
        verbs.join(", "),
    );
    eprintln!("{row}");
    eprintln!("==> Requests by verb and resource: {requests:?}");
    Ok((row, ratio))
}

/// The release operator built beside this binary, on the platform.
fn start_operator(platform: &Platform) -> Result<Operator> {
    let binary = std::env::current_exe()?.with_file_name("shopfleet-operator");
    let env = platform.env().into_iter().chain([("RUST_LOG", "warn".into())]);
    let operator = operator::start(&binary, &[], env, &platform.dir().join("operator.log"))
        .context("`cargo build --release -p shopfleet-operator -p shopfleet-bench` builds both")?;
    eprintln!("==> Operator log: {}", operator.log.display());
    Ok(operator)
}

async fn wait_until_leading(port: u16) -> Result<()> {
    for _ in 0..120 {
        if http_get(port, "/readyz").is_ok_and(|body| body.contains("leading")) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("the operator did not lead within 30 s")
}

/// Creates the Tenants, then each one's 2 Stores as soon as its namespace
/// exists; returns when every Tenant and Store is Ready, with the time the
/// Tenants alone took.
///
/// It follows them with watches, as `kubectl wait` would: listing every
/// Tenant once a second put apiserver work on the operator's side of the
/// comparison that the floor's side does not have.
async fn create_and_wait(client: &Client, n: usize, parallel: usize) -> Result<Duration> {
    let started = Instant::now();
    let tenants = Api::<Tenant>::all(client.clone());
    let stores = Api::<Store>::all(client.clone());
    // Watching from before the first Tenant exists: no event is missed.
    let mut tenant_events = watcher(tenants.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let mut store_events = watcher(stores, watcher::Config::default())
        .applied_objects()
        .boxed();
    futures::stream::iter(0..n)
        .map(|i| {
            let tenants = tenants.clone();
            async move {
                tenants
                    .create(
                        &PostParams::default(),
                        &Tenant::new(&format!("bench-{i}"), tenant_spec()),
                    )
                    .await
            }
        })
        .buffer_unordered(parallel)
        .try_collect::<Vec<_>>()
        .await
        .context("creating the Tenants")?;

    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut creating = futures::stream::FuturesUnordered::new();
    let (mut with_stores, mut ready_tenants, mut ready_stores) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut tenants_ready_at = None;
    let deadline = tokio::time::sleep(Duration::from_secs(3600));
    tokio::pin!(deadline);
    // Stores can be Ready before their Tenant (they wait for its database,
    // not its API): the clock stops when both are.
    while ready_tenants.len() < n || ready_stores.len() < 2 * n {
        tokio::select! {
            tenant = tenant_events.try_next() => {
                let tenant = tenant?.context("the Tenant watch ended")?;
                let Some(status) = tenant.status.as_ref() else { continue };
                if let Some(namespace) = &status.namespace
                    && with_stores.insert(namespace.clone())
                {
                    let (client, namespace, slots) = (client.clone(), namespace.clone(), slots.clone());
                    creating.push(tokio::spawn(async move {
                        let _slot = slots.acquire().await.expect("never closed");
                        create_stores(&client, &namespace).await
                    }));
                }
                if is_true(&status.conditions, "Ready") {
                    ready_tenants.insert(tenant.name_any());
                    if ready_tenants.len() == n && tenants_ready_at.is_none() {
                        tenants_ready_at = Some(started.elapsed());
                    }
                }
            }
            store = store_events.try_next() => {
                let store = store?.context("the Store watch ended")?;
                if store.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready")) {
                    ready_stores.insert((store.namespace().unwrap_or_default(), store.name_any()));
                }
            }
            Some(created) = creating.next() => created.context("creating Stores")??,
            () = &mut deadline => {
                bail!("not all Ready within an hour: {}/{n} tenants, {}/{} stores", ready_tenants.len(), ready_stores.len(), 2 * n);
            }
        }
    }
    Ok(tenants_ready_at.unwrap_or_default())
}

async fn create_stores(client: &Client, namespace: &str) -> Result<()> {
    let stores = Api::<Store>::namespaced(client.clone(), namespace);
    for (name, spec) in store_specs() {
        stores
            .create(&PostParams::default(), &Store::new(name, spec))
            .await?;
    }
    Ok(())
}

pub fn tenant_spec() -> TenantSpec {
    TenantSpec {
        plan: Plan::Starter,
        owner: TenantOwner {
            email: "owner@bench.test".to_owned(),
        },
        database: TenantDatabase {
            server: "default".to_owned(),
            deletion_policy: DeletionPolicy::Delete,
        },
        api: TenantApi::default(),
        suspended: false,
    }
}

pub fn store_specs() -> [(&'static str, StoreSpec); 2] {
    let spec = |display_name: &str, industry| StoreSpec {
        display_name: display_name.to_owned(),
        industry,
        currency: "EUR".to_owned(),
        timezone: "Europe/Paris".to_owned(),
    };
    [
        ("shop", spec("Bench shop", Industry::Retail)),
        ("tickets", spec("Bench tickets", Industry::Events)),
    ]
}

/// The operator's requests to the apiserver so far, by (verb, resource).
async fn kube_requests(port: u16) -> Result<BTreeMap<(String, String), f64>> {
    Ok(operator::kube_requests(&http_get(port, "/metrics")?))
}

/// Requests per verb.
fn by_verb(requests: &BTreeMap<(String, String), f64>) -> BTreeMap<&str, f64> {
    let mut verbs = BTreeMap::new();
    for ((verb, _), count) in requests {
        *verbs.entry(verb.as_str()).or_default() += count;
    }
    verbs
}

/// Writes (create, update, patch, delete) to anything but the leader Lease,
/// and the Lease renewals apart: those are the price of leader election.
fn writes(requests: &BTreeMap<(String, String), f64>) -> (f64, f64) {
    let mut writes = (0.0, 0.0);
    for ((verb, resource), count) in requests {
        if ["create", "update", "patch", "delete"].contains(&verb.as_str()) {
            match resource.as_str() {
                "leases" => writes.1 += count,
                _ => writes.0 += count,
            }
        }
    }
    writes
}

fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

/// CPU time the process has used so far (user and system), from
/// `/proc/<pid>/stat`, whose clock ticks are USER_HZ: 100 per second on Linux.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count from after it.
    let after_name = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15; the slice starts at field 3.
    let ticks: u64 =
        fields.get(11).context("utime")?.parse::<u64>()? + fields.get(12).context("stime")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// The body of a GET on the operator's HTTP endpoint.
fn http_get(port: u16, path: &str) -> Result<String> {
    Ok(operator::http_get(port, path)?.1)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits in the repo")
        .to_owned()
}
