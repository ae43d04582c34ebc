//! `/m/scan?t=…`: what the QR code opens on the phone. It asks the person to sign in if needed
//! (password), shows which service asks and from where, and on confirmation shows the PIN.

use askama::Template;
use auth_core::Error;
use auth_core::credentials::{LoginRequest, Principal};
use auth_core::secret::Secret;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{closing_in, posted_here};
use crate::web::extract::{Client, MaybeCaller, PageQuery, Secure};
use crate::web::page::{message, render};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "phone_signin.html")]
struct SignIn {
    qr_token: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

#[derive(Template)]
#[template(path = "phone_confirm.html")]
struct Confirm {
    qr_token: String,
    username: String,
    service_name: String,
    requested_ip: String,
    requested_agent: String,
    closing_in: Option<i64>,
}

#[derive(Template)]
#[template(path = "phone_pin.html")]
struct ShowPin {
    service_name: String,
    pin: String,
    pin_spoken: String,
    minutes: u64,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct ScanQuery {
    t: String,
}

fn sign_in_page(
    state: &AppState,
    qr_token: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        &SignIn {
            qr_token: qr_token.into(),
            error,
            closing_in: closing_in(state),
        },
        status,
    )
}

fn refusal_page(err: &Error) -> Response {
    let text = match err {
        Error::QrExpired => "This code has expired. Ask the service for a new one.",
        Error::QrAlreadyScanned => "This code was already scanned.",
        Error::QrNotFound => "There is no such code. Scan it again.",
        Error::SystemClosed { .. } => "The system is closed now.",
        Error::AccountPending
        | Error::AccountBlocked
        | Error::AccountRejected
        | Error::EmailNotVerified => "Your account cannot sign in to services now.",
        _ => "Something went wrong. Scan the code again.",
    };
    message(
        StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST),
        "Cannot continue",
        text,
        None,
    )
}

/// `GET /m/scan?t=…`
pub async fn page(
    State(state): State<AppState>,
    MaybeCaller(signed_in): MaybeCaller,
    PageQuery(query): PageQuery<ScanQuery>,
) -> Response {
    // Only what the route's policy admits counts as signed in: a password sign-in's access token,
    // never a service's session token put in the cookie.
    let Some(Principal::User { user, .. }) = signed_in else {
        return sign_in_page(&state, &query.t, None, StatusCode::OK);
    };
    match state.core.qr_login().preview(&query.t).await {
        Ok((service, from)) => render(
            &Confirm {
                qr_token: query.t,
                username: user.username.clone(),
                service_name: service.name,
                requested_ip: from.ip.unwrap_or_else(|| "an unknown address".into()),
                requested_agent: from
                    .user_agent
                    .unwrap_or_else(|| "an unknown browser".into()),
                closing_in: closing_in(&state),
            },
            StatusCode::OK,
        ),
        Err(err) => refusal_page(&err),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    t: String,
    login: String,
    password: Secret,
}

/// `POST /m/login`: password sign-in on the phone; sets the access and refresh cookies.
pub async fn sign_in(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let form = match posted_here(&state, &headers, form, "Cannot sign in") {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let request = LoginRequest {
        login: form.login,
        password: form.password,
    };
    match state.core.credentials().login(request, &client).await {
        Ok(tokens) => {
            let target = format!(
                "/m/scan?t={}",
                url::form_urlencoded::byte_serialize(form.t.as_bytes()).collect::<String>()
            );
            super::signed_in_redirect(&state, &target, &tokens, secure)
        }
        Err(err) => {
            let text = super::password_refusal(&state, &err);
            let status =
                StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            sign_in_page(&state, &form.t, Some(text), status)
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    t: String,
}

/// `POST /m/scan`: the person confirms; the PIN is shown.
pub async fn confirm(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let form = match posted_here(&state, &headers, form, "Cannot continue") {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let Some(Principal::User { user, .. }) = signed_in else {
        return sign_in_page(&state, &form.t, None, StatusCode::UNAUTHORIZED);
    };
    match state.core.qr_login().scan(&user, &form.t, &client).await {
        Ok(scan) => render(
            &ShowPin {
                service_name: scan.service.name,
                pin_spoken: scan
                    .pin
                    .chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join(" "),
                pin: scan.pin,
                minutes: scan.expires_in / 60,
                closing_in: closing_in(&state),
            },
            StatusCode::OK,
        ),
        Err(err) => refusal_page(&err),
    }
}
