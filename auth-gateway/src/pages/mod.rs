//! The gateway's pages for people: server-rendered from templates in `auth-gateway/templates`,
//! small, with no external assets and no inline script, and sent with headers that keep them out
//! of frames and limit what they may load.
//!
//! - `login`: `/login`, where a browser shows the QR code and takes the PIN;
//! - `phone`: `/m/scan`, what the QR code opens on the phone;
//! - `mail_links`: the pages the verification and reset mails link to;
//! - `register`, `forgot`: creating an account, asking for a reset link;
//! - `account`: a person's own account, sessions, tokens and logins;
//! - `console`: `/admin`, the admin console;
//! - `api_docs`: `/api/docs`, the API reference rendered from the OpenAPI document;
//! - `assets`: the stylesheet and the one script.

mod account;
mod api_docs;
mod assets;
mod console;
mod forgot;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod login;
mod mail_links;
mod phone;
mod register;

use axum::Router;
use axum::extract::Form;
use axum::extract::rejection::FormRejection;
use axum::handler::Handler;
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use jiff::Timestamp;

use crate::web::state::AppState;

pub use login::callback_url;

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
        .get("/register", register::page)
        .post("/register", register::register)
        .get("/forgot-password", forgot::page)
        .post("/forgot-password", forgot::ask)
        .get("/account", account::page)
        .post("/account/sign-in", account::sign_in)
        .post("/account/sign-out", account::sign_out)
        .post("/account/profile", account::update_profile)
        .post("/account/password", account::change_password)
        .post("/account/email", account::change_email)
        .get("/account/email/confirm", account::confirm_email_page)
        .post("/account/email/confirm", account::confirm_email)
        .post("/account/delete", account::delete_account)
        .get("/account/sessions", account::sessions_page)
        .post("/account/sessions/end", account::end_session)
        .post("/account/sign-out-everywhere", account::sign_out_everywhere)
        .get("/account/tokens", account::tokens_page)
        .post("/account/tokens", account::create_token)
        .post("/account/tokens/revoke", account::revoke_token)
        .get("/account/logins", account::logins_page)
        .get("/admin/login", console::login_page)
        .post("/admin/login", console::password)
        .get("/admin/login/code", console::code_page)
        .post("/admin/login/code", console::code)
        .post("/admin/sign-out", console::sign_out)
        .get("/admin", console::dashboard)
        .get("/admin/pending", console::pending_page)
        .post("/admin/pending/decide", console::decide)
        .get("/admin/users", console::users_page)
        .get("/admin/users/{id}", console::user_page)
        .post("/admin/users/{id}/action", console::user_action)
        .post("/admin/users/{id}/edit", console::edit_user)
        .post("/admin/users/{id}/sessions/end", console::end_user_session)
        .post(
            "/admin/users/{id}/tokens/revoke",
            console::revoke_user_token,
        )
        .get("/admin/history", console::history_page)
        .get("/admin/history.csv", console::history_csv)
        .get("/admin/services", console::services_page)
        .post("/admin/services", console::register_service)
        .post("/admin/services/{slug}/action", console::service_action)
        .get("/admin/services/{slug}", console::service_page)
        .post("/admin/services/{slug}", console::save_service)
        .get("/admin/sessions", console::sessions_page)
        .post("/admin/sessions/end", console::end_sessions)
        .get("/admin/audit", console::audit_page)
        .get("/admin/audit.csv", console::audit_csv)
        .get("/admin/staff", console::staff_page)
        .post("/admin/staff", console::invite)
        .get("/admin/welcome", console::welcome_page)
        .post("/admin/welcome", console::welcome)
        .post("/admin/staff/{id}/action", console::staff_action)
        .get("/admin/schedule", console::schedule_page)
        .post("/admin/schedule", console::save_schedule)
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

/// The gateway's public URL (validated at start-up).
#[allow(
    clippy::expect_used,
    reason = "config validation refuses a gateway.public_url that does not parse"
)]
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
        crate::web::page::message(status, heading, text, None)
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

/// A redirect to `target` that signs the browser in with `tokens` (the access and refresh
/// cookies), for the account and phone sign-in forms.
pub fn signed_in_redirect(
    state: &AppState,
    target: &str,
    tokens: &auth_core::credentials::LoginTokens,
    secure: bool,
) -> Response {
    let config = &state.core.config().tokens;
    let mut response = axum::response::Redirect::to(target).into_response();
    for cookie in crate::web::cookies::set_tokens(
        &crate::web::cookies::Jar::new(secure),
        &tokens.access_token,
        config.access_ttl_secs,
        &tokens.refresh_token,
        config.refresh_ttl_secs,
    ) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The status a page answers a refusal with: the one the API would answer.
pub fn status_of(err: &auth_core::Error) -> StatusCode {
    StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// What a password sign-in form says when the login is refused.
pub fn password_refusal(state: &AppState, err: &auth_core::Error) -> String {
    match err {
        auth_core::Error::InvalidCredentials => "That login or password is not right.".to_string(),
        auth_core::Error::AccountLocked { until } => format!(
            "Too many wrong passwords. {}",
            wait_until(*until, state.core.clock().now())
        ),
        other => other.public_message(),
    }
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
