//! The login page: `GET /login` shows the QR code of a challenge (the same one on reload),
//! `GET /login/status` tells the page's script where the challenge stands, `POST /login` takes
//! the PIN. Every refusal the gateway makes becomes a sentence on the page; a code that can no
//! longer be used is replaced by a new one at once.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use askama::Template;
use auth_sdk::{AuthUser, Challenge, ChallengeStatus, ClientError};
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::page::{self, cookie, same_origin, see_other, set_cookie};
use super::{LOGIN_COOKIE, SESSION_COOKIE, Shared};

/// How long the login cookie lives: as long as a challenge is kept.
const LOGIN_COOKIE_AGE: Duration = Duration::from_secs(10 * 60);

#[derive(Template)]
#[template(path = "service_d/login.html")]
struct LoginPage<'a> {
    qr_svg: &'a str,
    scan_url: &'a str,
    time_left: String,
    expires_at_ms: u128,
    status: &'a str,
    error: Option<String>,
}

/// Where the browser is: its address as this server saw it, and its user agent.
fn end_user(peer: SocketAddr, headers: &HeaderMap) -> (std::net::IpAddr, Option<&str>) {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    (peer.ip(), agent)
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    /// Set by "Show a new code".
    new: Option<String>,
}

/// `GET /login`: the login in progress, or a new one.
pub(crate) async fn page(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    user: Option<AuthUser>,
) -> Response {
    if user.is_some() {
        return see_other("/");
    }
    let current = cookie(&headers, LOGIN_COOKIE).and_then(|id| Some((id, app.pending.get(id)?)));
    if let (Some((id, challenge)), None) = (current, &query.new) {
        return match app.client.status(&challenge.token).await {
            Ok(ChallengeStatus::Pending) => show(&challenge, "Waiting for your phone…", None),
            Ok(ChallengeStatus::Scanned) => show(
                &challenge,
                "Your phone scanned the code. Type the PIN it shows.",
                None,
            ),
            Ok(_) | Err(ClientError::ChallengeNotFound) => {
                app.pending.remove(id);
                start(
                    &app,
                    peer,
                    &headers,
                    Some("That code can no longer be used. Here is a new one."),
                )
                .await
            }
            Err(err) => refused(err),
        };
    }
    start(&app, peer, &headers, None).await
}

/// A new challenge, remembered for this browser, shown with `error` if there is one.
async fn start(
    app: &Shared,
    peer: SocketAddr,
    headers: &HeaderMap,
    error: Option<&str>,
) -> Response {
    let (ip, agent) = end_user(peer, headers);
    match app.client.start_login(Some(ip), agent).await {
        Ok(challenge) => {
            let mut response = show(
                &challenge,
                "Waiting for your phone…",
                error.map(str::to_owned),
            );
            let id = app.pending.insert(challenge);
            set_cookie(
                &mut response,
                LOGIN_COOKIE,
                &id,
                LOGIN_COOKIE_AGE,
                app.secure_cookies,
            );
            response
        }
        Err(err) => refused(err),
    }
}

fn show(challenge: &Challenge, status: &str, error: Option<String>) -> Response {
    let left = challenge
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let expires_at_ms = challenge
        .expires_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let code = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page::render(
        &LoginPage {
            qr_svg: &challenge.qr_svg,
            scan_url: &challenge.scan_url,
            time_left: page::minutes(left),
            expires_at_ms,
            status,
            error,
        },
        code,
    )
}

/// A page for the refusals that leave nothing to type: closed, too many requests, unreachable.
fn refused(err: ClientError) -> Response {
    match &err {
        ClientError::Closed { opens_at, .. } => {
            let text = match opens_at {
                Some(at) => format!(
                    "Sign-in is closed outside operating hours. It opens {}.",
                    page::when(*at)
                ),
                None => "Sign-in is closed outside operating hours.".to_string(),
            };
            with_retry_after(
                page::message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceD is closed",
                    &text,
                    None,
                ),
                &err,
            )
        }
        ClientError::RateLimited { retry_after } => with_retry_after(
            page::message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                &format!(
                    "Wait {} seconds, then try again.",
                    retry_after.as_secs().max(1)
                ),
                Some(("/login", "Try again")),
            ),
            &err,
        ),
        _ => {
            tracing::warn!(code = err.code(), %err, "the gateway refused a login call");
            page::message(
                StatusCode::BAD_GATEWAY,
                "Sign-in is unavailable",
                "The sign-in service cannot be reached right now. Try again in a moment.",
                Some(("/login", "Try again")),
            )
        }
    }
}

