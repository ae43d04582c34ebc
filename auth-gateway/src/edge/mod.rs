//! The gateway's request path, wired into Pingora's phases. Each step is its own module; this file
//! only orders them.

pub mod dispatch;
pub mod respond;
pub mod routing;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};

use routing::{Route, RouteTable, host_without_port};

/// The proxy: routes, then either answers from the in-process API or forwards to a service.
pub struct Gateway {
    pub routes: Arc<RouteTable>,
    pub api: Router,
    pub max_body_bytes: usize,
}

/// Per-request state carried between phases.
#[derive(Debug, Default)]
pub struct RequestCtx {
    route: Option<Route>,
}

/// Headers only the gateway may set: a client's copies never reach a service.
fn is_reserved_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("x-auth-")
        || name.starts_with("x-forwarded-")
        || name == "forwarded"
        || name == "x-real-ip"
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::default()
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        let head = session.req_header();
        let host = head
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| head.uri.host())
            .map(host_without_port);
        let route = self.routes.resolve(host, head.uri.path());
        match route {
            Route::Gateway => {
                let peer = session.client_addr().and_then(|a| a.as_inet()).copied();
                dispatch::serve(session, &self.api, self.max_body_bytes, peer).await?;
                Ok(true)
            }
            service => {
                ctx.route = Some(service);
                Ok(false)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        let Some(Route::Service { service, .. }) = &ctx.route else {
            return Err(pingora::Error::new_str("no service route"));
        };
        let backend = service
            .upstreams
            .select(service.slug.as_bytes(), 256)
            .ok_or_else(|| pingora::Error::new_str("no upstream available"))?;
        Ok(Box::new(HttpPeer::new(backend.addr, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        let reserved: Vec<_> = upstream
            .headers
            .keys()
            .filter(|name| is_reserved_header(name.as_str()))
            .cloned()
            .collect();
        for name in reserved {
            upstream.remove_header(&name);
        }
        if let Some(peer) = session.client_addr().and_then(|a| a.as_inet()) {
            upstream.insert_header("x-forwarded-for", peer.ip().to_string())?;
        }
        if let Some(Route::Service {
            service,
            forwarded_path,
            via_prefix,
        }) = &ctx.route
            && *via_prefix
        {
            let target = match upstream.uri.query() {
                Some(query) => format!("{forwarded_path}?{query}"),
                None => forwarded_path.clone(),
            };
            let uri = target
                .parse::<http::Uri>()
                .map_err(|_| pingora::Error::new_str("bad forwarded path"))?;
            upstream.set_uri(uri);
            if let Some(prefix) = &service.path_prefix {
                upstream.insert_header("x-forwarded-prefix", prefix.as_str())?;
            }
        }
        Ok(())
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        _ctx: &mut RequestCtx,
    ) -> pingora::proxy::FailToProxy {
        let (status, err) = respond::proxy_failure(e);
        if let Some(err) = err
            && session.response_written().is_none()
            && let Err(write_err) = respond::error(session, &err, status).await
        {
            tracing::debug!(%write_err, "could not send the error response");
        }
        pingora::proxy::FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }
}
