//! What an administrator may do, as values only this crate can make. Core operations that need an
//! admin take an [`AdminRead`] or an [`AdminWrite`] rather than an admin's id, so neither the
//! gateway nor an application embedding this crate can skip the role check: a `support` admin's
//! id, or any id at all, approves nobody.
//!
//! They are made in three places only: from a checked credential ([`Principal::admin_read`],
//! [`Principal::admin_write`]), from an admin's record read from the store
//! ([`Admins::write_authority`](crate::admins::Admins::write_authority)), and for the host's operator (the
//! command line, which holds the database already: [`AuthCore::host_operator`]).
//!
//! [`Principal::admin_read`]: super::Principal::admin_read
//! [`Principal::admin_write`]: super::Principal::admin_write
//! [`AuthCore::host_operator`]: crate::AuthCore::host_operator

use crate::admins::{Admin, Role};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::ids::AdminId;

/// Leave to read what admins read: the approval queue, users, history, audit, sessions.
#[derive(Debug, Clone)]
pub struct AdminRead {
    actor: Actor,
    role: Role,
}

/// Leave to change things as an admin: approve, block, register services, change the schedule.
#[derive(Debug, Clone)]
pub struct AdminWrite {
    actor: Actor,
}

impl AdminRead {
    /// Who reads: an admin, or the host's operator.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    pub fn role(&self) -> Role {
        self.role
    }
}

impl AdminWrite {
    /// Who acts: an admin, or the host's operator ([`Actor::System`]).
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// The admin who acts; None for the host's operator.
    pub fn admin_id(&self) -> Option<AdminId> {
        match self.actor {
            Actor::Admin(id) => Some(id),
            _ => None,
        }
    }

    /// Whoever may write may read.
    pub fn read(&self) -> AdminRead {
        AdminRead {
            actor: self.actor,
            role: Role::Admin,
        }
    }
}

/// Reading leave for an enabled admin of any role.
pub(crate) fn read_for(admin: &Admin) -> Result<AdminRead> {
    if admin.disabled {
        return Err(Error::AdminDisabled);
    }
    Ok(AdminRead {
        actor: Actor::Admin(admin.id),
        role: admin.role,
    })
}

/// Writing leave for an enabled admin whose role may change things.
pub(crate) fn write_for(admin: &Admin) -> Result<AdminWrite> {
    read_for(admin)?;
    if !admin.role.may_write() {
        return Err(Error::ReadOnlyRole);
    }
    Ok(AdminWrite {
        actor: Actor::Admin(admin.id),
    })
}

/// The host's operator: the command line, or an application acting as the host.
pub(crate) fn host() -> AdminWrite {
    AdminWrite {
        actor: Actor::System,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(role: Role, disabled: bool) -> Admin {
        Admin {
            id: AdminId::new(),
            username: "a".into(),
            email: "a@example.com".into(),
            role,
            disabled,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn support_may_read_but_not_write() {
        let support = admin(Role::Support, false);
        assert!(read_for(&support).is_ok());
        assert!(matches!(write_for(&support), Err(Error::ReadOnlyRole)));
        assert!(write_for(&admin(Role::Admin, false)).is_ok());
    }

    #[test]
    fn a_disabled_admin_may_do_nothing() {
        let disabled = admin(Role::Admin, true);
        assert!(matches!(read_for(&disabled), Err(Error::AdminDisabled)));
        assert!(matches!(write_for(&disabled), Err(Error::AdminDisabled)));
    }
}
