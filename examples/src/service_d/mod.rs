//! ServiceD: a service that runs its own login page instead of sending browsers to the gateway's.
//! It shows the QR code, follows the challenge, takes the PIN and keeps the session token in its
//! own `HttpOnly` cookie, all through auth-sdk's [`ServiceClient`]; every request is then verified
//! in-process by auth-sdk's [`AuthLayer`] reading that cookie (with the session check on, so a
//! logout or a revocation takes effect at once).
//!
//! Browsers reach it on its own port (`http://service-d.localhost:8083`), not through the
//! gateway's edge: the gateway is only its API. Reached through the gateway instead, it is a
//! service like ServiceB (the gateway's login page, then its assertion), which the layer accepts
//! too.
//!
//! Settings (environment): `SERVICE_D_API_KEY` (required: the key the gateway issued to the
//! service, e.g. `auth-gateway services rotate-key service-d`), `GATEWAY_URL` (default
//! `http://127.0.0.1:8080`), `PORT` (8083), `SERVICE_D_URL` (its own origin, default
//! `http://service-d.localhost:<PORT>`: forms from elsewhere are refused; cookies are `Secure` when
//! it is https), `SERVICE_SLUG` (`service-d`).

mod home;
mod login;
mod page;
mod pending;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use auth_sdk::{AuthLayer, ServiceClient, SessionCheck, Verifier};
use axum::Router;
use axum::routing::{get, post};

use pending::Pending;

/// The cookie holding the person's session token.
pub const SESSION_COOKIE: &str = "service_d_session";
/// The cookie naming the browser's login in progress.
pub const LOGIN_COOKIE: &str = "service_d_login";

/// What ServiceD needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The gateway's base URL.
    pub gateway_url: String,
    /// The service's API key.
    pub api_key: String,
    /// The service's slug at the gateway (the audience of its tokens).
    pub slug: String,
    /// ServiceD's own origin, as browsers reach it.
    pub origin: String,
}

impl Settings {
    /// Reads the settings from the environment; names the one missing.
    pub fn from_env(port: u16) -> anyhow::Result<Settings> {
        let api_key = std::env::var("SERVICE_D_API_KEY").context(
            "SERVICE_D_API_KEY is not set: make one with \
             `auth-gateway services rotate-key service-d`",
        )?;
        Ok(Settings {
            gateway_url: std::env::var("GATEWAY_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
            api_key,
            slug: std::env::var("SERVICE_SLUG").unwrap_or_else(|_| "service-d".into()),
            origin: std::env::var("SERVICE_D_URL")
                .unwrap_or_else(|_| format!("http://service-d.localhost:{port}")),
        })
    }
}

/// What the handlers share.
pub(crate) struct App {
    pub(crate) client: ServiceClient,
    pub(crate) pending: Pending,
    pub(crate) origin: String,
    pub(crate) secure_cookies: bool,
}

pub(crate) type Shared = Arc<App>;

/// ServiceD's routes, behind the layer that verifies its session cookie.
pub fn router(settings: &Settings) -> anyhow::Result<Router> {
    let gateway = settings.gateway_url.trim_end_matches('/');
    let client = ServiceClient::new(gateway, &settings.api_key)?;
    let verifier = Verifier::builder(
        format!("{gateway}/.well-known/jwks.json"),
        "auth-gateway",
        &settings.slug,
    )
    .session_check(SessionCheck::new(gateway, &settings.api_key))
    .build()?;
    let app = Arc::new(App {
        client,
        pending: Pending::default(),
        origin: settings.origin.trim_end_matches('/').to_string(),
        secure_cookies: settings.origin.starts_with("https://"),
    });
    Ok(Router::new()
        .route("/", get(home::page))
        .route("/login", get(login::page).post(login::verify))
        .route("/login/status", get(login::status))
        .route("/logout", post(home::logout))
        .route("/assets/{file}", get(page::asset))
        .fallback(page::not_found)
        .with_state(app)
        .layer(AuthLayer::new(verifier).with_cookie(SESSION_COOKIE)))
}

/// Serves ServiceD on `127.0.0.1:port` (`PORT` overrides) until the process ends.
pub async fn serve(default_port: u16) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    let settings = Settings::from_env(port)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, origin = %settings.origin, gateway = %settings.gateway_url, "ServiceD listening");
    axum::serve(
        listener,
        router(&settings)?.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
