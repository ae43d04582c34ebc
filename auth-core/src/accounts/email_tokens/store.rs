//! The email tokens table, as typed functions: tokens are found by their hash only.

use jiff::Timestamp;

use crate::error::Result;
use crate::ids::{UserId, row_id};
use crate::params;
use crate::store::sql::Executor;

/// Marks every unused token of `user_id` for `purpose` used.
pub(super) async fn retire(
    ex: &mut dyn Executor,
    user_id: UserId,
    purpose: &str,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        params![user_id, purpose, now],
    )
    .await?;
    Ok(())
}

/// What a new token row holds.
pub(super) struct NewToken<'a> {
    pub user_id: UserId,
    pub purpose: &'a str,
    pub token_hash: String,
    pub now: Timestamp,
    pub expires_at: Timestamp,
    /// For an email change: the address the account moves to.
    pub new_email: Option<&'a str>,
}

pub(super) async fn insert(ex: &mut dyn Executor, token: NewToken<'_>) -> Result<()> {
    ex.run_execute(
        "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at, new_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            row_id(),
            token.user_id,
            token.purpose,
            token.token_hash,
            token.now,
            token.expires_at,
            token.new_email
        ],
    )
    .await?;
    Ok(())
}

/// The owner and expiry of the unused token whose hash is `token_hash`.
pub(super) async fn unused(
    ex: &mut dyn Executor,
    token_hash: &str,
    purpose: &str,
) -> Result<Option<(UserId, Timestamp)>> {
    let rows = ex
        .run_query(
            "SELECT user_id, expires_at FROM email_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL",
            params![token_hash, purpose],
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Some((row.get("user_id")?, row.get("expires_at")?))),
        None => Ok(None),
    }
}

/// Uses up the unused, unexpired token whose hash is `token_hash`; its owner (and the address an
/// email-change token carries), for the one caller that did it.
pub(super) async fn use_up(
    ex: &mut dyn Executor,
    token_hash: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<Option<(UserId, Option<String>)>> {
    let rows = ex
        .run_query(
            "UPDATE email_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING user_id, new_email",
            params![token_hash, purpose, now],
        )
        .await?;
    rows.first()
        .map(|row| Ok((row.get("user_id")?, row.get("new_email")?)))
        .transpose()
}
