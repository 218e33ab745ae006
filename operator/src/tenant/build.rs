//! Pure builders of the Kubernetes children of a Tenant.
//!
//! Each function returns the whole desired object, ready for server-side
//! apply: named, labelled, and owned by the Tenant (a controller owner
//! reference), so deleting the Tenant lets the garbage collector remove them.
//! The Tenant is cluster-scoped, so it may own both the namespace and the
//! namespaced objects in it.
//!
//! The names are a contract other code relies on (the Secrets, the status,
//! the API's clients): change them only together.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    KeyToPath, LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceQuota, ResourceQuotaSpec, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, Volume,
    VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;
use shopfleet_contract::cidr::Cidr;
use shopfleet_contract::{self as contract, ApiSettings, JWT_MOUNT_PATH, RateLimits};

use crate::crd::{Tenant, TenantOrderLimits};
use crate::names::{
    TENANT_LABEL, api_name, db_secret_name, jwt_secret_name, labels, namespace_name, string_map,
};
use crate::plan::PlanDefaults;

/// Pod template annotation that changes with the database credentials, so
/// that new credentials roll the API's pods.
pub const DB_SECRET_VERSION_ANNOTATION: &str = "shopfleet.io/db-secret-version";

/// The port the API listens on, and the name its container, probes and
/// Service refer to it by.
const API_PORT: i32 = contract::API_PORT as i32;
const API_PORT_NAME: &str = "http";
/// The user and group of the API (the distroless `nonroot` user).
const API_UID: i64 = 65532;

// ---------------------------------------------------------------------------
// Labels and metadata
// ---------------------------------------------------------------------------

/// Selects the API's pods. A Deployment's selector is immutable, so this must
/// never change: it holds only what identifies the pods, nothing that varies.
pub fn api_selector_labels(tenant_name: &str) -> BTreeMap<String, String> {
    string_map([
        ("app.kubernetes.io/name", "shopfleet-api"),
        ("app.kubernetes.io/instance", tenant_name),
        (TENANT_LABEL, tenant_name),
    ])
}

/// The labels of the API's pods and of the objects about them: the tenant's
/// labels plus the selector's.
pub fn api_labels(tenant_name: &str) -> BTreeMap<String, String> {
    let mut labels = labels(tenant_name);
    labels.extend(api_selector_labels(tenant_name));
    labels
}

/// Name, namespace (`None` for cluster-scoped children), the tenant's labels
/// and the controller owner reference to the Tenant.
pub fn metadata(tenant: &Tenant, name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels(tenant_name(tenant))),
        owner_references: Some(vec![
            tenant
                .controller_owner_ref(&())
                .expect("tenant from the apiserver has a uid"),
        ]),
        ..ObjectMeta::default()
    }
}

// ---------------------------------------------------------------------------
// The namespace and its guard rails
// ---------------------------------------------------------------------------

pub fn namespace(tenant: &Tenant) -> Namespace {
    let mut metadata = metadata(tenant, &namespace_name(tenant_name(tenant)), None);
    // Pod Security Admission rejects any pod that is not locked down, whoever
    // creates it: the API's own pods are built to the `restricted` profile.
    metadata.labels.get_or_insert_default().extend(string_map([
        ("pod-security.kubernetes.io/enforce", "restricted"),
        ("pod-security.kubernetes.io/enforce-version", "latest"),
    ]));
    Namespace {
        metadata,
        ..Namespace::default()
    }
}

/// Caps what the tenant's namespace may use, by plan.
pub fn resource_quota(tenant: &Tenant, plan: &PlanDefaults) -> ResourceQuota {
    let hard = [
        ("requests.cpu", plan.quota_cpu),
        ("limits.cpu", plan.quota_cpu),
        ("requests.memory", plan.quota_memory),
        ("limits.memory", plan.quota_memory),
        ("pods", "50"),
    ]
    .into_iter()
    .map(|(resource, value)| (resource.to_owned(), Quantity(value.to_owned())))
    .collect();
    ResourceQuota {
        metadata: namespaced_metadata(tenant, "shopfleet-plan"),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    }
}

