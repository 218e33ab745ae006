//! The operator's configuration: flags, each also settable by environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;

use clap::Args;
use shopfleet_contract::cidr::Cidr;

#[derive(Args, Clone, Debug)]
pub struct Config {
    /// A PostgreSQL server tenants may live on, as NAME=NAMESPACE/SECRET: the
    /// Secret's key `DATABASE_URL` is an admin connection (a role that may
    /// create databases and roles). Repeat for several servers.
    #[arg(
        long = "postgres-server",
        env = "SHOPFLEET_POSTGRES_SERVERS",
        value_delimiter = ',',
        default_value = "default=shopfleet-system/postgres-admin"
    )]
    pub postgres_servers: Vec<ServerRef>,

    /// Image of the tenant API when a Tenant does not name one.
    #[arg(long, env = "SHOPFLEET_API_IMAGE", default_value = concat!("shopfleet/shopfleet-api:", env!("CARGO_PKG_VERSION")))]
    pub api_image: String,

    /// A Tenant's `spec.api.image` must start with this registry prefix or be
    /// pinned by digest (`...@sha256:<64 hex>`): the image runs with the
    /// tenant's credentials. The chart's ValidatingAdmissionPolicy refuses
    /// other images at admission with the same rule; the operator checks
    /// again, for clusters without it. Empty: any image.
    #[arg(long, env = "SHOPFLEET_ALLOWED_IMAGE_PREFIX", default_value = "shopfleet/")]
    pub allowed_image_prefix: String,

    /// Namespaces whose pods may call the tenant APIs (the ingress
    /// controller's), comma-separated: each API's NetworkPolicy admits no one else.
    #[arg(
        long,
        env = "SHOPFLEET_API_CLIENT_NAMESPACES",
        value_delimiter = ',',
        default_value = "ingress-nginx"
    )]
    pub api_client_namespaces: Vec<String>,

    /// Namespaces whose pods may read the tenant APIs' metrics (Prometheus'), comma-separated.
    #[arg(
        long,
        env = "SHOPFLEET_METRICS_NAMESPACES",
        value_delimiter = ',',
        default_value = "monitoring"
    )]
    pub metrics_namespaces: Vec<String>,

    /// The proxies in front of the tenant APIs (the ingress controller's
    /// pods), as comma-separated addresses or blocks (`10.0.0.0/8`): their
    /// `X-Forwarded-For` says who a client is, for the per-client rate
    /// limits. Unset: the API counts each connection's peer.
    #[arg(long, env = "SHOPFLEET_API_TRUSTED_PROXIES", default_value = "", value_parser = parse_proxies)]
    pub trusted_proxies: Proxies,

    /// The ClusterRole that lets the operator handle Secrets, which it binds
    /// to itself in each tenant namespace it creates (a RoleBinding child of
    /// the Tenant): it holds no right to Secrets anywhere else. The chart's
    /// `<release>-tenant`; its rules are `charts/shopfleet/files/operator-tenant-rules.yaml`.
    #[arg(
        long,
        env = "SHOPFLEET_TENANT_ROLE",
        default_value = "shopfleet-operator-tenant"
    )]
    pub tenant_role: String,

    /// Every Tenant and Store is reconciled again this often, even when
    /// nothing wakes it. This is when drift nothing watches is repaired: a
    /// Secret edited or deleted by hand (the operator may not watch Secrets,
    /// which would mean reading every Secret in the cluster) and the
    /// databases.
    #[arg(long, env = "SHOPFLEET_RESYNC_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub resync_seconds: u64,

    /// Objects of one kind reconciled at the same time.
    #[arg(long, env = "SHOPFLEET_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,

    /// Address of the HTTP server for /metrics, /healthz and /readyz (port 0
    /// picks a free port, which the log names).
    #[arg(long, env = "SHOPFLEET_OPERATOR_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Reconcile only the Tenants matching this Kubernetes label selector
    /// (e.g. `shard=a` or `env in (prod,staging)`), so that several operator
    /// installs can share a cluster's Tenants. Unset: every Tenant. Give each
    /// install its own --lease-name too, or all but one stand by.
    #[arg(long, env = "SHOPFLEET_TENANT_SELECTOR", value_parser = parse_selector)]
    pub tenant_selector: Option<String>,

    /// Name of the coordination.k8s.io Lease the replicas of this install
    /// elect their leader with: only the holder reconciles.
    #[arg(long, env = "SHOPFLEET_LEASE_NAME", default_value = "shopfleet-operator")]
    pub lease_name: String,

    /// Namespace of that Lease: the operator's own (the Deployment passes it
    /// through the downward API).
    #[arg(long, env = "POD_NAMESPACE", default_value = "shopfleet-system")]
    pub lease_namespace: String,

    /// This replica's name in the Lease; must differ between replicas. In a
    /// Pod, the Pod's name (downward API); elsewhere the host name and process id.
    #[arg(long, env = "POD_NAME", default_value_t = default_identity())]
    pub identity: String,
}

/// Address blocks, as the API reads them back (`shopfleet-contract`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proxies(pub Vec<Cidr>);

fn parse_proxies(text: &str) -> Result<Proxies, String> {
    shopfleet_contract::split(text).map(Proxies)
}

