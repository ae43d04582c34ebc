//! Passwords: the rules a new password must meet (`policy`) and Argon2id hashing off the async
//! threads (`hasher`).

mod hash_pool;
mod hasher;
mod policy;

pub use hasher::{PasswordHasher, Verified};
pub use policy::{PasswordPolicy, Strength};

/// The password rules and the hasher, as the domains that take passwords use them.
pub(crate) struct Passwords {
    pub hasher: PasswordHasher,
    pub policy: PasswordPolicy,
}
