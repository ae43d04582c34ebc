//! Which way a request goes: to a service by its host; on the gateway's own hosts to the
//! gateway's API and pages, or by path prefix to a service that explicitly shares the gateway's
//! origin (`share_gateway_origin`, for trusted services only: such a service shares the origin of
//! the login pages and the API). Hosts that are neither are refused. A service's host never
//! reaches the gateway's API or pages. The table is built from the services in the store and
//! rebuilt when an admin changes them, without a restart; each service's upstreams are balanced
//! round-robin and health-checked.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use auth_core::AuthCore;
use auth_core::services::Service;
use pingora::lb::health_check::TcpHealthCheck;
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, LoadBalancer};

use super::upstream_tls::UpstreamTls;

/// Upstream TLS settings by service slug, from the configuration.
pub type TlsBySlug = HashMap<String, UpstreamTls>;

const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(2);
const RELOAD_EVERY: Duration = Duration::from_secs(15);

/// A service the gateway forwards to.
pub struct ServiceRoute {
    pub service: Service,
    pub upstreams: LoadBalancer<RoundRobin>,
    /// Set when the upstreams are reached over TLS.
    pub tls: Option<UpstreamTls>,
}

impl std::fmt::Debug for ServiceRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRoute")
            .field("slug", &self.service.slug)
            .finish()
    }
}

impl ServiceRoute {
    fn new(service: Service, tls: Option<UpstreamTls>) -> std::io::Result<ServiceRoute> {
        let addrs: Vec<SocketAddr> = service
            .upstreams
            .iter()
            .filter_map(|u| u.parse().ok())
            .collect();
        let mut upstreams = LoadBalancer::try_from_iter(addrs)?;
        match &tls {
            // Over the same TLS as requests, so a bad certificate shows as unhealthy.
            Some(tls) => upstreams.set_health_check(Box::new(tls.health_check())),
            None => {
                let mut check = TcpHealthCheck::new();
                check.consecutive_failure = 1;
                check.consecutive_success = 1;
                upstreams.set_health_check(check);
            }
        }
        Ok(ServiceRoute {
            service,
            upstreams,
            tls,
        })
    }

    /// A healthy upstream, taking turns.
    pub fn pick_upstream(&self) -> Option<Backend> {
        self.upstreams.select(self.service.slug.as_bytes(), 256)
    }
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum Route {
    /// The gateway's own API and pages.
    Gateway,
    /// A service; `forwarded_path` is what the upstream sees (prefix removed when routed by
    /// prefix), `base` is where the service's paths start on this host ("" or the prefix).
    Service {
        route: Arc<ServiceRoute>,
        forwarded_path: String,
        base: String,
    },
    /// A host this gateway does not serve.
    UnknownHost(String),
}

/// Hosts and path prefixes to services.
#[derive(Debug, Default)]
pub struct RouteTable {
    by_host: HashMap<String, Arc<ServiceRoute>>,
    /// Longest prefix first, so `/a/b` wins over `/a`.
    by_prefix: Vec<(String, Arc<ServiceRoute>)>,
    gateway_hosts: HashSet<String>,
}

impl RouteTable {
    pub fn build(services: &[Service], gateway_hosts: &[String]) -> std::io::Result<RouteTable> {
        Self::build_with_tls(services, gateway_hosts, &TlsBySlug::new())
    }

    /// Like [`RouteTable::build`], reaching the services named in `tls` over TLS.
    pub fn build_with_tls(
        services: &[Service],
        gateway_hosts: &[String],
        tls: &TlsBySlug,
    ) -> std::io::Result<RouteTable> {
        let mut table = RouteTable {
            gateway_hosts: gateway_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            ..RouteTable::default()
        };
        for service in services {
            let route = Arc::new(ServiceRoute::new(
                service.clone(),
                tls.get(&service.slug).cloned(),
            )?);
            for host in &service.hosts {
                table
                    .by_host
                    .insert(host.to_ascii_lowercase(), route.clone());
            }
            if let Some(prefix) = service
                .path_prefix
                .as_ref()
                .filter(|_| service.share_gateway_origin)
            {
                table.by_prefix.push((prefix.clone(), route.clone()));
            }
        }
        table
            .by_prefix
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(table)
    }

    /// Routes a request by its host (without port) and canonical path.
    pub fn resolve(&self, host: &str, path: &str) -> Route {
        let host = host.to_ascii_lowercase();
        if let Some(route) = self.by_host.get(&host) {
            return Route::Service {
                route: route.clone(),
                forwarded_path: path.to_string(),
                base: String::new(),
            };
        }
        if !self.gateway_hosts.contains(&host) {
            return Route::UnknownHost(host);
        }
        for (prefix, route) in &self.by_prefix {
            if let Some(rest) = path.strip_prefix(prefix.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return Route::Service {
                    route: route.clone(),
                    forwarded_path: if rest.is_empty() {
                        "/".into()
                    } else {
                        rest.to_string()
                    },
                    base: prefix.clone(),
                };
            }
        }
        Route::Gateway
    }

    fn routes(&self) -> impl Iterator<Item = &Arc<ServiceRoute>> {
        self.by_host
            .values()
            .chain(self.by_prefix.iter().map(|(_, r)| r))
    }
}

/// The table in force, swapped whole when services change.
pub struct Routes {
    table: RwLock<Arc<RouteTable>>,
    gateway_hosts: Vec<String>,
    /// Read from the configuration file at start and again on `SIGHUP`.
    tls: RwLock<Arc<TlsBySlug>>,
}

impl Routes {
    pub fn new(
        services: &[Service],
        gateway_hosts: Vec<String>,
        tls: TlsBySlug,
    ) -> std::io::Result<Routes> {
        Ok(Routes {
            table: RwLock::new(Arc::new(RouteTable::build_with_tls(
                services,
                &gateway_hosts,
                &tls,
            )?)),
            gateway_hosts,
            tls: RwLock::new(Arc::new(tls)),
        })
    }

