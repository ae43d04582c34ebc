//! `ServiceClient` against a scripted stand-in for the gateway's API over real HTTP: which calls
//! are tried again and which never are, what is sent, and how refusals and timeouts come back.
//! The QR + PIN flow against the real gateway is in the system tests (`tests/`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_sdk::{ChallengeStatus, ClientError, QrToken, ServiceClient};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::support::API_KEY;

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    api_key: Option<String>,
    authorization: Option<String>,
    body: Option<Value>,
}

/// An answer to give: status, body, and `Retry-After`; `None` for the body hangs instead.
type Scripted = (u16, Option<Value>, Option<u64>);

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Scripted>>,
    seen: Mutex<Vec<Seen>>,
}

/// Answers every request with the next scripted answer (the last one again when they run out).
struct StandIn {
    url: String,
    script: Arc<Script>,
}

impl StandIn {
    async fn start(answers: Vec<Scripted>) -> StandIn {
        let script = Arc::new(Script {
            answers: Mutex::new(answers.into()),
            seen: Mutex::default(),
        });
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { url, script }
    }

    fn client(&self) -> ServiceClient {
        ServiceClient::builder(&self.url, API_KEY)
            .retry_backoff(Duration::from_millis(1))
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.seen.lock().unwrap().clone()
    }
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    script.seen.lock().unwrap().push(Seen {
        method,
        path: uri.path().to_owned(),
        api_key: header("x-api-key"),
        authorization: header("authorization"),
        body: serde_json::from_slice(&body).ok(),
    });
    let next = {
        let mut answers = script.answers.lock().unwrap();
        if answers.len() > 1 {
            answers.pop_front()
        } else {
            answers.front().cloned()
        }
    };
    let Some((status, body, retry_after)) = next else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(body) = body else {
        // Never answers: the client's timeout must end the call.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    response
}

fn refusal(code: &str, details: Value) -> Option<Value> {
    Some(json!({ "success": false, "error": { "code": code, "message": "m", "details": details } }))
}

fn ok(data: Value) -> Option<Value> {
    Some(json!({ "success": true, "data": data }))
}

fn unavailable() -> Scripted {
    (503, refusal("SERVICE_UNAVAILABLE", Value::Null), None)
}

fn token(text: &str) -> QrToken {
    QrToken::from(text.to_string())
}

#[tokio::test]
async fn a_status_read_is_tried_again_until_the_gateway_answers() {
    let gateway = StandIn::start(vec![
        unavailable(),
        (502, Some(json!("bad gateway")), None),
        (
            200,
            ok(json!({ "status": "scanned", "service": "service-d" })),
            None,
        ),
    ])
    .await;
    let status = gateway.client().status(&token("qr-1")).await;
    assert_eq!(status, Ok(ChallengeStatus::Scanned));
    let seen = gateway.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.path == "/api/auth/qr/qr-1/status" && s.api_key.as_deref() == Some(API_KEY))
    );
}

#[tokio::test]
async fn reads_give_up_after_the_configured_retries() {
    let gateway = StandIn::start(vec![unavailable()]).await;
    let client = ServiceClient::builder(&gateway.url, API_KEY)
        .retries(1)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let refused = client.status(&token("qr-1")).await;
    assert_eq!(refused, Err(ClientError::Unavailable { retry_after: None }));
    assert_eq!(gateway.seen().len(), 2);
}

#[tokio::test]
async fn a_pin_is_sent_once_whatever_happens() {
    let gateway = StandIn::start(vec![unavailable()]).await;
    let refused = gateway
        .client()
        .verify_pin(&token("qr-1"), "123456")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "SERVICE_UNAVAILABLE");
    let seen = gateway.seen();
    assert_eq!(seen.len(), 1, "a PIN sent twice is two tries: {seen:?}");
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(seen[0].path, "/api/auth/pin/verify");
    assert_eq!(
        seen[0].body,
        Some(json!({ "qr_token": "qr-1", "pin": "123456" }))
    );

    let hanging = StandIn::start(vec![(200, None, None)]).await;
    let timed_out = hanging
        .client()
        .verify_pin(&token("qr-1"), "123456")
        .await
        .unwrap_err();
    assert_eq!(timed_out.code(), "TRANSPORT_ERROR", "{timed_out}");
    assert!(timed_out.to_string().contains("timed out"), "{timed_out}");
    assert_eq!(hanging.seen().len(), 1);
}

#[tokio::test]
async fn a_new_challenge_is_not_asked_twice_once_the_request_went_out() {
    let gateway = StandIn::start(vec![unavailable()]).await;
    let refused = gateway
        .client()
        .start_login(Some("203.0.113.7".parse().unwrap()), Some("Firefox/128"))
        .await;
    assert_eq!(
        refused.unwrap_err(),
        ClientError::Unavailable { retry_after: None }
    );
    let seen = gateway.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/api/auth/qr/generate");
    assert_eq!(
        seen[0].body,
        Some(json!({ "client_ip": "203.0.113.7", "user_agent": "Firefox/128" }))
    );
}

