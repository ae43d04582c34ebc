//! Signing in to the console and out of it: `/admin/login` takes the password, `/admin/login/code`
//! the code (and, the first time, shows the new authenticator key and then the recovery codes).
//! Between the two steps the browser holds the step's token in a cookie of its own (five minutes,
//! SameSite=Strict); the session cookie is set only when both steps succeeded.

use askama::Template;
use auth_core::Error;
use auth_core::credentials::{AdminLogin, CONSOLE_MAX, Enrolment, SECOND_STEP_TTL};
use auth_core::secret::Secret;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Console, ConsoleForm, with_cookies};
use crate::pages::{posted_here, status_of, wait_until};
use crate::web::cookies::{Jar, Owned};
use crate::web::extract::{Client, PageQuery, Secure};
use crate::web::page::{message, render};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "console_login.html")]
struct LoginPage {
    username: String,
    notice: Option<String>,
    error: Option<String>,
    closing_in: Option<i64>,
}

fn login_form(username: String, notice: Option<String>, error: Option<String>) -> LoginPage {
    LoginPage {
        username,
        notice,
        error,
        closing_in: None,
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    done: Option<String>,
}

const SIGNED_OUT: &str = "signed-out";
const EXPIRED: &str = "expired";

/// `GET /admin/login`: the password form; the console for an admin already signed in.
pub async fn login_page(
    console: Option<Console>,
    PageQuery(query): PageQuery<LoginQuery>,
) -> Response {
    if console.is_some() {
        return Redirect::to("/admin").into_response();
    }
    let (notice, error) = match query.done.as_deref() {
        Some(SIGNED_OUT) => (Some("You are signed out of the console.".to_string()), None),
        Some(super::welcome::JOINED) => (
            Some(
                "Your password is set. Sign in with it to set up your authenticator app."
                    .to_string(),
            ),
            None,
        ),
        Some(EXPIRED) => (
            None,
            Some("The sign-in took too long. Start again with your password.".to_string()),
        ),
        _ => (None, None),
    };
    render(&login_form(String::new(), notice, error), StatusCode::OK)
}

#[derive(Deserialize)]
pub struct PasswordFields {
    username: String,
    password: Secret,
}

/// What the sign-in pages say when a step is refused.
fn refusal_text(state: &AppState, err: &Error) -> String {
    match err {
        Error::InvalidCredentials => "That username or password is not right.".into(),
        Error::AccountLocked { until } => format!(
            "Too many wrong tries from here. {}",
            wait_until(*until, state.core.clock().now())
        ),
        Error::AdminDisabled => "This admin account is disabled.".into(),
        other => other.public_message(),
    }
}

/// `POST /admin/login`: the password; on to the code.
pub async fn password(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    form: Result<Form<PasswordFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot sign in") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let request = AdminLogin {
        username: fields.username.clone(),
        password: fields.password,
        code: None,
    };
    match state
        .core
        .credentials()
        .console_password(request, &client)
        .await
    {
        Ok(step) => {
            let jar = Jar::new(secure);
            let cookie = jar.set(
                Owned::ConsoleStep,
                step.token.expose(),
                SECOND_STEP_TTL.as_secs(),
            );
            with_cookies(Redirect::to("/admin/login/code").into_response(), &[cookie])
        }
        Err(err) => render(
            &login_form(fields.username, None, Some(refusal_text(&state, &err))),
            status_of(&err),
        ),
    }
}

#[derive(Template)]
#[template(path = "console_code.html")]
struct CodePage {
    enrolment: Option<Enrolment>,
    qr_svg: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

fn code_form(enrolment: Option<Enrolment>, error: Option<String>, status: StatusCode) -> Response {
    let qr_svg = enrolment
        .as_ref()
        .and_then(|e| auth_core::qr_login::image::svg(&e.uri).ok())
        .unwrap_or_default();
    render(
        &CodePage {
            enrolment,
            qr_svg,
            error,
            closing_in: None,
        },
        status,
    )
}

/// Back to the password, the step's cookie removed.
fn start_again(secure: bool) -> Response {
    with_cookies(
        Redirect::to(&format!("/admin/login?done={EXPIRED}")).into_response(),
        &[Jar::new(secure).clear(Owned::ConsoleStep)],
    )
}

fn step_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    Jar::new(secure)
        .read(headers, Owned::ConsoleStep)
        .ok()
        .flatten()
}

/// `GET /admin/login/code`: the code form, with the new key while enrolling.
pub async fn code_page(
    State(state): State<AppState>,
    Secure(secure): Secure,
    headers: HeaderMap,
) -> Response {
    let Some(token) = step_token(&headers, secure) else {
        return Redirect::to("/admin/login").into_response();
    };
    match state.core.credentials().console_enrolment(&token).await {
        Ok(enrolment) => code_form(enrolment, None, StatusCode::OK),
        Err(Error::ExpiredToken | Error::InvalidToken | Error::AdminDisabled) => {
            start_again(secure)
        }
        Err(err) => message(
            status_of(&err),
            "Cannot sign in",
            &err.public_message(),
            None,
        ),
    }
}

#[derive(Deserialize)]
pub struct CodeFields {
    code: Secret,
}

#[derive(Template)]
#[template(path = "console_recovery.html")]
struct RecoveryPage {
    codes: Vec<String>,
    closing_in: Option<i64>,
}

/// `POST /admin/login/code`: the code; signs the console in.
pub async fn code(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    form: Result<Form<CodeFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot sign in") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let Some(token) = step_token(&headers, secure) else {
        return start_again(secure);
    };
    let credentials = state.core.credentials();
    match credentials
        .console_code(&token, fields.code.expose(), &client)
        .await
    {
        Ok(signed_in) => {
            let jar = Jar::new(secure);
            let cookies = [
                jar.clear(Owned::ConsoleStep),
                jar.set(
                    Owned::Console,
                    signed_in.token.expose(),
                    CONSOLE_MAX.as_secs(),
                ),
            ];
            let answer = if signed_in.recovery_codes.is_empty() {
                Redirect::to("/admin").into_response()
            } else {
                render(
                    &RecoveryPage {
                        codes: signed_in.recovery_codes,
                        closing_in: None,
                    },
                    StatusCode::OK,
                )
            };
            with_cookies(answer, &cookies)
        }
        Err(Error::InvalidCredentials) => {
            let enrolment = credentials.console_enrolment(&token).await.ok().flatten();
            code_form(
                enrolment,
                Some(
                    "That code is not right. Codes change every 30 seconds and each works once."
                        .into(),
                ),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(Error::ExpiredToken | Error::InvalidToken) => start_again(secure),
        Err(err) => with_cookies(
            render(
                &login_form(String::new(), None, Some(refusal_text(&state, &err))),
                status_of(&err),
            ),
            &[Jar::new(secure).clear(Owned::ConsoleStep)],
        ),
    }
}

/// `POST /admin/sign-out`: ends the console session.
pub async fn sign_out(
    State(state): State<AppState>,
    Secure(secure): Secure,
    form: ConsoleForm,
) -> Response {
    if let Err(err) = state
        .core
        .credentials()
        .logout(&form.console.principal, &form.client)
        .await
    {
        return super::refused(&err, "/admin");
    }
    with_cookies(
        Redirect::to(&format!("/admin/login?done={SIGNED_OUT}")).into_response(),
        &[Jar::new(secure).clear(Owned::Console)],
    )
}
