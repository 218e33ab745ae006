//! Who a request comes from, for the per-client limits: the peer's address,
//! or, when the peer is a trusted proxy (the ingress controller), the
//! address that proxy saw, from `X-Forwarded-For`. A header from anyone
//! else is ignored: a client could otherwise pick a new address per request.
//!
//! IPv6 clients are counted per /64, the block one host usually gets: a
//! limit per single address would give each host 2^64 budgets.

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use shopfleet_contract::cidr::{Cidr, canonical};

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(blocks: Vec<Cidr>) -> Self {
        Self(blocks)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(address))
    }

    /// The client of a request from `peer` with this `X-Forwarded-For`:
    /// walking back from the peer, the first address not of a trusted proxy.
    /// Only trusted proxies' entries are believed, so what a client wrote
    /// at the left of the header never counts.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_for.unwrap_or_default().rsplit(',') {
            match IpAddr::from_str(hop.trim()) {
                Ok(address) => {
                    client = canonical(address);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // A garbled entry: nothing left of it can be believed.
                Err(_) => break,
            }
        }
        client
    }
}

/// The key a client's budget is kept under: its IPv4 address, or its IPv6 /64.
pub fn budget_key(client: IpAddr) -> IpAddr {
    match canonical(client) {
        IpAddr::V6(v6) => {
            let block = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(Ipv6Addr::from(block))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_say_who_the_client_is() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        // Straight from the internet: the header is the client's own words.
        assert_eq!(
            proxies.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // Through the ingress: the address it saw.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        // A client prepending a made-up address gains nothing.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), Some("1.2.3.4, 203.0.113.9")),
            ip("203.0.113.9")
        );
        // Through two trusted hops.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), Some("203.0.113.9, 10.0.0.7")),
            ip("203.0.113.9")
        );
        // A proxy that forwards nothing is the client.
        assert_eq!(proxies.client(ip("10.0.0.5"), None), ip("10.0.0.5"));
        assert_eq!(proxies.client(ip("10.0.0.5"), Some("garbage")), ip("10.0.0.5"));
        // No proxies configured: the peer, always.
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.5"), Some("203.0.113.9")),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn an_ipv6_host_has_one_budget_for_its_slash_64() {
        assert_eq!(budget_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(budget_key(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_ne!(budget_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(budget_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(budget_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
