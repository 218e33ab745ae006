//! The operator's configuration: flags, each also settable by environment.

use std::collections::BTreeMap;
use std::str::FromStr;

use clap::Args;

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

    /// Objects of one kind reconciled at the same time.
    #[arg(long, env = "SHOPFLEET_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
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
    pub fn servers(&self) -> BTreeMap<String, ServerRef> {
        self.postgres_servers
            .iter()
            .map(|s| (s.name.clone(), s.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
