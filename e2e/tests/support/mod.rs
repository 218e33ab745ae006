//! What every e2e test needs: clients for the platform `shopfleet-local exec`
//! started (or the one `KUBECONFIG` / `DATABASE_URL` point at), and a fresh
//! namespace per test. Missing platform means a failing test, never a skip.

#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client, Config};

const HOW_TO_RUN: &str = "e2e tests run inside the local platform: use `make test`, or \
    `cargo run -p shopfleet-e2e --bin shopfleet-local -- exec -- cargo test -p shopfleet-e2e`";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// A client for the platform's cluster. Panics, saying what is missing, when
/// there is none.
pub async fn client() -> Client {
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!("KUBECONFIG is not set, so there is no control plane to test against. {HOW_TO_RUN}");
    }
    let config = Config::infer().await.expect("reading the KUBECONFIG");
    Client::try_from(config).expect("building a Kubernetes client")
}

/// The superuser URL of the platform's PostgreSQL server.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set, so there is no PostgreSQL to test against. {HOW_TO_RUN}")
    })
}

/// Creates a namespace of its own for one test: `e2e-<prefix>-<random>`.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("e2e-{prefix}-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some([("shopfleet.io/e2e".to_owned(), "true".to_owned())].into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("creating the test namespace");
    name
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after `timeout`
/// saying what it waited for.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::time::timeout(timeout, poll)
        .await
        .unwrap_or_else(|_| panic!("timed out after {timeout:?} waiting until {what}"))
}
