//! What every request handler shares: the auth system and the edge's metrics.

use std::sync::Arc;

use auth_core::AuthCore;

use crate::web::metrics::Metrics;

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub core: AuthCore,
    pub metrics: Arc<Metrics>,
}
