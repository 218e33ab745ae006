//! Shopfleet's local platform, from real components only: a Kubernetes control
//! plane built from the published Go modules (see `kube/` and `kwok/`) and a
//! throwaway PostgreSQL. `make up` and `make test` both start it through the
//! `shopfleet-local` binary; the e2e tests in `tests/` run inside it.

pub mod chromium;
pub mod control_plane;
pub mod debian;
pub mod helm;
pub mod http;
pub mod kube_binaries;
pub mod operator;
pub mod pki;
pub mod platform;
pub mod postgres;
pub mod process;
pub mod prometheus;
pub mod prometheus_operator;
pub mod tenant_api;

use rand::distr::{Alphanumeric, SampleString};

/// A random string of ASCII letters and digits (passwords, name suffixes).
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
