//! `/api/users/me*`: a person's own account and personal access tokens.

use auth_core::accounts::{ProfileChanges, User};
use auth_core::credentials::{NewPersonalAccessToken, PersonalAccessToken};
use auth_core::page::Page;
use axum::extract::State;
use serde_json::json;

use super::envelope::{ApiResult, Created, Data};
use super::extract::{Caller, Client, JsonBody, PathId};
use crate::state::AppState;

pub async fn me(Caller(caller): Caller) -> ApiResult<Data<User>> {
    Ok(Data(caller.require_user()?.clone()))
}

pub async fn update_me(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    JsonBody(changes): JsonBody<ProfileChanges>,
) -> ApiResult<Data<User>> {
    let user = caller.require_user()?;
    Ok(Data(
        state
            .core
            .accounts()
            .update_profile(user.id, changes, &client)
            .await?,
    ))
}

pub async fn delete_me(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
) -> ApiResult<Data<serde_json::Value>> {
    let user = caller.require_user()?;
    let deleted = state
        .core
        .accounts()
        .delete(caller.actor(), user.id, &client)
        .await?;
    Ok(Data(
        json!({ "user_id": deleted.id, "status": deleted.status }),
    ))
}

pub async fn create_token(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    JsonBody(new): JsonBody<NewPersonalAccessToken>,
) -> ApiResult<Created<PersonalAccessToken>> {
    Ok(Created(
        state
            .core
            .credentials()
            .create_pat(caller.subject(), new, &client)
            .await?,
    ))
}

pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> ApiResult<Data<Page<PersonalAccessToken>>> {
    Ok(Data(
        state.core.credentials().list_pats(caller.subject()).await?,
    ))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Client(client): Client,
    Caller(caller): Caller,
    PathId(id): PathId<String>,
) -> ApiResult<Data<serde_json::Value>> {
    state
        .core
        .credentials()
        .revoke_pat(caller.subject(), &id, &client)
        .await?;
    Ok(Data(json!({ "revoked": true })))
}
