//! Password reset by a single-use emailed token. Asking always looks the same and takes the same
//! time, whether or not the account exists; using the token sets the new password and signs the
//! person out everywhere.

use std::time::Duration;

use jiff::SignedDuration;

use super::{Credentials, USER_PASSWORDS};
use crate::accounts::email_tokens::{self, Purpose};
use crate::accounts::{UserStatus, store as users};
use crate::audit::{AuditAction, AuditEntry};
use crate::clock::SharedClock;
use crate::context::{Actor, RequestContext};
use crate::error::{Error, Result};
use crate::mail::{AfterAnswer, Mailer, messages};
use crate::naming;
use crate::sessions::Subject;
use crate::store::sql::Db;

/// Reset requests per address and hour beyond which further ones are silently dropped.
const REQUESTS_PER_HOUR: i64 = 5;

impl Credentials<'_> {
    /// Mails a reset link if `email` names an account that can log in. The caller answers the same
    /// (202) in every case, so nobody learns which addresses have accounts; and it answers in the
    /// same time, because the lookup, the token and the mail happen after the answer (see
    /// [`AfterAnswer`]). Past the hourly allowance per address, requests are silently dropped.
    pub async fn forgot_password(
        &self,
        email: &str,
        context: &RequestContext,
    ) -> Result<AfterAnswer> {
        let core = self.core;
        let normalized = naming::normalize_email(email);
        let requests = core
            .base
            .stores
            .ephemeral
            .increment(
                &format!("reset-request:{normalized}"),
                Duration::from_secs(3600),
            )
            .await?;
        if requests > REQUESTS_PER_HOUR {
            return Ok(AfterAnswer::nothing());
        }
        let job = ResetMail {
            db: core.base.stores.db.clone(),
            clock: core.base.clock.clone(),
            mailer: core.mailer.clone(),
            public_url: core.base.config.gateway.public_url.clone(),
            ttl_secs: core.base.config.tokens.password_reset_ttl_secs,
            email: normalized,
            context: context.clone(),
        };
        Ok(AfterAnswer::start("password reset mail", job.send()).await)
    }

    /// Mails `user` a reset link (an admin's decision, for a person who cannot sign in), audited
    /// with the admin. The mail goes out as `forgot_password`'s does, within its hourly allowance.
    pub async fn mail_reset_by_admin(
        &self,
        admin: &super::AdminWrite,
        user: crate::ids::UserId,
        context: &RequestContext,
    ) -> Result<AfterAnswer> {
        let db = &self.core.base.stores.db;
        let person = users::by_id(&mut db.clone(), user)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if person.status != UserStatus::Active {
            return Err(Error::Conflict(format!(
                "the account is {}; only an active account can reset its password",
                person.status.as_str()
            )));
        }
        AuditEntry::new(admin.actor(), AuditAction::PasswordResetRequested)
            .target("user", user)
            .from_client(context)
            .detail("by_admin", true)
            .write(&mut db.clone(), self.core.base.clock.now())
            .await?;
        self.forgot_password(&person.email, context).await
    }

    /// Sets a new password with a reset token, ends every session and refresh family of the
    /// account, clears any lock, and tells the person by mail.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: &str,
        context: &RequestContext,
    ) -> Result<()> {
        let core = self.core;
        // Whose token it is, and whether it can still be used, before anything costly: a weak
        // password is refused without spending the token, a spent one without hashing anything.
        let owner = email_tokens::owner_of_usable(
            &mut core.base.stores.db.clone(),
            token,
            Purpose::PasswordReset,
            core.base.clock.now(),
        )
        .await?;
        let user = users::by_id(&mut core.base.stores.db.clone(), owner)
            .await?
            .ok_or(Error::InvalidToken)?;
        let password = core.passwords.policy.check(
            "new_password",
            new_password,
            &[&user.email, &user.username],
        )?;
        let hash = core.passwords.hasher.hash(&password).await?;

        let now = core.base.clock.now();
        let mut tx = core.base.stores.db.begin().await?;
        let redeemed = email_tokens::redeem(&mut tx, token, Purpose::PasswordReset, now).await?;
        if redeemed != owner {
            return Err(Error::InvalidToken);
        }
        users::set_password(&mut tx, owner, &hash, now).await?;
        AuditEntry::new(Actor::User(owner), AuditAction::PasswordReset)
            .target("user", owner)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        messages::password_changed(&user.email, &user.full_name)
            .enqueue(&mut tx, now)
            .await?;
        core.state
            .lockout
            .clear(&mut tx, USER_PASSWORDS, &owner.to_string())
            .await?;
        tx.commit().await?;
        core.mailer.wake();
        self.end_everything(Subject::User(owner), "password reset", None)
            .await?;
        Ok(())
    }
}

/// What mailing a reset link needs, owned, so it can run after the answer.
struct ResetMail {
    db: Db,
    clock: SharedClock,
    mailer: Mailer,
    public_url: String,
    ttl_secs: u64,
    /// Normalised.
    email: String,
    context: RequestContext,
}

impl ResetMail {
    async fn send(self) -> Result<()> {
        let Some((user, _)) = users::for_login(&self.db, &self.email).await? else {
            return Ok(());
        };
        if naming::normalize_email(&user.email) != self.email
            || matches!(user.status, UserStatus::Deleted | UserStatus::Rejected)
        {
            return Ok(());
        }
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let token = email_tokens::issue(
            &mut tx,
            user.id,
            Purpose::PasswordReset,
            SignedDuration::from_secs(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX)),
            now,
        )
        .await?;
        messages::password_reset(
            &user.email,
            &user.full_name,
            &self.public_url,
            token.expose(),
            self.ttl_secs / 60,
        )
        .enqueue(&mut tx, now)
        .await?;
        AuditEntry::new(Actor::Anonymous, AuditAction::PasswordResetRequested)
            .target("user", user.id)
            .from_client(&self.context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.mailer.wake();
        Ok(())
    }
}
