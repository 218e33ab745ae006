//! The ceiling: pgbench running, per request, the SQL the API runs, taken
//! from the API's own constants, on the same database as the same role.
//!
//! An order needs new ids and a new idempotency key in every transaction,
//! which pgbench's `\set` cannot make: its script takes them from the
//! statement that opens the transaction, whose `SELECT` returns them beside
//! the RLS setting (`\gset`). That one statement is the API's plus these
//! columns.
//!
//! Not pgbench's `-M prepared`: it binds every variable as text, so it cannot
//! bind the NULLs the API binds (7 of the 10 parameters of a list), and it
//! leaves parameter types to the server. Instead each connection prepares the statements
//! once with `PREPARE`, with the parameter types sqlx declares, as the API's
//! connections do on first use, and each transaction runs them with `EXECUTE`
//! and the values the API binds, NULLs included. The server therefore plans
//! and caches exactly as it does for the API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use shopfleet_api::catalog::sql;
use shopfleet_api::inventory::sql::{Pool, RESERVE as RESERVE_SQL};
use shopfleet_api::orders::sql::{INSERT_ORDER as INSERT_ORDER_SQL, OFFERS as OFFERS_SQL};
use shopfleet_api::promotions::sql::CANDIDATES as CANDIDATES_SQL;
use shopfleet_api::{db, idempotency};

use crate::scenario::{Order, QUANTITY, Request, Scenario, order_caller};
use crate::store::{CURRENCY, PAGE, PROMOTION_CODE, PROMOTION_NAME, Store};
use crate::{Load, Measurement};

/// pgbench reads at most this many scripts; a scenario is one per request.
pub const MAX_SCRIPTS: usize = 128;

/// A query of the API, and the types sqlx declares for its parameters (from
/// the Rust types the API binds, in the order of the doc comments).
struct Statement {
    name: &'static str,
    sql: &'static str,
    parameter_types: &'static [&'static str],
}

/// store, status, kind, category, min price, max price, cursor id, cursor
/// rank, search, limit: both list queries bind all ten.
const PRODUCT_FILTER_TYPES: &[&str] = &[
    "uuid", "text", "text", "uuid", "bigint", "bigint", "uuid", "real", "text", "bigint",
];
const LIST_PRODUCTS: Statement = Statement {
    name: "list_products",
    sql: sql::LIST_PRODUCTS,
    parameter_types: PRODUCT_FILTER_TYPES,
};
const SEARCH_PRODUCTS: Statement = Statement {
    name: "search_products",
    sql: sql::SEARCH_PRODUCTS,
    parameter_types: PRODUCT_FILTER_TYPES,
};
const PRODUCT: Statement = Statement {
    name: "product",
    sql: sql::PRODUCT,
    parameter_types: &["uuid", "text"],
};
const VARIANTS_OF: Statement = Statement {
    name: "variants_of",
    sql: sql::VARIANTS_OF,
    parameter_types: &["uuid[]", "text"],
};

/// Placing an order, in the order the API runs them: store $1, caller $2,
/// key $3, the request's SHA-256 $4, how many expired keys to clear $5.
const CLAIM: Statement = Statement {
    name: "claim",
    sql: idempotency::CLAIM,
    parameter_types: &["uuid", "text", "text", "bytea", "bigint"],
};
/// The variants $1.
const OFFERS: Statement = Statement {
    name: "offers",
    sql: OFFERS_SQL,
    parameter_types: &["uuid[]"],
};
/// Store $1, customer $2, code $3.
const CANDIDATES: Statement = Statement {
    name: "candidates",
    sql: CANDIDATES_SQL,
    parameter_types: &["uuid", "uuid", "text"],
};
/// Store $1, product $2, variant $3, night $4, quantity $5.
const RESERVE: Statement = Statement {
    name: "reserve",
    sql: RESERVE_SQL,
    parameter_types: &["uuid", "uuid", "uuid", "date", "integer"],
};
/// What `orders::sql::insert` binds, in its order.
#[rustfmt::skip]
const INSERT_ORDER: Statement = Statement {
    name: "insert_order",
    sql: INSERT_ORDER_SQL,
    parameter_types: &[
        // order, store, customer, currency, subtotal, discount, code, placed by
        "uuid", "uuid", "uuid", "text", "bigint", "bigint", "text", "text",
        // the lines: ids, products, variants, skus, titles, nights, pools,
        // quantities, unit prices, discounts
        "uuid[]", "uuid[]", "uuid[]", "text[]", "text[]", "date[]", "uuid[]", "integer[]", "bigint[]",
        "bigint[]",
        // the discounts: promotions, names, kinds, codes, amounts
        "uuid[]", "text[]", "text[]", "text[]", "bigint[]",
        // the `created` event
        "uuid",
        // the session, the party size
        "uuid", "smallint",
    ],
};
/// Store $1, caller $2, key $3, status $4, body $5.
const RECORD: Statement = Statement {
    name: "record",
    sql: idempotency::RECORD,
    parameter_types: &["uuid", "text", "text", "smallint", "jsonb"],
};

