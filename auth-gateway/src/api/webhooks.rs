//! `/api/admin/webhooks/deliveries`: the delivery log of webhooks, for admins to read.

use auth_core::events::webhooks::DeliveryAttempt;
use auth_core::page::Page;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin::page_of;
use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{AdminReader, QueryParams};
use crate::web::state::AppState;

/// Filters and page of the delivery log; each filter is an exact match.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// A webhook's `name` in the configuration.
    webhook: Option<String>,
    /// An event's id (the `X-Webhook-Id` receivers got).
    event_id: Option<String>,
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// The webhook delivery log
///
/// Every attempt to deliver an event to a webhook, newest first: its HTTP status, what went
/// wrong, and whether another attempt follows.
#[utoipa::path(
    get,
    path = "/api/admin/webhooks/deliveries",
    tag = "admin",
    params(DeliveryParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of attempts", body = Success<Page<DeliveryAttempt>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: a bad page or query parameter",
            body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<DeliveryParams>,
) -> ApiResult<Data<Page<DeliveryAttempt>>> {
    Ok(Data(
        state
            .core
            .webhooks()
            .attempts(
                &reader,
                params.webhook,
                params.event_id,
                page_of(params.page, params.per_page),
            )
            .await?,
    ))
}
