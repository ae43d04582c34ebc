//! `/api/services/*`: registering and managing the services behind the gateway (admins).

use auth_core::Actor;
use auth_core::services::{NewService, Service, ServiceWithKey};
use axum::extract::State;

use super::envelope::{ApiResult, Created, Data};
use super::extract::{AdminReader, AdminWriter, Client, JsonBody, PathId};
use crate::state::AppState;

pub async fn register(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    JsonBody(new): JsonBody<NewService>,
) -> ApiResult<Created<ServiceWithKey>> {
    Ok(Created(
        state
            .core
            .services()
            .register(Actor::Admin(admin), new, &client)
            .await?,
    ))
}

pub async fn list(State(state): State<AppState>, _: AdminReader) -> ApiResult<Data<Vec<Service>>> {
    Ok(Data(state.core.services().list().await?))
}

pub async fn enable(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(slug): PathId<String>,
) -> ApiResult<Data<Service>> {
    Ok(Data(
        state
            .core
            .services()
            .set_enabled(Actor::Admin(admin), &slug, true, &client)
            .await?,
    ))
}

pub async fn disable(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(slug): PathId<String>,
) -> ApiResult<Data<Service>> {
    Ok(Data(
        state
            .core
            .services()
            .set_enabled(Actor::Admin(admin), &slug, false, &client)
            .await?,
    ))
}

pub async fn rotate_key(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(slug): PathId<String>,
) -> ApiResult<Data<ServiceWithKey>> {
    Ok(Data(
        state
            .core
            .services()
            .rotate_key(Actor::Admin(admin), &slug, &client)
            .await?,
    ))
}
