//! The tower layer and the axum extractors, in a service served over real HTTP.

use auth_sdk::{AuthLayer, AuthRejection, AuthUser, RequireRole, Role, Verifier};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Gateway, START, Signer, TestClock, assertion, claims};

struct Admin;
impl Role for Admin {
    const NAME: &'static str = "admin";
}

async fn me(user: AuthUser) -> Json<Value> {
    Json(json!({ "user_id": user.user_id, "username": user.username, "kind": user.kind }))
}

async fn purge(admin: RequireRole<Admin>) -> String {
    format!("purged by {}", admin.user_id)
}

async fn edit(user: AuthUser) -> Result<&'static str, AuthRejection> {
    user.require_role("editor")?;
    Ok("edited")
}

async fn hello(user: Option<AuthUser>) -> String {
    match user {
        Some(user) => format!("hello {}", user.username.as_deref().unwrap_or("?")),
        None => "hello stranger".into(),
    }
}

/// A service behind the layer, on 127.0.0.1; returns its base URL.
async fn serve(verifier: Verifier) -> String {
    let app = Router::new()
        .route("/me", get(me))
        .route("/purge", get(purge))
        .route("/edit", get(edit))
        .route("/hello", get(hello))
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("service") });
    format!("http://{addr}")
}

struct Setup {
    key: Signer,
    service: String,
    client: reqwest::Client,
}

async fn setup() -> Setup {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let service = serve(gateway.verifier(&clock).build().expect("verifier")).await;
    Setup {
        key,
        service,
        client: reqwest::Client::new(),
    }
}

impl Setup {
    async fn get(&self, path: &str, header: Option<(&str, String)>) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.service));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }
}

#[tokio::test]
async fn valid_assertion_reaches_the_handler_with_the_identity() {
    let s = setup().await;
    let claims = assertion(START);
    let (status, body) = s
        .get("/me", Some(("x-auth-assertion", s.key.sign(&claims))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], claims["sub"]);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["kind"], "assertion");
}

#[tokio::test]
async fn bearer_session_token_reaches_the_handler() {
    let s = setup().await;
    let token = s.key.sign(&claims("session", START, 3600));
    let (status, body) = s
        .get("/me", Some(("authorization", format!("Bearer {token}"))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "session");
}

#[tokio::test]
async fn request_without_a_credential_gets_401_json() {
    let s = setup().await;
    let (status, body) = s.get("/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(body["error"]["details"], Value::Null);
}

#[tokio::test]
async fn invalid_assertion_gets_401_json_even_with_a_valid_bearer() {
    let s = setup().await;
    let mut expired = assertion(START - 3600);
    expired["exp"] = json!(START - 3000);
    let (status, body) = s
        .get("/me", Some(("x-auth-assertion", s.key.sign(&expired))))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // A present assertion is the only credential looked at.
    let session = s.key.sign(&claims("session", START, 3600));
    let response = s
        .client
        .get(format!("{}/me", s.service))
        .header("x-auth-assertion", "forged")
        .header("authorization", format!("Bearer {session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_role_gets_403_json() {
    let s = setup().await;
    let user = s.key.sign(&assertion(START));
    for path in ["/purge", "/edit"] {
        let (status, body) = s.get(path, Some(("x-auth-assertion", user.clone()))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "FORBIDDEN");
        assert_eq!(body["error"]["details"], Value::Null);
    }

    let mut admin = assertion(START);
    admin["role"] = json!("admin");
    let (status, body) = s
        .get("/purge", Some(("x-auth-assertion", s.key.sign(&admin))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _) = s.get("/purge", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no identity is 401, not 403"
    );
}

#[tokio::test]
async fn optional_user_lets_anonymous_requests_through() {
    let s = setup().await;
    let (status, body) = s.get("/hello", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!("hello stranger")));
    let token = s.key.sign(&assertion(START));
    let (_, body) = s.get("/hello", Some(("x-auth-assertion", token))).await;
    assert_eq!(body, json!("hello alice"));
}

#[tokio::test]
async fn unreachable_keys_get_503_not_401() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let verifier = Verifier::builder(url, crate::support::ISSUER, crate::support::SERVICE)
        .build()
        .expect("verifier");
    let service = serve(verifier).await;

    let token = Signer::from_seed(1).sign(&assertion(START));
    let response = reqwest::Client::new()
        .get(format!("{service}/me"))
        .header("x-auth-assertion", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "KEYS_UNAVAILABLE");
}

#[tokio::test]
async fn a_session_token_in_the_named_cookie_is_verified_and_others_are_ignored() {
    let key = Signer::from_seed(1);
    let gateway = Gateway::start(&[&key]).await;
    let clock = TestClock::at(START);
    let verifier = gateway.verifier(&clock).build().expect("verifier");
    let app = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::new(verifier).with_cookie("service_session"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("service") });
    let client = reqwest::Client::new();
    let get = |cookie: String| {
        let request = client.get(format!("{base}/me")).header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    let session = key.sign(&claims("session", START, 600));
    assert_eq!(
        get(format!("theme=dark; service_session={session}")).await,
        StatusCode::OK
    );
    // Only the named cookie counts, and a forged token in it is refused.
    assert_eq!(
        get(format!("other_session={session}")).await,
        StatusCode::UNAUTHORIZED
    );
    let forged = Signer::from_seed(2).sign(&claims("session", START, 600));
    assert_eq!(
        get(format!("service_session={forged}")).await,
        StatusCode::UNAUTHORIZED
    );
    // An access token for the gateway's API is no session here, cookie or not.
    let access = key.sign(&claims("access", START, 600));
    assert_eq!(
        get(format!("service_session={access}")).await,
        StatusCode::UNAUTHORIZED
    );
}
