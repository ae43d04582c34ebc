//! Admin login: a password (an admin's account is apart from users'), counted per admin and client
//! address, and, once the admin has enrolled a second factor in the console, a code from it; the
//! token carries the role.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::lockout::{UnknownLogin, client_key};
use super::login::secs;
use super::{ADMIN_AUDIENCE, Credentials, TokenKind, TokenSpec};
use crate::admins::{self, Admin, Role};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::{AdminId, SessionId};
use crate::naming::normalize_username;
use crate::passwords::{PasswordPolicy, Verified};
use crate::secret::Secret;
use crate::sessions::{LoginMethod, NewSession, Subject};

/// An admin's login.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AdminLogin {
    pub username: String,
    pub password: Secret,
    /// A code from the admin's authenticator app (or a recovery code), required once the admin
    /// has enrolled one in the console.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "123456"))]
    pub code: Option<String>,
}

/// What an admin login returns.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub admin_id: AdminId,
    pub role: Role,
}

impl Credentials<'_> {
    /// The password step of an admin's login (the API's and the console's): the admin, once the
    /// password is right, the admin is enabled and the lockout lets it through. A right password
    /// gives its attempt back but clears nothing: the count is cleared only when the whole login
    /// succeeded ([`Self::admin_login_done`]), so a right password cannot reset the count of
    /// wrong second-factor codes.
    pub(super) async fn admin_password(
        &self,
        request: AdminLogin,
        context: &RequestContext,
    ) -> Result<Admin> {
        let core = self.core;
        let password = PasswordPolicy::normalize(request.password.expose());
        let db = &core.base.stores.db;
        let client = client_key(context.client_ip);
        let Some((admin, hash)) = admins::for_login(db, &request.username).await? else {
            let username = normalize_username(&request.username);
            let unknown = UnknownLogin {
                realm: "admin",
                login: &username,
                client: &client,
            };
            let locked = self.unknown_login(&unknown, &password, context).await?;
            return Err(locked.unwrap_or(Error::InvalidCredentials));
        };
        let id = admin.id.to_string();
        let attempt = match core
            .state
            .lockout
            .admit_admin(db, &id, &client, core.base.clock.now())
            .await
        {
            Ok(attempt) => attempt,
            Err(err) => {
                // The same hash as any other try, so a locked admin looks like an unknown one.
                core.passwords.hasher.verify(&password, None).await?;
                return Err(err);
            }
        };
        let now = core.base.clock.now();
        if let Verified::No = core.passwords.hasher.verify(&password, Some(&hash)).await? {
            let locked = core
                .state
                .lockout
                .failed_admin(db, &id, &client, attempt, now)
                .await?;
            // A wrong password is a failed login, or, the one that locks, the lockout itself.
            if locked.is_some()
                && let Some(meter) = crate::measure::meter()
            {
                meter.lockout("admin_password");
            }
            let entry = match locked {
                Some(until) => AuditEntry::new(Actor::Anonymous, AuditAction::AdminLocked)
                    .detail("locked_until", until.to_string()),
                None => AuditEntry::new(Actor::Anonymous, AuditAction::AdminLogin),
            };
            entry
                .target("admin", admin.id)
                .from_client(context)
                .outcome(Outcome::Failure)
                .write(&mut db.clone(), now)
                .await?;
            return Err(Error::InvalidCredentials);
        }
        core.state
            .lockout
            .passed_step_admin(db, &id, &client, attempt)
            .await?;
        if admin.disabled {
            return Err(Error::AdminDisabled);
        }
        Ok(admin)
    }

    /// The whole of an admin's login succeeded from `context`'s address: its count is gone.
    pub(super) async fn admin_login_done(
        &self,
        admin: &Admin,
        context: &RequestContext,
    ) -> Result<()> {
        self.core
            .state
            .lockout
            .clear_admin(
                &self.core.base.stores.db,
                &admin.id.to_string(),
                &client_key(context.client_ip),
            )
            .await
    }

    /// Logs an admin in; the token carries the role. Wrong passwords are counted per admin and
    /// client address (an IPv6 client by its /64), so a lock from one place does not keep the admin
    /// out from another; unknown names lock the same way.
    pub async fn admin_login(
        &self,
        request: AdminLogin,
        context: &RequestContext,
    ) -> Result<AdminToken> {
        let code = request.code.clone();
        let admin = self.admin_password(request, context).await?;
        if self.has_second_factor(admin.id).await? {
            let code = code.ok_or(Error::SecondFactorRequired)?;
            self.second_factor_code(&admin, &code, context).await?;
        } else {
            self.admin_login_done(&admin, context).await?;
        }
        let ttl = self.core.base.config.tokens.admin_ttl_secs;
        let now = self.core.base.clock.now();
        let access_token = self
            .admin_signed_in(&admin, ADMIN_AUDIENCE, secs(ttl), now + secs(ttl), context)
            .await?;
        Ok(AdminToken {
            access_token,
            token_type: "bearer".into(),
            expires_in: ttl,
            admin_id: admin.id,
            role: admin.role,
        })
    }

    /// Starts a session of `admin` for `audience` ending at `session_ends`, audits the login, and
    /// returns a token for it living `token_ttl`: the end of the API's and the console's logins.
    pub(super) async fn admin_signed_in(
        &self,
        admin: &Admin,
        audience: &str,
        token_ttl: SignedDuration,
        session_ends: Timestamp,
        context: &RequestContext,
    ) -> Result<String> {
        let core = self.core;
        let now = core.base.clock.now();
        let session = core
            .sessions
            .start(NewSession {
                id: SessionId::new(),
                subject: Subject::Admin(admin.id),
                audience,
                method: LoginMethod::Password,
                expires_at: session_ends,
                context,
            })
            .await?;
        let (token, _) = core.state.tokens.issue(
            TokenKind::Admin,
            &admin.id.to_string(),
            audience,
            token_ttl,
            TokenSpec {
                sid: Some(session.id.to_string()),
                role: Some(admin.role.as_str().into()),
                username: Some(admin.username.clone()),
                email: Some(admin.email.clone()),
                name: None,
            },
        )?;
        AuditEntry::new(Actor::Admin(admin.id), AuditAction::AdminLogin)
            .target("admin", admin.id)
            .from_client(context)
            .detail("audience", audience)
            .write(&mut core.base.stores.db.clone(), now)
            .await?;
        Ok(token)
    }
}
