#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod claims;
#[cfg(feature = "client")]
mod client;
mod clock;
mod closing;
mod error;
mod extract;
mod identity;
mod jwks;
mod key_cache;
mod layer;
mod session_check;
mod token;
mod verifier;

pub use builder::{
    DEFAULT_HTTP_TIMEOUT, DEFAULT_LEEWAY, DEFAULT_MAX_KEY_AGE, DEFAULT_REFRESH_INTERVAL,
    VerifierBuilder,
};
#[cfg(feature = "client")]
pub use client::{
    Challenge, ChallengeStatus, ClientError, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRIES, DEFAULT_RETRY_BACKOFF, FieldProblem, Login, Person, QrToken, ServiceClient,
    ServiceClientBuilder, SessionInfo, SessionToken,
};
pub use clock::{Clock, SystemClock};
pub use closing::{CLOSES_AT_HEADER, CLOSING_IN_HEADER, Closing};
pub use error::{Error, TokenFlaw};
pub use extract::{AuthRejection, AuthUser, RequireRole, Role};
pub use identity::{Identity, SessionId, TokenKind, UserId};
pub use layer::{ASSERTION_HEADER, AuthLayer, AuthService, CredentialRefused};
pub use session_check::{DEFAULT_SESSION_CACHE_TTL, SessionCheck};
pub use verifier::Verifier;
