//! `/admin/staff`: the admins and support staff, their role, state and authenticator; changing a
//! role, disabling or enabling one, and resetting another's authenticator (a lost phone). auth-core
//! refuses any change that would leave no enabled admin who can act.

use askama::Template;
use auth_core::Error;
use auth_core::admins::Role;
use auth_core::ids::AdminId;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Console, ConsoleForm, Frame, Notice, answer, notice_of, page, refused};
use crate::web::extract::PageQuery;
use crate::web::state::AppState;

struct StaffRow {
    id: AdminId,
    username: String,
    email: String,
    role: &'static str,
    disabled: bool,
    enrolled: bool,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "console_staff.html")]
struct StaffPage {
    frame: Frame,
    rows: Vec<StaffRow>,
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
    let outcome = async {
        let reader = console.principal.admin_read()?;
        let rows = state
            .core
            .admins()
            .list(&reader)
            .await?
            .into_iter()
            .map(|(admin, enrolled)| StaffRow {
                is_me: admin.id == console.admin.id,
                id: admin.id,
                username: admin.username,
                email: admin.email,
                role: admin.role.as_str(),
                disabled: admin.disabled,
                enrolled,
            })
            .collect();
        let mut frame = console.frame("staff");
        frame.notice = notice_of(query.done.as_deref());
        Ok::<_, Error>(page(&StaffPage {
            frame,
            rows,
            closing_in: None,
        }))
    }
    .await;
    outcome.unwrap_or_else(|err| refused(&err, "/admin"))
}

/// `POST /admin/staff/{id}/action`: make-admin, make-support, disable, enable, reset-2fa.
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
            "reset-2fa" => {
                admins
                    .reset_second_factor(id, &writer, &form.client)
                    .await?;
                return Ok(Notice::StaffChanged);
            }
            _ => {
                return Err(Error::invalid(
                    "action",
                    "is not one of make-admin, make-support, disable, enable, reset-2fa",
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
