//! Lockout after repeated failures. The count is taken atomically *before* the password is checked:
//! an attempt is admitted only while fewer than `max_failures` have been counted, so any number of
//! parallel wrong attempts admits exactly `max_failures` of them, and the one that reaches the
//! limit locks the account.

use jiff::{SignedDuration, Timestamp};

use crate::config::LockoutConfig;
use crate::error::{Error, Result};
use crate::params;
use crate::store::sql::Db;

/// Which counter: the table and its two columns (fixed names, never input).
#[derive(Debug, Clone, Copy)]
pub struct Counter {
    pub table: &'static str,
    pub count_column: &'static str,
    pub until_column: &'static str,
}

/// Wrong passwords of users.
pub const USER_PASSWORDS: Counter = Counter {
    table: "users",
    count_column: "failed_logins",
    until_column: "locked_until",
};

/// Wrong PINs of users, across QR challenges.
pub const USER_PINS: Counter = Counter {
    table: "users",
    count_column: "failed_pins",
    until_column: "pins_locked_until",
};

/// Wrong passwords of admins.
pub const ADMIN_PASSWORDS: Counter = Counter {
    table: "admins",
    count_column: "failed_logins",
    until_column: "locked_until",
};

/// The lockout rules.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    max_failures: i64,
    lock_for: SignedDuration,
}

/// An attempt the lockout let through; report its outcome with [`Lockout::failed`] or
/// [`Lockout::succeeded`].
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Admitted {
    count: i64,
}

impl Lockout {
    pub fn new(config: &LockoutConfig) -> Self {
        Self {
            max_failures: i64::from(config.max_failures),
            lock_for: SignedDuration::from_mins(i64::from(config.lock_minutes)),
        }
    }

    /// Counts an attempt on `id`, or refuses it with [`Error::AccountLocked`].
    pub async fn admit(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        now: Timestamp,
    ) -> Result<Admitted> {
        let Counter {
            table,
            count_column: count,
            until_column: until,
        } = counter;
        // A lock that has run out starts the count afresh.
        let sql = format!(
            "UPDATE {table} SET
                 {count} = CASE WHEN {until} IS NOT NULL AND {until} <= $2 THEN 1 ELSE {count} + 1 END,
                 {until} = CASE WHEN {until} IS NOT NULL AND {until} <= $2 THEN NULL ELSE {until} END
             WHERE id = $1
               AND (({until} IS NULL AND {count} < $3) OR ({until} IS NOT NULL AND {until} <= $2))
             RETURNING {count} AS n"
        );
        match db
            .query_opt(&sql, params![id, now, self.max_failures])
            .await?
        {
            Some(row) => Ok(Admitted {
                count: row.get("n")?,
            }),
            None => {
                let row = db
                    .query_opt(
                        &format!("SELECT {until} AS until FROM {table} WHERE id = $1"),
                        params![id],
                    )
                    .await?;
                let until = row
                    .and_then(|r| r.get::<Option<Timestamp>>("until").ok().flatten())
                    // Counted to the limit but the locking attempt is still running.
                    .unwrap_or(now + self.lock_for);
                Err(Error::AccountLocked { until })
            }
        }
    }

    /// The admitted attempt failed. Returns the time the account is locked until if this failure
    /// reached the limit.
    pub async fn failed(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        attempt: Admitted,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        if attempt.count < self.max_failures {
            return Ok(None);
        }
        let until = now + self.lock_for;
        let locked = db
            .execute(
                &format!(
                    "UPDATE {} SET {} = $2 WHERE id = $1 AND {} IS NULL",
                    counter.table, counter.until_column, counter.until_column
                ),
                params![id, until],
            )
            .await?;
        Ok((locked > 0).then_some(until))
    }

    /// The admitted attempt succeeded: the count starts again.
    pub async fn succeeded(
        &self,
        db: &Db,
        counter: Counter,
        id: &str,
        _attempt: Admitted,
    ) -> Result<()> {
        self.clear(db, counter, id).await
    }

    /// Clears count and lock (a success, or an admin unlocking the account).
    pub async fn clear(&self, db: &Db, counter: Counter, id: &str) -> Result<()> {
        db.execute(
            &format!(
                "UPDATE {} SET {} = 0, {} = NULL WHERE id = $1",
                counter.table, counter.count_column, counter.until_column
            ),
            params![id],
        )
        .await?;
        Ok(())
    }
}
