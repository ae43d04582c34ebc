//! The HTML every part of the gateway answers with: the security headers and content security
//! policy of every page, a rendered template, a page that says one thing, and the closed page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

/// The content security policy of every page; `form-action` is completed per page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers of every page.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-frame-options", "DENY"),
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

/// A rendered page with the security headers.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    let body = template.render().unwrap_or_else(|err| {
        tracing::error!(%err, "a page failed to render");
        "<!doctype html><title>Error</title><h1>Something went wrong</h1>".into()
    });
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    response
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message {
    pub heading: String,
    pub message: String,
    pub is_error: bool,
    pub link: Option<(String, String)>,
    pub closing_in: Option<i64>,
}

/// Lets the page's forms lead (by redirect) to `origin` as well: browsers apply `form-action` to
/// where a submitted form's redirects go, and the login page ends on the service's own host.
pub fn allow_form_target(response: &mut Response, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("{CSP} {origin}")) {
        response
            .headers_mut()
            .insert("content-security-policy", value);
    }
}

/// A page that says one thing.
pub fn message(
    status: StatusCode,
    heading: &str,
    message: &str,
    link: Option<(String, String)>,
) -> Response {
    render(
        &Message {
            heading: heading.into(),
            message: message.into(),
            is_error: !status.is_success(),
            link,
            closing_in: None,
        },
        status,
    )
}

/// The HTML of a page that says one thing, for answers the edge writes itself.
pub fn message_html(heading: &str, text: &str) -> String {
    Message {
        heading: heading.into(),
        message: text.into(),
        is_error: true,
        link: None,
        closing_in: None,
    }
    .render()
    .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "closed.html")]
struct Closed {
    opens_at: Option<String>,
    at_local: String,
    closing_in: Option<i64>,
    /// The weekly hours, day by day (Monday first), so a closed system says when it is open.
    weekly: Vec<(&'static str, String)>,
    timezone: String,
}

/// The weekly hours of `schedule` for people: each day, Monday first, with its hours or closed.
fn weekly_hours(schedule: &auth_core::schedule::Schedule) -> Vec<(&'static str, String)> {
    [
        ("mon", "Monday"),
        ("tue", "Tuesday"),
        ("wed", "Wednesday"),
        ("thu", "Thursday"),
        ("fri", "Friday"),
        ("sat", "Saturday"),
        ("sun", "Sunday"),
    ]
    .into_iter()
    .map(|(key, day)| {
        let hours = schedule
            .weekly
            .get(key)
            .map(|h| format!("{} to {}", h.open, h.close))
            .unwrap_or_else(|| "closed".into());
        (day, hours)
    })
    .collect()
}

/// The page a browser gets while the system is closed.
pub fn closed(opens_at: Option<Timestamp>, schedule: &auth_core::schedule::Schedule) -> String {
    let timezone = schedule.timezone.as_str();
    let at_local = opens_at
        .and_then(|at| {
            jiff::tz::TimeZone::get(timezone)
                .ok()
                .map(|tz| at.to_zoned(tz))
        })
        .map(|z| z.strftime("%A %-d %B %Y, %H:%M %Z").to_string())
        .unwrap_or_default();
    Closed {
        opens_at: opens_at.map(|t| t.to_string()),
        at_local,
        closing_in: None,
        weekly: weekly_hours(schedule),
        timezone: timezone.to_string(),
    }
    .render()
    .unwrap_or_else(|_| "<!doctype html><title>Closed</title><h1>Closed</h1>".into())
}