/// How many expired keys a claim clears on its way (`idempotency::CLEANUP_BATCH`).
const CLEANUP_BATCH: i64 = 100;

/// A new id for each transaction, time-ordered as the API's UUIDv7 ids are
/// (the first 48 bits are the Unix time in milliseconds), so the ceiling's
/// rows land at the end of their indexes as the API's do, not all over.
const NEW_ID: &str = "encode(overlay(uuid_send(gen_random_uuid()) placing \
     substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::int8) FROM 3) FROM 1 FOR 6), 'hex')::uuid";

/// A statement, and the values to execute it with.
type Query = (&'static Statement, Vec<Option<String>>);

impl Statement {
    /// `PREPARE`, after checking that the SQL has as many parameters as we bind.
    fn prepare(&self) -> Result<String> {
        let highest = highest_parameter(self.sql);
        ensure!(
            highest == self.parameter_types.len(),
            "the API's {} query now has {highest} parameters, the benchmark binds {}: update \
             bench/src/bin/api-load/ceiling.rs from the query's doc comment",
            self.name,
            self.parameter_types.len()
        );
        Ok(format!(
            "PREPARE {}({}) AS {};",
            self.name,
            self.parameter_types.join(", "),
            self.sql
        ))
    }

    /// `EXECUTE` with `values` for $1, $2, ... (None: NULL).
    fn execute(&self, values: &[Option<String>]) -> String {
        assert_eq!(values.len(), self.parameter_types.len(), "{}", self.name);
        let values: Vec<&str> = values.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
        format!("EXECUTE {}({});", self.name, values.join(", "))
    }
}

/// The highest `$n` in `sql`.
fn highest_parameter(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// A value to bind, as a SQL string literal.
fn literal(value: &str) -> Option<String> {
    Some(format!("'{}'", value.replace('\'', "''")))
}

/// Values to bind, as an array literal (of uuids, numbers, `NULL`).
fn array<T: ToString>(values: impl IntoIterator<Item = T>) -> Option<String> {
    let values: Vec<String> = values.into_iter().map(|value| value.to_string()).collect();
    literal(&format!("{{{}}}", values.join(",")))
}

/// Texts to bind, as a `text[]` literal.
fn text_array<'a>(texts: impl IntoIterator<Item = &'a str>) -> Option<String> {
    array(
        texts
            .into_iter()
            .map(|text| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))),
    )
}

/// The pgbench script of one request: what the API runs for it, in order.
fn script(request: &Request, scenario: &Scenario, store: &Store) -> Result<String> {
    let store_id = literal(&store.id.to_string());
    let currency = literal(CURRENCY);
    // Shoppers (a publishable key) read active products only.
    let active = literal("active");
    let limit = Some((PAGE + 1).to_string());
    // What both list queries bind for a shopper's first page, $1 to $10.
    let first_page = |search: Option<String>| {
        let mut values = vec![store_id.clone(), active.clone()];
        // kind, category, min price, max price, cursor id, cursor rank: none
        values.extend([None, None, None, None, None, None]);
        values.extend([search, limit.clone()]);
        values
    };
    let queries: Vec<Query> = match request {
        Request::List { page } => vec![
            (&LIST_PRODUCTS, first_page(None)),
            (&VARIANTS_OF, vec![array(page), currency]),
        ],
        Request::Get { product } => vec![
            (&PRODUCT, vec![literal(&product.to_string()), active.clone()]),
            (&VARIANTS_OF, vec![array([product]), currency]),
        ],
        Request::Search { word, page } => vec![
            (&SEARCH_PRODUCTS, first_page(literal(word))),
            (&VARIANTS_OF, vec![array(page), currency]),
        ],
        Request::Events { .. } => bail!("the events scenario's ceiling is COPY (events.rs), not pgbench"),
        Request::Order(order) => {
            let answer = scenario
                .answer
                .as_deref()
                .context("no answer of the API to store as the orders' (the check places one)")?;
            order_queries(order, answer, store)?
        }
    };

    let mut lines = vec![
        format!(
            "-- api-load: `{} {}`, as the API runs it",
            request.method(),
            request.path(store.id)
        ),
        // Variables are per connection: the first transaction of each prepares.
        r"\if :prepared = 0".to_owned(),
    ];
    let mut prepared: Vec<&str> = Vec::new();
    for (statement, _) in &queries {
        // Once each: an order reserves once per pool.
        if !prepared.contains(&statement.name) {
            prepared.push(statement.name);
            lines.push(statement.prepare()?);
        }
    }
    lines.extend([r"\set prepared 1".to_owned(), r"\endif".to_owned()]);
    // The API keeps the store's row and the key's lookup for a few seconds,
    // so in steady state a request opens the store's transaction at once: its
    // BEGIN and RLS setting in one round trip (`\;` sends both together).
    let scope = db::scope_statement(store.id).replace("; ", "\\; ");
    lines.push(match request {
        // The order's new ids and key, into variables (`\gset` ends the
        // statement): the SELECT returns them beside the RLS setting.
        Request::Order(order) => {
            let ids: Vec<String> = std::iter::once("new_order".to_owned())
                .chain(line_ids(order))
                .chain(["new_event".to_owned()])
                .map(|name| format!("{NEW_ID} AS {name}"))
                .collect();
            format!(
                "{scope}, {}, gen_random_uuid()::text AS new_key \\gset",
                ids.join(", ")
            )
        }
        _ => format!("{scope};"),
    });
    for (statement, values) in &queries {
        lines.push(statement.execute(values));
    }
    lines.push("COMMIT;".to_owned());
    Ok(lines.join("\n") + "\n")
}

