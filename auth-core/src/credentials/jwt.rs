//! JSON Web Tokens: signed with the current Ed25519 key, verified with the algorithm pinned.
//!
//! Verification refuses, before any signature check: an algorithm other than EdDSA (so `none` and
//! HMAC-with-the-public-key never get a chance), a missing or unknown `kid`, and embedded key
//! references (`jwk`, `jku`, `x5u`, `x5c`), which are never fetched or trusted. It requires `exp`,
//! `nbf`, `iss`, `aud` and `sub` with their proper JSON types, and checks times against the
//! [`Clock`](crate::Clock) with a small leeway. Each token names its kind, and one kind is never
//! accepted where another is expected.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::KeyRing;
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::ids::row_id;

/// Longer than any token we issue; anything bigger is refused unread.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A user's short-lived credential for the auth API (password login).
    Access,
    /// A user's session at one service (QR + PIN login); `aud` is the service.
    Session,
    /// The identity the gateway hands an upstream service; `aud` is the service.
    Assertion,
    /// An administrator's credential for the admin API.
    Admin,
}

/// The claims of every token we sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(rename = "typ")]
    pub kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Claims {
    pub fn expires_at(&self) -> Timestamp {
        Timestamp::from_second(self.exp).unwrap_or(Timestamp::MAX)
    }
}

/// What to put in a new token besides the standard claims.
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    pub sid: Option<String>,
    pub role: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Signs and verifies tokens.
#[derive(Debug, Clone)]
pub struct TokenSigner {
    keys: KeyRing,
    clock: SharedClock,
    issuer: String,
    leeway: i64,
}

impl TokenSigner {
    pub fn new(keys: KeyRing, clock: SharedClock, issuer: String, leeway_secs: u64) -> Self {
        Self {
            keys,
            clock,
            issuer,
            leeway: i64::try_from(leeway_secs).unwrap_or(0),
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Signs a token of `kind` for `subject` and `audience`, valid for `ttl` from now.
    pub fn issue(
        &self,
        kind: TokenKind,
        subject: &str,
        audience: &str,
        ttl: SignedDuration,
        spec: TokenSpec,
    ) -> Result<(String, Claims)> {
        let now = self.clock.now().as_second();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_string(),
            aud: audience.to_string(),
            exp: now + ttl.as_secs(),
            nbf: now,
            iat: now,
            jti: row_id(),
            kind,
            sid: spec.sid,
            role: spec.role,
            username: spec.username,
            email: spec.email,
            name: spec.name,
        };
        Ok((self.sign(&claims)?, claims))
    }

    /// The compact JWS of `claims`, signed with the current key.
    fn sign(&self, claims: &Claims) -> Result<String> {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(Error::internal)?);
        Ok(self.keys.sign_compact(&payload))
    }

    /// Verifies `token` as a `kind` token for `audience`.
    pub async fn verify(&self, token: &str, kind: TokenKind, audience: &str) -> Result<Claims> {
        let claims = self.verify_signed(token, Some(audience)).await?;
        if claims.kind != kind {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }

    /// Verifies signature, issuer and times, for any kind and audience; callers check those.
    pub async fn verify_signed(&self, token: &str, audience: Option<&str>) -> Result<Claims> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::InvalidToken);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        let embeds_keys = header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some();
        if header.alg != Algorithm::EdDSA || embeds_keys {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let now = self.clock.now();
        let key = self
            .keys
            .verifying_key(&kid, now)
            .await
            .ok_or(Error::InvalidToken)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[self.issuer.as_str()]);
        // Times are checked below against our clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => Error::ExpiredToken,
                _ => Error::InvalidToken,
            })?
            .claims;

        let now = now.as_second();
        if now > claims.exp.saturating_add(self.leeway) {
            return Err(Error::ExpiredToken);
        }
        if claims.nbf > now.saturating_add(self.leeway) {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
}
