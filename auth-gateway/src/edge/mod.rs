//! The gateway's request path, wired into Pingora's phases. For each request, in order:
//! hygiene (framing, canonical path) → route by host and path → operating hours → rate limits →
//! authenticate → identity headers → proxy. Each step is its own module; this file only orders
//! them and carries what one phase learns to the next. After routing, `gateway_routes` answers the
//! gateway's own API and pages and `service` decides whether a request may reach a service.

pub mod access_log;
pub mod authn;
pub mod client_ip;
pub mod closing;
pub mod connections;
pub mod dispatch;
mod gateway_routes;
pub mod handoff;
pub mod hours;
pub mod hygiene;
pub mod identity;
pub mod limits;
pub mod listener;
pub mod request_id;
pub mod respond;
pub mod routing;
mod service;
mod upstream;
pub mod upstream_tls;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use auth_core::credentials::EdgeIdentity;
use auth_core::{AuthCore, Error};
use axum::Router;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::lb::Backend;
use pingora::prelude::HttpPeer;
use pingora::proxy::{ProxyHttp, Session};
use url::Url;

use crate::web::metrics::Metrics;
use crate::web::refusal::Refusal;
use client_ip::TrustedProxies;
use limits::Limits;
use routing::{Route, Routes};

/// The proxy and everything its phases consult.
pub struct Gateway {
    pub core: AuthCore,
    pub routes: Arc<Routes>,
    pub api: Router,
    pub limits: Arc<Limits>,
    pub trusted: TrustedProxies,
    pub metrics: Arc<Metrics>,
    pub max_body_bytes: usize,
    pub public_url: Url,
    pub hours: hours::HoursCache,
    /// The one timer of the closing warning, which `/_auth/events` streams listen to.
    pub ticker: closing::ticker::Ticker,
}

/// What one phase learns for the next.
#[derive(Default)]
pub struct RequestCtx {
    started: Option<Instant>,
    client_ip: Option<IpAddr>,
    tls: bool,
    host: String,
    /// Seconds to closing, inside the warning window.
    closing_in: Option<i64>,
    /// The service slug, or "gateway", for metrics.
    label: &'static str,
    service: Option<String>,
    route: Option<Route>,
    upstream: Option<Backend>,
    identity: Option<EdgeIdentity>,
    refusal: Option<&'static str>,
    /// For a service: where the system stands through the service's warning window.
    standing: Option<closing::Standing>,
    /// For a service whose pages get the banner: the warning that applies.
    warning: Option<closing::Warning>,
    /// The banner going into this answer's body.
    banner: Option<closing::banner::Inserter>,
    /// Passed to the service as `X-Request-Id` and logged.
    request_id: String,
    /// The span of this request: the core's log lines about it carry its id.
    span: Option<tracing::Span>,
}

impl RequestCtx {
    /// What the edge's own answer to this request carries.
    fn marks(&self) -> respond::Marks<'_> {
        respond::Marks {
            closing_in: self.closing_in,
            request_id: &self.request_id,
        }
    }
}

impl Gateway {
    /// Refuses the request: JSON for API clients, a page for browsers when there is one.
    async fn refuse(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        err: impl Into<Refusal>,
        reason: &'static str,
    ) -> pingora::Result<bool> {
        let err = err.into();
        ctx.refusal = Some(reason);
        self.metrics.refusal(reason);
        if let Refusal::Core(Error::SystemClosed {
            opens_at,
            retry_after_secs,
        }) = &err
            && authn::wants_html(&session.req_header().headers)
        {
            let page = crate::web::page::closed(*opens_at, &self.core.schedule().current());
            respond::html(session, 503, page, Some(*retry_after_secs), ctx.marks()).await?;
            return Ok(true);
        }
        if matches!(err, Refusal::BadRequest(_)) {
            // Whatever framing confused us must not leave a second request on the connection.
            session.set_keepalive(None);
        }
        respond::refusal(session, &err, ctx.marks()).await?;
        Ok(true)
    }

    /// The refusal while closed: when it opens, from the schedule (or, at the very edge of an
    /// opening, that `what` is unavailable).
    fn closed_refusal(&self, what: &'static str) -> Error {
        self.core
            .schedule()
            .current()
            .require_open(self.core.clock().now())
            .err()
            .unwrap_or(Error::Unavailable(what))
    }
}

impl Gateway {
    /// Removes every `Set-Cookie` of a service's answer that would set one of the gateway's own
    /// cookies (in any case or prefix): a service cannot plant a session for another service or
    /// an access token for the phone page.
    fn drop_planted_cookies(
        &self,
        response: &mut ResponseHeader,
        ctx: &RequestCtx,
    ) -> pingora::Result<()> {
        let set_cookie = http::header::SET_COOKIE;
        let planted = response.headers.get_all(&set_cookie).iter().any(|v| {
            crate::web::cookies::is_owned_bytes(crate::web::cookies::set_cookie_name(v.as_bytes()))
        });
        if !planted {
            return Ok(());
        }
        let kept: Vec<http::HeaderValue> = response
            .headers
            .get_all(&set_cookie)
            .iter()
            .filter(|v| {
                !crate::web::cookies::is_owned_bytes(crate::web::cookies::set_cookie_name(
                    v.as_bytes(),
                ))
            })
            .cloned()
            .collect();
        let service = ctx.service.as_deref().unwrap_or("");
        let dropped = response.headers.get_all(&set_cookie).iter().count() - kept.len();
        for _ in 0..dropped {
            self.metrics.planted_cookie(service);
        }
        tracing::warn!(
            service,
            dropped,
            "dropped gateway cookies a service tried to set"
        );
        response.remove_header(&set_cookie);
        for value in kept {
            response.append_header(set_cookie.clone(), value)?;
        }
        Ok(())
    }
}

