//! The gateway's own HTTP API: an axum router that the edge dispatches to in process.

mod admin;
mod auth;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod health;
mod history;
mod mail;
pub mod openapi;
mod own_logins;
mod qr;
mod registration;
mod services;
mod sessions;
mod system;
mod users;
mod webhook_events;
mod webhooks;

use auth_core::Error;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::web::envelope::ApiError;
use crate::web::refusal::Refusal;
use crate::web::state::AppState;

/// Cross-origin access for the configured origins only, with credentials; never a wildcard.
fn cors(state: &AppState) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, HeaderValue, Method};
    let origins: Vec<HeaderValue> = state
        .core
        .config()
        .cors
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
        ])
}

/// The API's routes, each registered with its OpenAPI operation, so the document and the router
/// cannot disagree about paths and methods.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(system::metrics))
        .routes(routes!(auth::jwks))
        .routes(routes!(openapi::document))
        .routes(routes!(registration::register))
        .routes(routes!(registration::verify_email))
        .routes(routes!(registration::resend_verification))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::validate_token))
        .routes(routes!(registration::forgot_password))
        .routes(routes!(registration::reset_password))
        .routes(routes!(users::me, users::update_me, users::delete_me))
        .routes(routes!(users::change_password))
        .routes(routes!(users::sign_out_everywhere))
        .routes(routes!(users::create_token, users::list_tokens))
        .routes(routes!(users::revoke_token))
        .routes(routes!(own_logins::own_logins))
        .routes(routes!(auth::admin_login))
        .routes(routes!(users::create_admin_token, users::list_admin_tokens))
        .routes(routes!(users::revoke_admin_token))
        .routes(routes!(admin::pending))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::reject))
        .routes(routes!(admin::users))
        .routes(routes!(admin::user, admin::edit_user, admin::delete_user))
        .routes(routes!(admin::block))
        .routes(routes!(admin::unblock))
        .routes(routes!(admin::restore))
        .routes(routes!(admin::unlock))
        .routes(routes!(history::audit))
        .routes(routes!(mail::undelivered))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(sessions::sessions, sessions::revoke_sessions))
        .routes(routes!(sessions::revoke_session))
        .routes(routes!(history::login_history))
        .routes(routes!(history::login_summary))
        .routes(routes!(services::register))
        .routes(routes!(services::list))
        .routes(routes!(services::enable))
        .routes(routes!(services::disable))
        .routes(routes!(services::rotate_key))
        .routes(routes!(services::update))
        .routes(routes!(qr::generate))
        .routes(routes!(qr::status))
        .routes(routes!(qr::scan))
        .routes(routes!(qr::verify_pin))
        .routes(routes!(qr::session))
        .routes(routes!(qr::session_live))
        .routes(routes!(system::status))
        .routes(routes!(system::operating_hours))
        .routes(routes!(system::schedule, system::replace_schedule))
}

/// The OpenAPI document of the API, as `GET /api/openapi.json` serves it. The HTML pages are not
/// part of it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::complete(webhook_events::describe(documented().into_openapi()))
}

/// Every route of the API as (method, path pattern), from the same routes the router serves.
pub fn served_routes() -> Vec<(http::Method, String)> {
    let mut served = Vec::new();
    for (path, item) in openapi().paths.paths {
        let operations = [
            (http::Method::GET, item.get.is_some()),
            (http::Method::PUT, item.put.is_some()),
            (http::Method::POST, item.post.is_some()),
            (http::Method::DELETE, item.delete.is_some()),
            (http::Method::PATCH, item.patch.is_some()),
            (http::Method::HEAD, item.head.is_some()),
            (http::Method::OPTIONS, item.options.is_some()),
        ];
        for (method, present) in operations {
            if present {
                served.push((method, path.clone()));
            }
        }
    }
    served
}

/// Every route the gateway answers itself: the API, and `pages` beside it under the same
/// fallbacks and CORS rules.
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    openapi::prepare();
    let (api, _) = documented().split_for_parts();
    api.merge(pages)
        .fallback(|| async { ApiError(Error::NotFound("route").into()) })
        .method_not_allowed_fallback(|| async { ApiError(Refusal::MethodNotAllowed) })
        .layer(cors(&state))
        .with_state(state)
}
