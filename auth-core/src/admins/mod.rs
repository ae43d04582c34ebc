//! Administrators: a table of their own, apart from users, with two roles. `admin` may do
//! everything; `support` may only read (lists, history). The first admin is made from the command
//! line.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

mod store;

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
}

impl<'a> Admins<'a> {
    pub(crate) fn new(core: &'a Base, passwords: &'a Passwords) -> Self {
        Self { core, passwords }
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

    pub async fn get(&self, id: AdminId) -> Result<Admin> {
        by_id(&self.core.stores.db, id)
            .await?
            .ok_or(Error::NotFound("admin"))
    }
}

pub(crate) use store::{by_id, for_login};
