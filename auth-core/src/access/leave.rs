//! What an administrator may do, as values only this crate can make. Core operations that need an
//! admin take an [`AdminRead`] or an [`AdminWrite`] rather than an admin's id, so neither the
//! gateway nor an application embedding this crate can skip the role check: a `support` admin's
//! id, or any id at all, approves nobody.
//!
//! They are made in three places only: from a checked credential
//! ([`Principal::admin_read`](crate::credentials::Principal::admin_read),
//! [`Principal::admin_write`](crate::credentials::Principal::admin_write)), from an admin's record
//! read from the store ([`Admins::write_authority`](crate::admins::Admins::write_authority)), and
//! for the host's operator (the command line, which holds the database already:
//! [`AuthCore::host_operator`](crate::AuthCore::host_operator)).

use super::Role;
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

/// Reading leave for admin `id` of `role`, unless the account is disabled.
pub(crate) fn read_leave(id: AdminId, role: Role, disabled: bool) -> Result<AdminRead> {
    if disabled {
        return Err(Error::AdminDisabled);
    }
    Ok(AdminRead {
        actor: Actor::Admin(id),
        role,
    })
}

/// Writing leave for admin `id`, if enabled and its role may change things.
pub(crate) fn write_leave(id: AdminId, role: Role, disabled: bool) -> Result<AdminWrite> {
    read_leave(id, role, disabled)?;
    if !role.may_write() {
        return Err(Error::ReadOnlyRole);
    }
    Ok(AdminWrite {
        actor: Actor::Admin(id),
    })
}

/// The host's operator: the command line, or an application acting as the host.
pub(crate) fn host_operator() -> AdminWrite {
    AdminWrite {
        actor: Actor::System,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_may_read_but_not_write() {
        let id = AdminId::new();
        assert!(read_leave(id, Role::Support, false).is_ok());
        assert!(matches!(
            write_leave(id, Role::Support, false),
            Err(Error::ReadOnlyRole)
        ));
        assert!(write_leave(id, Role::Admin, false).is_ok());
    }

    #[test]
    fn a_disabled_admin_may_do_nothing() {
        let id = AdminId::new();
        assert!(matches!(
            read_leave(id, Role::Admin, true),
            Err(Error::AdminDisabled)
        ));
        assert!(matches!(
            write_leave(id, Role::Admin, true),
            Err(Error::AdminDisabled)
        ));
    }
}
