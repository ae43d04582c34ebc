//! `/admin/users`: finding a user (by name, email or username, status, when they registered and
//! whether they logged in since a day), a user's page (the
//! profile, live sessions, personal access tokens, latest logins, audit entries about them), and
//! the actions on it: block, unblock, unlock, delete, restore, mail a reset link, correct the name
//! and address, end sessions,
//! revoke tokens.

use askama::Template;
use auth_core::Error;
use auth_core::accounts::{AdminEdit, UserQuery, UserStatus};
use auth_core::audit::AuditQuery;
use auth_core::ids::{SessionId, UserId};
use auth_core::login_history::HistoryQuery;
use auth_core::page::PageRequest;
use auth_core::sessions::Subject;
use axum::extract::{Path, State};
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;

use super::{
    Console, ConsoleForm, Frame, Notice, Pager, answer, notice_of, page, page_request, person_name,
    refused, when,
};
use crate::pages::account::{SessionRow, describe_sessions};
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

const STATUSES: [&str; 6] = [
    "unverified",
    "pending",
    "active",
    "blocked",
    "rejected",
    "deleted",
];

struct UserRow {
    id: UserId,
    name: String,
    email: String,
    username: String,
    status: &'static str,
    registered: String,
}

#[derive(Template)]
#[template(path = "console_users.html")]
struct UsersPage {
    frame: Frame,
    q: String,
    status: String,
    from: String,
    to: String,
    since: String,
    statuses: [&'static str; 6],
    rows: Vec<UserRow>,
    pager: Pager,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    status: Option<String>,
    /// Registered on or after this day (UTC, YYYY-MM-DD).
    from: Option<String>,
    /// Registered on or before this day.
    to: Option<String>,
    /// Logged in on or after this day.
    since: Option<String>,
    page: Option<u32>,
}

/// The days of the filters as times: registered from, registered before, logged in since.
type Days = (Option<Timestamp>, Option<Timestamp>, Option<Timestamp>);

fn days_of(from: &str, to: &str, since: &str) -> Result<Days, Error> {
    use super::history::{day, end_of, start_of};
    let (first, last) = (day(from, "from")?, day(to, "to")?);
    if let (Some(first), Some(last)) = (first, last)
        && first > last
    {
        return Err(Error::invalid("from", "is after the last day"));
    }
    Ok((
        first.map(start_of).transpose()?,
        last.map(end_of).transpose()?,
        day(since, "since")?.map(start_of).transpose()?,
    ))
}

/// `GET /admin/users`.
pub async fn users_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<UsersQuery>,
) -> Response {
    match list(&state, &console, query).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin/users"),
    }
}

async fn list(state: &AppState, console: &Console, query: UsersQuery) -> Result<Response, Error> {
    let reader = console.principal.admin_read()?;
    let q = query.q.unwrap_or_default().trim().to_string();
    let status_text = query.status.unwrap_or_default();
    let status = match status_text.as_str() {
        "" => None,
        text => Some(text.parse::<UserStatus>()?),
    };
    let text = |v: Option<String>| v.unwrap_or_default().trim().to_string();
    let (from, to, since) = (text(query.from), text(query.to), text(query.since));
    let mut frame = console.frame("users");
    let (registered_from, registered_before, logged_in_since) = days_of(&from, &to, &since)
        .unwrap_or_else(|err| {
            frame.error = Some(super::refusal_text(&err));
            (None, None, None)
        });
    let found = state
        .core
        .accounts()
        .list(
            &reader,
            &UserQuery {
                status,
                search: (!q.is_empty()).then(|| q.clone()),
                registered_from,
                registered_before,
                logged_in_since,
            },
            page_request(query.page),
        )
        .await?;
    let base = {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("q", &q)
            .append_pair("status", &status_text)
            .append_pair("from", &from)
            .append_pair("to", &to)
            .append_pair("since", &since);
        format!("/admin/users?{}", url.finish())
    };
    let rows = found
        .items
        .iter()
        .map(|user| UserRow {
            id: user.id,
            name: person_name(user),
            email: user.email.clone(),
            username: user.username.clone(),
            status: user.status.as_str(),
            registered: when(user.created_at),
        })
        .collect();
    Ok(page(&UsersPage {
        frame,
        q,
        status: status_text,
        from,
        to,
        since,
        statuses: STATUSES,
        pager: Pager::of(&found, base),
        rows,
        closing_in: None,
    }))
}

struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    services: String,
    created: String,
    expires: String,
    last_used: String,
    state: &'static str,
    live: bool,
}

#[derive(Template)]
#[template(path = "console_user.html")]
struct UserPage {
    frame: Frame,
    id: UserId,
    name: String,
    full_name: String,
    status: &'static str,
    email: String,
    username: String,
    registered: String,
    verified: String,
    decided: Option<String>,
    blocked_reason: Option<String>,
    locked_until: Option<String>,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    /// When, service, method, outcome, address.
    logins: Vec<(String, String, String, String, String)>,
    /// When, action, actor, outcome, address.
    audit: Vec<(String, String, String, String, String)>,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct UserPageQuery {
    done: Option<String>,
}

/// `GET /admin/users/{id}`.
pub async fn user_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    PageQuery(query): PageQuery<UserPageQuery>,
) -> Response {
    let Ok(id) = id.parse::<UserId>() else {
        return refused(&Error::NotFound("user"), "/admin/users");
    };
    match detail(&state, &console, id, query.done.as_deref()).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin/users"),
    }
}

const LATEST: PageRequest = PageRequest {
    page: 1,
    per_page: 20,
};

async fn detail(
    state: &AppState,
    console: &Console,
    id: UserId,
    done: Option<&str>,
) -> Result<Response, Error> {
    let core = &state.core;
    let reader = console.principal.admin_read()?;
    let user = core.accounts().get(&reader, id).await?;
    let now = core.clock().now();
    let live = core
        .sessions()
        .list_for_admin(&reader, &Subject::User(id))
        .await?;
    let sessions = describe_sessions(state, live, None).await;
    let tokens = core
        .credentials()
        .pats_of_user(&reader, id)
        .await?
        .items
        .into_iter()
        .map(|t| {
            let live = t.revoked_at.is_none() && t.expires_at > now;
            TokenRow {
                live,
                state: if t.revoked_at.is_some() {
                    "revoked"
                } else if live {
                    "live"
                } else {
                    "expired"
                },
                id: t.id,
                name: t.name,
                prefix: t.token_prefix,
                services: t.services.join(", "),
                created: when(t.created_at),
                expires: when(t.expires_at),
                last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
            }
        })
        .collect();
    let logins = core
        .login_history()
        .list(
            &reader,
            &HistoryQuery {
                user_id: Some(id),
                ..HistoryQuery::default()
            },
            LATEST,
        )
        .await?
        .items
        .into_iter()
        .map(|h| {
            (
                when(h.at),
                h.service.unwrap_or_else(|| "account".into()),
                h.method,
                if h.success {
                    "success".to_string()
                } else {
                    format!("failed: {}", h.failure_reason.unwrap_or_default())
                },
                h.client_ip.unwrap_or_default(),
            )
        })
        .collect();
    let audit = core
        .audit()
        .list(
            &reader,
            &AuditQuery {
                target_id: Some(id.to_string()),
                ..AuditQuery::default()
            },
            LATEST,
        )
        .await?
        .items
        .into_iter()
        .map(|a| {
            (
                when(a.at),
                a.action,
                match a.actor_id {
                    Some(actor) => format!("{} {actor}", a.actor_kind),
                    None => a.actor_kind,
                },
                a.outcome,
                a.client_ip.unwrap_or_default(),
            )
        })
        .collect();
    let mut frame = console.frame("users");
    frame.notice = notice_of(done);
    Ok(page(&UserPage {
        frame,
        id,
        name: person_name(&user),
        full_name: user.full_name.clone(),
        status: user.status.as_str(),
        email: user.email.clone(),
        username: user.username.clone(),
        registered: when(user.created_at),
        verified: user
            .email_verified_at
            .map(when)
            .unwrap_or_else(|| "no".into()),
        decided: user.decided_at.map(|at| {
            format!(
                "{}{}",
                when(at),
                user.decided_by
                    .as_deref()
                    .map(|by| format!(" by {by}"))
                    .unwrap_or_default()
            )
        }),
        blocked_reason: user.blocked_reason.clone(),
        locked_until: user.locked_until.filter(|at| *at > now).map(when),
        sessions,
        tokens,
        logins,
        audit,
        closing_in: None,
    }))
}

