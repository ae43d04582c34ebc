//! The SQL of the admins' notices of waiting accounts.

use jiff::Timestamp;

use crate::error::Result;
use crate::params;
use crate::store::sql::Executor;

/// An admin to tell, and what it was last told.
pub(super) struct AdminToNotify {
    pub id: String,
    pub email: String,
    pub last_sent_at: Option<Timestamp>,
    pub covered_until: Option<Timestamp>,
}

/// A verified account that waits for a decision.
pub(super) struct Waiting {
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub verified_at: Timestamp,
}

/// Every enabled admin of role `admin`, with its last notice.
pub(super) async fn admins(ex: &mut dyn Executor) -> Result<Vec<AdminToNotify>> {
    let rows = ex
        .run_query(
            "SELECT a.id, a.email, n.last_sent_at, n.covered_until
             FROM admins a LEFT JOIN admin_notices n ON n.admin_id = a.id
             WHERE a.role = 'admin' AND a.disabled = FALSE ORDER BY a.id",
            params![],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            Ok(AdminToNotify {
                id: row.get("id")?,
                email: row.get("email")?,
                last_sent_at: row.get("last_sent_at")?,
                covered_until: row.get("covered_until")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, crate::store::StoreError>>()?)
}

/// Pending accounts verified after `after` (all with None), oldest first, at most `limit`.
pub(super) async fn waiting_since(
    ex: &mut dyn Executor,
    after: Option<Timestamp>,
    limit: i64,
) -> Result<Vec<Waiting>> {
    let after = after.map_or(i64::MIN, |t| t.as_millisecond());
    let rows = ex
        .run_query(
            "SELECT username, email, full_name, email_verified_at FROM users
             WHERE status = 'pending' AND email_verified_at > $1
             ORDER BY email_verified_at, id LIMIT $2",
            params![after, limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            Ok(Waiting {
                username: row.get("username")?,
                email: row.get("email")?,
                full_name: row.get("full_name")?,
                verified_at: row.get("email_verified_at")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, crate::store::StoreError>>()?)
}

/// Records a notice to admin `id` sent at `now` and naming accounts up to `covered_until`, if
/// nobody recorded one since `previous` (another gateway may be doing the same); whether this
/// caller got to send it.
pub(super) async fn claim(
    ex: &mut dyn Executor,
    id: &str,
    previous: Option<Timestamp>,
    now: Timestamp,
    covered_until: Timestamp,
) -> Result<bool> {
    let changed = match previous {
        None => {
            ex.run_execute(
                "INSERT INTO admin_notices (admin_id, last_sent_at, covered_until)
                 VALUES ($1, $2, $3) ON CONFLICT (admin_id) DO NOTHING",
                params![id, now, covered_until],
            )
            .await?
        }
        Some(previous) => {
            ex.run_execute(
                "UPDATE admin_notices SET last_sent_at = $2, covered_until = $3
                 WHERE admin_id = $1 AND last_sent_at = $4",
                params![id, now, covered_until, previous],
            )
            .await?
        }
    };
    Ok(changed > 0)
}
