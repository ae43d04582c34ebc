//! The admins table, as typed functions.

use jiff::Timestamp;

use super::{Admin, NewAdmin};
use crate::error::{Error, Result};
use crate::ids::AdminId;
use crate::naming;
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor, Row};

const ADMIN_COLUMNS: &str = "id, username, email, role, disabled, created_at";

fn admin(row: &Row) -> Result<Admin, StoreError> {
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

/// Stores admin `id` with its password hash; a taken username is refused.
pub(super) async fn insert(
    ex: &mut dyn Executor,
    id: AdminId,
    new: &NewAdmin,
    password_hash: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "INSERT INTO admins (id, username, username_normalized, email, password_hash, role,
                             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        params![
            id,
            new.username.trim(),
            naming::normalize_username(&new.username),
            new.email.trim(),
            password_hash,
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
    Ok(())
}

pub(crate) async fn by_id(db: &Db, id: AdminId) -> Result<Option<Admin>> {
    let row = db
        .query_opt(
            &format!("SELECT {ADMIN_COLUMNS} FROM admins WHERE id = $1"),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(admin).transpose()?)
}

/// The admin named `username` (case-insensitively), with the password hash.
pub(crate) async fn for_login(db: &Db, username: &str) -> Result<Option<(Admin, String)>> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {ADMIN_COLUMNS}, password_hash FROM admins WHERE username_normalized = $1"
            ),
            params![naming::normalize_username(username)],
        )
        .await?;
    match row {
        Some(row) => Ok(Some((admin(&row)?, row.get("password_hash")?))),
        None => Ok(None),
    }
}
