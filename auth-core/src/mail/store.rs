//! The mail queue, as typed functions. A message's body is cleared once it is sent or given up,
//! since its links carry single-use tokens the store otherwise keeps only as hashes.

use jiff::Timestamp;

use super::OutgoingMail;
use crate::ids::row_id;
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor};

/// A queued message due for delivery.
pub(super) struct Due {
    pub id: String,
    pub mail: OutgoingMail,
    pub attempts: i64,
}

pub(super) async fn enqueue(
    ex: &mut dyn Executor,
    mail: &OutgoingMail,
    at: Timestamp,
) -> Result<(), StoreError> {
    ex.run_execute(
        "INSERT INTO mail_queue (id, recipient, subject, body, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        params![
            row_id(),
            mail.to.clone(),
            mail.subject.clone(),
            mail.body.clone(),
            at
        ],
    )
    .await?;
    Ok(())
}

/// Up to 20 unsent messages due at `now`, oldest first, not claimed by a worker.
pub(super) async fn due(
    db: &Db,
    now: Timestamp,
    max_attempts: i64,
) -> Result<Vec<Due>, StoreError> {
    let rows = db
        .query(
            "SELECT id, recipient, subject, body, attempts FROM mail_queue
             WHERE sent_at IS NULL AND next_attempt_at <= $1 AND attempts < $2
               AND (claimed_until IS NULL OR claimed_until < $1)
             ORDER BY created_at LIMIT 20",
            params![now, max_attempts],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Due {
                id: row.get("id")?,
                mail: OutgoingMail {
                    to: row.get("recipient")?,
                    subject: row.get("subject")?,
                    body: row.get("body")?,
                },
                attempts: row.get("attempts")?,
            })
        })
        .collect()
}

/// Claims message `id` until `until`, so another gateway's worker does not send it too; whether
/// this worker got it.
pub(super) async fn claim(
    db: &Db,
    id: &str,
    until: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "UPDATE mail_queue SET claimed_until = $1
             WHERE id = $2 AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3)",
            params![until, id, now],
        )
        .await?
        > 0)
}

/// Message `id` was sent at `at`: its body goes.
pub(super) async fn sent(db: &Db, id: &str, at: Timestamp) -> Result<(), StoreError> {
    db.execute(
        "UPDATE mail_queue SET sent_at = $1, attempts = attempts + 1,
         claimed_until = NULL, last_error = NULL, body = '' WHERE id = $2",
        params![at, id],
    )
    .await?;
    Ok(())
}

/// Delivering message `id` failed with `error`: try again at `retry_at`, or, at the last
/// attempt, give up and clear the body.
pub(super) async fn failed(
    db: &Db,
    id: &str,
    error: String,
    retry_at: Timestamp,
    max_attempts: i64,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE mail_queue SET attempts = attempts + 1, claimed_until = NULL,
         next_attempt_at = $1, last_error = $2,
         body = CASE WHEN attempts + 1 >= $4 THEN '' ELSE body END
         WHERE id = $3",
        params![retry_at, error, id, max_attempts],
    )
    .await?;
    Ok(())
}

/// An unsent message's row, without its body.
pub(super) struct Unsent {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

/// One page of unsent messages, oldest first: all, only those given up on (`failed` true), or
/// only those still to be tried (false).
pub(super) async fn unsent(
    db: &Db,
    failed: Option<bool>,
    max_attempts: i64,
    page: crate::page::PageRequest,
) -> Result<(i64, Vec<Unsent>), StoreError> {
    let mut filter = crate::store::sql::Filter::new();
    filter.add("sent_at IS NULL", vec![]);
    match failed {
        Some(true) => filter.add("attempts >= ?", params![max_attempts]),
        Some(false) => filter.add("attempts < ?", params![max_attempts]),
        None => &mut filter,
    };
    let (total, rows) = db
        .page_of(
            "id, recipient, subject, attempts, created_at, next_attempt_at, last_error",
            "FROM mail_queue",
            &filter,
            "created_at, id",
            (page.limit(), page.offset()),
        )
        .await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok(Unsent {
                id: row.get("id")?,
                recipient: row.get("recipient")?,
                subject: row.get("subject")?,
                attempts: row.get("attempts")?,
                created_at: row.get("created_at")?,
                next_attempt_at: row.get("next_attempt_at")?,
                last_error: row.get("last_error")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, rows))
}

/// How many unsent messages are still to be tried, and how many were given up on.
pub(super) async fn depth(db: &Db, max_attempts: i64) -> Result<(i64, i64), StoreError> {
    let row = db
        .query_one(
            "SELECT COALESCE(SUM(CASE WHEN attempts < $1 THEN 1 ELSE 0 END), 0) AS waiting,
                    COALESCE(SUM(CASE WHEN attempts >= $1 THEN 1 ELSE 0 END), 0) AS failed
             FROM mail_queue WHERE sent_at IS NULL",
            params![max_attempts],
        )
        .await?;
    Ok((row.get("waiting")?, row.get("failed")?))
}