/// An empty selector would silently match every Tenant: when the flag is
/// given, it must say something.
fn parse_selector(s: &str) -> Result<String, String> {
    let selector = s.trim();
    if selector.is_empty() {
        return Err("is empty: leave it unset to reconcile every Tenant".into());
    }
    Ok(selector.to_owned())
}

/// Host name and process id: unique among the processes that may run at
/// once, even several on one machine.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "shopfleet-operator".into());
    format!("{host}-{}", std::process::id())
}

/// `name@sha256:<64 lowercase hex digits>`: one exact image, whatever the registry.
fn is_pinned_by_digest(image: &str) -> bool {
    image.rsplit_once("@sha256:").is_some_and(|(name, digest)| {
        !name.is_empty()
            && digest.len() == 64
            && digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Where the admin credentials of one PostgreSQL server are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRef {
    pub name: String,
    pub secret_namespace: String,
    pub secret_name: String,
}

impl FromStr for ServerRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = || {
            let (name, secret) = s.split_once('=')?;
            let (namespace, secret_name) = secret.split_once('/')?;
            [name, namespace, secret_name]
                .iter()
                .all(|p| !p.is_empty())
                .then(|| Self {
                    name: name.to_owned(),
                    secret_namespace: namespace.to_owned(),
                    secret_name: secret_name.to_owned(),
                })
        };
        parse().ok_or_else(|| format!("{s:?} is not NAME=NAMESPACE/SECRET"))
    }
}

impl Config {
    /// Whether a Tenant may run `image` (see `allowed_image_prefix`).
    pub fn allows_image(&self, image: &str) -> bool {
        image.starts_with(&self.allowed_image_prefix) || is_pinned_by_digest(image)
    }

    pub fn resync(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.resync_seconds)
    }

    pub fn servers(&self) -> BTreeMap<String, ServerRef> {
        self.postgres_servers
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("operator").chain(args.iter().copied())).map(|cli| cli.config)
    }

    // Read from the command's definition rather than by parsing, which would
    // pick up the environment variables (POD_NAME, ...) of whoever runs the tests.
    fn default_of(flag: &str) -> String {
        let command = <Cli as clap::CommandFactory>::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap();
        arg.get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .collect()
    }

    #[test]
    fn tenants_run_images_of_the_allowed_registry_or_pinned_by_digest() {
        let config = parse(&["--allowed-image-prefix", "registry.acme.test/shopfleet/"]).unwrap();
        let digest = "0123456789abcdef".repeat(4);
        assert!(config.allows_image("registry.acme.test/shopfleet/api:1.2"));
        assert!(config.allows_image(&format!("elsewhere.test/api@sha256:{digest}")));
        for refused in [
            "docker.io/miner:latest".to_owned(),
            "registry.acme.test/other/api:1".to_owned(),
            format!("elsewhere.test/api@sha256:{}", &digest[1..]),
            format!("elsewhere.test/api@sha256:{}", digest.to_uppercase()),
            format!("@sha256:{digest}"),
        ] {
            assert!(!config.allows_image(&refused), "{refused}");
        }
        assert_eq!(default_of("allowed-image-prefix"), "shopfleet/");
    }

    #[test]
    fn new_flags_have_their_defaults() {
        assert_eq!(default_of("listen"), "0.0.0.0:8080");
        assert_eq!(default_of("tenant-selector"), "");
        assert_eq!(default_of("lease-name"), "shopfleet-operator");
        assert_eq!(default_of("lease-namespace"), "shopfleet-system");
        assert_eq!(default_of("tenant-role"), "shopfleet-operator-tenant");
        assert_eq!(default_of("resync-seconds"), "300");
        let identity = default_identity();
        let pid = format!("-{}", std::process::id());
        assert!(
            identity.ends_with(&pid) && identity.len() > pid.len(),
            "{identity}"
        );
    }

    #[test]
    fn new_flags_parse() {
        let config = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--tenant-selector",
            " shard in (a,b) ",
            "--lease-name",
            "shard-a",
            "--lease-namespace",
            "ops",
            "--identity",
            "pod-1",
        ])
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.tenant_selector.as_deref(), Some("shard in (a,b)"));
        assert_eq!(config.lease_name, "shard-a");
        assert_eq!(config.lease_namespace, "ops");
        assert_eq!(config.identity, "pod-1");
    }

    #[test]
    fn malformed_new_flags_are_rejected() {
        assert!(parse(&["--listen", "8080"]).is_err());
        assert!(parse(&["--tenant-selector", "  "]).is_err());
        assert!(parse(&["--resync-seconds", "0"]).is_err());
    }

    #[test]
    fn server_refs_parse_and_reject_malformed_input() {
        assert_eq!(
            "default=shopfleet-system/pg".parse::<ServerRef>().unwrap(),
            ServerRef {
                name: "default".into(),
                secret_namespace: "shopfleet-system".into(),
                secret_name: "pg".into()
            }
        );
        for bad in ["default", "default=pg", "=ns/pg", "default=/pg", "default=ns/"] {
            assert!(bad.parse::<ServerRef>().is_err(), "{bad}");
        }
    }
}
