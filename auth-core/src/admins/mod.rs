//! Administrators: a table of their own, apart from users, with two roles. `admin` may do
//! everything; `support` may only read (lists, history). The first admin is made from the command
//! line.

use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::accounts::rules;
use crate::audit::AuditEntry;
use crate::context::RequestContext;
use crate::core::CoreInner;
use crate::error::{Error, FieldError, Result};
use crate::ids::AdminId;
use crate::params;
use crate::secret::Secret;
use crate::store::StoreError;
use crate::store::sql::{Db, Row};

/// What an admin may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Read-only: lists and history.
    Support,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }

    /// Whether this role may change things (approve, block, rotate…).
    pub fn may_write(self) -> bool {
        self == Role::Admin
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "support" => Ok(Role::Support),
            other => Err(Error::invalid(
                "role",
                format!("`{other}` is not one of admin, support"),
            )),
        }
    }
}

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

const ADMIN_COLUMNS: &str = "id, username, email, role, disabled, created_at";

impl Admin {
    fn from_row(row: &Row) -> Result<Admin, StoreError> {
        let role: String = row.get("role")?;
        Ok(Admin {
            id: row.get("id")?,
            username: row.get("username")?,
            email: row.get("email")?,
            role: role
                .parse()
                .map_err(|_| StoreError::Malformed(format!("admin role `{role}`")))?,
            disabled: row.get("disabled")?,
            created_at: row.get("created_at")?,
        })
    }
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
    core: &'a CoreInner,
}

impl<'a> Admins<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }

    /// Creates an admin, by an admin or the host's operator (the command line).
    pub async fn create(
        &self,
        new: NewAdmin,
        by: &crate::credentials::AdminWrite,
        context: &RequestContext,
    ) -> Result<Admin> {
        let actor = by.actor();
        let mut problems: Vec<FieldError> = [
            rules::check_username(&new.username),
            rules::check_email(&new.email),
        ]
        .into_iter()
        .flatten()
        .collect();
        let password = match self.core.policy.check(
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
        let hash = self.core.hasher.hash(&password).await?;
        let now = self.core.clock.now();
        let id = AdminId::new();
        let mut tx = self.core.stores.db.begin().await?;
        tx.execute(
            "INSERT INTO admins (id, username, username_normalized, email, password_hash, role,
                                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            params![
                id,
                new.username.trim(),
                rules::normalize_username(&new.username),
                new.email.trim(),
                hash,
                new.role.as_str(),
                now
            ],
        )
        .await
        .map_err(|err| {
            if err.is_unique_on("username_normalized") {
                Error::DuplicateUsername
            } else {
                err.into()
            }
        })?;
        AuditEntry::new(actor, "admin.created")
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
    pub async fn read_authority(&self, id: AdminId) -> Result<crate::credentials::AdminRead> {
        crate::credentials::authority_read(&self.get(id).await?)
    }

    /// Leave to change things as admin `id`; refused for the support role and disabled admins.
    pub async fn write_authority(&self, id: AdminId) -> Result<crate::credentials::AdminWrite> {
        crate::credentials::authority_write(&self.get(id).await?)
    }

    pub async fn get(&self, id: AdminId) -> Result<Admin> {
        by_id(&self.core.stores.db, id)
            .await?
            .ok_or(Error::NotFound("admin"))
    }
}

pub(crate) async fn by_id(db: &Db, id: AdminId) -> Result<Option<Admin>> {
    let row = db
        .query_opt(
            &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(Admin::from_row).transpose()?)
}

/// The admin named `username` (case-insensitively), with the password hash.
pub(crate) async fn for_login(db: &Db, username: &str) -> Result<Option<(Admin, String)>> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {ADMIN_COLUMNS}, password_hash FROM admins WHERE username_normalized = $1"
            ),
            params![rules::normalize_username(username)],
        )
        .await?;
    match row {
        Some(row) => Ok(Some((Admin::from_row(&row)?, row.get("password_hash")?))),
        None => Ok(None),
    }
}
