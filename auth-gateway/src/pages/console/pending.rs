//! `/admin/pending`: the approval queue, oldest first, decided one at a time or several at once.
//! When two admins decide the same account, auth-core lets one of them win; the other is told who
//! decided and how.

use askama::Template;
use auth_core::Error;
use auth_core::accounts::User;
use auth_core::ids::UserId;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{
    Console, ConsoleForm, Frame, Notice, Pager, done, notice_of, page_request, person_name,
    refused, when,
};
use crate::web::extract::PageQuery;
use crate::web::page::render;
use crate::web::state::AppState;

struct Row {
    id: UserId,
    name: String,
    email: String,
    username: String,
    registered: String,
    verified: String,
    from: String,
}

#[derive(Template)]
#[template(path = "console_pending.html")]
struct PendingPage {
    frame: Frame,
    rows: Vec<Row>,
    pager: Pager,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct PendingQuery {
    page: Option<u32>,
    done: Option<String>,
}

/// The queue's page `page`, with what a decision said.
async fn queue(
    state: &AppState,
    console: &Console,
    page_number: Option<u32>,
    mut frame: Frame,
    status: StatusCode,
) -> Result<Response, Error> {
    let reader = console.principal.admin_read()?;
    let list = state
        .core
        .accounts()
        .pending(&reader, page_request(page_number))
        .await?;
    let mut rows = Vec::with_capacity(list.items.len());
    for user in &list.items {
        rows.push(Row {
            id: user.id,
            name: person_name(user),
            email: user.email.clone(),
            username: user.username.clone(),
            registered: when(user.created_at),
            verified: user.email_verified_at.map(when).unwrap_or_default(),
            from: registered_from(state, &reader, user.id).await?,
        });
    }
    frame.current = "pending";
    Ok(render(
        &PendingPage {
            frame,
            pager: Pager::of(&list, "/admin/pending".into()),
            rows,
            closing_in: None,
        },
        status,
    ))
}

/// The address a registration came from, as its audit entry (indexed by target) recorded it.
async fn registered_from(
    state: &AppState,
    reader: &auth_core::access::AdminRead,
    user: UserId,
) -> Result<String, Error> {
    let entry = state
        .core
        .audit()
        .list(
            reader,
            &auth_core::audit::AuditQuery {
                target_id: Some(user.to_string()),
                action: Some(
                    auth_core::audit::AuditAction::UserRegistered
                        .as_str()
                        .into(),
                ),
                ..Default::default()
            },
            auth_core::page::PageRequest {
                page: 1,
                per_page: 1,
            },
        )
        .await?;
    Ok(entry
        .items
        .first()
        .and_then(|e| e.client_ip.clone())
        .unwrap_or_else(|| "unknown".into()))
}

/// `GET /admin/pending`.
pub async fn pending_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<PendingQuery>,
) -> Response {
    let mut frame = console.frame("pending");
    frame.notice = notice_of(query.done.as_deref());
    match queue(&state, &console, query.page, frame, StatusCode::OK).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn parse(text: &str) -> Option<Decision> {
        match text {
            "approve" => Some(Decision::Approve),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// What the decisions of one form are: one row's button, else the selected rows.
fn decisions(form: &ConsoleForm) -> Result<(Decision, Vec<UserId>), String> {
    let (decision, ids) = match form.fields.get("one") {
        Some(one) => {
            let (decision, id) = one.split_once(':').unwrap_or((one, ""));
            (Decision::parse(decision), vec![id])
        }
        None => (
            form.fields.get("decision").and_then(Decision::parse),
            form.fields.all("id"),
        ),
    };
    let decision = decision.ok_or("Choose approve or reject.")?;
    if ids.is_empty() {
        return Err("Select at least one account first.".into());
    }
    let ids = ids
        .iter()
        .map(|id| {
            id.parse::<UserId>()
                .map_err(|_| "An account in the form is not known.")
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((decision, ids))
}

/// What a person's line says when their account could not be decided.
async fn why_not(state: &AppState, console: &Console, id: UserId, err: &Error) -> String {
    let user: Option<User> = match console.principal.admin_read() {
        Ok(reader) => state.core.accounts().get(&reader, id).await.ok(),
        Err(_) => None,
    };
    match (err, user) {
        (Error::Conflict(_), Some(user)) => format!(
            "{} was already decided: the account is {}{}{}.",
            person_name(&user),
            user.status.as_str(),
            user.decided_by
                .as_deref()
                .map(|by| format!(" (by {by}"))
                .unwrap_or_default(),
            match (user.decided_by.as_deref(), user.decided_at) {
                (Some(_), Some(at)) => format!(", {})", when(at)),
                (Some(_), None) => ")".into(),
                _ => String::new(),
            }
        ),
        (Error::Validation(_), _) => {
            "Give a reason to reject (1 to 500 characters); it goes into the mail.".into()
        }
        (other, Some(user)) => format!("{}: {}", person_name(&user), super::refusal_text(other)),
        (other, None) => super::refusal_text(other),
    }
}

/// `POST /admin/pending/decide`: approve or reject one account, or every one selected.
pub async fn decide(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let writer = match form.console.writer() {
        Ok(writer) => writer,
        Err(err) => return refused(&err, "/admin/pending"),
    };
    let (decision, ids) = match decisions(&form) {
        Ok(found) => found,
        Err(text) => {
            let mut frame = form.console.frame("pending");
            frame.error = Some(text);
            return queue(
                &state,
                &form.console,
                None,
                frame,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
            .unwrap_or_else(|err| refused(&err, "/admin"));
        }
    };
    let reason = form.fields.get("reason").unwrap_or_default();
    let accounts = state.core.accounts();
    let mut problems = Vec::new();
    for id in &ids {
        let outcome = match decision {
            Decision::Approve => accounts.approve(&writer, *id, &form.client).await,
            Decision::Reject => accounts.reject(&writer, *id, reason, &form.client).await,
        };
        if let Err(err) = outcome {
            problems.push(why_not(&state, &form.console, *id, &err).await);
        }
    }
    if problems.is_empty() {
        let notice = match (decision, ids.len()) {
            (Decision::Approve, 1) => Notice::Approved,
            (Decision::Reject, 1) => Notice::Rejected,
            _ => Notice::Decided,
        };
        return done("/admin/pending", notice);
    }
    let mut frame = form.console.frame("pending");
    let decided = ids.len() - problems.len();
    frame.error = Some(format!(
        "{} {decided} of {} decided.",
        problems.join(" "),
        ids.len()
    ));
    let status = if decided == 0 {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    queue(&state, &form.console, None, frame, status)
        .await
        .unwrap_or_else(|err| refused(&err, "/admin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_read_by_their_words_only() {
        assert!(Decision::parse("approve") == Some(Decision::Approve));
        assert!(Decision::parse("reject") == Some(Decision::Reject));
        assert!(Decision::parse("delete").is_none());
    }
}
