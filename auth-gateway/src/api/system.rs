//! `/api/system/*` and `/api/admin/schedule`: whether the system is open, its hours, and changing
//! them; `/metrics` for Prometheus.

use auth_core::Error;
use auth_core::schedule::Schedule;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{AdminReader, AdminWriter, Client, JsonBody};
use crate::web::state::AppState;

/// Open or closed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OpenState {
    Open,
    Closed,
}

/// Whether the system is open now, and for how long.
#[derive(Serialize, ToSchema)]
pub struct SystemStatus {
    status: OpenState,
    /// Open, and closing within the warning window.
    warning: bool,
    /// For people, e.g. "open; closing in 10 minutes".
    message: String,
    closes_at: Option<Timestamp>,
    opens_at: Option<Timestamp>,
    seconds_until_close: Option<i64>,
    /// The IANA zone of the schedule.
    timezone: String,
}

/// Whether the system is open
#[utoipa::path(
    get,
    path = "/api/system/status",
    operation_id = "system_status",
    tag = "system",
    responses(
        (status = 200, description = "Open or closed, and until when", body = Success<SystemStatus>),
    )
)]
pub async fn status(State(state): State<AppState>) -> Data<SystemStatus> {
    let schedule = state.core.schedule().current();
    let status = schedule.status_at(state.core.clock().now());
    let message = match (status.open, status.warning) {
        (true, true) => format!(
            "open; closing in {} minutes",
            (status.seconds_until_close.unwrap_or(0).max(0) as u64).div_ceil(60)
        ),
        (true, false) => "open".to_string(),
        (false, _) => match status.opens_at {
            Some(at) => format!("closed; opens at {at}"),
            None => "closed".to_string(),
        },
    };
    Data(SystemStatus {
        status: if status.open {
            OpenState::Open
        } else {
            OpenState::Closed
        },
        warning: status.warning,
        message,
        closes_at: status.closes_at,
        opens_at: status.opens_at,
        seconds_until_close: status.seconds_until_close,
        timezone: schedule.timezone.clone(),
    })
}

/// The operating hours
#[utoipa::path(
    get,
    path = "/api/system/operating-hours",
    tag = "system",
    responses(
        (status = 200, description = "The schedule in force", body = Success<Schedule>),
    )
)]
pub async fn operating_hours(State(state): State<AppState>) -> Data<Schedule> {
    Data((*state.core.schedule().current()).clone())
}

/// The operating hours, for admins
#[utoipa::path(
    get,
    path = "/api/admin/schedule",
    tag = "admin",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The schedule in force", body = Success<Schedule>),
        doc::AdminReaderRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn schedule(State(state): State<AppState>, _: AdminReader) -> Data<Schedule> {
    Data((*state.core.schedule().current()).clone())
}

/// Replace the operating hours
///
/// Takes effect at once on every gateway.
#[utoipa::path(
    put,
    path = "/api/admin/schedule",
    tag = "admin",
    request_body = Schedule,
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The schedule now in force", body = Success<Schedule>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 422, description = "VALIDATION_ERROR: an unknown time zone or day, a time not \
            `HH:MM` (00:00 to 24:00), opening not before closing, or an unknown field",
            body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn replace_schedule(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    JsonBody(schedule): JsonBody<Schedule>,
) -> ApiResult<Data<Schedule>> {
    let stored = state
        .core
        .schedule()
        .replace(schedule, &admin, &client)
        .await?;
    Ok(Data((*stored).clone()))
}

/// Prometheus metrics
///
/// In the Prometheus text format, not in the envelope. Only for clients whose address is in
/// `gateway.metrics_allow` (loopback by default); every other client gets the 404 of an unknown
/// route, so the endpoint does not show that it exists.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "The metrics", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "NOT_FOUND: the client's address is not in \
            `gateway.metrics_allow`", body = Failure),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    Client(client): Client,
) -> ApiResult<impl IntoResponse> {
    if !state
        .core
        .config()
        .gateway
        .metrics_allowed(client.client_ip)
    {
        return Err(Error::NotFound("route").into());
    }
    let mut text = state.metrics.render();
    // Counted by auth-core, not by the edge: what password checks cost, known account or not.
    text.push_str(&format!(
        "# HELP auth_password_verifications_total Password verifications started, against a \
         stored hash or the dummy one.\n\
         # TYPE auth_password_verifications_total counter\n\
         auth_password_verifications_total {}\n",
        state.core.password_verifications()
    ));
    // Read from the queue's table, so every gateway reports the same; left out while the
    // database does not answer rather than failing the whole scrape.
    if let Ok(depth) = state.core.mail_queue_depth().await {
        text.push_str(&format!(
            "# HELP auth_mail_waiting Messages not yet delivered and still to be tried (some \
             after failed tries).\n\
             # TYPE auth_mail_waiting gauge\n\
             auth_mail_waiting {}\n\
             # HELP auth_mail_failed Messages given up on after every delivery attempt failed.\n\
             # TYPE auth_mail_failed gauge\n\
             auth_mail_failed {}\n",
            depth.waiting, depth.failed
        ));
    }
    if let Some(live) = live_sessions(&state).await {
        text.push_str(&live);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// `auth_sessions_live`, in all and per service, from the short-lived store's indexes (the same
/// on every gateway); None while a store does not answer.
async fn live_sessions(state: &AppState) -> Option<String> {
    let slugs: Vec<String> = state
        .core
        .services()
        .list()
        .await
        .ok()?
        .into_iter()
        .map(|s| s.slug)
        .collect();
    let (all, each) = state.core.sessions().live_numbers(&slugs).await.ok()?;
    let mut text = String::from(
        "# HELP auth_sessions_live People's sessions live now, at each service and in all \
         (service=\"\"; the phone and account sessions too).\n\
         # TYPE auth_sessions_live gauge\n",
    );
    text.push_str(&format!("auth_sessions_live{{service=\"\"}} {all}\n"));
    for (slug, count) in slugs.iter().zip(each) {
        text.push_str(&format!(
            "auth_sessions_live{{service=\"{slug}\"}} {count}\n"
        ));
    }
    Some(text)
}
