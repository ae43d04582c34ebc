//! auth-core: every rule of authentication and account life, with no HTTP in it.
//!
//! The gateway is one user of this crate; any Rust application can embed it whole. Storage sits
//! behind [`store`], time behind [`Clock`], configuration in [`config`], and every refusal is an
//! [`Error`] with a stable code.

pub mod clock;
pub mod config;
pub mod error;
pub mod services;
pub mod store;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::Config;
pub use error::{Error, ErrorCode, FieldError, Result};