/// A quota on CPU and memory makes the apiserver reject containers that do not
/// declare them; these defaults fill them in for any container that does not.
pub fn limit_range(tenant: &Tenant, plan: &PlanDefaults) -> LimitRange {
    LimitRange {
        metadata: namespaced_metadata(tenant, "shopfleet-defaults"),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_owned(),
                default: Some(cpu_memory(plan.api_cpu_limit, plan.api_memory_limit)),
                default_request: Some(cpu_memory(plan.api_cpu_request, plan.api_memory_request)),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

/// Isolates the API's pods: they accept traffic on the API's port and nothing
/// else (a debug or metrics port added later stays closed until allowed here).
/// Who may talk to a tenant's API pods, and whom they may talk to.
#[derive(Clone, Copy, Debug)]
pub struct NetworkPeers<'a> {
    /// Namespaces whose pods may call the API (the ingress controller's).
    pub api_clients: &'a [String],
    /// Namespaces whose pods may read its metrics (Prometheus').
    pub scrapers: &'a [String],
    /// The tenant's PostgreSQL server, as the API reaches it; `None` while
    /// unknown (the API has nothing to reach then).
    pub database: Option<&'a (String, u16)>,
}

/// The API pods' traffic: in, the API port from the client namespaces and
/// the metrics port from the scrapers'; out, DNS and the tenant's database
/// server only. A server named by host name rather than address is allowed
/// on its port to any address: a NetworkPolicy cannot name a host.
pub fn network_policy(tenant: &Tenant, peers: &NetworkPeers) -> NetworkPolicy {
    let name = tenant_name(tenant);
    let port = |number: u16, protocol: &str| NetworkPolicyPort {
        protocol: Some(protocol.to_owned()),
        port: Some(IntOrString::Int(i32::from(number))),
        ..NetworkPolicyPort::default()
    };
    let from = |namespaces: &[String], number: u16| NetworkPolicyIngressRule {
        from: Some(vec![namespaces_named(namespaces)]),
        ports: Some(vec![port(number, "TCP")]),
    };
    let dns = NetworkPolicyEgressRule {
        to: None,
        ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
    };
    let database = peers
        .database
        .map(|(host, database_port)| NetworkPolicyEgressRule {
            to: host.parse::<std::net::IpAddr>().ok().map(|address| {
                let bits = if address.is_ipv4() { 32 } else { 128 };
                vec![NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: format!("{address}/{bits}"),
                        except: None,
                    }),
                    ..NetworkPolicyPeer::default()
                }]
            }),
            ports: Some(vec![port(*database_port, "TCP")]),
        });
    NetworkPolicy {
        metadata: api_metadata(tenant),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(api_selector(name)),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(vec![
                from(peers.api_clients, contract::API_PORT),
                from(peers.scrapers, contract::METRICS_PORT),
            ]),
            egress: Some(std::iter::once(dns).chain(database).collect()),
        }),
    }
}

/// Every pod of the namespaces with these names.
fn namespaces_named(names: &[String]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "kubernetes.io/metadata.name".to_owned(),
                operator: "In".to_owned(),
                values: Some(names.to_vec()),
            }]),
            match_labels: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

/// Zero while suspended (the data stays, the API stops), else the Tenant's
/// override, else the plan's default.
pub fn api_replicas(tenant: &Tenant, plan: &PlanDefaults) -> i32 {
    if tenant.spec.suspended {
        0
    } else {
        tenant.spec.api.replicas.unwrap_or(plan.api_replicas)
    }
}

/// What the operator's configuration says about every tenant's API pods.
#[derive(Clone, Copy, Debug)]
pub struct ApiPod<'a> {
    /// The image to run: the Tenant's, or the operator's default.
    pub image: &'a str,
    /// The proxies whose `X-Forwarded-For` the API believes.
    pub trusted_proxies: &'a [Cidr],
    /// Whether `<tenant>-db` holds the database server's CA, to mount.
    pub database_ca: bool,
}

