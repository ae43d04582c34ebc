//! `/admin/welcome`: where an invited member of staff chooses a password with the mailed link.
//! Opening the link only shows the form (link scanners in mail systems cannot use it); posting
//! it sets the password, and the console's sign-in then enrols the authenticator.

use askama::Template;
use auth_core::Error;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::pages::posted_here;
use crate::web::extract::{Client, PageQuery};
use crate::web::page::{message, render};
use crate::web::state::AppState;

/// Where the sign-in page says the password is set.
pub const JOINED: &str = "joined";

#[derive(Template)]
#[template(path = "console_welcome.html")]
struct WelcomePage {
    username: String,
    role: &'static str,
    token: String,
    min_length: usize,
    error: Option<String>,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct WelcomeQuery {
    token: String,
}

/// `GET /admin/welcome?token=`.
pub async fn welcome_page(
    State(state): State<AppState>,
    PageQuery(query): PageQuery<WelcomeQuery>,
) -> Response {
    form(&state, query.token, None, StatusCode::OK).await
}

/// The form for invitation `token`, or the page saying the link no longer works.
async fn form(
    state: &AppState,
    token: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match state.core.admins().invited_by(&token).await {
        Ok(admin) => render(
            &WelcomePage {
                username: admin.username,
                role: match admin.role {
                    auth_core::admins::Role::Admin => "an admin",
                    auth_core::admins::Role::Support => "support staff",
                },
                token,
                min_length: state.core.config().passwords.min_length,
                error,
                closing_in: None,
            },
            status,
        ),
        Err(err) => link_refused(&err),
    }
}

/// What a dead invitation link says: ask the admin who invited you for a new one.
fn link_refused(err: &Error) -> Response {
    match err {
        Error::ExpiredToken => message(
            StatusCode::GONE,
            "Invitation expired",
            "This invitation link has expired. Ask the admin who invited you to send it again.",
            None,
        ),
        _ => message(
            StatusCode::BAD_REQUEST,
            "Invitation not valid",
            "This invitation link is not valid, or was already used. If you have set your \
             password, sign in at /admin/login.",
            None,
        ),
    }
}

#[derive(Deserialize)]
pub struct WelcomeFields {
    token: String,
    password: String,
}

/// `POST /admin/welcome`: sets the password; on to the sign-in.
pub async fn welcome(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    fields: Result<Form<WelcomeFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, fields, "Cannot set the password") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    match state
        .core
        .admins()
        .accept_invite(&fields.token, &fields.password, &client)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/login?done={JOINED}")).into_response(),
        Err(Error::Validation(problems)) => {
            let text = problems
                .first()
                .map(|p| format!("The password {}.", p.message))
                .unwrap_or_default();
            form(
                &state,
                fields.token,
                Some(text),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(err) => link_refused(&err),
    }
}
