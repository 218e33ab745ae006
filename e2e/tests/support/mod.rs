//! What every e2e test needs: clients for the platform `shopfleet-local exec`
//! started (or the one `KUBECONFIG` / `DATABASE_URL` point at), and a fresh
//! namespace per test. Missing platform means a failing test, never a skip.

#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, Config, ResourceExt};
pub use shopfleet_e2e::operator::Operator;
use shopfleet_operator::crd::{
    Condition, DeletionPolicy, Industry, Plan, Store, StoreSpec, StoreStatus, Tenant, TenantApi,
    TenantDatabase, TenantOwner, TenantSpec, TenantStatus, is_true,
};

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
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_every(what, timeout, Duration::from_millis(250), check).await
}

/// [`eventually`], polling every `interval`: for a state that lasts well under
/// a second, which polling every 250 ms could step over.
pub async fn eventually_every<T, F, Fut>(what: &str, timeout: Duration, interval: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(interval).await;
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

/// Tenants with this label are left to the operators a test starts itself
/// (`--tenant-selector shopfleet.io/e2e-shard=<shard>`), never to the shared one.
pub const SHARD_LABEL: &str = "shopfleet.io/e2e-shard";

/// Starts an operator (`run` plus `args`) on a free port, logging beside its
/// binary to `e2e-operator-<label>.log`.
pub fn start_operator(label: &str, args: &[&str]) -> Operator {
    start_operator_with_env(label, args, &[])
}

/// [`start_operator`] with environment variables of its own (e.g. another KUBECONFIG).
pub fn start_operator_with_env(label: &str, args: &[&str], env: &[(&str, &Path)]) -> Operator {
    let binary = operator_binary();
    // Beside the binary: the target folder, wherever CARGO_TARGET_DIR puts it.
    let log = binary.with_file_name(format!("e2e-operator-{label}.log"));
    let env = [("RUST_LOG", Path::new("info,shopfleet_operator=debug"))]
        .into_iter()
        .chain(env.iter().copied());
    let operator = shopfleet_e2e::operator::start(&binary, args, env, &log)
        .unwrap_or_else(|e| panic!("starting the operator: {e:#}"));
    eprintln!("operator {label} log: {}", log.display());
    operator
}

/// Starts an operator of a test's own: it leads with a Lease in namespace
/// `home`, reconciles only the Tenants of shard `home` (`sharded_tenant`),
/// and takes `args` and `env` besides.
pub fn start_shard_operator(home: &str, args: &[&str], env: &[(&str, &Path)]) -> Operator {
    let selector = format!("{SHARD_LABEL}={home}");
    let own = [
        "--lease-namespace",
        home,
        "--lease-name",
        "operator",
        "--tenant-selector",
        &selector,
    ];
    let args: Vec<&str> = own.iter().chain(args).copied().collect();
    start_operator_with_env(home, &args, env)
}

/// Starts one operator for this test binary (with the CRDs and admin Secret
/// it needs). It runs until the test binary exits: the kernel kills it then,
/// because its parent thread never ends. It leaves sharded Tenants alone and
/// has a lease of its own, so it never waits for the operator of the test
/// binary before it.
pub async fn shared_operator() {
    static STARTED: OnceLock<()> = OnceLock::new();
    let client = client().await;
    // `shopfleet-local exec` gave the operator its PostgreSQL admin Secret.
    install_crds(&client).await;
    STARTED.get_or_init(|| {
        let (started, running) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let lease = format!("e2e-shared-{}", shopfleet_e2e::random_token(6).to_lowercase());
            let selector = format!("!{SHARD_LABEL}");
            // Drift in Secrets, which no watch sees, is repaired at the
            // resync: every few seconds here, so tests of it need not wait
            // the default five minutes.
            let operator = start_operator(
                "shared",
                &[
                    "--lease-name",
                    &lease,
                    "--tenant-selector",
                    &selector,
                    "--resync-seconds",
                    "3",
                ],
            );
            started.send(()).unwrap();
            let _keep = operator;
            loop {
                std::thread::park();
            }
        });
        running.recv().expect("the operator started");
    });
}

/// How long an e2e test waits for the operator to converge.
pub const WAIT: Duration = Duration::from_secs(90);

pub fn tenant_spec(policy: DeletionPolicy) -> TenantSpec {
    TenantSpec {
        plan: Plan::Starter,
        owner: TenantOwner {
            email: "owner@acme.test".to_owned(),
        },
        database: TenantDatabase {
            server: "default".to_owned(),
            deletion_policy: policy,
        },
        api: TenantApi::default(),
        suspended: false,
    }
}

