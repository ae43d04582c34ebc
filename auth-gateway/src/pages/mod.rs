//! The gateway's pages for people: server-rendered from templates in `auth-gateway/templates`,
//! small, with no external assets and no inline script, and sent with headers that keep them out
//! of frames and limit what they may load.

use askama::Template;
use jiff::Timestamp;

/// Headers of every page.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

#[derive(Template)]
#[template(path = "closed.html")]
struct Closed {
    opens_at: Option<String>,
    at_local: String,
    closing_in: Option<i64>,
}

/// The page a browser gets while the system is closed.
pub fn closed(opens_at: Option<Timestamp>, timezone: &str) -> String {
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
    }
    .render()
    .unwrap_or_else(|_| "<!doctype html><title>Closed</title><h1>Closed</h1>".into())
}
