//! The audit log: every admin action and security event, with actor, action, target, time, client
//! IP and outcome. Append-only: entries are written (in the same transaction as the change they
//! record, through [`AuditEntry::write`]) and read by admins, never changed. Every action is an
//! [`AuditAction`].

mod action;
mod store;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::access::AdminRead;
use crate::context::{Actor, RequestContext};
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::store::StoreError;
use crate::store::sql::{Db, Executor};

pub use action::AuditAction;

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
    action: AuditAction,
    target: Option<(&'static str, String)>,
    client_ip: Option<String>,
    outcome: Outcome,
    details: Map<String, Value>,
}

impl AuditEntry {
    /// A successful `action` by `actor`.
    pub fn new(actor: Actor, action: AuditAction) -> Self {
        Self {
            actor,
            action,
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

    /// Writes the entry through `ex`: the transaction of the change it records, so the two land
    /// together or not at all.
    pub async fn write(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        store::insert(
            ex,
            store::NewEntry {
                at,
                actor_kind: self.actor.kind(),
                actor_id: self.actor.id(),
                action: self.action.as_str(),
                target: self.target.as_ref().map(|(kind, id)| (*kind, id.as_str())),
                client_ip: self.client_ip,
                outcome: self.outcome.as_str(),
                details: Value::Object(self.details),
            },
        )
        .await
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

/// The audit domain: reading the log, for admins.
pub struct Audit<'a> {
    db: &'a Db,
}

impl<'a> Audit<'a> {
    pub(crate) fn new(db: &'a Db) -> Self {
        Self { db }
    }

    /// Entries matching `query`, newest first.
    pub async fn list(
        &self,
        _reader: &AdminRead,
        query: &AuditQuery,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>> {
        store::list(self.db, query, page.validated()?).await
    }
}