fn user_id(id: &str) -> Result<UserId, Error> {
    id.parse().map_err(|_| Error::NotFound("user"))
}

/// `POST /admin/users/{id}/action`: block, unblock, unlock, delete, restore, reset-password.
pub async fn user_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm,
) -> Response {
    let back = format!("/admin/users/{id}");
    answer(act(&state, &id, &form).await, &back)
}

async fn act(state: &AppState, id: &str, form: &ConsoleForm) -> Result<Notice, Error> {
    let writer = form.console.writer()?;
    let id = user_id(id)?;
    let accounts = state.core.accounts();
    let client = &form.client;
    match form.fields.get("action").unwrap_or_default() {
        "block" => {
            accounts
                .block(&writer, id, form.fields.get("reason"), client)
                .await?;
            Ok(Notice::Blocked)
        }
        "unblock" => {
            accounts.unblock(&writer, id, client).await?;
            Ok(Notice::Unblocked)
        }
        "unlock" => {
            state.core.credentials().unlock(&writer, id, client).await?;
            Ok(Notice::Unlocked)
        }
        "delete" => {
            accounts.delete(&writer, id, client).await?;
            Ok(Notice::Deleted)
        }
        "restore" => {
            accounts.restore(&writer, id, client).await?;
            Ok(Notice::Restored)
        }
        "reset-password" => {
            // The mail is queued after the answer, as for a person asking themselves.
            let _mail = state
                .core
                .credentials()
                .mail_reset_by_admin(&writer, id, client)
                .await?;
            Ok(Notice::ResetMailed)
        }
        _ => Err(Error::invalid(
            "action",
            "is not one of block, unblock, unlock, delete, restore, reset-password",
        )),
    }
}

/// `POST /admin/users/{id}/edit`: the name and the email address, as the admin typed them.
pub async fn edit_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm,
) -> Response {
    let back = format!("/admin/users/{id}");
    let outcome = async {
        let writer = form.console.writer()?;
        let edit = AdminEdit {
            full_name: form.fields.get("full_name").map(str::to_string),
            email: form.fields.get("email").map(str::to_string),
        };
        state
            .core
            .accounts()
            .edit_by_admin(&writer, user_id(&id)?, edit, &form.client)
            .await?;
        Ok(Notice::ProfileSaved)
    }
    .await;
    answer(outcome, &back)
}

/// `POST /admin/users/{id}/sessions/end`: one session (`session` = its id), or `all`.
pub async fn end_user_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm,
) -> Response {
    let back = format!("/admin/users/{id}");
    let outcome = async {
        let writer = form.console.writer()?;
        let user = user_id(&id)?;
        let sessions = state.core.sessions();
        match form.fields.get("session") {
            Some("all") => {
                sessions
                    .end_all_by_admin(&writer, user, &form.client)
                    .await?;
                Ok(Notice::SessionsEnded)
            }
            Some(session) => {
                let session: SessionId = session.parse().map_err(|_| Error::NotFound("session"))?;
                // Only a session of this user, so a form cannot end someone else's from here.
                let reader = form.console.principal.admin_read()?;
                let theirs = sessions
                    .list_for_admin(&reader, &Subject::User(user))
                    .await?
                    .iter()
                    .any(|s| s.id == session);
                if !theirs {
                    return Err(Error::NotFound("session"));
                }
                sessions
                    .end_by_admin(&writer, session, &form.client)
                    .await?;
                Ok(Notice::SessionEnded)
            }
            None => Err(Error::invalid("session", "is missing")),
        }
    }
    .await;
    answer(outcome, &back)
}

/// `POST /admin/users/{id}/tokens/revoke`: one of the user's personal access tokens.
pub async fn revoke_user_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm,
) -> Response {
    let back = format!("/admin/users/{id}");
    let outcome = async {
        let writer = form.console.writer()?;
        let user = user_id(&id)?;
        let token = form
            .fields
            .get("token")
            .ok_or_else(|| Error::invalid("token", "is missing"))?;
        state
            .core
            .credentials()
            .revoke_pat_of_user(&writer, user, token, &form.client)
            .await
    }
    .await;
    answer(outcome.map(|()| Notice::TokenRevoked), &back)
}
