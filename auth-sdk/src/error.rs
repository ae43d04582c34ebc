//! The one error type of the SDK: why a token was refused or the verifier could not be built, each
//! with a stable [`code()`](Error::code) a service can log, count or return.

use std::fmt;

/// Why a token or a verifier was refused.
///
/// Variants may be added; match on [`Error::code`] when you need a stable string.
///
/// ```
/// use auth_sdk::{Error, TokenFlaw};
///
/// assert_eq!(Error::ExpiredToken.code(), "EXPIRED_TOKEN");
/// assert_eq!(Error::InvalidToken(TokenFlaw::Signature).code(), "INVALID_TOKEN");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is not one the gateway signed for this service; the flaw says what is wrong.
    #[error("invalid token: {0}")]
    InvalidToken(TokenFlaw),
    /// The token was valid once, but `exp` (plus leeway) has passed.
    #[error("the token has expired")]
    ExpiredToken,
    /// No signing keys are cached and the JWKS endpoint could not provide any.
    #[error("the gateway's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// The gateway says the token's session has ended (logout, revocation, blocked account).
    #[error("the token's session has ended")]
    SessionEnded,
    /// Session liveness is checked, and the gateway could not say whether the session is live
    /// (unreachable, or it refused the service's API key). The token is refused: fail closed.
    #[error("the session could not be checked: {0}")]
    SessionCheckFailed(String),
    /// The verifier's configuration is wrong; the message names the setting.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The stable machine-readable code: `INVALID_TOKEN`, `EXPIRED_TOKEN`, `KEYS_UNAVAILABLE`,
    /// `SESSION_ENDED`, `SESSION_CHECK_FAILED` or `INVALID_CONFIG`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidToken(_) => "INVALID_TOKEN",
            Error::ExpiredToken => "EXPIRED_TOKEN",
            Error::KeysUnavailable(_) => "KEYS_UNAVAILABLE",
            Error::SessionEnded => "SESSION_ENDED",
            Error::SessionCheckFailed(_) => "SESSION_CHECK_FAILED",
            Error::Config(_) => "INVALID_CONFIG",
        }
    }
}

/// What is wrong with a token refused as [`Error::InvalidToken`].
///
/// For logs and tests; clients should not be told more than "invalid token".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFlaw {
    /// Not three base64url parts of JSON, or longer than any token the gateway issues.
    Malformed,
    /// The `alg` header is not `EdDSA` (this refuses `none` and every HMAC or RSA variant).
    Algorithm,
    /// The header embeds or points at a key (`jwk`, `jku`, `x5u`, `x5c`) or has `crit`.
    EmbeddedKey,
    /// The header has no `kid`.
    MissingKeyId,
    /// No key of the gateway has this `kid`, even after refreshing the key set.
    UnknownKey,
    /// The signature does not verify with the key the `kid` names.
    Signature,
    /// A required claim is missing or has the wrong JSON type, or `sub`/`sid` is not a UUID.
    Claims,
    /// `iss` is not the expected issuer.
    Issuer,
    /// `aud` is not this service.
    Audience,
    /// `nbf` (minus leeway) is still in the future.
    NotYetValid,
    /// `typ` is a kind of token this verifier does not accept.
    Kind,
}

impl fmt::Display for TokenFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenFlaw::Malformed => "malformed token",
            TokenFlaw::Algorithm => "algorithm is not EdDSA",
            TokenFlaw::EmbeddedKey => "header embeds a key reference",
            TokenFlaw::MissingKeyId => "header has no kid",
            TokenFlaw::UnknownKey => "unknown signing key",
            TokenFlaw::Signature => "bad signature",
            TokenFlaw::Claims => "missing or malformed claims",
            TokenFlaw::Issuer => "wrong issuer",
            TokenFlaw::Audience => "wrong audience",
            TokenFlaw::NotYetValid => "not valid yet",
            TokenFlaw::Kind => "token kind not accepted here",
        })
    }
}

impl From<TokenFlaw> for Error {
    fn from(flaw: TokenFlaw) -> Self {
        Error::InvalidToken(flaw)
    }
}
