//! Who the client is: the socket peer, unless that peer is a trusted proxy, in which case the
//! right-most address of `X-Forwarded-For` that is not itself a trusted proxy. Nothing a client
//! writes in that header counts unless a trusted proxy put it there.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From validated configuration (addresses or CIDRs).
    pub fn new(entries: &[String]) -> Self {
        Self(
            entries
                .iter()
                .filter_map(|e| auth_core::config::parse_ip_range(e))
                .collect(),
        )
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For` values.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain: Vec<IpAddr> = forwarded_for
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .collect();
        chain
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = TrustedProxies::new(&["10.0.0.0/8".into()]);
        assert_eq!(
            trusted.client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_counts() {
        let trusted = TrustedProxies::new(&["10.0.0.0/8".into(), "192.0.2.1".into()]);
        // The client forged the left-most entry; the proxies appended the real ones.
        let chain = ["6.6.6.6, 198.51.100.7", "10.1.1.1"];
        assert_eq!(
            trusted.client_ip(ip("192.0.2.1"), chain.into_iter()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn no_header_from_a_trusted_proxy_means_the_proxy() {
        let trusted = TrustedProxies::new(&["127.0.0.1".into()]);
        assert_eq!(
            trusted.client_ip(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn mapped_ipv4_is_plain_ipv4() {
        let trusted = TrustedProxies::default();
        assert_eq!(
            trusted.client_ip(ip("::ffff:198.51.100.7"), std::iter::empty()),
            ip("198.51.100.7")
        );
    }
}
