//! `/account`: a person's own account on the gateway's host, after a password sign-in (the same
//! one the phone page uses, with the same access and refresh cookies). Every page and form here
//! calls the auth-core operation the account API calls, with the credential the route policy
//! accepts at `AccountApi`: a password sign-in's access token, never a service session or a
//! personal access token. Forms are refused when they come from another site.
//!
//! - this file: signing in and out, and the page that says who is signed in;
//! - `settings`: profile, password, deleting the account;
//! - `email`: moving the account to a new address, confirmed from the mail;
//! - `sessions`: the sessions of the account, ending one or all;
//! - `tokens`: personal access tokens;
//! - `logins`: the account's login history.

mod email;
mod logins;
mod sessions;
mod settings;
mod tokens;

use askama::Template;
use auth_core::Error;
use auth_core::accounts::User;
use auth_core::credentials::{LoginRequest, Principal};
use auth_core::secret::Secret;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub use email::{change_email, confirm_email, confirm_email_page};
pub use logins::logins_page;
pub(super) use sessions::{SessionRow, describe as describe_sessions, method_text};
pub use sessions::{end_session, sessions_page, sign_out_everywhere};
pub use settings::{change_password, delete_account, update_profile};
pub use tokens::{create_token, revoke_token, tokens_page};

use super::{closing_in, posted_here};
use crate::web::cookies::{self, Jar};
use crate::web::extract::{Client, MaybeCaller, PageQuery, Secure};
use crate::web::page::{message, render};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "account_signin.html")]
struct SignIn {
    login: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

/// The sign-in form, with `status` (401 where a signed-in page was asked for).
fn sign_in_page(
    state: &AppState,
    login: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        &SignIn {
            login,
            error,
            closing_in: closing_in(state),
        },
        status,
    )
}

/// The signed-in person, or the sign-in form to answer with.
pub(super) fn person(
    state: &AppState,
    signed_in: Option<Principal>,
) -> Result<(User, Principal), Box<Response>> {
    let user = signed_in
        .as_ref()
        .and_then(|principal| principal.require_user().ok().cloned());
    match (user, signed_in) {
        (Some(user), Some(principal)) => Ok((user, principal)),
        _ => Err(Box::new(sign_in_page(
            state,
            String::new(),
            None,
            StatusCode::UNAUTHORIZED,
        ))),
    }
}

pub(super) use super::status_of;

/// What a page says when the operation behind a form refuses: the field's problem for a
/// validation error, else the error's public message.
pub(super) fn refusal_text(err: &Error, field_labels: &[(&str, &str)]) -> String {
    match err {
        Error::Validation(fields) => fields
            .iter()
            .map(|f| {
                let label = field_labels
                    .iter()
                    .find(|(name, _)| *name == f.field)
                    .map_or(f.field.as_str(), |(_, label)| label);
                format!("{label} {}.", f.message)
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.public_message(),
    }
}

/// Back to `path` with a notice, as a redirect after a successful form (so a reload does not post
/// it again).
pub(super) fn done(path: &str, notice: &str) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    Redirect::to(&format!("{path}?done={encoded}")).into_response()
}

/// The notice of a page reached through [`done`]: only texts the pages themselves write are shown,
/// so a link cannot make the page say something else.
pub(super) fn notice_of(done: Option<String>) -> Option<String> {
    const NOTICES: &[&str] = &[
        settings::PROFILE_SAVED,
        settings::PASSWORD_CHANGED,
        email::EMAIL_SENT,
        sessions::SESSION_ENDED,
        tokens::TOKEN_REVOKED,
    ];
    done.filter(|text| NOTICES.contains(&text.as_str()))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    current: &'static str,
    notice: Option<String>,
    error: Option<String>,
    email: String,
    status: &'static str,
    full_name: String,
    username: String,
    min_length: usize,
    closing_in: Option<i64>,
}

/// The account page for `user`, with a notice or an error.
pub(super) fn account_page(
    state: &AppState,
    user: &User,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        &AccountPage {
            current: "account",
            notice,
            error,
            email: user.email.clone(),
            status: user.status.as_str(),
            full_name: user.full_name.clone(),
            username: user.username.clone(),
            min_length: state.core.config().passwords.min_length,
            closing_in: closing_in(state),
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /account`: the sign-in form, or the account of whoever is signed in.
pub async fn page(
    State(state): State<AppState>,
    MaybeCaller(signed_in): MaybeCaller,
    PageQuery(query): PageQuery<DoneQuery>,
) -> Response {
    let Some(principal) = signed_in else {
        return sign_in_page(&state, String::new(), None, StatusCode::OK);
    };
    let (user, _) = match person(&state, Some(principal)) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let notice = notice_of(query.done);
    account_page(&state, &user, notice, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignInFields {
    login: String,
    password: Secret,
}

/// `POST /account/sign-in`: the password sign-in of `POST /api/auth/login`; sets the cookies.
pub async fn sign_in(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    headers: HeaderMap,
    form: Result<Form<SignInFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot sign in") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let request = LoginRequest {
        login: fields.login.clone(),
        password: fields.password,
    };
    match state.core.credentials().login(request, &client).await {
        Ok(tokens) => super::signed_in_redirect(&state, "/account", &tokens, secure),
        Err(err) => {
            let text = super::password_refusal(&state, &err);
            sign_in_page(&state, fields.login, Some(text), status_of(&err))
        }
    }
}

/// An answer that also removes the sign-in cookies.
pub(super) fn without_cookies(mut response: Response, secure: bool) -> Response {
    for cookie in cookies::clear_tokens(&Jar::new(secure)) {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /account/sign-out`: ends this sign-in's session (as `POST /api/auth/logout`).
pub async fn sign_out(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<NoFields>, FormRejection>,
) -> Response {
    if let Err(refused) = posted_here(&state, &headers, form, "Cannot sign out") {
        return refused.into_response();
    }
    if let Some(principal) = signed_in
        && let Err(err) = state.core.credentials().logout(&principal, &client).await
    {
        return message(
            status_of(&err),
            "Cannot sign out",
            &err.public_message(),
            None,
        );
    }
    without_cookies(
        message(
            StatusCode::OK,
            "Signed out",
            "You are signed out of your account on this browser.",
            Some(("/account".into(), "Sign in again".into())),
        ),
        secure,
    )
}
