//! What the fuzz targets in `fuzz_targets/` share: a real [`AuthCore`](auth_core::AuthCore) that
//! signs real tokens ([`issuer`]), structured mutations of those tokens ([`jws`]), and the
//! gateway's JWKS served on loopback for the SDK's verifier ([`jwks_endpoint`]).

pub mod issuer;
pub mod jwks_endpoint;
pub mod jws;
