//! `/admin/services`: the services behind the gateway with their hosts, upstreams, state and key
//! prefix; enabling and disabling one, making a new API key (shown once, the old one refused at
//! once), and registering a new service.

use askama::Template;
use auth_core::Error;
use auth_core::services::{NewService, Service};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Console, ConsoleForm, Frame, Notice, done, notice_of, refusal_text, refused, when};
use crate::web::extract::PageQuery;
use crate::web::page::render;
use crate::web::state::AppState;

struct ServiceRow {
    name: String,
    slug: String,
    hosts: String,
    /// Each upstream with its last health check as this gateway saw it.
    /// (address, health, class).
    upstreams: Vec<(String, &'static str, &'static str)>,
    warning: String,
    state: &'static str,
    enabled: bool,
    key: String,
}

fn row(state: &AppState, service: &Service) -> ServiceRow {
    let mut hosts = service.hosts.join(", ");
    if let Some(prefix) = service
        .path_prefix
        .as_ref()
        .filter(|_| service.share_gateway_origin)
    {
        hosts.push_str(&format!(" (and {prefix} on the gateway's host)"));
    }
    let checks = state.metrics.upstream_checks_of(&service.slug);
    let upstreams = service
        .upstreams
        .iter()
        .map(|upstream| {
            let (health, class) = match checks.iter().find(|(addr, _)| addr == upstream) {
                Some((_, true)) => ("up", "health-up"),
                Some((_, false)) => ("down", "health-down"),
                None => ("not checked yet", "health-unknown"),
            };
            (upstream.clone(), health, class)
        })
        .collect();
    let schedule_minutes = state.core.schedule().current().warning_minutes;
    let warning = crate::edge::closing::Warning::of(state.core.config(), service, schedule_minutes);
    let minutes = warning.window_secs / 60;
    ServiceRow {
        name: service.name.clone(),
        slug: service.slug.clone(),
        hosts,
        upstreams,
        warning: if warning.banner {
            format!("{minutes} minutes, banner in its pages")
        } else {
            format!("{minutes} minutes, headers only")
        },
        state: if service.enabled {
            "enabled"
        } else {
            "disabled"
        },
        enabled: service.enabled,
        key: match (&service.api_key_prefix, service.key_rotated_at) {
            (Some(prefix), Some(at)) => format!("{prefix}… made {}", when(at)),
            (Some(prefix), None) => format!("{prefix}…"),
            (None, _) => "none yet".into(),
        },
    }
}

/// The register form's values, kept when it is refused.
#[derive(Default)]
struct Typed {
    name: String,
    slug: String,
    hosts: String,
    upstreams: String,
}

#[derive(Template)]
#[template(path = "console_services.html")]
struct ServicesPage {
    frame: Frame,
    rows: Vec<ServiceRow>,
    new_key: Option<(String, String)>,
    form: Typed,
    closing_in: Option<i64>,
}

async fn show(
    state: &AppState,
    console: &Console,
    mut frame: Frame,
    new_key: Option<(String, String)>,
    form: Typed,
    status: StatusCode,
) -> Response {
    if let Err(err) = console.principal.admin_read() {
        return refused(&err, "/admin");
    }
    frame.current = "services";
    match state.core.services().list().await {
        Ok(services) => render(
            &ServicesPage {
                frame,
                rows: services.iter().map(|s| row(state, s)).collect(),
                new_key,
                form,
                closing_in: None,
            },
            status,
        ),
        Err(err) => refused(&err, "/admin"),
    }
}

#[derive(Deserialize)]
pub struct ServicesQuery {
    done: Option<String>,
}

/// `GET /admin/services`.
pub async fn services_page(
    State(state): State<AppState>,
    console: Console,
    PageQuery(query): PageQuery<ServicesQuery>,
) -> Response {
    let mut frame = console.frame("services");
    frame.notice = notice_of(query.done.as_deref());
    show(
        &state,
        &console,
        frame,
        None,
        Typed::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/services/{slug}/action`: enable, disable or rotate-key.
pub async fn service_action(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    form: ConsoleForm,
) -> Response {
    let writer = match form.console.writer() {
        Ok(writer) => writer,
        Err(err) => return refused(&err, "/admin/services"),
    };
    let services = state.core.services();
    let outcome = match form.fields.get("action").unwrap_or_default() {
        "enable" | "disable" => {
            let enabled = form.fields.get("action") == Some("enable");
            services
                .set_enabled(&writer, &slug, enabled, &form.client)
                .await
                .map(|_| None)
        }
        "rotate-key" => services
            .rotate_key(&writer, &slug, &form.client)
            .await
            .map(|rotated| Some((rotated.service.name, rotated.api_key))),
        _ => Err(Error::invalid(
            "action",
            "is not one of enable, disable, rotate-key",
        )),
    };
    match outcome {
        Ok(None) => done("/admin/services", Notice::ServiceChanged),
        // The key is in this answer only, never in an address or a log.
        Ok(Some(key)) => {
            let frame = form.console.frame("services");
            show(
                &state,
                &form.console,
                frame,
                Some(key),
                Typed::default(),
                StatusCode::OK,
            )
            .await
        }
        Err(err) => refused(&err, "/admin/services"),
    }
}

/// `POST /admin/services`: registers a service; its first key is shown once.
pub async fn register_service(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let writer = match form.console.writer() {
        Ok(writer) => writer,
        Err(err) => return refused(&err, "/admin/services"),
    };
    let field = |name: &str| form.fields.get(name).unwrap_or_default().to_string();
    let typed = Typed {
        name: field("name"),
        slug: field("slug"),
        hosts: field("hosts"),
        upstreams: field("upstreams"),
    };
    let words = |text: &str| -> Vec<String> {
        text.split([' ', ',', '\n'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let new = NewService {
        name: typed.name.clone(),
        slug: typed.slug.clone(),
        hosts: words(&typed.hosts),
        path_prefix: None,
        share_gateway_origin: false,
        upstreams: words(&typed.upstreams),
        tls: false,
        sni: None,
        ca_file: None,
        client_cert: None,
        client_key: None,
    };
    match state
        .core
        .services()
        .register(&writer, new, &form.client)
        .await
    {
        Ok(made) => {
            let frame = form.console.frame("services");
            let key = (made.service.name, made.api_key);
            show(
                &state,
                &form.console,
                frame,
                Some(key),
                Typed::default(),
                StatusCode::CREATED,
            )
            .await
        }
        Err(err) => {
            let mut frame = form.console.frame("services");
            frame.error = Some(refusal_text(&err));
            let status = super::status_of(&err);
            show(&state, &form.console, frame, None, typed, status).await
        }
    }
}
