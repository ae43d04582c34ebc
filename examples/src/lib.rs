//! The services of the demo, placed behind the gateway: ServiceB and AppC. Each answers every
//! request with JSON saying what reached it (path, query, identity headers), so one can see what the
//! gateway forwards.

pub mod qr_image;

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use serde_json::{Map, Value, json};

/// The router of an echo service named `name`.
pub fn echo_router(name: &'static str) -> Router {
    Router::new().fallback(move |request: Request| async move { Json(echo(name, &request)) })
}

fn echo(name: &str, request: &Request) -> Value {
    let mut identity = Map::new();
    let mut forwarded = Map::new();
    for (header, value) in request.headers() {
        let header = header.as_str();
        let value = Value::String(value.to_str().unwrap_or("<binary>").to_string());
        if header.starts_with("x-auth-") {
            identity.insert(header.to_string(), value);
        } else if header.starts_with("x-forwarded-")
            || header == "forwarded"
            || header == "x-real-ip"
        {
            forwarded.insert(header.to_string(), value);
        }
    }
    json!({
        "service": name,
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query(),
        "host": request.headers().get("host").and_then(|h| h.to_str().ok()),
        "identity_headers": identity,
        "forwarded_headers": forwarded,
    })
}

/// Serves the echo service `name` on `127.0.0.1:port` (`PORT` in the environment overrides).
pub async fn serve(name: &'static str, default_port: u16) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, service = name, "listening");
    axum::serve(listener, echo_router(name)).await?;
    Ok(())
}
