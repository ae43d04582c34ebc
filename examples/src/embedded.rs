//! An application that embeds auth-core whole, without the gateway: registration, email
//! verification, approval and the QR + PIN login, served by its own small axum router. It shows
//! that auth-core is a library first; the gateway is one of its users.
//!
//! The app is its own "service" (`embedded-app`). Its operator approves accounts with the admin key
//! printed at start; people log in the QR way, with the phone steps as two more JSON routes.

use std::sync::Arc;

use auth_core::accounts::Registration;
use auth_core::admins::{NewAdmin, Role};
use auth_core::credentials::{LoginRequest, Place};
use auth_core::ids::{AdminId, UserId};
use auth_core::secret::{Secret, constant_time_eq};
use auth_core::{AuthCore, Error, RequestContext};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The slug under which the app knows itself.
pub const SERVICE: &str = "embedded-app";

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    core: AuthCore,
    admin: AdminId,
    admin_key: Arc<Secret>,
}

/// An auth-core error as JSON with its status.
struct Failure(Error);

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure(err)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code().http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "success": false,
            "error": { "code": self.0.code().as_str(), "message": self.0.public_message(), "details": self.0.details() },
        });
        (status, Json(body)).into_response()
    }
}

type Answer = Result<Json<Value>, Failure>;

fn ok(data: impl serde::Serialize) -> Answer {
    Ok(Json(json!({ "success": true, "data": data })))
}

impl App {
    /// Builds the app on `core` (whose services must include [`SERVICE`]). The app acts through an
    /// admin of its own, made on first start and remembered in `data_dir`; `admin_key` authorises
    /// the approval route.
    pub async fn open(
        core: AuthCore,
        data_dir: &std::path::Path,
        admin_key: Secret,
    ) -> Result<App, Error> {
        core.services().get(SERVICE).await?;
        let remembered = data_dir.join("app-admin.id");
        let admin = match std::fs::read_to_string(&remembered)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(id) => id,
            None => {
                let admin = core
                    .admins()
                    .create(
                        NewAdmin {
                            username: format!("app-admin-{}", hex_id()),
                            email: "operator@embedded.example".into(),
                            // Nobody logs in as this admin; the app acts through it.
                            password: auth_core::secret::random_token("Ab1-"),
                            role: Role::Admin,
                        },
                        // The app is the host here: it decides who its operators are.
                        &core.host_operator(),
                        &RequestContext::default(),
                    )
                    .await?;
                std::fs::write(&remembered, admin.id.to_string()).map_err(Error::internal)?;
                admin.id
            }
        };
        Ok(App {
            core,
            admin,
            admin_key: Arc::new(admin_key),
        })
    }

    /// The app's routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/register", post(register))
            .route("/verify-email", post(verify_email))
            .route("/admin/approve/{user_id}", post(approve))
            .route("/login/qr", post(start_login))
            .route("/phone/login", post(phone_login))
            .route("/phone/scan", post(phone_scan))
            .route("/login/pin", post(finish_login))
            .with_state(self)
    }
}

fn hex_id() -> String {
    auth_core::ids::row_id().replace('-', "")[..12].to_string()
}

async fn register(State(app): State<App>, Json(input): Json<Registration>) -> Answer {
    ok(app
        .core
        .accounts()
        .register(input, &RequestContext::default())
        .await?)
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn verify_email(State(app): State<App>, Json(body): Json<TokenBody>) -> Answer {
    let user = app
        .core
        .accounts()
        .verify_email(&body.token, &RequestContext::default())
        .await?;
    ok(json!({ "user_id": user.id, "status": user.status }))
}

async fn approve(
    State(app): State<App>,
    headers: HeaderMap,
    Path(user_id): Path<UserId>,
) -> Answer {
    let presented = headers
        .get("x-admin-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !constant_time_eq(presented.as_bytes(), app.admin_key.expose().as_bytes()) {
        return Err(Error::NeedsAdmin.into());
    }
    // Leave to approve comes from the admin's stored role, never from its id alone.
    let admin = app.core.admins().write_authority(app.admin).await?;
    let user = app
        .core
        .accounts()
        .approve(&admin, user_id, &RequestContext::default())
        .await?;
    ok(json!({ "user_id": user.id, "status": user.status }))
}

async fn start_login(State(app): State<App>) -> Answer {
    let service = app.core.services().get(SERVICE).await?;
    ok(app
        .core
        .qr_login()
        .generate(&service, &RequestContext::default(), None)
        .await?)
}

async fn phone_login(State(app): State<App>, Json(request): Json<LoginRequest>) -> Answer {
    ok(app
        .core
        .credentials()
        .login(request, &RequestContext::default())
        .await?)
}

#[derive(Deserialize)]
struct ScanBody {
    access_token: String,
    qr_token: String,
}

async fn phone_scan(State(app): State<App>, Json(body): Json<ScanBody>) -> Answer {
    let context = RequestContext::default();
    let principal = app
        .core
        .credentials()
        .authenticate(&body.access_token, Place::PhoneScan, &context)
        .await?;
    let user = principal.require_user()?;
    ok(app
        .core
        .qr_login()
        .scan(user, &body.qr_token, &context)
        .await?)
}

#[derive(Deserialize)]
struct PinBody {
    qr_token: String,
    pin: String,
}

async fn finish_login(
    State(app): State<App>,
    Json(body): Json<PinBody>,
) -> Result<Response, Failure> {
    let service = app.core.services().get(SERVICE).await?;
    let login = app
        .core
        .qr_login()
        .verify_pin(
            &service,
            &body.qr_token,
            &body.pin,
            &RequestContext::default(),
            None,
        )
        .await?;
    let cookie = format!(
        "app_session={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        login.session_token, login.expires_in
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({ "success": true, "data": login.user_info })),
    )
        .into_response())
}

/// Greets whoever the session cookie names; invites others to log in.
async fn home(State(app): State<App>, headers: HeaderMap) -> Html<String> {
    let token = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|cookies| {
            cookies
                .split(';')
                .map(str::trim)
                .find_map(|c| c.strip_prefix("app_session="))
        });
    let identity = match token {
        Some(token) => app
            .core
            .credentials()
            .authenticate_at_service(token, SERVICE, &RequestContext::default())
            .await
            .ok(),
        None => None,
    };
    Html(match identity {
        Some(identity) => format!(
            "<!doctype html><title>Embedded app</title><h1>Hello, {}</h1><p>Signed in as {}.</p>",
            escape(identity.name.as_deref().unwrap_or(&identity.username)),
            escape(&identity.username)
        ),
        None => "<!doctype html><title>Embedded app</title><h1>Not signed in</h1><p>POST /login/qr to start.</p>".into(),
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
