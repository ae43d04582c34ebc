//! The two paths the gateway answers itself on a service's host (or under its prefix), so a browser
//! session is scoped to that service alone: `/_auth/callback` swaps the login page's one-time code
//! for the session cookie, and `/_auth/logout` ends the session and clears it. Nothing under
//! `/_auth/` ever reaches the service.

use auth_core::{AuthCore, RequestContext};
use cookie::{Cookie, SameSite};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::authn::{self, SESSION_COOKIE};
use super::respond;

/// The reserved path prefix.
pub const RESERVED: &str = "/_auth/";

fn session_cookie(value: &str, base: &str, max_age: i64, secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, value.to_string()))
        .path(if base.is_empty() { "/" } else { base })
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}

async fn redirect_with_cookie(
    session: &mut Session,
    location: &str,
    cookie: &str,
    closing_in: Option<i64>,
) -> pingora::Result<()> {
    let mut header = ResponseHeader::build(303, Some(6))?;
    header.insert_header(http::header::LOCATION, location)?;
    header.insert_header(http::header::SET_COOKIE, cookie)?;
    header.insert_header(http::header::CONTENT_LENGTH, "0")?;
    header.insert_header(http::header::CACHE_CONTROL, "no-store")?;
    if let Some(seconds) = closing_in {
        header.insert_header(respond::CLOSING_IN, seconds.to_string())?;
    }
    session.write_response_header(Box::new(header), true).await
}

/// Answers a request under [`RESERVED`] for `service`, reached under `base` ("" or its prefix).
pub async fn answer(
    core: &AuthCore,
    session: &mut Session,
    service: &str,
    base: &str,
    path: &str,
    tls: bool,
    closing_in: Option<i64>,
) -> pingora::Result<()> {
    let method = session.req_header().method.clone();
    match (path, method) {
        ("/_auth/callback", http::Method::GET) => {
            let code = session
                .req_header()
                .uri
                .query()
                .and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == "code")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            match core.qr_login().redeem_handoff(&code, service).await {
                Ok(handoff) => {
                    let cookie = session_cookie(
                        &handoff.session_token,
                        base,
                        handoff.expires_in as i64,
                        tls,
                    );
                    redirect_with_cookie(session, &handoff.return_to, &cookie, closing_in).await
                }
                Err(_) => {
                    let page = crate::pages::message_html(
                        "Cannot sign in",
                        "This sign-in link is not valid or was already used. Open the service again to start over.",
                    );
                    respond::html(session, 400, page, None, closing_in).await
                }
            }
        }
        ("/_auth/logout", http::Method::POST) => {
            if let Some(token) = authn::credential(&session.req_header().headers)
                && let Ok(identity) = core
                    .credentials()
                    .authenticate_at_service(&token, service, &RequestContext::default())
                    .await
                && let Some(id) = identity.session_id
            {
                let _ = core.sessions().revoke(&id).await;
            }
            let home = if base.is_empty() {
                "/".to_string()
            } else {
                format!("{base}/")
            };
            redirect_with_cookie(
                session,
                &home,
                &session_cookie("", base, 0, tls),
                closing_in,
            )
            .await
        }
        _ => {
            let page = crate::pages::message_html("Not found", "There is no such page.");
            respond::html(session, 404, page, None, closing_in).await
        }
    }
}
