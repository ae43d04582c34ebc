//! Verifies the gateway's tokens in-process.
