//! Single-use tokens sent by email (verification, password reset). Only their hash is stored; using
//! one is a single atomic update, so a token works once even when presented twice at the same time.

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::ids::{UserId, row_id};
use crate::params;
use crate::secret::{Secret, hash_token, random_token};
use crate::store::sql::Executor;

/// What a token is for; a token for one purpose never works for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// Makes a token for `user_id`, valid for `ttl`; earlier unused tokens of the same purpose stop
/// working, so only the newest link in someone's inbox counts.
pub(crate) async fn issue(
    ex: &mut dyn Executor,
    user_id: UserId,
    purpose: Purpose,
    ttl: SignedDuration,
    now: Timestamp,
) -> Result<Secret> {
    ex.run_execute(
        "UPDATE email_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        params![user_id, purpose.as_str(), now],
    )
    .await?;
    let token = random_token("");
    ex.run_execute(
        "INSERT INTO email_tokens (id, user_id, purpose, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            row_id(),
            user_id,
            purpose.as_str(),
            hash_token(token.expose()),
            now,
            now + ttl
        ],
    )
    .await?;
    Ok(token)
}

/// Whose `token` is, if it could still be used now; checked before any costly work (hashing a new
/// password), so a spent or expired token is refused for nothing. Does not use it up.
pub(crate) async fn owner_of_usable(
    ex: &mut dyn Executor,
    token: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<UserId> {
    let rows = ex
        .run_query(
            "SELECT user_id, expires_at FROM email_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL",
            params![hash_token(token.trim()), purpose.as_str()],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Err(Error::InvalidToken);
    };
    if row.get::<Timestamp>("expires_at")? <= now {
        return Err(Error::ExpiredToken);
    }
    Ok(row.get("user_id")?)
}

/// Uses up `token`; returns whose it was. Unknown or used tokens are [`Error::InvalidToken`],
/// expired ones [`Error::ExpiredToken`].
pub(crate) async fn redeem(
    ex: &mut dyn Executor,
    token: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<UserId> {
    let hash = hash_token(token.trim());
    let rows = ex
        .run_query(
            "UPDATE email_tokens SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING user_id",
            params![hash.clone(), purpose.as_str(), now],
        )
        .await?;
    if let Some(row) = rows.first() {
        return Ok(row.get("user_id")?);
    }
    let expired = ex
        .run_query(
            "SELECT id FROM email_tokens
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at <= $3",
            params![hash, purpose.as_str(), now],
        )
        .await?;
    Err(if expired.is_empty() {
        Error::InvalidToken
    } else {
        Error::ExpiredToken
    })
}
