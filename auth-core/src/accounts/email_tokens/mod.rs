//! Single-use tokens sent by email (verification, password reset, email change). Only their hash is stored; using
//! one is a single atomic update, so a token works once even when presented twice at the same time.

use jiff::{SignedDuration, Timestamp};

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::secret::{Secret, hash_token, random_token};
use crate::store::sql::Executor;

mod store;

/// What a token is for; a token for one purpose never works for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    PasswordReset,
    /// Moving an account to a new address: the link goes to the new one.
    ChangeEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::PasswordReset => "password_reset",
            Purpose::ChangeEmail => "change_email",
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
    issue_carrying(ex, user_id, purpose, ttl, now, None).await
}

/// [`issue`], for a token that carries an address (an email change's new one).
pub(crate) async fn issue_carrying(
    ex: &mut dyn Executor,
    user_id: UserId,
    purpose: Purpose,
    ttl: SignedDuration,
    now: Timestamp,
    new_email: Option<&str>,
) -> Result<Secret> {
    store::retire(ex, user_id, purpose.as_str(), now).await?;
    let token = random_token("");
    let token_hash = hash_token(token.expose());
    store::insert(
        ex,
        store::NewToken {
            user_id,
            purpose: purpose.as_str(),
            token_hash,
            now,
            expires_at: now + ttl,
            new_email,
        },
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
    let hash = hash_token(token.trim());
    match store::unused(ex, &hash, purpose.as_str()).await? {
        None => Err(Error::InvalidToken),
        Some((_, expires_at)) if expires_at <= now => Err(Error::ExpiredToken),
        Some((owner, _)) => Ok(owner),
    }
}

/// Uses up `token`; returns whose it was. Unknown or used tokens are [`Error::InvalidToken`],
/// expired ones [`Error::ExpiredToken`].
pub(crate) async fn redeem(
    ex: &mut dyn Executor,
    token: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<UserId> {
    redeem_carrying(ex, token, purpose, now)
        .await
        .map(|(owner, _)| owner)
}

/// [`redeem`], also returning the address the token carries.
pub(crate) async fn redeem_carrying(
    ex: &mut dyn Executor,
    token: &str,
    purpose: Purpose,
    now: Timestamp,
) -> Result<(UserId, Option<String>)> {
    let hash = hash_token(token.trim());
    if let Some(found) = store::use_up(ex, &hash, purpose.as_str(), now).await? {
        return Ok(found);
    }
    // Not used up: unknown, used before, or expired (an unused one past its time).
    Err(match store::unused(ex, &hash, purpose.as_str()).await? {
        Some(_) => Error::ExpiredToken,
        None => Error::InvalidToken,
    })
}
