//! Administrators: a table of their own, apart from users, with two roles. `admin` may do
//! everything; `support` may only read (lists, history). The first admin is made from the command
//! line. An admin signs in to the console with a password and a second factor
//! ([`second_factor`]); another admin, or the host's operator, can reset it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

mod invite;
pub mod second_factor;
mod store;

pub use invite::{INVITE_TTL, NewInvite};

pub use crate::access::Role;
use crate::audit::{AuditAction, AuditEntry};
use crate::context::Base;
use crate::context::RequestContext;
use crate::error::{Error, FieldError, Result};
use crate::ids::AdminId;
use crate::naming;
use crate::passwords::Passwords;
use crate::secret::Secret;

/// An administrator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Admin {
    pub id: AdminId,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// An admin in the staff list, with how far it has joined.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffMember {
    pub admin: Admin,
    /// Whether it has enrolled an authenticator.
    pub enrolled: bool,
    /// Until when its invitation link works, while it has not yet set a password with one.
    pub invited_until: Option<Timestamp>,
}

/// A new administrator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    pub username: String,
    pub email: String,
    pub password: Secret,
    pub role: Role,
}

/// The admins domain.
pub struct Admins<'a> {
    core: &'a Base,
    passwords: &'a Passwords,
    sessions: &'a crate::sessions::Sessions,
    mailer: &'a crate::mail::Mailer,
}

impl<'a> Admins<'a> {
    pub(crate) fn new(
        core: &'a Base,
        passwords: &'a Passwords,
        sessions: &'a crate::sessions::Sessions,
        mailer: &'a crate::mail::Mailer,
    ) -> Self {
        Self {
            core,
            passwords,
            sessions,
            mailer,
        }
    }

    /// Creates an admin, by an admin or the host's operator (the command line).
    pub async fn create(
        &self,
        new: NewAdmin,
        by: &crate::access::AdminWrite,
        context: &RequestContext,
    ) -> Result<Admin> {
        let actor = by.actor();
        let mut problems: Vec<FieldError> = [
            naming::check_username(&new.username),
            naming::check_email(&new.email),
        ]
        .into_iter()
        .flatten()
        .collect();
        let password = match self.passwords.policy.check(
            "password",
            new.password.expose(),
            &[new.email.trim(), new.username.trim()],
        ) {
            Ok(password) => Some(password),
            Err(Error::Validation(mut fields)) => {
                problems.append(&mut fields);
                None
            }
            Err(other) => return Err(other),
        };
        let Some(password) = password.filter(|_| problems.is_empty()) else {
            return Err(Error::Validation(problems));
        };
        let hash = self.passwords.hasher.hash(&password).await?;
        let now = self.core.clock.now();
        let id = AdminId::new();
        let mut tx = self.core.stores.db.begin().await?;
        store::insert(&mut tx, id, &new, &hash, now).await?;
        AuditEntry::new(actor, AuditAction::AdminCreated)
            .target("admin", id)
            .from_client(context)
            .detail("role", new.role.as_str())
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// Leave to act as admin `id`, by the role and state stored for it: for an application that
    /// authenticates its administrators itself. A support admin gets reading leave only, a
    /// disabled one none.
    pub async fn read_authority(&self, id: AdminId) -> Result<crate::access::AdminRead> {
        let admin = self.get(id).await?;
        crate::access::read_leave(admin.id, admin.role, admin.disabled)
    }

    /// Leave to change things as admin `id`; refused for the support role and disabled admins.
    pub async fn write_authority(&self, id: AdminId) -> Result<crate::access::AdminWrite> {
        let admin = self.get(id).await?;
        crate::access::write_leave(admin.id, admin.role, admin.disabled)
    }

    /// Removes admin `target`'s second factor and ends its sessions, so its next console sign-in
    /// enrols a new authenticator: by another admin, or the host's operator (the command line).
    /// Audited; refused for an admin without one (`CONFLICT`).
    pub async fn reset_second_factor(
        &self,
        target: AdminId,
        by: &crate::access::AdminWrite,
        context: &RequestContext,
    ) -> Result<()> {
        let admin = self.get(target).await?;
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        if !store::clear_second_factor(&mut tx, admin.id).await? {
            return Err(Error::Conflict(
                "this admin has no second factor to reset".into(),
            ));
        }
        AuditEntry::new(by.actor(), AuditAction::AdminSecondFactorReset)
            .target("admin", admin.id)
            .from_client(context)
            .write(&mut tx, now)
            .await?;
        tx.commit().await?;
        self.sessions
            .end_all(
                &crate::sessions::Subject::Admin(admin.id),
                "second factor reset",
                None,
            )
            .await?;
        Ok(())
    }

    /// Every admin with where it stands in joining (second factor, invitation), by username.
    pub async fn list(&self, _reader: &crate::access::AdminRead) -> Result<Vec<StaffMember>> {
        store::all(&self.core.stores.db).await
    }

    /// Gives admin `target` role `role` and disables or enables it, audited; a disabled admin's
    /// sessions end. Refused (`CONFLICT`) when no enabled admin of role `admin` would be left, so
    /// nobody can lock every admin out, themselves included.
    pub async fn change_standing(
        &self,
        target: AdminId,
        role: Role,
        disabled: bool,
        by: &crate::access::AdminWrite,
        context: &RequestContext,
    ) -> Result<Admin> {
        let before = self.get(target).await?;
        if before.role == role && before.disabled == disabled {
            return Ok(before);
        }
        let now = self.core.clock.now();
        let mut tx = self.core.stores.db.begin().await?;
        if !store::set_standing(&mut tx, target, role.as_str(), disabled, now).await? {
            return Err(Error::Conflict(
                "that would leave no enabled admin who can act; make another admin first".into(),
            ));
        }
        if before.role != role {
            AuditEntry::new(by.actor(), AuditAction::AdminRoleChanged)
                .target("admin", target)
                .from_client(context)
                .detail("from", before.role.as_str())
                .detail("to", role.as_str())
                .write(&mut tx, now)
                .await?;
        }
        if before.disabled != disabled {
            let action = if disabled {
                AuditAction::AdminDisabled
            } else {
                AuditAction::AdminEnabled
            };
            AuditEntry::new(by.actor(), action)
                .target("admin", target)
                .from_client(context)
                .write(&mut tx, now)
                .await?;
        }
        tx.commit().await?;
        if disabled {
            self.sessions
                .end_all(
                    &crate::sessions::Subject::Admin(target),
                    "admin disabled",
                    None,
                )
                .await?;
        }
        self.get(target).await
    }

    /// Whether admin `id` has enrolled a second factor, and how many recovery codes are unused.
    pub async fn second_factor_status(&self, id: AdminId) -> Result<(bool, i64)> {
        let db = &self.core.stores.db;
        let enrolled = store::sealed_totp(db, id).await?.is_some();
        Ok((enrolled, store::recovery_codes_left(db, id).await?))
    }

    /// The admin named `username`, for the host's operator.
    pub async fn by_username(&self, username: &str) -> Result<Admin> {
        for_login(&self.core.stores.db, username)
            .await?
            .map(|(admin, _)| admin)
            .ok_or(Error::NotFound("admin"))
    }

    pub async fn get(&self, id: AdminId) -> Result<Admin> {
        by_id(&self.core.stores.db, id)
            .await?
            .ok_or(Error::NotFound("admin"))
    }
}

pub(crate) use store::{
    by_id, enrol_second_factor, for_login, sealed_totp, second_factor_since, take_totp_step,
    use_recovery_code,
};
