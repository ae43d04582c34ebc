//! The durable half of password sessions: refresh-token families (one per password login, its id
//! the session's) and their tokens, stored as hashes. Typed functions; the rest of the crate holds
//! no SQL for these tables.

use jiff::Timestamp;

use super::Subject;
use crate::error::Result;
use crate::ids::{SessionId, row_id};
use crate::params;
use crate::store::sql::{Db, Executor};

/// A refresh token found by its hash, with its family.
#[derive(Debug, Clone)]
pub(crate) struct RefreshRecord {
    pub token_id: String,
    pub family: SessionId,
    pub expires_at: Timestamp,
    pub spent_at: Option<Timestamp>,
    pub subject_kind: String,
    pub subject_id: String,
    pub family_revoked: bool,
}

/// Starts family `family` of `subject`.
pub(crate) async fn start_family(
    ex: &mut dyn Executor,
    family: SessionId,
    subject: Subject,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "INSERT INTO refresh_families (id, subject_kind, subject_id, created_at) VALUES ($1, $2, $3, $4)",
        params![family, subject.kind(), subject.id_string(), now],
    )
    .await?;
    Ok(())
}

/// Stores a new token of `family` by its hash.
pub(crate) async fn add_token(
    ex: &mut dyn Executor,
    family: SessionId,
    token_hash: String,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    ex.run_execute(
        "INSERT INTO refresh_tokens (id, family_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![row_id(), family, token_hash, now, expires_at],
    )
    .await?;
    Ok(())
}

/// The token whose hash is `token_hash`, with its family's owner and state.
pub(crate) async fn token_by_hash(db: &Db, token_hash: &str) -> Result<Option<RefreshRecord>> {
    let Some(row) = db
        .query_opt(
            "SELECT t.id, t.family_id, t.expires_at, t.spent_at, f.subject_kind, f.subject_id,
                    f.revoked_at
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
             WHERE t.token_hash = $1",
            params![token_hash],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(RefreshRecord {
        token_id: row.get("id")?,
        family: row.get("family_id")?,
        expires_at: row.get("expires_at")?,
        spent_at: row.get("spent_at")?,
        subject_kind: row.get("subject_kind")?,
        subject_id: row.get("subject_id")?,
        family_revoked: row.get::<Option<Timestamp>>("revoked_at")?.is_some(),
    }))
}

/// Marks token `token_id` spent; true for the one caller that did it first.
pub(crate) async fn spend_token(db: &Db, token_id: &str, now: Timestamp) -> Result<bool> {
    Ok(db
        .execute(
            "UPDATE refresh_tokens SET spent_at = $2 WHERE id = $1 AND spent_at IS NULL",
            params![token_id, now],
        )
        .await?
        == 1)
}

/// When the token whose hash is `token_hash` was spent.
pub(crate) async fn token_spent_at(db: &Db, token_hash: &str) -> Result<Option<Timestamp>> {
    Ok(db
        .query_opt(
            "SELECT spent_at FROM refresh_tokens WHERE token_hash = $1",
            params![token_hash],
        )
        .await?
        .map(|row| row.get("spent_at"))
        .transpose()?
        .flatten())
}

/// Which families to revoke.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Families<'a> {
    /// The one of a session.
    One(SessionId),
    /// Every family of a subject, but `keep` (the session changing its own password).
    AllOf {
        subject: &'a Subject,
        keep: Option<SessionId>,
    },
}

/// Revokes families not yet revoked; returns how many.
pub(crate) async fn revoke_families(
    ex: &mut dyn Executor,
    which: Families<'_>,
    reason: &str,
    now: Timestamp,
) -> Result<u64> {
    let revoked = match which {
        Families::One(id) => {
            ex.run_execute(
                "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
                 WHERE id = $1 AND revoked_at IS NULL",
                params![id, now, reason],
            )
            .await?
        }
        Families::AllOf { subject, keep } => {
            let keep = keep.map(|s| s.to_string()).unwrap_or_default();
            ex.run_execute(
                "UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
                 WHERE subject_id = $1 AND revoked_at IS NULL AND id <> $4",
                params![subject.id_string(), now, reason, keep],
            )
            .await?
        }
    };
    Ok(revoked)
}
