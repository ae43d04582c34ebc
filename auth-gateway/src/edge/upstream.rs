//! The request as it leaves for a service: which peer it goes to, and how its head is
//! rewritten (the service's own path, the identity headers).

use http::HeaderMap;
use pingora::http::RequestHeader;
use pingora::prelude::HttpPeer;

use super::routing::Route;
use super::{Gateway, RequestCtx, identity};

impl Gateway {
    /// The upstream chosen for this request, as a peer to connect to.
    pub(super) fn peer_for(&self, ctx: &RequestCtx) -> pingora::Result<Box<HttpPeer>> {
        let backend = ctx
            .upstream
            .as_ref()
            .ok_or_else(|| pingora::Error::new_str("no upstream chosen"))?;
        if let Some(Route::Service { route, .. }) = &ctx.route
            && let Some(tls) = &route.tls
        {
            return Ok(Box::new(tls.peer(backend.addr.clone())));
        }
        Ok(Box::new(HttpPeer::new(
            backend.addr.clone(),
            false,
            String::new(),
        )))
    }

    /// Points the request at the service's path; returns the headers it is to carry (the
    /// client's that may go, the forwarding and identity headers), for the caller to complete.
    pub(super) fn decorate_upstream(
        &self,
        upstream: &mut RequestHeader,
        ctx: &RequestCtx,
    ) -> pingora::Result<HeaderMap> {
        let Some(Route::Service {
            route,
            forwarded_path,
            base,
        }) = &ctx.route
        else {
            return Err(pingora::Error::new_str("no service route"));
        };
        let target = match upstream.uri.query() {
            Some(query) => format!("{forwarded_path}?{query}"),
            None => forwarded_path.clone(),
        };
        let uri = target
            .parse::<http::Uri>()
            .map_err(|_| pingora::Error::new_str("bad forwarded path"))?;
        upstream.set_uri(uri);
        let assertion = match &ctx.identity {
            Some(identity) => Some(
                self.core
                    .credentials()
                    .assertion(identity, &route.service.slug)
                    .map_err(|_| pingora::Error::new_str("cannot sign the assertion"))?,
            ),
            None => None,
        };
        let forwarding = identity::Forwarding {
            client_ip: ctx.client_ip,
            host: &ctx.host,
            tls: ctx.tls,
            prefix: base,
        };
        let identity = ctx.identity.as_ref().zip(assertion.as_deref());
        Ok(identity::forwarded_headers(
            &upstream.headers,
            &forwarding,
            identity,
        ))
    }
}
