//! A stand-in for the gateway, served over real HTTP on 127.0.0.1: a JWKS the test controls (keys,
//! up or down, slow or fast, fetch count) and the session-liveness endpoint. Tokens are signed the
//! way the gateway signs them: jsonwebtoken, EdDSA, `kid` = RFC 7638 thumbprint.
//!
//! Shared by the integration tests and the benchmark.
#![allow(dead_code)] // each user takes what it needs

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_sdk::{Verifier, VerifierBuilder};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "auth-gateway";
pub const SERVICE: &str = "service-b";
pub const API_KEY: &str = "svc_test_key_0123456789";
/// The tests' "now": a fixed instant, moved by hand.
pub const START: i64 = 1_800_000_000;

/// One of the gateway's Ed25519 signing keys.
pub struct Signer {
    signing: SigningKey,
    encoding: EncodingKey,
    kid: String,
}

impl Signer {
    /// A key made from a fixed seed, so runs are reproducible.
    pub fn from_seed(seed: u8) -> Signer {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let der = signing.to_pkcs8_der().expect("pkcs8 encoding");
        let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Signer {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            signing,
            kid,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw public key, as published in `x`.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The JWKS entry, exactly as the gateway publishes it.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.public_bytes()),
        })
    }

    /// Signs `claims` as the gateway does: EdDSA, `kid`, `typ: JWT`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&self.header(), claims)
    }

    /// The gateway's header for this key.
    pub fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header
    }

    /// Signs `claims` with this key under any `header`, for forgeries.
    pub fn sign_with_header(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).expect("signing")
    }
}

/// The claims of a gateway token of `kind` for `SERVICE`, issued at `now`, valid for `ttl` s.
pub fn claims(kind: &str, now: i64, ttl: i64) -> Value {
    json!({
        "iss": ISSUER,
        "sub": uuid::Uuid::now_v7().to_string(),
        "aud": SERVICE,
        "exp": now + ttl,
        "nbf": now,
        "iat": now,
        "jti": uuid::Uuid::now_v7().to_string(),
        "typ": kind,
        "sid": uuid::Uuid::now_v7().to_string(),
        "role": "user",
        "username": "alice",
        "email": "alice@example.com",
        "name": "Alice Example",
    })
}

/// An assertion as the gateway hands it to `SERVICE`: 60 s.
pub fn assertion(now: i64) -> Value {
    claims("assertion", now, 60)
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn at(secs: i64) -> TestClock {
        TestClock(Arc::new(AtomicI64::new(secs)))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn secs(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// The closure the verifier reads.
    pub fn source(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let secs = self.0.clone();
        move || UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst) as u64)
    }
}

#[derive(Default)]
struct GatewayState {
    keys: Mutex<Vec<Value>>,
    jwks_down: AtomicBool,
    jwks_delay_ms: AtomicUsize,
    jwks_fetches: AtomicUsize,
    ended_sessions: Mutex<HashSet<String>>,
    session_checks: AtomicUsize,
}

/// The stand-in gateway, listening on 127.0.0.1 until the test's runtime ends.
#[derive(Clone)]
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<GatewayState>,
}

impl Gateway {
    /// Starts serving, publishing `signers`.
    pub async fn start(signers: &[&Signer]) -> Gateway {
        let state = Arc::new(GatewayState::default());
        let app = Router::new()
            .route("/.well-known/jwks.json", get(jwks))
            .route("/api/auth/sessions/{sid}", get(session_live))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("stand-in gateway");
        });
        let gateway = Gateway { addr, state };
        gateway.publish(signers);
        gateway
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base_url())
    }

    /// A verifier for `SERVICE` with this gateway's JWKS, reading `clock`.
    pub fn verifier(&self, clock: &TestClock) -> VerifierBuilder {
        Verifier::builder(self.jwks_url(), ISSUER, SERVICE).clock(clock.source())
    }

    /// Replaces the published key set.
    pub fn publish(&self, signers: &[&Signer]) {
        *self.state.keys.lock().expect("keys") = signers.iter().map(|s| s.jwk()).collect();
    }

    /// Down: the JWKS endpoint answers 503.
    pub fn set_jwks_down(&self, down: bool) {
        self.state.jwks_down.store(down, Ordering::SeqCst);
    }

    /// Makes every JWKS answer take this long.
    pub fn set_jwks_delay(&self, delay: Duration) {
        self.state
            .jwks_delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }

    /// How many times the JWKS was requested (answered or not).
    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Ends session `sid`: the liveness endpoint reports it not live from now on.
    pub fn end_session(&self, sid: &str) {
        self.state
            .ended_sessions
            .lock()
            .expect("sessions")
            .insert(sid.to_owned());
    }

    /// How many liveness questions were asked.
    pub fn session_checks(&self) -> usize {
        self.state.session_checks.load(Ordering::SeqCst)
    }
}

async fn jwks(State(state): State<Arc<GatewayState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let delay = state.jwks_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    if state.jwks_down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = state.keys.lock().expect("keys").clone();
    Json(json!({ "keys": keys })).into_response()
}

async fn session_live(
    State(state): State<Arc<GatewayState>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.session_checks.fetch_add(1, Ordering::SeqCst);
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        let body = json!({"success": false, "error": {
            "code": "UNAUTHENTICATED", "message": "bad API key", "details": null}});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let live = !state
        .ended_sessions
        .lock()
        .expect("sessions")
        .contains(&sid);
    Json(json!({"success": true, "data": {"live": live}})).into_response()
}

/// A base64url JSON part, for hand-made tokens.
pub fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}
