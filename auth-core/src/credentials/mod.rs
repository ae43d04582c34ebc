//! Credentials: passwords, lockout, signing keys and tokens, refresh-token families, password
//! reset and personal access tokens, and turning a bearer credential into a [`Principal`] at the
//! place it is presented, as the table in [`scope`] allows.

mod admin_login;
mod authority;
mod edge;
pub(crate) mod edge_cache;
mod jwt;
mod keys;
mod lockout;
mod login;
mod master_key;
pub mod password;
mod password_change;
mod pat;
mod refresh;
mod reset;
pub mod scope;

use crate::accounts::{User, UserStatus};
use crate::admins::Admin;
use crate::audit::AuditEntry;
use crate::context::{Actor, RequestContext};
use crate::core::CoreInner;
use crate::error::{Error, Result};
use crate::ids::{AdminId, SessionId, UserId};
use crate::params;
use crate::sessions::Subject;

pub use admin_login::{AdminLogin, AdminToken};
pub use authority::{AdminRead, AdminWrite};
pub(crate) use authority::{read_for as authority_read, write_for as authority_write};
pub use edge::{ASSERTION_TTL, EdgeIdentity};
pub use jwt::{Claims, TokenKind, TokenSigner, TokenSpec};
pub use keys::KeyRing;
pub use lockout::{Lockout, USER_PASSWORDS, USER_PINS};
pub use login::{LoginRequest, LoginTokens, TokenValidity};
pub use master_key::{MASTER_KEY_FILE, MasterKey};
pub(crate) use master_key::{open_with, seal_with};
pub use password_change::PasswordChange;
pub use pat::{NewPersonalAccessToken, PAT_PREFIX, PersonalAccessToken};
pub use scope::{Binding, CredentialKind, Place, PlaceKind};

/// `aud` of admin tokens.
pub const ADMIN_AUDIENCE: &str = "auth-admin";

/// Who a request comes from, once its credential checked out at the place it was presented.
///
/// Only this crate makes one (its variants cannot be built elsewhere), so the leave derived from
/// it ([`Principal::admin_write`]) cannot be forged by a caller.
#[derive(Debug, Clone)]
pub enum Principal {
    #[non_exhaustive]
    User {
        user: Box<User>,
        /// None for personal access tokens.
        session: Option<SessionId>,
        /// The audience of the credential (the API, or a service slug for session tokens).
        audience: String,
        credential: CredentialKind,
    },
    #[non_exhaustive]
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

    /// The kind of credential the request presented.
    pub fn credential(&self) -> CredentialKind {
        match self {
            Principal::User { credential, .. } | Principal::Admin { credential, .. } => *credential,
        }
    }

    /// Leave to read as an admin: any enabled admin.
    pub fn admin_read(&self) -> Result<AdminRead> {
        match self {
            Principal::Admin { admin, .. } => authority::read_for(admin),
            Principal::User { .. } => Err(Error::NeedsAdmin),
        }
    }

    /// Leave to change things as an admin: an enabled admin whose role may write.
    pub fn admin_write(&self) -> Result<AdminWrite> {
        match self {
            Principal::Admin { admin, .. } => authority::write_for(admin),
            Principal::User { .. } => Err(Error::NeedsAdmin),
        }
    }

    /// The user, or a refusal for an admin.
    pub fn require_user(&self) -> Result<&User> {
        match self {
            Principal::User { user, .. } => Ok(user),
            Principal::Admin { .. } => Err(Error::NeedsPerson),
        }
    }
}

/// The host operator's leave to act as an admin: for the command line on the host, which holds
/// the database already. Never hand it to anything a request controls.
pub(crate) fn host_operator() -> AdminWrite {
    authority::host()
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
    /// presented at `place`, and says whose it is. The kind must be one the table in [`scope`]
    /// accepts there, the session it names must still be live, and the account usable.
    pub async fn authenticate(
        &self,
        bearer: &str,
        place: Place<'_>,
        context: &RequestContext,
    ) -> Result<Principal> {
        if bearer.starts_with(PAT_PREFIX) {
            return self.authenticate_pat(bearer, place, context).await;
        }
        let claims = self.core.tokens.verify_signed(bearer, None).await?;
        let credential = match claims.kind {
            TokenKind::Access if claims.aud == self.core.config.tokens.api_audience => {
                CredentialKind::AccessToken
            }
            TokenKind::Session => CredentialKind::ServiceSession,
            TokenKind::Admin if claims.aud == ADMIN_AUDIENCE => CredentialKind::AdminToken,
            _ => return Err(Error::InvalidToken),
        };
        let binding = Binding {
            service: (credential == CredentialKind::ServiceSession).then_some(claims.aud.as_str()),
            services: &[],
        };
        scope::check(credential, binding, place)?;
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
            return Err(Error::AdminDisabled);
        }
        Ok(admin)
    }

    /// Clears a user's failed-login count and lock (an admin's decision).
    pub async fn unlock(
        &self,
        admin: &AdminWrite,
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
        AuditEntry::new(admin.actor(), "user.unlocked")
            .target("user", user)
            .from_client(context)
            .write(&mut self.core.stores.db.clone(), self.core.clock.now())
            .await?;
        Ok(())
    }
}

/// What [`sign_out_everywhere`] ends besides sessions and refresh families.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ending {
    /// Also revoke the subject's personal access tokens (a new password, "sign out everywhere").
    pub tokens: bool,
    /// A session to keep: the one changing its own password.
    pub keep: Option<SessionId>,
}

/// Ends every session and refresh-token family of `subject` (blocked, deleted, new password), and
/// with `ending.tokens` its personal access tokens. Returns how many sessions were live.
pub(crate) async fn sign_out_everywhere(
    core: &CoreInner,
    subject: Subject,
    reason: &str,
    ending: Ending,
) -> Result<usize> {
    let now = core.clock.now();
    let keep = ending.keep.map(|s| s.to_string()).unwrap_or_default();
    core.stores
        .db
        .execute(
            "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
             WHERE subject_id = $1 AND revoked_at IS NULL AND id <> $4",
            params![subject.id_string(), now, reason, keep],
        )
        .await?;
    if ending.tokens {
        core.stores
            .db
            .execute(
                "UPDATE personal_access_tokens SET revoked_at = $2
                 WHERE owner_id = $1 AND revoked_at IS NULL",
                params![subject.id_string(), now],
            )
            .await?;
    }
    let mut ended = 0;
    for session in core.sessions.list(&subject).await? {
        if Some(session.id) != ending.keep && core.sessions.revoke(&session.id).await?.is_some() {
            ended += 1;
        }
    }
    Ok(ended)
}

impl Credentials<'_> {
    /// Ends one session (an admin's decision) and, for a password session, its refresh family.
    pub async fn revoke_session(
        &self,
        admin: &AdminWrite,
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
        AuditEntry::new(admin.actor(), "session.revoked")
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
        admin: &AdminWrite,
        user: UserId,
        context: &RequestContext,
    ) -> Result<usize> {
        let ended = sign_out_everywhere(
            self.core,
            Subject::User(user),
            "revoked by an admin",
            Ending::default(),
        )
        .await?;
        AuditEntry::new(admin.actor(), "session.revoked_all")
            .target("user", user)
            .from_client(context)
            .detail("sessions", ended)
            .write(&mut self.core.stores.db.clone(), self.core.clock.now())
            .await?;
        Ok(ended)
    }
}
