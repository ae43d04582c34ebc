//! The SQL of accounts.

use jiff::Timestamp;

use super::user::{USER_COLUMNS, User, UserStatus};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::params;
use crate::store::StoreError;
use crate::store::migrations::USER_SEARCH_TEXT;
use crate::store::sql::{Db, Executor, Filter, SqlValue};

/// A new account row.
pub(crate) struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub username: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub now: Timestamp,
}

/// Maps the unique constraints of `users` to the refusals they mean.
pub(crate) fn duplicate_error(err: StoreError) -> Error {
    if err.is_unique_on("email_normalized") {
        Error::DuplicateEmail
    } else if err.is_unique_on("username_normalized") {
        Error::DuplicateUsername
    } else {
        err.into()
    }
}

pub(crate) async fn insert(ex: &mut dyn Executor, user: NewUser<'_>) -> Result<()> {
    ex.run_execute(
        "INSERT INTO users (id, email, email_normalized, username, username_normalized, full_name,
                            password_hash, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'unverified', $8, $8)",
        params![
            user.id,
            user.email.trim(),
            crate::naming::normalize_email(user.email),
            user.username,
            crate::naming::normalize_username(user.username),
            user.full_name.trim(),
            user.password_hash,
            user.now
        ],
    )
    .await
    .map_err(duplicate_error)?;
    Ok(())
}

pub(crate) async fn by_id(ex: &mut dyn Executor, id: UserId) -> Result<Option<User>> {
    let rows = ex
        .run_query(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            params![id],
        )
        .await?;
    rows.first()
        .map(User::from_row)
        .transpose()
        .map_err(Into::into)
}

/// The user whose email or username is `login` (either, case-insensitively), with the password
/// hash.
pub(crate) async fn for_login(db: &Db, login: &str) -> Result<Option<(User, String)>> {
    let login = login.trim().to_lowercase();
    let row = db
        .query_opt(
            &format!(
                "SELECT {USER_COLUMNS}, password_hash FROM users
                 WHERE email_normalized = $1 OR username_normalized = $1"
            ),
            params![login],
        )
        .await?;
    match row {
        Some(row) => Ok(Some((User::from_row(&row)?, row.get("password_hash")?))),
        None => Ok(None),
    }
}

/// The stored password hash of user `id`.
pub(crate) async fn password_hash(db: &Db, id: UserId) -> Result<Option<String>> {
    let row = db
        .query_opt("SELECT password_hash FROM users WHERE id = $1", params![id])
        .await?;
    Ok(row.map(|r| r.get("password_hash")).transpose()?)
}

pub(crate) async fn email_taken(db: &Db, email: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT id FROM users WHERE email_normalized = $1",
            params![crate::naming::normalize_email(email)],
        )
        .await?
        .is_some())
}

pub(crate) async fn username_taken(db: &Db, username: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT id FROM users WHERE username_normalized = $1",
            params![crate::naming::normalize_username(username)],
        )
        .await?
        .is_some())
}

/// Replaces user `id`'s hash with one of the same password at newer parameters (after a login):
/// not a password change, so `password_changed_at` stays.
pub(crate) async fn upgrade_password_hash(db: &Db, id: UserId, hash: &str) -> Result<()> {
    db.execute(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        params![id, hash],
    )
    .await?;
    Ok(())
}

/// Moves account `id` to a new address; a taken one is DUPLICATE_EMAIL.
pub(crate) async fn set_email(
    ex: &mut dyn Executor,
    id: UserId,
    email: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE users SET email = $2, email_normalized = $3, updated_at = $4 WHERE id = $1",
        params![id, email.trim(), crate::naming::normalize_email(email), now],
    )
    .await
    .map_err(duplicate_error)?;
    Ok(())
}

/// Sets user `id`'s full name, whatever the account's state.
pub(crate) async fn set_full_name(
    ex: &mut dyn Executor,
    id: UserId,
    full_name: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE users SET full_name = $2, updated_at = $3 WHERE id = $1",
        params![id, full_name, now],
    )
    .await?;
    Ok(())
}

pub(crate) async fn set_password(
    ex: &mut dyn Executor,
    id: UserId,
    hash: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1",
        params![id, hash, now],
    )
    .await?;
    Ok(())
}

/// A change of an account's state or profile, each allowed only from some states.
#[derive(Debug, Clone)]
pub(crate) enum Change<'a> {
    /// The mailed link was followed: the account waits for approval.
    EmailVerified,
    /// An admin approved: active, with its stable `auth_key`.
    Approved {
        auth_key: &'a str,
        by: Option<String>,
    },
    /// An admin rejected, with the reason the person is told.
    Rejected {
        reason: &'a str,
        by: Option<String>,
    },
    Blocked {
        reason: Option<&'a str>,
    },
    Unblocked,
    /// Soft deletion, remembering the state to restore.
    Deleted,
    Restored,
    /// The person's own name or username.
    Profile {
        full_name: Option<&'a str>,
        username: Option<&'a str>,
    },
}

