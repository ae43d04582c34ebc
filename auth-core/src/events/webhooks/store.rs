//! The SQL of webhook delivery: fanning events out into deliveries, claiming a due delivery with a
//! lease (one conditional UPDATE, so two gateways never hold the same one), recording attempts,
//! reading the delivery log, and removing what is past its retention in small batches.

use jiff::Timestamp;

use super::DeliveryAttempt;
use crate::error::Result;
use crate::ids::row_id;
use crate::page::{Page, PageRequest};
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Filter, Row};

/// Rows removed per statement by the sweep, so no delete holds a long lock.
const SWEEP_BATCH: i64 = 500;

/// An event not yet fanned out.
pub(super) struct Undispatched {
    pub id: String,
    pub kind: String,
}

/// A delivery due now, with the event it carries.
pub(super) struct Due {
    pub id: String,
    pub event_id: String,
    pub webhook: String,
    pub event_type: String,
    pub attempts: i64,
    pub payload: String,
    pub event_at: Timestamp,
}

/// How one attempt ended.
pub(super) enum Outcome {
    Delivered,
    Retry(Timestamp),
    GiveUp,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retry(_) => "retrying",
            Outcome::GiveUp => "given_up",
        }
    }
}

pub(super) async fn undispatched(db: &Db, limit: i64) -> Result<Vec<Undispatched>, StoreError> {
    let rows = db
        .query(
            "SELECT id, event_type FROM event_outbox WHERE dispatched_at IS NULL
             ORDER BY id LIMIT $1",
            params![limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Undispatched {
                id: row.get("id")?,
                kind: row.get("event_type")?,
            })
        })
        .collect()
}

/// Creates one delivery of `event` per webhook in `webhooks` and marks the event fanned out, in
/// one transaction. A delivery that exists already (another gateway got there first) is kept.
pub(super) async fn fan_out(
    db: &Db,
    event: &Undispatched,
    webhooks: &[&str],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    for webhook in webhooks {
        tx.execute(
            "INSERT INTO webhook_deliveries (id, event_id, webhook, event_type, created_at,
                                             next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (event_id, webhook) DO NOTHING",
            params![
                row_id(),
                event.id.clone(),
                *webhook,
                event.kind.clone(),
                now
            ],
        )
        .await?;
    }
    tx.execute(
        "UPDATE event_outbox SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL",
        params![now, event.id.clone()],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn due(db: &Db, now: Timestamp, limit: i64) -> Result<Vec<Due>, StoreError> {
    let rows = db
        .query(
            "SELECT d.id, d.event_id, d.webhook, d.event_type, d.attempts, e.payload,
                    e.created_at AS event_at
             FROM webhook_deliveries d JOIN event_outbox e ON e.id = d.event_id
             WHERE d.delivered_at IS NULL AND d.given_up_at IS NULL AND d.next_attempt_at <= $1
               AND (d.claimed_until IS NULL OR d.claimed_until < $1)
             ORDER BY d.next_attempt_at, d.id LIMIT $2",
            params![now, limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Due {
                id: row.get("id")?,
                event_id: row.get("event_id")?,
                webhook: row.get("webhook")?,
                event_type: row.get("event_type")?,
                attempts: row.get("attempts")?,
                payload: row.get("payload")?,
                event_at: row.get("event_at")?,
            })
        })
        .collect()
}

/// Takes delivery `id` until `until`; whether this caller got it. Only a delivery that is still
/// open, due, and not held by anyone else can be taken.
pub(super) async fn claim(
    db: &Db,
    id: &str,
    until: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    Ok(db
        .execute(
            "UPDATE webhook_deliveries SET claimed_until = $1
             WHERE id = $2 AND delivered_at IS NULL AND given_up_at IS NULL
               AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)",
            params![until, id, now],
        )
        .await?
        == 1)
}

