//! The operator↔API contract, written once: the environment of a tenant
//! API process. The operator renders it into the Deployment it makes
//! ([`ApiSettings::to_env`], plus [`DATABASE_URL`] from the `<tenant>-db`
//! Secret); the API reads it back ([`ApiSettings::from_env`]); the e2e tests
//! start the API from the Deployment the operator actually made. A setting
//! a tenant may change is a Tenant field the operator copies in here, or it
//! does not exist.

pub mod cidr;

use std::path::PathBuf;

use cidr::Cidr;

/// The runtime role's connection URL, from key [`DATABASE_URL`] of Secret `<tenant>-db`.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// The Tenant this process serves: its tokens' issuer and audience, a field of its logs.
pub const TENANT: &str = "SHOPFLEET_TENANT";
/// The path of the JWT key set file (Secret `<tenant>-jwt`, mounted).
pub const JWT_KEYS: &str = "SHOPFLEET_JWT_KEYS";
/// The path of the CA that signed the database server's certificate (key
/// `ca.crt` of Secret `<tenant>-db`, mounted), when the server has one; the
/// `DATABASE_URL` then asks for `sslmode=verify-full`.
pub const DATABASE_CA: &str = "SHOPFLEET_DATABASE_CA";
/// The address to listen on.
pub const LISTEN: &str = "SHOPFLEET_LISTEN";
/// The address `/metrics` is served on, apart from the API: revenue and
/// traffic figures are for the monitoring system, not for the API's callers.
pub const METRICS_LISTEN: &str = "SHOPFLEET_METRICS_LISTEN";
/// Minutes an order may stay unpaid before it is cancelled (0: never).
pub const PENDING_ORDER_MINUTES: &str = "SHOPFLEET_PENDING_ORDER_MINUTES";
/// Requests per second this process admits for the whole tenant (0: no limit).
pub const RATE_LIMIT: &str = "SHOPFLEET_RATE_LIMIT";
/// Requests per second this process admits from one client address (0: no limit).
pub const CLIENT_RATE_LIMIT: &str = "SHOPFLEET_CLIENT_RATE_LIMIT";
/// A customer's unpaid orders in one store, at most (0: no limit).
pub const MAX_PENDING_ORDERS: &str = "SHOPFLEET_MAX_PENDING_ORDERS";
/// Units held by a customer's unpaid orders in one store, at most (0: no limit).
pub const MAX_PENDING_UNITS: &str = "SHOPFLEET_MAX_PENDING_UNITS";
/// How many days ahead a night may be booked (0: no limit).
pub const BOOKING_HORIZON_DAYS: &str = "SHOPFLEET_BOOKING_HORIZON_DAYS";
/// Orders a customer may place per minute (0: no limit).
pub const ORDERS_PER_MINUTE: &str = "SHOPFLEET_ORDERS_PER_MINUTE";
/// Comma-separated address blocks of the proxies (the ingress controller)
/// whose `X-Forwarded-For` says who the client is.
pub const TRUSTED_PROXIES: &str = "SHOPFLEET_TRUSTED_PROXIES";
/// Live streams one replica serves for one store, and in all (at least 1).
pub const STREAMS_PER_STORE: &str = "SHOPFLEET_STREAMS_PER_STORE";
pub const STREAMS_PER_REPLICA: &str = "SHOPFLEET_STREAMS_PER_REPLICA";
/// The log filter (`tracing`'s `EnvFilter` syntax).
pub const LOG: &str = "RUST_LOG";

/// Where the operator mounts Secret `<tenant>-jwt`, and the key set's file in it.
pub const JWT_MOUNT_PATH: &str = "/etc/shopfleet/jwt";
pub const JWT_KEYS_FILE: &str = "keys.json";
/// Where the operator mounts the database CA (key `ca.crt` of Secret `<tenant>-db`).
pub const DATABASE_CA_MOUNT_PATH: &str = "/etc/shopfleet/db";
pub const DATABASE_CA_FILE: &str = "ca.crt";
/// The port the API listens on in its Pod.
pub const API_PORT: u16 = 8080;
/// The port `/metrics` is served on in the API's Pod.
pub const METRICS_PORT: u16 = 9090;

/// An unpaid order's life when the Tenant does not say.
pub const DEFAULT_PENDING_ORDER_MINUTES: u32 = 30;
/// The longest a Tenant may set: a week.
pub const MAX_PENDING_ORDER_MINUTES: u32 = 7 * 24 * 60;

/// Every setting of a tenant API process but its database URL (a Secret's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiSettings {
    pub tenant: String,
    pub jwt_keys: PathBuf,
    /// `None`: the server's certificate is checked against the system's CAs, if at all.
    pub database_ca: Option<PathBuf>,
    pub listen: String,
    pub metrics_listen: String,
    /// 0: unpaid orders never expire.
    pub pending_order_minutes: u32,
    pub rate_limits: RateLimits,
    pub order_limits: OrderLimits,
    pub trusted_proxies: Vec<Cidr>,
    pub stream_limits: StreamLimits,
    pub log: String,
}

