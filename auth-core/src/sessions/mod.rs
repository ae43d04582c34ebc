//! Sessions: server-side records (who, for which audience, how they logged in, from where, until
//! when) in the short-lived store, and for password logins their refresh-token families in SQL
//! (`store.rs`). A token names its session (`sid`); the session being live is what makes the
//! token good, so ending one takes effect on the next request. Ending a session ends its family
//! too; revocations are also published, for caches in other gateways.

mod everyone;
pub(crate) mod store;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::access::AdminWrite;
use crate::audit::{AuditAction, AuditEntry};
use crate::clock::SharedClock;
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{AdminId, SessionId, UserId};
use crate::store::Ephemeral;
use crate::store::sql::Db;

use store::Families;

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
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Ephemeral>,
    db: Db,
    clock: SharedClock,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

fn record_key(id: &SessionId) -> String {
    format!("session:{id}")
}

fn index_key(subject: &Subject) -> String {
    format!("subject-sessions:{}", subject.id_string())
}

impl Sessions {
    pub fn new(store: Arc<dyn Ephemeral>, db: Db, clock: SharedClock) -> Self {
        Self { store, db, clock }
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
        self.index(&session).await?;
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
        let Some(bytes) = self.record(id).await? else {
            return Ok(None);
        };
        self.live_from(&bytes)
    }

    /// The stored record of session `id` as it is, whether expired or not: the edge compares it
    /// with the record it decoded before instead of decoding it again on every request.
    pub(crate) async fn record(&self, id: &SessionId) -> Result<Option<Vec<u8>>> {
        Ok(self.store.get_hot(&record_key(id)).await?)
    }

    /// The session a stored record holds, if it has not expired.
    pub(crate) fn live_from(&self, bytes: &[u8]) -> Result<Option<Session>> {
        let session: Session = serde_json::from_slice(bytes).map_err(crate::Error::internal)?;
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
        self.index(&session).await?;
        Ok(true)
    }

    /// Ends session `id` and its refresh family (logout, or a service's own logout); returns the
    /// session if it was live.
    pub async fn end(&self, id: &SessionId, reason: &str) -> Result<Option<Session>> {
        store::revoke_families(
            &mut self.db.clone(),
            Families::One(*id),
            reason,
            self.clock.now(),
        )
        .await?;
        let session = self.revoke(id).await?;
        if let Some(session) = &session {
            revoked_event(session, reason, None)
                .enqueue(&mut self.db.clone(), self.clock.now())
                .await?;
        }
        Ok(session)
    }

    /// Ends every session and refresh family of `subject` but `keep`; returns how many sessions
    /// were live.
    pub(crate) async fn end_all(
        &self,
        subject: &Subject,
        reason: &str,
        keep: Option<SessionId>,
    ) -> Result<usize> {
        store::revoke_families(
            &mut self.db.clone(),
            Families::AllOf { subject, keep },
            reason,
            self.clock.now(),
        )
        .await?;
        let mut ended = 0;
        for session in self.list(subject).await? {
            if Some(session.id) != keep && self.revoke(&session.id).await?.is_some() {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Ends one session and its refresh family (an admin's decision), audited.
    pub async fn end_by_admin(
        &self,
        admin: &AdminWrite,
        id: SessionId,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.clock.now();
        let Some(session) = self.live(&id).await? else {
            return Err(Error::NotFound("session"));
        };
        let mut tx = self.db.begin().await?;
        store::revoke_families(&mut tx, Families::One(id), "revoked by an admin", now).await?;
        AuditEntry::new(admin.actor(), AuditAction::SessionRevoked)
            .target(session.subject.kind(), session.subject.id_string())
            .from_client(context)
            .detail("session", id.to_string())
            .write(&mut tx, now)
            .await?;
        revoked_event(&session, "revoked by an admin", admin.actor().id())
            .enqueue(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.revoke(&id).await?;
        Ok(())
    }

    /// Ends session `id` of `subject` and its refresh family: a person ending one of their own
    /// sessions, audited. NOT_FOUND when it is not a live session of theirs, so nobody ends (or
    /// learns of) another person's session.
    pub async fn end_own(
        &self,
        subject: &Subject,
        id: SessionId,
        context: &RequestContext,
    ) -> Result<Session> {
        let session = match self.live(&id).await? {
            Some(session) if session.subject == *subject => session,
            _ => return Err(Error::NotFound("session")),
        };
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        store::revoke_families(&mut tx, Families::One(id), "ended by its owner", now).await?;
        AuditEntry::new(Actor::from(*subject), AuditAction::SessionRevoked)
            .target(subject.kind(), subject.id_string())
            .from_client(context)
            .detail("session", id.to_string())
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.revoke(&id).await?;
        Ok(session)
    }

    /// Ends every session of a user (an admin's decision), audited; returns how many were live.
    pub async fn end_all_by_admin(
        &self,
        admin: &AdminWrite,
        user: UserId,
        context: &RequestContext,
    ) -> Result<usize> {
        let subject = Subject::User(user);
        let live = self.list(&subject).await?;
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let families = Families::AllOf {
            subject: &subject,
            keep: None,
        };
        store::revoke_families(&mut tx, families, "revoked by an admin", now).await?;
        AuditEntry::new(admin.actor(), AuditAction::SessionRevokedAll)
            .target("user", user)
            .from_client(context)
            .detail("sessions", live.len())
            .write(&mut tx, now)
            .await?;
        for session in &live {
            revoked_event(session, "revoked by an admin", admin.actor().id())
                .enqueue(&mut tx, now)
                .await?;
        }
        tx.commit().await?;
        for session in &live {
            self.revoke(&session.id).await?;
        }
        Ok(live.len())
    }

    /// Every live session of `subject` (an admin reading), oldest first.
    pub async fn list_for_admin(
        &self,
        _reader: &crate::access::AdminRead,
        subject: &Subject,
    ) -> Result<Vec<Session>> {
        self.list(subject).await
    }

    /// Removes the record of session `id` and publishes the revocation; returns it if it was
    /// live. Its refresh family, if any, is the caller's to end ([`Sessions::end`] does both).
    pub(crate) async fn revoke(&self, id: &SessionId) -> Result<Option<Session>> {
        let session = self.live(id).await?;
        self.store.remove(&record_key(id)).await?;
        if let Some(session) = &session {
            self.store
                .set_remove(&index_key(&session.subject), &id.to_string())
                .await?;
            self.unindex(session).await?;
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
}

/// `session.revoked`: which session of whom ended, why, and the admin who ended it, if one did.
fn revoked_event(session: &Session, reason: &str, by: Option<String>) -> Event {
    Event {
        kind: "session.revoked",
        user_id: match session.subject {
            Subject::User(id) => Some(id),
            Subject::Admin(_) => None,
        },
        payload: serde_json::json!({
            "session_id": session.id.to_string(),
            "subject_kind": session.subject.kind(),
            "subject_id": session.subject.id_string(),
            "reason": reason,
            "audience": session.audience,
            "revoked_by": by,
        }),
    }
}
