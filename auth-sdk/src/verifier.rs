//! The [`Verifier`]: checks a gateway token end to end (header, key, signature, claims, and
//! optionally the session's liveness) and says whose it is.

use std::fmt;
use std::sync::Arc;

use crate::builder::VerifierBuilder;
use crate::claims::Policy;
use crate::clock::{Clock, unix_seconds};
use crate::error::Error;
use crate::identity::Identity;
use crate::key_cache::KeyCache;
use crate::session_check::SessionChecker;
use crate::token;

/// Verifies the gateway's tokens in-process. Cheap to clone: clones share the key cache.
///
/// Build one per service with [`Verifier::builder`], at startup, and share it.
///
/// ```
/// use auth_sdk::{TokenFlaw, Verifier, Error};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_sdk::Error> {
/// let verifier = Verifier::builder(
///     "https://auth.example.com/.well-known/jwks.json",
///     "auth-gateway",
///     "service-b",
/// )
/// .build()?;
///
/// // Refused before any key is fetched: not a JWT at all.
/// let refused = verifier.verify("not-a-token").await;
/// assert_eq!(refused, Err(Error::InvalidToken(TokenFlaw::Malformed)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) policy: Policy,
    pub(crate) keys: KeyCache,
    pub(crate) sessions: Option<SessionChecker>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Verifier {
    /// Starts building a verifier for tokens from the gateway whose keys are published at
    /// `jwks_url`, issued by `issuer` (the gateway's default is `auth-gateway`) for `audience`
    /// (this service's slug, such as `service-b`).
    pub fn builder(
        jwks_url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> VerifierBuilder {
        VerifierBuilder::new(jwks_url.into(), issuer.into(), audience.into())
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Verifies `token` (the bare JWT, without `Bearer `) and returns who it speaks for.
    ///
    /// Refuses, in this order: a malformed token or one longer than 8 KiB; an `alg` other than
    /// `EdDSA`; a header with `jwk`, `jku`, `x5u`, `x5c` or `crit`; a missing or unknown `kid`;
    /// a bad signature; missing or mistyped claims; the wrong `iss` or `aud`; an expired token or
    /// one not valid yet (both with the leeway); a kind not accepted; and, with the session check
    /// on, a session the gateway reports ended.
    ///
    /// An unknown `kid` refreshes the key set (one fetch at a time, at most once per refresh
    /// interval). With no keys cached and the JWKS endpoint unreachable, the answer is
    /// [`Error::KeysUnavailable`].
    pub async fn verify(&self, token: &str) -> Result<Identity, Error> {
        let signed = token::parse(token)?;
        let key = self.inner.keys.key(&signed.kid).await?;
        let payload = signed.verify(&key)?;
        let now = unix_seconds(self.inner.clock.now());
        let identity = self.inner.policy.check(&payload, now)?;
        if let (Some(sessions), Some(sid)) = (&self.inner.sessions, identity.session_id) {
            sessions.ensure_live(sid).await?;
        }
        Ok(identity)
    }

    /// Fetches the key set now, ignoring the refresh interval, and returns how many keys it
    /// holds. Useful at startup, to fail fast when the gateway's JWKS is unreachable; the
    /// verifier fetches on first use anyway. On failure the cached keys, if any, stay in use.
    pub async fn refresh_keys(&self) -> Result<usize, Error> {
        self.inner.keys.refresh().await
    }

    /// The audience tokens must name (`aud`).
    pub fn audience(&self) -> &str {
        &self.inner.policy.audience
    }

    /// The issuer tokens must name (`iss`).
    pub fn issuer(&self) -> &str {
        &self.inner.policy.issuer
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.policy.issuer)
            .field("audience", &self.inner.policy.audience)
            .field("kinds", &self.inner.policy.kinds)
            .field("session_check", &self.inner.sessions.is_some())
            .finish_non_exhaustive()
    }
}
