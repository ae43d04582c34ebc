//! The audit log: every admin action and security event, with actor, action, target, time, client
//! IP and outcome. Append-only: entries are written (in the same transaction as the change they
//! record) and read, never changed.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::context::{Actor, RequestContext};
use crate::error::Result;
use crate::ids::row_id;
use crate::page::{Page, PageRequest};
use crate::params;
use crate::store::StoreError;
use crate::store::sql::{Db, Executor, Filter, Row};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    actor: Actor,
    action: String,
    target: Option<(&'static str, String)>,
    client_ip: Option<String>,
    outcome: Outcome,
    details: Map<String, Value>,
}

impl AuditEntry {
    /// A successful `action` by `actor`.
    pub fn new(actor: Actor, action: impl Into<String>) -> Self {
        Self {
            actor,
            action: action.into(),
            target: None,
            client_ip: None,
            outcome: Outcome::Success,
            details: Map::new(),
        }
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn from_client(mut self, context: &RequestContext) -> Self {
        self.client_ip = context.ip_string();
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// Writes the entry through `ex` (a transaction, to land with the change it records).
    pub async fn write(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        let (target_kind, target_id) = match self.target {
            Some((kind, id)) => (Some(kind.to_string()), Some(id)),
            None => (None, None),
        };
        ex.run_execute(
            "INSERT INTO audit_log (id, at, actor_kind, actor_id, action, target_kind, target_id,
                                    client_ip, outcome, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            params![
                row_id(),
                at,
                self.actor.kind(),
                self.actor.id(),
                self.action,
                target_kind,
                target_id,
                self.client_ip,
                self.outcome.as_str(),
                Value::Object(self.details).to_string()
            ],
        )
        .await?;
        Ok(())
    }
}

/// One stored entry, as admins read it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub id: String,
    pub at: Timestamp,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub client_ip: Option<String>,
    pub outcome: String,
    pub details: Value,
}

impl AuditRecord {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        let details: String = row.get("details")?;
        Ok(Self {
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
}

/// Filters of the audit log; every one is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Entries matching `query`, newest first.
pub async fn list(db: &Db, query: &AuditQuery, page: PageRequest) -> Result<Page<AuditRecord>> {
    let page = page.validated()?;
    let mut filter = Filter::new();
    filter
        .add_opt("actor_id = ?", query.actor_id.clone())
        .add_opt("action = ?", query.action.clone())
        .add_opt("target_id = ?", query.target_id.clone())
        .add_opt("outcome = ?", query.outcome.clone())
        .add_opt("at >= ?", query.from)
        .add_opt("at < ?", query.to);
    let total: i64 = db
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM audit_log{}", filter.where_sql()),
            filter.params(),
        )
        .await?
        .get("n")?;
    let n = filter.next_placeholder();
    let mut params = filter.params();
    params.extend(params![page.limit(), page.offset()]);
    let rows = db
        .query(
            &format!(
                "SELECT * FROM audit_log{} ORDER BY at DESC, id DESC LIMIT ${n} OFFSET ${}",
                filter.where_sql(),
                n + 1
            ),
            params,
        )
        .await?;
    let items = rows
        .iter()
        .map(AuditRecord::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, page, total))
}
