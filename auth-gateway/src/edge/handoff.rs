//! The paths the gateway answers itself on a service's host (or under its prefix), so a browser
//! session is scoped to that service alone and bound to the browser that logged in:
//!
//! - before a browser is sent to the login page, a login-state cookie is set on the service's
//!   host, and only its hash travels in the login URL (`/_auth/start` does the same for a login
//!   page opened without one);
//! - `/_auth/callback` swaps the login page's one-time code for the session cookie, only in the
//!   browser holding that login-state cookie;
//! - `/_auth/logout` ends the session and clears it;
//! - `/_auth/status`, `/_auth/events` and `/_auth/banner.js` keep the closing banner live
//!   (`closing::events`).
//!
//! Nothing under `/_auth/` ever reaches the service.

use auth_core::secret::{hash_token, random_token};
use auth_core::services::safe_return_url;
use auth_core::{Error, RequestContext};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::routing::ServiceRoute;
use super::{Gateway, RequestCtx, authn, query_suffix, respond};
use crate::web::cookies::{Jar, Owned};
use crate::web::credential;
use crate::web::refusal::Refusal;

/// The reserved path prefix.
pub const RESERVED: &str = "/_auth/";

/// What the gateway serves under [`RESERVED`]: method and path.
pub const SERVED: &[(&str, &str)] = &[
    ("GET", "/_auth/start"),
    ("GET", "/_auth/callback"),
    ("POST", "/_auth/logout"),
    ("GET", "/_auth/status"),
    ("GET", "/_auth/events"),
    ("GET", "/_auth/banner.js"),
];

/// How long a browser may take from being sent to log in to coming back with its code.
const LOGIN_STATE_SECS: i64 = 30 * 60;

/// A login-state value as the gateway makes them (256 bits, base64url).
fn well_formed_state(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The request's query parameter `name`.
fn query_param(session: &Session, name: &str) -> Option<String> {
    session.req_header().uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

async fn redirect_with_cookies(
    session: &mut Session,
    status: u16,
    location: &str,
    cookies: &[String],
    marks: respond::Marks<'_>,
) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(status, Some(5 + cookies.len()))?;
    header.insert_header(http::header::LOCATION, location)?;
    for cookie in cookies {
        header.append_header(http::header::SET_COOKIE, cookie)?;
    }
    header.insert_header(http::header::CONTENT_LENGTH, "0")?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    marks.apply(&mut header)?;
    session.write_response_header(Box::new(header), true).await
}

/// The cookie jar of a service reached under `base` ("" on its own host).
pub fn jar_for<'a>(tls: bool, slug: &'a str, base: &str) -> Jar<'a> {
    Jar {
        tls,
        shared_host_service: (!base.is_empty()).then_some(slug),
    }
}

impl Gateway {
    /// Sends a browser to the login page for `route`, to come back to `return_to`, with the
    /// login-state cookie that binds the hand-off to it (kept when it has one already, so two
    /// tabs logging in at once both succeed).
    pub(super) async fn send_to_login(
        &self,
        session: &mut Session,
        ctx: &RequestCtx,
        slug: &str,
        jar: &Jar<'_>,
        return_to: &str,
    ) -> pingora::Result<()> {
        let existing = match jar.read(&session.req_header().headers, Owned::LoginState) {
            Ok(value) => value.filter(|v| well_formed_state(v)),
            Err(_) => None,
        };
        let (state, cookies) = match existing {
            Some(state) => (state, Vec::new()),
            None => {
                let state = random_token("").expose().to_string();
                let cookie = jar.set(Owned::LoginState, &state, LOGIN_STATE_SECS);
                (state, vec![cookie])
            }
        };
        let login = authn::login_url(&self.public_url, slug, return_to, &hash_token(&state));
        redirect_with_cookies(session, 302, &login, &cookies, ctx.marks()).await
    }

