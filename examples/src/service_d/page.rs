//! ServiceD's pages: askama templates (`examples/templates/service_d`), sent with a strict content
//! security policy (its one script and stylesheet, nothing inline), its cookies, and the check
//! that a posted form comes from its own origin.

use std::time::{Duration, SystemTime};

use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every page's policy: its own script and style only, no frames, forms to itself.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

const STYLE: &str = include_str!("../../assets/service_d/style.css");
const LOGIN_JS: &str = include_str!("../../assets/service_d/login.js");

/// A page that says one thing (closed, unreachable, not found).
#[derive(Template)]
#[template(path = "service_d/message.html")]
pub(crate) struct Message<'a> {
    pub(crate) heading: &'a str,
    pub(crate) text: &'a str,
    pub(crate) link: Option<(&'a str, &'a str)>,
}

/// `template` rendered, with the page headers and `status`.
pub(crate) fn render(template: &impl Template, status: StatusCode) -> Response {
    let body = template.render().unwrap_or_else(|err| {
        tracing::error!(%err, "a page failed to render");
        "<!doctype html><html lang=\"en\"><title>Error</title><h1>Something went wrong</h1>".into()
    });
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}

/// A page that says one thing.
pub(crate) fn message(
    status: StatusCode,
    heading: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    render(
        &Message {
            heading,
            text,
            link,
        },
        status,
    )
}

/// 404 for every other path.
pub(crate) async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.",
        Some(("/", "Go to ServiceD")),
    )
}

/// The stylesheet and the login page's script.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "login.js" => (LOGIN_JS, "text/javascript; charset=utf-8"),
        _ => return not_found().await,
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The value of cookie `name` in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Sets cookie `name` to `value` for `max_age` (`HttpOnly`, `SameSite=Lax`, host-only), or
/// clears it when `value` is empty.
pub(crate) fn set_cookie(
    response: &mut Response,
    name: &str,
    value: &str,
    max_age: Duration,
    secure: bool,
) {
    let max_age = if value.is_empty() {
        0
    } else {
        max_age.as_secs()
    };
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Whether a posted form may be acted on: a browser names the page's origin in `Origin`; one
/// from another site is refused (the cookies are `SameSite=Lax` as well).
pub(crate) fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
        None => true,
        Some(Ok(sent)) => sent == origin,
        Some(Err(_)) => false,
    }
}

/// A redirect after a form (303, so the browser follows with GET).
pub(crate) fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `time` as people read it, in UTC.
pub(crate) fn when(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map(|t| t.strftime("%A %Y-%m-%d at %H:%M UTC").to_string())
        .unwrap_or_else(|_| "later".into())
}

/// `duration` as minutes and seconds, `m:ss`.
pub(crate) fn minutes(duration: Duration) -> String {
    let secs = duration.as_secs();
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_from_another_origin_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers, "http://service-d.localhost:8083"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://service-d.localhost:8083"),
        );
        assert!(same_origin(&headers, "http://service-d.localhost:8083"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers, "http://service-d.localhost:8083"));
    }

    #[test]
    fn cookies_are_http_only_lax_and_cleared_with_max_age_zero() {
        let mut response = StatusCode::OK.into_response();
        set_cookie(&mut response, "s", "tok", Duration::from_secs(60), false);
        set_cookie(&mut response, "l", "", Duration::from_secs(60), true);
        let set: Vec<_> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert_eq!(set[0], "s=tok; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        assert_eq!(
            set[1],
            "l=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
