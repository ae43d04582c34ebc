//! Password login of users (and the lockout of names that have no account), logout, and token
//! validation.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::lockout::{USER_PASSWORDS, UnknownLogin};
use super::{Credentials, Principal, TokenKind, TokenSpec, refresh};
use crate::accounts::{User, UserStatus, store as users};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::{SessionId, UserId};
use crate::login_history::{LoginAttempt, record_login};
use crate::passwords::{PasswordPolicy, Verified};
use crate::secret::Secret;
use crate::sessions::store as families;
use crate::sessions::{LoginMethod, NewSession, Subject};

/// A password login: `login` is the email address or the username.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: Secret,
}

/// What a successful login or refresh returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub user_id: UserId,
}

/// The answer of `validate-token`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenValidity {
    pub is_valid: bool,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// Why not, when it is not valid (a stable code).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::error::ErrorCode>))]
    pub reason: Option<&'static str>,
}

pub(super) fn secs(value: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(value).unwrap_or(i64::MAX))
}

impl Credentials<'_> {
    /// Logs a user in with a password. Unknown accounts cost the same as wrong passwords and lock
    /// the same way (after `lockout.max_failures`, ACCOUNT_LOCKED with its time); a locked account
    /// costs the same hash as any other try. The account's state (unverified, pending, …) is
    /// revealed only to someone who knows the password.
    pub async fn login(
        &self,
        request: LoginRequest,
        context: &RequestContext,
    ) -> Result<LoginTokens> {
        let core = self.core;
        if request.password.expose().chars().count() > core.base.config.passwords.max_length {
            return Err(Error::InvalidCredentials);
        }
        let password = PasswordPolicy::normalize(request.password.expose());
        let db = &core.base.stores.db;
        let found = users::for_login(db, &request.login)
            .await?
            .filter(|(user, _)| user.status != UserStatus::Deleted);
        let Some((user, hash)) = found else {
            let login = request.login.trim().to_lowercase();
            let unknown = UnknownLogin {
                realm: "user",
                login: &login,
                client: "",
            };
            let locked = self.unknown_login(&unknown, &password, context).await?;
            let failure = locked
                .as_ref()
                .map_or("INVALID_CREDENTIALS", |_| "ACCOUNT_LOCKED");
            self.history(None, Some(failure), context).await?;
            return Err(locked.unwrap_or(Error::InvalidCredentials));
        };
        let id = user.id.to_string();
        let attempt = match core
            .state
            .lockout
            .admit(db, USER_PASSWORDS, &id, core.base.clock.now())
            .await
        {
            Ok(attempt) => attempt,
            Err(err) => {
                // Not checked, but hashed all the same: a locked account must take as long as
                // an unknown one, or timing would tell them apart.
                core.passwords.hasher.verify(&password, None).await?;
                self.history(Some(user.id), Some("ACCOUNT_LOCKED"), context)
                    .await?;
                return Err(err);
            }
        };
        match core.passwords.hasher.verify(&password, Some(&hash)).await? {
            Verified::No => {
                let now = core.base.clock.now();
                if let Some(until) = core
                    .state
                    .lockout
                    .failed(db, USER_PASSWORDS, &id, attempt, now)
                    .await?
                {
                    AuditEntry::new(Actor::Anonymous, AuditAction::UserLocked)
                        .target("user", user.id)
                        .from_client(context)
                        .outcome(Outcome::Failure)
                        .detail("locked_until", until.to_string())
                        .write(&mut db.clone(), now)
                        .await?;
                    crate::mail::messages::locked_out(
                        &user.email,
                        &user.full_name,
                        core.base.config.lockout.max_failures,
                        until,
                        &core.base.config.gateway.public_url,
                    )
                    .enqueue(&mut db.clone(), now)
                    .await?;
                    core.mailer.wake();
                    if let Some(meter) = crate::measure::meter() {
                        meter.lockout("password");
                    }
                    crate::events::Event::about_user(
                        "user.locked",
                        user.id,
                        serde_json::json!({ "user_id": user.id, "method": "password",
                                            "locked_until": until.to_string() }),
                    )
                    .enqueue(&mut db.clone(), now)
                    .await?;
                }
                self.history(Some(user.id), Some("INVALID_CREDENTIALS"), context)
                    .await?;
                Err(Error::InvalidCredentials)
            }
            Verified::Yes { rehash } => {
                core.state
                    .lockout
                    .succeeded(db, USER_PASSWORDS, &id, attempt)
                    .await?;
                if let Some(new_hash) = rehash {
                    users::upgrade_password_hash(db, user.id, &new_hash).await?;
                }
                if let Some(refusal) = user.status.login_refusal() {
                    self.history(Some(user.id), Some(refusal.code().as_str()), context)
                        .await?;
                    return Err(refusal);
                }
                self.start_password_session(&user, context).await
            }
        }
    }

    /// A try at a login that names no account, counted and locked as a real account's would be,
    /// with the same hash and, when it locks, the same audit entry (without a target). Returns
    /// the refusal when it is locked, None for a plain wrong password.
    pub(super) async fn unknown_login(
        &self,
        unknown: &UnknownLogin<'_>,
        password: &Secret,
        context: &RequestContext,
    ) -> Result<Option<Error>> {
        let core = self.core;
        let store = core.base.stores.ephemeral.as_ref();
        let admitted = match core
            .state
            .lockout
            .admit_unknown(store, unknown, core.base.clock.now())
            .await
        {
            Ok(attempt) => Ok(attempt),
            Err(locked @ Error::AccountLocked { .. }) => Err(locked),
            Err(other) => return Err(other),
        };
        core.passwords.hasher.verify(password, None).await?;
        let attempt = match admitted {
            Ok(attempt) => attempt,
            Err(locked) => return Ok(Some(locked)),
        };
        let now = core.base.clock.now();
        if let Some(until) = core
            .state
            .lockout
            .failed_unknown(store, unknown, attempt, now)
            .await?
        {
            let action = if unknown.realm == "admin" {
                AuditAction::AdminLocked
            } else {
                AuditAction::UserLocked
            };
            AuditEntry::new(Actor::Anonymous, action)
                .from_client(context)
                .outcome(Outcome::Failure)
                .detail("locked_until", until.to_string())
                .write(&mut core.base.stores.db.clone(), now)
                .await?;
        } else if unknown.realm == "admin" {
            // A wrong admin password is audited; so is a try at an admin that does not exist.
            AuditEntry::new(Actor::Anonymous, AuditAction::AdminLogin)
                .from_client(context)
                .outcome(Outcome::Failure)
                .write(&mut core.base.stores.db.clone(), now)
                .await?;
        }
        Ok(None)
    }

    async fn history(
        &self,
        user: Option<UserId>,
        failure: Option<&str>,
        context: &RequestContext,
    ) -> Result<()> {
        LoginAttempt {
            user_id: user,
            service: None,
            method: LoginMethod::Password,
            failure,
            context,
        }
        .record(
            &mut self.core.base.stores.db.clone(),
            self.core.base.clock.now(),
        )
        .await?;
        Ok(())
    }

    async fn start_password_session(
        &self,
        user: &User,
        context: &RequestContext,
    ) -> Result<LoginTokens> {
        let core = self.core;
        let now = core.base.clock.now();
        let session_id = SessionId::new();
        let refresh_expires = now + secs(core.base.config.tokens.refresh_ttl_secs);
        let mut tx = core.base.stores.db.begin().await?;
        let refresh_token = refresh::start_family(
            &mut tx,
            session_id,
            Subject::User(user.id),
            refresh_expires,
            now,
        )
        .await?;
        record_login(&mut tx, user.id, None, LoginMethod::Password, context, now).await?;
        tx.commit().await?;
        core.sessions
            .start(NewSession {
                id: session_id,
                subject: Subject::User(user.id),
                audience: &core.base.config.tokens.api_audience,
                method: LoginMethod::Password,
                expires_at: refresh_expires,
                context,
            })
            .await?;
        self.tokens_for(user, session_id, refresh_token)
    }

    /// A new access token for `user` in session `session_id`, paired with `refresh_token`.
    pub(super) fn tokens_for(
        &self,
        user: &User,
        session_id: SessionId,
        refresh_token: Secret,
    ) -> Result<LoginTokens> {
        let ttl = self.core.base.config.tokens.access_ttl_secs;
        let (access_token, _) = self.core.state.tokens.issue(
            TokenKind::Access,
            &user.id.to_string(),
            &self.core.base.config.tokens.api_audience,
            secs(ttl),
            TokenSpec {
                sid: Some(session_id.to_string()),
                role: Some("user".into()),
                username: Some(user.username.clone()),
                email: Some(user.email.clone()),
                name: Some(user.full_name.clone()),
            },
        )?;
        Ok(LoginTokens {
            access_token,
            refresh_token: refresh_token.expose().to_string(),
            token_type: "bearer".into(),
            expires_in: ttl,
            user_id: user.id,
        })
    }

    /// Ends the caller's session and its refresh-token family.
    pub async fn logout(&self, principal: &Principal, context: &RequestContext) -> Result<()> {
        let Some(session) = principal.session() else {
            return Err(Error::invalid(
                "authorization",
                "a personal access token has no session; revoke the token instead",
            ));
        };
        let now = self.core.base.clock.now();
        let mut tx = self.core.base.stores.db.begin().await?;
        families::revoke_families(&mut tx, families::Families::One(session), "logout", now).await?;
        AuditEntry::new(principal.actor(), AuditAction::SessionLogout)
            .target("session", session)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.core.sessions.revoke(&session).await?;
        Ok(())
    }

    /// Whether `token` is a good user credential now, and whose.
    pub async fn validate_token(
        &self,
        token: &str,
        context: &RequestContext,
    ) -> Result<TokenValidity> {
        match self
            .authenticate(token, super::Place::Introspection, context)
            .await
        {
            Ok(Principal::User { user, session, .. }) => {
                let expires_at = match session {
                    Some(_) => self
                        .core
                        .state
                        .tokens
                        .verify_signed(token, None)
                        .await
                        .ok()
                        .map(|c| c.expires_at()),
                    None => None,
                };
                Ok(TokenValidity {
                    is_valid: true,
                    user_id: Some(user.id),
                    email: Some(user.email.clone()),
                    expires_at,
                    reason: None,
                })
            }
            Ok(Principal::Admin { .. }) => Ok(invalid("INVALID_TOKEN")),
            Err(Error::Unavailable(what)) => Err(Error::Unavailable(what)),
            Err(Error::Internal(cause)) => Err(Error::Internal(cause)),
            Err(err) => Ok(invalid(err.code().as_str())),
        }
    }
}

fn invalid(reason: &'static str) -> TokenValidity {
    TokenValidity {
        is_valid: false,
        user_id: None,
        email: None,
        expires_at: None,
        reason: Some(reason),
    }
}
