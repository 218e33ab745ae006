//! A small in-process cache with a time to live, for lookups that every
//! request would otherwise make and that change rarely (a store's currency,
//! an API key's store). A change reaches every replica within the TTL.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// Entries live `ttl`; at `capacity` the cache starts over, so a flood
    /// of distinct keys costs bounded memory.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    pub fn insert(&self, key: K, value: V) {
        self.insert_at(key, value, Instant::now());
    }

    /// Forgets `key` now, before its time is up.
    pub fn remove(&self, key: &K) {
        self.entries.lock().expect("cache lock").remove(key);
    }

    // The time is a parameter so the tests can step it exactly: sleeping past
    // the TTL would race the clock on a loaded machine.
    fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|(stored, _)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(_, value)| value.clone())
    }

    fn insert_at(&self, key: K, value: V, now: Instant) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (now, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lives_exactly_its_ttl() {
        let ttl = Duration::from_millis(50);
        let cache = TtlCache::new(ttl, 2);
        let stored = Instant::now();
        cache.insert_at("a", 1, stored);
        assert_eq!(cache.get_at(&"a", stored), Some(1));
        assert_eq!(
            cache.get_at(&"a", stored + ttl - Duration::from_nanos(1)),
            Some(1)
        );
        assert_eq!(cache.get_at(&"a", stored + ttl), None);
        cache.insert_at("a", 2, stored + ttl);
        assert_eq!(
            cache.get_at(&"a", stored + ttl),
            Some(2),
            "a new insert starts a new TTL"
        );
    }

    #[test]
    fn at_capacity_the_cache_starts_over() {
        let cache = TtlCache::new(Duration::from_secs(10), 2);
        let now = Instant::now();
        cache.insert_at("b", 2, now);
        cache.insert_at("c", 3, now);
        assert_eq!(
            (cache.get_at(&"b", now), cache.get_at(&"c", now)),
            (Some(2), Some(3))
        );
        cache.insert_at("d", 4, now);
        assert_eq!(
            cache.get_at(&"b", now),
            None,
            "the cache started over at capacity"
        );
        assert_eq!(
            cache.get_at(&"c", now),
            None,
            "the cache started over at capacity"
        );
        assert_eq!(cache.get_at(&"d", now), Some(4));
    }
}
