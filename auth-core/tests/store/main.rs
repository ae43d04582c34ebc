//! The storage suite: every test runs against the embedded engine and PostgreSQL (durable), or
//! against the embedded store and Redis (short-lived), on real servers started by the harness.

mod backends;
mod ephemeral;
mod failover;
mod sql;
