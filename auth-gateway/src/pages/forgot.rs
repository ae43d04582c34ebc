//! `/forgot-password`: asks for the address and mails the link that `/reset-password` opens.
//! Every address gets the same answer, known or not, as `POST /api/auth/password/forgot` gives.

use askama::Template;
use auth_core::Error;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{closing_in, posted_here};
use crate::web::extract::Client;
use crate::web::page::{message, render};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotForm {
    email: String,
    error: Option<String>,
    closing_in: Option<i64>,
}

/// `GET /forgot-password`
pub async fn page(State(state): State<AppState>) -> Response {
    render(
        &ForgotForm {
            email: String::new(),
            error: None,
            closing_in: closing_in(&state),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ForgotFields {
    email: String,
}

/// `POST /forgot-password`
pub async fn ask(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<ForgotFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot send the link") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    // A malformed address says nothing about accounts, and is worth telling the person.
    let checked = match auth_core::naming::check_email(&fields.email) {
        Some(problem) => Err(Error::Validation(vec![problem])),
        // The answer does not wait for the lookup or the mail (see `AfterAnswer`).
        None => {
            state
                .core
                .credentials()
                .forgot_password(&fields.email, &client)
                .await
        }
    };
    match checked {
        Ok(_mail) => message(
            StatusCode::OK,
            "Check your mail",
            "If this address has an account, a link to choose a new password is on its way. \
             It works once, for a short time.",
            Some(("/account".into(), "Back to sign in".into())),
        ),
        Err(Error::Validation(fields_at_fault)) => {
            let text = fields_at_fault
                .first()
                .map(|f| format!("The email address {}.", f.message))
                .unwrap_or_else(|| "The email address is not valid.".into());
            render(
                &ForgotForm {
                    email: fields.email,
                    error: Some(text),
                    closing_in: closing_in(&state),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(other) => {
            let status = StatusCode::from_u16(other.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            message(
                status,
                "Cannot send the link",
                &other.public_message(),
                None,
            )
        }
    }
}
