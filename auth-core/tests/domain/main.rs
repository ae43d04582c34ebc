//! The domains of auth-core driven directly, with the manual clock, on the embedded store and on
//! PostgreSQL + Redis.

mod edge;
mod expiry;
mod failover;
mod harness;
mod lockout;
mod passwords;
mod qr;
mod tokens;
