//! auth-sdk against a real HTTP stand-in for the gateway, with tokens signed in the test.

// Tests stop at the first thing that goes wrong, with the reason.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "client")]
mod client;
mod keys;
mod layer;
mod sessions;
mod support;
mod verify;
