//! ServiceB and AppC: services behind the gateway that trust it through auth-sdk. Every request
//! must carry the gateway's assertion for this service (or, reached directly, a session token for
//! it); a forged or missing one gets 401. They answer with what reached them: the identity the SDK
//! verified, the path, and every header as it arrived, so a test can see whatever the gateway let
//! through (credentials, cookies, hop-by-hop headers) as well as what it added. Browsers get a
//! greeting page.

use std::net::SocketAddr;

use auth_sdk::{AuthLayer, AuthUser, Closing, Verifier};
use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The router of service `name` (slug `slug`), trusting tokens of the gateway at `gateway_url`.
pub fn router(name: &'static str, slug: &'static str, gateway_url: &str) -> anyhow::Result<Router> {
    let verifier = Verifier::builder(
        format!(
            "{}/.well-known/jwks.json",
            gateway_url.trim_end_matches('/')
        ),
        "auth-gateway",
        slug,
    )
    .build()?;
    Ok(Router::new()
        .fallback(
            move |user: AuthUser, closing: Closing, request: Request| async move {
                answer(name, &user, &closing, &request)
            },
        )
        .layer(AuthLayer::new(verifier)))
}

/// The service's own closing notice, from the headers the gateway adds (see `auth_sdk::Closing`).
fn closing_notice(name: &str, closing: &Closing) -> String {
    match (closing.closing_in(), closing.closes_at()) {
        (Some(left), Some(at)) => format!(
            "<p id=\"closing-notice\">{name} closes with the system in {} minute(s), at \
             <time datetime=\"{at}\">{at}</time>: finish what you are doing.</p>",
            left.as_secs().div_ceil(60),
            at = escape(at)
        ),
        _ => String::new(),
    }
}

fn answer(name: &str, user: &AuthUser, closing: &Closing, request: &Request) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let who = user
        .name
        .clone()
        .or_else(|| user.username.clone())
        .unwrap_or_else(|| user.user_id.to_string());
    if wants_html {
        return Html(format!(
            "<!doctype html><html lang=\"en\"><title>{name}</title><body><h1>{name}</h1>\
             <p>Hello, <strong id=\"who\">{}</strong>.</p><p>Signed in as {} ({}).</p>{}</body></html>",
            escape(&who),
            escape(user.username.as_deref().unwrap_or("")),
            escape(user.email.as_deref().unwrap_or("")),
            closing_notice(name, closing)
        ))
        .into_response();
    }
    Json(echo(name, user, request)).into_response()
}

/// The text of a header value; bytes that are not UTF-8 are shown replaced, never dropped.
fn value_text(value: &HeaderValue) -> Value {
    Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Every header the service received: each name once, with all its values in the order they
/// came, names in the order the HTTP library keeps them (first appearance).
fn all_headers(headers: &HeaderMap) -> Value {
    headers
        .keys()
        .map(|name| {
            let values: Vec<Value> = headers.get_all(name).iter().map(value_text).collect();
            json!({ "name": name.as_str(), "values": values })
        })
        .collect()
}

fn echo(name: &str, user: &AuthUser, request: &Request) -> Value {
    // The two maps below are the shorthand most tests read (the last value of each name);
    // `headers` is the whole truth.
    let mut identity_headers = Map::new();
    let mut forwarded = Map::new();
    for (header, value) in request.headers() {
        let header = header.as_str();
        let value = value_text(value);
        if header.starts_with("x-auth-") {
            identity_headers.insert(header.to_string(), value);
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
        "identity": {
            "user_id": user.user_id.to_string(),
            "username": user.username,
            "email": user.email,
            "name": user.name,
            "session_id": user.session_id.map(|s| s.to_string()),
            "token_kind": user.kind.as_str(),
        },
        "identity_headers": identity_headers,
        "forwarded_headers": forwarded,
        "headers": all_headers(request.headers()),
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Serves service `name` on `127.0.0.1:port` (`PORT` overrides), trusting the gateway at
/// `GATEWAY_URL` (default `http://127.0.0.1:8080`) for tokens addressed to `slug` (`SERVICE_SLUG`
/// overrides, to run the same program as another service).
pub async fn serve(
    name: &'static str,
    slug: &'static str,
    default_port: u16,
) -> anyhow::Result<()> {
    let slug: &'static str = match std::env::var("SERVICE_SLUG") {
        Ok(other) => Box::leak(other.into_boxed_str()),
        Err(_) => slug,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    let gateway = std::env::var("GATEWAY_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, service = name, %gateway, "listening");
    axum::serve(listener, router(name, slug, &gateway)?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_and_every_value_is_reported_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("x-one", HeaderValue::from_static("a"));
        headers.append("cookie", HeaderValue::from_static("auth_session=s"));
        headers.append("x-one", HeaderValue::from_static("b"));
        headers.append("x-bytes", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            all_headers(&headers),
            json!([
                { "name": "x-one", "values": ["a", "b"] },
                { "name": "cookie", "values": ["auth_session=s"] },
                { "name": "x-bytes", "values": ["caf\u{fffd}"] },
            ])
        );
    }
}
