//! Open connections per client address. A connection beyond `gateway.max_connections_per_address`
//! is closed as soon as it is accepted, so one address (an IPv6 client: its /64) cannot hold the
//! descriptors every other client needs. Trusted proxies, which carry many clients on one address,
//! are not capped.
//!
//! The counts live in a few shards of plain maps, each behind a mutex held only for one increment
//! or decrement, never across an await; a count that drops to zero is removed, so memory follows
//! the addresses connected now.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::client_ip::TrustedProxies;
use super::limits::address_key;
use crate::web::metrics::Metrics;

/// Shards of the count map: enough that a burst of accepts on every worker rarely meets.
const SHARDS: usize = 32;

#[derive(Default)]
struct Count {
    open: u32,
    /// Whether this address was already logged as over its cap since it last had no connection.
    warned: bool,
}

/// The per-address cap and the counts it is checked against.
pub struct ConnectionLimits {
    max_per_address: u32,
    trusted: TrustedProxies,
    shards: Box<[Mutex<HashMap<IpAddr, Count>>]>,
    metrics: Arc<Metrics>,
}

/// One admitted connection; dropping it gives its place back.
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    /// The counted address, or None when the connection is not counted (no cap, a trusted
    /// proxy, or no address).
    key: Option<IpAddr>,
}

impl ConnectionLimits {
    /// A cap of `max_per_address` open connections (0: none) for every client but `trusted`.
    pub fn new(max_per_address: u32, trusted: TrustedProxies, metrics: Arc<Metrics>) -> Self {
        Self {
            max_per_address,
            trusted,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            metrics,
        }
    }

    fn shard(&self, key: &IpAddr) -> &Mutex<HashMap<IpAddr, Count>> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        &self.shards[hasher.finish() as usize % SHARDS]
    }

    /// Admits a connection from `peer`, or refuses it (None) when its address already holds its
    /// maximum. The first refusal of a flood is logged; every refusal is counted.
    pub fn admit(self: &Arc<Self>, peer: Option<IpAddr>) -> Option<ConnectionSlot> {
        let counted = peer.filter(|ip| self.max_per_address > 0 && !self.trusted.trusts(*ip));
        let Some(key) = counted.map(address_key) else {
            self.metrics.connection_opened();
            return Some(ConnectionSlot {
                limits: self.clone(),
                key: None,
            });
        };
        let refused_at = {
            let mut counts = self
                .shard(&key)
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = counts.entry(key).or_default();
            if count.open < self.max_per_address {
                count.open += 1;
                None
            } else {
                let first = !count.warned;
                count.warned = true;
                Some((count.open, first))
            }
        };
        match refused_at {
            None => {
                self.metrics.connection_opened();
                Some(ConnectionSlot {
                    limits: self.clone(),
                    key: Some(key),
                })
            }
            Some((open, first)) => {
                self.metrics.connection_refused("per_address_limit");
                if first {
                    tracing::warn!(
                        client = %key,
                        open,
                        limit = self.max_per_address,
                        "connections refused: this address holds its maximum of open connections \
                         (gateway.max_connections_per_address); further refusals are counted in \
                         gateway_connections_refused_total"
                    );
                }
                None
            }
        }
    }

    /// Connections `ip`'s address holds open now.
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let key = address_key(ip);
        self.shard(&key)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .map_or(0, |count| count.open)
    }

    fn release(&self, key: IpAddr) {
        let mut counts = self
            .shard(&key)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&key) {
            count.open = count.open.saturating_sub(1);
            if count.open == 0 {
                counts.remove(&key);
            }
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.limits.metrics.connection_closed();
        if let Some(key) = self.key {
            self.limits.release(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: u32, trusted: &[&str]) -> Arc<ConnectionLimits> {
        let trusted: Vec<String> = trusted.iter().map(|t| t.to_string()).collect();
        Arc::new(ConnectionLimits::new(
            max,
            TrustedProxies::new(&trusted),
            Arc::new(Metrics::new()),
        ))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn an_address_over_its_cap_is_refused_until_one_of_its_connections_ends() {
        let limits = limits(2, &[]);
        let first = limits.admit(ip("198.51.100.1")).unwrap();
        let _second = limits.admit(ip("198.51.100.1")).unwrap();
        assert!(limits.admit(ip("198.51.100.1")).is_none());
        // Another address has its own count.
        let _other = limits.admit(ip("198.51.100.2")).unwrap();
        drop(first);
        assert_eq!(limits.open_from("198.51.100.1".parse().unwrap()), 1);
        let _again = limits.admit(ip("198.51.100.1")).unwrap();
        assert!(limits.admit(ip("198.51.100.1")).is_none());
        assert_eq!(
            limits
                .metrics
                .render()
                .lines()
                .find(|l| l.starts_with("gateway_connections_refused_total"))
                .unwrap(),
            "gateway_connections_refused_total{reason=\"per_address_limit\"} 2"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_prefix_and_counts_are_forgotten_at_zero() {
        let limits = limits(1, &[]);
        let slot = limits.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(limits.admit(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(limits.admit(ip("2001:db8:1:3::1")).is_some());
        drop(slot);
        let shards_empty = limits.shards.iter().all(|s| s.lock().unwrap().is_empty());
        assert!(shards_empty);
    }

    #[test]
    fn trusted_proxies_and_a_zero_cap_are_not_counted() {
        let limits = limits(1, &["10.0.0.0/8"]);
        let _a = limits.admit(ip("10.1.2.3")).unwrap();
        let _b = limits.admit(ip("10.1.2.3")).unwrap();
        let uncapped = self::limits(0, &[]);
        let _c = uncapped.admit(ip("198.51.100.1")).unwrap();
        let _d = uncapped.admit(ip("198.51.100.1")).unwrap();
        assert_eq!(uncapped.open_from("198.51.100.1".parse().unwrap()), 0);
    }
}
