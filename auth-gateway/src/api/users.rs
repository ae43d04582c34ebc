//! `/api/users/me*`: a person's own account, and personal access tokens (a person's at
//! `/api/users/me/tokens`, an admin's at `/api/admin/tokens`: both paths serve whoever the token
//! names).

use auth_core::accounts::{ProfileChanges, User};
use auth_core::credentials::{NewPersonalAccessToken, PasswordChange, PersonalAccessToken};
use auth_core::page::Page;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi as doc;
use super::registration::AccountState;
use crate::web::envelope::{ApiResult, Created, Data, Failure, Success};
use crate::web::extract::{Caller, Client, JsonBody, PathId};
use crate::web::state::AppState;

/// Something is revoked.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    revoked: bool,
}

/// One's own account
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "accounts",
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Success<User>),
        doc::PersonRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn me(Caller(caller): Caller) -> ApiResult<Data<User>> {
    Ok(Data(caller.require_user()?.clone()))
}

/// Change one's name or username
#[utoipa::path(
    put,
    path = "/api/users/me",
    tag = "accounts",
    request_body = ProfileChanges,
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The changed account", body = Success<User>),
        doc::BodyRefusals,
        doc::PersonRefusals,
        (status = 409, description = "DUPLICATE_USERNAME", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `full_name` or `username` not valid, or \
            an unknown field", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    JsonBody(changes): JsonBody<ProfileChanges>,
) -> ApiResult<Data<User>> {
    let user = caller.require_user()?;
    Ok(Data(
        state
            .core
            .accounts()
            .update_profile(user.id, changes, &client)
            .await?,
    ))
}

/// Delete one's account
///
/// A soft delete: an administrator can restore it. Every session ends.
#[utoipa::path(
    delete,
    path = "/api/users/me",
    tag = "accounts",
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The account, now deleted", body = Success<AccountState>),
        doc::PersonRefusals,
        (status = 409, description = "CONFLICT: the account changed state meanwhile",
            body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn delete_me(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
) -> ApiResult<Data<AccountState>> {
    let user = caller.require_user()?;
    let deleted = state.core.accounts().delete_own(user.id, &client).await?;
    Ok(Data(AccountState {
        user_id: deleted.id,
        status: deleted.status,
    }))
}

/// Sessions ended by a password change or by signing out everywhere.
#[derive(Serialize, ToSchema)]
pub struct SignedOut {
    /// How many sessions ended.
    sessions_ended: usize,
}

/// Change one's password
///
/// The current password proves it is the person (wrong ones count towards the lockout). Every
/// other session, every refresh token and every personal access token of the account ends; the
/// caller's own session goes on. A mail tells the person.
#[utoipa::path(
    put,
    path = "/api/users/me/password",
    tag = "accounts",
    request_body = PasswordChange,
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The password is changed", body = Success<SignedOut>),
        doc::BodyRefusals,
        doc::PersonRefusals,
        (status = 422, description = "VALIDATION_ERROR: `current_password` is not the current \
            password, `new_password` does not meet the rules, or an unknown field",
            body = Failure),
        (status = 423, description = "ACCOUNT_LOCKED: too many wrong passwords", body = Failure),
        doc::RateLimited,
        doc::StorageRefusals,
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    JsonBody(change): JsonBody<PasswordChange>,
) -> ApiResult<Data<SignedOut>> {
    let sessions_ended = state
        .core
        .credentials()
        .change_password(&caller, change, &client)
        .await?;
    Ok(Data(SignedOut { sessions_ended }))
}

/// Sign out everywhere
///
/// Ends every session of the account (the caller's too), every refresh token and every personal
/// access token.
#[utoipa::path(
    post,
    path = "/api/users/me/sign-out-everywhere",
    tag = "accounts",
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "Everything has ended", body = Success<SignedOut>),
        doc::PersonRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
) -> ApiResult<Data<SignedOut>> {
    let sessions_ended = state
        .core
        .credentials()
        .sign_out_everywhere(&caller, &client)
        .await?;
    Ok(Data(SignedOut { sessions_ended }))
}

