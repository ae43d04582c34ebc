//! `/api/admin/*`: the approval queue and user management. Every route checks the role: `support`
//! may read, only `admin` may change. Sessions are in `sessions.rs`, the histories in
//! `history.rs`.

use auth_core::accounts::{AdminEdit, User, UserQuery, UserStatus};
use auth_core::credentials::PersonalAccessToken;
use auth_core::ids::UserId;
use auth_core::page::{Page, PageRequest};
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{
    AdminReader, AdminWriter, Client, JsonBody, OptionalJsonBody, PathId, QueryParams,
};
use crate::web::state::AppState;

/// The accounts waiting for a decision
///
/// Verified accounts, oldest first.
#[utoipa::path(
    get,
    path = "/api/admin/pending",
    tag = "admin",
    params(PageRequest),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of pending accounts", body = Success<Page<User>>),
        doc::AdminReaderRefusals,
        (status = 422, description = doc::BAD_PAGE, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn pending(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<PageRequest>,
) -> ApiResult<Data<Page<User>>> {
    Ok(Data(state.core.accounts().pending(&reader, params).await?))
}

/// Approve an account
///
/// The account becomes active and gets its `auth_key`; the person is told by mail.
#[utoipa::path(
    post,
    path = "/api/admin/approve/{id}",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, now active", body = Success<User>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is not pending", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().approve(&admin, id, &client).await?,
    ))
}

/// Why an account request is rejected; the person is told.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schema(schema_with = reason_schema)]
    reason: String,
}

fn reason_schema() -> utoipa::openapi::schema::Object {
    auth_core::openapi::trimmed(
        500,
        false,
        "1 to 500 characters once surrounding whitespace is trimmed.",
    )
}

fn optional_reason_schema() -> utoipa::openapi::schema::Object {
    auth_core::openapi::optional_trimmed(
        500,
        "At most 500 characters once surrounding whitespace is trimmed; empty or null for none.",
    )
}

/// Reject an account request
#[utoipa::path(
    post,
    path = "/api/admin/reject/{id}",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    request_body = ReasonBody,
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, now rejected", body = Success<User>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is not pending", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `reason` missing or not 1 to 500 \
            characters, an unknown field, or the id is not a UUID", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state
            .core
            .accounts()
            .reject(&admin, id, &body.reason, &client)
            .await?,
    ))
}

/// Filters and page of the user list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Only accounts in this state.
    #[param(value_type = Option<UserStatus>)]
    status: Option<String>,
    /// Matched against name, email and username, case-insensitively.
    q: Option<String>,
    /// Registered at or after this instant (RFC 3339).
    registered_from: Option<Timestamp>,
    /// Registered before this instant (RFC 3339).
    registered_before: Option<Timestamp>,
    /// Logged in successfully (any way, anywhere) at or after this instant (RFC 3339).
    logged_in_since: Option<Timestamp>,
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// The page a list asks for, with the defaults for what it leaves out.
pub(super) fn page_of(page: Option<u32>, per_page: Option<u32>) -> PageRequest {
    let default = PageRequest::default();
    PageRequest {
        page: page.unwrap_or(default.page),
        per_page: per_page.unwrap_or(default.per_page),
    }
}

/// List accounts
///
/// Newest first, filtered by state, a search text, when they registered and when they last logged
/// in.
#[utoipa::path(
    get,
    path = "/api/admin/users",
    operation_id = "list_users",
    tag = "admin",
    params(UserListParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = Success<Page<User>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: `status` not a state, or a bad page or \
            query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn users(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<UserListParams>,
) -> ApiResult<Data<Page<User>>> {
    let status = params
        .status
        .as_deref()
        .map(str::parse::<UserStatus>)
        .transpose()?;
    let query = UserQuery {
        status,
        search: params.q,
        registered_from: params.registered_from,
        registered_before: params.registered_before,
        logged_in_since: params.logged_in_since,
    };
    Ok(Data(
        state
            .core
            .accounts()
            .list(&reader, &query, page_of(params.page, params.per_page))
            .await?,
    ))
}

/// An account as an admin sees it: with its personal access tokens and the services each opens.
#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    user: User,
    /// Newest first, revoked ones included; never the secrets.
    personal_access_tokens: Vec<PersonalAccessToken>,
}

/// One account
///
/// The account, with its personal access tokens and the services each may open.
#[utoipa::path(
    get,
    path = "/api/admin/users/{id}",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The account", body = Success<UserDetail>),
        doc::AdminReaderRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn user(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<UserDetail>> {
    let user = state.core.accounts().get(&reader, id).await?;
    let tokens = state.core.credentials().pats_of_user(&reader, id).await?;
    Ok(Data(UserDetail {
        user,
        personal_access_tokens: tokens.items,
    }))
}

/// Why an account is blocked, if the admin says.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionalReason {
    #[schema(schema_with = optional_reason_schema)]
    reason: Option<String>,
}

/// Block an account
///
/// Only an active account; it is signed out everywhere.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/block",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    request_body(content = Option<OptionalReason>, description = "May be left out"),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, now blocked", body = Success<User>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is not active", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `reason` longer than 500 characters, an \
            unknown field, or the id is not a UUID", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn block(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
    OptionalJsonBody(body): OptionalJsonBody<OptionalReason>,
) -> ApiResult<Data<User>> {
    let reason = body.reason;
    Ok(Data(
        state
            .core
            .accounts()
            .block(&admin, id, reason.as_deref(), &client)
            .await?,
    ))
}

/// Unblock an account
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/unblock",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, active again", body = Success<User>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is not blocked", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn unblock(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().unblock(&admin, id, &client).await?,
    ))
}

/// Correct a person's name or email address
///
/// Applied at once; a changed address is told at both ends by mail. A field left out or null is
/// kept.
#[utoipa::path(
    put,
    path = "/api/admin/users/{id}",
    operation_id = "edit_user",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    request_body = AdminEdit,
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account as it is now", body = Success<User>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "DUPLICATE_EMAIL: another account has the address; \
            CONFLICT: the account is deleted (restore it first)", body = Failure),
        (status = 422, description = "VALIDATION_ERROR: `full_name` or `email` at fault, an \
            unknown field, or a malformed id", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn edit_user(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
    JsonBody(edit): JsonBody<AdminEdit>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state
            .core
            .accounts()
            .edit_by_admin(&admin, id, edit, &client)
            .await?,
    ))
}

/// Delete an account
///
/// A soft delete, undone by `restore`; the account is signed out everywhere.
#[utoipa::path(
    delete,
    path = "/api/admin/users/{id}",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, now deleted", body = Success<User>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is already deleted", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn delete_user(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().delete(&admin, id, &client).await?,
    ))
}

/// Restore a deleted account
///
/// In the state it had before it was deleted.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/restore",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The account, restored", body = Success<User>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 409, description = "CONFLICT: the account is not deleted", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn restore(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().restore(&admin, id, &client).await?,
    ))
}

/// An account's locks are cleared.
#[derive(Serialize, ToSchema)]
pub struct Unlocked {
    user_id: UserId,
    unlocked: bool,
}

/// Unlock an account
///
/// Clears the locks of wrong passwords and wrong PINs.
#[utoipa::path(
    post,
    path = "/api/admin/users/{id}/unlock",
    tag = "admin",
    params(("id" = UserId, Path, description = "The user")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The locks are cleared", body = Success<Unlocked>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such user", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn unlock(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<Unlocked>> {
    state.core.credentials().unlock(&admin, id, &client).await?;
    Ok(Data(Unlocked {
        user_id: id,
        unlocked: true,
    }))
}