    pub fn current(&self) -> Arc<RouteTable> {
        self.table
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Rebuilds the table from `services`, with the upstream TLS in force.
    pub fn replace(&self, services: &[Service]) {
        let tls = self
            .tls
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        match RouteTable::build_with_tls(services, &self.gateway_hosts, &tls) {
            Ok(table) => {
                if let Ok(mut current) = self.table.write() {
                    *current = Arc::new(table);
                }
            }
            Err(err) => tracing::warn!(%err, "could not rebuild the route table"),
        }
    }

    /// Takes a new upstream TLS map (a reloaded configuration) and rebuilds the table with it, so
    /// a service whose entry gained `tls = true` is never reached over plain HTTP.
    pub fn replace_with_tls(&self, services: &[Service], tls: TlsBySlug) {
        match self.tls.write() {
            Ok(mut current) => *current = Arc::new(tls),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(tls),
        }
        self.replace(services);
    }

    /// Rebuilds the table when a service changes (announced by any gateway) and every few seconds.
    pub fn follow_changes(self: Arc<Self>, core: AuthCore) {
        let follower = core.clone();
        follower.services().follow_changes(RELOAD_EVERY, move || {
            let (routes, core) = (self.clone(), core.clone());
            async move {
                routes.replace(&core.services().list().await?);
                Ok(())
            }
        });
    }

    /// Checks every upstream of every service, forever, and reports each one's health.
    pub async fn check_health_forever(self: Arc<Self>, metrics: Arc<crate::web::metrics::Metrics>) {
        loop {
            let table = self.current();
            let mut seen = HashSet::new();
            let distinct: Vec<Arc<ServiceRoute>> = table
                .routes()
                .filter(|route| seen.insert(route.service.slug.clone()))
                .cloned()
                .collect();
            for route in distinct {
                let backends = route.upstreams.backends();
                backends.run_health_check(true).await;
                for backend in backends.get_backend().iter() {
                    metrics.upstream_health(
                        &route.service.slug,
                        &backend.addr.to_string(),
                        backends.ready(backend),
                    );
                }
            }
            tokio::time::sleep(HEALTH_CHECK_EVERY).await;
        }
    }
}

/// The host of a `Host` header value, without port.
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
    use auth_core::ids::ServiceId;

    fn service(slug: &str, host: &str, prefix: &str) -> Service {
        Service {
            id: ServiceId::new(),
            slug: slug.into(),
            name: slug.into(),
            hosts: vec![host.into()],
            path_prefix: Some(prefix.into()),
            share_gateway_origin: true,
            upstreams: vec!["127.0.0.1:9".into()],
            enabled: true,
            api_key_prefix: None,
            key_rotated_at: None,
            warning_banner: None,
            warning_minutes: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn table() -> RouteTable {
        RouteTable::build(
            &[
                service("service-b", "service-b.localhost", "/service-b"),
                service("app-c", "app-c.localhost", "/app-c"),
            ],
            &["127.0.0.1".into()],
        )
        .unwrap()
    }

    fn slug(route: &Route) -> Option<(String, String)> {
        match route {
            Route::Service {
                route,
                forwarded_path,
                ..
            } => Some((route.service.slug.clone(), forwarded_path.clone())),
            _ => None,
        }
    }

    #[test]
    fn routes_by_host_keeping_the_path() {
        let route = table().resolve("Service-B.localhost", "/orders/1");
        assert_eq!(slug(&route), Some(("service-b".into(), "/orders/1".into())));
    }

    #[test]
    fn routes_by_prefix_on_the_gateway_host_removing_it() {
        let table = table();
        assert_eq!(
            slug(&table.resolve("127.0.0.1", "/app-c/x/y")),
            Some(("app-c".into(), "/x/y".into()))
        );
        assert_eq!(
            slug(&table.resolve("127.0.0.1", "/app-c")),
            Some(("app-c".into(), "/".into()))
        );
        assert!(slug(&table.resolve("127.0.0.1", "/app-cx/y")).is_none());
    }

    #[test]
    fn the_rest_of_the_gateway_host_is_the_gateway_and_other_hosts_are_refused() {
        let table = table();
        assert!(matches!(
            table.resolve("127.0.0.1", "/health"),
            Route::Gateway
        ));
        assert!(matches!(
            table.resolve("evil.example", "/service-b/x"),
            Route::UnknownHost(_)
        ));
        // A service host never serves the gateway's API: that path goes to the service.
        assert_eq!(
            slug(&table.resolve("service-b.localhost", "/api/admin/users"))
                .unwrap()
                .1,
            "/api/admin/users"
        );
    }

    #[test]
    fn a_prefix_is_served_on_the_gateways_hosts_only_when_the_service_shares_its_origin() {
        let mut private = service("service-b", "service-b.localhost", "/service-b");
        private.share_gateway_origin = false;
        let table = RouteTable::build(&[private], &["127.0.0.1".into()]).unwrap();
        assert!(matches!(
            table.resolve("127.0.0.1", "/service-b/x"),
            Route::Gateway
        ));
        assert!(slug(&table.resolve("service-b.localhost", "/x")).is_some());
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
