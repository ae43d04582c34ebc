//! `/api/admin/sessions*`: a person's live sessions, and ending them (admins).

use auth_core::ids::{SessionId, UserId};
use auth_core::sessions::{Session, Subject};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Data, Failure, Success};
use crate::web::extract::{AdminReader, AdminWriter, Client, PathId, QueryParams};
use crate::web::state::AppState;

/// Whose sessions.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionParams {
    /// The person.
    user_id: UserId,
}

/// One session has ended.
#[derive(Serialize, ToSchema)]
pub struct SessionRevoked {
    session_id: SessionId,
    revoked: bool,
}

/// Every session of a person has ended.
#[derive(Serialize, ToSchema)]
pub struct SessionsRevoked {
    user_id: UserId,
    /// How many sessions ended.
    revoked: usize,
}

/// A person's live sessions
///
/// At the API and at services.
#[utoipa::path(
    get,
    path = "/api/admin/sessions",
    tag = "admin",
    params(SessionParams),
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "The live sessions", body = Success<Vec<Session>>),
        doc::AdminReaderRefusals,
        (status = 422, description = "VALIDATION_ERROR: `user_id` missing or not a UUID, or an \
            unknown query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn sessions(
    State(state): State<AppState>,
    AdminReader(reader): AdminReader,
    QueryParams(params): QueryParams<SessionParams>,
) -> ApiResult<Data<Vec<Session>>> {
    Ok(Data(
        state
            .core
            .sessions()
            .list_for_admin(&reader, &Subject::User(params.user_id))
            .await?,
    ))
}

/// End one session
///
/// Its tokens stop working at once, at the API and at the edge.
#[utoipa::path(
    delete,
    path = "/api/admin/sessions/{id}",
    tag = "admin",
    params(("id" = SessionId, Path, description = "The session")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The session has ended", body = Success<SessionRevoked>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such live session", body = Failure),
        (status = 422, description = doc::BAD_ID, body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(id): PathId<SessionId>,
) -> ApiResult<Data<SessionRevoked>> {
    state
        .core
        .sessions()
        .end_by_admin(&admin, id, &client)
        .await?;
    Ok(Data(SessionRevoked {
        session_id: id,
        revoked: true,
    }))
}

/// End every session of a person
#[utoipa::path(
    delete,
    path = "/api/admin/sessions",
    tag = "admin",
    params(SessionParams),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The sessions have ended", body = Success<SessionsRevoked>),
        doc::AdminWriterRefusals,
        (status = 422, description = "VALIDATION_ERROR: `user_id` missing or not a UUID, or an \
            unknown query parameter", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    QueryParams(params): QueryParams<SessionParams>,
) -> ApiResult<Data<SessionsRevoked>> {
    let ended = state
        .core
        .sessions()
        .end_all_by_admin(&admin, params.user_id, &client)
        .await?;
    Ok(Data(SessionsRevoked {
        user_id: params.user_id,
        revoked: ended,
    }))
}
