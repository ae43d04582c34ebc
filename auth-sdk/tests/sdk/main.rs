//! auth-sdk against a real HTTP stand-in for the gateway, with tokens signed in the test.

#[cfg(feature = "client")]
mod client;
mod keys;
mod layer;
mod sessions;
mod support;
mod verify;