/// Applies `change` to user `id` at `now`, atomically: of two racing changes exactly one applies.
/// Refuses with NotFound, or Conflict naming the current state when the change does not apply to
/// it.
pub(crate) async fn apply(
    ex: &mut dyn Executor,
    id: UserId,
    change: Change<'_>,
    now: Timestamp,
) -> Result<User> {
    use UserStatus::*;
    let (from, assignments, values): (&[UserStatus], &str, Vec<SqlValue>) = match change {
        Change::EmailVerified => (
            &[Unverified],
            "status = 'pending', email_verified_at = $2, updated_at = $2",
            params![now],
        ),
        Change::Approved { auth_key, by } => (
            &[Pending],
            "status = 'active', auth_key = $2, decided_at = $3, decided_by = $4, updated_at = $3",
            params![auth_key, now, by],
        ),
        Change::Rejected { reason, by } => (
            &[Pending],
            "status = 'rejected', rejection_reason = $2, decided_at = $3, decided_by = $4, \
             updated_at = $3",
            params![reason, now, by],
        ),
        Change::Blocked { reason } => (
            &[Active],
            "status = 'blocked', blocked_reason = $2, updated_at = $3",
            params![reason, now],
        ),
        Change::Unblocked => (
            &[Blocked],
            "status = 'active', blocked_reason = NULL, updated_at = $2",
            params![now],
        ),
        Change::Deleted => (
            &[Unverified, Pending, Active, Blocked, Rejected],
            "status_before_delete = status, status = 'deleted', deleted_at = $2, updated_at = $2",
            params![now],
        ),
        Change::Restored => (
            &[Deleted],
            "status = COALESCE(status_before_delete, 'active'), status_before_delete = NULL, \
             deleted_at = NULL, updated_at = $2",
            params![now],
        ),
        Change::Profile {
            full_name,
            username,
        } => (
            &[Active],
            "full_name = COALESCE($2, full_name), username = COALESCE($3, username), \
             username_normalized = COALESCE($4, username_normalized), updated_at = $5",
            params![
                full_name.map(str::trim),
                username,
                username.map(crate::naming::normalize_username),
                now
            ],
        ),
    };
    transition(ex, id, from, assignments, values).await
}

/// Moves a user from one of `from` to a new state with `assignments` (SQL `SET` items whose
/// parameters start at `$2`).
async fn transition(
    ex: &mut dyn Executor,
    id: UserId,
    from: &[UserStatus],
    assignments: &str,
    mut values: Vec<SqlValue>,
) -> Result<User> {
    let allowed = from
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut params = params![id];
    params.append(&mut values);
    let rows = ex
        .run_query(
            &format!(
                "UPDATE users SET {assignments} WHERE id = $1 AND status IN ({allowed})
                 RETURNING {USER_COLUMNS}"
            ),
            params,
        )
        .await
        .map_err(duplicate_error)?;
    if let Some(row) = rows.first() {
        return Ok(User::from_row(row)?);
    }
    match by_id(ex, id).await? {
        None => Err(Error::NotFound("user")),
        Some(user) => Err(Error::Conflict(format!("the user is {}", user.status))),
    }
}

/// Filters of the user list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub status: Option<UserStatus>,
    /// Matched against name, email and username, case-insensitively.
    pub search: Option<String>,
    /// Registered at or after.
    pub registered_from: Option<Timestamp>,
    /// Registered before.
    pub registered_before: Option<Timestamp>,
    /// Logged in successfully (any method, any service) at or after.
    pub logged_in_since: Option<Timestamp>,
}

/// `%text%` for LIKE, with the wildcard characters of `text` escaped.
fn like_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) async fn list(
    db: &Db,
    query: &UserQuery,
    page: PageRequest,
    oldest_first: bool,
) -> Result<Page<User>> {
    let page = page.validated()?;
    let mut filter = Filter::new();
    filter
        .add_opt("status = ?", query.status.map(|s| s.as_str()))
        .add_opt("created_at >= ?", query.registered_from)
        .add_opt("created_at < ?", query.registered_before);
    if let Some(since) = query.logged_in_since {
        // Driven by login_history_at_service_success: the logins since the day, then their users
        // by key.
        filter.add(
            "id IN (SELECT user_id FROM login_history WHERE at >= ? AND success = ?)",
            vec![since.into(), true.into()],
        );
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        filter.add(
            &format!("{USER_SEARCH_TEXT} LIKE ? ESCAPE '\\'"),
            vec![like_pattern(search).into()],
        );
    }
    let order = if oldest_first {
        "created_at ASC, id ASC"
    } else {
        "created_at DESC, id DESC"
    };
    let (total, rows) = db
        .page_of(
            USER_COLUMNS,
            "FROM users",
            &filter,
            order,
            (page.limit(), page.offset()),
        )
        .await?;
    let users = rows
        .iter()
        .map(User::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(users, page, total))
}
