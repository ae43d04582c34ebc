//! What every request handler shares: configuration, stores and the clock.

use std::sync::Arc;

use auth_core::store::Stores;
use auth_core::{Config, SharedClock};

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub clock: SharedClock,
}
