//! `/login`: the page a browser is sent to for a service. It shows a QR code bound to this browser
//! (an HttpOnly nonce cookie; a reload shows the same code while it waits), follows the code's
//! state, takes the PIN, and on the right one sends the browser to the service's own host with a
//! one-time code, where the session cookie is set. The code is bound to the browser that was sent
//! here: the login URL carries the hash of a login-state cookie the edge set on the service's host
//! (a login page opened without one is first sent there to get it).

use askama::Template;
use auth_core::Error;
use auth_core::qr_login::Handoff;
use auth_core::services::{Service, safe_return_url, service_base};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use url::Url;

use super::{closing_in, posted_here, public_url};
use crate::web::cookies::{Jar, Owned};
use crate::web::envelope::{ApiResult, Data};
use crate::web::extract::{Client, PageQuery, QueryParams, Secure};
use crate::web::page::{allow_form_target, closed, message, render};
use crate::web::state::AppState;

/// How long the login nonce cookie lives: longer than a code and its PIN.
const NONCE_SECS: i64 = 15 * 60;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    service: String,
    service_name: String,
    return_to: String,
    return_to_encoded: String,
    state: String,
    qr_token: String,
    qr_svg: String,
    scan_url: String,
    expires_at_ms: i64,
    expires_in_text: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    service: String,
    return_to: Option<String>,
    /// The hash of the login-state cookie on the service's host.
    state: Option<String>,
}

/// A login state's hash as the edge makes them (SHA-256, hex).
fn well_formed_state(state: &str) -> bool {
    state.len() == 64
        && state
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The enabled service `slug` and where to return, or the page that says why not.
async fn service_and_return(
    state: &AppState,
    slug: &str,
    return_to: Option<&str>,
) -> Result<(Service, Url), Response> {
    let service = match state.core.services().get(slug).await {
        Ok(service) if service.enabled => service,
        _ => {
            return Err(message(
                StatusCode::NOT_FOUND,
                "Unknown service",
                "There is no such service to sign in to.",
                None,
            ));
        }
    };
    let gateway = public_url(state);
    let tls = state.core.config().gateway.tls.as_ref();
    let target = match return_to {
        Some(raw) => safe_return_url(&service, raw, &gateway, tls),
        None => service_base(&service, &gateway),
    };
    match target {
        Some(url) => Ok((service, url)),
        None => Err(message(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "The page asked to return somewhere that does not belong to this service.",
            None,
        )),
    }
}

/// Where the browser goes with its one-time code: the service's own host (the one it came from),
/// or the service's prefix on the gateway.
pub fn callback_url(service: &Service, return_to: &Url, gateway: &Url, code: &str) -> String {
    let prefix =
        if callback_origin(service, return_to, gateway) == gateway.origin().ascii_serialization() {
            service.path_prefix.as_deref().unwrap_or("")
        } else {
            ""
        };
    format!(
        "{}{prefix}/_auth/callback?code={code}",
        callback_origin(service, return_to, gateway)
    )
}

/// Where a browser that came without a login state gets one: `/_auth/start` on the service's
/// host it is returning to (or under its prefix on the gateway), which comes back here.
fn start_url(service: &Service, return_to: &Url, gateway: &Url) -> String {
    let origin = callback_origin(service, return_to, gateway);
    let prefix = if origin == gateway.origin().ascii_serialization() {
        service.path_prefix.as_deref().unwrap_or("")
    } else {
        ""
    };
    format!(
        "{origin}{prefix}/_auth/start?return_to={}",
        urlencode(return_to.as_str())
    )
}

/// The origin the browser is sent to after the PIN: the service host it came from, or the gateway.
fn callback_origin(service: &Service, return_to: &Url, gateway: &Url) -> String {
    let host = return_to.host_str().unwrap_or_default();
    if service.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return_to.origin().ascii_serialization()
    } else {
        gateway.origin().ascii_serialization()
    }
}

fn nonce_cookie(nonce: &str, secure: bool) -> HeaderValue {
    let cookie = Jar::new(secure).set(Owned::LoginNonce, nonce, NONCE_SECS);
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

struct Shown {
    token: String,
    svg: String,
    scan_url: String,
    expires_at_ms: i64,
}

fn login_page(
    state: &AppState,
    service: &Service,
    return_to: &Url,
    login_state: &str,
    shown: Shown,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let seconds = ((shown.expires_at_ms - state.core.clock().now().as_millisecond()) / 1000).max(0);
    let target = callback_origin(service, return_to, &public_url(state));
    let mut response = render(
        &LoginPage {
            service: service.slug.clone(),
            service_name: service.name.clone(),
            return_to: return_to.to_string(),
            return_to_encoded: urlencode(return_to.as_str()),
            state: login_state.to_string(),
            qr_token: shown.token,
            qr_svg: shown.svg,
            scan_url: shown.scan_url,
            expires_at_ms: shown.expires_at_ms,
            expires_in_text: format!("{}:{:02}", seconds / 60, seconds % 60),
            error,
            closing_in: closing_in(state),
        },
        status,
    );
    allow_form_target(&mut response, &target);
    response
}

/// The browser's challenge (its pending one, or a fresh one bound to `nonce`), shown on the page.
async fn fresh(
    state: &AppState,
    service: &Service,
    return_to: &Url,
    login_state: &str,
    client: &auth_core::RequestContext,
    nonce: &str,
    error: Option<String>,
) -> Response {
    match state
        .core
        .qr_login()
        .challenge_for_browser(service, client, nonce)
        .await
    {
        Ok(challenge) => {
            let expires_at_ms =
                state.core.clock().now().as_millisecond() + challenge.expires_in as i64 * 1000;
            let shown = Shown {
                token: challenge.qr_token,
                svg: challenge.qr_svg,
                scan_url: challenge.scan_url,
                expires_at_ms,
            };
            login_page(
                state,
                service,
                return_to,
                login_state,
                shown,
                error,
                StatusCode::OK,
            )
        }
        Err(Error::SystemClosed {
            opens_at,
            retry_after_secs,
        }) => {
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                closed(opens_at, &state.core.schedule().current()),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Err(err) => {
            tracing::warn!(%err, "could not start a QR challenge");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot sign in now",
                "Please try again in a moment.",
                None,
            )
        }
    }
}

fn browser_nonce(headers: &HeaderMap, secure: bool) -> Option<String> {
    Jar::new(secure)
        .read(headers, Owned::LoginNonce)
        .ok()
        .flatten()
        .filter(|n| n.len() >= 32 && n.len() <= 64)
}

/// `GET /login?service=…&return_to=…`
pub async fn page(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    PageQuery(query): PageQuery<LoginQuery>,
) -> Response {
    let (service, return_to) =
        match service_and_return(&state, &query.service, query.return_to.as_deref()).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let Some(login_state) = query.state.filter(|s| well_formed_state(s)) else {
        // Bind this login to the browser first: the service's host sets the state and sends it
        // back here.
        return Redirect::to(&start_url(&service, &return_to, &public_url(&state))).into_response();
    };
    let nonce = match browser_nonce(&headers, secure) {
        Some(nonce) => nonce,
        None => auth_core::secret::random_token("").expose().to_string(),
    };
    let mut response = fresh(
        &state,
        &service,
        &return_to,
        &login_state,
        &client,
        &nonce,
        None,
    )
    .await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, nonce_cookie(&nonce, secure));
    response
}