/// How many live streams one replica serves: a store's clients, and all
/// of them. Past either, a stream is refused (closed with a reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLimits {
    pub per_store: u32,
    pub per_replica: u32,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_store: 500,
            per_replica: 2000,
        }
    }
}

/// What one customer may hold, so that nobody keeps a store's stock
/// reserved in unpaid orders; 0 is no limit. Staff and store keys placing
/// orders are not held to the per-customer caps; the horizon holds for all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderLimits {
    pub max_pending_orders: u32,
    pub max_pending_units: u32,
    pub booking_horizon_days: u32,
    pub orders_per_minute: u32,
}

/// Requests per second this process admits; 0 is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// For the whole tenant: this replica's share of the plan's rate.
    pub tenant_per_second: u32,
    /// From one client address (an IPv6 client: its /64).
    pub client_per_second: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContractError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error("{name} is {value:?}: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl ApiSettings {
    /// The settings of `tenant`'s API in its Pod.
    pub fn in_pod(tenant: &str, pending_order_minutes: u32) -> Self {
        Self {
            tenant: tenant.to_owned(),
            jwt_keys: PathBuf::from(JWT_MOUNT_PATH).join(JWT_KEYS_FILE),
            database_ca: None,
            listen: format!("0.0.0.0:{API_PORT}"),
            metrics_listen: format!("0.0.0.0:{METRICS_PORT}"),
            pending_order_minutes,
            rate_limits: RateLimits::default(),
            order_limits: OrderLimits::default(),
            trusted_proxies: Vec::new(),
            stream_limits: StreamLimits::default(),
            log: "info".to_owned(),
        }
    }

    /// The variables that carry these settings, in a stable order. None is
    /// empty: the apiserver drops an empty value, so it is left out instead.
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (TENANT, self.tenant.clone()),
            (JWT_KEYS, self.jwt_keys.display().to_string()),
            (
                DATABASE_CA,
                self.database_ca
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
            ),
            (LISTEN, self.listen.clone()),
            (METRICS_LISTEN, self.metrics_listen.clone()),
            (PENDING_ORDER_MINUTES, self.pending_order_minutes.to_string()),
            (RATE_LIMIT, self.rate_limits.tenant_per_second.to_string()),
            (CLIENT_RATE_LIMIT, self.rate_limits.client_per_second.to_string()),
            (
                MAX_PENDING_ORDERS,
                self.order_limits.max_pending_orders.to_string(),
            ),
            (MAX_PENDING_UNITS, self.order_limits.max_pending_units.to_string()),
            (
                BOOKING_HORIZON_DAYS,
                self.order_limits.booking_horizon_days.to_string(),
            ),
            (ORDERS_PER_MINUTE, self.order_limits.orders_per_minute.to_string()),
            (TRUSTED_PROXIES, join(&self.trusted_proxies)),
            (STREAMS_PER_STORE, self.stream_limits.per_store.to_string()),
            (STREAMS_PER_REPLICA, self.stream_limits.per_replica.to_string()),
            (LOG, self.log.clone()),
        ];
        env.retain(|(_, value)| !value.is_empty());
        env
    }

    /// Reads the settings through `var` (the process environment, in the
    /// API). Only the tenant is required; the rest default as in a Pod.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ContractError> {
        let tenant = var(TENANT).ok_or(ContractError::Missing(
            TENANT,
            "the name of the Tenant this process serves",
        ))?;
        let pending_order_minutes = match var(PENDING_ORDER_MINUTES) {
            None => DEFAULT_PENDING_ORDER_MINUTES,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|minutes| *minutes <= MAX_PENDING_ORDER_MINUTES)
                .ok_or(ContractError::Invalid {
                    name: PENDING_ORDER_MINUTES,
                    value: text,
                    expected: "a whole number of minutes from 0 (never) to 10080 (a week)",
                })?,
        };
        let limit = |name: &'static str| match var(name) {
            None => Ok(0),
            Some(text) => text.trim().parse().map_err(|_| ContractError::Invalid {
                name,
                value: text,
                expected: "a whole number (0: no limit)",
            }),
        };
        let rate_limits = RateLimits {
            tenant_per_second: limit(RATE_LIMIT)?,
            client_per_second: limit(CLIENT_RATE_LIMIT)?,
        };
        let order_limits = OrderLimits {
            max_pending_orders: limit(MAX_PENDING_ORDERS)?,
            max_pending_units: limit(MAX_PENDING_UNITS)?,
            booking_horizon_days: limit(BOOKING_HORIZON_DAYS)?,
            orders_per_minute: limit(ORDERS_PER_MINUTE)?,
        };
        let trusted_proxies = match var(TRUSTED_PROXIES) {
            None => Vec::new(),
            Some(text) => split(&text).map_err(|_| ContractError::Invalid {
                name: TRUSTED_PROXIES,
                value: text,
                expected: "comma-separated addresses or blocks such as 10.0.0.0/8",
            })?,
        };
        let defaults = Self::in_pod(&tenant, pending_order_minutes);
        let streams = |name: &'static str, default: u32| match var(name) {
            None => Ok(default),
            Some(text) => {
                text.trim()
                    .parse()
                    .ok()
                    .filter(|limit| *limit >= 1)
                    .ok_or(ContractError::Invalid {
                        name,
                        value: text,
                        expected: "a whole number of streams, at least 1",
                    })
            }
        };
        let stream_limits = StreamLimits {
            per_store: streams(STREAMS_PER_STORE, defaults.stream_limits.per_store)?,
            per_replica: streams(STREAMS_PER_REPLICA, defaults.stream_limits.per_replica)?,
        };
        Ok(Self {
            rate_limits,
            order_limits,
            trusted_proxies,
            stream_limits,
            jwt_keys: var(JWT_KEYS).map_or(defaults.jwt_keys, PathBuf::from),
            database_ca: var(DATABASE_CA).map(PathBuf::from),
            listen: var(LISTEN).unwrap_or(defaults.listen),
            metrics_listen: var(METRICS_LISTEN).unwrap_or(defaults.metrics_listen),
            log: var(LOG).unwrap_or(defaults.log),
            ..defaults
        })
    }
}

