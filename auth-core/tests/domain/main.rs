//! The domains of auth-core driven directly, with the manual clock, on the embedded store and on
//! PostgreSQL + Redis.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod edge;
mod expiry;
mod failover;
mod harness;
mod invites;
mod lockout;
mod notices;
mod passwords;
mod qr;
mod retention;
mod service_changes;
mod tokens;
mod webhooks;