#[derive(Deserialize)]
pub struct VerifyForm {
    service: String,
    return_to: String,
    state: String,
    qr_token: String,
    pin: String,
}

/// `POST /login/verify`: the PIN typed on the login page.
pub async fn verify(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    form: Result<Form<VerifyForm>, FormRejection>,
) -> Response {
    let form = match posted_here(&state, &headers, form, "Cannot sign in") {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let (service, return_to) =
        match service_and_return(&state, &form.service, Some(&form.return_to)).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let restart = format!(
        "/login?service={}&return_to={}",
        service.slug,
        urlencode(return_to.as_str())
    );
    if !well_formed_state(&form.state) {
        return message(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This sign-in did not start at the service. Start again.",
            Some((restart, "Start again".into())),
        );
    }
    let Some(nonce) = browser_nonce(&headers, secure) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This browser did not show the code. Start again.",
            Some((restart, "Show a new code".into())),
        );
    };
    let qr = state.core.qr_login();
    match qr
        .verify_pin(
            &service,
            &form.qr_token,
            form.pin.trim(),
            &client,
            Some(&nonce),
        )
        .await
    {
        Ok(login) => {
            let handoff = Handoff {
                service: service.slug.clone(),
                session_token: login.session_token,
                expires_in: login.expires_in,
                return_to: return_to.to_string(),
                browser_binding: form.state.clone(),
            };
            match qr.handoff(&handoff).await {
                Ok(code) => Redirect::to(&callback_url(
                    &service,
                    &return_to,
                    &public_url(&state),
                    &code,
                ))
                .into_response(),
                Err(_) => message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Cannot sign in now",
                    "Please try again in a moment.",
                    None,
                ),
            }
        }
        Err(err) => {
            let same_code = |text: String| -> Response {
                match qr.images_of(&form.qr_token) {
                    Ok((svg, scan_url)) => {
                        let shown = Shown {
                            token: form.qr_token.clone(),
                            svg,
                            scan_url,
                            expires_at_ms: 0,
                        };
                        login_page(
                            &state,
                            &service,
                            &return_to,
                            &form.state,
                            shown,
                            Some(text),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        )
                    }
                    Err(_) => message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Cannot sign in",
                        "Please try again.",
                        None,
                    ),
                }
            };
            let locked_text;
            let text = match &err {
                Error::PinInvalid { attempts_left } => {
                    return same_code(format!(
                        "That PIN is not right. {attempts_left} tries left."
                    ));
                }
                Error::QrNotScanned => {
                    return same_code(
                        "Scan the code with your phone first, then type the PIN it shows.".into(),
                    );
                }
                Error::Validation(_) => {
                    return same_code("Type the 6 digits your phone shows.".into());
                }
                Error::PinExpired => "The PIN has expired. Scan this new code.",
                Error::QrExpired | Error::QrNotFound => "The code expired. Scan this new one.",
                Error::QrLocked => "Too many wrong PINs for that code. Scan this new one.",
                Error::QrAlreadyUsed => "That code was already used. Scan this new one.",
                Error::ForeignBrowser => {
                    "That code was shown in another browser. Scan this one instead."
                }
                Error::AccountLocked { until } => {
                    locked_text = format!(
                        "Too many wrong PINs on your account. {}",
                        super::wait_until(*until, state.core.clock().now())
                    );
                    &locked_text
                }
                Error::SystemClosed { .. } => "",
                _ => {
                    tracing::warn!(%err, "PIN verification failed");
                    "Something went wrong. Scan this new code."
                }
            };
            fresh(
                &state,
                &service,
                &return_to,
                &form.state,
                &client,
                &nonce,
                (!text.is_empty()).then(|| text.to_string()),
            )
            .await
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct StatusQuery {
    service: String,
    t: String,
}

/// `GET /login/status`: the state of the page's challenge, for its script.
pub async fn status(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<StatusQuery>,
) -> ApiResult<Data<auth_core::qr_login::ChallengeState>> {
    let service = state.core.services().get(&query.service).await?;
    Ok(Data(state.core.qr_login().state(&service, &query.t).await?))
}