fn with_retry_after(mut response: Response, err: &ClientError) -> Response {
    if let Some(wait) = err.retry_after()
        && let Ok(value) = wait.as_secs().to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `GET /login/status`: where this browser's challenge stands, for the page's script.
pub(crate) async fn status(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some(challenge) = cookie(&headers, LOGIN_COOKIE).and_then(|id| app.pending.get(id)) else {
        return Json(json!({ "status": "none" })).into_response();
    };
    match app.client.status(&challenge.token).await {
        Ok(status) => Json(json!({ "status": status.as_str() })).into_response(),
        Err(ClientError::ChallengeNotFound) => Json(json!({ "status": "expired" })).into_response(),
        Err(err) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "status": "unknown", "code": err.code() })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct PinForm {
    pin: String,
}

/// `POST /login`: the PIN; on success the session cookie, and home.
pub(crate) async fn verify(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<PinForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers, &app.origin) {
        return page::message(
            StatusCode::FORBIDDEN,
            "Sign-in refused",
            "The form came from another site.",
            Some(("/login", "Sign in")),
        );
    }
    let login_id = cookie(&headers, LOGIN_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let Some(challenge) = app.pending.get(&login_id) else {
        return start(
            &app,
            peer,
            &headers,
            Some("Your sign-in took too long. Here is a new code."),
        )
        .await;
    };
    let Ok(Form(form)) = form else {
        return show(
            &challenge,
            "Waiting for your phone…",
            Some("Type the 6-digit PIN your phone shows.".into()),
        );
    };
    match app
        .client
        .verify_pin(&challenge.token, form.pin.trim())
        .await
    {
        Ok(login) => {
            app.pending.remove(&login_id);
            tracing::info!(user = %login.person.user_id, session = %login.session_id, "signed in");
            let mut response = see_other("/");
            let age = login.expires_in;
            set_cookie(
                &mut response,
                SESSION_COOKIE,
                login.session_token.as_str(),
                age,
                app.secure_cookies,
            );
            set_cookie(&mut response, LOGIN_COOKIE, "", age, app.secure_cookies);
            response
        }
        Err(err) if err.needs_new_challenge() => {
            app.pending.remove(&login_id);
            let why = match err {
                ClientError::ChallengeDead => {
                    "Too many wrong PINs: that code no longer works. Here is a new one."
                }
                ClientError::PinExpired => {
                    "That PIN has expired. Here is a new code: scan it again."
                }
                _ => "That code has expired. Here is a new one: scan it with your phone.",
            };
            start(&app, peer, &headers, Some(why)).await
        }
        Err(err) => match pin_problem(&err) {
            Some(text) => show(
                &challenge,
                "Your phone scanned the code. Type the PIN it shows.",
                Some(text),
            ),
            None => refused(err),
        },
    }
}

/// What to tell the person when the PIN form can simply be tried again.
fn pin_problem(err: &ClientError) -> Option<String> {
    Some(match err {
        ClientError::WrongPin { attempts_left: 1 } => "That PIN is wrong. 1 try left.".into(),
        ClientError::WrongPin { attempts_left } => {
            format!("That PIN is wrong. {attempts_left} tries left.")
        }
        ClientError::NotScanned => {
            "Scan the code with your phone first: it then shows you a PIN.".into()
        }
        ClientError::Invalid { .. } => "The PIN is the 6 digits your phone shows.".into(),
        ClientError::AccountLocked { until: Some(until) } => {
            format!("Your account is locked until {}.", page::when(*until))
        }
        ClientError::AccountLocked { until: None } => "Your account is locked for now.".into(),
        ClientError::AccountUnusable { .. } => {
            "Your account cannot sign in here. Ask an administrator.".into()
        }
        _ => return None,
    })
}
