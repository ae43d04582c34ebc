//! The admins table, as typed functions.

use jiff::Timestamp;

use super::{Admin, NewAdmin, StaffMember};
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

/// The sealed TOTP secret of admin `id`, once the admin has enrolled.
pub(crate) async fn sealed_totp(db: &Db, id: AdminId) -> Result<Option<Vec<u8>>> {
    let row = db
        .query_opt("SELECT totp_sealed FROM admins WHERE id = $1", params![id])
        .await?;
    Ok(match row {
        Some(row) => row.get::<Option<Vec<u8>>>("totp_sealed")?,
        None => None,
    })
}

/// When admin `id` enrolled its second factor; None without one.
pub(crate) async fn second_factor_since(db: &Db, id: AdminId) -> Result<Option<Timestamp>> {
    let row = db
        .query_opt(
            "SELECT totp_enrolled_at FROM admins WHERE id = $1",
            params![id],
        )
        .await?;
    Ok(match row {
        Some(row) => row.get::<Option<Timestamp>>("totp_enrolled_at")?,
        None => None,
    })
}

/// Stores admin `id`'s TOTP secret and its first accepted step, replacing its recovery codes
/// with `recovery_hashes`; refused (false) when the admin enrolled meanwhile.
pub(crate) async fn enrol_second_factor(
    ex: &mut dyn Executor,
    id: AdminId,
    sealed: Vec<u8>,
    step: i64,
    recovery_hashes: &[String],
    now: Timestamp,
) -> Result<bool> {
    let stored = ex
        .run_execute(
            "UPDATE admins SET totp_sealed = $1, totp_last_step = $2, totp_enrolled_at = $4
             WHERE id = $3 AND totp_sealed IS NULL",
            params![sealed, step, id, now],
        )
        .await?;
    if stored == 0 {
        return Ok(false);
    }
    ex.run_execute(
        "DELETE FROM admin_recovery_codes WHERE admin_id = $1",
        params![id],
    )
    .await?;
    for hash in recovery_hashes {
        ex.run_execute(
            "INSERT INTO admin_recovery_codes (admin_id, code_hash) VALUES ($1, $2)",
            params![id, hash.as_str()],
        )
        .await?;
    }
    Ok(true)
}

/// Records that a code for `step` was accepted; false when that step or a later one already was
/// (the code was used before), so of two racing uses of one code exactly one succeeds.
pub(crate) async fn take_totp_step(ex: &mut dyn Executor, id: AdminId, step: i64) -> Result<bool> {
    let taken = ex
        .run_execute(
            "UPDATE admins SET totp_last_step = $1
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            params![step, id],
        )
        .await?;
    Ok(taken == 1)
}

/// Marks the unused recovery code with `hash` as used; false when there is none.
pub(crate) async fn use_recovery_code(
    ex: &mut dyn Executor,
    id: AdminId,
    hash: &str,
    now: Timestamp,
) -> Result<bool> {
    let used = ex
        .run_execute(
            "UPDATE admin_recovery_codes SET used_at = $1
             WHERE admin_id = $2 AND code_hash = $3 AND used_at IS NULL",
            params![now, id, hash],
        )
        .await?;
    Ok(used == 1)
}

/// How many unused recovery codes admin `id` has.
pub(crate) async fn recovery_codes_left(db: &Db, id: AdminId) -> Result<i64> {
    let row = db
        .query_one(
            "SELECT COUNT(*) AS left_count FROM admin_recovery_codes
             WHERE admin_id = $1 AND used_at IS NULL",
            params![id],
        )
        .await?;
    Ok(row.get("left_count")?)
}

/// Removes admin `id`'s second factor, so the next console sign-in enrols again; false when the
/// admin had none.
pub(crate) async fn clear_second_factor(ex: &mut dyn Executor, id: AdminId) -> Result<bool> {
    ex.run_execute(
        "DELETE FROM admin_recovery_codes WHERE admin_id = $1",
        params![id],
    )
    .await?;
    let cleared = ex
        .run_execute(
            "UPDATE admins SET totp_sealed = NULL, totp_last_step = NULL, totp_enrolled_at = NULL
             WHERE id = $1 AND totp_sealed IS NOT NULL",
            params![id],
        )
        .await?;
    Ok(cleared == 1)
}

