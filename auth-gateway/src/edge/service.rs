//! Requests for a service behind the gateway: the service must be enabled and the hours open;
//! then the address's budget, the credential, the session's budget and a healthy upstream decide.
//! What passes is proxied by the phases in `mod.rs`, with the identity found here.

use auth_core::credentials::EdgeIdentity;
use auth_core::schedule::ScheduleStatus;
use auth_core::{Error, RequestContext};
use pingora::proxy::Session;

use super::closing::Warning;
use super::handoff::{self, jar_for};
use super::routing::Route;
use super::{Gateway, RequestCtx, authn};
use crate::web::cookies::Owned;
use crate::web::credential;
use crate::web::policy;
use crate::web::refusal::Refusal;

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
        let schedule_window = self.core.schedule().current().warning_minutes;
        let warning = Warning::of(self.core.config(), &service_route.service, schedule_window);
        let standing = warning.view(hours);
        ctx.closing_in = standing.closing_in();
        ctx.standing = Some(standing);
        if !service_route.service.enabled {
            let err = Refusal::ServiceDisabled(slug.clone());
            return self.refuse(session, ctx, err, "service_disabled").await;
        }
        if forwarded_path.starts_with(handoff::RESERVED) {
            let method = session.req_header().method.clone();
            let rule = policy::service_host_route(&method, forwarded_path);
            if let Some(rule) = rule {
                if !hours.open && rule.closes {
                    let err = self.closed_refusal("logins");
                    return self.refuse(session, ctx, err, "closed").await;
                }
                if let Err(err) = self.limits.check(rule.budget, ctx.client_ip, None).await {
                    return self.refuse(session, ctx, err, "rate_limited").await;
                }
            }
            if session.req_header().method == http::Method::GET
                && self
                    .answer_closing(session, ctx, warning, forwarded_path)
                    .await?
            {
                return Ok(true);
            }
            return self
                .answer_reserved(session, ctx, service_route, base, forwarded_path)
                .await;
        }
        if !hours.open {
            let err = self.closed_refusal("the service");
            return self.refuse(session, ctx, err, "closed").await;
        }
        // The address's budget first, so a flood without credentials costs no signature checks.
        if let Some(ip) = ctx.client_ip
            && let Err(err) = self.limits.check_service_ip(ip).await
        {
            return self.refuse(session, ctx, err, "rate_limited").await;
        }
        let jar = jar_for(ctx.tls, slug, base);
        let identity = match self.identify(session, ctx, slug, &jar).await {
            Ok(identity) => identity,
            Err(err @ Refusal::BadRequest(_)) => {
                return self.refuse(session, ctx, err, "bad_request").await;
            }
            Err(err @ Refusal::Core(Error::Unavailable(_) | Error::Internal(_))) => {
                return self.refuse(session, ctx, err, "unavailable").await;
            }
            Err(_) if wants_login_page(session) => {
                ctx.refusal = Some("unauthenticated");
                self.metrics.refusal("unauthenticated");
                let here = self.requested_url(session, ctx, base, forwarded_path);
                self.send_to_login(session, ctx, slug, &jar, &here).await?;
                return Ok(true);
            }
            Err(err) => {
                // Say whether the credential was missing, expired or not good, and no more.
                let err = match err {
                    Refusal::Core(err @ (Error::ExpiredToken | Error::Unauthenticated)) => err,
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
            let err = Refusal::NoHealthyUpstream(slug.clone());
            return self.refuse(session, ctx, err, "no_upstream").await;
        };
        ctx.identity = Some(identity);
        ctx.warning = Some(warning);
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
        jar: &crate::web::cookies::Jar<'_>,
    ) -> Result<EdgeIdentity, Refusal> {
        let headers = &session.req_header().headers;
        let token = credential::presented(headers, jar, Owned::Session)
            .map_err(|dup| Refusal::BadRequest(dup.to_string()))?
            .ok_or(Error::Unauthenticated)?;
        let client = RequestContext {
            client_ip: ctx.client_ip,
            user_agent: headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        Ok(self
            .core
            .credentials()
            .authenticate_at_service(&token, slug, &client)
            .await?)
    }
}

/// A browser navigating to a page is sent to the login page; anything else gets a 401.
fn wants_login_page(session: &Session) -> bool {
    let head = session.req_header();
    head.method == http::Method::GET && authn::wants_html(&head.headers)
}
