//! `/account/sessions`: every live session of the account (each service session from a QR + PIN
//! login, and each password sign-in of the phone or these pages), ending one, or all of them.

use askama::Template;
use auth_core::ids::SessionId;
use auth_core::sessions::{LoginMethod, Session, Subject};
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{DoneQuery, NoFields, done, notice_of, person, status_of, without_cookies};
use crate::pages::{closing_in, posted_here};
use crate::web::extract::{Client, MaybeCaller, PageQuery, Secure};
use crate::web::page::{message, render};
use crate::web::state::AppState;

pub const SESSION_ENDED: &str = "The session has ended.";

/// One session as the page shows it.
pub struct SessionRow {
    pub id: String,
    pub service: String,
    pub method: &'static str,
    pub device: String,
    pub address: String,
    pub started: String,
    pub ends: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    current: &'static str,
    notice: Option<String>,
    error: Option<String>,
    sessions: Vec<SessionRow>,
    closing_in: Option<i64>,
}

pub fn method_text(method: LoginMethod) -> &'static str {
    match method {
        LoginMethod::Qr => "QR code and PIN",
        LoginMethod::Password => "Password",
        LoginMethod::Pat => "Personal access token",
    }
}

async fn rows(state: &AppState, subject: &Subject, this: Option<SessionId>) -> Vec<SessionRow> {
    let sessions: Vec<Session> = state
        .core
        .sessions()
        .list(subject)
        .await
        .unwrap_or_default();
    describe(state, sessions, this).await
}

/// Sessions as the pages show them, newest first, named by their service.
pub async fn describe(
    state: &AppState,
    sessions: Vec<Session>,
    this: Option<SessionId>,
) -> Vec<SessionRow> {
    let services = state.core.services().list().await.unwrap_or_default();
    sessions
        .into_iter()
        .rev()
        .map(|s| {
            let service = services
                .iter()
                .find(|known| known.slug == s.audience)
                .map(|known| known.name.clone())
                .unwrap_or_else(|| "Your account and phone".into());
            SessionRow {
                id: s.id.to_string(),
                service,
                method: method_text(s.method),
                device: s.user_agent.unwrap_or_else(|| "unknown".into()),
                address: s.client_ip.unwrap_or_else(|| "unknown".into()),
                started: s.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                ends: s.expires_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                current: Some(s.id) == this,
            }
        })
        .collect()
}

async fn sessions_answer(
    state: &AppState,
    subject: &Subject,
    this: Option<SessionId>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    render(
        &SessionsPage {
            current: "sessions",
            notice,
            error,
            sessions: rows(state, subject, this).await,
            closing_in: closing_in(state),
        },
        status,
    )
}

/// `GET /account/sessions`
pub async fn sessions_page(
    State(state): State<AppState>,
    MaybeCaller(signed_in): MaybeCaller,
    PageQuery(query): PageQuery<DoneQuery>,
) -> Response {
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let notice = notice_of(query.done);
    sessions_answer(
        &state,
        &principal.subject(),
        principal.session(),
        notice,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct EndFields {
    id: String,
}

/// `POST /account/sessions/end`: ends one of the account's own sessions.
pub async fn end_session(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<EndFields>, FormRejection>,
) -> Response {
    let fields = match posted_here(&state, &headers, form, "Cannot end the session") {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let subject = principal.subject();
    let Ok(id) = fields.id.trim().parse::<SessionId>() else {
        return sessions_answer(
            &state,
            &subject,
            principal.session(),
            None,
            Some("There is no such session of yours.".into()),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match state.core.sessions().end_own(&subject, id, &client).await {
        // Ending this very sign-in signs this browser out.
        Ok(_) if principal.session() == Some(id) => without_cookies(
            message(
                StatusCode::OK,
                "Signed out",
                "That was this browser's session: you are signed out.",
                Some(("/account".into(), "Sign in again".into())),
            ),
            secure,
        ),
        Ok(_) => done("/account/sessions", SESSION_ENDED),
        Err(err) => {
            let text = match err {
                auth_core::Error::NotFound(_) => "There is no such session of yours.".to_string(),
                ref other => other.public_message(),
            };
            sessions_answer(
                &state,
                &subject,
                principal.session(),
                None,
                Some(text),
                status_of(&err),
            )
            .await
        }
    }
}

/// `POST /account/sign-out-everywhere`: every session, refresh token and personal access token of
/// the account ends, this one too.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Client(client): Client,
    Secure(secure): Secure,
    MaybeCaller(signed_in): MaybeCaller,
    headers: HeaderMap,
    form: Result<Form<NoFields>, FormRejection>,
) -> Response {
    if let Err(refused) = posted_here(&state, &headers, form, "Cannot sign out everywhere") {
        return refused.into_response();
    }
    let (_, principal) = match person(&state, signed_in) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    match state
        .core
        .credentials()
        .sign_out_everywhere(&principal, &client)
        .await
    {
        Ok(ended) => without_cookies(
            message(
                StatusCode::OK,
                "Signed out everywhere",
                &format!(
                    "{ended} session(s) ended, and every personal access token is revoked. \
                     You are signed out here too."
                ),
                Some(("/account".into(), "Sign in again".into())),
            ),
            secure,
        ),
        Err(err) => message(
            status_of(&err),
            "Cannot sign out everywhere",
            &err.public_message(),
            None,
        ),
    }
}
