//! `/admin/history`: the login history, filtered by person, service, method, outcome and period
//! (UTC days, the last 7 by default). It answers the question admins ask ("how often did John use
//! ServiceB this week?") in a table per person and service, draws successful logins per day and
//! service as an SVG chart drawn here (no script), lists the attempts, and exports them as CSV
//! (`/admin/history.csv`, the same filters).

use askama::Template;
use auth_core::Error;
use auth_core::login_history::{GroupBy, HistoryQuery};
use auth_core::sessions::LoginMethod;
use axum::extract::State;
use axum::response::Response;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use super::csv::{self, Csv};
use super::{Console, Frame, Pager, page, page_request, refused, when};
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

/// Days the chart draws at most (the end of a longer period).
const CHART_DAYS: i64 = 62;

/// The filters as typed, kept to fill the form again.
#[derive(Deserialize, Default, Clone)]
pub struct HistoryFilters {
    #[serde(default)]
    user: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    outcome: String,
    /// "", "password", "qr" or "pat".
    #[serde(default)]
    method: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<u32>,
}

/// The filters, read: the query, the first and last day, and what was wrong with them.
struct Period {
    query: HistoryQuery,
    first: Date,
    last: Date,
}

pub(super) fn day(text: &str, field: &str) -> Result<Option<Date>, Error> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<Date>()
            .map(Some)
            .map_err(|_| Error::invalid(field, "is not a day written YYYY-MM-DD")),
    }
}

pub(super) fn start_of(day: Date) -> Result<Timestamp, Error> {
    day.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(Error::internal)
}

/// The end of `day` (UTC): the start of the next, for periods whose last day is included.
pub(super) fn end_of(day: Date) -> Result<Timestamp, Error> {
    start_of(day.saturating_add(1.day()))
}

fn period(filters: &HistoryFilters, now: Timestamp) -> Result<Period, Error> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let last = day(&filters.to, "to")?.unwrap_or(today);
    let first = day(&filters.from, "from")?.unwrap_or(last.saturating_sub(6.days()));
    if first > last {
        return Err(Error::invalid("from", "is after the last day"));
    }
    let success = match filters.outcome.as_str() {
        "" => None,
        "success" => Some(true),
        "failure" => Some(false),
        _ => return Err(Error::invalid("outcome", "is not success or failure")),
    };
    let method = match filters.method.as_str() {
        "" => None,
        "password" => Some(LoginMethod::Password),
        "qr" => Some(LoginMethod::Qr),
        "pat" => Some(LoginMethod::Pat),
        _ => return Err(Error::invalid("method", "is not password, qr or pat")),
    };
    let text = |t: &str| (!t.trim().is_empty()).then(|| t.trim().to_string());
    Ok(Period {
        query: HistoryQuery {
            username: text(&filters.user),
            service: text(&filters.service),
            success,
            method,
            from: Some(start_of(first)?),
            to: Some(end_of(last)?),
            ..HistoryQuery::default()
        },
        first,
        last,
    })
}

#[derive(Template)]
#[template(path = "console_history.html")]
struct HistoryPage {
    frame: Frame,
    filters: HistoryFilters,
    services: Vec<(String, String)>,
    period: String,
    csv_link: String,
    /// Person, service, logins, failures.
    summary: Vec<(String, String, i64, i64)>,
    chart: String,
    /// Colour and name of each service in the chart.
    legend: Vec<(&'static str, String)>,
    /// The services the chart's counts are of, in column order.
    series: Vec<String>,
    /// Day, count per service of `series`, total.
    days: Vec<(String, Vec<i64>, i64)>,
    /// When, person, service, method, outcome, address.
    attempts: Vec<(String, String, String, String, String, String)>,
    pager: Pager,
    closing_in: Option<i64>,
}

fn filters_query(filters: &HistoryFilters) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("user", &filters.user)
        .append_pair("service", &filters.service)
        .append_pair("outcome", &filters.outcome)
        .append_pair("method", &filters.method)
        .append_pair("from", &filters.from)
        .append_pair("to", &filters.to);
    url.finish()
}

/// `GET /admin/history`.
pub async fn history_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(filters): PageQuery<HistoryFilters>,
) -> Response {
    match render(&state, &console, filters).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin/history"),
    }
}