/// Creates a Tenant with a unique name and waits until it is Ready.
pub async fn ready_tenant(client: &Client, policy: DeletionPolicy) -> (String, TenantStatus) {
    let name = format!("e2e-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let status = create_ready_tenant(client, Tenant::new(&name, tenant_spec(policy))).await;
    (name, status)
}

/// A Tenant (unique name, policy Delete) for the operators of `shard` alone.
pub fn sharded_tenant(shard: &str) -> Tenant {
    let name = format!("e2e-{}", shopfleet_e2e::random_token(6).to_lowercase());
    let mut tenant = Tenant::new(&name, tenant_spec(DeletionPolicy::Delete));
    tenant.metadata.labels = Some([(SHARD_LABEL.to_owned(), shard.to_owned())].into());
    tenant
}

/// Creates `tenant` and waits until it is Ready.
pub async fn create_ready_tenant(client: &Client, tenant: Tenant) -> TenantStatus {
    let name = tenant.name_any();
    let tenants = Api::<Tenant>::all(client.clone());
    tenants.create(&PostParams::default(), &tenant).await.unwrap();
    eventually(&format!("Tenant {name} is Ready"), WAIT, || async {
        let status = tenants.get(&name).await.ok()?.status?;
        is_true(&status.conditions, "Ready").then_some(status)
    })
    .await
}

/// Deletes Tenants and waits until they are gone (their finalizers done).
pub async fn delete_tenants(client: &Client, names: &[String]) {
    let tenants = Api::<Tenant>::all(client.clone());
    for name in names {
        match tenants.delete(name, &Default::default()).await {
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            result => {
                result.unwrap();
            }
        }
    }
    for name in names {
        eventually(&format!("Tenant {name} is gone"), WAIT, || async {
            tenants.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
}

/// A GET on an operator's HTTP endpoint: status and body, None if it does not answer.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    shopfleet_e2e::operator::http_get(port, path).ok()
}

/// The value of an unlabelled metric series (or one whose labels are given
/// exactly, e.g. `name{controller="tenant",result="success"}`).
pub fn metric(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

pub async fn secret_value(client: &Client, namespace: &str, name: &str, key: &str) -> String {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .unwrap();
    String::from_utf8(secret.data.unwrap()[key].0.clone()).unwrap()
}

/// A retail Store's spec, in `timezone`.
pub fn store_spec(timezone: &str) -> StoreSpec {
    StoreSpec {
        display_name: "Acme Paris".to_owned(),
        industry: Industry::Retail,
        currency: "EUR".to_owned(),
        timezone: timezone.to_owned(),
    }
}

/// Creates Store `name` in `namespace` (its Tenant's).
pub async fn create_store(client: &Client, namespace: &str, name: &str, timezone: &str) {
    Api::<Store>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &Store::new(name, store_spec(timezone)))
        .await
        .unwrap_or_else(|e| panic!("creating Store {name}: {e}"));
}

/// Waits until the Store's Ready condition has `reason`.
pub async fn store_reaching(client: &Client, namespace: &str, name: &str, reason: &str) -> StoreStatus {
    let stores = Api::<Store>::namespaced(client.clone(), namespace);
    eventually(&format!("Store {name} is {reason}"), WAIT, || async {
        let status = stores.get(name).await.ok()?.status?;
        ready_condition(&status).filter(|c| c.reason == reason)?;
        Some(status)
    })
    .await
}

/// The Store's `Ready` condition.
pub fn ready_condition(status: &StoreStatus) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == "Ready")
}

/// A Ready Tenant with a Ready Store `main`, and its API running as a local
/// process started from the Deployment the operator made, as its Pod would.
pub struct ServedTenant {
    pub tenant: String,
    /// The store's id (`status.storeId`).
    pub store: String,
    pub launch: shopfleet_e2e::tenant_api::ApiLaunch,
    pub invite_email: String,
    pub invite_token: String,
    pub publishable_key: String,
    pub secret_key: String,
    pub api: shopfleet_e2e::tenant_api::TenantApi,
}

impl ServedTenant {
    pub async fn new(client: &Client) -> Self {
        shared_operator().await;
        let (tenant, _) = ready_tenant(client, DeletionPolicy::Delete).await;
        let namespace = format!("tenant-{tenant}");
        create_store(client, &namespace, "main", "Europe/Paris").await;
        let store = store_reaching(client, &namespace, "main", "Ready")
            .await
            .store_id
            .unwrap();
        let secret = |name: String, key: &'static str| {
            let namespace = namespace.clone();
            async move { secret_value(client, &namespace, &name, key).await }
        };
        let binary = operator_binary().with_file_name("shopfleet-api");
        let launch = shopfleet_e2e::tenant_api::ApiLaunch::from_deployment(
            || std::process::Command::new("kubectl"),
            &namespace,
            &format!("{tenant}-api"),
            &binary.with_file_name(format!("e2e-api-{tenant}")),
        )
        .unwrap_or_else(|e| panic!("reading how the operator runs the API: {e:#}"));
        let invite_email = secret(format!("{tenant}-owner-invite"), "email").await;
        let invite_token = secret(format!("{tenant}-owner-invite"), "token").await;
        let publishable_key = secret("main-api-key".to_owned(), "publishableKey").await;
        let secret_key = secret("main-api-key".to_owned(), "secretKey").await;
        let api = Self::start_api(&launch);
        Self {
            tenant,
            store,
            launch,
            invite_email,
            invite_token,
            publishable_key,
            secret_key,
            api,
        }
    }

    /// Restarts the API without the plan's request rates, for a test whose
    /// load is the point (the limits are tested in api/tests/limits.rs).
    pub fn lift_rate_limits(&mut self) {
        self.launch.env.retain(|(name, _)| {
            name != shopfleet_contract::RATE_LIMIT && name != shopfleet_contract::CLIENT_RATE_LIMIT
        });
        self.api = Self::start_api(&self.launch);
    }

    /// Starts the tenant's API (again) and waits until it is ready.
    pub fn start_api(launch: &shopfleet_e2e::tenant_api::ApiLaunch) -> shopfleet_e2e::tenant_api::TenantApi {
        let binary = operator_binary().with_file_name("shopfleet-api");
        let api = launch
            .start(&binary)
            .unwrap_or_else(|e| panic!("starting the API: {e:#}"));
        eprintln!("API log: {}", api.log.display());
        api
    }
}

/// Sends a request to the API on `port`; panics on a transport error.
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<serde_json::Value>,
) -> shopfleet_e2e::http::Response {
    let headers: Vec<(&str, &str)> = auth.into_iter().collect();
    shopfleet_e2e::http::request(port, method, path, &headers, body.as_ref())
        .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"))
}

/// The JSON body of a response of `status`.
#[track_caller]
pub fn expect(response: shopfleet_e2e::http::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status, status, "{}", response.body);
    response.json().unwrap()
}
