//! The stored schedule, as typed functions: one row, the definition as JSON.

use jiff::Timestamp;

use crate::error::Result;
use crate::params;
use crate::store::sql::{Db, Executor};

/// The stored definition, if an admin stored one.
pub(super) async fn definition(db: &Db) -> Result<Option<String>> {
    Ok(db
        .query_opt("SELECT definition FROM schedule WHERE id = 1", params![])
        .await?
        .map(|row| row.get("definition"))
        .transpose()?)
}

/// Stores `definition` as the schedule, by `by`.
pub(super) async fn save(
    ex: &mut dyn Executor,
    definition: &str,
    now: Timestamp,
    by: Option<String>,
) -> Result<()> {
    ex.run_execute(
        "INSERT INTO schedule (id, definition, updated_at, updated_by) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![definition, now, by],
    )
    .await?;
    Ok(())
}