async fn render(
    state: &AppState,
    console: &Console,
    filters: HistoryFilters,
) -> Result<Response, Error> {
    let reader = console.principal.admin_read()?;
    let core = &state.core;
    let mut frame = console.frame("history");
    let period = match period(&filters, core.clock().now()) {
        Ok(period) => period,
        Err(err) => {
            frame.error = Some(super::refusal_text(&err));
            period(&HistoryFilters::default(), core.clock().now())?
        }
    };
    let history = core.login_history();
    let both = GroupBy {
        user: true,
        service: true,
    };
    let summary = history
        .summary(&reader, &period.query, both)
        .await?
        .into_iter()
        .map(|row| {
            (
                row.username.unwrap_or_else(|| "(unknown name)".into()),
                row.service.unwrap_or_else(|| "account".into()),
                row.logins,
                row.failures,
            )
        })
        .collect();
    let list = history
        .list(&reader, &period.query, page_request(filters.page))
        .await?;
    let attempts = list
        .items
        .iter()
        .map(|h| {
            (
                when(h.at),
                h.username.clone().unwrap_or_default(),
                h.service.clone().unwrap_or_else(|| "account".into()),
                h.method.clone(),
                if h.success {
                    "success".to_string()
                } else {
                    format!("failed: {}", h.failure_reason.clone().unwrap_or_default())
                },
                h.client_ip.clone().unwrap_or_default(),
            )
        })
        .collect();
    let services: Vec<(String, String)> = core
        .services()
        .list()
        .await?
        .into_iter()
        .map(|s| (s.slug, s.name))
        .collect();
    let per_day = per_day(state, &reader, &period, &services).await?;
    let query = filters_query(&filters);
    Ok(page(&HistoryPage {
        frame,
        period: format!(
            "From {} to {} (UTC), both included",
            period.first, period.last
        ),
        csv_link: format!("/admin/history.csv?{query}"),
        pager: Pager::of(&list, format!("/admin/history?{query}")),
        chart: chart(&per_day),
        legend: per_day.legend(),
        days: per_day
            .days
            .iter()
            .map(|(d, counts)| (d.to_string(), counts.clone(), PerDay::total(counts)))
            .collect(),
        series: per_day.series.clone(),
        filters,
        services,
        summary,
        attempts,
        closing_in: None,
    }))
}

/// Bar colours of the services in the chart, in turn; each keeps 3:1 against white.
const SERIES_COLOURS: [&str; 6] = [
    "#0b4fc2", "#b35c00", "#1b7f4b", "#a3277a", "#5c6670", "#7a5c00",
];

/// Successful logins per day and service over the period's last [`CHART_DAYS`] days.
struct PerDay {
    /// The services that had logins, by name, in the order of their colours.
    series: Vec<String>,
    /// Each day with its count per entry of `series`.
    days: Vec<(Date, Vec<i64>)>,
}

impl PerDay {
    fn total(counts: &[i64]) -> i64 {
        counts.iter().sum()
    }

    /// The service's colour and name, for the legend.
    fn legend(&self) -> Vec<(&'static str, String)> {
        self.series
            .iter()
            .enumerate()
            .map(|(i, name)| (SERIES_COLOURS[i % SERIES_COLOURS.len()], name.clone()))
            .collect()
    }
}

async fn per_day(
    state: &AppState,
    reader: &auth_core::access::AdminRead,
    period: &Period,
    names: &[(String, String)],
) -> Result<PerDay, Error> {
    let mut first = period.first;
    if (period.last - first).get_days() as i64 >= CHART_DAYS {
        first = period.last.saturating_sub((CHART_DAYS - 1).days());
    }
    let history = state.core.login_history();
    let by_service = GroupBy {
        user: false,
        service: true,
    };
    let mut counted: Vec<(Date, Vec<(String, i64)>)> = Vec::new();
    let mut day = first;
    while day <= period.last {
        let query = HistoryQuery {
            from: Some(start_of(day)?),
            to: Some(end_of(day)?),
            success: Some(true),
            ..period.query.clone()
        };
        let rows = history.summary(reader, &query, by_service).await?;
        let counts = rows
            .into_iter()
            .filter(|row| row.logins > 0)
            .map(|row| {
                let name = match row.service {
                    Some(slug) => names
                        .iter()
                        .find(|(s, _)| *s == slug)
                        .map_or(slug.clone(), |(_, name)| name.clone()),
                    None => "Account".to_string(),
                };
                (name, row.logins)
            })
            .collect();
        counted.push((day, counts));
        day = day.saturating_add(1.day());
    }
    let mut series: Vec<String> = counted
        .iter()
        .flat_map(|(_, counts)| counts.iter().map(|(name, _)| name.clone()))
        .collect();
    series.sort();
    series.dedup();
    let days = counted
        .into_iter()
        .map(|(day, counts)| {
            let row = series
                .iter()
                .map(|name| {
                    counts
                        .iter()
                        .filter(|(n, _)| n == name)
                        .map(|(_, c)| *c)
                        .sum()
                })
                .collect();
            (day, row)
        })
        .collect();
    Ok(PerDay { series, days })
}

