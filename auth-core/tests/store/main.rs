//! The storage suite: every test runs against the embedded engine and PostgreSQL (durable), or
//! against the embedded store and Redis (short-lived), on real servers started by the harness.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod backends;
mod ephemeral;
mod failover;
mod hot_reads;
mod sql;