/// Create a personal access token
///
/// The answer holds the secret, shown this once. The token opens the services named in
/// `services` (at least one) and lets its holder read the account; nothing else.
#[utoipa::path(
    post,
    path = "/api/users/me/tokens",
    tag = "accounts",
    request_body = NewPersonalAccessToken,
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 201, description = "The new token, with its secret in `token`",
            body = Success<PersonalAccessToken>),
        doc::BodyRefusals,
        doc::SignedInRefusals,
        (status = 422, description = "VALIDATION_ERROR: `name` not 1 to 100 characters, \
            `expires_in_days` out of range, `services` empty or naming an unknown service, or \
            an unknown field", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    JsonBody(new): JsonBody<NewPersonalAccessToken>,
) -> ApiResult<Created<PersonalAccessToken>> {
    Ok(Created(
        state
            .core
            .credentials()
            .create_pat(caller.subject(), new, &client)
            .await?,
    ))
}

/// List one's personal access tokens
///
/// Newest first, revoked ones included; never the secrets.
#[utoipa::path(
    get,
    path = "/api/users/me/tokens",
    tag = "accounts",
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The tokens, in one page", body = Success<Page<PersonalAccessToken>>),
        doc::SignedInRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Data<Page<PersonalAccessToken>>> {
    Ok(Data(
        state.core.credentials().list_pats(caller.subject()).await?,
    ))
}

/// Revoke a personal access token
#[utoipa::path(
    delete,
    path = "/api/users/me/tokens/{id}",
    tag = "accounts",
    params(("id" = String, Path, description = "The token's id")),
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The token is revoked", body = Success<Revoked>),
        doc::SignedInRefusals,
        (status = 404, description = "NOT_FOUND: no such token of the caller's", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    PathId(id): PathId<String>,
) -> ApiResult<Data<Revoked>> {
    state
        .core
        .credentials()
        .revoke_pat(caller.subject(), &id, &client)
        .await?;
    Ok(Data(Revoked { revoked: true }))
}

/// What an admin's token is: the same fields as a person's, with no service to name. Only
/// documents the body of `POST /api/admin/tokens`, which is read as a `NewPersonalAccessToken`.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewAdminToken {
    #[schema(schema_with = admin_token_name)]
    name: String,
    /// Days until it expires: 1 to `tokens.pat_max_ttl_days` (365 by default).
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: u32,
    /// Must be empty: an admin's token opens the admin API only.
    #[serde(default)]
    #[schema(max_items = 0)]
    services: Vec<String>,
}

fn admin_token_name() -> utoipa::openapi::schema::Object {
    auth_core::openapi::trimmed(
        100,
        false,
        "1 to 100 characters once surrounding whitespace is trimmed.",
    )
}

/// Create an admin's personal access token
///
/// The same operation as `POST /api/users/me/tokens`, for the admin the token names. An admin's
/// token opens the admin API (by the admin's role) and no service: `services` must be empty.
#[utoipa::path(
    post,
    path = "/api/admin/tokens",
    tag = "admin",
    request_body = NewAdminToken,
    security(("admin_bearer" = [])),
    responses(
        (status = 201, description = "The new token, with its secret in `token`",
            body = Success<PersonalAccessToken>),
        doc::BodyRefusals,
        doc::SignedInRefusals,
        (status = 422, description = "VALIDATION_ERROR: `name` not 1 to 100 characters, \
            `expires_in_days` out of range, `services` not empty, or an unknown field",
            body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn create_admin_token(
    state: State<AppState>,
    client: Client,
    caller: Caller,
    new: JsonBody<NewPersonalAccessToken>,
) -> ApiResult<Created<PersonalAccessToken>> {
    create_token(state, client, caller, new).await
}

/// List an admin's personal access tokens
#[utoipa::path(
    get,
    path = "/api/admin/tokens",
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The tokens, in one page", body = Success<Page<PersonalAccessToken>>),
        doc::SignedInRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn list_admin_tokens(
    state: State<AppState>,
    caller: Caller,
) -> ApiResult<Data<Page<PersonalAccessToken>>> {
    list_tokens(state, caller).await
}

/// Revoke an admin's personal access token
#[utoipa::path(
    delete,
    path = "/api/admin/tokens/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "The token's id")),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The token is revoked", body = Success<Revoked>),
        doc::SignedInRefusals,
        (status = 404, description = "NOT_FOUND: no such token of the caller's", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn revoke_admin_token(
    state: State<AppState>,
    client: Client,
    caller: Caller,
    id: PathId<String>,
) -> ApiResult<Data<Revoked>> {
    revoke_token(state, client, caller, id).await
}
