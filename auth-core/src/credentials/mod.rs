//! Credentials: passwords, lockout, signing keys and tokens, refresh-token families, password
//! reset and personal access tokens, and turning a bearer credential into a [`Principal`].

mod admin_login;
mod edge;
pub(crate) mod edge_cache;
mod jwt;
mod keys;
mod lockout;
mod login;
mod master_key;
pub mod password;
mod pat;
mod refresh;
mod reset;

use serde::Serialize;

use crate::accounts::{User, UserStatus};
use crate::admins::{Admin, Role};
use crate::audit::AuditEntry;
use crate::context::{Actor, RequestContext};
use crate::core::CoreInner;
use crate::error::{Error, Result};
use crate::ids::{AdminId, SessionId, UserId};
use crate::params;
use crate::sessions::Subject;

pub use admin_login::{AdminLogin, AdminToken};
pub use edge::{ASSERTION_TTL, EdgeIdentity};
pub use jwt::{Claims, TokenKind, TokenSigner, TokenSpec};
pub use keys::KeyRing;
pub use lockout::{Lockout, USER_PASSWORDS, USER_PINS};
pub use login::{LoginRequest, LoginTokens, TokenValidity};
pub use master_key::{MASTER_KEY_FILE, MasterKey};
pub use pat::{NewPersonalAccessToken, PAT_PREFIX, PersonalAccessToken};

/// `aud` of admin tokens.
pub const ADMIN_AUDIENCE: &str = "auth-admin";

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    AccessToken,
    SessionToken,
    AdminToken,
    PersonalAccessToken,
}

/// Who a request comes from, once its credential checked out.
#[derive(Debug, Clone)]
pub enum Principal {
    User {
        user: Box<User>,
        /// None for personal access tokens.
        session: Option<SessionId>,
        /// The audience of the credential (the API, or a service slug for session tokens).
        audience: String,
        credential: CredentialKind,
    },
    Admin {
        admin: Admin,
        session: Option<SessionId>,
        credential: CredentialKind,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Principal::User { user, .. } => Actor::User(user.id),
            Principal::Admin { admin, .. } => Actor::Admin(admin.id),
        }
    }

    pub fn subject(&self) -> Subject {
        match self {
            Principal::User { user, .. } => Subject::User(user.id),
            Principal::Admin { admin, .. } => Subject::Admin(admin.id),
        }
    }

    pub fn session(&self) -> Option<SessionId> {
        match self {
            Principal::User { session, .. } | Principal::Admin { session, .. } => *session,
        }
    }

    /// The admin and role, or FORBIDDEN for anyone else.
    pub fn require_admin(&self, write: bool) -> Result<(AdminId, Role)> {
        match self {
            Principal::Admin { admin, .. } if !write || admin.role.may_write() => {
                Ok((admin.id, admin.role))
            }
            Principal::Admin { .. } => {
                Err(Error::Forbidden("the support role may only read".into()))
            }
            Principal::User { .. } => Err(Error::Forbidden(
                "this needs an administrator's token".into(),
            )),
        }
    }

    /// The user, or FORBIDDEN for an admin.
    pub fn require_user(&self) -> Result<&User> {
        match self {
            Principal::User { user, .. } => Ok(user),
            Principal::Admin { .. } => Err(Error::Forbidden("this needs a user's token".into())),
        }
    }
}

/// The credentials domain.
pub struct Credentials<'a> {
    core: &'a CoreInner,
}

