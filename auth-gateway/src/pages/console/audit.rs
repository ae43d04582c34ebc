//! `/admin/audit`: the audit log, filtered by actor, action, target, outcome and period (UTC
//! days), newest first, a page at a time, and as CSV (`/admin/audit.csv`, the same filters).

use askama::Template;
use auth_core::Error;
use auth_core::audit::{AuditAction, AuditQuery, AuditRecord};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::csv::{self, Csv};
use super::history::{day, end_of, start_of};
use super::{Console, Frame, Pager, page, page_request, refused, when};
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// The filters as typed.
#[derive(Deserialize, Default)]
pub struct AuditFilters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<u32>,
}

impl AuditFilters {
    fn query(&self) -> Result<AuditQuery, Error> {
        let text = |t: &str| (!t.trim().is_empty()).then(|| t.trim().to_string());
        if !self.action.is_empty() && !AuditAction::ALL.iter().any(|a| a.as_str() == self.action) {
            return Err(Error::invalid("action", "is not an audited action"));
        }
        if !self.outcome.is_empty() && !OUTCOMES.contains(&self.outcome.as_str()) {
            return Err(Error::invalid(
                "outcome",
                "is not success, failure or denied",
            ));
        }
        Ok(AuditQuery {
            actor_id: text(&self.actor),
            action: text(&self.action),
            target_id: text(&self.target),
            outcome: text(&self.outcome),
            from: day(&self.from, "from")?.map(start_of).transpose()?,
            to: day(&self.to, "to")?.map(end_of).transpose()?,
        })
    }

    fn link(&self) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("actor", &self.actor)
            .append_pair("action", &self.action)
            .append_pair("target", &self.target)
            .append_pair("outcome", &self.outcome)
            .append_pair("from", &self.from)
            .append_pair("to", &self.to);
        url.finish()
    }
}

type Entry = (String, String, String, String, String, String, String);

fn entry(record: &AuditRecord) -> Entry {
    let or_kind = |kind: &Option<String>, id: &Option<String>| match (kind, id) {
        (Some(kind), Some(id)) => format!("{kind} {id}"),
        (Some(kind), None) => kind.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => String::new(),
    };
    (
        when(record.at),
        record.action.clone(),
        or_kind(&Some(record.actor_kind.clone()), &record.actor_id),
        or_kind(&record.target_kind, &record.target_id),
        record.outcome.clone(),
        record.client_ip.clone().unwrap_or_default(),
        if record.details.is_null() {
            String::new()
        } else {
            record.details.to_string()
        },
    )
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    frame: Frame,
    filters: AuditFilters,
    actions: Vec<&'static str>,
    outcomes: [&'static str; 3],
    csv_link: String,
    entries: Vec<Entry>,
    pager: Pager,
    closing_in: Option<i64>,
}

/// `GET /admin/audit`.
pub async fn audit_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(filters): PageQuery<AuditFilters>,
) -> Response {
    let outcome = async {
        let reader = console.principal.admin_read()?;
        let mut frame = console.frame("audit");
        let query = filters.query().unwrap_or_else(|err| {
            frame.error = Some(super::refusal_text(&err));
            AuditQuery::default()
        });
        let list = state
            .core
            .audit()
            .list(&reader, &query, page_request(filters.page))
            .await?;
        let link = filters.link();
        Ok::<_, Error>(page(&AuditPage {
            frame,
            actions: AuditAction::ALL.iter().map(|a| a.as_str()).collect(),
            outcomes: OUTCOMES,
            csv_link: format!("/admin/audit.csv?{link}"),
            entries: list.items.iter().map(entry).collect(),
            pager: Pager::of(&list, format!("/admin/audit?{link}")),
            filters,
            closing_in: None,
        }))
    }
    .await;
    outcome.unwrap_or_else(|err| refused(&err, "/admin"))
}

/// `GET /admin/audit.csv`: the entries the filters select, newest first, at most [`csv::MAX_ROWS`].
pub async fn audit_csv(
    State(state): State<AppState>,
    console: Console,
    PageQuery(filters): PageQuery<AuditFilters>,
) -> Response {
    let outcome = async {
        let reader = console.principal.admin_read()?;
        let query = filters.query()?;
        let mut csv = Csv::new("at,action,actor,target,outcome,client_ip,details");
        for request in csv::pages() {
            let list = state.core.audit().list(&reader, &query, request).await?;
            let rows = list
                .items
                .iter()
                .map(|record| {
                    let (_, action, actor, target, outcome, ip, details) = entry(record);
                    vec![
                        record.at.to_string(),
                        action,
                        actor,
                        target,
                        outcome,
                        ip,
                        details,
                    ]
                })
                .collect();
            if csv.rows(&request, rows, list.total) {
                break;
            }
        }
        Ok::<_, Error>(csv)
    }
    .await;
    match outcome {
        Ok(csv) => csv.answer("attachment; filename=\"audit-log.csv\""),
        Err(err) => refused(&err, "/admin/audit"),
    }
}
