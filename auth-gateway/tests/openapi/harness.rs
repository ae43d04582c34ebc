//! The router in process, and calls whose answers are checked against the document.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::contract::Contract;
use serde_json::{Value, json};

/// How a request proves who sends it.
#[derive(Clone, Copy)]
pub(crate) enum As<'a> {
    Anyone,
    Bearer(&'a str),
    Cookie(&'a str),
    Service(&'a str),
}

/// The gateway's router in process, on an embedded store in a temporary folder, open around the
/// clock; every answer is checked against the document.
pub(crate) struct Api {
    pub(crate) router: axum::Router,
    pub(crate) contract: Contract,
    pub(crate) core: auth_core::AuthCore,
    pub(crate) outbox: PathBuf,
    pub(crate) exercised: Mutex<BTreeSet<(String, String)>>,
    pub(crate) _data: tempfile::TempDir,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }

    pub(crate) fn data(self, status: u16) -> Value {
        self.expect(status)["data"].take()
    }
}

impl Api {
    pub(crate) async fn start() -> Api {
        let data = tempfile::tempdir().unwrap();
        let config = auth_core::config::from_toml(&format!(
            "[storage]\ndata_dir = '{}'\n\
             [schedule]\ndays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']\n\
             open = '00:00'\nclose = '24:00'\n",
            data.path().display()
        ))
        .unwrap();
        let outbox = config.outbox_dir();
        let core = auth_core::AuthCore::open(config, Arc::new(auth_core::SystemClock))
            .await
            .unwrap();
        core.spawn_background();
        let state = auth_gateway::web::state::AppState {
            core: core.clone(),
            metrics: Arc::new(auth_gateway::web::metrics::Metrics::new()),
        };
        Api {
            router: auth_gateway::api::router(state, auth_gateway::pages::routes()),
            contract: Contract::new(),
            core,
            outbox,
            exercised: Mutex::new(BTreeSet::new()),
            _data: data,
        }
    }

    /// Sends `method path` (an instance of the documented `template`) and checks that the status
    /// is documented for it, with this content type, and that the body matches the schema.
    pub(crate) async fn call(
        &self,
        method: &str,
        template: &str,
        path: &str,
        who: As<'_>,
        body: Option<&str>,
    ) -> Answer {
        use tower::ServiceExt;
        let mut request = http::Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(path);
        request = match who {
            As::Anyone => request,
            As::Bearer(token) => request.header("authorization", format!("Bearer {token}")),
            As::Cookie(token) => request.header("cookie", format!("auth_access={token}")),
            As::Service(key) => request.header("x-api-key", key),
        };
        let body = match body {
            Some(text) => {
                request = request
                    .header("content-type", "application/json")
                    .header("content-length", text.len());
                axum::body::Body::from(text.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        // What the edge attaches to every request: here, a client on loopback.
        request
            .extensions_mut()
            .insert(auth_gateway::web::client::ClientInfo {
                ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
                user_agent: None,
                tls: false,
            });
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let name = format!("{} {template}", method.to_uppercase());
        let documented =
            &self.contract.doc["paths"][template][method]["responses"][status.to_string()];
        assert!(
            documented.is_object(),
            "{name} answered {status}, not documented: {text}"
        );
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let media = &documented["content"][&content_type];
        assert!(
            media.is_object(),
            "{name} {status} answered {content_type}, not documented"
        );
        let body = if content_type.starts_with("application/json") {
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}: {text}"))
        } else {
            Value::String(text)
        };
        if let Err(errors) = self.contract.check(&media["schema"], &body) {
            panic!("{name} {status} does not match the document: {errors}\n{body}");
        }
        self.exercised
            .lock()
            .unwrap()
            .insert((template.to_string(), method.to_string()));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `call` where the path is the template.
    pub(crate) async fn at(
        &self,
        method: &str,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Answer {
        let body = body.map(|b| b.to_string());
        self.call(method, path, path, who, body.as_deref()).await
    }

    /// The token of the newest mail to `to` whose link contains `marker`.
    pub(crate) async fn mailed_token(&self, to: &str, marker: &str) -> String {
        for _ in 0..200 {
            if let Some(token) = token_in(&self.outbox, to, marker) {
                return token;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} with {marker}");
    }
}

fn token_in(outbox: &Path, to: &str, marker: &str) -> Option<String> {
    std::fs::read_dir(outbox)
        .ok()?
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .filter(|text| text.contains(to))
        .find_map(|text| {
            let (_, rest) = text.split_once(marker)?;
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            (!token.is_empty()).then_some(token)
        })
}

pub(crate) const ANN_PASSWORD: &str = "violet harbor tumbles";
pub(crate) const BOSS_PASSWORD: &str = "granite lantern orbits slowly";

pub(crate) fn registration(email: &str, username: &str) -> Value {
    json!({
        "email": email, "username": username, "full_name": "Ann Smith",
        "password": ANN_PASSWORD, "password_confirmation": ANN_PASSWORD,
    })
}

/// Registers, verifies and (as `admin`) approves an account; its id.
pub(crate) async fn registered_and_verified(api: &Api, email: &str, username: &str) -> String {
    let registered = api
        .at(
            "post",
            "/api/register",
            As::Anyone,
            Some(registration(email, username)),
        )
        .await
        .data(201);
    let token = api.mailed_token(email, "verify-email?token=").await;
    let verified = api
        .at(
            "post",
            "/api/auth/verify-email",
            As::Anyone,
            Some(json!({ "token": token })),
        )
        .await
        .data(200);
    assert_eq!(verified["status"], "pending");
    registered["user_id"].as_str().unwrap().to_string()
}
