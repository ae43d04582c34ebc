//! A person changing their own password, and signing out everywhere. Both end every other session,
//! every refresh family and every personal access token of the account: whoever may have learnt
//! the old password, or copied a token, loses what it opened. Also the check of the current
//! password that such steps ask for.

use serde::Deserialize;

use super::lockout::USER_PASSWORDS;
use super::{Credentials, Principal};
use crate::accounts::store as users;
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::context::RequestContext;
use crate::error::{Error, Result};
use crate::mail::messages;
use crate::passwords::{PasswordPolicy, Verified};
use crate::secret::Secret;
use crate::sessions::Subject;

/// A new password, with the current one to prove it is the person.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::current_password))]
    pub current_password: Secret,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::new_password))]
    pub new_password: Secret,
}

impl Credentials<'_> {
    /// Sets a new password for the signed-in person, who proves the current one (wrong ones count
    /// towards the account's lockout). Ends every other session, refresh family and personal
    /// access token, and mails a notice. Returns how many sessions were ended.
    pub async fn change_password(
        &self,
        principal: &Principal,
        change: PasswordChange,
        context: &RequestContext,
    ) -> Result<usize> {
        let core = self.core;
        let user = principal.require_user()?;
        let current = principal.session().ok_or(Error::NeedsPerson)?;
        self.confirm_password(
            principal,
            &change.current_password,
            "current_password",
            AuditAction::PasswordChangeFailed,
            context,
        )
        .await?;
        let password = core.passwords.policy.check(
            "new_password",
            change.new_password.expose(),
            &[&user.email, &user.username],
        )?;
        let hash = core.passwords.hasher.hash(&password).await?;
        let now = core.base.clock.now();
        let mut tx = core.base.stores.db.begin().await?;
        users::set_password(&mut tx, user.id, &hash, now).await?;
        AuditEntry::new(principal.actor(), AuditAction::PasswordChanged)
            .target("user", user.id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        messages::password_changed(&user.email, &user.full_name)
            .enqueue(&mut tx, now)
            .await?;
        tx.commit().await?;
        core.mailer.wake();
        self.end_everything(Subject::User(user.id), "password changed", Some(current))
            .await
    }

    /// Checks that `password` is the signed-in person's current one before a step that needs it
    /// (a password change, deleting the account). A wrong one counts towards the account's
    /// lockout, is audited as `failed`, and is refused as a validation error on `field`; a locked
    /// account is refused with ACCOUNT_LOCKED before any hashing.
    pub async fn confirm_password(
        &self,
        principal: &Principal,
        password: &Secret,
        field: &'static str,
        failed: AuditAction,
        context: &RequestContext,
    ) -> Result<()> {
        let core = self.core;
        let user = principal.require_user()?;
        let wrong = || Error::invalid(field, "is not the current password");
        if password.expose().chars().count() > core.base.config.passwords.max_length {
            return Err(wrong());
        }
        let db = &core.base.stores.db;
        let stored = users::password_hash(db, user.id)
            .await?
            .ok_or(Error::InvalidToken)?;
        let id = user.id.to_string();
        let attempt = core
            .state
            .lockout
            .admit(db, USER_PASSWORDS, &id, core.base.clock.now())
            .await?;
        let presented = PasswordPolicy::normalize(password.expose());
        if let Verified::No = core
            .passwords
            .hasher
            .verify(&presented, Some(&stored))
            .await?
        {
            let now = core.base.clock.now();
            let locked = core
                .state
                .lockout
                .failed(db, USER_PASSWORDS, &id, attempt, now)
                .await?;
            let mut entry = AuditEntry::new(principal.actor(), failed)
                .target("user", user.id)
                .from_client(context)
                .outcome(Outcome::Failure);
            if let Some(until) = locked {
                entry = entry.detail("locked_until", until.to_string());
            }
            entry.write(&mut db.clone(), now).await?;
            return Err(wrong());
        }
        core.state
            .lockout
            .succeeded(db, USER_PASSWORDS, &id, attempt)
            .await?;
        Ok(())
    }

    /// Ends every session, refresh family and personal access token of the signed-in person, the
    /// caller's own session included. Returns how many sessions were ended.
    pub async fn sign_out_everywhere(
        &self,
        principal: &Principal,
        context: &RequestContext,
    ) -> Result<usize> {
        let user = principal.require_user()?;
        let ended = self
            .end_everything(Subject::User(user.id), "signed out everywhere", None)
            .await?;
        AuditEntry::new(principal.actor(), AuditAction::SessionSignedOutEverywhere)
            .target("user", user.id)
            .from_client(context)
            .detail("sessions", ended)
            .write(
                &mut self.core.base.stores.db.clone(),
                self.core.base.clock.now(),
            )
            .await?;
        Ok(ended)
    }
}
