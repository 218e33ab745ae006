//! `operator-scale`: how the operator copes with many Tenants at once.
//!
//! On the local platform (real control plane and PostgreSQL), it first times
//! the floor: the same objects and databases made by a plain script, as fast
//! as it can (`floor.rs`). Then it starts the operator (release build),
//! creates N Tenants with 2 Stores each, and reports the time until all are
//! Ready, the operator's peak RSS, its requests to the apiserver per tenant,
//! and its writes during a quiet period (steady state). See bench/README.md.

mod floor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
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
}

fn main() -> Result<()> {
    let args = Args::parse();
    let platform = Platform::start()?;
    platform.install_crds(&repo_root().join("crds"))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(&platform, &args))
}

async fn run(platform: &Platform, args: &Args) -> Result<()> {
    let kubeconfig = Kubeconfig::read_from(&platform.kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    let n = args.tenants;

    let floor = if args.skip_floor {
        None
    } else {
        eprintln!(
            "==> Floor: {n} tenants × 2 stores by a plain script, {} at a time",
            args.parallel
        );
        let took = floor::run(&client, &platform.database_url, n, args.parallel).await?;
        eprintln!("==> Floor done in {took:.1?}");
        Some(took)
    };

    let mut operator = start_operator(platform)?;
    wait_until_leading(operator.port).await?;
    eprintln!("==> Operator leading; creating {n} Tenants × 2 Stores");
    let started = Instant::now();
    let tenants_ready = create_and_wait(&client, n, args.parallel).await?;
    let took = started.elapsed();
    eprintln!("==> All Ready in {took:.1?} (tenants alone: {tenants_ready:.1?})");
    operator.process.check_running()?;
    let peak_rss_kib = peak_rss_kib(operator.process.pid())?;
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
    let seconds = args.steady_seconds;
    println!(
        "\n| tenants | floor | operator | ratio | peak RSS | requests/tenant | writes in {seconds} s of steady state |"
    );
    println!("|---:|---:|---:|---:|---:|---|---|");
    println!(
        "| {n} | {} | {:.1} s | {} | {:.1} MiB | {per_tenant:.1} ({}) | {steady_writes} (+ {lease_renewals} Lease renewals) |",
        floor.map_or("–".to_owned(), |f| format!("{:.1} s", f.as_secs_f64())),
        took.as_secs_f64(),
        floor.map_or("–".to_owned(), |f| format!(
            "{:.2}×",
            took.as_secs_f64() / f.as_secs_f64()
        )),
        peak_rss_kib as f64 / 1024.0,
        verbs.join(", "),
    );
    eprintln!("==> Requests by verb and resource: {requests:?}");
    Ok(())
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
async fn create_and_wait(client: &Client, n: usize, parallel: usize) -> Result<Duration> {
    let started = Instant::now();
    let tenants = Api::<Tenant>::all(client.clone());
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

    let mut with_stores = std::collections::BTreeSet::new();
    let mut tenants_ready_at = None;
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let list = tenants.list(&ListParams::default()).await?;
        let ours: Vec<&Tenant> = list
            .items
            .iter()
            .filter(|t| t.name_any().starts_with("bench-"))
            .collect();
        let new_namespaces: Vec<String> = ours
            .iter()
            .filter_map(|t| t.status.as_ref()?.namespace.clone())
            .filter(|ns| !with_stores.contains(ns))
            .collect();
        futures::stream::iter(new_namespaces.iter())
            .map(|ns| create_stores(client, ns))
            .buffer_unordered(parallel)
            .try_collect::<Vec<_>>()
            .await?;
        with_stores.extend(new_namespaces);
        let ready = ours
            .iter()
            .filter(|t| t.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready")))
            .count();
        if ready == n && tenants_ready_at.is_none() {
            tenants_ready_at = Some(started.elapsed());
        }
        if ready == n {
            let stores = Api::<Store>::all(client.clone())
                .list(&ListParams::default())
                .await?;
            let ready_stores = stores
                .items
                .iter()
                .filter(|s| s.namespace().is_some_and(|ns| ns.starts_with("tenant-bench-")))
                .filter(|s| s.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready")))
                .count();
            if ready_stores == 2 * n {
                return Ok(tenants_ready_at.unwrap_or_default());
            }
        }
        if Instant::now() > deadline {
            bail!("not all Ready within an hour: {ready}/{n} tenants");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
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
    let body = http_get(port, "/metrics")?;
    let prefix = "shopfleet_operator_kube_requests_total{resource=\"";
    Ok(body
        .lines()
        .filter_map(|line| {
            let (resource, rest) = line.strip_prefix(prefix)?.split_once("\",verb=\"")?;
            let (verb, count) = rest.split_once("\"} ")?;
            Some(((verb.to_owned(), resource.to_owned()), count.trim().parse().ok()?))
        })
        .collect())
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
