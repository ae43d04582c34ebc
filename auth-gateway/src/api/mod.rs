//! The gateway's own HTTP API: an axum router that the edge dispatches to in process.

mod admin;
mod auth;
pub(crate) mod cookies;
pub mod envelope;
pub mod extract;
mod health;
mod qr;
mod services;
mod system;
mod users;

use auth_core::Error;
use axum::Router;
use axum::routing::{delete, get, post};

use crate::state::AppState;
use envelope::ApiError;

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

/// Every route the gateway answers itself.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/api/register", post(auth::register))
        .route("/api/auth/verify-email", post(auth::verify_email))
        .route(
            "/api/auth/resend-verification",
            post(auth::resend_verification),
        )
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/refresh", post(auth::refresh))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/validate-token", post(auth::validate_token))
        .route("/api/auth/password/forgot", post(auth::forgot_password))
        .route("/api/auth/password/reset", post(auth::reset_password))
        .route(
            "/api/users/me",
            get(users::me)
                .put(users::update_me)
                .delete(users::delete_me),
        )
        .route(
            "/api/users/me/tokens",
            post(users::create_token).get(users::list_tokens),
        )
        .route("/api/users/me/tokens/{id}", delete(users::revoke_token))
        .route("/api/admin/login", post(auth::admin_login))
        .route(
            "/api/admin/tokens",
            post(users::create_token).get(users::list_tokens),
        )
        .route("/api/admin/tokens/{id}", delete(users::revoke_token))
        .route("/api/admin/pending", get(admin::pending))
        .route("/api/admin/approve/{id}", post(admin::approve))
        .route("/api/admin/reject/{id}", post(admin::reject))
        .route("/api/admin/users", get(admin::users))
        .route(
            "/api/admin/users/{id}",
            get(admin::user).delete(admin::delete_user),
        )
        .route("/api/admin/users/{id}/block", post(admin::block))
        .route("/api/admin/users/{id}/unblock", post(admin::unblock))
        .route("/api/admin/users/{id}/restore", post(admin::restore))
        .route("/api/admin/users/{id}/unlock", post(admin::unlock))
        .route("/api/admin/audit", get(admin::audit))
        .route(
            "/api/admin/sessions",
            get(admin::sessions).delete(admin::revoke_sessions),
        )
        .route("/api/admin/sessions/{id}", delete(admin::revoke_session))
        .route("/api/admin/login-history", get(admin::login_history))
        .route(
            "/api/admin/login-history/summary",
            get(admin::login_summary),
        )
        .route("/api/services/register", post(services::register))
        .route("/api/services/list", get(services::list))
        .route("/api/services/{slug}/enable", post(services::enable))
        .route("/api/services/{slug}/disable", post(services::disable))
        .route(
            "/api/services/{slug}/rotate-key",
            post(services::rotate_key),
        )
        .route("/api/auth/qr/generate", post(qr::generate))
        .route("/api/auth/qr/{token}/status", get(qr::status))
        .route("/api/auth/qr/scan", post(qr::scan))
        .route("/api/auth/pin/verify", post(qr::verify_pin))
        .route("/api/auth/session", get(qr::session))
        .route("/api/auth/sessions/{id}", get(qr::session_live))
        .route("/api/system/status", get(system::status))
        .route("/api/system/operating-hours", get(system::operating_hours))
        .route(
            "/api/admin/schedule",
            get(system::schedule).put(system::replace_schedule),
        )
        .route("/metrics", get(system::metrics))
        .merge(crate::pages::routes())
        .fallback(|| async { ApiError(Error::NotFound("route")) })
        .method_not_allowed_fallback(|| async { ApiError(Error::MethodNotAllowed) })
        .layer(cors(&state))
        .with_state(state)
}
