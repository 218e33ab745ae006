//! Token buckets: a bucket holds up to `burst` tokens and gains `per_second`
//! of them each second; a request takes one or is refused. Time is passed
//! in, so the arithmetic is tested without waiting.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast a bucket refills and how much it holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    /// `per_second`, with a burst of `burst_seconds` of it (at least one).
    pub fn new(per_second: f64, burst_seconds: f64) -> Self {
        Self {
            per_second,
            burst: ((per_second * burst_seconds).round() as u32).max(1),
        }
    }

    /// How long an empty bucket takes to fill: the policy's window.
    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.burst) / self.per_second)
    }
}

/// What a bucket said to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub admitted: bool,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Until the next token: how long a refused request should wait.
    pub retry_after: Duration,
    /// Until the bucket is full again.
    pub reset: Duration,
}

#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() * rate.per_second;
        self.tokens = (self.tokens + gained).min(f64::from(rate.burst));
        self.at = now;
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> Verdict {
        self.refill(rate, now);
        let admitted = self.tokens >= 1.0;
        if admitted {
            self.tokens -= 1.0;
        }
        self.verdict(admitted, rate)
    }

    /// What a request would be told, taking nothing.
    pub fn peek(&mut self, rate: Rate, now: Instant) -> Verdict {
        self.refill(rate, now);
        self.verdict(self.tokens >= 1.0, rate)
    }

    fn verdict(&self, admitted: bool, rate: Rate) -> Verdict {
        let seconds = |tokens: f64| Duration::from_secs_f64(tokens.max(0.0) / rate.per_second);
        Verdict {
            admitted,
            remaining: self.tokens as u32,
            retry_after: seconds(1.0 - self.tokens),
            reset: seconds(f64::from(rate.burst) - self.tokens),
        }
    }

    /// Whether the bucket has refilled: forgetting it changes nothing.
    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut refilled = *self;
        refilled.refill(rate, now);
        refilled.tokens >= f64::from(rate.burst)
    }
}

/// One bucket per key (a client address), all of the same rate. A key's
/// bucket exists only while it is not full, so the map holds only the
/// clients of the last few seconds: full buckets are dropped whenever the
/// map has doubled since it was last swept.
pub struct KeyedBuckets<K> {
    rate: Rate,
    buckets: Mutex<Keyed<K>>,
}

struct Keyed<K> {
    map: HashMap<K, Bucket>,
    sweep_at_len: usize,
}

/// The map is swept once it holds this many keys, then at twice what the
/// last sweep left.
const FIRST_SWEEP: usize = 1024;

impl<K: Hash + Eq + Clone> KeyedBuckets<K> {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(Keyed {
                map: HashMap::new(),
                sweep_at_len: FIRST_SWEEP,
            }),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    pub fn take(&self, key: &K, now: Instant) -> Verdict {
        self.with(key, now, |bucket, rate| bucket.take(rate, now))
    }

    pub fn peek(&self, key: &K, now: Instant) -> Verdict {
        let rate = self.rate;
        let keyed = self.buckets.lock().expect("not poisoned");
        let mut bucket = keyed.map.get(key).copied().unwrap_or(Bucket::full(rate, now));
        bucket.peek(rate, now)
    }

    fn with(&self, key: &K, now: Instant, act: impl FnOnce(&mut Bucket, Rate) -> Verdict) -> Verdict {
        let rate = self.rate;
        let mut keyed = self.buckets.lock().expect("not poisoned");
        if keyed.map.len() >= keyed.sweep_at_len {
            keyed.map.retain(|_, bucket| !bucket.is_full(rate, now));
            keyed.sweep_at_len = (keyed.map.len() * 2).max(FIRST_SWEEP);
        }
        let bucket = keyed
            .map
            .entry(key.clone())
            .or_insert_with(|| Bucket::full(rate, now));
        act(bucket, rate)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_burst_then_one_request_per_refill() {
        let rate = Rate::new(10.0, 2.0);
        assert_eq!(rate.burst, 20);
        assert_eq!(rate.window(), Duration::from_secs(2));
        let start = Instant::now();
        let mut bucket = Bucket::full(rate, start);
        for left in (0..20).rev() {
            let verdict = bucket.take(rate, start);
            assert!(verdict.admitted);
            assert_eq!(verdict.remaining, left);
        }
        let refused = bucket.take(rate, start);
        assert!(!refused.admitted);
        assert_eq!(refused.retry_after, Duration::from_millis(100));
        assert_eq!(refused.reset, Duration::from_secs(2));
        // 100 ms later, exactly one more.
        let later = start + Duration::from_millis(100);
        assert!(bucket.take(rate, later).admitted);
        assert!(!bucket.take(rate, later).admitted);
        // Idle for long, it holds no more than its burst.
        let much_later = start + Duration::from_secs(60);
        assert_eq!(bucket.peek(rate, much_later).remaining, 20);
    }

    #[test]
    fn peeking_takes_nothing() {
        let rate = Rate::new(1.0, 1.0);
        let now = Instant::now();
        let mut bucket = Bucket::full(rate, now);
        assert!(bucket.peek(rate, now).admitted);
        assert!(bucket.peek(rate, now).admitted);
        assert!(bucket.take(rate, now).admitted);
        assert!(!bucket.peek(rate, now).admitted);
    }

    #[test]
    fn keys_have_buckets_of_their_own_and_full_ones_are_forgotten() {
        let buckets = KeyedBuckets::new(Rate::new(1.0, 1.0));
        let now = Instant::now();
        assert!(buckets.take(&1, now).admitted);
        assert!(!buckets.take(&1, now).admitted);
        assert!(buckets.take(&2, now).admitted, "another key, another bucket");
        // A second later every bucket is full: the next sweep drops them all.
        let later = now + Duration::from_secs(1);
        for key in 3..FIRST_SWEEP as u32 + 1 {
            buckets.take(&key, now);
        }
        assert_eq!(buckets.len(), FIRST_SWEEP);
        buckets.take(&0, later);
        assert_eq!(buckets.len(), 1, "only the key just taken from");
        assert!(buckets.take(&1, later).admitted);
    }
}
