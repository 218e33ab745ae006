//! A refusal by a rate limit, and the draft `RateLimit` fields that tell a
//! client where it stands (rendered by `ApiError` and the middleware).

use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use super::bucket::{Rate, Verdict};

/// One policy's state after a request, as the `RateLimit` fields tell it.
#[derive(Clone, Copy, Debug)]
pub struct PolicyState {
    pub name: &'static str,
    pub rate: Rate,
    pub verdict: Verdict,
}

/// Why a request was refused, and when to come back.
#[derive(Debug)]
pub struct Throttled {
    pub detail: String,
    pub retry_after: Duration,
    pub policies: Vec<PolicyState>,
}

impl Throttled {
    /// Refused by the last of `policies`.
    pub fn new(detail: &str, policies: Vec<PolicyState>) -> Self {
        let retry_after = policies
            .last()
            .map_or(Duration::from_secs(1), |refused| refused.verdict.retry_after);
        Self {
            detail: detail.to_owned(),
            retry_after,
            policies,
        }
    }

    /// `Retry-After` and the `RateLimit` fields.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let seconds = self.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        headers.insert(HeaderName::from_static("retry-after"), HeaderValue::from(seconds));
        write_policies(&self.policies, headers);
    }
}

/// `RateLimit-Policy: "client";q=40;w=2, ...` and `RateLimit: "client";r=39;t=1, ...`.
pub fn write_policies(policies: &[PolicyState], headers: &mut HeaderMap) {
    if policies.is_empty() {
        return;
    }
    let whole_seconds = |duration: Duration| duration.as_secs_f64().ceil() as u64;
    let items =
        |item: &dyn Fn(&PolicyState) -> String| policies.iter().map(item).collect::<Vec<_>>().join(", ");
    let policy = items(&|p| {
        format!(
            "\"{}\";q={};w={}",
            p.name,
            p.rate.burst,
            whole_seconds(p.rate.window())
        )
    });
    let state = items(&|p| {
        format!(
            "\"{}\";r={};t={}",
            p.name,
            p.verdict.remaining,
            whole_seconds(p.verdict.reset)
        )
    });
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}