    /// Answers a request under [`RESERVED`] for the service of `route`, reached under `base`.
    pub(super) async fn answer_reserved(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        route: &ServiceRoute,
        base: &str,
        path: &str,
    ) -> pingora::Result<bool> {
        let slug = route.service.slug.as_str();
        let jar = jar_for(ctx.tls, slug, base);
        let method = session.req_header().method.clone();
        match (path, method) {
            ("/_auth/start", http::Method::GET) => {
                let gateway = self.public_url.clone();
                let asked = query_param(session, "return_to").unwrap_or_else(|| "/".into());
                let Some(return_to) = safe_return_url(
                    &route.service,
                    &asked,
                    &gateway,
                    self.core.config().gateway.tls.as_ref(),
                ) else {
                    let page = crate::web::page::message_html(
                        "Cannot sign in",
                        "The page asked to return somewhere that does not belong to this service.",
                    );
                    respond::html(session, 400, page, None, ctx.marks()).await?;
                    return Ok(true);
                };
                self.send_to_login(session, ctx, slug, &jar, return_to.as_str())
                    .await?;
            }
            ("/_auth/callback", http::Method::GET) => {
                let headers = &session.req_header().headers;
                let state = match jar.read(headers, Owned::LoginState) {
                    Ok(state) => state,
                    Err(dup) => {
                        let err = Refusal::BadRequest(dup.to_string());
                        return self.refuse(session, ctx, err, "bad_request").await;
                    }
                };
                let code = query_param(session, "code").unwrap_or_default();
                let redeemed = self
                    .core
                    .qr_login()
                    .redeem_handoff(&code, slug, state.as_deref())
                    .await;
                match redeemed {
                    Ok(handoff) => {
                        let max_age = i64::try_from(handoff.expires_in).unwrap_or(0);
                        let cookies = [
                            jar.set(Owned::Session, &handoff.session_token, max_age),
                            jar.clear(Owned::LoginState),
                        ];
                        redirect_with_cookies(
                            session,
                            303,
                            &handoff.return_to,
                            &cookies,
                            ctx.marks(),
                        )
                        .await?;
                    }
                    Err(err) => {
                        let text = match err {
                            Error::ForeignBrowser => {
                                "This sign-in link belongs to another browser. Open the service \
                                 again in this one to sign in."
                            }
                            _ => {
                                "This sign-in link is not valid or was already used. Open the \
                                 service again to start over."
                            }
                        };
                        let page = crate::web::page::message_html("Cannot sign in", text);
                        respond::html(session, 400, page, None, ctx.marks()).await?;
                    }
                }
            }
            ("/_auth/logout", http::Method::POST) => {
                if let Ok(Some(token)) =
                    credential::presented(&session.req_header().headers, &jar, Owned::Session)
                    && let Ok(identity) = self
                        .core
                        .credentials()
                        .authenticate_at_service(&token, slug, &RequestContext::default())
                        .await
                    && let Some(id) = identity.session_id
                {
                    let _ = self.core.sessions().end(&id, "logout").await;
                }
                let home = if base.is_empty() {
                    "/".to_string()
                } else {
                    format!("{base}/")
                };
                let cookies = [jar.clear(Owned::Session)];
                redirect_with_cookies(session, 303, &home, &cookies, ctx.marks()).await?;
            }
            _ => {
                let page = crate::web::page::message_html("Not found", "There is no such page.");
                respond::html(session, 404, page, None, ctx.marks()).await?;
            }
        }
        Ok(true)
    }

    /// Where a browser asked to go, as an absolute URL on the host it asked.
    pub(super) fn requested_url(
        &self,
        session: &Session,
        ctx: &RequestCtx,
        base: &str,
        path: &str,
    ) -> String {
        format!(
            "{scheme}://{host}{base}{path}{query}",
            scheme = if ctx.tls { "https" } else { "http" },
            host = ctx.host,
            query = query_suffix(session.req_header()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_gateways_own_states_are_kept() {
        assert!(well_formed_state(random_token("").expose()));
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            "a/bcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        ] {
            assert!(!well_formed_state(bad), "{bad}");
        }
    }

    #[test]
    fn prefix_routed_services_keep_cookies_of_their_own() {
        assert_eq!(jar_for(false, "app-c", "").shared_host_service, None);
        assert_eq!(
            jar_for(true, "app-c", "/app-c").shared_host_service,
            Some("app-c")
        );
    }
}
