//! `/api/services/*`: registering and managing the services behind the gateway (admins).

use auth_core::services::{NewService, Service, ServiceChanges, ServiceWithKey};
use axum::extract::State;

use super::openapi as doc;
use crate::web::envelope::{ApiResult, Created, Data, Failure, Success};
use crate::web::extract::{AdminReader, AdminWriter, Client, JsonBody, PathId};
use crate::web::state::AppState;

/// Register a service
///
/// With the hosts and/or path prefix the gateway routes to it, and its upstreams. The answer holds
/// its API key, shown this once; every gateway picks the new routes up.
#[utoipa::path(
    post,
    path = "/api/services/register",
    operation_id = "register_service",
    tag = "services",
    request_body = NewService,
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 201, description = "The service, with its API key",
            body = Success<ServiceWithKey>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 409, description = "CONFLICT: the slug, a host or the path prefix is taken",
            body = Failure),
        (status = 422, description = "VALIDATION_ERROR: every field at fault (`name`, `slug`, \
            `hosts[i]`, `path_prefix`, `upstreams[i]`, neither hosts nor prefix), or an unknown \
            field", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn register(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    JsonBody(new): JsonBody<NewService>,
) -> ApiResult<Created<ServiceWithKey>> {
    Ok(Created(
        state.core.services().register(&admin, new, &client).await?,
    ))
}

/// List the services
#[utoipa::path(
    get,
    path = "/api/services/list",
    operation_id = "list_services",
    tag = "services",
    security(("admin_bearer" = [])),
    responses(
        (status = 200, description = "Every service (never a key)", body = Success<Vec<Service>>),
        doc::AdminReaderRefusals,
        doc::StorageRefusals,
    )
)]
pub async fn list(State(state): State<AppState>, _: AdminReader) -> ApiResult<Data<Vec<Service>>> {
    Ok(Data(state.core.services().list().await?))
}

/// Enable a service
#[utoipa::path(
    post,
    path = "/api/services/{slug}/enable",
    tag = "services",
    params(("slug" = String, Path, description = "The service")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The service, enabled", body = Success<Service>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such service", body = Failure),
        doc::StorageRefusals,
    )
)]
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
            .set_enabled(&admin, &slug, true, &client)
            .await?,
    ))
}

/// Disable a service
///
/// The gateway refuses its traffic (503 SERVICE_DISABLED) and its API key, until it is enabled.
#[utoipa::path(
    post,
    path = "/api/services/{slug}/disable",
    tag = "services",
    params(("slug" = String, Path, description = "The service")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The service, disabled", body = Success<Service>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such service", body = Failure),
        doc::StorageRefusals,
    )
)]
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
            .set_enabled(&admin, &slug, false, &client)
            .await?,
    ))
}

/// Make a new API key
///
/// The old key stops working at once; the new one is shown this once.
#[utoipa::path(
    post,
    path = "/api/services/{slug}/rotate-key",
    tag = "services",
    params(("slug" = String, Path, description = "The service")),
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The service with its new API key",
            body = Success<ServiceWithKey>),
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such service", body = Failure),
        doc::StorageRefusals,
    )
)]
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
            .rotate_key(&admin, &slug, &client)
            .await?,
    ))
}

/// Change a service
///
/// Every field is the new value: the name, hosts, path prefix and upstreams (not of a service the
/// configuration file defines: change the file), and the service's own closing warning. Every
/// gateway follows within seconds.
#[utoipa::path(
    put,
    path = "/api/services/{slug}",
    operation_id = "update_service",
    tag = "services",
    params(("slug" = String, Path, description = "The service")),
    request_body = ServiceChanges,
    security(("admin_bearer" = ["admin"])),
    responses(
        (status = 200, description = "The service as it is now", body = Success<Service>),
        doc::BodyRefusals,
        doc::AdminWriterRefusals,
        (status = 404, description = "NOT_FOUND: no such service", body = Failure),
        (status = 409, description = "CONFLICT: a host or the path prefix belongs to another \
            service, or the configuration file defines this one's hosts, prefix and upstreams",
            body = Failure),
        (status = 422, description = "VALIDATION_ERROR: every field at fault (`name`, \
            `hosts[i]`, `path_prefix`, `upstreams[i]`, `warning_minutes`, neither hosts nor \
            prefix), or an unknown field", body = Failure),
        doc::StorageRefusals,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    PathId(slug): PathId<String>,
    JsonBody(changes): JsonBody<ServiceChanges>,
) -> ApiResult<Data<Service>> {
    Ok(Data(
        state
            .core
            .services()
            .update(&admin, &slug, changes, &client)
            .await?,
    ))
}
