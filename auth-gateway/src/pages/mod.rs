//! The gateway's pages for people: server-rendered from templates in `auth-gateway/templates`,
//! small, with no external assets and no inline script, and sent with headers that keep them out
//! of frames and limit what they may load.
//!
//! - `login`: `/login`, where a browser shows the QR code and takes the PIN;
//! - `phone`: `/m/scan`, what the QR code opens on the phone;
//! - `mail_links`: the pages the verification and reset mails link to;
//! - `api_docs`: `/api/docs`, the API reference rendered from the OpenAPI document;
//! - `assets`: the stylesheet and the one script.

mod api_docs;
mod assets;
mod login;
mod mail_links;
mod phone;

use askama::Template;
use axum::Router;
use axum::extract::Form;
use axum::extract::rejection::FormRejection;
use axum::handler::Handler;
use axum::http::Method;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use jiff::Timestamp;

use crate::state::AppState;

pub use login::callback_url;

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

/// The page routes as a router and as a list, built by the same calls so the two cannot differ.
struct PageRoutes {
    router: Router<AppState>,
    served: Vec<(Method, &'static str)>,
}

impl PageRoutes {
    fn new() -> Self {
        PageRoutes {
            router: Router::new(),
            served: Vec::new(),
        }
    }

    fn on<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = if method == Method::POST {
            MethodFilter::POST
        } else {
            MethodFilter::GET
        };
        self.router = self.router.route(path, on(filter, handler));
        self.served.push((method, path));
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.on(Method::GET, path, handler)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.on(Method::POST, path, handler)
    }
}

fn page_routes() -> PageRoutes {
    PageRoutes::new()
        .get("/login", login::page)
        .post("/login/verify", login::verify)
        .get("/login/status", login::status)
        .get("/m/scan", phone::page)
        .post("/m/scan", phone::confirm)
        .post("/m/login", phone::sign_in)
        .get("/verify-email", mail_links::verify_page)
        .post("/verify-email", mail_links::verify)
        .get("/reset-password", mail_links::reset_page)
        .post("/reset-password", mail_links::reset)
        .get("/assets/{file}", assets::serve)
        .get("/api/docs", api_docs::page)
}

/// The page routes, served on the gateway's own hosts.
pub fn routes() -> Router<AppState> {
    page_routes().router
}

/// Every page route as (method, path pattern).
pub fn served_routes() -> Vec<(Method, &'static str)> {
    page_routes().served
}

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

/// The gateway's public URL (validated at start-up).
pub fn public_url(state: &AppState) -> url::Url {
    url::Url::parse(&state.core.config().gateway.public_url)
        .expect("gateway.public_url was validated")
}

/// Why a posted form is not used; answers as a page headed with what could not be done.
pub enum FormRefused {
    Incomplete(&'static str),
    FromAnotherSite(&'static str),
}

impl IntoResponse for FormRefused {
    fn into_response(self) -> Response {
        let (status, heading, text) = match self {
            FormRefused::Incomplete(heading) => {
                (StatusCode::BAD_REQUEST, heading, "The form was incomplete.")
            }
            FormRefused::FromAnotherSite(heading) => (
                StatusCode::FORBIDDEN,
                heading,
                "The form came from another site.",
            ),
        };
        message(status, heading, text, None)
    }
}

/// The fields of a posted form.
pub fn posted<T>(
    form: Result<Form<T>, FormRejection>,
    heading: &'static str,
) -> Result<T, FormRefused> {
    form.map(|Form(fields)| fields)
        .map_err(|_| FormRefused::Incomplete(heading))
}

/// [`posted`], for a form that only the gateway's own pages may send.
pub fn posted_here<T>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
    heading: &'static str,
) -> Result<T, FormRefused> {
    let fields = posted(form, heading)?;
    if !same_origin(headers, &public_url(state)) {
        return Err(FormRefused::FromAnotherSite(heading));
    }
    Ok(fields)
}

/// Whether a form post comes from our own pages: browsers send `Origin` with every POST, and a
/// foreign one is refused (SameSite=Lax cookies already keep cross-site posts anonymous).
pub fn same_origin(headers: &HeaderMap, public_url: &url::Url) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            origin == public_url.origin().ascii_serialization()
                || origin.ends_with(&format!("://{host}"))
        }
    }
}

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

/// "Try again after …" for a lock that ends at `until`, in minutes from `now`.
pub fn wait_until(until: Timestamp, now: Timestamp) -> String {
    let minutes = (until.duration_since(now).as_secs() + 59) / 60;
    match minutes {
        ..=1 => "Wait a minute, then try again.".to_string(),
        n => format!("Wait {n} minutes, then try again."),
    }
}

/// The closing warning for pages rendered by handlers (the edge adds the header itself).
pub fn closing_in(state: &AppState) -> Option<i64> {
    let status = state
        .core
        .schedule()
        .current()
        .status_at(state.core.clock().now());
    if status.warning {
        status.seconds_until_close
    } else {
        None
    }
}
