//! Puts the gateway together: opens the stores on a runtime of their own, builds the route table
//! and the API router, and runs the Pingora server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use auth_core::store::Stores;
use auth_core::{AuthCore, Config, SharedClock, SystemClock};
use pingora::server::Server;
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;

use crate::edge::Gateway;
use crate::edge::client_ip::TrustedProxies;
use crate::edge::connections::ConnectionLimits;
use crate::edge::limits::Limits;
use crate::edge::listener::Listener;
use crate::edge::routing::Routes;
use crate::web::metrics::Metrics;
use crate::web::state::AppState;

/// A runtime for the stores' own tasks (connection drivers, sweepers, background jobs). Pingora
/// runs its services on runtimes of its own; this one lives as long as the process.
fn core_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("auth-core")
        .enable_all()
        .build()
        .context("start the core runtime")
}

/// Applies migrations and exits.
pub fn migrate(config: &Config) -> anyhow::Result<()> {
    let runtime = core_runtime()?;
    runtime.block_on(async {
        let db = Stores::open_db(config).await?;
        let applied = db.migrate().await?;
        if applied.is_empty() {
            println!("database schema is up to date");
        } else {
            for name in applied {
                println!("applied {name}");
            }
        }
        Ok(())
    })
}

/// The clock the core runs on: the wall clock, or, in a build with the test-only `test-clock`
/// feature and when a test asks for it, one that the test moves.
#[cfg_attr(not(feature = "test-clock"), allow(unused_variables))]
fn clock(runtime: &tokio::runtime::Runtime) -> anyhow::Result<SharedClock> {
    #[cfg(feature = "test-clock")]
    if let Some(clock) = crate::test_clock::start(runtime)? {
        return Ok(clock);
    }
    Ok(Arc::new(SystemClock))
}

/// Runs the gateway until it is told to stop; `SIGHUP` reloads `config_path` (see `reload`).
pub fn serve(config: Config, config_path: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    // Before anything opens a descriptor: every connection, pool and log file needs one.
    match crate::open_files::raise_to_hard_limit() {
        Ok(files) => tracing::info!(
            limit = files.limit,
            started_with = files.started_with,
            "limit of open files"
        ),
        Err(err) => tracing::warn!(%err, "could not raise the limit of open files"),
    }
    // Held while the process runs, so `restore` cannot replace the database under it.
    let _data_lock = crate::data_lock::hold_shared(&config.storage.data_dir)?;
    let runtime = core_runtime()?;
    let clock = clock(&runtime)?;
    let core = runtime
        .block_on(AuthCore::open(config.clone(), clock))
        .context("start the auth core")?;
    let services = runtime
        .block_on(core.services().list())
        .context("read the services")?;
    let routes = Arc::new(
        Routes::new(
            &services,
            config.gateway.own_hosts(),
            crate::edge::upstream_tls::by_slug(&config)?,
        )
        .context("build the route table")?,
    );
    let limits = Arc::new(Limits::new(
        &config.rate_limits,
        core.shared_redis().cloned(),
    ));
    let metrics = Arc::new(Metrics::new());
    auth_core::measure::install(metrics.clone());
    let ticker = runtime
        .block_on(async {
            core.spawn_background();
            routes.clone().follow_changes(core.clone());
            tokio::spawn(routes.clone().check_health_forever(metrics.clone()));
            tokio::spawn(limits.clone().sweep_forever());
            crate::reload::reload_on_sighup(config_path, core.clone(), routes.clone())?;
            Ok::<_, std::io::Error>(crate::edge::closing::ticker::Ticker::start(core.clone()))
        })
        .context("listen for SIGHUP")?;

    let data_dir = config.storage.data_dir.display().to_string();
    let server_conf = ServerConf {
        threads: config.gateway.threads,
        pid_file: format!("{data_dir}/auth-gateway.pid"),
        upgrade_sock: format!("{data_dir}/auth-gateway-upgrade.sock"),
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(5),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, server_conf);
    server.bootstrap();

    let state = AppState {
        core: core.clone(),
        metrics: metrics.clone(),
    };
    let gateway = Gateway {
        api: crate::api::router(state, crate::pages::routes()),
        core,
        routes,
        limits,
        trusted: TrustedProxies::new(&config.rate_limits.trusted_proxies),
        metrics: metrics.clone(),
        max_body_bytes: config.gateway.max_body_bytes,
        public_url: url::Url::parse(&config.gateway.public_url).context("gateway.public_url")?,
        hours: Default::default(),
        ticker,
    };
    let connection_limits = Arc::new(ConnectionLimits::new(
        config.gateway.max_connections_per_address,
        TrustedProxies::new(&config.rate_limits.trusted_proxies),
        metrics.clone(),
    ));
    let listener = Listener::new(
        pingora::proxy::http_proxy(&server.configuration, gateway),
        connection_limits,
        metrics.clone(),
        Duration::from_secs(config.gateway.request_head_timeout_secs),
        Duration::from_secs(config.gateway.keepalive_idle_secs),
    );
    let mut proxy = Service::new("auth-gateway".to_string(), listener);
    proxy.add_tcp(&config.gateway.listen);
    if let Some(tls) = &config.gateway.tls {
        proxy
            .add_tls(
                &tls.listen,
                &tls.cert.display().to_string(),
                &tls.key.display().to_string(),
            )
            .context("start the TLS listener")?;
    }
    server.add_service(proxy);

    announce(&config);
    // The core runtime must outlive the server, which never returns.
    let _runtime = runtime;
    server.run_forever()
}

