//! `/register`: the registration form, answered with each field's problem as the API's 422 names
//! it and a password strength hint (zxcvbn, computed here, so it works without JavaScript); then a
//! "check your mail" page. A taken address gets the same "check your mail" page as a new one, so
//! the form tells nobody which addresses have accounts.

use askama::Template;
use auth_core::accounts::Registration;
use auth_core::passwords::{PasswordPolicy, Strength};
use auth_core::secret::Secret;
use auth_core::{Error, FieldError};
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

/// A field's problem, with the label the form shows for it.
pub struct Problem {
    pub field: String,
    pub label: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterForm {
    email: String,
    username: String,
    full_name: String,
    errors: Vec<Problem>,
    strength: Option<Strength>,
    min_length: usize,
    closing_in: Option<i64>,
}

impl RegisterForm {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// The form's label of a field the API names.
fn label_of(field: &str) -> &'static str {
    match field {
        "email" => "Email address",
        "username" => "Username",
        "full_name" => "Full name",
        "password" => "Password",
        "password_confirmation" => "The same password again",
        _ => "The form",
    }
}

/// The API's field errors as the form shows them; a field the form does not have is named as
/// the form's problem, so nothing refused goes unsaid.
pub fn problems(fields: Vec<FieldError>, known: &[&str]) -> Vec<Problem> {
    fields
        .into_iter()
        .map(|f| {
            let field = if known.contains(&f.field.as_str()) {
                f.field
            } else {
                known.first().copied().unwrap_or("form").to_string()
            };
            Problem {
                label: label_of(&field),
                field,
                message: f.message,
            }
        })
        .collect()
}

const FIELDS: &[&str] = &[
    "email",
    "username",
    "full_name",
    "password",
    "password_confirmation",
];

/// `GET /register`
pub async fn page(State(state): State<AppState>) -> Response {
    let form = RegisterForm {
        email: String::new(),
        username: String::new(),
        full_name: String::new(),
        errors: Vec::new(),
        strength: None,
        min_length: state.core.config().passwords.min_length,
        closing_in: closing_in(&state),
    };
    render(&form, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct RegisterFields {
    email: String,
    username: String,
    full_name: String,
    password: Secret,
    password_confirmation: Secret,
}

fn check_your_mail(email: &str) -> Response {
    message(
        StatusCode::OK,
        "Check your mail",
        &format!(
            "If {email} can be used for a new account, a link to confirm it is on its way there. \
             Open it to finish registering. If you already have an account, sign in or reset your \
             password instead."
        ),
        Some(("/account".into(), "Go to sign in".into())),
    )
}

/// `POST /register`: registers through the same operation as `POST /api/register`.
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    form: Result<Form<RegisterFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot register") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let strength = PasswordPolicy::strength(
        fields.password.expose(),
        &[fields.email.trim(), fields.username.trim()],
    );
    let registration = Registration {
        email: fields.email.clone(),
        username: fields.username.clone(),
        full_name: fields.full_name.clone(),
        password: fields.password,
        password_confirmation: fields.password_confirmation,
    };
    let again = |errors: Vec<Problem>, status: StatusCode| {
        let form = RegisterForm {
            email: fields.email.clone(),
            username: fields.username.clone(),
            full_name: fields.full_name.clone(),
            errors,
            strength: Some(strength.clone()),
            min_length: state.core.config().passwords.min_length,
            closing_in: closing_in(&state),
        };
        render(&form, status)
    };
    match state.core.accounts().register(registration, &client).await {
        Ok(_) | Err(Error::DuplicateEmail) => check_your_mail(fields.email.trim()),
        Err(Error::Validation(found)) => {
            again(problems(found, FIELDS), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(Error::DuplicateUsername) => again(
            vec![Problem {
                field: "username".into(),
                label: label_of("username"),
                message: "is taken; choose another".into(),
            }],
            StatusCode::CONFLICT,
        ),
        Err(other) => {
            let status = StatusCode::from_u16(other.code().http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            message(status, "Cannot register", &other.public_message(), None)
        }
    }
}
