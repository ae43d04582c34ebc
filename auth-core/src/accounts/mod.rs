//! Accounts: registration, email verification, the approval queue, and managing users (block,
//! delete, restore, self-service). Every change lands in one transaction with its audit entry, its
//! event and its mail, so a failure leaves nothing half-written.

mod decisions;
pub(crate) mod email_tokens;
mod management;
mod registration;
pub mod rules;
pub(crate) mod store;
mod user;

use crate::core::CoreInner;

pub use management::ProfileChanges;
pub use registration::{Registered, Registration};
pub use store::UserQuery;
pub use user::{User, UserStatus};

/// The accounts domain.
pub struct Accounts<'a> {
    core: &'a CoreInner,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }
}
