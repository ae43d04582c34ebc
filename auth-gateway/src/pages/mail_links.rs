//! The pages the mails link to: verifying an email address and setting a new password. Opening the
//! link shows a button; only pressing it uses the token, so link scanners in mail systems cannot.

use askama::Template;
use auth_core::Error;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{closing_in, posted};
use crate::web::extract::{Client, PageQuery};
use crate::web::page::{message, render};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "token_form.html")]
struct TokenForm {
    heading: String,
    action: String,
    token: String,
    asks_password: bool,
    button: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

pub async fn verify_page(
    State(state): State<AppState>,
    PageQuery(query): PageQuery<TokenQuery>,
) -> Response {
    render(
        &TokenForm {
            heading: "Verify your email address".into(),
            action: "/verify-email".into(),
            token: query.token,
            asks_password: false,
            button: "Verify my email address".into(),
            error: None,
            closing_in: closing_in(&state),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct VerifyForm {
    token: String,
}

pub async fn verify(
    State(state): State<AppState>,
    Client(client): Client,
    form: Result<Form<VerifyForm>, FormRejection>,
) -> Response {
    let form = match posted(form, "Cannot verify") {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    match state
        .core
        .accounts()
        .verify_email(&form.token, &client)
        .await
    {
        Ok(_) => message(
            StatusCode::OK,
            "Email address verified",
            "Thank you. An administrator will now review your account; you will get an email when they decide.",
            None,
        ),
        Err(Error::ExpiredToken) => message(
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Ask for a new one.",
            None,
        ),
        Err(_) => message(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This link is not valid, or was already used.",
            None,
        ),
    }
}

fn reset_form(
    state: &AppState,
    token: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        &TokenForm {
            heading: "Choose a new password".into(),
            action: "/reset-password".into(),
            token,
            asks_password: true,
            button: "Set the new password".into(),
            error,
            closing_in: closing_in(state),
        },
        status,
    )
}

pub async fn reset_page(
    State(state): State<AppState>,
    PageQuery(query): PageQuery<TokenQuery>,
) -> Response {
    reset_form(&state, query.token, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    new_password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    Client(client): Client,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let form = match posted(form, "Cannot reset") {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    match state
        .core
        .credentials()
        .reset_password(&form.token, &form.new_password, &client)
        .await
    {
        Ok(()) => message(
            StatusCode::OK,
            "Password changed",
            "Your password is changed, and every session was signed out.",
            None,
        ),
        Err(Error::Validation(fields)) => {
            let text = fields
                .first()
                .map(|f| format!("The new password {}.", f.message))
                .unwrap_or_default();
            reset_form(
                &state,
                form.token,
                Some(text),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(Error::ExpiredToken) => message(
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Ask for a new one.",
            None,
        ),
        Err(_) => message(
            StatusCode::BAD_REQUEST,
            "Link not valid",
            "This link is not valid, or was already used.",
            None,
        ),
    }
}
