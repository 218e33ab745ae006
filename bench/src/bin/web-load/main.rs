//! `web-load`: what the staff web app costs a browser. On a throwaway
//! PostgreSQL it makes a tenant database as the operator does, one retail
//! store with a day of trade and its first owner, starts the release API
//! (which embeds the app), and runs `bench/web/measure.mjs` in Debian's
//! Chromium: the first load over loopback (sign-in page and dashboard, cold
//! cache, JavaScript transferred) and Lighthouse's mobile preset on the
//! dashboard. It prints a Markdown table. A benchmark, not a test: it fails
//! only when something is broken. See bench/README.md.

#[path = "../../shared/tenant.rs"]
mod tenant;

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::{Value, json};
use shopfleet_e2e::postgres::Postgres;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

const OWNER_EMAIL: &str = "owner@bench.test";

#[derive(Parser)]
#[command(about = "Measures the staff web app's first load and its Lighthouse scores in Debian's Chromium")]
struct Args {
    /// Cold first loads to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    loads: u32,
    /// Orders placed today before measuring (the dashboard's live feed and tiles).
    #[arg(long, default_value_t = 50)]
    orders: u32,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if cfg!(debug_assertions) {
        bail!(
            "web-load is a debug build, so it would start the debug API beside it: run it with \
             `cargo run --release` (`make bench-web` does)"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("shopfleet-web-load-")
        .tempdir()
        .context("creating the benchmark's temporary folder")?;
    run(&args, dir.path()).inspect_err(|_| {
        let kept = dir.keep();
        eprintln!("==> Kept {} for its logs (PostgreSQL, the API)", kept.display());
    })
}

fn run(args: &Args, dir: &Path) -> Result<()> {
    let chromium = shopfleet_e2e::chromium::path()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let postgres = Postgres::start(&dir.join("postgres"))?;
    let tenant = runtime.block_on(tenant::Tenant::create(&postgres.url))?;
    let superuser: PgConnectOptions = tenant.admin.options.clone().database(&tenant.names.database);
    let invitation = shopfleet_e2e::random_token(32);
    let (store, keys) = runtime.block_on(async {
        let mut conn = PgConnection::connect_with(&superuser).await?;
        let store = tenant::add_store(&mut conn, "EUR", "retail").await?;
        shopfleet_operator::tenant::invite::record_owner_invitation(&mut conn, OWNER_EMAIL, &invitation)
            .await?;
        conn.close().await?;
        anyhow::Ok(store)
    })?;
    let (port, _api) = tenant::start_api(dir, &tenant.runtime.url())?;
    let api = Api { port };
    let password = shopfleet_e2e::random_token(24);
    api.call(
        "POST",
        "/v1/auth/accept-invitation",
        None,
        &json!({"token": invitation, "password": password, "name": "Bench Owner"}),
    )?;

    eprintln!("==> A day of trade: {} orders", args.orders);
    let base = format!("/v1/stores/{store}");
    let secret = Some(keys.secret.as_str());
    let mut variants = Vec::new();
    for (title, sku, price) in [
        ("Mug", "MUG", 900),
        ("Candle", "CANDLE", 1500),
        ("Tote", "TOTE", 2400),
    ] {
        let product = api.call(
            "POST",
            &format!("{base}/products"),
            secret,
            &json!({"title": title, "kind": "standard", "status": "active",
                "variants": [{"sku": sku, "price_minor": price}]}),
        )?;
        let variant = product["variants"][0]["id"]
            .as_str()
            .context("a variant id")?
            .to_owned();
        api.call(
            "POST",
            &format!("{base}/inventory/adjustments"),
            secret,
            &json!({"variant_id": variant, "delta": 10_000, "reason": "received"}),
        )?;
        variants.push(variant);
    }
    for n in 0..args.orders as usize {
        let order = api.call(
            "POST",
            &format!("{base}/orders"),
            secret,
            &json!({"lines": [{"variant_id": variants[n % variants.len()], "quantity": 1 + n % 3}]}),
        )?;
        let id = order["id"].as_str().context("an order id")?;
        api.call("POST", &format!("{base}/orders/{id}/pay"), secret, &json!({}))?;
    }

    eprintln!("==> Measuring in {}", chromium.display());
    let measure = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let status = Command::new("node")
        .arg("measure.mjs")
        .current_dir(&measure)
        .env("CHROME_PATH", &chromium)
        .env("SHOPFLEET_APP", format!("http://127.0.0.1:{port}"))
        .env("SHOPFLEET_EMAIL", OWNER_EMAIL)
        .env("SHOPFLEET_PASSWORD", &password)
        .env("SHOPFLEET_LOADS", args.loads.to_string())
        .status()
        .context("starting node (Node.js 20+ runs the measurement)")?;
    if !status.success() {
        bail!("bench/web/measure.mjs failed ({status})");
    }
    Ok(())
}

/// The API over loopback.
struct Api {
    port: u16,
}

impl Api {
    /// A JSON request; its JSON answer, or an error naming the call.
    fn call(&self, method: &str, path: &str, key: Option<&str>, body: &Value) -> Result<Value> {
        let idempotency = uuid::Uuid::new_v4().to_string();
        let mut headers = vec![("Idempotency-Key", idempotency.as_str())];
        if let Some(key) = key {
            headers.push(("X-Api-Key", key));
        }
        let response = shopfleet_e2e::http::request(self.port, method, path, &headers, Some(body))?;
        if !(200..300).contains(&response.status) {
            bail!("{method} {path}: {} {:?}", response.status, response.json().ok());
        }
        response.json()
    }
}