/// Logs the attempt and moves the delivery on, in one transaction.
pub(super) async fn record(
    db: &Db,
    due: &Due,
    status: Option<u16>,
    error: Option<String>,
    outcome: Outcome,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO webhook_attempts (id, delivery_id, event_id, webhook, event_type, attempt,
                                       attempted_at, status, error, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![
            row_id(),
            due.id.clone(),
            due.event_id.clone(),
            due.webhook.clone(),
            due.event_type.clone(),
            due.attempts + 1,
            at,
            status.map(i64::from),
            error,
            outcome.as_str()
        ],
    )
    .await?;
    let (sql, when) = match outcome {
        Outcome::Delivered => (
            "UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = NULL,
             delivered_at = $1 WHERE id = $2",
            at,
        ),
        Outcome::Retry(retry_at) => (
            "UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = NULL,
             next_attempt_at = $1 WHERE id = $2",
            retry_at,
        ),
        Outcome::GiveUp => (
            "UPDATE webhook_deliveries SET attempts = attempts + 1, claimed_until = NULL,
             given_up_at = $1 WHERE id = $2",
            at,
        ),
    };
    tx.execute(sql, params![when, due.id.clone()]).await?;
    tx.commit().await
}

fn attempt(row: &Row) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        id: row.get("id")?,
        delivery_id: row.get("delivery_id")?,
        event_id: row.get("event_id")?,
        webhook: row.get("webhook")?,
        event_type: row.get("event_type")?,
        attempt: row.get("attempt")?,
        attempted_at: row.get("attempted_at")?,
        status: row.get("status")?,
        error: row.get("error")?,
        outcome: row.get("outcome")?,
    })
}

/// The delivery log, newest attempt first, optionally of one webhook or one event.
pub(super) async fn attempts(
    db: &Db,
    webhook: Option<String>,
    event_id: Option<String>,
    page: PageRequest,
) -> Result<Page<DeliveryAttempt>> {
    let mut filter = Filter::new();
    filter
        .add_opt("webhook = ?", webhook)
        .add_opt("event_id = ?", event_id);
    let (total, rows) = db
        .page_of(
            "*",
            "FROM webhook_attempts",
            &filter,
            "attempted_at DESC, id DESC",
            (page.limit(), page.offset()),
        )
        .await?;
    let items = rows.iter().map(attempt).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, page, total))
}

/// Removes attempts and finished deliveries older than `log_cutoff`, and events fanned out
/// before `event_cutoff` whose deliveries are all finished (and, with Redis, that are
/// published); one batch of each. Returns the rows removed.
pub(super) async fn sweep(
    db: &Db,
    log_cutoff: Timestamp,
    event_cutoff: Timestamp,
    published_to_redis: bool,
) -> Result<u64, StoreError> {
    let mut removed = db
        .execute(
            "DELETE FROM webhook_attempts WHERE id IN
               (SELECT id FROM webhook_attempts WHERE attempted_at < $1 LIMIT $2)",
            params![log_cutoff, SWEEP_BATCH],
        )
        .await?;
    removed += db
        .execute(
            "DELETE FROM webhook_deliveries WHERE id IN
               (SELECT id FROM webhook_deliveries
                WHERE delivered_at < $1 OR given_up_at < $1 LIMIT $2)",
            params![log_cutoff, SWEEP_BATCH],
        )
        .await?;
    let events = if published_to_redis {
        "DELETE FROM event_outbox WHERE id IN
           (SELECT e.id FROM event_outbox e
            WHERE e.dispatched_at < $1 AND e.published_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id
                              AND d.delivered_at IS NULL AND d.given_up_at IS NULL)
            LIMIT $2)"
    } else {
        "DELETE FROM event_outbox WHERE id IN
           (SELECT e.id FROM event_outbox e
            WHERE e.dispatched_at < $1
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id
                              AND d.delivered_at IS NULL AND d.given_up_at IS NULL)
            LIMIT $2)"
    };
    removed += db
        .execute(events, params![event_cutoff, SWEEP_BATCH])
        .await?;
    Ok(removed)
}
