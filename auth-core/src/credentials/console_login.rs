//! The admin console's sign-in, in two steps: the admin's password (the admin login's own check),
//! then a code from the admin's authenticator app or one of its recovery codes. An admin without
//! a second factor enrols one at the second step: the password step makes a new secret, the page
//! shows it, and the first code made from it confirms it and hands out ten recovery codes.
//!
//! Wrong codes count towards the same lockout as wrong passwords (per admin and client address),
//! and the count is cleared only when both steps succeed, so knowing the password does not reset
//! the guesses at the code.
//!
//! The console session lasts [`CONSOLE_IDLE`] from the last request and [`CONSOLE_MAX`] at most.
//! Its cookie holds a signed admin token for the console's own audience, accepted nowhere else
//! ([`crate::access::scope`]). Forms carry a CSRF token derived from the session with a key only
//! this crate holds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::lockout::client_key;
use super::{AdminLogin, Credentials, Principal};
use crate::admins::second_factor::{self, TotpSecret};
use crate::admins::{self, Admin};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::ids::AdminId;
use crate::secret::{Secret, hash_token, keyed_mac, random_token};
use crate::sessions::Subject;
use crate::store::ephemeral::Ephemeral;

/// `aud` of console session tokens.
pub const CONSOLE_AUDIENCE: &str = "auth-console";
/// A console session ends this long after its last request.
pub const CONSOLE_IDLE: SignedDuration = SignedDuration::from_mins(15);
/// A console session ends this long after its sign-in, however busy.
pub const CONSOLE_MAX: SignedDuration = SignedDuration::from_hours(8);
/// How long the second step waits for its code after the password.
pub const SECOND_STEP_TTL: SignedDuration = SignedDuration::from_mins(5);
/// An idle expiry is moved forward only when it would gain this much, so a burst of page views
/// writes the session once.
const EXTEND_STEP: SignedDuration = SignedDuration::from_secs(30);

/// Keys of the console, derived from the master key: one seals TOTP secrets, one makes CSRF tokens.
pub(crate) struct ConsoleKeys {
    pub totp: [u8; 32],
    pub csrf: [u8; 32],
}

/// What the password step leaves for the second one, in the short-lived store.
#[derive(Serialize, Deserialize)]
struct PendingStep {
    admin: AdminId,
    /// The new secret, sealed, while the admin enrols.
    enrolling: Option<String>,
    expires_at: Timestamp,
}

fn step_key(token: &str) -> String {
    format!("console-step:{}", hash_token(token))
}

/// The second step of a console sign-in, waiting for its code.
#[derive(Debug)]
pub struct SecondStep {
    /// Names the step (the page keeps it in a cookie of its own); single-use.
    pub token: Secret,
    /// Set while the admin enrols an authenticator: what to show for it.
    pub enrolment: Option<Enrolment>,
}

/// A new authenticator to set up: the secret as a QR code's `otpauth://` URI and as text.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// A console sign-in that succeeded.
#[derive(Debug)]
pub struct ConsoleSignIn {
    /// The session cookie's value.
    pub token: Secret,
    pub admin: Admin,
    /// The recovery codes of a first sign-in, shown once; empty otherwise.
    pub recovery_codes: Vec<String>,
}

