//! The gateway's own HTTP API: an axum router that the edge dispatches to in process.

pub mod envelope;
mod health;

use auth_core::Error;
use axum::Router;
use axum::routing::get;

use crate::state::AppState;
use envelope::ApiError;

/// Every route the gateway answers itself.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .fallback(|| async { ApiError(Error::NotFound("route")) })
        .method_not_allowed_fallback(|| async { ApiError(Error::MethodNotAllowed) })
        .with_state(state)
}
