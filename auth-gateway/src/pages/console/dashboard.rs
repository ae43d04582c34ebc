//! `GET /admin`: the system at a glance. Every figure is one indexed query or a count the store
//! keeps (the pending queue's total, the history's counts over a period, the mail queue's depth).

use askama::Template;
use auth_core::audit::{AuditAction, AuditQuery};
use auth_core::login_history::{GroupBy, HistoryQuery, SummaryRow};
use auth_core::page::PageRequest;
use axum::extract::State;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};

use super::{Console, Frame, page, refused, when};
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "console_dashboard.html")]
struct Dashboard {
    frame: Frame,
    open: bool,
    warning: bool,
    hours_text: String,
    pending_count: i64,
    pending_oldest: Option<String>,
    failures_last_hour: i64,
    lockouts_last_hour: i64,
    mail_waiting: i64,
    mail_failed: i64,
    health: Vec<(&'static str, bool, String)>,
    logins: Vec<ServiceRow>,
    closing_in: Option<i64>,
}

/// One service's figures: people signed in now, successful logins today and in 7 days.
struct ServiceRow {
    name: String,
    /// The service's slug, when it is a registered service (its sessions can be listed).
    audience: Option<String>,
    live: u64,
    today: i64,
    week: i64,
}

/// The successful logins at `service` in a summary grouped by service.
fn logins_of(rows: &[SummaryRow], service: Option<&str>) -> i64 {
    rows.iter()
        .find(|row| row.service.as_deref() == service)
        .map_or(0, |row| row.logins)
}

/// A time in the schedule's zone, as people there read it.
fn local(at: Timestamp, zone: &str) -> String {
    match jiff::tz::TimeZone::get(zone) {
        Ok(tz) => at.to_zoned(tz).strftime("%A %H:%M %Z").to_string(),
        Err(_) => when(at),
    }
}

/// `GET /admin`.
pub async fn dashboard(State(state): State<AppState>, console: Console) -> Response {
    match render(&state, &console).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin"),
    }
}

async fn render(state: &AppState, console: &Console) -> Result<Response, auth_core::Error> {
    let core = &state.core;
    let reader = console.principal.admin_read()?;
    let now = core.clock().now();
    let schedule = core.schedule().current();
    let status = schedule.status_at(now);
    let hours_text = match (status.open, status.closes_at, status.opens_at) {
        (true, Some(at), _) => format!("Until {}.", local(at, &schedule.timezone)),
        (true, None, _) => "No closing time ahead.".to_string(),
        (false, _, Some(at)) => format!("Opens {}.", local(at, &schedule.timezone)),
        (false, _, None) => "Not opening in the next year.".to_string(),
    };
    let oldest_first = core
        .accounts()
        .pending(
            &reader,
            PageRequest {
                page: 1,
                per_page: 1,
            },
        )
        .await?;
    let last_hour = HistoryQuery {
        from: Some(now - SignedDuration::from_hours(1)),
        ..HistoryQuery::default()
    };
    let history = core.login_history();
    let failures_last_hour = history
        .summary(&reader, &last_hour, GroupBy::default())
        .await?
        .iter()
        .map(|row| row.failures)
        .sum();
    let lockouts_last_hour = core
        .audit()
        .list(
            &reader,
            &AuditQuery {
                action: Some(AuditAction::UserLocked.as_str().into()),
                from: last_hour.from,
                ..AuditQuery::default()
            },
            PageRequest {
                page: 1,
                per_page: 1,
            },
        )
        .await?
        .total;
    let by_service = GroupBy {
        user: false,
        service: true,
    };
    let midnight = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let since = |from: Timestamp| HistoryQuery {
        from: Some(from),
        success: Some(true),
        ..HistoryQuery::default()
    };
    let week = history
        .summary(
            &reader,
            &since(now - SignedDuration::from_hours(24 * 7)),
            by_service,
        )
        .await?;
    let today = history
        .summary(&reader, &since(midnight), by_service)
        .await?;
    let sessions = core.sessions();
    let mut logins = Vec::new();
    for service in core.services().list().await? {
        logins.push(ServiceRow {
            live: sessions.live_count(&reader, &service.slug).await?,
            today: logins_of(&today, Some(&service.slug)),
            week: logins_of(&week, Some(&service.slug)),
            audience: Some(service.slug),
            name: service.name,
        });
    }
    // Logins at no service (the account pages and the phone) and at services since removed.
    for row in &week {
        let known = row
            .service
            .as_deref()
            .is_some_and(|slug| logins.iter().any(|l| l.audience.as_deref() == Some(slug)));
        if !known {
            logins.push(ServiceRow {
                name: row
                    .service
                    .clone()
                    .unwrap_or_else(|| "Account and phone".into()),
                audience: None,
                live: 0,
                today: logins_of(&today, row.service.as_deref()),
                week: row.logins,
            });
        }
    }
    let mail = core.mail_queue_depth().await?;
    let health = core.health().await;
    let mut components = vec![(
        "Database",
        health.database.up,
        health.database.backend.to_string(),
    )];
    if let Some(redis) = &health.redis {
        components.push(("Redis", redis.up, redis.backend.to_string()));
    }
    Ok(page(&Dashboard {
        frame: console.frame("dashboard"),
        open: status.open,
        warning: status.warning,
        hours_text,
        pending_count: oldest_first.total,
        pending_oldest: oldest_first.items.first().map(|u| when(u.created_at)),
        failures_last_hour,
        lockouts_last_hour,
        mail_waiting: mail.waiting,
        mail_failed: mail.failed,
        health: components,
        logins,
        closing_in: None,
    }))
}
