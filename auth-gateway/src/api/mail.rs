//! `GET /api/admin/mail`: the mail that has not gone out, waiting for its next try or given up.

use auth_core::mail::queue::{MailState, QueuedMail};
use auth_core::page::{Page, PageRequest};
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin::page_of;
use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{AdminReader, QueryParams};
use crate::web::state::AppState;

/// Which unsent mail to list, and the page.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MailParams {
    /// `waiting` (still to be tried) or `failed` (given up); both when absent.
    state: Option<MailState>,
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

/// Mail not delivered
///
/// Messages still waiting to be delivered (retried with backoff after each failure) and those
/// given up on after the last attempt, oldest first; bodies are never shown.
#[utoipa::path(
    get,
    path = "/api/admin/mail",
    tag = "admin",
    params(MailParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "One page of undelivered mail", body = Success<Page<QueuedMail>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: an unknown `state`, or a bad page or \
            query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn undelivered(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<MailParams>,
) -> ApiResult<Data<Page<QueuedMail>>> {
    let page: PageRequest = page_of(params.page, params.per_page);
    Ok(Data(
        state.core.mail_queue(&reader, params.state, page).await?,
    ))
}
