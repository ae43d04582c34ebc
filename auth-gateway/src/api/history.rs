//! `/api/admin/audit` and `/api/admin/login-history*`: what happened, for admins to read.

use auth_core::audit::{AuditQuery, AuditRecord};
use auth_core::ids::UserId;
use auth_core::login_history::{GroupBy, HistoryQuery, HistoryRecord, SummaryRow};
use auth_core::page::Page;
use auth_core::sessions::LoginMethod;
use axum::extract::State;
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin::page_of;
use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{AdminReader, QueryParams};
use crate::web::state::AppState;

/// Filters and page of the audit log; every filter is an exact match.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    actor_id: Option<String>,
    /// E.g. `user.approved`.
    action: Option<String>,
    target_id: Option<String>,
    /// `success`, `denied` or `failure`.
    outcome: Option<String>,
    /// From this instant on (RFC 3339).
    from: Option<Timestamp>,
    /// Before this instant (RFC 3339).
    to: Option<Timestamp>,
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// The audit log
///
/// Newest first.
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "admin",
    params(AuditParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of entries", body = Success<Page<AuditRecord>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: `from` or `to` not an RFC 3339 instant, \
            or a bad page or query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
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
        state
            .core
            .audit()
            .list(&reader, &query, page_of(params.page, params.per_page))
            .await?,
    ))
}

/// Filters and page of the login history.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    user_id: Option<UserId>,
    username: Option<String>,
    /// A service slug.
    service: Option<String>,
    /// Only successful (`true`) or failed (`false`) attempts.
    success: Option<bool>,
    /// Only attempts by this way of logging in.
    method: Option<LoginMethod>,
    /// From this instant on (RFC 3339).
    from: Option<Timestamp>,
    /// Before this instant (RFC 3339).
    to: Option<Timestamp>,
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// Filters of the login counts, and how to group them.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    user_id: Option<UserId>,
    username: Option<String>,
    /// A service slug.
    service: Option<String>,
    /// Only successful (`true`) or failed (`false`) attempts.
    success: Option<bool>,
    /// Only attempts by this way of logging in.
    method: Option<LoginMethod>,
    /// From this instant on (RFC 3339).
    from: Option<Timestamp>,
    /// Before this instant (RFC 3339).
    to: Option<Timestamp>,
    #[param(schema_with = auth_core::openapi::group_by)]
    group_by: Option<String>,
}

impl HistoryParams {
    fn query(&self) -> HistoryQuery {
        HistoryQuery {
            user_id: self.user_id,
            username: self.username.clone(),
            service: self.service.clone(),
            success: self.success,
            method: self.method,
            from: self.from,
            to: self.to,
        }
    }
}

impl SummaryParams {
    fn query(&self) -> HistoryQuery {
        HistoryQuery {
            user_id: self.user_id,
            username: self.username.clone(),
            service: self.service.clone(),
            success: self.success,
            method: self.method,
            from: self.from,
            to: self.to,
        }
    }
}

/// The login history
///
/// Every login attempt, by password or QR code, newest first.
#[utoipa::path(
    get,
    path = "/api/admin/login-history",
    tag = "admin",
    params(HistoryParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of attempts", body = Success<Page<HistoryRecord>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: a malformed filter, or a bad page or \
            query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn login_history(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<HistoryParams>,
) -> ApiResult<Data<Page<HistoryRecord>>> {
    Ok(Data(
        state
            .core
            .login_history()
            .list(
                &reader,
                &params.query(),
                page_of(params.page, params.per_page),
            )
            .await?,
    ))
}

/// Login counts
///
/// Logins and failures, grouped by person, service or both.
#[utoipa::path(
    get,
    path = "/api/admin/login-history/summary",
    tag = "admin",
    params(SummaryParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One row per group", body = Success<Vec<SummaryRow>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: `group_by` not `user` and/or \
            `service`, a malformed filter, or an unknown query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn login_summary(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<SummaryParams>,
) -> ApiResult<Data<Vec<SummaryRow>>> {
    let group = GroupBy::parse(params.group_by.as_deref().unwrap_or("user,service"))?;
    Ok(Data(
        state
            .core
            .login_history()
            .summary(&reader, &params.query(), group)
            .await?,
    ))
}
