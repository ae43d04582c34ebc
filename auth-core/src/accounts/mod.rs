//! Accounts: registration, email verification, the approval queue, and managing users (block,
//! delete, restore, self-service). Every change lands in one transaction with its audit entry, its
//! event and its mail, so a failure leaves nothing half-written.

mod admin_edit;
mod decisions;
mod email_change;
pub(crate) mod email_tokens;
mod management;
pub mod notices;
mod registration;
pub(crate) mod store;
mod user;

use crate::context::Base;
use crate::mail::Mailer;
use crate::passwords::Passwords;
use crate::sessions::Sessions;

pub use admin_edit::AdminEdit;
pub use management::ProfileChanges;
pub use registration::{Registered, Registration};
pub use store::UserQuery;
pub use user::{User, UserStatus};

/// What the accounts domain borrows: the base, the password rules (registration hashes one),
/// the mailer, and the sessions (blocking or deleting an account ends them).
#[derive(Clone, Copy)]
pub(crate) struct AccountsCore<'a> {
    pub base: &'a Base,
    pub passwords: &'a Passwords,
    pub mailer: &'a Mailer,
    pub sessions: &'a Sessions,
}

/// The accounts domain.
pub struct Accounts<'a> {
    core: AccountsCore<'a>,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(core: AccountsCore<'a>) -> Self {
        Self { core }
    }
}
