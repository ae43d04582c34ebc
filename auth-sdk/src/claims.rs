//! The claims of a gateway token and the rules they must meet here: issuer, audience, times with
//! leeway, and an accepted kind. What passes becomes an [`Identity`].

use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::{Error, TokenFlaw};
use crate::identity::{Identity, SessionId, TokenKind, UserId};

/// The claims the gateway signs. Every field without `Option` is required, with its JSON type,
/// exactly as the gateway's own verifier requires them.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    #[allow(dead_code)] // required for parity with the gateway; not otherwise used
    iat: i64,
    jti: String,
    #[serde(rename = "typ")]
    kind: TokenKind,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// What a token must say to be accepted by this verifier.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway_secs: i64,
    pub(crate) kinds: Vec<TokenKind>,
}

impl Policy {
    /// Parses `payload` (JSON) and checks it against the policy at `now` (Unix seconds).
    pub(crate) fn check(&self, payload: &[u8], now: i64) -> Result<Identity, Error> {
        let claims: Claims = serde_json::from_slice(payload).map_err(|_| TokenFlaw::Claims)?;
        if claims.iss != self.issuer {
            return Err(TokenFlaw::Issuer.into());
        }
        if claims.aud != self.audience {
            return Err(TokenFlaw::Audience.into());
        }
        if now > claims.exp.saturating_add(self.leeway_secs) {
            return Err(Error::ExpiredToken);
        }
        if claims.nbf > now.saturating_add(self.leeway_secs) {
            return Err(TokenFlaw::NotYetValid.into());
        }
        if !self.kinds.contains(&claims.kind) {
            return Err(TokenFlaw::Kind.into());
        }
        let user_id: UserId = claims.sub.parse().map_err(|_| TokenFlaw::Claims)?;
        let session_id: Option<SessionId> = claims
            .sid
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| TokenFlaw::Claims)?;
        let expires_at = u64::try_from(claims.exp)
            .ok()
            .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
            .unwrap_or(UNIX_EPOCH);
        Ok(Identity {
            user_id,
            username: claims.username,
            email: claims.email,
            name: claims.name,
            session_id,
            role: claims.role,
            kind: claims.kind,
            token_id: claims.jti,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i64 = 1_800_000_000;
    const USER: &str = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d11";

    fn policy() -> Policy {
        Policy {
            issuer: "auth-gateway".into(),
            audience: "service-b".into(),
            leeway_secs: 10,
            kinds: vec![TokenKind::Assertion, TokenKind::Session],
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "auth-gateway", "sub": USER, "aud": "service-b",
            "exp": NOW + 60, "nbf": NOW, "iat": NOW, "jti": "j1", "typ": "assertion",
            "sid": "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d12", "role": "user",
            "username": "alice", "email": "alice@example.com", "name": "Alice",
        })
    }

    fn check(claims: &Value, now: i64) -> Result<Identity, Error> {
        policy().check(claims.to_string().as_bytes(), now)
    }

    fn with(field: &str, value: Value) -> Value {
        let mut claims = claims();
        claims[field] = value;
        claims
    }

    fn without(field: &str) -> Value {
        let mut claims = claims();
        claims.as_object_mut().map(|c| c.remove(field));
        claims
    }

    #[test]
    fn gateway_assertion_becomes_identity() {
        let identity = check(&claims(), NOW).expect("accepted");
        assert_eq!(identity.user_id.to_string(), USER);
        assert_eq!(identity.username.as_deref(), Some("alice"));
        assert_eq!(identity.kind, TokenKind::Assertion);
        assert!(identity.has_role("user"));
        assert_eq!(
            identity.expires_at,
            UNIX_EPOCH + Duration::from_secs(1_800_000_060)
        );
    }

    #[test]
    fn expiry_allows_leeway_then_refuses() {
        assert!(check(&claims(), NOW + 70).is_ok());
        assert_eq!(check(&claims(), NOW + 71), Err(Error::ExpiredToken));
    }

    #[test]
    fn not_before_allows_leeway_then_refuses() {
        assert!(check(&claims(), NOW - 10).is_ok());
        assert_eq!(
            check(&claims(), NOW - 11),
            Err(TokenFlaw::NotYetValid.into())
        );
    }

    #[test]
    fn wrong_issuer_audience_or_kind_refused() {
        let cases = [
            (with("iss", json!("someone-else")), TokenFlaw::Issuer),
            (with("aud", json!("service-c")), TokenFlaw::Audience),
            (with("aud", json!(["service-b"])), TokenFlaw::Claims),
            (with("typ", json!("access")), TokenFlaw::Kind),
            (with("typ", json!("admin")), TokenFlaw::Kind),
            (with("typ", json!("refresh")), TokenFlaw::Claims),
        ];
        for (claims, flaw) in cases {
            assert_eq!(check(&claims, NOW), Err(flaw.into()), "{claims}");
        }
    }

    #[test]
    fn required_claims_must_be_present_and_typed() {
        for field in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "typ"] {
            assert_eq!(
                check(&without(field), NOW),
                Err(TokenFlaw::Claims.into()),
                "{field}"
            );
        }
        assert_eq!(
            check(&with("exp", json!("1800000060")), NOW),
            Err(TokenFlaw::Claims.into())
        );
        assert_eq!(
            check(&with("sub", json!("alice")), NOW),
            Err(TokenFlaw::Claims.into())
        );
        assert_eq!(
            check(&with("sid", json!("not-a-uuid")), NOW),
            Err(TokenFlaw::Claims.into())
        );
    }

    #[test]
    fn optional_claims_may_be_absent() {
        let mut claims = claims();
        for field in ["sid", "role", "username", "email", "name"] {
            claims.as_object_mut().map(|c| c.remove(field));
        }
        let identity = check(&claims, NOW).expect("accepted");
        assert_eq!(identity.session_id, None);
        assert_eq!(identity.role, None);
    }
}
