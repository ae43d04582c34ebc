//! Credentials: passwords, lockout, signing keys and tokens, refresh-token families, password
//! reset and personal access tokens, and turning a bearer credential into a [`Principal`] at the
//! place it is presented, as the table in [`crate::access::scope`] allows.

mod admin_login;
mod console_login;
mod edge;
pub(crate) mod edge_cache;
mod jwt;
mod keys;
mod lockout;
mod login;
mod master_key;
mod password_change;
mod pat;
mod refresh;
mod reset;
mod store;

use crate::accounts::{User, UserStatus};
use crate::admins::Admin;
use crate::audit::{AuditAction, AuditEntry};
use crate::context::Base;
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::{AdminId, SessionId, UserId};
use crate::mail::Mailer;
use crate::passwords::Passwords;
use crate::sessions::Sessions;
use crate::sessions::Subject;

pub use crate::access::{AdminRead, AdminWrite, Binding, CredentialKind, Place, PlaceKind};
pub use admin_login::{AdminLogin, AdminToken};
pub(crate) use console_login::ConsoleKeys;
pub use console_login::{
    CONSOLE_AUDIENCE, CONSOLE_IDLE, CONSOLE_MAX, ConsoleSignIn, Enrolment, SECOND_STEP_TTL,
    SecondStep,
};
pub use edge::{ASSERTION_TTL, EdgeIdentity};
pub use jwt::{Claims, TokenKind, TokenSigner, TokenSpec};
pub use keys::KeyRing;
pub use lockout::{Lockout, USER_PASSWORDS, USER_PINS};
pub use login::{LoginRequest, LoginTokens, TokenValidity};
pub use master_key::{MASTER_KEY_FILE, MasterKey};
pub(crate) use master_key::{open_with, seal_with};
pub use password_change::PasswordChange;
pub use pat::{NewPersonalAccessToken, PAT_PREFIX, PersonalAccessToken};

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
            Principal::Admin { admin, .. } => {
                crate::access::read_leave(admin.id, admin.role, admin.disabled)
            }
            Principal::User { .. } => Err(Error::NeedsAdmin),
        }
    }

    /// Leave to change things as an admin: an enabled admin whose role may write.
    pub fn admin_write(&self) -> Result<AdminWrite> {
        match self {
            Principal::Admin { admin, .. } => {
                crate::access::write_leave(admin.id, admin.role, admin.disabled)
            }
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

/// The credentials domain's own state: the lockout rules, the signing keys, and what the
/// gateway's hot path remembers between requests.
pub(crate) struct CredentialState {
    pub lockout: Lockout,
    pub tokens: TokenSigner,
    pub edge_cache: edge_cache::EdgeCache,
    pub console: ConsoleKeys,
}

/// What the credentials domain borrows: the base, the password rules, its own state, the
/// sessions, and the mailer (reset links, notices).
#[derive(Clone, Copy)]
pub(crate) struct CredentialsCore<'a> {
    pub base: &'a Base,
    pub passwords: &'a Passwords,
    pub state: &'a CredentialState,
    pub sessions: &'a Sessions,
    pub mailer: &'a Mailer,
}

/// The credentials domain.
pub struct Credentials<'a> {
    core: CredentialsCore<'a>,
}

impl<'a> Credentials<'a> {
    pub(crate) fn new(core: CredentialsCore<'a>) -> Self {
        Self { core }
    }

    /// Checks a bearer credential (an access, session or admin token, or a personal access token)
    /// presented at `place`, and says whose it is. The kind must be one the table in
    /// [`crate::access::scope`] accepts there, the session it names must still be live, and the
    /// account usable.
    pub async fn authenticate(
        &self,
        bearer: &str,
        place: Place<'_>,
        context: &RequestContext,
    ) -> Result<Principal> {
        if bearer.starts_with(PAT_PREFIX) {
            return self.authenticate_pat(bearer, place, context).await;
        }
        let claims = self.core.state.tokens.verify_signed(bearer, None).await?;
        let credential = match claims.kind {
            TokenKind::Access if claims.aud == self.core.base.config.tokens.api_audience => {
                CredentialKind::AccessToken
            }
            TokenKind::Session => CredentialKind::ServiceSession,
            TokenKind::Admin if claims.aud == ADMIN_AUDIENCE => CredentialKind::AdminToken,
            TokenKind::Admin if claims.aud == CONSOLE_AUDIENCE => CredentialKind::ConsoleSession,
            _ => return Err(Error::InvalidToken),
        };
        let binding = Binding {
            service: (credential == CredentialKind::ServiceSession).then_some(claims.aud.as_str()),
            services: &[],
        };
        crate::access::scope::check(credential, binding, place)?;
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
            Subject::User(id)
                if !matches!(
                    credential,
                    CredentialKind::AdminToken | CredentialKind::ConsoleSession
                ) =>
            {
                Ok(Principal::User {
                    user: Box::new(self.usable_user(id).await?),
                    session: Some(session_id),
                    audience: claims.aud,
                    credential,
                })
            }
            Subject::Admin(id) if credential == CredentialKind::AdminToken => {
                Ok(Principal::Admin {
                    admin: self.usable_admin(id).await?,
                    session: Some(session_id),
                    credential,
                })
            }
            Subject::Admin(id) if credential == CredentialKind::ConsoleSession => {
                let admin = self.usable_admin(id).await?;
                self.keep_console_alive(&session).await?;
                Ok(Principal::Admin {
                    admin,
                    session: Some(session_id),
                    credential,
                })
            }
            _ => Err(Error::InvalidToken),
        }
    }

    async fn usable_user(&self, id: UserId) -> Result<User> {
        let user = crate::accounts::store::by_id(&mut self.core.base.stores.db.clone(), id)
            .await?
            .ok_or(Error::InvalidToken)?;
        match user.status {
            UserStatus::Active => Ok(user),
            UserStatus::Deleted => Err(Error::InvalidToken),
            other => Err(other.login_refusal().unwrap_or(Error::InvalidToken)),
        }
    }

    async fn usable_admin(&self, id: AdminId) -> Result<Admin> {
        let admin = crate::admins::by_id(&self.core.base.stores.db, id)
            .await?
            .ok_or(Error::InvalidToken)?;
        if admin.disabled {
            return Err(Error::AdminDisabled);
        }
        Ok(admin)
    }

    /// Clears a user's failed-login count and lock (an admin's decision), audited with it.
    pub async fn unlock(
        &self,
        admin: &AdminWrite,
        user: UserId,
        context: &RequestContext,
    ) -> Result<()> {
        let db = &self.core.base.stores.db;
        if crate::accounts::store::by_id(&mut db.clone(), user)
            .await?
            .is_none()
        {
            return Err(Error::NotFound("user"));
        }
        let mut tx = db.begin().await?;
        self.core
            .state
            .lockout
            .clear(&mut tx, USER_PASSWORDS, &user.to_string())
            .await?;
        AuditEntry::new(admin.actor(), AuditAction::UserUnlocked)
            .target("user", user)
            .from_client(context)
            .write(&mut tx, self.core.base.clock.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session, refresh family and personal access token of `subject`, but session
    /// `keep` (the one changing its own password). Returns how many sessions were live.
    pub(crate) async fn end_everything(
        &self,
        subject: Subject,
        reason: &str,
        keep: Option<SessionId>,
    ) -> Result<usize> {
        let now = self.core.base.clock.now();
        store::revoke_pats_of(
            &mut self.core.base.stores.db.clone(),
            &subject.id_string(),
            now,
        )
        .await?;
        self.core.sessions.end_all(&subject, reason, keep).await
    }
}
