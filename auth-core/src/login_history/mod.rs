//! The login history: one row per successful login (user, service, method, time, client) and per
//! failed attempt (with the reason), for questions such as "how many times did John use ServiceB
//! this week".

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::access::AdminRead;
use crate::context::{Base, RequestContext};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::UserId;
use crate::page::{Page, PageRequest};
use crate::sessions::LoginMethod;
use crate::store::StoreError;
use crate::store::sql::Executor;

mod store;

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
        if let Some(meter) = crate::measure::meter() {
            meter.login(self.method.as_str(), self.failure.unwrap_or("success"));
        }
        store::insert(ex, &self, at).await
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
    /// Only attempts by this way of logging in.
    pub method: Option<LoginMethod>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
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
    core: &'a Base,
}

impl<'a> LoginHistory<'a> {
    pub(crate) fn new(core: &'a Base) -> Self {
        Self { core }
    }

    /// Rows matching `query`, newest first.
    pub async fn list(
        &self,
        _reader: &AdminRead,
        query: &HistoryQuery,
        page: PageRequest,
    ) -> Result<Page<HistoryRecord>> {
        store::list(&self.core.stores.db, query, page.validated()?).await
    }

    /// The signed-in person's own attempts, newest first: what they read to spot a login that was
    /// not theirs. Only rows of `user`, whatever else the caller would filter by.
    pub async fn list_own(&self, user: UserId, page: PageRequest) -> Result<Page<HistoryRecord>> {
        let query = HistoryQuery {
            user_id: Some(user),
            ..HistoryQuery::default()
        };
        store::list(&self.core.stores.db, &query, page.validated()?).await
    }

    /// Successful and failed logins counted per user, per service, or per both.
    pub async fn summary(
        &self,
        _reader: &AdminRead,
        query: &HistoryQuery,
        group: GroupBy,
    ) -> Result<Vec<SummaryRow>> {
        store::summary(&self.core.stores.db, query, group).await
    }
}
