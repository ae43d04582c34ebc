//! A bare Pingora passthrough proxy: every request goes, unchanged, to one upstream. It is the
//! baseline `bench/gateway.sh` measures the gateway against, so it is built the way the gateway
//! builds its server (same Pingora, same server settings, same kind of upstream peer) and does
//! nothing else: no routing, no hours, no limits, no authentication, no access log.
//!
//! ```sh
//! bare-proxy --listen 127.0.0.1:8090 --upstream 127.0.0.1:8081 --threads 2
//! ```

use async_trait::async_trait;
use clap::Parser;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::Server;
use pingora::server::configuration::ServerConf;

#[derive(Debug, Parser)]
#[command(name = "bare-proxy", about = "Forward every request to one upstream")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BARE_PROXY_LISTEN", default_value = "127.0.0.1:8090")]
    listen: String,
    /// Address every request is forwarded to.
    #[arg(long, env = "BARE_PROXY_UPSTREAM", default_value = "127.0.0.1:8081")]
    upstream: String,
    /// Proxy worker threads, like the gateway's `gateway.threads`.
    #[arg(long, env = "BARE_PROXY_THREADS", default_value_t = 2)]
    threads: usize,
}

/// The proxy: only the upstream's address.
struct Passthrough {
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Passthrough {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut (),
    ) -> pingora::Result<Box<HttpPeer>> {
        // Plain HTTP, no SNI: the same peer the gateway builds for a service's upstream.
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }
}

fn main() {
    let args = Args::parse();
    // The gateway's server settings, so that only what the gateway does per request differs. The
    // pid file and upgrade socket are only used when daemonising or upgrading; keep them apart
    // from any other Pingora server on the machine anyway.
    let tmp = std::env::temp_dir().display().to_string();
    let pid = std::process::id();
    let conf = ServerConf {
        threads: args.threads,
        pid_file: format!("{tmp}/bare-proxy-{pid}.pid"),
        upgrade_sock: format!("{tmp}/bare-proxy-{pid}-upgrade.sock"),
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(5),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut proxy = pingora::proxy::http_proxy_service(
        &server.configuration,
        Passthrough {
            upstream: args.upstream.clone(),
        },
    );
    proxy.add_tcp(&args.listen);
    server.add_service(proxy);

    println!(
        "bare-proxy listening on http://{} -> {}",
        args.listen, args.upstream
    );
    server.run_forever()
}
