//! `/admin`: the admin console, on the gateway's own host. Every page reads, and every form
//! changes, through the auth-core operations the admin API calls, with the leave auth-core gives
//! the signed-in admin: role `support` sees every page without the buttons, and its posts are
//! refused by auth-core's capability check all the same.
//!
//! The session is the `auth_console` cookie (HttpOnly, SameSite=Strict, `__Host-` over TLS),
//! accepted at the console and nowhere else; auth-core ends it 15 minutes after the last request
//! and 8 hours after the sign-in. Every form carries the session's CSRF token and must come from
//! the gateway's own origin.
//!
//! - `sign_in`: the password, then the code (enrolling an authenticator the first time);
//! - `dashboard`: the state of the system at a glance;
//! - `pending`: the approval queue, one or several at once;
//! - `users`: finding a user, a user's page and the actions on it;
//! - `services`: the services, their state, upstream health and keys, and registering one;
//! - `service_edit`: one service's settings (how it is reached, its closing warning);
//! - `sessions`: everyone signed in now, by service, and ending their sessions;
//! - `history`: the login history, counted per person and service, charted, exported;
//! - `audit`: the audit log, filtered, exported;
//! - `schedule`: the operating hours, with a preview of the next two weeks;
//! - `staff`: the admins and support staff, and inviting one;
//! - `welcome`: where an invited person chooses a password with the mailed link.

mod audit;
mod csv;
mod dashboard;
mod form;
mod history;
mod pending;
mod schedule;
mod service_edit;
mod services;
mod sessions;
mod sign_in;
mod staff;
mod users;
mod welcome;

use auth_core::Error;
use auth_core::accounts::User;
use auth_core::admins::Admin;
use auth_core::credentials::{AdminWrite, Place, Principal};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

pub use audit::{audit_csv, audit_page};
pub use dashboard::dashboard;
pub use form::ConsoleForm;
pub use history::{history_csv, history_page};
pub use pending::{decide, pending_page};
pub use schedule::{save_schedule, schedule_page};
pub use service_edit::{save_service, service_page};
pub use services::{register_service, service_action, services_page};
pub use sessions::{end_sessions, sessions_page};
pub use sign_in::{code, code_page, login_page, password, sign_out};
pub use staff::{invite, staff_action, staff_page};
pub use users::{
    edit_user, end_user_session, revoke_user_token, user_action, user_page, users_page,
};
pub use welcome::{welcome, welcome_page};

use crate::web::cookies::{Jar, Owned};
use crate::web::extract::{Client, Secure};
use crate::web::page::message;
use crate::web::state::AppState;

/// What every console page shows around its content: who is signed in, the form token, and
/// whether the buttons that change things are drawn.
pub struct Frame {
    pub admin: String,
    pub role: &'static str,
    pub csrf: String,
    pub current: &'static str,
    pub may_act: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// The admin signed in to the console, with the leave auth-core gave its session.
pub struct Console {
    pub principal: Principal,
    pub admin: Admin,
    pub csrf: String,
}

impl Console {
    /// The frame of a page under nav entry `current`.
    pub fn frame(&self, current: &'static str) -> Frame {
        Frame {
            admin: self.admin.username.clone(),
            role: self.admin.role.as_str(),
            csrf: self.csrf.clone(),
            current,
            may_act: self.admin.role.may_write(),
            notice: None,
            error: None,
        }
    }

