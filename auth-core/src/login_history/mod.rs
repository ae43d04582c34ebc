//! The login history: one row per successful login (user, service, method, time, client) and per
//! failed attempt (with the reason), for questions such as "how many times did John use ServiceB
//! this week".

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::context::RequestContext;
use crate::core::CoreInner;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{UserId, row_id};
use crate::page::{Page, PageRequest};
use crate::params;
use crate::sessions::LoginMethod;
use crate::store::StoreError;
use crate::store::sql::{Executor, Filter, Row};

/// One login attempt.
#[derive(Debug, Clone)]
pub struct LoginAttempt<'a> {
    pub user_id: Option<UserId>,
    /// The service logged into; None for the auth API itself.
    pub service: Option<&'a str>,
    pub method: LoginMethod,
    /// None on success; otherwise why it failed (a stable code).
    pub failure: Option<&'a str>,
    pub context: &'a RequestContext,
}

impl LoginAttempt<'_> {
    pub async fn record(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        ex.run_execute(
            "INSERT INTO login_history (id, at, user_id, service, method, success, failure_reason,
                                        client_ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![
                row_id(),
                at,
                self.user_id,
                self.service,
                self.method.as_str(),
                self.failure.is_none(),
                self.failure,
                self.context.ip_string(),
                self.context.user_agent.clone()
            ],
        )
        .await?;
        Ok(())
    }
}

/// A successful login of `user`: its history row and its `user.logged_in` event, written in the
/// caller's transaction so neither stands without the other.
pub async fn record_login(
    ex: &mut dyn Executor,
    user: UserId,
    service: Option<&str>,
    method: LoginMethod,
    context: &RequestContext,
    at: Timestamp,
) -> Result<(), StoreError> {
    LoginAttempt {
        user_id: Some(user),
        service,
        method,
        failure: None,
        context,
    }
    .record(ex, at)
    .await?;
    Event::about_user(
        "user.logged_in",
        user,
        json!({ "user_id": user, "method": method.as_str(), "service": service }),
    )
    .enqueue(ex, at)
    .await
}

/// Filters of the history; every one optional.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub user_id: Option<UserId>,
    /// Matched exactly, case-insensitively (an admin asking about "john").
    pub username: Option<String>,
    pub service: Option<String>,
    pub success: Option<bool>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
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
            .add_opt("h.at >= ?", self.from)
            .add_opt("h.at < ?", self.to);
        filter
    }
}

/// One row of the history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryRecord {
    pub id: String,
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub service: Option<String>,
    pub method: String,
    pub success: bool,
    pub failure_reason: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
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

/// How to group the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupBy {
    pub user: bool,
    pub service: bool,
}

impl GroupBy {
    /// Parses `user`, `service` or `user,service`.
    pub fn parse(text: &str) -> Result<GroupBy> {
        let mut group = GroupBy::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "user" => group.user = true,
                "service" => group.service = true,
                other => {
                    return Err(Error::invalid(
                        "group_by",
                        format!("`{other}` is not one of user, service"),
                    ));
                }
            }
        }
        Ok(group)
    }
}

/// Counts for one group.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub logins: i64,
    pub failures: i64,
}

/// Reading the history.
pub struct LoginHistory<'a> {
    core: &'a CoreInner,
}

impl<'a> LoginHistory<'a> {
    pub(crate) fn new(core: &'a CoreInner) -> Self {
        Self { core }
    }

    /// Rows matching `query`, newest first.
    pub async fn list(
        &self,
        query: &HistoryQuery,
        page: PageRequest,
    ) -> Result<Page<HistoryRecord>> {
        let page = page.validated()?;
        let filter = query.filter();
        let from = "FROM login_history h LEFT JOIN users u ON u.id = h.user_id";
        let db = &self.core.stores.db;
        let total: i64 = db
            .query_one(
                &format!("SELECT COUNT(*) AS n {from}{}", filter.where_sql()),
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
                    "SELECT h.*, u.username {from}{} ORDER BY h.at DESC, h.id DESC LIMIT ${n} OFFSET ${}",
                    filter.where_sql(),
                    n + 1
                ),
                params,
            )
            .await?;
        let items = rows
            .iter()
            .map(HistoryRecord::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::new(items, page, total))
    }

    /// Successful and failed logins counted per user, per service, or per both.
    pub async fn summary(&self, query: &HistoryQuery, group: GroupBy) -> Result<Vec<SummaryRow>> {
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
        let rows = self
            .core
            .stores
            .db
            .query(
                &format!(
                    "SELECT {select}
                        CAST(SUM(CASE WHEN h.success THEN 1 ELSE 0 END) AS BIGINT) AS logins,
                        CAST(SUM(CASE WHEN h.success THEN 0 ELSE 1 END) AS BIGINT) AS failures
                     FROM login_history h LEFT JOIN users u ON u.id = h.user_id{}{group_sql}
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
}
