//! Changing the account's email address: the account page's form (with the current password)
//! sends a link to the new address and a notice to the old one; the link opens
//! `/account/email/confirm`, whose button moves the account. As with the other mailed links, only
//! pressing the button uses the token, so mail scanners opening links cannot.

use askama::Template;
use auth_core::Error;
use auth_core::audit::AuditAction;
use auth_core::secret::Secret;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{account_page, done, person, refusal_text, status_of};
use crate::pages::{closing_in, posted, posted_here};
use crate::web::extract::{Client, MaybeCaller, PageQuery};
use crate::web::page::{message, render};
use crate::web::state::AppState;

pub const EMAIL_SENT: &str = "A link is on its way to the new address. Your account moves there \
                              once you open it; until then it keeps this address.";

#[derive(Deserialize)]
pub struct EmailFields {
    new_email: String,
    password: Secret,
}

/// `POST /account/email`
pub async fn change_email(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<EmailFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot change the address") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (user, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let labels = [("email", "The new address"), ("password", "The password")];
    let refused = |err: Error| {
        account_page(
            &state,
            &user,
            None,
            Some(format!(
                "The address was not changed. {}",
                refusal_text(&err, &labels)
            )),
            status_of(&err),
        )
    };
    if let Err(err) = state
        .core
        .credentials()
        .confirm_password(
            &principal,
            &fields.password,
            "password",
            AuditAction::PasswordConfirmFailed,
            &client,
        )
        .await
    {
        return refused(err);
    }
    match state
        .core
        .accounts()
        .request_email_change(&user, &fields.new_email, &client)
        .await
    {
        Ok(()) => done("/account", EMAIL_SENT),
        Err(err) => refused(err),
    }
}

#[derive(Template)]
#[template(path = "token_form.html")]
struct ConfirmForm {
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

/// `GET /account/email/confirm?token=…`: the button that uses the link.
pub async fn confirm_email_page(
    State(state): State<AppState>,
    PageQuery(query): PageQuery<TokenQuery>,
) -> Response {
    render(
        &ConfirmForm {
            heading: "Confirm your new email address".into(),
            action: "/account/email/confirm".into(),
            token: query.token,
            asks_password: false,
            button: "Use this address for my account".into(),
            error: None,
            closing_in: closing_in(&state),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct TokenFields {
    token: String,
}

/// `POST /account/email/confirm`
pub async fn confirm_email(
    State(state): State<AppState>,
    Client(client): Client,
    form: Result<Form<TokenFields>, FormRejection>,
) -> Response {
    let fields = match posted(form, "Cannot change the address") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    match state
        .core
        .accounts()
        .confirm_email_change(&fields.token, &client)
        .await
    {
        Ok(user) => message(
            StatusCode::OK,
            "Email address changed",
            &format!("Your account's address is now {}.", user.email),
            Some(("/account".into(), "Go to your account".into())),
        ),
        Err(Error::ExpiredToken) => message(
            StatusCode::GONE,
            "Link expired",
            "This link has expired. Ask for a new one from your account page.",
            None,
        ),
        Err(Error::DuplicateEmail) => message(
            StatusCode::CONFLICT,
            "Address not available",
            "This address cannot be used for your account. Choose another on your account page.",
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
