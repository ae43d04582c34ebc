//! What every request handler shares: the auth system.

use auth_core::AuthCore;

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub core: AuthCore,
}