    /// Leave to change things; refused (by auth-core) for the support role.
    pub fn writer(&self) -> Result<AdminWrite, Error> {
        self.principal.admin_write()
    }
}

/// Why a console request has no signed-in admin: the sign-in page for a page, a page that says
/// so for a form.
pub struct NotSignedIn {
    method: Method,
    duplicate: bool,
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        if self.duplicate {
            return message(
                StatusCode::BAD_REQUEST,
                "Cannot open the console",
                "The browser sent two console cookies. Sign out, then sign in again.",
                None,
            );
        }
        if self.method == Method::GET || self.method == Method::HEAD {
            return Redirect::to("/admin/login").into_response();
        }
        message(
            StatusCode::UNAUTHORIZED,
            "Your console session has ended",
            "Nothing was changed. Sign in again, then repeat what you were doing.",
            Some(("/admin/login".into(), "Sign in".into())),
        )
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let method = parts.method.clone();
        let refused = |duplicate| NotSignedIn {
            method: method.clone(),
            duplicate,
        };
        let Secure(tls) = Secure::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let token = match Jar::new(tls).read(&parts.headers, Owned::Console) {
            Ok(Some(token)) => token,
            Ok(None) => return Err(refused(false)),
            Err(_) => return Err(refused(true)),
        };
        let Client(context) = Client::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let credentials = state.core.credentials();
        let principal = credentials
            .authenticate(&token, Place::AdminConsole, &context)
            .await
            .map_err(|_| refused(false))?;
        let (Principal::Admin { admin, .. }, Some(csrf)) =
            (&principal, credentials.console_csrf(&principal))
        else {
            return Err(refused(false));
        };
        Ok(Console {
            admin: admin.clone(),
            csrf,
            principal,
        })
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Console {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Console as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// A console page's answer: the page, also stating which forms it may post.
pub fn page(template: &impl askama::Template) -> Response {
    crate::web::page::render(template, StatusCode::OK)
}

/// What a page says when an operation behind a form refuses.
pub fn refusal_text(err: &Error) -> String {
    match err {
        Error::ReadOnlyRole => "Your role (support) may only read; nothing was changed.".into(),
        Error::Validation(fields) => fields
            .iter()
            .map(|f| format!("{}: {}.", f.field, f.message))
            .collect::<Vec<_>>()
            .join(" "),
        other => format!(
            "{} Nothing was changed.",
            capitalised(&other.public_message())
        ),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

pub use super::status_of;

/// A refused form: a page naming the problem, with the status the API would answer.
pub fn refused(err: &Error, back: &str) -> Response {
    message(
        status_of(err),
        "Not done",
        &refusal_text(err),
        Some((back.to_string(), "Back".into())),
    )
}

/// Back to `path` after a form that worked, with `notice` (only texts the console writes are
/// shown, see [`notice_of`]).
pub fn done(path: &str, notice: Notice) -> Response {
    let separator = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{separator}done={}", notice.key())).into_response()
}

/// The answer to an action form: back to `back` with the notice, or the refusal.
pub fn answer(outcome: Result<Notice, Error>, back: &str) -> Response {
    match outcome {
        Ok(notice) => done(back, notice),
        Err(err) => refused(&err, back),
    }
}

/// What a console page can say after a form, by a key in its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Approved,
    Rejected,
    Decided,
    Blocked,
    Unblocked,
    Unlocked,
    Deleted,
    Restored,
    ResetMailed,
    SessionEnded,
    SessionsEnded,
    ServiceSessionsEnded,
    TokenRevoked,
    ScheduleSaved,
    ServiceChanged,
    StaffChanged,
    StaffInvited,
    ProfileSaved,
}

impl Notice {
    const ALL: [Notice; 18] = [
        Notice::Approved,
        Notice::Rejected,
        Notice::Decided,
        Notice::Blocked,
        Notice::Unblocked,
        Notice::Unlocked,
        Notice::Deleted,
        Notice::Restored,
        Notice::ResetMailed,
        Notice::SessionEnded,
        Notice::SessionsEnded,
        Notice::ServiceSessionsEnded,
        Notice::TokenRevoked,
        Notice::ScheduleSaved,
        Notice::ServiceChanged,
        Notice::StaffChanged,
        Notice::StaffInvited,
        Notice::ProfileSaved,
    ];

    fn key(self) -> &'static str {
        match self {
            Notice::Approved => "approved",
            Notice::Rejected => "rejected",
            Notice::Decided => "decided",
            Notice::Blocked => "blocked",
            Notice::Unblocked => "unblocked",
            Notice::Unlocked => "unlocked",
            Notice::Deleted => "deleted",
            Notice::Restored => "restored",
            Notice::ResetMailed => "reset-mailed",
            Notice::SessionEnded => "session-ended",
            Notice::SessionsEnded => "sessions-ended",
            Notice::ServiceSessionsEnded => "service-sessions-ended",
            Notice::TokenRevoked => "token-revoked",
            Notice::ScheduleSaved => "schedule-saved",
            Notice::ServiceChanged => "service-changed",
            Notice::StaffChanged => "staff-changed",
            Notice::StaffInvited => "staff-invited",
            Notice::ProfileSaved => "profile-saved",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Notice::Approved => "Approved. The person is told by mail.",
            Notice::Rejected => "Rejected. The person is told by mail, with your reason.",
            Notice::Decided => "Done. Each person is told by mail.",
            Notice::Blocked => "Blocked. Every session of the account has ended.",
            Notice::Unblocked => "Unblocked. The account may log in again.",
            Notice::Unlocked => "Unlocked. The count of wrong passwords is cleared.",
            Notice::Deleted => "Deleted. The account can be restored from its page.",
            Notice::Restored => "Restored.",
            Notice::ResetMailed => "A password reset link was mailed to the account's address.",
            Notice::SessionEnded => "The session has ended.",
            Notice::SessionsEnded => "Every session of the account has ended.",
            Notice::ServiceSessionsEnded => "Every session at the service has ended.",
            Notice::TokenRevoked => "The token is revoked.",
            Notice::ScheduleSaved => "Saved. Every gateway follows the new hours within seconds.",
            Notice::ServiceChanged => "Saved. Every gateway follows within seconds.",
            Notice::StaffChanged => "Saved. It applies from their next request.",
            Notice::ProfileSaved => "Saved. A changed address is told at both ends.",
            Notice::StaffInvited => {
                "Invited. The link to choose a password is in the mail; it works for 72 hours."
            }
        }
    }
}

/// The text of the notice named `key`, if it is one of ours.
pub fn notice_of(key: Option<&str>) -> Option<String> {
    let key = key?;
    Notice::ALL
        .iter()
        .find(|n| n.key() == key)
        .map(|n| n.text().to_string())
}

/// A person's display line in lists: the name, else the username.
pub fn person_name(user: &User) -> String {
    if user.full_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.full_name.clone()
    }
}

/// A time as the console shows it: UTC, to the minute.
pub fn when(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Adds `Set-Cookie` values to an answer.
pub fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Where a list is, and the links to its neighbours.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    /// The list's address with its filters, without the page.
    pub base: String,
}

impl Pager {
    pub fn of<T>(list: &auth_core::page::Page<T>, base: String) -> Pager {
        let per_page = i64::from(list.per_page.max(1));
        let pages = ((list.total + per_page - 1) / per_page).max(1);
        Pager {
            page: list.page,
            pages: u32::try_from(pages).unwrap_or(u32::MAX),
            total: list.total,
            base,
        }
    }

    pub fn link_to(&self, page: u32) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{separator}page={page}", self.base)
    }
}

/// The page asked for in a list's address (from 1), 50 to a page.
pub fn page_request(page: Option<u32>) -> auth_core::page::PageRequest {
    auth_core::page::PageRequest {
        page: page.unwrap_or(1).max(1),
        per_page: 50,
    }
}