impl Credentials<'_> {
    fn store(&self) -> &dyn Ephemeral {
        self.core.base.stores.ephemeral.as_ref()
    }

    pub(super) async fn has_second_factor(&self, admin: AdminId) -> Result<bool> {
        Ok(admins::sealed_totp(&self.core.base.stores.db, admin)
            .await?
            .is_some())
    }

    fn seal_secret(&self, admin: AdminId, secret: &TotpSecret) -> Result<Vec<u8>> {
        super::seal_with(
            &self.core.state.console.totp,
            &second_factor::seal_context(&admin.to_string()),
            secret.bytes(),
        )
    }

    fn open_secret(&self, admin: AdminId, sealed: &[u8]) -> Result<TotpSecret> {
        super::open_with(
            &self.core.state.console.totp,
            &second_factor::seal_context(&admin.to_string()),
            sealed,
        )
        .map(TotpSecret::from_bytes)
    }

    fn enrolment_of(&self, admin: &Admin, secret: &TotpSecret) -> Enrolment {
        let issuer = url::Url::parse(&self.core.base.config.gateway.public_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| "auth".into());
        Enrolment {
            secret: secret.base32(),
            uri: secret.otpauth_uri(&issuer, &admin.username),
        }
    }

    /// A failed code from `context`: counted, audited, and refused as a wrong password is.
    async fn code_failed(
        &self,
        admin: &Admin,
        attempt: super::lockout::Admitted,
        context: &RequestContext,
    ) -> Error {
        let core = self.core;
        let db = &core.base.stores.db;
        let now = core.base.clock.now();
        let client = client_key(context.client_ip);
        let locked = match core
            .state
            .lockout
            .failed_admin(db, &admin.id.to_string(), &client, attempt, now)
            .await
        {
            Ok(locked) => locked,
            Err(err) => return err,
        };
        let entry = match locked {
            Some(until) => AuditEntry::new(Actor::Anonymous, AuditAction::AdminLocked)
                .detail("locked_until", until.to_string()),
            None => AuditEntry::new(Actor::Anonymous, AuditAction::AdminLogin),
        };
        if let Err(err) = entry
            .target("admin", admin.id)
            .from_client(context)
            .detail("step", "second_factor")
            .outcome(Outcome::Failure)
            .write(&mut db.clone(), now)
            .await
        {
            return err.into();
        }
        Error::InvalidCredentials
    }

    /// Checks the code (or recovery code) of an admin that has a second factor: counted towards
    /// the lockout, single-use, and on success the whole login's count is cleared.
    pub(super) async fn second_factor_code(
        &self,
        admin: &Admin,
        code: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let core = self.core;
        let db = &core.base.stores.db;
        let now = core.base.clock.now();
        let attempt = core
            .state
            .lockout
            .admit_admin(
                db,
                &admin.id.to_string(),
                &client_key(context.client_ip),
                now,
            )
            .await?;
        let accepted = if second_factor::looks_like_recovery_code(code) {
            let hash = second_factor::recovery_code_hash(code);
            let mut tx = db.begin().await?;
            let used = admins::use_recovery_code(&mut tx, admin.id, &hash, now).await?;
            if used {
                AuditEntry::new(Actor::Admin(admin.id), AuditAction::AdminRecoveryCodeUsed)
                    .target("admin", admin.id)
                    .from_client(context)
                    .write(&mut tx, now)
                    .await?;
            }
            tx.commit().await?;
            used
        } else {
            let sealed = admins::sealed_totp(db, admin.id)
                .await?
                .ok_or(Error::InvalidCredentials)?;
            match self
                .open_secret(admin.id, &sealed)?
                .matching_step(code, now)?
            {
                Some(step) => admins::take_totp_step(&mut db.clone(), admin.id, step).await?,
                None => false,
            }
        };
        if !accepted {
            return Err(self.code_failed(admin, attempt, context).await);
        }
        self.admin_login_done(admin, context).await
    }

    /// The console's first step: the password. Returns the second step, which enrols a new
    /// authenticator when the admin has none.
    pub async fn console_password(
        &self,
        request: AdminLogin,
        context: &RequestContext,
    ) -> Result<SecondStep> {
        let admin = self.admin_password(request, context).await?;
        let now = self.core.base.clock.now();
        let new_secret = if self.has_second_factor(admin.id).await? {
            None
        } else {
            Some(TotpSecret::generate())
        };
        let enrolling = match &new_secret {
            Some(secret) => Some(second_factor::sealed_text(
                &self.seal_secret(admin.id, secret)?,
            )),
            None => None,
        };
        let pending = PendingStep {
            admin: admin.id,
            enrolling,
            expires_at: now + SECOND_STEP_TTL,
        };
        let token = random_token("cstep_");
        let bytes = serde_json::to_vec(&pending).map_err(Error::internal)?;
        self.store()
            .put(
                &step_key(token.expose()),
                bytes,
                std::time::Duration::from_secs(SECOND_STEP_TTL.as_secs().unsigned_abs()),
            )
            .await?;
        Ok(SecondStep {
            token,
            enrolment: new_secret.map(|secret| self.enrolment_of(&admin, &secret)),
        })
    }

    async fn pending_step(&self, token: &str) -> Result<PendingStep> {
        let bytes = self
            .store()
            .get(&step_key(token))
            .await?
            .ok_or(Error::ExpiredToken)?;
        let pending: PendingStep = serde_json::from_slice(&bytes).map_err(Error::internal)?;
        if pending.expires_at <= self.core.base.clock.now() {
            return Err(Error::ExpiredToken);
        }
        Ok(pending)
    }

    /// What the second step `token` enrols, if it enrols: for showing its page again after a
    /// wrong code. `EXPIRED_TOKEN` when the step is gone.
    pub async fn console_enrolment(&self, token: &str) -> Result<Option<Enrolment>> {
        let pending = self.pending_step(token).await?;
        let Some(sealed) = pending.enrolling else {
            return Ok(None);
        };
        let admin = self.usable_admin(pending.admin).await?;
        let secret = self.open_secret(admin.id, &second_factor::sealed_bytes(&sealed)?)?;
        Ok(Some(self.enrolment_of(&admin, &secret)))
    }

    /// The console's second step: `code` from the authenticator (or a recovery code) for step
    /// `token`. Enrolling, the code confirms the new secret, which is stored with ten new
    /// recovery codes. Starts the console session.
    pub async fn console_code(
        &self,
        token: &str,
        code: &str,
        context: &RequestContext,
    ) -> Result<ConsoleSignIn> {
        let core = self.core;
        let db = &core.base.stores.db;
        let pending = self.pending_step(token).await?;
        let admin = self.usable_admin(pending.admin).await?;
        let now = core.base.clock.now();
        let mut recovery_codes = Vec::new();
        match pending.enrolling {
            Some(sealed_text) => {
                let sealed = second_factor::sealed_bytes(&sealed_text)?;
                let secret = self.open_secret(admin.id, &sealed)?;
                let attempt = core
                    .state
                    .lockout
                    .admit_admin(
                        db,
                        &admin.id.to_string(),
                        &client_key(context.client_ip),
                        now,
                    )
                    .await?;
                let Some(step) = secret.matching_step(code, now)? else {
                    return Err(self.code_failed(&admin, attempt, context).await);
                };
                let codes = second_factor::new_recovery_codes();
                let hashes: Vec<String> = codes
                    .iter()
                    .map(|c| second_factor::recovery_code_hash(c))
                    .collect();
                let mut tx = db.begin().await?;
                if !admins::enrol_second_factor(&mut tx, admin.id, sealed, step, &hashes, now)
                    .await?
                {
                    return Err(Error::Conflict(
                        "this admin enrolled an authenticator meanwhile; sign in again".into(),
                    ));
                }
                AuditEntry::new(
                    Actor::Admin(admin.id),
                    AuditAction::AdminSecondFactorEnrolled,
                )
                .target("admin", admin.id)
                .from_client(context)
                .write(&mut tx, now)
                .await?;
                tx.commit().await?;
                self.admin_login_done(&admin, context).await?;
                recovery_codes = codes;
            }
            None => self.second_factor_code(&admin, code, context).await?,
        }
        // The step is used up; of two posts of it, one signs in.
        if !self.store().remove(&step_key(token)).await? {
            return Err(Error::ExpiredToken);
        }
        let token = self
            .admin_signed_in(
                &admin,
                CONSOLE_AUDIENCE,
                CONSOLE_MAX,
                now + CONSOLE_IDLE,
                context,
            )
            .await?;
        Ok(ConsoleSignIn {
            token: Secret::new(token),
            admin,
            recovery_codes,
        })
    }

    /// Checks a live console session and moves its idle expiry forward, never past its sign-in
    /// plus [`CONSOLE_MAX`]. A session from before the admin's second factor was enrolled (or
    /// with none now, after a reset) is refused: the database says so to every gateway, whatever
    /// store holds the sessions.
    pub(super) async fn keep_console_alive(
        &self,
        session: &crate::sessions::Session,
    ) -> Result<()> {
        let Subject::Admin(admin) = session.subject else {
            return Err(Error::InvalidToken);
        };
        match admins::second_factor_since(&self.core.base.stores.db, admin).await? {
            Some(since) if since <= session.created_at => {}
            _ => return Err(Error::InvalidToken),
        }
        let now = self.core.base.clock.now();
        let target = (now + CONSOLE_IDLE).min(session.created_at + CONSOLE_MAX);
        if target.duration_since(session.expires_at) >= EXTEND_STEP {
            self.core.sessions.extend(&session.id, target).await?;
        }
        Ok(())
    }

    /// The CSRF token of the console session `principal` signed in with; None for any other
    /// credential.
    pub fn console_csrf(&self, principal: &Principal) -> Option<String> {
        if principal.credential() != super::CredentialKind::ConsoleSession {
            return None;
        }
        let session = principal.session()?;
        let mut mac = keyed_mac(&self.core.state.console.csrf);
        mac.update(session.to_string().as_bytes());
        Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Whether `presented` is the CSRF token of `principal`'s console session (constant time).
    pub fn console_csrf_matches(&self, principal: &Principal, presented: &str) -> bool {
        self.console_csrf(principal)
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(presented.as_bytes())))
    }
}
