//! The retention sweep's SQL: each statement removes at most one batch of rows, picked by an
//! indexed condition, so no statement holds a lock for long on either engine.

use jiff::Timestamp;

use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, SqlValue};

/// What one batch removes: a table and the condition of its rows to go.
#[derive(Debug, Clone, Copy)]
pub(super) enum Batch {
    EmailTokens,
    PersonalAccessTokens,
    SentMail,
    LoginHistory,
    AuditLog,
}

impl Batch {
    /// `$1`: the cutoff (or now), `$2`: the batch size, `$3`: the second cutoff, where used.
    fn sql(self) -> &'static str {
        match self {
            Batch::EmailTokens => {
                "DELETE FROM email_tokens WHERE id IN
                 (SELECT id FROM email_tokens WHERE expires_at < $1 LIMIT $2)"
            }
            // Expired now; revoked ones once the grace period ($3) is over.
            Batch::PersonalAccessTokens => {
                "DELETE FROM personal_access_tokens WHERE id IN
                 (SELECT id FROM personal_access_tokens
                  WHERE expires_at < $1 OR revoked_at < $3 LIMIT $2)"
            }
            // Sent before the cutoff, or given up on ($3 attempts) and queued before it.
            Batch::SentMail => {
                "DELETE FROM mail_queue WHERE id IN
                 (SELECT id FROM mail_queue
                  WHERE sent_at < $1 OR (sent_at IS NULL AND attempts >= $3 AND created_at < $1)
                  LIMIT $2)"
            }
            Batch::LoginHistory => {
                "DELETE FROM login_history WHERE id IN
                 (SELECT id FROM login_history WHERE at < $1 LIMIT $2)"
            }
            Batch::AuditLog => {
                "DELETE FROM audit_log WHERE id IN
                 (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)"
            }
        }
    }
}

/// Removes one batch; how many rows went. `third` is the batch's `$3`, where it has one.
pub(super) async fn remove_batch(
    db: &Db,
    batch: Batch,
    cutoff: Timestamp,
    size: i64,
    third: Option<SqlValue>,
) -> Result<u64, StoreError> {
    let mut values = params![cutoff, size];
    values.extend(third);
    db.execute(batch.sql(), values).await
}

/// Removes one batch of refresh families whose every token has expired, or that were revoked
/// before `revoked_before`, with their tokens, in one transaction; how many families went.
pub(super) async fn remove_refresh_families(
    db: &Db,
    now: Timestamp,
    revoked_before: Timestamp,
    size: i64,
) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let rows = tx
        .query(
            "SELECT f.id FROM refresh_families f
             WHERE f.revoked_at < $2
                OR NOT EXISTS (SELECT 1 FROM refresh_tokens t
                               WHERE t.family_id = f.id AND t.expires_at >= $1)
             LIMIT $3",
            params![now, revoked_before, size],
        )
        .await?;
    let mut removed = 0;
    for row in &rows {
        let id: String = row.get("id")?;
        tx.execute(
            "DELETE FROM refresh_tokens WHERE family_id = $1",
            params![id.clone()],
        )
        .await?;
        removed += tx
            .execute("DELETE FROM refresh_families WHERE id = $1", params![id])
            .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// Lets the audit log's delete trigger remove rows older than `before`, or, with None, none.
pub(super) async fn set_audit_cutoff(db: &Db, before: Option<Timestamp>) -> Result<(), StoreError> {
    match before {
        Some(before) => {
            db.execute(
                "INSERT INTO retention_cutoffs (name, before_at) VALUES ('audit_log', $1)
                 ON CONFLICT (name) DO UPDATE SET before_at = excluded.before_at",
                params![before],
            )
            .await?
        }
        None => {
            db.execute(
                "DELETE FROM retention_cutoffs WHERE name = 'audit_log'",
                params![],
            )
            .await?
        }
    };
    Ok(())
}
