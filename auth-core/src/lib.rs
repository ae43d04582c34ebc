//! auth-core: every rule of authentication and account life, with no HTTP in it.
//!
//! The gateway is one user of this crate; any Rust application can embed it whole through
//! [`AuthCore`]. Storage sits behind [`store`], time behind [`Clock`], configuration in [`config`],
//! and every refusal is an [`Error`] with a stable code.

pub mod access;
pub mod accounts;
pub mod admins;
pub mod audit;
pub mod clock;
pub mod config;
pub mod context;
mod core;
pub mod credentials;
pub mod error;
pub mod events;
pub mod ids;
pub mod login_history;
pub mod mail;
pub mod measure;
pub mod naming;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod page;
pub mod passwords;
pub mod qr_login;
pub mod retention;
pub mod schedule;
pub mod secret;
pub mod services;
pub mod sessions;
pub mod store;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::Config;
pub use context::{Actor, RequestContext};
pub use core::AuthCore;
pub use error::{Error, ErrorCode, FieldError, InternalCause, Result};
