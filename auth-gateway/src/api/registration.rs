//! `/api/register`, `/api/auth/verify-email`, `/api/auth/resend-verification` and
//! `/api/auth/password/*`: creating an account and recovering it, the steps that go through a
//! mailed link.

use auth_core::accounts::{Registered, Registration, UserStatus};
use auth_core::ids::UserId;
use auth_core::secret::Secret;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Created, Data, Failure, Success};
use crate::web::extract::{Client, JsonBody};
use crate::web::state::AppState;

/// Where an account stands after a change.
#[derive(Serialize, ToSchema)]
pub struct AccountState {
    pub user_id: UserId,
    pub status: UserStatus,
}

/// Said whatever the outcome, so the answer reveals nothing about the address.
#[derive(Serialize, ToSchema)]
pub struct Notice {
    message: &'static str,
}

/// A new password is set.
#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    password_changed: bool,
}

/// Register an account
///
/// The account starts unverified; a link to verify the email address is mailed. After
/// verification it waits for an administrator's approval.
#[utoipa::path(
    post,
    path = "/api/register",
    operation_id = "register_account",
    tag = "auth",
    request_body = Registration,
    responses(
        (status = 201, description = "The new, unverified account", body = Success<Registered>),
        doc::BodyRefusals,
        (status = 409, description = "DUPLICATE_EMAIL or DUPLICATE_USERNAME (case-insensitive)",
            body = Failure),
        (status = 422, description = "VALIDATION_ERROR: every field at fault at once (email, \
            username, full_name, password too short, long or weak, password_confirmation \
            different), or an unknown field", body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(input): JsonBody<Registration>,
) -> ApiResult<Created<Registered>> {
    Ok(Created(
        state.core.accounts().register(input, &client).await?,
    ))
}

/// A token, mailed or issued.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub(super) token: String,
}

/// Verify an email address
///
/// With the token of the mailed link. The account then waits for an administrator's approval.
#[utoipa::path(
    post,
    path = "/api/auth/verify-email",
    tag = "auth",
    request_body = TokenBody,
    responses(
        (status = 200, description = "The account, now pending approval",
            body = Success<AccountState>),
        doc::BodyRefusals,
        (status = 401, description = "INVALID_TOKEN: unknown or used token; EXPIRED_TOKEN",
            body = Failure),
        (status = 404, description = "NOT_FOUND: the account is gone", body = Failure),
        (status = 409, description = "CONFLICT: the account is not unverified", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `token` missing, or an unknown field",
            body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Data<AccountState>> {
    let user = state
        .core
        .accounts()
        .verify_email(&body.token, &client)
        .await?;
    Ok(Data(AccountState {
        user_id: user.id,
        status: user.status,
    }))
}

/// An email address.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

/// 202 whether or not the address has an account.
fn accepted(message: &'static str) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(Success::new(Notice { message })),
    )
        .into_response()
}

/// Mail a new verification link
///
/// Answers the same whether or not the address has an unverified account; at most
/// `accounts.verification_resends_per_hour` a hour per address.
#[utoipa::path(
    post,
    path = "/api/auth/resend-verification",
    tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "A new link is on its way if the address has an \
            unverified account", body = Success<Notice>),
        doc::BodyRefusals,
        (status = 422, description = "VALIDATION_ERROR: `email` missing, or an unknown field",
            body = Failure),
        (status = 429, description = "RATE_LIMITED: too many links for this address this hour, \
            or too many requests from this address", body = Failure,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        doc::StorageRefusals,
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    // The lookup and the mail run after this answer, which therefore takes the same time whether
    // or not the address has an account; nothing here waits for them.
    let _mail = state
        .core
        .accounts()
        .resend_verification(&body.email, &client)
        .await?;
    Ok(accepted(
        "if this address has an unverified account, a new link is on its way",
    ))
}

/// Ask for a password reset
///
/// Mails a single-use reset link if the address has an account; answers the same either way.
#[utoipa::path(
    post,
    path = "/api/auth/password/forgot",
    tag = "auth",
    request_body = EmailBody,
    responses(
        (status = 202, description = "A link is on its way if the address has an account",
            body = Success<Notice>),
        doc::BodyRefusals,
        (status = 422, description = "VALIDATION_ERROR: `email` missing, or an unknown field",
            body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn forgot_password(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    // As for resend-verification: the answer does not wait for the lookup or the mail.
    let _mail = state
        .core
        .credentials()
        .forgot_password(&body.email, &client)
        .await?;
    Ok(accepted(
        "if this address has an account, a reset link is on its way",
    ))
}

/// A reset token and the new password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    token: String,
    #[schema(schema_with = auth_core::openapi::new_password)]
    new_password: Secret,
}

/// Reset a password
///
/// With the mailed token: sets the new password, ends every session of the account and clears
/// any lock.
#[utoipa::path(
    post,
    path = "/api/auth/password/reset",
    tag = "auth",
    request_body = ResetBody,
    responses(
        (status = 200, description = "The password is changed", body = Success<PasswordChanged>),
        doc::BodyRefusals,
        (status = 401, description = "INVALID_TOKEN: unknown or used token; EXPIRED_TOKEN",
            body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `new_password` too short, long or weak \
            (the token is kept), a field missing, or an unknown field", body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<Data<PasswordChanged>> {
    state
        .core
        .credentials()
        .reset_password(&body.token, body.new_password.expose(), &client)
        .await?;
    Ok(Data(PasswordChanged {
        password_changed: true,
    }))
}
