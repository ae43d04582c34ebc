//! `/api/admin/*`: the approval queue, user management and the audit log. Every route checks the
//! role: `support` may read, only `admin` may change.

use auth_core::accounts::{User, UserQuery, UserStatus};
use auth_core::audit::{AuditQuery, AuditRecord};
use auth_core::ids::{SessionId, UserId};
use auth_core::login_history::{GroupBy, HistoryQuery, HistoryRecord, SummaryRow};
use auth_core::page::{Page, PageRequest};
use auth_core::sessions::{Session, Subject};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    user_id: UserId,
}

pub async fn sessions(
    State(state): State<AppState>,
    _: AdminReader,
    QueryParams(params): QueryParams<SessionParams>,
) -> ApiResult<Data<Vec<Session>>> {
    Ok(Data(
        state
            .core
            .sessions()
            .list(&Subject::User(params.user_id))
            .await?,
    ))
}

pub async fn revoke_session(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<SessionId>,
) -> ApiResult<Data<serde_json::Value>> {
    state
        .core
        .credentials()
        .revoke_session(admin, id, &client)
        .await?;
    Ok(Data(json!({ "session_id": id, "revoked": true })))
}

pub async fn revoke_sessions(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    QueryParams(params): QueryParams<SessionParams>,
) -> ApiResult<Data<serde_json::Value>> {
    let ended = state
        .core
        .credentials()
        .revoke_all_sessions(admin, params.user_id, &client)
        .await?;
    Ok(Data(json!({ "user_id": params.user_id, "revoked": ended })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    user_id: Option<UserId>,
    username: Option<String>,
    service: Option<String>,
    success: Option<bool>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    group_by: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl HistoryParams {
    fn query(&self) -> HistoryQuery {
        HistoryQuery {
            user_id: self.user_id,
            username: self.username.clone(),
            service: self.service.clone(),
            success: self.success,
            from: self.from,
            to: self.to,
        }
    }
}

pub async fn login_history(
    State(state): State<AppState>,
    _: AdminReader,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Data<Page<HistoryRecord>>> {
    Ok(Data(
        state
            .core
            .login_history()
            .list(&params.query(), page_of(params.page, params.per_page))
            .await?,
    ))
}

pub async fn login_summary(
    State(state): State<AppState>,
    _: AdminReader,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Data<Vec<SummaryRow>>> {
    let group = GroupBy::parse(params.group_by.as_deref().unwrap_or("user,service"))?;
    Ok(Data(
        state
            .core
            .login_history()
            .summary(&params.query(), group)
            .await?,
    ))
}