/// Address blocks as one comma-separated value.
pub fn join(blocks: &[Cidr]) -> String {
    blocks.iter().map(Cidr::to_string).collect::<Vec<_>>().join(",")
}

/// The blocks of a comma-separated value (empty entries ignored), or the
/// first that is not one.
pub fn split(text: &str) -> Result<Vec<Cidr>, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn what_the_operator_writes_the_api_reads_back() {
        let settings = ApiSettings {
            rate_limits: RateLimits {
                tenant_per_second: 250,
                client_per_second: 50,
            },
            order_limits: OrderLimits {
                max_pending_orders: 5,
                max_pending_units: 100,
                booking_horizon_days: 365,
                orders_per_minute: 10,
            },
            trusted_proxies: split("10.0.0.0/8, fd00::/8").unwrap(),
            stream_limits: StreamLimits {
                per_store: 7,
                per_replica: 70,
            },
            database_ca: Some(PathBuf::from(DATABASE_CA_MOUNT_PATH).join(DATABASE_CA_FILE)),
            ..ApiSettings::in_pod("acme", 45)
        };
        let env: Vec<(String, String)> = settings
            .to_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let read = ApiSettings::from_env(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
        assert_eq!(read, Ok(settings));
    }

    #[test]
    fn only_the_tenant_is_required() {
        let read = ApiSettings::from_env(lookup(&[(TENANT, "acme")])).unwrap();
        assert_eq!(read.jwt_keys, PathBuf::from("/etc/shopfleet/jwt/keys.json"));
        assert_eq!(read.listen, "0.0.0.0:8080");
        assert_eq!(read.metrics_listen, "0.0.0.0:9090");
        assert_eq!(read.pending_order_minutes, 30);
        assert_eq!(read.rate_limits, RateLimits::default(), "no limit");
        assert_eq!(read.order_limits, OrderLimits::default(), "no limit");
        assert!(read.trusted_proxies.is_empty());
        assert!(matches!(
            ApiSettings::from_env(lookup(&[])),
            Err(ContractError::Missing(TENANT, _))
        ));
    }

    #[test]
    fn order_expiry_is_whole_minutes_up_to_a_week() {
        let minutes = |value: &str| {
            ApiSettings::from_env(lookup(&[(TENANT, "acme"), (PENDING_ORDER_MINUTES, value)]))
                .map(|s| s.pending_order_minutes)
        };
        assert_eq!(minutes("0"), Ok(0));
        assert_eq!(minutes(" 10080 "), Ok(10080));
        for bad in ["10081", "-1", "half an hour", ""] {
            let error = minutes(bad).unwrap_err();
            assert!(error.to_string().contains(PENDING_ORDER_MINUTES), "{error}");
        }
    }

    #[test]
    fn limits_and_proxies_that_do_not_parse_are_named() {
        for (name, value) in [
            (RATE_LIMIT, "fast"),
            (CLIENT_RATE_LIMIT, "-1"),
            (TRUSTED_PROXIES, "10.0.0.0/8,ingress"),
            (MAX_PENDING_UNITS, "lots"),
            (STREAMS_PER_STORE, "0"),
            (STREAMS_PER_REPLICA, "many"),
        ] {
            let error = ApiSettings::from_env(lookup(&[(TENANT, "acme"), (name, value)])).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }
}
