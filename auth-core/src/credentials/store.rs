//! The credentials domain's SQL, as typed functions: lockout counters (users' passwords and PINs,
//! admins' passwords per client), personal access tokens, and signing keys. The domain logic
//! beside it holds no SQL.

use jiff::Timestamp;

use crate::error::Result;
use crate::params;
use crate::store::sql::{Db, Executor, Row};

/// Which failure counter: the table and its two columns (fixed names, never input).
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    pub(super) table: &'static str,
    pub(super) count_column: &'static str,
    pub(super) until_column: &'static str,
}

/// Wrong passwords of users.
pub const USER_PASSWORDS: Counter = Counter {
    table: "users",
    count_column: "failed_logins",
    until_column: "locked_until",
};

/// Wrong PINs of users, across QR challenges.
pub const USER_PINS: Counter = Counter {
    table: "users",
    count_column: "failed_pins",
    until_column: "pins_locked_until",
};

/// Counts an attempt on row `id` of `counter` while fewer than `max` are counted (or a lock has
/// run out, which starts the count afresh); the count, or None when the rule refuses.
pub(super) async fn count_attempt(
    db: &Db,
    counter: Counter,
    id: &str,
    now: Timestamp,
    max: i64,
) -> Result<Option<i64>> {
    let Counter {
        table,
        count_column: count,
        until_column: until,
    } = counter;
    let sql = format!(
        "UPDATE {table} SET
             {count} = CASE WHEN {until} IS NOT NULL AND {until} <= $2 THEN 1 ELSE {count} + 1 END,
             {until} = CASE WHEN {until} IS NOT NULL AND {until} <= $2 THEN NULL ELSE {until} END
         WHERE id = $1
           AND (({until} IS NULL AND {count} < $3) OR ({until} IS NOT NULL AND {until} <= $2))
         RETURNING {count} AS n"
    );
    match db.query_opt(&sql, params![id, now, max]).await? {
        Some(row) => Ok(Some(row.get("n")?)),
        None => Ok(None),
    }
}

/// Until when row `id` of `counter` is locked.
pub(super) async fn locked_until(db: &Db, counter: Counter, id: &str) -> Result<Option<Timestamp>> {
    let row = db
        .query_opt(
            &format!(
                "SELECT {} AS until FROM {} WHERE id = $1",
                counter.until_column, counter.table
            ),
            params![id],
        )
        .await?;
    Ok(row.and_then(|r| r.get::<Option<Timestamp>>("until").ok().flatten()))
}

/// Locks row `id` of `counter` until `until`, unless it is locked already; whether it locked.
pub(super) async fn lock(db: &Db, counter: Counter, id: &str, until: Timestamp) -> Result<bool> {
    let sql = format!(
        "UPDATE {} SET {} = $2 WHERE id = $1 AND {} IS NULL",
        counter.table, counter.until_column, counter.until_column
    );
    Ok(db.execute(&sql, params![id, until]).await? > 0)
}

/// Clears count and lock of row `id` of `counter`.
pub(super) async fn clear(ex: &mut dyn Executor, counter: Counter, id: &str) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET {} = 0, {} = NULL WHERE id = $1",
        counter.table, counter.count_column, counter.until_column
    );
    ex.run_execute(&sql, params![id]).await?;
    Ok(())
}

/// [`count_attempt`] for admin `admin` from client `client`: the first attempt makes the row.
pub(super) async fn count_admin_attempt(
    db: &Db,
    admin: &str,
    client: &str,
    now: Timestamp,
    max: i64,
) -> Result<Option<i64>> {
    let row = db
        .query_opt(
            "INSERT INTO admin_login_locks (admin_id, client_key, failed_logins, locked_until)
             VALUES ($1, $2, 1, NULL)
             ON CONFLICT (admin_id, client_key) DO UPDATE SET
                 failed_logins = CASE
                     WHEN admin_login_locks.locked_until IS NOT NULL
                          AND admin_login_locks.locked_until <= $3 THEN 1
                     ELSE admin_login_locks.failed_logins + 1 END,
                 locked_until = CASE
                     WHEN admin_login_locks.locked_until IS NOT NULL
                          AND admin_login_locks.locked_until <= $3 THEN NULL
                     ELSE admin_login_locks.locked_until END
             WHERE (admin_login_locks.locked_until IS NULL
                    AND admin_login_locks.failed_logins < $4)
                OR (admin_login_locks.locked_until IS NOT NULL
                    AND admin_login_locks.locked_until <= $3)
             RETURNING failed_logins AS n",
            params![admin, client, now, max],
        )
        .await?;
    Ok(row.map(|r| r.get("n")).transpose()?)
}

/// Gives back one attempt counted for admin `admin` from `client` (a step of a login that was
/// right, when the login has another step to go); a lock stays.
pub(super) async fn refund_admin_attempt(db: &Db, admin: &str, client: &str) -> Result<()> {
    db.execute(
        "UPDATE admin_login_locks SET failed_logins = failed_logins - 1
         WHERE admin_id = $1 AND client_key = $2 AND failed_logins > 0 AND locked_until IS NULL",
        params![admin, client],
    )
    .await?;
    Ok(())
}

/// Until when admin `admin` is locked for client `client`.
pub(super) async fn admin_locked_until(
    db: &Db,
    admin: &str,
    client: &str,
) -> Result<Option<Timestamp>> {
    Ok(db
        .query_opt(
            "SELECT locked_until AS until FROM admin_login_locks
             WHERE admin_id = $1 AND client_key = $2",
            params![admin, client],
        )
        .await?
        .and_then(|r| r.get::<Option<Timestamp>>("until").ok().flatten()))
}

