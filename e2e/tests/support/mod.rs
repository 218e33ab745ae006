//! What every e2e test needs: clients for the platform `shopfleet-local exec`
//! started (or the one `KUBECONFIG` / `DATABASE_URL` point at), and a fresh
//! namespace per test. Missing platform means a failing test, never a skip.

#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, Config, ResourceExt};
use shopfleet_e2e::process::ManagedProcess;

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

/// Applies every CRD under `crds/` and waits until the apiserver serves it.
pub async fn install_crds(client: &Client) -> Vec<String> {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("crds")).unwrap() {
        let yaml = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let crd: CustomResourceDefinition = serde_yaml::from_str(&yaml).unwrap();
        let name = crd.name_any();
        api.patch(
            &name,
            &PatchParams::apply("shopfleet-e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("applying CRD {name}: {e}"));
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} was not Established within a minute"))
        .unwrap();
        names.push(name);
    }
    names
}

/// The operator binary `cargo build --workspace` put beside the test binaries.
pub fn operator_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("shopfleet-operator");
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build --workspace` first ({HOW_TO_RUN})",
        binary.display()
    );
    binary
}

/// Starts one operator for this test binary (with the CRDs and admin Secret
/// it needs). It runs until the test binary exits: the kernel kills it then,
/// because its parent thread never ends.
pub async fn shared_operator() {
    static STARTED: OnceLock<()> = OnceLock::new();
    let client = client().await;
    // `shopfleet-local exec` gave the operator its PostgreSQL admin Secret.
    install_crds(&client).await;
    STARTED.get_or_init(|| {
        let (started, running) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let binary = operator_binary();
            // Beside the binary: the target folder, wherever CARGO_TARGET_DIR puts it.
            let log = binary.with_file_name("e2e-operator.log");
            let mut command = std::process::Command::new(&binary);
            command
                .arg("run")
                .env("RUST_LOG", "info,shopfleet_operator=debug");
            let process = ManagedProcess::spawn("shopfleet-operator", command, &log)
                .unwrap_or_else(|e| panic!("starting the operator: {e:#}"));
            eprintln!("operator log: {}", log.display());
            started.send(()).unwrap();
            let _keep = process;
            loop {
                std::thread::park();
            }
        });
        running.recv().expect("the operator started");
    });
}
