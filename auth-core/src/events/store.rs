//! The event outbox, as typed functions.

use jiff::Timestamp;

use super::Event;
use crate::ids::row_id;
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor};

/// An event waiting to be published.
pub(super) struct Pending {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub payload: String,
    pub created_at: Timestamp,
}

pub(super) async fn enqueue(
    ex: &mut dyn Executor,
    event: &Event,
    at: Timestamp,
) -> Result<(), StoreError> {
    ex.run_execute(
        "INSERT INTO event_outbox (id, event_type, user_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        params![
            row_id(),
            event.kind,
            event.user_id,
            event.payload.to_string(),
            at
        ],
    )
    .await?;
    Ok(())
}

/// Up to `limit` unpublished events, in the order they were written.
pub(super) async fn unpublished(db: &Db, limit: i64) -> Result<Vec<Pending>, StoreError> {
    let rows = db
        .query(
            "SELECT id, event_type, user_id, payload, created_at FROM event_outbox
             WHERE published_at IS NULL ORDER BY id LIMIT $1",
            params![limit],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Pending {
                id: row.get("id")?,
                kind: row.get("event_type")?,
                user_id: row.get("user_id")?,
                payload: row.get("payload")?,
                created_at: row.get("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn published(db: &Db, id: &str, at: Timestamp) -> Result<(), StoreError> {
    db.execute(
        "UPDATE event_outbox SET published_at = $1 WHERE id = $2",
        params![at, id],
    )
    .await?;
    Ok(())
}