/// The tenant's API. `db_secret_version` changes with the credentials in the
/// `<tenant>-db` Secret (see `secrets::db_secret_version`).
pub fn api_deployment(
    tenant: &Tenant,
    plan: &PlanDefaults,
    pod: &ApiPod,
    db_secret_version: &str,
) -> Deployment {
    let name = tenant_name(tenant);
    Deployment {
        metadata: api_metadata(tenant),
        spec: DeploymentSpec {
            replicas: Some(api_replicas(tenant, plan)),
            selector: api_selector(name),
            // Bring a new pod up before taking an old one down: a single-replica
            // tenant keeps serving through a rollout.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(api_labels(name)),
                    annotations: Some(string_map([(DB_SECRET_VERSION_ANNOTATION, db_secret_version)])),
                    ..ObjectMeta::default()
                }),
                spec: Some(api_pod_spec(tenant, plan, pod)),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn api_pod_spec(tenant: &Tenant, plan: &PlanDefaults, pod: &ApiPod) -> PodSpec {
    let name = tenant_name(tenant);
    let database_ca = pod.database_ca.then(|| Volume {
        name: "db-ca".to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(db_secret_name(name)),
            // The CA alone, not the password beside it.
            items: Some(vec![KeyToPath {
                key: contract::DATABASE_CA_FILE.to_owned(),
                path: contract::DATABASE_CA_FILE.to_owned(),
                ..KeyToPath::default()
            }]),
            default_mode: Some(0o440),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    });
    PodSpec {
        containers: vec![api_container(tenant, plan, pod)],
        volumes: Some(
            database_ca
                .into_iter()
                .chain([
                    Volume {
                        name: "jwt".to_owned(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(jwt_secret_name(name)),
                            // Owner and group may read, nobody else; the group is the
                            // pod's fsGroup below, so the non-root API can read it.
                            default_mode: Some(0o440),
                            ..SecretVolumeSource::default()
                        }),
                        ..Volume::default()
                    },
                    Volume {
                        name: "tmp".to_owned(),
                        empty_dir: Some(EmptyDirVolumeSource {
                            // Bounded, so a runaway temp file cannot fill the node's disk.
                            size_limit: Some(Quantity("64Mi".to_owned())),
                            ..EmptyDirVolumeSource::default()
                        }),
                        ..Volume::default()
                    },
                ])
                .collect(),
        ),
        // The API never talks to the Kubernetes API: give it no token to leak.
        automount_service_account_token: Some(false),
        termination_grace_period_seconds: Some(30),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(API_UID),
            run_as_group: Some(API_UID),
            // Secret volume files are owned by root; fsGroup makes them group-owned
            // by the API's group, which `default_mode` 0440 lets read.
            fs_group: Some(API_UID),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

fn api_container(tenant: &Tenant, plan: &PlanDefaults, pod: &ApiPod) -> Container {
    Container {
        name: "api".to_owned(),
        image: Some(pod.image.to_owned()),
        ports: Some(vec![
            ContainerPort {
                name: Some(API_PORT_NAME.to_owned()),
                container_port: API_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
            ContainerPort {
                name: Some("metrics".to_owned()),
                container_port: i32::from(contract::METRICS_PORT),
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            },
        ]),
        env: Some(api_env(tenant, plan, pod)),
        volume_mounts: Some(
            pod.database_ca
                .then(|| VolumeMount {
                    name: "db-ca".to_owned(),
                    mount_path: contract::DATABASE_CA_MOUNT_PATH.to_owned(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                })
                .into_iter()
                .chain([
                    VolumeMount {
                        name: "jwt".to_owned(),
                        mount_path: JWT_MOUNT_PATH.to_owned(),
                        read_only: Some(true),
                        ..VolumeMount::default()
                    },
                    // The root filesystem is read-only; /tmp is the one writable place.
                    VolumeMount {
                        name: "tmp".to_owned(),
                        mount_path: "/tmp".to_owned(),
                        ..VolumeMount::default()
                    },
                ])
                .collect(),
        ),
        // Liveness only asks "is the process serving?", so a database outage
        // never restarts the pods; readiness takes a pod out of the Service
        // while it cannot serve.
        liveness_probe: Some(http_probe("/healthz", 10, 3)),
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        resources: Some(
            tenant
                .spec
                .api
                .resources
                .clone()
                .unwrap_or_else(|| plan_resources(plan)),
        ),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(API_UID),
            run_as_group: Some(API_UID),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

pub fn api_service(tenant: &Tenant) -> Service {
    let name = tenant_name(tenant);
    Service {
        metadata: api_metadata(tenant),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(api_selector_labels(name)),
            ports: Some(vec![ServicePort {
                name: Some(API_PORT_NAME.to_owned()),
                protocol: Some("TCP".to_owned()),
                port: 80,
                target_port: Some(IntOrString::String(API_PORT_NAME.to_owned())),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// Keeps one API pod up through voluntary disruptions (node drains). Only with
/// more than one replica: with one, `minAvailable: 1` would block every drain.
pub fn api_pod_disruption_budget(tenant: &Tenant, replicas: i32) -> Option<PodDisruptionBudget> {
    (replicas > 1).then(|| PodDisruptionBudget {
        metadata: api_metadata(tenant),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            selector: Some(api_selector(tenant_name(tenant))),
            // A pod that is not Ready protects nothing: let drains evict it
            // rather than wait for it forever.
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_owned()),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn tenant_name(tenant: &Tenant) -> &str {
    tenant
        .metadata
        .name
        .as_deref()
        .expect("tenant from the apiserver has a name")
}

/// Metadata of a child in the tenant's namespace.
pub fn namespaced_metadata(tenant: &Tenant, name: &str) -> ObjectMeta {
    metadata(tenant, name, Some(&namespace_name(tenant_name(tenant))))
}

/// Metadata of the API's objects: named `<tenant>-api`, with the API's labels.
fn api_metadata(tenant: &Tenant) -> ObjectMeta {
    let name = tenant_name(tenant);
    ObjectMeta {
        labels: Some(api_labels(name)),
        ..namespaced_metadata(tenant, &api_name(name))
    }
}

fn api_selector(tenant_name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(api_selector_labels(tenant_name)),
        ..LabelSelector::default()
    }
}

fn plan_resources(plan: &PlanDefaults) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(cpu_memory(plan.api_cpu_request, plan.api_memory_request)),
        limits: Some(cpu_memory(plan.api_cpu_limit, plan.api_memory_limit)),
        ..ResourceRequirements::default()
    }
}

fn cpu_memory(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_owned(), Quantity(cpu.to_owned())),
        ("memory".to_owned(), Quantity(memory.to_owned())),
    ])
}

fn http_probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(API_PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        timeout_seconds: Some(2),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..SeccompProfile::default()
    }
}

/// The API's environment as `shopfleet-contract` defines it for both sides:
/// the settings as values, the database URL from the `<tenant>-db` Secret.
fn api_env(tenant: &Tenant, plan: &PlanDefaults, pod: &ApiPod) -> Vec<EnvVar> {
    let name = tenant_name(tenant);
    let minutes = tenant
        .spec
        .api
        .pending_order_minutes
        .unwrap_or(contract::DEFAULT_PENDING_ORDER_MINUTES);
    let database_url = EnvVar {
        name: contract::DATABASE_URL.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: db_secret_name(name),
                key: contract::DATABASE_URL.to_owned(),
                ..SecretKeySelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let settings = ApiSettings {
        rate_limits: replica_rate_limits(plan, api_replicas(tenant, plan)),
        order_limits: TenantOrderLimits::resolve(tenant.spec.api.order_limits.as_ref()),
        trusted_proxies: pod.trusted_proxies.to_vec(),
        database_ca: pod
            .database_ca
            .then(|| std::path::Path::new(contract::DATABASE_CA_MOUNT_PATH).join(contract::DATABASE_CA_FILE)),
        ..ApiSettings::in_pod(name, minutes)
    }
    .to_env();
    std::iter::once(database_url)
        .chain(settings.into_iter().map(|(var, value)| env(var, &value)))
        .collect()
}

/// Each replica's share of the plan's request rates: a load balancer
/// spreads requests across them, so together they admit the plan's rate.
pub fn replica_rate_limits(plan: &PlanDefaults, replicas: i32) -> RateLimits {
    let replicas = u32::try_from(replicas.max(1)).unwrap_or(1);
    RateLimits {
        tenant_per_second: plan.requests_per_second.div_ceil(replicas),
        client_per_second: plan.client_requests_per_second.div_ceil(replicas),
    }
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..EnvVar::default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Network peers of an operator configured with none.
    fn no_peers() -> NetworkPeers<'static> {
        NetworkPeers {
            api_clients: &[],
            scrapers: &[],
            database: None,
        }
    }

    /// The API pod of an operator configured with no trusted proxies.
    fn pod(image: &str) -> ApiPod<'_> {
        ApiPod {
            image,
            trusted_proxies: &[],
            database_ca: false,
        }
    }
    use crate::crd::{Plan, TenantApi, TenantDatabase, TenantOwner, TenantSpec};

    const UID: &str = "5f0c3a8e-1b2d-4c6e-9f70-123456789abc";

    fn tenant_with(plan: Plan, api: TenantApi, suspended: bool) -> Tenant {
        let mut tenant = Tenant::new(
            "acme",
            TenantSpec {
                plan,
                owner: TenantOwner {
                    email: "owner@acme.example".to_owned(),
                },
                database: TenantDatabase::default(),
                api,
                suspended,
            },
        );
        tenant.metadata.uid = Some(UID.to_owned());
        tenant
    }

    pub(crate) fn tenant() -> Tenant {
        tenant_with(Plan::Growth, TenantApi::default(), false)
    }

    fn growth() -> PlanDefaults {
        PlanDefaults::of(Plan::Growth)
    }

    fn deployment() -> Deployment {
        api_deployment(&tenant(), &growth(), &pod("shopfleet/shopfleet-api:test"), "v1")
    }

    fn pod_spec(deployment: &Deployment) -> &PodSpec {
        deployment.spec.template.spec.as_ref().unwrap()
    }

    fn container(deployment: &Deployment) -> &Container {
        let containers = &pod_spec(deployment).containers;
        assert_eq!(containers.len(), 1);
        &containers[0]
    }

    fn env_var<'a>(container: &'a Container, name: &str) -> &'a EnvVar {
        let env = container.env.as_ref().unwrap();
        let found: Vec<_> = env.iter().filter(|e| e.name == name).collect();
        assert_eq!(found.len(), 1, "exactly one {name} in {env:?}");
        found[0]
    }

    fn env_value<'a>(container: &'a Container, name: &str) -> &'a str {
        env_var(container, name).value.as_deref().unwrap()
    }

    fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
            .collect()
    }

    /// Every child, with its expected name and namespace.
    fn all_children() -> Vec<(ObjectMeta, &'static str, Option<&'static str>)> {
        let t = tenant();
        let plan = growth();
        vec![
            (namespace(&t).metadata, "tenant-acme", None),
            (
                resource_quota(&t, &plan).metadata,
                "shopfleet-plan",
                Some("tenant-acme"),
            ),
            (
                limit_range(&t, &plan).metadata,
                "shopfleet-defaults",
                Some("tenant-acme"),
            ),
            (
                network_policy(&t, &no_peers()).metadata,
                "acme-api",
                Some("tenant-acme"),
            ),
            (deployment().metadata, "acme-api", Some("tenant-acme")),
            (api_service(&t).metadata, "acme-api", Some("tenant-acme")),
            (
                api_pod_disruption_budget(&t, 2).unwrap().metadata,
                "acme-api",
                Some("tenant-acme"),
            ),
        ]
    }

    #[test]
    fn every_child_is_named_labelled_and_owned_by_the_tenant() {
        for (meta, name, namespace) in all_children() {
            assert_eq!(meta.name.as_deref(), Some(name));
            assert_eq!(meta.namespace.as_deref(), namespace, "{name}");
            let owners = meta.owner_references.unwrap();
            assert_eq!(owners.len(), 1, "{name}");
            let owner = &owners[0];
            assert_eq!(owner.api_version, "shopfleet.io/v1alpha1", "{name}");
            assert_eq!(owner.kind, "Tenant", "{name}");
            assert_eq!(owner.name, "acme", "{name}");
            assert_eq!(owner.uid, UID, "{name}");
            assert_eq!(owner.controller, Some(true), "{name}");
            let labels = meta.labels.unwrap();
            for (key, value) in crate::names::labels("acme") {
                assert_eq!(labels.get(&key), Some(&value), "{name} lacks label {key}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "uid")]
    fn a_tenant_without_uid_is_a_bug() {
        let mut t = tenant();
        t.metadata.uid = None;
        namespace(&t);
    }

    #[test]
    fn namespace_enforces_the_restricted_pod_security_profile() {
        let labels = namespace(&tenant()).metadata.labels.unwrap();
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert_eq!(labels["pod-security.kubernetes.io/enforce-version"], "latest");
    }

    #[test]
    fn resource_quota_follows_the_plan() {
        let quota = resource_quota(&tenant(), &PlanDefaults::of(Plan::Enterprise));
        assert_eq!(
            quota.spec.unwrap().hard.unwrap(),
            quantities(&[
                ("requests.cpu", "32"),
                ("limits.cpu", "32"),
                ("requests.memory", "64Gi"),
                ("limits.memory", "64Gi"),
                ("pods", "50"),
            ])
        );
    }

    #[test]
    fn limit_range_defaults_containers_to_the_plans_api_resources() {
        let limits = limit_range(&tenant(), &PlanDefaults::of(Plan::Starter))
            .spec
            .unwrap()
            .limits;
        assert_eq!(limits.len(), 1);
        let item = &limits[0];
        assert_eq!(item.type_, "Container");
        assert_eq!(
            item.default,
            Some(quantities(&[("cpu", "500m"), ("memory", "256Mi")]))
        );
        assert_eq!(
            item.default_request,
            Some(quantities(&[("cpu", "100m"), ("memory", "128Mi")]))
        );
    }

    #[test]
    fn replicas_come_from_the_plan_by_default() {
        for (plan, replicas) in [(Plan::Starter, 1), (Plan::Growth, 2), (Plan::Enterprise, 3)] {
            let t = tenant_with(plan, TenantApi::default(), false);
            assert_eq!(api_replicas(&t, &PlanDefaults::of(plan)), replicas, "{plan:?}");
        }
    }

    #[test]
    fn spec_api_replicas_override_the_plan() {
        let api = TenantApi {
            replicas: Some(5),
            ..TenantApi::default()
        };
        let t = tenant_with(Plan::Starter, api, false);
        assert_eq!(api_replicas(&t, &PlanDefaults::of(Plan::Starter)), 5);
        let deployment = api_deployment(&t, &PlanDefaults::of(Plan::Starter), &pod("img"), "v1");
        assert_eq!(deployment.spec.replicas, Some(5));
    }

    #[test]
    fn a_suspended_tenant_has_no_api_pods() {
        let api = TenantApi {
            replicas: Some(5),
            ..TenantApi::default()
        };
        let t = tenant_with(Plan::Enterprise, api, true);
        let plan = PlanDefaults::of(Plan::Enterprise);
        assert_eq!(api_replicas(&t, &plan), 0);
        assert_eq!(
            api_deployment(&t, &plan, &pod("img"), "v1").spec.replicas,
            Some(0)
        );
        assert!(api_pod_disruption_budget(&t, api_replicas(&t, &plan)).is_none());
    }

    #[test]
    fn pod_disruption_budget_only_with_more_than_one_replica() {
        let t = tenant();
        assert!(api_pod_disruption_budget(&t, 0).is_none());
        assert!(api_pod_disruption_budget(&t, 1).is_none());
        let pdb = api_pod_disruption_budget(&t, 2).expect("a PDB for 2 replicas");
        let spec = pdb.spec.unwrap();
        assert_eq!(spec.min_available, Some(IntOrString::Int(1)));
        assert_eq!(spec.max_unavailable, None);
        assert_eq!(spec.selector.unwrap(), deployment().spec.selector);
    }

    #[test]
    fn selectors_match_the_api_pods() {
        let deployment = deployment();
        let spec = &deployment.spec;
        let template_labels = spec.template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        let selector = spec.selector.match_labels.as_ref().unwrap();
        assert!(spec.selector.match_expressions.is_none());
        assert_eq!(
            selector,
            &string_map([
                ("app.kubernetes.io/name", "shopfleet-api"),
                ("app.kubernetes.io/instance", "acme"),
                ("shopfleet.io/tenant", "acme"),
            ])
        );
        for (key, value) in selector {
            assert_eq!(template_labels.get(key), Some(value), "template lacks {key}");
        }
        for (key, value) in labels("acme") {
            assert_eq!(template_labels.get(&key), Some(&value), "template lacks {key}");
        }

        let service_selector = api_service(&tenant()).spec.unwrap().selector.unwrap();
        assert_eq!(&service_selector, selector);
        let policy_selector = network_policy(&tenant(), &no_peers())
            .spec
            .unwrap()
            .pod_selector
            .unwrap();
        assert_eq!(policy_selector.match_labels.as_ref(), Some(selector));
    }

    /// The selector is immutable on a Deployment: nothing the spec or plan
    /// says may change it.
    #[test]
    fn the_selector_is_stable() {
        let other = tenant_with(
            Plan::Enterprise,
            TenantApi {
                replicas: Some(7),
                image: Some("other".to_owned()),
                ..TenantApi::default()
            },
            true,
        );
        let changed = api_deployment(&other, &PlanDefaults::of(Plan::Enterprise), &pod("other:2"), "v2");
        assert_eq!(changed.spec.selector, deployment().spec.selector);
    }

    #[test]
    fn rolling_update_keeps_every_pod_up() {
        let strategy = deployment().spec.strategy.unwrap();
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
        let rolling = strategy.rolling_update.unwrap();
        assert_eq!(rolling.max_unavailable, Some(IntOrString::Int(0)));
        assert_eq!(rolling.max_surge, Some(IntOrString::Int(1)));
    }

    #[test]
    fn a_new_db_secret_version_changes_the_pod_template() {
        let t = tenant();
        let template = |version| api_deployment(&t, &growth(), &pod("img"), version).spec.template;
        let annotations = template("abc123").metadata.unwrap().annotations.unwrap();
        assert_eq!(annotations["shopfleet.io/db-secret-version"], "abc123");
        assert_ne!(template("abc123"), template("def456"));
    }

    #[test]
    fn container_runs_the_image_on_port_8080_and_its_metrics_on_9090() {
        let deployment = deployment();
        let c = container(&deployment);
        assert_eq!(c.name, "api");
        assert_eq!(c.image.as_deref(), Some("shopfleet/shopfleet-api:test"));
        let ports: Vec<_> = c
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref().unwrap(), p.container_port))
            .collect();
        assert_eq!(ports, [("http", 8080), ("metrics", 9090)]);
        assert_eq!(env_value(c, "SHOPFLEET_METRICS_LISTEN"), "0.0.0.0:9090");
    }

    #[test]
    fn database_url_comes_from_the_db_secret() {
        let deployment = deployment();
        let var = env_var(container(&deployment), "DATABASE_URL");
        assert_eq!(var.value, None, "the credentials must not be inlined");
        let secret = var.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
        assert_eq!(secret.name, "acme-db");
        assert_eq!(secret.key, "DATABASE_URL");
    }

    #[test]
    fn each_replica_admits_its_share_of_the_plans_rate() {
        let starter = PlanDefaults::of(Plan::Starter);
        let share = |replicas| {
            let limits = replica_rate_limits(&starter, replicas);
            (limits.tenant_per_second, limits.client_per_second)
        };
        assert_eq!(share(1), (50, 20));
        assert_eq!(share(3), (17, 7), "rounded up");
        assert_eq!(share(0), (50, 20), "suspended: no pods to share");
    }

    #[test]
    fn environment_configures_the_api() {
        let deployment = deployment();
        let c = container(&deployment);
        assert_eq!(env_value(c, "SHOPFLEET_TENANT"), "acme");
        assert_eq!(env_value(c, "SHOPFLEET_JWT_KEYS"), "/etc/shopfleet/jwt/keys.json");
        assert_eq!(env_value(c, "SHOPFLEET_LISTEN"), "0.0.0.0:8080");
        assert_eq!(env_value(c, "SHOPFLEET_PENDING_ORDER_MINUTES"), "30");
        assert_eq!(env_value(c, "RUST_LOG"), "info");
        // The growth plan's 500 and 100 requests/s, over its 2 replicas.
        assert_eq!(env_value(c, "SHOPFLEET_RATE_LIMIT"), "250");
        assert_eq!(env_value(c, "SHOPFLEET_CLIENT_RATE_LIMIT"), "50");
        assert_eq!(env_value(c, "SHOPFLEET_MAX_PENDING_ORDERS"), "5");
        assert_eq!(env_value(c, "SHOPFLEET_MAX_PENDING_UNITS"), "100");
        assert_eq!(env_value(c, "SHOPFLEET_BOOKING_HORIZON_DAYS"), "365");
        assert_eq!(env_value(c, "SHOPFLEET_ORDERS_PER_MINUTE"), "10");
        let env = c.env.as_ref().unwrap();
        assert!(
            !env.iter().any(|e| e.name == "SHOPFLEET_TRUSTED_PROXIES"),
            "none: left out, not empty"
        );
        let proxies = shopfleet_contract::split("10.0.0.0/8").unwrap();
        let behind_ingress = ApiPod {
            image: "img",
            trusted_proxies: &proxies,
            database_ca: false,
        };
        let deployment = api_deployment(&tenant(), &growth(), &behind_ingress, "v1");
        assert_eq!(
            env_value(container(&deployment), "SHOPFLEET_TRUSTED_PROXIES"),
            "10.0.0.0/8"
        );

        let mut patient = tenant();
        patient.spec.api.pending_order_minutes = Some(0);
        let never = api_deployment(&patient, &PlanDefaults::of(Plan::Starter), &pod("img"), "v1");
        assert_eq!(
            env_value(container(&never), "SHOPFLEET_PENDING_ORDER_MINUTES"),
            "0"
        );
    }

    /// The container's mount at `path` and the pod volume behind it.
    fn mounted_volume<'a>(deployment: &'a Deployment, path: &str) -> (&'a VolumeMount, &'a Volume) {
        let mount = container(deployment)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.mount_path == path)
            .unwrap_or_else(|| panic!("a mount at {path}"));
        let volume = pod_spec(deployment)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|v| v.name == mount.name)
            .expect("the mounted volume");
        (mount, volume)
    }

    #[test]
    fn jwt_keys_are_mounted_read_only_from_the_jwt_secret() {
        let deployment = deployment();
        let (mount, volume) = mounted_volume(&deployment, "/etc/shopfleet/jwt");
        assert_eq!(mount.read_only, Some(true));
        let secret = volume.secret.as_ref().expect("a Secret volume");
        assert_eq!(secret.secret_name.as_deref(), Some("acme-jwt"));
        assert_eq!(secret.default_mode, Some(0o440));
    }

    #[test]
    fn tmp_is_a_writable_empty_dir() {
        let deployment = deployment();
        let (mount, volume) = mounted_volume(&deployment, "/tmp");
        assert_ne!(mount.read_only, Some(true));
        assert!(volume.empty_dir.is_some());
    }

    #[test]
    fn every_volume_is_mounted_and_every_mount_has_a_volume() {
        let deployment = deployment();
        let mut volumes: Vec<_> = pod_spec(&deployment)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| &v.name)
            .collect();
        let mut mounts: Vec<_> = container(&deployment)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| &m.name)
            .collect();
        volumes.sort();
        mounts.sort();
        assert_eq!(volumes, mounts);
    }

    #[test]
    fn probes_check_healthz_and_readyz_on_the_http_port() {
        let deployment = deployment();
        let c = container(&deployment);
        for (probe, path) in [(&c.liveness_probe, "/healthz"), (&c.readiness_probe, "/readyz")] {
            let probe = probe.as_ref().unwrap();
            let get = probe.http_get.as_ref().unwrap();
            assert_eq!(get.path.as_deref(), Some(path));
            assert_eq!(get.port, IntOrString::String("http".to_owned()));
            assert!(probe.period_seconds.unwrap() > 0);
            assert!(
                probe.failure_threshold.unwrap() > 1,
                "one slow answer must not fail {path}"
            );
        }
    }

    #[test]
    fn resources_default_to_the_plan() {
        let deployment = deployment();
        let resources = container(&deployment).resources.as_ref().unwrap();
        assert_eq!(
            resources.requests,
            Some(quantities(&[("cpu", "250m"), ("memory", "256Mi")]))
        );
        assert_eq!(
            resources.limits,
            Some(quantities(&[("cpu", "1"), ("memory", "512Mi")]))
        );
    }

    #[test]
    fn spec_api_resources_override_the_plan() {
        let custom = ResourceRequirements {
            requests: Some(quantities(&[("cpu", "3"), ("memory", "3Gi")])),
            limits: Some(quantities(&[("cpu", "4"), ("memory", "4Gi")])),
            ..ResourceRequirements::default()
        };
        let api = TenantApi {
            resources: Some(custom.clone()),
            ..TenantApi::default()
        };
        let t = tenant_with(Plan::Starter, api, false);
        let deployment = api_deployment(&t, &PlanDefaults::of(Plan::Starter), &pod("img"), "v1");
        assert_eq!(container(&deployment).resources.as_ref(), Some(&custom));
    }

    #[test]
    fn container_is_locked_down() {
        let deployment = deployment();
        let sc = container(&deployment).security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(sc.run_as_user, Some(65532));
        assert_eq!(sc.run_as_group, Some(65532));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.privileged, None);
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_owned()][..])
        );
        assert_eq!(sc.capabilities.as_ref().unwrap().add, None);
        assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    }

    #[test]
    fn pod_has_no_service_account_token_and_can_read_its_secret_volume() {
        let deployment = deployment();
        let pod = pod_spec(&deployment);
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.termination_grace_period_seconds, Some(30));
        let sc = pod.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_non_root, Some(true));
        // The 0440 Secret files are readable by the API only through its group.
        assert_eq!(sc.fs_group, Some(65532));
        assert_eq!(sc.run_as_group, Some(65532));
        assert!(pod.host_network.is_none() && pod.host_pid.is_none() && pod.host_ipc.is_none());
    }

    #[test]
    fn service_exposes_port_80_to_the_named_http_port() {
        let spec = api_service(&tenant()).spec.unwrap();
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        let ports = spec.ports.unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].port, 80);
        assert_eq!(ports[0].target_port, Some(IntOrString::String("http".to_owned())));
        // ... and that name is the container's port.
        let deployment = deployment();
        let container_port = &container(&deployment).ports.as_ref().unwrap()[0];
        assert_eq!(container_port.name.as_deref(), Some("http"));
    }

    #[test]
    fn network_policy_admits_the_configured_namespaces_and_reaches_only_dns_and_the_database() {
        let clients = vec!["ingress-nginx".to_owned()];
        let scrapers = vec!["monitoring".to_owned()];
        let server = ("10.1.2.3".to_owned(), 5432);
        let peers = NetworkPeers {
            api_clients: &clients,
            scrapers: &scrapers,
            database: Some(&server),
        };
        let spec = network_policy(&tenant(), &peers).spec.unwrap();
        assert_eq!(
            spec.policy_types,
            Some(vec!["Ingress".to_owned(), "Egress".to_owned()])
        );
        let rules = serde_json::to_value(spec.ingress.unwrap()).unwrap();
        let names =
            |from: &serde_json::Value| from["namespaceSelector"]["matchExpressions"][0]["values"].clone();
        assert_eq!(names(&rules[0]["from"][0]), serde_json::json!(["ingress-nginx"]));
        assert_eq!(
            rules[0]["ports"],
            serde_json::json!([{"port": 8080, "protocol": "TCP"}])
        );
        assert_eq!(names(&rules[1]["from"][0]), serde_json::json!(["monitoring"]));
        assert_eq!(
            rules[1]["ports"],
            serde_json::json!([{"port": 9090, "protocol": "TCP"}])
        );
        let egress = serde_json::to_value(spec.egress.unwrap()).unwrap();
        assert_eq!(
            egress.as_array().unwrap().len(),
            2,
            "DNS and the database, nothing else"
        );
        assert_eq!(
            egress[0]["ports"][0],
            serde_json::json!({"port": 53, "protocol": "UDP"})
        );
        assert_eq!(
            egress[1]["to"],
            serde_json::json!([{"ipBlock": {"cidr": "10.1.2.3/32"}}])
        );
        assert_eq!(
            egress[1]["ports"],
            serde_json::json!([{"port": 5432, "protocol": "TCP"}])
        );

        // A server known by name: its port, wherever it is.
        let named = ("postgres.db.svc".to_owned(), 5432);
        let peers = NetworkPeers {
            database: Some(&named),
            ..peers
        };
        let egress = network_policy(&tenant(), &peers).spec.unwrap().egress.unwrap();
        assert_eq!(egress[1].to, None);
    }

    /// What server-side apply sends: the kind and apiVersion are there, and
    /// nothing is serialised as an explicit null.
    #[test]
    fn children_serialise_for_server_side_apply() {
        let json = serde_json::to_value(deployment()).unwrap();
        assert_eq!(json["apiVersion"], "apps/v1");
        assert_eq!(json["kind"], "Deployment");
        assert!(!json.to_string().contains("null"));
        let json = serde_json::to_value(api_pod_disruption_budget(&tenant(), 3).unwrap()).unwrap();
        assert_eq!(json["apiVersion"], "policy/v1");
    }
}
