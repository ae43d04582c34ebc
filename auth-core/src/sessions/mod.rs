//! Sessions: server-side records (who, for which audience, how they logged in, from where, until
//! when) in the short-lived store. A token names its session (`sid`); the session being live is what
//! makes the token good, so revoking one takes effect on the next request. Revocations are also
//! published, for caches in other gateways.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::context::{Actor, RequestContext};
use crate::error::Result;
use crate::ids::{AdminId, SessionId, UserId};
use crate::store::Ephemeral;

/// Channel on which revoked session ids are published.
pub const REVOCATIONS: &str = "sessions:revoked";

/// Kept a little past expiry so that a late request still finds (and refuses) the record.
const STORE_SLACK: Duration = Duration::from_secs(60);

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Subject {
    User(UserId),
    Admin(AdminId),
}

impl Subject {
    pub fn id_string(&self) -> String {
        match self {
            Subject::User(id) => id.to_string(),
            Subject::Admin(id) => id.to_string(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "user",
            Subject::Admin(_) => "admin",
        }
    }
}

impl From<Subject> for Actor {
    fn from(subject: Subject) -> Self {
        match subject {
            Subject::User(id) => Actor::User(id),
            Subject::Admin(id) => Actor::Admin(id),
        }
    }
}

/// How the session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LoginMethod {
    Password,
    Qr,
    Pat,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::Qr => "qr",
            LoginMethod::Pat => "pat",
        }
    }
}

/// A session record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: SessionId,
    pub subject: Subject,
    /// The service slug, or the auth API's audience.
    pub audience: String,
    pub method: LoginMethod,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a new session is.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub subject: Subject,
    pub audience: &'a str,
    pub method: LoginMethod,
    pub expires_at: Timestamp,
    pub context: &'a RequestContext,
}

/// The session records.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Arc<dyn Ephemeral>,
    clock: SharedClock,
}

fn record_key(id: &SessionId) -> String {
    format!("session:{id}")
}

fn index_key(subject: &Subject) -> String {
    format!("subject-sessions:{}", subject.id_string())
}

impl Sessions {
    pub fn new(store: Arc<dyn Ephemeral>, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    fn store_ttl(&self, expires_at: Timestamp) -> Duration {
        let left = expires_at.duration_since(self.clock.now());
        Duration::try_from(left.max(SignedDuration::ZERO)).unwrap_or_default() + STORE_SLACK
    }

    /// Records a new session.
    pub async fn start(&self, new: NewSession<'_>) -> Result<Session> {
        let session = Session {
            id: new.id,
            subject: new.subject,
            audience: new.audience.to_string(),
            method: new.method,
            created_at: self.clock.now(),
            expires_at: new.expires_at,
            client_ip: new.context.ip_string(),
            user_agent: new.context.user_agent.clone(),
        };
        self.save(&session).await?;
        self.store
            .set_add(
                &index_key(&session.subject),
                &session.id.to_string(),
                self.store_ttl(session.expires_at),
            )
            .await?;
        Ok(session)
    }

    async fn save(&self, session: &Session) -> Result<()> {
        let bytes = serde_json::to_vec(session).map_err(crate::Error::internal)?;
        self.store
            .put(
                &record_key(&session.id),
                bytes,
                self.store_ttl(session.expires_at),
            )
            .await?;
        Ok(())
    }

    /// The session, if it exists and has not expired by the clock.
    pub async fn live(&self, id: &SessionId) -> Result<Option<Session>> {
        let Some(bytes) = self.store.get(&record_key(id)).await? else {
            return Ok(None);
        };
        let session: Session = serde_json::from_slice(&bytes).map_err(crate::Error::internal)?;
        Ok((session.expires_at > self.clock.now()).then_some(session))
    }

    /// Moves the expiry of a live session (refresh-token rotation keeps password sessions alive).
    pub async fn extend(&self, id: &SessionId, expires_at: Timestamp) -> Result<bool> {
        let Some(mut session) = self.live(id).await? else {
            return Ok(false);
        };
        session.expires_at = expires_at;
        self.save(&session).await?;
        self.store
            .set_add(
                &index_key(&session.subject),
                &id.to_string(),
                self.store_ttl(expires_at),
            )
            .await?;
        Ok(true)
    }

    /// Ends a session; returns whether it was live.
    pub async fn revoke(&self, id: &SessionId) -> Result<Option<Session>> {
        let session = self.live(id).await?;
        self.store.remove(&record_key(id)).await?;
        if let Some(session) = &session {
            self.store
                .set_remove(&index_key(&session.subject), &id.to_string())
                .await?;
        }
        self.store
            .publish(REVOCATIONS, id.to_string().into_bytes())
            .await?;
        Ok(session)
    }

    /// Every live session of `subject`, oldest first.
    pub async fn list(&self, subject: &Subject) -> Result<Vec<Session>> {
        let mut sessions = Vec::new();
        for member in self.store.set_members(&index_key(subject)).await? {
            let Ok(id) = member.parse::<SessionId>() else {
                continue;
            };
            match self.live(&id).await? {
                Some(session) => sessions.push(session),
                None => self.store.set_remove(&index_key(subject), &member).await?,
            }
        }
        sessions.sort_by_key(|s| s.created_at);
        Ok(sessions)
    }

    /// Ends every session of `subject`; returns the ones that were live.
    pub async fn revoke_all(&self, subject: &Subject) -> Result<Vec<Session>> {
        let live = self.list(subject).await?;
        for session in &live {
            self.revoke(&session.id).await?;
        }
        Ok(live)
    }
}
