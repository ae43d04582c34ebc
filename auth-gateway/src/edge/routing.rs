//! Which way a request goes: to the gateway's own API and pages, or to a service behind it (by host,
//! or by path prefix on the gateway's host), or nowhere.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use auth_core::config::ServiceSeed;
use pingora::lb::LoadBalancer;
use pingora::lb::selection::RoundRobin;

/// A service the gateway forwards to.
pub struct ServiceRoute {
    pub slug: String,
    pub name: String,
    pub path_prefix: Option<String>,
    pub upstreams: LoadBalancer<RoundRobin>,
}

impl std::fmt::Debug for ServiceRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRoute")
            .field("slug", &self.slug)
            .finish()
    }
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum Route {
    /// The gateway's own API and pages.
    Gateway,
    /// A service, and the path to forward (prefix removed when routed by prefix).
    Service {
        service: Arc<ServiceRoute>,
        forwarded_path: String,
        via_prefix: bool,
    },
}

/// Hosts and path prefixes to services.
#[derive(Debug, Default)]
pub struct RouteTable {
    by_host: HashMap<String, Arc<ServiceRoute>>,
    /// Longest prefix first, so `/a/b` wins over `/a`.
    by_prefix: Vec<(String, Arc<ServiceRoute>)>,
}

impl RouteTable {
    /// Builds the table from service definitions whose addresses were validated with the config.
    pub fn from_seeds(seeds: &[ServiceSeed]) -> std::io::Result<RouteTable> {
        let mut table = RouteTable::default();
        for seed in seeds {
            let addrs: Vec<SocketAddr> = seed
                .upstreams
                .iter()
                .filter_map(|u| u.parse().ok())
                .collect();
            let route = Arc::new(ServiceRoute {
                slug: seed.slug.clone(),
                name: seed.name.clone(),
                path_prefix: seed.path_prefix.clone(),
                upstreams: LoadBalancer::try_from_iter(addrs)?,
            });
            for host in &seed.hosts {
                table
                    .by_host
                    .insert(host.to_ascii_lowercase(), route.clone());
            }
            if let Some(prefix) = &seed.path_prefix {
                table.by_prefix.push((prefix.clone(), route.clone()));
            }
        }
        table
            .by_prefix
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(table)
    }

    /// Routes a request by its host (without port) and path.
    pub fn resolve(&self, host: Option<&str>, path: &str) -> Route {
        if let Some(service) = host.and_then(|h| self.by_host.get(&h.to_ascii_lowercase())) {
            return Route::Service {
                service: service.clone(),
                forwarded_path: path.to_string(),
                via_prefix: false,
            };
        }
        for (prefix, service) in &self.by_prefix {
            if let Some(rest) = path.strip_prefix(prefix.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                let forwarded_path = if rest.is_empty() { "/" } else { rest };
                return Route::Service {
                    service: service.clone(),
                    forwarded_path: forwarded_path.to_string(),
                    via_prefix: true,
                };
            }
        }
        Route::Gateway
    }
}

/// The host of a `Host` header value, without port, lowercased.
pub fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: keep the brackets, drop the port.
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.split_once(':').map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::from_seeds(&auth_core::Config::defaults().services).unwrap()
    }

    fn slug(route: &Route) -> Option<(&str, &str)> {
        match route {
            Route::Service {
                service,
                forwarded_path,
                ..
            } => Some((service.slug.as_str(), forwarded_path.as_str())),
            Route::Gateway => None,
        }
    }

    #[test]
    fn routes_by_host_keeping_the_path() {
        let table = table();
        let route = table.resolve(Some("Service-B.localhost"), "/orders/1");
        assert_eq!(slug(&route), Some(("service-b", "/orders/1")));
    }

    #[test]
    fn routes_by_prefix_removing_it() {
        let table = table();
        assert_eq!(
            slug(&table.resolve(Some("127.0.0.1"), "/app-c/x/y")),
            Some(("app-c", "/x/y"))
        );
        assert_eq!(
            slug(&table.resolve(Some("127.0.0.1"), "/app-c")),
            Some(("app-c", "/"))
        );
    }

    #[test]
    fn a_prefix_matches_whole_segments_only() {
        let table = table();
        assert!(slug(&table.resolve(Some("127.0.0.1"), "/app-cx/y")).is_none());
    }

    #[test]
    fn everything_else_is_the_gateway() {
        let table = table();
        assert!(slug(&table.resolve(Some("127.0.0.1"), "/health")).is_none());
        assert!(slug(&table.resolve(None, "/api/register")).is_none());
    }

    #[test]
    fn host_port_is_dropped() {
        assert_eq!(
            host_without_port("service-b.localhost:8080"),
            "service-b.localhost"
        );
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(host_without_port("example"), "example");
    }
}
