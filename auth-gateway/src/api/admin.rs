//! `/api/admin/*`: the approval queue, user management and the audit log. Every route checks the
//! role: `support` may read, only `admin` may change.

use auth_core::accounts::{User, UserQuery, UserStatus};
use auth_core::audit::{AuditQuery, AuditRecord};
use auth_core::ids::UserId;
use auth_core::page::{Page, PageRequest};
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::envelope::{ApiResult, Data};
use super::extract::{
    AdminReader, AdminWriter, Client, JsonBody, OptionalJsonBody, PathId, QueryParams,
};
use crate::state::AppState;

pub async fn pending(
    State(state): State<AppState>,
    _: AdminReader,
    QueryParams(params): QueryParams<PageRequest>,
) -> ApiResult<Data<Page<User>>> {
    Ok(Data(state.core.accounts().pending(params).await?))
}

pub async fn approve(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().approve(admin, id, &client).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

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
            .reject(admin, id, &body.reason, &client)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserListParams {
    status: Option<String>,
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

fn page_of(page: Option<u32>, per_page: Option<u32>) -> PageRequest {
    let default = PageRequest::default();
    PageRequest {
        page: page.unwrap_or(default.page),
        per_page: per_page.unwrap_or(default.per_page),
    }
}

pub async fn users(
    State(state): State<AppState>,
    _: AdminReader,
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
    };
    Ok(Data(
        state
            .core
            .accounts()
            .list(&query, page_of(params.page, params.per_page))
            .await?,
    ))
}

pub async fn user(
    State(state): State<AppState>,
    _: AdminReader,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(state.core.accounts().get(id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OptionalReason {
    reason: Option<String>,
}

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
            .block(admin, id, reason.as_deref(), &client)
            .await?,
    ))
}

pub async fn unblock(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().unblock(admin, id, &client).await?,
    ))
}

pub async fn delete_user(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state
            .core
            .accounts()
            .delete(auth_core::Actor::Admin(admin), id, &client)
            .await?,
    ))
}

pub async fn restore(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<User>> {
    Ok(Data(
        state.core.accounts().restore(admin, id, &client).await?,
    ))
}

pub async fn unlock(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<UserId>,
) -> ApiResult<Data<serde_json::Value>> {
    state.core.credentials().unlock(admin, id, &client).await?;
    Ok(Data(json!({ "user_id": id, "unlocked": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    actor_id: Option<String>,
    action: Option<String>,
    target_id: Option<String>,
    outcome: Option<String>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    page: Option<u32>,
    per_page: Option<u32>,
}

pub async fn audit(
    State(state): State<AppState>,
    _: AdminReader,
    QueryParams(params): QueryParams<AuditParams>,
) -> ApiResult<Data<Page<AuditRecord>>> {
    let query = AuditQuery {
        actor_id: params.actor_id,
        action: params.action,
        target_id: params.target_id,
        outcome: params.outcome,
        from: params.from,
        to: params.to,
    };
    Ok(Data(
        auth_core::audit::list(
            &state.core.stores().db,
            &query,
            page_of(params.page, params.per_page),
        )
        .await?,
    ))
}
