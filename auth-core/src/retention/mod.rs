//! Retention: a background sweep removes what the durable store no longer needs (expired email
//! tokens, refresh families and personal access tokens, sent mail) and history older than the
//! configured periods (`[retention]`). Every table is cleared in short batches, one statement each,
//! with a pause for other work between them, so a sweep never holds a long lock. The short-lived
//! entries (QR challenges, PINs, sessions) have their own sweep in the ephemeral store; published
//! events are the event outbox's to clear.

mod store;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::config::RetentionConfig;
use crate::context::Base;
use crate::store::StoreError;
use crate::store::sql::SqlValue;
use store::Batch;

/// How many rows one sweep removed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub email_tokens: u64,
    pub refresh_families: u64,
    pub personal_access_tokens: u64,
    pub mail: u64,
    pub login_history: u64,
    pub audit_log: u64,
}

impl SweepReport {
    pub fn total(&self) -> u64 {
        self.email_tokens
            + self.refresh_families
            + self.personal_access_tokens
            + self.mail
            + self.login_history
            + self.audit_log
    }
}

/// The retention sweep over the durable store.
pub struct Retention<'a> {
    base: &'a Base,
}

fn days(n: u32) -> SignedDuration {
    SignedDuration::from_hours(24 * i64::from(n))
}

impl<'a> Retention<'a> {
    pub(crate) fn new(base: &'a Base) -> Self {
        Self { base }
    }

    fn config(&self) -> &RetentionConfig {
        &self.base.config.retention
    }

    /// Removes everything that is due at the clock's now, batch by batch.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.base.clock.now();
        let config = self.config().clone();
        let grace_cutoff = now - days(config.revoked_grace_days);
        let report = SweepReport {
            email_tokens: self.drain(Batch::EmailTokens, now, None).await?,
            refresh_families: self.drain_refresh_families(now, grace_cutoff).await?,
            personal_access_tokens: self
                .drain(
                    Batch::PersonalAccessTokens,
                    now,
                    Some(SqlValue::from(grace_cutoff)),
                )
                .await?,
            mail: self
                .drain(
                    Batch::SentMail,
                    now - days(config.sent_mail_days),
                    Some(SqlValue::from(crate::mail::MAX_ATTEMPTS)),
                )
                .await?,
            login_history: match config.login_history_days {
                0 => 0,
                n => self.drain(Batch::LoginHistory, now - days(n), None).await?,
            },
            audit_log: self.sweep_audit(now, config.audit_days).await?,
        };
        if report.total() > 0 {
            tracing::info!(?report, "retention sweep removed expired rows");
        }
        Ok(report)
    }

    /// The audit log is append-only in the database; its trigger lets rows older than the
    /// recorded cutoff go, and with `audit_days = 0` there is no cutoff, so none can.
    async fn sweep_audit(&self, now: Timestamp, audit_days: u32) -> Result<u64, StoreError> {
        let db = &self.base.stores.db;
        if audit_days == 0 {
            store::set_audit_cutoff(db, None).await?;
            return Ok(0);
        }
        let cutoff = now - days(audit_days);
        store::set_audit_cutoff(db, Some(cutoff)).await?;
        self.drain(Batch::AuditLog, cutoff, None).await
    }

    async fn drain(
        &self,
        batch: Batch,
        cutoff: Timestamp,
        third: Option<SqlValue>,
    ) -> Result<u64, StoreError> {
        let size = i64::from(self.config().batch_size);
        let mut total = 0;
        loop {
            let removed =
                store::remove_batch(&self.base.stores.db, batch, cutoff, size, third.clone())
                    .await?;
            total += removed;
            if removed < size as u64 {
                return Ok(total);
            }
            // Let the requests waiting for the database in between.
            tokio::task::yield_now().await;
        }
    }

    async fn drain_refresh_families(
        &self,
        now: Timestamp,
        revoked_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let size = i64::from(self.config().batch_size);
        let mut total = 0;
        loop {
            let removed =
                store::remove_refresh_families(&self.base.stores.db, now, revoked_before, size)
                    .await?;
            total += removed;
            if removed < size as u64 {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
