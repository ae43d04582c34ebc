//! `GET /api/users/me/logins`: a person's own login history, so they can spot a login that was
//! not theirs. The same rows the admins' history holds, only the caller's.

use auth_core::login_history::HistoryRecord;
use auth_core::page::{Page, PageRequest};
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin::page_of;
use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{Caller, QueryParams};
use crate::web::state::AppState;

/// Which page of one's own history.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OwnLoginsParams {
    /// From 1; default 1.
    #[param(minimum = 1, maximum = 4294967295_u64, value_type = Option<u64>)]
    page: Option<u32>,
    /// 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u32>,
}

impl OwnLoginsParams {
    fn page(&self) -> PageRequest {
        page_of(self.page, self.per_page)
    }
}

/// One's own login history
///
/// Every login attempt of the caller's account (by password, QR code and PIN, or personal access
/// token; failed ones too), newest first.
#[utoipa::path(
    get,
    path = "/api/users/me/logins",
    tag = "accounts",
    params(OwnLoginsParams),
    security(("bearer" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "One page of attempts", body = Success<Page<HistoryRecord>>),
        doc::PersonRefusals,
        (status = 422, description = doc::BAD_PAGE, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn own_logins(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<OwnLoginsParams>,
) -> ApiResult<Data<Page<HistoryRecord>>> {
    let user = caller.require_user()?;
    Ok(Data(
        state
            .core
            .login_history()
            .list_own(user.id, params.page())
            .await?,
    ))
}
