//! Rate limits: what keeps one client, or the sum of all, from taking more
//! than the tenant's plan allows, and guessers from guessing.
//!
//! - Every request but the probes and `/metrics` takes a token from its
//!   client's bucket and from the tenant's (`admission::admit`, a middleware). The rates
//!   come from the Tenant's plan, through the operator (`shopfleet-contract`'s
//!   `RateLimits`: this replica's share); each bucket holds two seconds' worth.
//! - Wrong passwords slow down their (account, client) pair (`login`).
//! - A customer places at most the Tenant's orders per minute (`take_order`).
//! - Credentials that match nothing (an API key, a refresh token, an
//!   invitation token) are counted per client, 20 a minute: past that, the
//!   client's credential lookups are refused until its budget refills.
//!
//! A refusal is a 429 problem+json with `Retry-After`; every limited
//! response carries the `RateLimit-Policy` and `RateLimit` fields of the
//! IETF draft (draft-ietf-httpapi-ratelimit-headers), one item per policy.
//! The buckets live in the process: with N replicas a client may get up to
//! N times its share when the load balancer spreads it evenly, which the
//! operator accounts for by giving each replica 1/N of the plan's rate.

pub mod admission;
pub mod bucket;
pub mod client;
pub mod login;
pub mod throttled;

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use shopfleet_contract::{OrderLimits, RateLimits};

use crate::error::ApiError;
use crate::ids::UserId;
use bucket::{Bucket, KeyedBuckets, Rate};
use client::{TrustedProxies, budget_key};
use login::LoginThrottle;
use throttled::{PolicyState, Throttled};

/// Each bucket holds this many seconds of its rate.
const BURST_SECONDS: f64 = 2.0;

/// Credentials matching nothing a client may present: 20 a minute.
const UNKNOWN_CREDENTIALS: Rate = Rate {
    per_second: 1.0 / 3.0,
    burst: 20,
};

/// Routes no limit applies to: the kubelet's probes and Prometheus.
const UNLIMITED_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The web app's files, answered from memory and precompressed: no dearer
/// than a probe, and a first load with its service worker's precache is a
/// few dozen of them, which must not eat the client's budget for the API.
const UNLIMITED_PREFIX: &str = "/app/";

/// Whether requests for `path` are admitted without a limit.
pub(crate) fn is_unlimited(path: &str) -> bool {
    UNLIMITED_PATHS.contains(&path) || path.starts_with(UNLIMITED_PREFIX)
}

pub struct Limits {
    tenant: Option<(Rate, Mutex<Bucket>)>,
    clients: Option<KeyedBuckets<IpAddr>>,
    /// What a customer may hold in unpaid orders (`orders::place`).
    pub orders: OrderLimits,
    customer_orders: Option<KeyedBuckets<UserId>>,
    unknown_credentials: KeyedBuckets<IpAddr>,
    pub logins: LoginThrottle,
    pub(crate) proxies: TrustedProxies,
}

impl Limits {
    pub fn new(rates: RateLimits, orders: OrderLimits, proxies: TrustedProxies) -> Self {
        let rate =
            |per_second: u32| (per_second > 0).then(|| Rate::new(f64::from(per_second), BURST_SECONDS));
        let per_minute = orders.orders_per_minute;
        Self {
            tenant: rate(rates.tenant_per_second)
                .map(|rate| (rate, Mutex::new(Bucket::full(rate, Instant::now())))),
            clients: rate(rates.client_per_second).map(KeyedBuckets::new),
            orders,
            // A minute's worth at once, then one every 60/n seconds.
            customer_orders: (per_minute > 0).then(|| {
                KeyedBuckets::new(Rate {
                    per_second: f64::from(per_minute) / 60.0,
                    burst: per_minute,
                })
            }),
            unknown_credentials: KeyedBuckets::new(UNKNOWN_CREDENTIALS),
            logins: LoginThrottle::default(),
            proxies,
        }
    }

    /// No request limits (the guessing limits stay): for tests that are
    /// not about limits.
    pub fn unlimited() -> Self {
        Self::new(
            RateLimits::default(),
            OrderLimits::default(),
            TrustedProxies::default(),
        )
    }

    /// Takes one of `customer`'s orders per minute, or refuses.
    pub fn take_order(&self, customer: UserId) -> Result<(), ApiError> {
        let Some(buckets) = &self.customer_orders else {
            return Ok(());
        };
        let verdict = buckets.take(&customer, Instant::now());
        if verdict.admitted {
            return Ok(());
        }
        Err(ApiError::TooManyRequests(Throttled::new(
            "this customer is placing orders too fast",
            vec![PolicyState {
                name: "customer-orders",
                rate: buckets.rate(),
                verdict,
            }],
        )))
    }

