//! The audit log's SQL: one insert, one filtered read. The table is append-only in the database
//! too (triggers installed after the migrations).

use jiff::Timestamp;
use serde_json::Value;

use super::{AuditQuery, AuditRecord};
use crate::error::Result;
use crate::ids::row_id;
use crate::page::{Page, PageRequest};
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor, Filter, Row};

/// A row to append.
pub(super) struct NewEntry<'a> {
    pub at: Timestamp,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub action: &'static str,
    pub target: Option<(&'static str, &'a str)>,
    pub client_ip: Option<String>,
    pub outcome: &'static str,
    pub details: Value,
}

pub(super) async fn insert(ex: &mut dyn Executor, entry: NewEntry<'_>) -> Result<(), StoreError> {
    let (target_kind, target_id) = match entry.target {
        Some((kind, id)) => (Some(kind.to_string()), Some(id.to_string())),
        None => (None, None),
    };
    ex.run_execute(
        "INSERT INTO audit_log (id, at, actor_kind, actor_id, action, target_kind, target_id,
                                client_ip, outcome, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![
            row_id(),
            entry.at,
            entry.actor_kind,
            entry.actor_id,
            entry.action,
            target_kind,
            target_id,
            entry.client_ip,
            entry.outcome,
            entry.details.to_string()
        ],
    )
    .await?;
    Ok(())
}

fn record(row: &Row) -> Result<AuditRecord, StoreError> {
    let details: String = row.get("details")?;
    Ok(AuditRecord {
        id: row.get("id")?,
        at: row.get("at")?,
        actor_kind: row.get("actor_kind")?,
        actor_id: row.get("actor_id")?,
        action: row.get("action")?,
        target_kind: row.get("target_kind")?,
        target_id: row.get("target_id")?,
        client_ip: row.get("client_ip")?,
        outcome: row.get("outcome")?,
        details: serde_json::from_str(&details).unwrap_or(Value::Null),
    })
}

/// Entries matching `query`, newest first.
pub(super) async fn list(
    db: &Db,
    query: &AuditQuery,
    page: PageRequest,
) -> Result<Page<AuditRecord>> {
    let mut filter = Filter::new();
    filter
        .add_opt("actor_id = ?", query.actor_id.clone())
        .add_opt("action = ?", query.action.clone())
        .add_opt("target_id = ?", query.target_id.clone())
        .add_opt("outcome = ?", query.outcome.clone())
        .add_opt("at >= ?", query.from)
        .add_opt("at < ?", query.to);
    let (total, rows) = db
        .page_of(
            "*",
            "FROM audit_log",
            &filter,
            "at DESC, id DESC",
            (page.limit(), page.offset()),
        )
        .await?;
    let items = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, page, total))
}
