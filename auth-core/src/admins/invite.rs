//! Joining the staff by invitation: an admin names the new person and their role, auth-core mails
//! them a one-time link, and with it they choose their own password (nobody else ever knows it);
//! their first console sign-in then enrols an authenticator. Until the link is used the account
//! has a password nobody knows and does not count as an admin who can act.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{Admin, Admins, NewAdmin, store};
use crate::access::{AdminWrite, Role};
use crate::audit::{AuditAction, AuditEntry};
use crate::context::{Actor, RequestContext};
use crate::error::{Error, FieldError, Result};
use crate::ids::AdminId;
use crate::mail::messages;
use crate::naming;
use crate::secret::{Secret, hash_token, random_token};

/// How long an invitation link works.
pub const INVITE_TTL: SignedDuration = SignedDuration::from_hours(72);

/// Who to invite.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    pub username: String,
    pub email: String,
    pub role: Role,
}

impl Admins<'_> {
    /// Makes admin `new` without a usable password and mails it a link to choose one, audited.
    /// The link is the only copy of the token; the database keeps its hash.
    pub async fn invite(
        &self,
        new: NewInvite,
        by: &AdminWrite,
        context: &RequestContext,
    ) -> Result<Admin> {
        let problems: Vec<FieldError> = [
            naming::check_username(&new.username),
            naming::check_email(&new.email),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            return Err(Error::Validation(problems));
        }
        // A real hash of a secret nobody keeps: signing in before the link is used fails after
        // the same work as any wrong password.
        let unknowable = self.passwords.hasher.hash(&random_token("")).await?;
        let now = self.core.clock.now();
        let id = AdminId::new();
        let admin = NewAdmin {
            username: new.username,
            email: new.email,
            password: Secret::from(String::new()),
            role: new.role,
        };
        let mut tx = self.core.stores.db.begin().await?;
        store::insert(&mut tx, id, &admin, &unknowable, now).await?;
        AuditEntry::new(by.actor(), AuditAction::AdminInvited)
            .target("admin", id)
            .from_client(context)
            .detail("role", admin.role.as_str())
            .write(&mut tx, now)
            .await?;
        self.mail_invite(&mut tx, id, &admin, now).await?;
        tx.commit().await?;
        self.mailer.wake();
        self.get(id).await
    }

    /// Mails admin `target` a fresh link; the earlier one stops working. Only for an admin that
    /// has not yet used its invitation (`CONFLICT` otherwise).
    pub async fn invite_again(
        &self,
        target: AdminId,
        by: &AdminWrite,
        context: &RequestContext,
    ) -> Result<()> {
        let admin = self.get(target).await?;
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        if !store::has_invite(&mut tx, target).await? {
            return Err(Error::Conflict(
                "this person has already joined; reset their password or authenticator instead"
                    .into(),
            ));
        }
        AuditEntry::new(by.actor(), AuditAction::AdminInvited)
            .target("admin", target)
            .from_client(context)
            .detail("again", true)
            .write(&mut tx, now)
            .await?;
        let named = NewAdmin {
            username: admin.username,
            email: admin.email,
            password: Secret::from(String::new()),
            role: admin.role,
        };
        self.mail_invite(&mut tx, target, &named, now).await?;
        tx.commit().await?;
        self.mailer.wake();
        Ok(())
    }

    /// The admin whose invitation `token` is, while the link still works (`INVALID_TOKEN` or
    /// `EXPIRED_TOKEN` otherwise): checked before the password form is shown or hashed.
    pub async fn invited_by(&self, token: &str) -> Result<Admin> {
        let hash = hash_token(token.trim());
        let mut db = self.core.stores.db.clone();
        let (id, expires_at) = store::invite_by_hash(&mut db, &hash)
            .await?
            .ok_or(Error::InvalidToken)?;
        if expires_at <= self.core.clock.now() {
            return Err(Error::ExpiredToken);
        }
        self.get(id).await
    }

    /// Sets the invited admin's password with invitation `token`, which then stops working;
    /// audited as the admin's own act. A weak password is refused without using the link.
    pub async fn accept_invite(
        &self,
        token: &str,
        password: &str,
        context: &RequestContext,
    ) -> Result<Admin> {
        let admin = self.invited_by(token).await?;
        let password =
            self.passwords
                .policy
                .check("password", password, &[&admin.email, &admin.username])?;
        let hash = self.passwords.hasher.hash(&password).await?;
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        if store::take_invite(&mut tx, &hash_token(token.trim()), now).await? != Some(admin.id) {
            return Err(Error::InvalidToken);
        }
        store::set_password(&mut tx, admin.id, &hash, now).await?;
        AuditEntry::new(Actor::Admin(admin.id), AuditAction::AdminInviteAccepted)
            .target("admin", admin.id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        Ok(admin)
    }

    async fn mail_invite(
        &self,
        tx: &mut crate::store::sql::Tx,
        id: AdminId,
        admin: &NewAdmin,
        now: Timestamp,
    ) -> Result<()> {
        let token = random_token("");
        let expires_at = now + INVITE_TTL;
        store::put_invite(tx, id, &hash_token(token.expose()), now, expires_at).await?;
        messages::staff_invite(
            admin.email.trim(),
            admin.username.trim(),
            role_text(admin.role),
            &self.core.config.gateway.public_url,
            token.expose(),
            INVITE_TTL.as_hours(),
        )
        .enqueue(tx, now)
        .await?;
        Ok(())
    }
}

/// What a role lets its holder do, as the invitation says it.
fn role_text(role: Role) -> &'static str {
    match role {
        Role::Admin => "an admin (you may act on accounts, services and settings)",
        Role::Support => "support staff (you may see everything and change nothing)",
    }
}
