//! The login history's SQL: one insert, a filtered read, and the counts per user and service.

use jiff::Timestamp;

use super::{GroupBy, HistoryQuery, HistoryRecord, LoginAttempt, SummaryRow};
use crate::error::Result;
use crate::ids::row_id;
use crate::page::{Page, PageRequest};
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor, Filter, Row};

pub(super) async fn insert(
    ex: &mut dyn Executor,
    attempt: &LoginAttempt<'_>,
    at: Timestamp,
) -> Result<(), StoreError> {
    ex.run_execute(
        "INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason,
                                    client_ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            row_id(),
            at,
            attempt.user_id,
            attempt.service,
            attempt.method.as_str(),
            attempt.failure.is_none(),
            attempt.failure,
            attempt.context.ip_string(),
            attempt.context.user_agent.clone()
        ],
    )
    .await?;
    Ok(())
}

impl HistoryQuery {
    fn filter(&self) -> Filter {
        let mut filter = Filter::new();
        filter
            .add_opt("h.user_id = ?", self.user_id)
            .add_opt(
                "u.username_normalized = ?",
                self.username.as_deref().map(str::to_lowercase),
            )
            .add_opt("h.service = ?", self.service.clone())
            .add_opt("h.success = ?", self.success)
            .add_opt("h.method = ?", self.method.map(|m| m.as_str().to_string()))
            .add_opt("h.at >= ?", self.from)
            .add_opt("h.at < ?", self.to);
        filter
    }
}

impl HistoryRecord {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.get("id")?,
            at: row.get("at")?,
            user_id: row.get("user_id")?,
            username: row.get("username")?,
            service: row.get("service")?,
            method: row.get("method")?,
            success: row.get("success")?,
            failure_reason: row.get("failure_reason")?,
            client_ip: row.get("client_ip")?,
            user_agent: row.get("user_agent")?,
        })
    }
}

/// Rows matching `query`, newest first.
pub(super) async fn list(
    db: &Db,
    query: &HistoryQuery,
    page: PageRequest,
) -> Result<Page<HistoryRecord>> {
    let filter = query.filter();
    let (total, rows) = db
        .page_of(
            "h.*, u.username",
            "FROM login_history h LEFT JOIN users u ON u.id = h.user_id",
            &filter,
            "h.at DESC, h.id DESC",
            (page.limit(), page.offset()),
        )
        .await?;
    let items = rows
        .iter()
        .map(HistoryRecord::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, page, total))
}

/// Successful and failed logins counted per user, per service, or per both.
pub(super) async fn summary(
    db: &Db,
    query: &HistoryQuery,
    group: GroupBy,
) -> Result<Vec<SummaryRow>> {
    let mut columns = Vec::new();
    if group.user {
        columns.extend(["h.user_id", "u.username"]);
    }
    if group.service {
        columns.push("h.service");
    }
    let select = columns.iter().map(|c| format!("{c}, ")).collect::<String>();
    let group_sql = if columns.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", columns.join(", "))
    };
    let filter = query.filter();
    // The people's table only when a person is named or counted: a count per service over a
    // period then reads the history's index alone.
    let join = if group.user || query.username.is_some() {
        " LEFT JOIN users u ON u.id = h.user_id"
    } else {
        ""
    };
    let rows = db
        .query(
            &format!(
                "SELECT {select}
                    CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT) AS logins,
                    CAST(SUM(CASE WHEN h.success THEN 0 ELSE 1 END) AS BIGINT) AS failures
                 FROM login_history h{join}{}{group_sql}
                 ORDER BY logins DESC",
                filter.where_sql()
            ),
            filter.params(),
        )
        .await?;
    rows.iter()
        .filter(|row| row.get::<Option<i64>>("logins").ok().flatten().is_some())
        .map(|row| {
            Ok(SummaryRow {
                user_id: if group.user {
                    row.get("user_id")?
                } else {
                    None
                },
                username: if group.user {
                    row.get("username")?
                } else {
                    None
                },
                service: if group.service {
                    row.get("service")?
                } else {
                    None
                },
                logins: row.get("logins")?,
                failures: row.get("failures")?,
            })
        })
        .collect()
}
