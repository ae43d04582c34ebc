//! The QR + PIN login: `/api/auth/qr/*` and `/api/auth/pin/verify` (services, with their API key),
//! the scan (a person's phone), and `/api/auth/session`.

use auth_core::Error;
use auth_core::credentials::{CredentialKind, Principal};
use auth_core::qr_login::{ChallengeState, NewChallenge, PinLogin, ScanResult};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::envelope::{ApiResult, Created, Data};
use super::extract::{Caller, Client, JsonBody, PathId, ServiceCaller};
use crate::state::AppState;

pub async fn generate(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    Client(client): Client,
) -> ApiResult<Created<NewChallenge>> {
    Ok(Created(
        state
            .core
            .qr_login()
            .generate(&service, &client, None)
            .await?,
    ))
}

pub async fn status(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    PathId(token): PathId<String>,
) -> ApiResult<Data<ChallengeState>> {
    Ok(Data(state.core.qr_login().state(&service, &token).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    qr_token: String,
}

pub async fn scan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Client(client): Client,
    JsonBody(body): JsonBody<ScanBody>,
) -> ApiResult<Data<ScanResult>> {
    let Principal::User {
        user, credential, ..
    } = &caller
    else {
        return Err(Error::Forbidden("only a person's phone can scan".into()).into());
    };
    if !matches!(
        credential,
        CredentialKind::AccessToken | CredentialKind::PersonalAccessToken
    ) {
        return Err(Error::Forbidden(
            "scan with the phone's own login (an access token or personal access token)".into(),
        )
        .into());
    }
    Ok(Data(
        state
            .core
            .qr_login()
            .scan(user, &body.qr_token, &client)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    qr_token: String,
    pin: String,
}

pub async fn verify_pin(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    Client(client): Client,
    JsonBody(body): JsonBody<VerifyBody>,
) -> ApiResult<Data<PinLogin>> {
    Ok(Data(
        state
            .core
            .qr_login()
            .verify_pin(&service, &body.qr_token, body.pin.trim(), &client, None)
            .await?,
    ))
}

/// Whether the caller's session is live, and whose it is.
pub async fn session(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Data<serde_json::Value>> {
    let Principal::User {
        user,
        session: Some(id),
        audience,
        ..
    } = &caller
    else {
        return Err(Error::invalid("authorization", "this needs a session or access token").into());
    };
    let session = state
        .core
        .sessions()
        .live(id)
        .await?
        .ok_or(Error::InvalidToken)?;
    Ok(Data(json!({
        "live": true,
        "session": session,
        "audience": audience,
        "user": {
            "user_id": user.id,
            "username": user.username,
            "email": user.email,
            "full_name": user.full_name,
        },
    })))
}

/// For services that check revocation at once (the SDK's liveness option): is session `id` live?
pub async fn session_live(
    State(state): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    PathId(id): PathId<auth_core::ids::SessionId>,
) -> ApiResult<Data<serde_json::Value>> {
    let live = state
        .core
        .credentials()
        .session_is_live(id, &service.slug)
        .await?;
    Ok(Data(json!({ "live": live })))
}
