//! Who may do what: the table of where each kind of credential is accepted ([`scope`]), and the
//! leave to act as an administrator ([`AdminRead`], [`AdminWrite`]) that only this crate can make.
//! Below every other domain, so each of them can ask.

mod leave;
mod role;
pub mod scope;

pub use leave::{AdminRead, AdminWrite};
pub(crate) use leave::{host_operator, read_leave, write_leave};
pub use role::Role;
pub use scope::{Binding, CredentialKind, Place, PlaceKind};
