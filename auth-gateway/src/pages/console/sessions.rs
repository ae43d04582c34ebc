//! `/admin/sessions`: everyone signed in now, at one service or at all of them, the latest to end
//! first; ending one session, or every session at a service.

use askama::Template;
use auth_core::Error;
use auth_core::ids::SessionId;
use auth_core::page::Page;
use auth_core::sessions::{Session, Subject};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{
    Console, ConsoleForm, Frame, Notice, Pager, answer, notice_of, page, page_request, person_name,
    refused, when,
};
use crate::pages::account::method_text;
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

/// A place people sign in to: a service by slug, or the account API and phone.
struct Place {
    audience: String,
    name: String,
    selected: bool,
}

struct Row {
    id: String,
    user_id: String,
    person: String,
    place: String,
    method: &'static str,
    device: String,
    address: String,
    started: String,
    ends: String,
}

#[derive(Template)]
#[template(path = "console_sessions.html")]
struct SessionsPage {
    frame: Frame,
    places: Vec<Place>,
    /// The service shown, when one is: its audience and name.
    shown: Option<(String, String)>,
    rows: Vec<Row>,
    pager: Pager,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    service: Option<String>,
    page: Option<u32>,
    done: Option<String>,
}

/// Every audience a person's session can have, named as people know them.
async fn places(state: &AppState, selected: Option<&str>) -> Result<Vec<Place>, Error> {
    let api = state.core.config().tokens.api_audience.clone();
    let mut places: Vec<Place> = state
        .core
        .services()
        .list()
        .await?
        .into_iter()
        .map(|s| Place {
            selected: selected == Some(s.slug.as_str()),
            audience: s.slug,
            name: s.name,
        })
        .collect();
    places.push(Place {
        selected: selected == Some(api.as_str()),
        audience: api,
        name: "Account and phone".into(),
    });
    Ok(places)
}

/// The name of audience `audience` among `places`.
fn place_name(places: &[Place], audience: &str) -> String {
    places
        .iter()
        .find(|p| p.audience == audience)
        .map_or_else(|| audience.to_string(), |p| p.name.clone())
}

/// `GET /admin/sessions`.
pub async fn sessions_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<SessionsQuery>,
) -> Response {
    let service = query.service.filter(|s| !s.is_empty() && s != "all");
    match render(&state, &console, service, query.page, query.done).await {
        Ok(response) => response,
        Err(err) => refused(&err, "/admin"),
    }
}

async fn render(
    state: &AppState,
    console: &Console,
    service: Option<String>,
    page_number: Option<u32>,
    done: Option<String>,
) -> Result<Response, Error> {
    let reader = console.principal.admin_read()?;
    let places = places(state, service.as_deref()).await?;
    let shown = match &service {
        Some(audience) => Some(
            places
                .iter()
                .find(|p| &p.audience == audience)
                .map(|p| (p.audience.clone(), p.name.clone()))
                .ok_or(Error::NotFound("service"))?,
        ),
        None => None,
    };
    let list: Page<Session> = state
        .core
        .sessions()
        .everyone(&reader, service.as_deref(), page_request(page_number))
        .await?;
    let mut rows = Vec::with_capacity(list.items.len());
    for session in &list.items {
        let Subject::User(user) = session.subject else {
            continue;
        };
        let person = match state.core.accounts().get(&reader, user).await {
            Ok(found) => person_name(&found),
            Err(_) => user.to_string(),
        };
        rows.push(Row {
            id: session.id.to_string(),
            user_id: user.to_string(),
            person,
            place: place_name(&places, &session.audience),
            method: method_text(session.method),
            device: session
                .user_agent
                .clone()
                .unwrap_or_else(|| "unknown".into()),
            address: session
                .client_ip
                .clone()
                .unwrap_or_else(|| "unknown".into()),
            started: when(session.created_at),
            ends: when(session.expires_at),
        });
    }
    let base = match &service {
        Some(audience) => format!("/admin/sessions?service={audience}"),
        None => "/admin/sessions".to_string(),
    };
    let mut frame = console.frame("sessions");
    frame.notice = notice_of(done.as_deref());
    Ok(page(&SessionsPage {
        frame,
        places,
        shown,
        rows,
        pager: Pager::of(&list, base),
        closing_in: None,
    }))
}

/// `POST /admin/sessions/end`: one session (`session` = its id), or every session at a service
/// (`service` = its audience).
pub async fn end_sessions(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let service = form.fields.get("service").filter(|s| !s.is_empty());
    let back = match service {
        Some(audience) => format!("/admin/sessions?service={audience}"),
        None => "/admin/sessions".to_string(),
    };
    let outcome = async {
        let writer = form.console.writer()?;
        let sessions = state.core.sessions();
        match (form.fields.get("session"), service) {
            (Some(id), _) => {
                let id: SessionId = id.parse().map_err(|_| Error::NotFound("session"))?;
                sessions.end_by_admin(&writer, id, &form.client).await?;
                Ok(Notice::SessionEnded)
            }
            (None, Some(audience)) => {
                places(&state, None)
                    .await?
                    .iter()
                    .find(|p| p.audience == audience)
                    .ok_or(Error::NotFound("service"))?;
                sessions
                    .end_all_of_service_by_admin(&writer, audience, &form.client)
                    .await?;
                Ok(Notice::ServiceSessionsEnded)
            }
            (None, None) => Err(Error::invalid("session", "is missing")),
        }
    }
    .await;
    answer(outcome, &back)
}