#[tokio::test]
async fn calls_that_reach_no_gateway_fail_as_transport_errors() {
    // A port nothing listens on: bound, then closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = ServiceClient::builder(format!("http://127.0.0.1:{port}"), API_KEY)
        .retry_backoff(Duration::from_millis(1))
        .build()
        .unwrap();
    let refused = client.start_login(None, None).await.unwrap_err();
    assert_eq!(refused.code(), "TRANSPORT_ERROR");
    assert!(
        refused.to_string().contains("could not connect"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_challenge_and_a_login_come_back_typed() {
    let gateway = StandIn::start(vec![(
        201,
        ok(json!({
            "qr_token": "qr-abc",
            "scan_url": "http://gateway/m/scan?t=qr-abc",
            "qr_svg": "<svg/>",
            "qr_png_base64": "iVBORw0KGgo=",
            "expires_in": 120,
        })),
        None,
    )])
    .await;
    let challenge = gateway.client().start_login(None, None).await.unwrap();
    assert_eq!(challenge.token.as_str(), "qr-abc");
    assert_eq!(challenge.expires_in, Duration::from_secs(120));
    assert_eq!(challenge.qr_png().unwrap()[..4], [0x89, b'P', b'N', b'G']);
    assert_eq!(gateway.seen()[0].body, None, "nothing known, nothing sent");

    let user_id = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d11";
    let session_id = "0192f0c1-7a1e-7cc0-9d3c-5b2f0a4e8d12";
    let gateway = StandIn::start(vec![(
        200,
        ok(json!({
            "session_token": "eyJ.session.token",
            "expires_in": 1800,
            "session_id": session_id,
            "user_info": { "user_id": user_id, "username": "ann", "email": "ann@example.com",
                           "full_name": "Ann Example" },
        })),
        None,
    )])
    .await;
    let login = gateway
        .client()
        .verify_pin(&challenge.token, "123456")
        .await
        .unwrap();
    assert_eq!(login.session_token.as_str(), "eyJ.session.token");
    assert_eq!(login.session_id.to_string(), session_id);
    assert_eq!(login.person.full_name, "Ann Example");
    assert!(!format!("{login:?}").contains("eyJ.session.token"));
}

#[tokio::test]
async fn refusals_carry_what_the_page_shows() {
    let gateway = StandIn::start(vec![
        (
            401,
            refusal("PIN_INVALID", json!({ "attempts_left": 4 })),
            None,
        ),
        (
            429,
            refusal("RATE_LIMITED", json!({ "retry_after_secs": 30 })),
            Some(12),
        ),
        (
            503,
            refusal(
                "SYSTEM_CLOSED",
                json!({ "opens_at": "2030-01-07T08:00:00Z",
                                               "retry_after_secs": 600 }),
            ),
            Some(600),
        ),
    ])
    .await;
    let client = gateway.client();
    let qr = token("qr-1");
    assert_eq!(
        client.verify_pin(&qr, "000000").await.unwrap_err(),
        ClientError::WrongPin { attempts_left: 4 }
    );
    assert_eq!(
        client.verify_pin(&qr, "000000").await.unwrap_err(),
        ClientError::RateLimited {
            retry_after: Duration::from_secs(12)
        },
        "Retry-After wins over the body"
    );
    let closed = client.start_login(None, None).await.unwrap_err();
    assert!(
        matches!(closed, ClientError::Closed { opens_at: Some(_), retry_after } if retry_after.as_secs() == 600),
        "{closed:?}"
    );
    assert_eq!(gateway.seen().len(), 3, "no refusal is tried again");
}

#[tokio::test]
async fn a_token_with_a_slash_stays_in_its_path_segment() {
    let gateway = StandIn::start(vec![(404, refusal("QR_NOT_FOUND", Value::Null), None)]).await;
    let refused = gateway.client().status(&token("a/../b")).await;
    assert_eq!(refused, Err(ClientError::ChallengeNotFound));
    assert_eq!(gateway.seen()[0].path, "/api/auth/qr/a%2F..%2Fb/status");
}

#[tokio::test]
async fn session_calls_send_the_session_token_not_the_api_key() {
    let gateway = StandIn::start(vec![(401, refusal("INVALID_TOKEN", Value::Null), None)]).await;
    let client = gateway.client();
    let session = auth_sdk::SessionToken::from("eyJ.s.t".to_string());
    assert_eq!(
        client.session(&session).await.unwrap_err(),
        ClientError::InvalidSession
    );
    assert_eq!(
        client.logout(&session).await.unwrap_err(),
        ClientError::InvalidSession
    );
    let seen = gateway.seen();
    assert_eq!(seen.len(), 2);
    for call in &seen {
        assert_eq!(call.authorization.as_deref(), Some("Bearer eyJ.s.t"));
        assert_eq!(call.api_key, None);
    }
    assert_eq!(
        (seen[0].method.clone(), seen[0].path.as_str()),
        (Method::GET, "/api/auth/session")
    );
    assert_eq!(
        (seen[1].method.clone(), seen[1].path.as_str()),
        (Method::POST, "/api/auth/logout")
    );
}