/// Locks admin `admin` for client `client` until `until`, unless locked already.
pub(super) async fn lock_admin(
    db: &Db,
    admin: &str,
    client: &str,
    until: Timestamp,
) -> Result<bool> {
    Ok(db
        .execute(
            "UPDATE admin_login_locks SET locked_until = $3
             WHERE admin_id = $1 AND client_key = $2 AND locked_until IS NULL",
            params![admin, client, until],
        )
        .await?
        > 0)
}

/// Forgets the count of admin `admin` for client `client`.
pub(super) async fn clear_admin(db: &Db, admin: &str, client: &str) -> Result<()> {
    db.execute(
        "DELETE FROM admin_login_locks WHERE admin_id = $1 AND client_key = $2",
        params![admin, client],
    )
    .await?;
    Ok(())
}

/// A personal access token as stored (the secret only as its hash).
pub(super) struct NewPat<'a> {
    pub id: &'a str,
    pub owner_kind: &'static str,
    pub owner_id: String,
    pub name: &'a str,
    pub token_hash: String,
    pub token_prefix: &'a str,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub services: String,
}

pub(super) async fn insert_pat(ex: &mut dyn Executor, pat: NewPat<'_>) -> Result<()> {
    ex.run_execute(
        "INSERT INTO personal_access_tokens (id, owner_kind, owner_id, name, token_hash,
                                             token_prefix, created_at, expires_at, services)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            pat.id,
            pat.owner_kind,
            pat.owner_id,
            pat.name,
            pat.token_hash,
            pat.token_prefix,
            pat.created_at,
            pat.expires_at,
            pat.services
        ],
    )
    .await?;
    Ok(())
}

/// The columns a token is shown with.
pub(super) const PAT_COLUMNS: &str =
    "id, name, token_prefix, created_at, expires_at, last_used_at, revoked_at, services";

/// `owner_id`'s tokens, newest first.
pub(super) async fn pats_of(db: &Db, owner_id: &str) -> Result<Vec<Row>> {
    Ok(db
        .query(
            &format!(
                "SELECT {PAT_COLUMNS} FROM personal_access_tokens WHERE owner_id = $1
                 ORDER BY created_at DESC, id DESC"
            ),
            params![owner_id],
        )
        .await?)
}

/// Revokes token `id` of `owner_id` if it is live; whether it was.
pub(super) async fn revoke_pat(
    ex: &mut dyn Executor,
    id: &str,
    owner_id: &str,
    now: Timestamp,
) -> Result<bool> {
    Ok(ex
        .run_execute(
            "UPDATE personal_access_tokens SET revoked_at = $3
             WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL",
            params![id, owner_id, now],
        )
        .await?
        > 0)
}

/// Revokes every live token of `owner_id`.
pub(super) async fn revoke_pats_of(
    ex: &mut dyn Executor,
    owner_id: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE personal_access_tokens SET revoked_at = $2
         WHERE owner_id = $1 AND revoked_at IS NULL",
        params![owner_id, now],
    )
    .await?;
    Ok(())
}

/// The token whose secret hashes to `token_hash`, with what authenticating it needs.
pub(super) async fn pat_by_hash(db: &Db, token_hash: &str) -> Result<Option<Row>> {
    Ok(db
        .query_opt(
            "SELECT id, owner_kind, owner_id, expires_at, revoked_at, last_used_at, services
             FROM personal_access_tokens WHERE token_hash = $1",
            params![token_hash],
        )
        .await?)
}

/// Notes that token `id` was used at `now`.
pub(super) async fn touch_pat(ex: &mut dyn Executor, id: &str, now: Timestamp) -> Result<()> {
    ex.run_execute(
        "UPDATE personal_access_tokens SET last_used_at = $2 WHERE id = $1",
        params![id, now],
    )
    .await?;
    Ok(())
}

/// A signing key as stored: its private half sealed with the master key.
pub(super) struct StoredKey {
    pub kid: String,
    pub public: Vec<u8>,
    pub sealed: Vec<u8>,
    pub retired_at: Option<Timestamp>,
    pub verify_until: Option<Timestamp>,
}

/// Whether a key signs now (one that is not retired).
pub(super) async fn has_current_key(db: &Db) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT kid FROM signing_keys WHERE retired_at IS NULL LIMIT 1",
            params![],
        )
        .await?
        .is_some())
}

/// Stores a new key; a key of the same `kid` made at the same moment by another gateway wins.
pub(super) async fn insert_key(
    ex: &mut dyn Executor,
    kid: &str,
    public: &[u8; 32],
    sealed: Vec<u8>,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "INSERT INTO signing_keys (kid, algorithm, public_key, private_key_sealed, created_at)
         VALUES ($1, 'EdDSA', $2, $3, $4) ON CONFLICT (kid) DO NOTHING",
        params![kid, public.to_vec(), sealed, now],
    )
    .await?;
    Ok(())
}

/// Retires the current key: it verifies until `verify_until`, and signs no more.
pub(super) async fn retire_current_key(
    ex: &mut dyn Executor,
    now: Timestamp,
    verify_until: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE signing_keys SET retired_at = $1, verify_until = $2 WHERE retired_at IS NULL",
        params![now, verify_until],
    )
    .await?;
    Ok(())
}

/// Every stored key, newest first.
pub(super) async fn keys(db: &Db) -> Result<Vec<StoredKey>> {
    let rows = db
        .query(
            "SELECT kid, public_key, private_key_sealed, retired_at, verify_until
             FROM signing_keys ORDER BY created_at DESC, kid",
            params![],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredKey {
                kid: row.get("kid")?,
                public: row.get("public_key")?,
                sealed: row.get("private_key_sealed")?,
                retired_at: row.get("retired_at")?,
                verify_until: row.get("verify_until")?,
            })
        })
        .collect()
}
