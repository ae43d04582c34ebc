//! `/admin/services/{slug}`: one service's settings; an admin changes how it is reached (hosts,
//! path prefix, upstreams; not for a service the configuration file defines) and its closing
//! warning (minutes, banner). A refused form is shown again with what was typed and the problem.

use askama::Template;
use auth_core::Error;
use auth_core::services::{Service, ServiceChanges};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Console, ConsoleForm, Frame, Notice, done, refusal_text, refused, status_of};
use crate::edge::closing::Warning;
use crate::web::page::render;
use crate::web::state::AppState;

/// The form's values as text, kept when it is refused.
struct Typed {
    name: String,
    hosts: String,
    path_prefix: String,
    upstreams: String,
    warning_minutes: String,
    /// "", "on" or "off".
    banner: &'static str,
}

impl Typed {
    fn of(service: &Service) -> Typed {
        Typed {
            name: service.name.clone(),
            hosts: service.hosts.join(" "),
            path_prefix: service.path_prefix.clone().unwrap_or_default(),
            upstreams: service.upstreams.join(" "),
            warning_minutes: service
                .warning_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
            banner: match service.warning_banner {
                None => "",
                Some(true) => "on",
                Some(false) => "off",
            },
        }
    }
}

#[derive(Template)]
#[template(path = "console_service.html")]
struct ServicePage {
    frame: Frame,
    name: String,
    slug: String,
    from_file: bool,
    default_minutes: u32,
    default_banner: bool,
    form: Typed,
    closing_in: Option<i64>,
}

/// `GET /admin/services/{slug}`.
pub async fn service_page(
    State(state): State<AppState>,
    console: Console,
    Path(slug): Path<String>,
) -> Response {
    let outcome = async {
        console.principal.admin_read()?;
        let service = state.core.services().get(&slug).await?;
        let form = Typed::of(&service);
        Ok::<_, Error>(show(
            &state,
            console.frame("services"),
            &service,
            form,
            StatusCode::OK,
        ))
    }
    .await;
    outcome.unwrap_or_else(|err| refused(&err, "/admin/services"))
}

fn show(
    state: &AppState,
    frame: Frame,
    service: &Service,
    form: Typed,
    status: StatusCode,
) -> Response {
    // What applies when nothing is set here: the edge's own rule, without this page's settings.
    let unset = Service {
        warning_banner: None,
        warning_minutes: None,
        ..service.clone()
    };
    let schedule_minutes = state.core.schedule().current().warning_minutes;
    let defaults = Warning::of(state.core.config(), &unset, schedule_minutes);
    render(
        &ServicePage {
            frame,
            name: service.name.clone(),
            slug: service.slug.clone(),
            from_file: state.core.services().defined_in_config(&service.slug),
            default_minutes: u32::try_from(defaults.window_secs / 60).unwrap_or(0),
            default_banner: defaults.banner,
            form,
            closing_in: None,
        },
        status,
    )
}

/// Words separated by spaces, commas or lines.
fn words(text: &str) -> Vec<String> {
    text.split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `POST /admin/services/{slug}`: saves the settings.
pub async fn save_service(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    form: ConsoleForm,
) -> Response {
    let back = format!("/admin/services/{slug}");
    let services = state.core.services();
    let (writer, before) = match async {
        let writer = form.console.writer()?;
        Ok::<_, Error>((writer, services.get(&slug).await?))
    }
    .await
    {
        Ok(found) => found,
        Err(err) => return refused(&err, &back),
    };
    let field = |name: &str| form.fields.get(name).unwrap_or_default().to_string();
    // A disabled fieldset posts nothing: the file's definition stays as stored.
    let from_file = services.defined_in_config(&slug);
    let mut typed = if from_file {
        Typed::of(&before)
    } else {
        Typed {
            name: field("name"),
            hosts: field("hosts"),
            path_prefix: field("path_prefix"),
            upstreams: field("upstreams"),
            warning_minutes: String::new(),
            banner: "",
        }
    };
    typed.warning_minutes = field("warning_minutes");
    typed.banner = match form.fields.get("warning_banner") {
        Some("on") => "on",
        Some("off") => "off",
        _ => "",
    };
    let outcome = async {
        let warning_minutes = match typed.warning_minutes.as_str() {
            "" => None,
            text => Some(text.parse::<u32>().map_err(|_| {
                Error::invalid("warning_minutes", "must be a whole number from 0 to 1440")
            })?),
        };
        let changes = ServiceChanges {
            name: typed.name.clone(),
            hosts: words(&typed.hosts),
            path_prefix: Some(typed.path_prefix.trim().to_string()).filter(|p| !p.is_empty()),
            upstreams: words(&typed.upstreams),
            warning_banner: match typed.banner {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            },
            warning_minutes,
        };
        services.update(&writer, &slug, changes, &form.client).await
    }
    .await;
    match outcome {
        Ok(_) => done("/admin/services", Notice::ServiceChanged),
        Err(err) => {
            let mut frame = form.console.frame("services");
            frame.error = Some(refusal_text(&err));
            show(&state, frame, &before, typed, status_of(&err))
        }
    }
}