/// What the API runs to place `order` after opening the transaction, with
/// what it binds: `answer` is the order's JSON it stores under the key. The
/// new ids and key are the variables the opening statement sets.
fn order_queries(order: &Order, answer: &str, store: &Store) -> Result<Vec<Query>> {
    let store_id = literal(&store.id.to_string());
    let caller = literal(&order_caller(store));
    let key = literal(":new_key");
    let code = literal(PROMOTION_CODE);
    let offers = order.lines.iter().map(|line| &line.offer);
    let mut queries = vec![
        (
            &CLAIM,
            vec![
                store_id.clone(),
                caller.clone(),
                key.clone(),
                literal(&format!("\\x{}", hex(&order.fingerprint))),
                Some(CLEANUP_BATCH.to_string()),
            ],
        ),
        (&OFFERS, vec![array(offers.clone().map(|offer| offer.variant_id))]),
        // No customer: the secret key orders for none.
        (&CANDIDATES, vec![store_id.clone(), None, code.clone()]),
    ];
    // One reservation per pool, in the order the API locks pools.
    let mut pools: Vec<Pool> = offers
        .clone()
        .map(|offer| {
            Pool::of(
                offer.kind,
                offer.product_id,
                offer.variant_id,
                offer.capacity,
                None,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    pools.sort();
    for pool in &pools {
        ensure!(pool.initial == 0, "a stocked variant is not a standard product's");
        queries.push((
            &RESERVE,
            vec![
                store_id.clone(),
                literal(&pool.product.to_string()),
                pool.variant.and_then(|variant| literal(&variant.to_string())),
                None,
                Some(QUANTITY.to_string()),
            ],
        ));
    }
    let lines = &order.lines;
    queries.push((
        &INSERT_ORDER,
        vec![
            literal(":new_order"),
            store_id.clone(),
            None,
            literal(CURRENCY),
            Some(order.subtotal().to_string()),
            Some(order.discount().to_string()),
            code.clone(),
            caller.clone(),
            array(line_ids(order).map(|name| format!(":{name}"))),
            array(offers.clone().map(|offer| offer.product_id)),
            array(offers.clone().map(|offer| offer.variant_id)),
            text_array(offers.clone().map(|offer| offer.sku.as_str())),
            text_array(offers.clone().map(|offer| offer.title.as_str())),
            array(lines.iter().map(|_| "NULL")),
            array(lines.iter().map(|line| line.stock)),
            array(lines.iter().map(|_| QUANTITY)),
            array(offers.clone().map(|offer| offer.price_minor)),
            array(&order.line_discounts),
            // The one promotion applied.
            array([store.promotion]),
            text_array([PROMOTION_NAME]),
            text_array(["percentage"]),
            text_array([PROMOTION_CODE]),
            array([order.discount()]),
            literal(":new_event"),
            None,
            None,
        ],
    ));
    queries.push((
        &RECORD,
        vec![store_id, caller, key, Some("201".to_owned()), literal(answer)],
    ));
    Ok(queries)
}

/// The variables of the order's new line ids.
fn line_ids(order: &Order) -> impl Iterator<Item = String> {
    (1..=order.lines.len()).map(|i| format!("new_line_{i}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// pgbench from the PostgreSQL server's folder, as the e2e library finds the
/// server: on PATH (not Debian's wrapper), else the newest
/// `/usr/lib/postgresql/<major>/bin`.
pub fn find() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .filter_map(|dir| dir.join("pgbench").canonicalize().ok())
        .find(|program| program.file_name().is_some_and(|name| name == "pgbench"));
    let newest_server = || {
        let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let major = entry.file_name().to_str()?.parse().ok()?;
                Some((major, entry.path().join("bin/pgbench")))
            })
            .filter(|(major, program)| *major >= 15 && program.is_file())
            .collect();
        majors.sort();
        majors.pop().map(|(_, program)| program)
    };
    on_path.or_else(newest_server).context(
        "pgbench is missing: it comes with the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`)",
    )
}

/// Runs pgbench on `scenario`: one script per request, picked at random per
/// transaction; the percentiles come from its log of every transaction.
pub fn run(
    pgbench: &Path,
    dir: &Path,
    scenario: &Scenario,
    store: &Store,
    load: &Load,
) -> Result<Measurement> {
    ensure!(
        scenario.requests.len() <= MAX_SCRIPTS,
        "{} has {} requests; pgbench takes at most {MAX_SCRIPTS} scripts",
        scenario.name,
        scenario.requests.len()
    );
    let scripts = dir.join(format!("pgbench-{}", scenario.name));
    std::fs::create_dir_all(&scripts)?;
    let mut command = Command::new(pgbench);
    for (i, request) in scenario.requests.iter().enumerate() {
        let path = scripts.join(format!("{i}.sql"));
        std::fs::write(&path, script(request, scenario, store)?)?;
        command.arg(format!("--file={}", path.display()));
    }
    let log_prefix = scripts.join("latency");
    let runtime = &store.runtime;
    let output = command
        .args(["--no-vacuum", "--protocol=simple", "--define=prepared=0", "--log"])
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .arg(format!("--client={}", load.connections))
        .arg(format!("--jobs={}", load.threads))
        .arg(format!("--time={}", load.seconds))
        .args(load.rate.map(|rate| format!("--rate={rate}")))
        .arg(format!("--host={}", runtime.host))
        .arg(format!("--port={}", runtime.port))
        .arg(format!("--username={}", runtime.user))
        .arg(&runtime.database)
        .env("PGPASSWORD", &runtime.password)
        .output()
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = dir.join(format!("pgbench-{}.txt", scenario.name));
    std::fs::write(&log, [&output.stdout[..], &output.stderr[..]].concat())?;
    if !output.status.success() {
        bail!(
            "pgbench failed on {} ({}): {}",
            scenario.name,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let failed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("number of failed transactions: "))
        .context("pgbench printed no count of failed transactions")?;
    ensure!(
        failed.starts_with("0 "),
        "pgbench had failed transactions on {}: {failed} (its output: {})",
        scenario.name,
        log.display()
    );
    let per_second: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("pgbench printed no tps (its output: {})", log.display()))?;

    let mut latencies = transaction_latencies(&scripts)?;
    ensure!(!latencies.is_empty(), "pgbench logged no transactions");
    latencies.sort_unstable();
    Ok(Measurement {
        count: latencies.len() as u64,
        per_second,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    })
}

/// Every transaction's latency from pgbench's logs (one file per thread:
/// `client transaction latency_us script epoch_s epoch_us`).
fn transaction_latencies(dir: &Path) -> Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("latency."))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let micros: u64 = line
                .split_whitespace()
                .nth(2)
                .and_then(|field| field.parse().ok())
                .with_context(|| format!("{}: no latency in {line:?}", path.display()))?;
            latencies.push(Duration::from_micros(micros));
        }
    }
    Ok(latencies)
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_parameter_reads_multi_digit_numbers() {
        assert_eq!(highest_parameter("a = $1 AND b = $10 AND c = $2::text"), 10);
        assert_eq!(highest_parameter("no parameters"), 0);
    }

    #[test]
    fn text_arrays_quote_their_elements() {
        assert_eq!(
            text_array(["Oak – Option 1", r#"a "b""#, r"c\d", "it's"]).unwrap(),
            r#"'{"Oak – Option 1","a \"b\"","c\\d","it''s"}'"#
        );
        assert_eq!(array([1, 2]).unwrap(), "'{1,2}'");
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&values, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&values, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&values[..1], 99.0), Duration::from_micros(1));
    }
}
