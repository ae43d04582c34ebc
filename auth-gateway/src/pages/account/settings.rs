//! The account page's forms: the profile (`PUT /api/users/me`'s operation), the password
//! (`PUT /api/users/me/password`'s), and deleting the account (`DELETE /api/users/me`'s, after the
//! password is confirmed).

use auth_core::accounts::ProfileChanges;
use auth_core::audit::AuditAction;
use auth_core::credentials::PasswordChange;
use auth_core::secret::Secret;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{account_page, done, person, refusal_text, status_of, without_cookies};
use crate::pages::posted_here;
use crate::web::extract::{Client, MaybeCaller, Secure};
use crate::web::page::message;
use crate::web::state::AppState;

pub const PROFILE_SAVED: &str = "Your profile is saved.";
pub const PASSWORD_CHANGED: &str =
    "Your password is changed. Every other session and every personal access token has ended.";

const LABELS: &[(&str, &str)] = &[
    ("full_name", "The full name"),
    ("username", "The username"),
    ("current_password", "The current password"),
    ("new_password", "The new password"),
    ("password", "The password"),
];

#[derive(Deserialize)]
pub struct ProfileFields {
    full_name: String,
    username: String,
}

/// `POST /account/profile`
pub async fn update_profile(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<ProfileFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot save the profile") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (user, _) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let changes = ProfileChanges {
        full_name: Some(fields.full_name),
        username: Some(fields.username),
    };
    match state
        .core
        .accounts()
        .update_profile(user.id, changes, &client)
        .await
    {
        Ok(_) => done("/account", PROFILE_SAVED),
        Err(auth_core::Error::DuplicateUsername) => account_page(
            &state,
            &user,
            None,
            Some("That username is taken; choose another.".into()),
            StatusCode::CONFLICT,
        ),
        Err(err) => account_page(
            &state,
            &user,
            None,
            Some(refusal_text(&err, LABELS)),
            status_of(&err),
        ),
    }
}

#[derive(Deserialize)]
pub struct PasswordFields {
    current_password: Secret,
    new_password: Secret,
}

/// `POST /account/password`: this sign-in goes on; everything else of the account ends.
pub async fn change_password(
    State(state): State<AppState>,
    Client(client): Client,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<PasswordFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot change the password") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (user, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let change = PasswordChange {
        current_password: fields.current_password,
        new_password: fields.new_password,
    };
    match state
        .core
        .credentials()
        .change_password(&principal, change, &client)
        .await
    {
        Ok(_) => done("/account", PASSWORD_CHANGED),
        Err(err) => account_page(
            &state,
            &user,
            None,
            Some(refusal_text(&err, LABELS)),
            status_of(&err),
        ),
    }
}

#[derive(Deserialize)]
pub struct DeleteFields {
    password: Secret,
}

/// `POST /account/delete`: a soft delete, once the password is confirmed; signs this browser out.
pub async fn delete_account(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<DeleteFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot delete the account") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (user, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let confirmed = state
        .core
        .credentials()
        .confirm_password(
            &principal,
            &fields.password,
            "password",
            AuditAction::PasswordConfirmFailed,
            &client,
        )
        .await;
    if let Err(err) = confirmed {
        return account_page(
            &state,
            &user,
            None,
            Some(format!(
                "The account was not deleted. {}",
                refusal_text(&err, LABELS)
            )),
            status_of(&err),
        );
    }
    match state.core.accounts().delete_own(user.id, &client).await {
        Ok(_) => without_cookies(
            message(
                StatusCode::OK,
                "Account deleted",
                "Your account is deleted and every session has ended. An administrator can \
                 restore it if you ask.",
                None,
            ),
            secure,
        ),
        Err(err) => account_page(
            &state,
            &user,
            None,
            Some(refusal_text(&err, LABELS)),
            status_of(&err),
        ),
    }
}