impl<'a> Credentials<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }

    /// Checks a bearer credential (an access, session or admin token, or a personal access token)
    /// and says whose it is. The session it names must still be live and the account usable.
    pub async fn authenticate(&self, bearer: &str, context: &RequestContext) -> Result<Principal> {
        if bearer.starts_with(PAT_PREFIX) {
            return self.authenticate_pat(bearer, context).await;
        }
        let claims = self.core.tokens.verify_signed(bearer, None).await?;
        let credential = match claims.kind {
            TokenKind::Access if claims.aud == self.core.config.tokens.api_audience => {
                CredentialKind::AccessToken
            }
            TokenKind::Session => CredentialKind::SessionToken,
            TokenKind::Admin if claims.aud == ADMIN_AUDIENCE => CredentialKind::AdminToken,
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
        match session.subject {
            Subject::User(id) if credential != CredentialKind::AdminToken => Ok(Principal::User {
                user: Box::new(self.usable_user(id).await?),
                session: Some(session_id),
                audience: claims.aud,
                credential,
            }),
            Subject::Admin(id) if credential == CredentialKind::AdminToken => {
                Ok(Principal::Admin {
                    admin: self.usable_admin(id).await?,
                    session: Some(session_id),
                    credential,
                })
            }
            _ => Err(Error::InvalidToken),
        }
    }

    async fn usable_user(&self, id: UserId) -> Result<User> {
        let user = crate::accounts::store::by_id(&mut self.core.stores.db.clone(), id)
            .await?
            .ok_or(Error::InvalidToken)?;
        match user.status {
            UserStatus::Active => Ok(user),
            UserStatus::Deleted => Err(Error::InvalidToken),
            other => Err(other.login_refusal().unwrap_or(Error::InvalidToken)),
        }
    }

    async fn usable_admin(&self, id: AdminId) -> Result<Admin> {
        let admin = crate::admins::by_id(&self.core.stores.db, id)
            .await?
            .ok_or(Error::InvalidToken)?;
        if admin.disabled {
            return Err(Error::Forbidden("the admin account is disabled".into()));
        }
        Ok(admin)
    }

    /// Clears a user's failed-login count and lock (an admin's decision).
    pub async fn unlock(
        &self,
        admin: AdminId,
        user: UserId,
        context: &RequestContext,
    ) -> Result<()> {
        if crate::accounts::store::by_id(&mut self.core.stores.db.clone(), user)
            .await?
            .is_none()
        {
            return Err(Error::NotFound("user"));
        }
        self.core
            .lockout
            .clear(&self.core.stores.db, USER_PASSWORDS, &user.to_string())
            .await?;
        AuditEntry::new(Actor::Admin(admin), "user.unlocked")
            .target("user", user)
            .from_client(context)
            .write(&mut self.core.stores.db.clone(), self.core.clock.now())
            .await?;
        Ok(())
    }
}

/// Ends every session and refresh-token family of `subject` (blocked, deleted, new password).
/// Returns how many sessions were live.
pub(crate) async fn sign_out_everywhere(
    core: &CoreInner,
    subject: Subject,
    reason: &str,
) -> Result<usize> {
    core.stores
        .db
        .execute(
            "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
             WHERE subject_id = $1 AND revoked_at IS NULL",
            params![subject.id_string(), core.clock.now(), reason],
        )
        .await?;
    Ok(core.sessions.revoke_all(&subject).await?.len())
}

impl Credentials<'_> {
    /// Ends one session (an admin's decision) and, for a password session, its refresh family.
    pub async fn revoke_session(
        &self,
        admin: AdminId,
        id: SessionId,
        context: &RequestContext,
    ) -> Result<()> {
        let now = self.core.clock.now();
        let Some(session) = self.core.sessions.revoke(&id).await? else {
            return Err(Error::NotFound("session"));
        };
        self.core
            .stores
            .db
            .execute(
                "UPDATE refresh_families SET revoked_at = $2, revoked_reason = 'revoked by an admin'
                 WHERE id = $1 AND revoked_at IS NULL",
                params![id, now],
            )
            .await?;
        AuditEntry::new(Actor::Admin(admin), "session.revoked")
            .target(session.subject.kind(), session.subject.id_string())
            .from_client(context)
            .detail("session", id.to_string())
            .write(&mut self.core.stores.db.clone(), now)
            .await?;
        Ok(())
    }

    /// Ends every session of a user (an admin's decision); returns how many were live.
    pub async fn revoke_all_sessions(
        &self,
        admin: AdminId,
        user: UserId,
        context: &RequestContext,
    ) -> Result<usize> {
        let ended =
            sign_out_everywhere(self.core, Subject::User(user), "revoked by an admin").await?;
        AuditEntry::new(Actor::Admin(admin), "session.revoked_all")
            .target("user", user)
            .from_client(context)
            .detail("sessions", ended)
            .write(&mut self.core.stores.db.clone(), self.core.clock.now())
            .await?;
        Ok(ended)
    }
}