/// Bars of `per_day`, one per day, stacked by service in the legend's colours, as SVG; its
/// figures are in the table beside it, for screen readers.
fn chart(per_day: &PerDay) -> String {
    let width = 600.0;
    let height = 160.0;
    let days = &per_day.days;
    let top = days
        .iter()
        .map(|(_, counts)| PerDay::total(counts))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = width / days.len().max(1) as f64;
    let mut bars = String::new();
    for (i, (day, counts)) in days.iter().enumerate() {
        let x = i as f64 * slot + slot * 0.15;
        let mut base = height - 20.0;
        for (s, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let bar = (*count as f64 / top) * (height - 30.0);
            base -= bar;
            bars.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{base:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" \
                 fill=\"{}\"><title>{day}, {}: {count}</title></rect>",
                slot * 0.7,
                SERIES_COLOURS[s % SERIES_COLOURS.len()],
                escaped(&per_day.series[s]),
            ));
        }
        if days.len() <= 14 || i % (days.len() / 7).max(1) == 0 {
            bars.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + slot * 0.35,
                height - 6.0,
                day.strftime("%m-%d")
            ));
        }
    }
    format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Successful logins per day \
         and service\" xmlns=\"http://www.w3.org/2000/svg\"><line class=\"axis\" x1=\"0\" \
         y1=\"{y}\" x2=\"{width}\" y2=\"{y}\"/>{bars}</svg>",
        y = height - 20.0
    )
}

/// `text` safe inside SVG markup written by hand.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /admin/history.csv`: the attempts the filters select, newest first, at most
/// [`csv::MAX_ROWS`].
pub async fn history_csv(
    State(state): State<AppState>,
    console: Console,
    PageQuery(filters): PageQuery<HistoryFilters>,
) -> Response {
    let outcome = async {
        let reader = console.principal.admin_read()?;
        let period = period(&filters, state.core.clock().now())?;
        let mut csv =
            Csv::new("at,username,service,method,success,failure_reason,client_ip,user_agent");
        for request in csv::pages() {
            let list = state
                .core
                .login_history()
                .list(&reader, &period.query, request)
                .await?;
            let rows = list
                .items
                .into_iter()
                .map(|h| {
                    vec![
                        h.at.to_string(),
                        h.username.unwrap_or_default(),
                        h.service.unwrap_or_default(),
                        h.method,
                        h.success.to_string(),
                        h.failure_reason.unwrap_or_default(),
                        h.client_ip.unwrap_or_default(),
                        h.user_agent.unwrap_or_default(),
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
        Ok(csv) => csv.answer("attachment; filename=\"login-history.csv\""),
        Err(err) => refused(&err, "/admin/history"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_period_is_the_last_seven_days_and_bad_days_are_named() {
        let now: Timestamp = "2030-01-09T10:00:00Z".parse().unwrap();
        let period = period(&HistoryFilters::default(), now).unwrap();
        assert_eq!(period.first.to_string(), "2030-01-03");
        assert_eq!(period.last.to_string(), "2030-01-09");
        assert_eq!(
            period.query.to,
            Some("2030-01-10T00:00:00Z".parse().unwrap())
        );
        let bad = HistoryFilters {
            from: "yesterday".into(),
            ..HistoryFilters::default()
        };
        assert!(matches!(period_err(&bad, now), Error::Validation(f) if f[0].field == "from"));
    }

    fn period_err(filters: &HistoryFilters, now: Timestamp) -> Error {
        match period(filters, now) {
            Ok(_) => panic!("accepted"),
            Err(err) => err,
        }
    }
}
