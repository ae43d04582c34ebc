//! `/admin/staff`: the admins and support staff, their role, state and authenticator; inviting a
//! new one (who chooses a password through a mailed link, see `welcome`), changing a role,
//! disabling or enabling one, and resetting another's authenticator (a lost phone). auth-core
//! refuses any change that would leave no enabled admin who can act.

use askama::Template;
use auth_core::Error;
use auth_core::admins::{NewInvite, Role};
use auth_core::ids::AdminId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{
    Console, ConsoleForm, Frame, Notice, answer, done, notice_of, refusal_text, refused, status_of,
    when,
};
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

struct StaffRow {
    id: AdminId,
    username: String,
    email: String,
    role: &'static str,
    disabled: bool,
    enrolled: bool,
    /// Until when the invitation link works, while the person has not joined.
    invited_until: Option<String>,
    is_me: bool,
}

/// What was typed into the invitation form, shown again when it is refused.
#[derive(Default)]
struct Typed {
    username: String,
    email: String,
    support: bool,
}

#[derive(Template)]
#[template(path = "console_staff.html")]
struct StaffPage {
    frame: Frame,
    rows: Vec<StaffRow>,
    form: Typed,
    closing_in: Option<i64>,
}

#[derive(Deserialize)]
pub struct StaffQuery {
    done: Option<String>,
}

/// `GET /admin/staff`.
pub async fn staff_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<StaffQuery>,
) -> Response {
    let mut frame = console.frame("staff");
    frame.notice = notice_of(query.done.as_deref());
    show(&state, &console, frame, Typed::default(), StatusCode::OK).await
}

async fn show(
    state: &AppState,
    console: &Console,
    frame: Frame,
    form: Typed,
    status: StatusCode,
) -> Response {
    let outcome = async {
        let reader = console.principal.admin_read()?;
        let rows = state
            .core
            .admins()
            .list(&reader)
            .await?
            .into_iter()
            .map(|member| StaffRow {
                is_me: member.admin.id == console.admin.id,
                id: member.admin.id,
                username: member.admin.username,
                email: member.admin.email,
                role: member.admin.role.as_str(),
                disabled: member.admin.disabled,
                enrolled: member.enrolled,
                invited_until: member.invited_until.map(when),
            })
            .collect();
        Ok::<_, Error>(crate::web::page::render(
            &StaffPage {
                frame,
                rows,
                form,
                closing_in: None,
            },
            status,
        ))
    }
    .await;
    outcome.unwrap_or_else(|err| refused(&err, "/admin"))
}

/// `POST /admin/staff`: invites a new member of staff, who is mailed a link to choose a password.
pub async fn invite(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let writer = match form.console.writer() {
        Ok(writer) => writer,
        Err(err) => return refused(&err, "/admin/staff"),
    };
    let field = |name: &str| form.fields.get(name).unwrap_or_default().to_string();
    let typed = Typed {
        username: field("username"),
        email: field("email"),
        support: form.fields.get("role") == Some("support"),
    };
    let role = match form.fields.get("role") {
        Some("admin") => Role::Admin,
        Some("support") => Role::Support,
        _ => {
            let err = Error::invalid("role", "is not one of admin, support");
            return refused(&err, "/admin/staff");
        }
    };
    let new = NewInvite {
        username: typed.username.clone(),
        email: typed.email.clone(),
        role,
    };
    match state.core.admins().invite(new, &writer, &form.client).await {
        Ok(_) => done("/admin/staff", Notice::StaffInvited),
        Err(err) => {
            let mut frame = form.console.frame("staff");
            frame.error = Some(refusal_text(&err));
            show(&state, &form.console, frame, typed, status_of(&err)).await
        }
    }
}

/// `POST /admin/staff/{id}/action`: make-admin, make-support, disable, enable, reset-2fa,
/// invite-again.
pub async fn staff_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm,
) -> Response {
    let outcome = async {
        let writer = form.console.writer()?;
        let id: AdminId = id.parse().map_err(|_| Error::NotFound("admin"))?;
        let admins = state.core.admins();
        let target = admins.get(id).await?;
        let action = form.fields.get("action").unwrap_or_default();
        if id == form.console.admin.id && matches!(action, "disable" | "reset-2fa") {
            return Err(Error::Conflict(
                "you cannot disable yourself or reset your own authenticator here".into(),
            ));
        }
        let (role, disabled) = match action {
            "make-admin" => (Role::Admin, target.disabled),
            "make-support" => (Role::Support, target.disabled),
            "disable" => (target.role, true),
            "enable" => (target.role, false),
            "invite-again" => {
                admins.invite_again(id, &writer, &form.client).await?;
                return Ok(Notice::StaffInvited);
            }
            "reset-2fa" => {
                admins
                    .reset_second_factor(id, &writer, &form.client)
                    .await?;
                return Ok(Notice::StaffChanged);
            }
            _ => {
                return Err(Error::invalid(
                    "action",
                    "is not one of make-admin, make-support, disable, enable, reset-2fa, \
                     invite-again",
                ));
            }
        };
        admins
            .change_standing(id, role, disabled, &writer, &form.client)
            .await?;
        Ok(Notice::StaffChanged)
    }
    .await;
    answer(outcome, "/admin/staff")
}