    /// Takes a request's tokens: the client's first (a client over its
    /// share does not spend the tenant's), then the tenant's.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<Vec<PolicyState>, Throttled> {
        let mut policies = Vec::with_capacity(2);
        if let Some(clients) = &self.clients {
            let verdict = clients.take(&budget_key(client), now);
            policies.push(PolicyState {
                name: "client",
                rate: clients.rate(),
                verdict,
            });
            if !verdict.admitted {
                return Err(Throttled::new("this client is over its request rate", policies));
            }
        }
        if let Some((rate, bucket)) = &self.tenant {
            let verdict = bucket.lock().expect("not poisoned").take(*rate, now);
            policies.push(PolicyState {
                name: "tenant",
                rate: *rate,
                verdict,
            });
            if !verdict.admitted {
                return Err(Throttled::new(
                    "the tenant is over its plan's request rate",
                    policies,
                ));
            }
        }
        Ok(policies)
    }

    /// Refuses a credential lookup from a client that has presented too
    /// many credentials matching nothing.
    pub fn refuse_guessing(&self, client: IpAddr) -> Result<(), ApiError> {
        let verdict = self.unknown_credentials.peek(&budget_key(client), Instant::now());
        if verdict.admitted {
            return Ok(());
        }
        Err(ApiError::TooManyRequests(Throttled::new(
            "too many unknown credentials from this client",
            vec![PolicyState {
                name: "unknown-credentials",
                rate: UNKNOWN_CREDENTIALS,
                verdict,
            }],
        )))
    }

    /// Counts a credential that matched nothing.
    pub fn count_unknown_credential(&self, client: IpAddr) {
        self.unknown_credentials.take(&budget_key(client), Instant::now());
    }

    /// Refuses a sign-in while its (account, client) pair must wait.
    pub fn refuse_throttled_login(&self, account: &str, client: IpAddr) -> Result<(), ApiError> {
        match self.logins.wait(account, client, Instant::now()) {
            None => Ok(()),
            Some(wait) => Err(ApiError::TooManyRequests(Throttled {
                detail: "too many wrong passwords for this account from this client".to_owned(),
                retry_after: wait,
                policies: Vec::new(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderMap;

    use super::throttled::write_policies;
    use super::*;

    #[test]
    fn probes_metrics_and_the_web_apps_files_are_unlimited_and_the_api_is_not() {
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/app/",
            "/app/assets/main-1.js",
        ] {
            assert!(is_unlimited(path), "{path}");
        }
        for path in [
            "/app",
            "/v1/auth/login",
            "/v1/stores",
            "/healthz/x",
            "/application",
        ] {
            assert!(!is_unlimited(path), "{path}");
        }
    }

    fn limits(tenant: u32, client: u32) -> Limits {
        Limits::new(
            RateLimits {
                tenant_per_second: tenant,
                client_per_second: client,
            },
            OrderLimits::default(),
            TrustedProxies::default(),
        )
    }

    #[test]
    fn a_client_over_its_share_spends_nothing_of_the_tenants() {
        let limits = limits(10, 2);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let now = Instant::now();
        for _ in 0..4 {
            limits.admit(a, now).unwrap();
        }
        for _ in 0..100 {
            let refused = limits.admit(a, now).unwrap_err();
            assert_eq!(refused.policies.len(), 1, "refused by its own bucket");
        }
        // 20 tokens for the tenant, 4 spent by a: b gets its 4, others the rest.
        for _ in 0..4 {
            limits.admit(b, now).unwrap();
        }
        let mut admitted = 8;
        for n in 3..100u8 {
            if limits.admit(IpAddr::from([192, 0, 2, n]), now).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 20);
        let refused = limits.admit(IpAddr::from([192, 0, 2, 200]), now).unwrap_err();
        assert_eq!(refused.policies.last().unwrap().name, "tenant");
    }

    #[test]
    fn the_headers_name_each_policy_with_its_quota_window_and_state() {
        let limits = limits(10, 2);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Instant::now();
        let policies = limits.admit(client, now).unwrap();
        let mut headers = HeaderMap::new();
        write_policies(&policies, &mut headers);
        assert_eq!(
            headers.get("ratelimit-policy").unwrap(),
            "\"client\";q=4;w=2, \"tenant\";q=20;w=2"
        );
        assert_eq!(
            headers.get("ratelimit").unwrap(),
            "\"client\";r=3;t=1, \"tenant\";r=19;t=1"
        );
        for _ in 0..3 {
            limits.admit(client, now).unwrap();
        }
        let refused = limits.admit(client, now).unwrap_err();
        let mut headers = HeaderMap::new();
        refused.write_headers(&mut headers);
        assert_eq!(headers.get("retry-after").unwrap(), "1");
        assert_eq!(headers.get("ratelimit").unwrap(), "\"client\";r=0;t=2");
    }

    #[test]
    fn no_rates_no_limits() {
        let limits = Limits::unlimited();
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(limits.admit(client, now).unwrap().is_empty());
        }
    }

    #[test]
    fn unknown_credentials_are_refused_past_twenty() {
        let limits = Limits::unlimited();
        let guesser: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..20 {
            limits.refuse_guessing(guesser).unwrap();
            limits.count_unknown_credential(guesser);
        }
        let ApiError::TooManyRequests(refused) = limits.refuse_guessing(guesser).unwrap_err() else {
            panic!("a 429");
        };
        assert_eq!(refused.retry_after.as_secs_f64().ceil(), 3.0);
        limits
            .refuse_guessing("192.0.2.2".parse().unwrap())
            .expect("another client is not refused");
    }
}