/// `?query` of the request, or nothing.
fn query_suffix(head: &RequestHeader) -> String {
    head.uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default()
}

impl Gateway {
    /// The steps of the request path, in order, inside the request's span.
    async fn filter_request(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        // Pingora keeps Transfer-Encoding when a head has both framings (and drops
        // Content-Length), so only a head that still has it needs its raw bytes read again.
        let chunked = session
            .req_header()
            .headers
            .contains_key(http::header::TRANSFER_ENCODING);
        let raw_conflict = match session.as_downstream() {
            pingora::protocols::http::ServerSession::H1(h1) if chunked => {
                hygiene::raw_head_has_both_lengths(&h1.get_headers_raw_bytes())
            }
            _ => false,
        };
        let framing = if raw_conflict {
            Err("Content-Length and Transfer-Encoding together")
        } else {
            hygiene::check_framing(&session.req_header().headers)
        };
        if let Err(why) = framing {
            return self
                .refuse(session, ctx, Refusal::BadRequest(why.into()), "bad_request")
                .await;
        }
        let head = session.req_header();
        let path = match hygiene::canonical_path(head.uri.path()) {
            Ok(path) => path,
            Err(why) => {
                return self
                    .refuse(session, ctx, Refusal::BadRequest(why.into()), "bad_request")
                    .await;
            }
        };
        let host = match hygiene::request_host(&head.headers, &head.uri) {
            Ok(host) => host,
            Err(why) => {
                return self
                    .refuse(session, ctx, Refusal::BadRequest(why.into()), "bad_request")
                    .await;
            }
        };
        ctx.host = host.as_str().to_owned();
        let hours = self.hours.status(&self.core);
        ctx.closing_in = if hours.warning {
            hours.seconds_until_close
        } else {
            None
        };

        match self.routes.current().resolve(host.name(), &path) {
            Route::UnknownHost(host) => {
                self.refuse(session, ctx, Refusal::UnknownHost(host), "unknown_host")
                    .await
            }
            Route::Gateway => self.serve_gateway(session, ctx, &path, &hours).await,
            route => self.serve_service(session, ctx, route, &hours).await,
        }
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            label: "gateway",
            ..RequestCtx::default()
        }
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.started = Some(Instant::now());
        ctx.tls = session.digest().is_some_and(|d| d.ssl_digest.is_some());
        let head = session.req_header();
        let peer = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        if let Some(peer) = peer {
            let forwarded = head
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            ctx.client_ip = Some(self.trusted.client_ip(peer, forwarded));
        }
        let from_proxy = peer.is_some_and(|peer| self.trusted.trusts(peer));
        ctx.request_id = request_id::for_request(&head.headers, from_proxy);
        let span = tracing::info_span!("request", request_id = %ctx.request_id);
        ctx.span = Some(span.clone());
        tracing::Instrument::instrument(self.filter_request(session, ctx), span).await
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        self.peer_for(ctx)
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        let mut headers = self.decorate_upstream(upstream, ctx)?;
        headers.insert(
            request_id::HEADER_NAME,
            identity::header_value(&ctx.request_id),
        );
        if let Some(standing) = &ctx.standing {
            closing::decorate::request_headers(&mut headers, standing);
        }
        let page = ctx.warning.is_some_and(|w| w.banner) && authn::wants_html(&headers);
        if page {
            // A page gets the banner only uncompressed: ask the service for that, and undo
            // gzip or brotli when it compresses anyway.
            headers.remove(http::header::ACCEPT_ENCODING);
        }
        identity::replace_headers(upstream, headers);
        if page && session.upstream_compression.is_header_phase() {
            session.upstream_compression.adjust_decompression(true);
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<()> {
        if let Some(seconds) = ctx.closing_in {
            response.insert_header(respond::CLOSING_IN, seconds.to_string())?;
        }
        if ctx.tls {
            respond::strict_transport(response)?;
        }
        response.insert_header(request_id::HEADER, ctx.request_id.as_str())?;
        self.drop_planted_cookies(response, ctx)?;
        self.prepare_banner(session, response, ctx)
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<Option<std::time::Duration>> {
        if let Some(banner) = ctx.banner.as_mut() {
            *body = banner.feed(body.take(), end_of_stream);
        }
        Ok(None)
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut RequestCtx,
    ) -> pingora::proxy::FailToProxy {
        let (status, err) = respond::proxy_failure(e);
        if let Some(err) = err
            && session.response_written().is_none()
            && let Err(write_err) = respond::error(session, &err, status, ctx.marks()).await
        {
            tracing::debug!(%write_err, "could not send the error response");
        }
        pingora::proxy::FailToProxy {
            error_code: status,
            can_reuse_downstream: false,
        }
    }

    async fn logging(
        &self,
        session: &mut Session,
        _e: Option<&pingora::Error>,
        ctx: &mut RequestCtx,
    ) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let elapsed = ctx.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let service = ctx.service.as_deref().unwrap_or(ctx.label);
        self.metrics.request(service, status, elapsed);
        let head = session.req_header();
        access_log::AccessLine {
            method: head.method.as_str(),
            path: head.uri.path(),
            host: &ctx.host,
            service,
            status,
            client_ip: ctx.client_ip,
            user_id: ctx.identity.as_ref().map(|i| i.user_id),
            refusal: ctx.refusal,
            request_id: &ctx.request_id,
            duration_ms: (elapsed * 1000.0).round() as u64,
        }
        .log();
    }
}
