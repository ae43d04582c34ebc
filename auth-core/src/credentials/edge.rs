//! What the gateway asks on every request to a service: whose credential is this, may it be used at
//! this service, is its session still live; and the assertion it hands the service in return.
//!
//! For tokens this costs one signature check and one read of the session store, no database:
//! the identity travels in the token's claims, and ending a session (logout, revocation, blocking)
//! removes the record the next request looks for.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use serde::Serialize;

use super::edge_cache::{Subject, Verified};
use super::{Credentials, Principal, TokenKind, TokenSpec};
use crate::access::scope::{self, Binding, CredentialKind, Place};
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::login_history::LoginAttempt;
use crate::secret::hash_token;
use crate::sessions::LoginMethod;

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
    /// Checks a credential presented at `service` by the client in `context`: what the table in
    /// [`scope`] accepts there, a session token for that service or a personal access token that
    /// names it. Anything else, a password login's access token included, is refused.
    pub async fn authenticate_at_service(
        &self,
        bearer: &str,
        service: &str,
        context: &RequestContext,
    ) -> Result<EdgeIdentity> {
        if bearer.starts_with(super::PAT_PREFIX) {
            let Principal::User { user, .. } = self
                .authenticate_pat(bearer, Place::Service(service), context)
                .await?
            else {
                return Err(Error::InvalidToken);
            };
            self.record_pat_login(bearer, user.id, service, context)
                .await?;
            return Ok(EdgeIdentity {
                user_id: user.id,
                username: user.username.clone(),
                email: user.email.clone(),
                name: Some(user.full_name.clone()),
                session_id: None,
                credential: CredentialKind::PersonalAccessToken,
            });
        }
        let now = self.core.base.clock.now();
        if let Some(known) = self.core.state.edge_cache.verified(bearer, service, now) {
            let session = known.identity.session_id.ok_or(Error::InvalidToken)?;
            // The signature is known good; the session must still be live, every time. The
            // record unchanged since it was decoded is the same session, so it is not decoded
            // again; a changed one (extended, or ended and made anew) is.
            let record = self
                .core
                .sessions
                .record(&session)
                .await?
                .ok_or(Error::InvalidToken)?;
            if record == known.record {
                return if known.session_expires_at > now {
                    Ok(known.identity.clone())
                } else {
                    Err(Error::InvalidToken)
                };
            }
            return match self.core.sessions.live_from(&record)? {
                Some(live)
                    if live.subject.id_string() == known.identity.user_id.to_string()
                        && live.audience == known.audience =>
                {
                    Ok(known.identity.clone())
                }
                _ => Err(Error::InvalidToken),
            };
        }
        let claims = self.core.state.tokens.verify_signed(bearer, None).await?;
        let credential = match claims.kind {
            TokenKind::Session => CredentialKind::ServiceSession,
            TokenKind::Access if claims.aud == self.core.base.config.tokens.api_audience => {
                CredentialKind::AccessToken
            }
            _ => return Err(Error::InvalidToken),
        };
        let binding = Binding {
            service: Some(claims.aud.as_str()),
            services: &[],
        };
        scope::check(credential, binding, Place::Service(service))?;
        let session_id: SessionId = claims
            .sid
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(Error::InvalidToken)?;
        let record = self
            .core
            .sessions
            .record(&session_id)
            .await?
            .ok_or(Error::InvalidToken)?;
        let session = self
            .core
            .sessions
            .live_from(&record)?
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
        self.core.state.edge_cache.remember_verified(
            bearer,
            Verified {
                identity: identity.clone(),
                expires_at,
                service: service.to_string(),
                audience,
                session_expires_at: session.expires_at,
                record,
            },
        );
        Ok(identity)
    }

    /// A personal access token used at a service counts as a login there (method `pat`) once per
    /// session lifetime, the way a QR login opens a session: the history then answers "how often
    /// did John use ServiceB" for scripts too, without a row per request.
    async fn record_pat_login(
        &self,
        token: &str,
        user: UserId,
        service: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let window = format!("pat-login:{}:{service}", hash_token(token));
        let ttl = Duration::from_secs(self.core.base.config.sessions.service_ttl_secs.max(1));
        let ephemeral = &self.core.base.stores.ephemeral;
        if !ephemeral.put_new(&window, Vec::new(), ttl).await? {
            return Ok(());
        }
        let recorded = LoginAttempt {
            user_id: Some(user),
            service: Some(service),
            method: LoginMethod::Pat,
            failure: None,
            context,
        }
        .record(
            &mut self.core.base.stores.db.clone(),
            self.core.base.clock.now(),
        )
        .await;
        if let Err(err) = recorded {
            // The next use tries again rather than leave the window without its row.
            let _ = ephemeral.remove(&window).await;
            return Err(err.into());
        }
        Ok(())
    }

    /// The signed statement of `identity` that the gateway hands `service` with the request. The
    /// same one is handed out for half its life, which saves a signature per request.
    pub fn assertion(&self, identity: &EdgeIdentity, service: &str) -> Result<Arc<str>> {
        let subject = identity
            .session_id
            .map_or(Subject::User(identity.user_id), Subject::Session);
        let now = self.core.base.clock.now();
        if let Some(token) = self.core.state.edge_cache.assertion(subject, service, now) {
            return Ok(token);
        }
        let (token, _) = self.core.state.tokens.issue(
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
        let token: Arc<str> = token.into();
        self.core
            .state
            .edge_cache
            .remember_assertion(subject, service, token.clone(), now);
        Ok(token)
    }

    /// Whether session `id` at `service` is live (for services that check revocation at once
    /// through the SDK). Another service's sessions, and password sessions, are not its business.
    pub async fn session_is_live(&self, id: SessionId, service: &str) -> Result<bool> {
        Ok(self
            .core
            .sessions
            .live(&id)
            .await?
            .is_some_and(|s| s.audience == service))
    }
}