fn announce(config: &Config) {
    let port = config
        .gateway
        .listen
        .rsplit_once(':')
        .map_or("8080", |(_, p)| p);
    tracing::info!(listen = %config.gateway.listen, "auth-gateway listening");
    println!("auth-gateway listening on http://{}", config.gateway.listen);
    println!("  health:   http://{}/health", config.gateway.listen);
    for service in &config.services {
        if let Some(host) = service.hosts.first() {
            println!(
                "  {:<9} http://{host}:{port}/",
                format!("{}:", service.name)
            );
        }
        if let Some(prefix) = service
            .path_prefix
            .as_ref()
            .filter(|_| service.share_gateway_origin)
        {
            println!(
                "  {:<9} http://{}{prefix}/",
                format!("{}:", service.name),
                config.gateway.listen
            );
        }
    }
}

/// The upstream TLS settings of the configured services, read and checked once at start.
#[cfg(test)]
mod tests {
    use crate::web::policy;

    // Here rather than beside the table: the table sits below the API and the pages, which it
    // must not name; the server is where all three meet.
    #[test]
    fn every_route_served_has_an_entry_and_every_entry_is_served() {
        let mut served: Vec<(String, String)> = crate::api::served_routes()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p))
            .chain(
                crate::pages::served_routes()
                    .into_iter()
                    .map(|(m, p)| (m.to_string(), p.to_string())),
            )
            .collect();
        served.sort();
        served.dedup();
        for (method, path) in &served {
            let method: http::Method = method.parse().unwrap();
            assert!(
                policy::by_pattern(&method, path).is_some(),
                "{method} {path} is served but has no entry in the route policy table"
            );
        }
        for rule in policy::ROUTES {
            assert!(
                served
                    .iter()
                    .any(|(m, p)| m == rule.method && p == rule.path),
                "{} {} is in the table but not served",
                rule.method,
                rule.path
            );
        }
        for path in crate::edge::handoff::SERVED {
            assert!(
                policy::SERVICE_HOST_ROUTES
                    .iter()
                    .any(|r| r.path == path.1 && r.method == path.0),
                "{} {} on service hosts has no entry",
                path.0,
                path.1
            );
        }
    }
}
