//! What the gateway asks on every request to a service: whose credential is this, may it be used at
//! this service, is its session still live; and the assertion it hands the service in return.
//!
//! For tokens this costs one signature check and one read of the session store, no database:
//! the identity travels in the token's claims, and ending a session (logout, revocation, blocking)
//! removes the record the next request looks for.

use jiff::SignedDuration;
use serde::Serialize;

use super::edge_cache::Verified;
use super::{CredentialKind, Credentials, Principal, TokenKind, TokenSpec};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};

/// How long an assertion handed to a service lives: it covers one request.
pub const ASSERTION_TTL: SignedDuration = SignedDuration::from_secs(60);

/// The person behind a request to a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeIdentity {
    pub user_id: UserId,
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    pub session_id: Option<SessionId>,
    pub credential: CredentialKind,
}

impl Credentials<'_> {
    /// Checks a credential presented at `service`: a session token for that service, an access
    /// token, or a personal access token. A session token of another service is refused.
    pub async fn authenticate_at_service(
        &self,
        bearer: &str,
        service: &str,
    ) -> Result<EdgeIdentity> {
        if bearer.starts_with(super::PAT_PREFIX) {
            let context = crate::context::RequestContext::default();
            return match self.authenticate_pat(bearer, &context).await? {
                Principal::User { user, .. } => Ok(EdgeIdentity {
                    user_id: user.id,
                    username: user.username.clone(),
                    email: user.email.clone(),
                    name: Some(user.full_name.clone()),
                    session_id: None,
                    credential: CredentialKind::PersonalAccessToken,
                }),
                Principal::Admin { .. } => Err(Error::InvalidToken),
            };
        }
        let now = self.core.clock.now();
        if let Some(known) = self.core.edge_cache.verified(bearer, service, now) {
            let session = known.identity.session_id.ok_or(Error::InvalidToken)?;
            // The signature is known good; the session must still be live, every time.
            return match self.core.sessions.live(&session).await? {
                Some(live)
                    if live.subject.id_string() == known.identity.user_id.to_string()
                        && live.audience == known.audience =>
                {
                    Ok(known.identity)
                }
                _ => Err(Error::InvalidToken),
            };
        }
        let claims = self.core.tokens.verify_signed(bearer, None).await?;
        let credential = match claims.kind {
            TokenKind::Session if claims.aud == service => CredentialKind::SessionToken,
            TokenKind::Access if claims.aud == self.core.config.tokens.api_audience => {
                CredentialKind::AccessToken
            }
            _ => return Err(Error::InvalidToken),
        };
        let session_id: SessionId = claims
            .sid
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(Error::InvalidToken)?;
        let session = self
            .core
            .sessions
            .live(&session_id)
            .await?
            .ok_or(Error::InvalidToken)?;
        if session.subject.id_string() != claims.sub || session.audience != claims.aud {
            return Err(Error::InvalidToken);
        }
        let expires_at = claims.expires_at();
        let audience = claims.aud.clone();
        let (Some(username), Some(email)) = (claims.username, claims.email) else {
            return Err(Error::InvalidToken);
        };
        let identity = EdgeIdentity {
            user_id: claims.sub.parse().map_err(|_| Error::InvalidToken)?,
            username,
            email,
            name: claims.name.clone(),
            session_id: Some(session_id),
            credential,
        };
        self.core.edge_cache.remember_verified(
            bearer,
            Verified {
                identity: identity.clone(),
                expires_at,
                service: service.to_string(),
                audience,
            },
        );
        Ok(identity)
    }

    /// The signed statement of `identity` that the gateway hands `service` with the request. The
    /// same one is handed out for half its life, which saves a signature per request.
    pub fn assertion(&self, identity: &EdgeIdentity, service: &str) -> Result<String> {
        let subject = identity
            .session_id
            .map_or_else(|| format!("user:{}", identity.user_id), |s| s.to_string());
        let now = self.core.clock.now();
        if let Some(token) = self.core.edge_cache.assertion(&subject, service, now) {
            return Ok(token);
        }
        let (token, _) = self.core.tokens.issue(
            TokenKind::Assertion,
            &identity.user_id.to_string(),
            service,
            ASSERTION_TTL,
            TokenSpec {
                sid: identity.session_id.map(|s| s.to_string()),
                role: Some("user".into()),
                username: Some(identity.username.clone()),
                email: Some(identity.email.clone()),
                name: identity.name.clone(),
            },
        )?;
        self.core
            .edge_cache
            .remember_assertion(&subject, service, token.clone(), now);
        Ok(token)
    }

    /// Whether session `id` is live (for services that check revocation at once through the SDK).
    pub async fn session_is_live(&self, id: SessionId, service: &str) -> Result<bool> {
        Ok(self.core.sessions.live(&id).await?.is_some_and(|s| {
            s.audience == service || s.audience == self.core.config.tokens.api_audience
        }))
    }
}
