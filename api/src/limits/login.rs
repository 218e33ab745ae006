//! Per-account sign-in throttling: after a few wrong passwords for one
//! account from one client, each further attempt from that client must wait
//! twice as long as the last, up to a cap. Attempts are refused during the
//! wait without checking the password, so guessing slows to a crawl.
//!
//! The key is the account *and* the client, so a guesser slows only
//! itself: the owner signing in from their own address is never locked out
//! by someone else's failures. A guesser with many addresses is held back
//! by the per-client and per-tenant rate limits.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords allowed before the delays start.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures this old are forgiven.
pub const FORGIVEN_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn forgiven(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= FORGIVEN_AFTER
    }
}

/// How long after the `count`-th failure the next attempt must wait.
pub fn delay_after(count: u32) -> Duration {
    match count.checked_sub(FREE_FAILURES) {
        None => Duration::ZERO,
        Some(over) => Duration::from_secs(1u64 << over.min(20)).min(MAX_DELAY),
    }
}

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<(String, IpAddr), Failures>>,
}

impl LoginThrottle {
    /// How long `client` must still wait before trying `account` again;
    /// `None`: it may try now.
    pub fn wait(&self, account: &str, client: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().expect("not poisoned");
        let found = failures.get(&(account.to_owned(), client))?;
        if found.forgiven(now) {
            return None;
        }
        let elapsed = now.saturating_duration_since(found.last);
        delay_after(found.count)
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())
    }

    /// Counts a wrong password. Forgiven entries are dropped when the map
    /// has doubled, so it holds only the last hour's failing pairs (and
    /// those are bounded by the rate limits and the password hashing).
    pub fn failed(&self, account: &str, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().expect("not poisoned");
        let entry = failures
            .entry((account.to_owned(), client))
            .or_insert(Failures { count: 0, last: now });
        if entry.forgiven(now) {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        let len = failures.len();
        if len.is_power_of_two() && len >= 1024 {
            failures.retain(|_, failures| !failures.forgiven(now));
        }
    }

    /// A correct password: the slate is clean.
    pub fn succeeded(&self, account: &str, client: IpAddr) {
        self.failures
            .lock()
            .expect("not poisoned")
            .remove(&(account.to_owned(), client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_cap() {
        let delays: Vec<u64> = (0..=8).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 1, 2, 4, 8]);
        assert_eq!(delay_after(14), Duration::from_secs(512));
        assert_eq!(delay_after(15), MAX_DELAY, "1024 s, capped at 15 minutes");
        assert_eq!(delay_after(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn a_guesser_waits_longer_each_time_and_slows_only_itself() {
        let throttle = LoginThrottle::default();
        let (guesser, owner): (IpAddr, IpAddr) =
            ("203.0.113.9".parse().unwrap(), "198.51.100.1".parse().unwrap());
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait("owner@acme.test", guesser, start), None);
            throttle.failed("owner@acme.test", guesser, start);
        }
        assert_eq!(
            throttle.wait("owner@acme.test", guesser, start),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.wait("owner@acme.test", owner, start),
            None,
            "the owner may sign in"
        );
        assert_eq!(
            throttle.wait("other@acme.test", guesser, start),
            None,
            "another account"
        );

        let later = start + Duration::from_secs(1);
        assert_eq!(throttle.wait("owner@acme.test", guesser, later), None);
        throttle.failed("owner@acme.test", guesser, later);
        assert_eq!(
            throttle.wait("owner@acme.test", guesser, later),
            Some(Duration::from_secs(2))
        );

        // An hour later all is forgiven, and so is the count.
        let next_day = later + FORGIVEN_AFTER;
        assert_eq!(throttle.wait("owner@acme.test", guesser, next_day), None);
        throttle.failed("owner@acme.test", guesser, next_day);
        assert_eq!(throttle.wait("owner@acme.test", guesser, next_day), None);
    }

    #[test]
    fn a_correct_password_clears_the_failures() {
        let throttle = LoginThrottle::default();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES + 3 {
            throttle.failed("a@acme.test", client, now);
        }
        assert!(throttle.wait("a@acme.test", client, now).is_some());
        throttle.succeeded("a@acme.test", client);
        assert_eq!(throttle.wait("a@acme.test", client, now), None);
    }
}
