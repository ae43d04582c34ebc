//! Requests for a service behind the gateway: the service must be enabled and the hours open;
//! then the address's budget, the credential, the session's budget and a healthy upstream decide.
//! What passes is proxied by the phases in `mod.rs`, with the identity found here.

use auth_core::credentials::EdgeIdentity;
use auth_core::schedule::ScheduleStatus;
use auth_core::{Error, RequestContext};
use pingora::proxy::Session;

use super::routing::Route;
use super::{Gateway, RequestCtx, authn, handoff, header_host, query_suffix, respond};

impl Gateway {
    pub(super) async fn serve_service(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        route: Route,
        hours: &ScheduleStatus,
    ) -> pingora::Result<bool> {
        let Route::Service {
            route: service_route,
            forwarded_path,
            base,
        } = &route
        else {
            return Ok(false);
        };
        let slug = &service_route.service.slug;
        ctx.label = "service";
        ctx.service = Some(slug.clone());
        if !service_route.service.enabled {
            let err = Error::ServiceDisabled(slug.clone());
            return self.refuse(session, ctx, err, "service_disabled").await;
        }
        if !hours.open {
            let err = self.closed("the service");
            return self.refuse(session, ctx, err, "closed").await;
        }
        if forwarded_path.starts_with(handoff::RESERVED) {
            handoff::answer(
                &self.core,
                session,
                slug,
                base,
                forwarded_path,
                ctx.tls,
                ctx.closing_in,
            )
            .await?;
            return Ok(true);
        }
        // The address's budget first, so a flood without credentials costs no signature checks.
        if let Some(ip) = ctx.client_ip
            && let Err(err) = self.limits.check_service_ip(ip).await
        {
            return self.refuse(session, ctx, err, "rate_limited").await;
        }
        let identity = match self.identify(session, ctx, slug).await {
            Ok(identity) => identity,
            Err(err @ (Error::Unavailable(_) | Error::Internal(_))) => {
                return self.refuse(session, ctx, err, "unavailable").await;
            }
            Err(_) if wants_login_page(session) => {
                ctx.refusal = Some("unauthenticated");
                self.metrics.refusal("unauthenticated");
                let here = format!(
                    "{scheme}://{host}{base}{forwarded_path}{query}",
                    scheme = if ctx.tls { "https" } else { "http" },
                    host = header_host(session.req_header()),
                    query = query_suffix(session.req_header()),
                );
                let login = authn::login_url(&self.public_url, slug, &here);
                respond::redirect(session, &login, ctx.closing_in).await?;
                return Ok(true);
            }
            Err(err) => {
                // Say whether the credential was missing, expired or not good, and no more.
                let err = match err {
                    Error::ExpiredToken | Error::Unauthenticated => err,
                    _ => Error::InvalidToken,
                };
                return self.refuse(session, ctx, err, "unauthenticated").await;
            }
        };
        let budget = identity
            .session_id
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("user:{}", identity.user_id));
        if let Err(err) = self.limits.check_session(&budget).await {
            return self.refuse(session, ctx, err, "rate_limited").await;
        }
        let Some(upstream) = service_route.pick_upstream() else {
            let err = Error::NoHealthyUpstream(slug.clone());
            return self.refuse(session, ctx, err, "no_upstream").await;
        };
        ctx.identity = Some(identity);
        ctx.upstream = Some(upstream);
        ctx.route = Some(route);
        Ok(false)
    }

    /// The person behind the request's session cookie or bearer credential, at service `slug`.
    async fn identify(
        &self,
        session: &Session,
        ctx: &RequestCtx,
        slug: &str,
    ) -> Result<EdgeIdentity, Error> {
        let headers = &session.req_header().headers;
        let token = authn::credential(headers).ok_or(Error::Unauthenticated)?;
        let client = RequestContext {
            client_ip: ctx.client_ip,
            user_agent: headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        self.core
            .credentials()
            .authenticate_at_service(&token, slug, &client)
            .await
    }
}

/// A browser navigating to a page is sent to the login page; anything else gets a 401.
fn wants_login_page(session: &Session) -> bool {
    let head = session.req_header();
    head.method == http::Method::GET && authn::wants_html(&head.headers)
}