/// Every admin, by username, with whether it enrolled and any open invitation.
pub(crate) async fn all(db: &Db) -> Result<Vec<StaffMember>> {
    let rows = db
        .query(
            "SELECT a.id, a.username, a.email, a.role, a.disabled, a.created_at, a.totp_sealed,
                    i.expires_at AS invited_until
             FROM admins a LEFT JOIN admin_invites i ON i.admin_id = a.id
             ORDER BY a.username_normalized",
            params![],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(StaffMember {
                admin: admin(row)?,
                enrolled: row.get::<Option<Vec<u8>>>("totp_sealed")?.is_some(),
                invited_until: row.get("invited_until")?,
            })
        })
        .collect()
}

/// Stores the invitation of admin `id`, replacing any earlier one (whose link stops working).
pub(super) async fn put_invite(
    ex: &mut dyn Executor,
    id: AdminId,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    ex.run_execute("DELETE FROM admin_invites WHERE admin_id = $1", params![id])
        .await?;
    ex.run_execute(
        "INSERT INTO admin_invites (admin_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        params![id, token_hash, now, expires_at],
    )
    .await?;
    Ok(())
}

/// The admin invited with the token of hash `token_hash`, and until when the link works.
pub(super) async fn invite_by_hash(
    ex: &mut dyn Executor,
    token_hash: &str,
) -> Result<Option<(AdminId, Timestamp)>> {
    let rows = ex
        .run_query(
            "SELECT admin_id, expires_at FROM admin_invites WHERE token_hash = $1",
            params![token_hash],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Some((row.get("admin_id")?, row.get("expires_at")?))),
        None => Ok(None),
    }
}

/// Whether admin `id` has an invitation it has not used yet.
pub(super) async fn has_invite(ex: &mut dyn Executor, id: AdminId) -> Result<bool> {
    let rows = ex
        .run_query(
            "SELECT 1 AS open FROM admin_invites WHERE admin_id = $1",
            params![id],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Uses the invitation of hash `token_hash` while it works at `now`: it is deleted, so of two
/// uses at once exactly one gets the admin back.
pub(super) async fn take_invite(
    ex: &mut dyn Executor,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<AdminId>> {
    let Some((id, expires_at)) = invite_by_hash(ex, token_hash).await? else {
        return Ok(None);
    };
    let taken = ex
        .run_execute(
            "DELETE FROM admin_invites WHERE token_hash = $1 AND expires_at > $2",
            params![token_hash, now],
        )
        .await?;
    Ok((taken == 1 && expires_at > now).then_some(id))
}

/// Sets admin `id`'s password hash.
pub(super) async fn set_password(
    ex: &mut dyn Executor,
    id: AdminId,
    password_hash: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE admins SET password_hash = $1, updated_at = $2 WHERE id = $3",
        params![password_hash, now, id],
    )
    .await?;
    Ok(())
}

/// Sets admin `id`'s role and whether it is disabled, unless that would leave no enabled admin
/// of role `admin`; false then. The active admins' rows are written first, so of two changes at
/// once the second waits for the first and counts after it (PostgreSQL), or runs after it whole
/// (SQLite's single writer).
pub(crate) async fn set_standing(
    ex: &mut dyn Executor,
    id: AdminId,
    role: &str,
    disabled: bool,
    now: Timestamp,
) -> Result<bool> {
    ex.run_execute(
        "UPDATE admins SET updated_at = updated_at WHERE role = 'admin' AND disabled = $1",
        params![false],
    )
    .await?;
    let rows = ex
        .run_query(
            "SELECT COUNT(*) AS others FROM admins
             WHERE role = 'admin' AND disabled = $1 AND id <> $2
               AND id NOT IN (SELECT admin_id FROM admin_invites)",
            params![false, id],
        )
        .await?;
    let others: i64 = match rows.first() {
        Some(row) => row.get("others")?,
        None => 0,
    };
    let stays_admin = role == "admin" && !disabled;
    if others == 0 && !stays_admin {
        return Ok(false);
    }
    let changed = ex
        .run_execute(
            "UPDATE admins SET role = $1, disabled = $2, updated_at = $3 WHERE id = $4",
            params![role, disabled, now, id],
        )
        .await?;
    if changed == 0 {
        return Err(Error::NotFound("admin"));
    }
    Ok(true)
}
