//! Webhooks against a real HTTP receiver started here: signed, retried after a 500 with the same
//! event id, logged for admins, old entries removed, and on PostgreSQL two gateways sharing the
//! database never deliver one event twice.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_core::accounts::Registration;
use auth_core::events::webhooks::signature;
use auth_core::page::PageRequest;
use auth_core::secret::Secret;
use auth_core::{AuthCore, Clock, config};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::SignedDuration;

use crate::core_test;
use crate::harness::{Backend, PASSWORD, TestCore};

const SECRET: &str = "receiver-shared-signing-secret";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_string()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn signature_verifies(&self, now: i64) -> bool {
        signature::verify(
            SECRET.as_bytes(),
            &self.header(signature::TIMESTAMP_HEADER),
            &self.header(signature::SIGNATURE_HEADER),
            &self.body,
            now,
            300,
        )
        .is_ok()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once they run out.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        receiver.answers.lock().unwrap().extend(answers);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, addr)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn take(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.got.lock().unwrap().push(Received { headers, body });
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

/// The `[[webhooks]]` of a receiver at `addr`, with the secret in a file under `dir`.
fn webhook_toml(dir: &std::path::Path, addr: SocketAddr, events: &str) -> String {
    let secret = dir.join("hook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    format!(
        "[[webhooks]]\nname = \"receiver\"\nurl = \"http://{addr}/hook\"\n\
         secret_file = \"{}\"\nevents = {events}\n",
        secret.display()
    )
}

async fn start(backend: Backend, addr: SocketAddr, events: &str) -> (TestCore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let t = TestCore::start_with(backend, &webhook_toml(dir.path(), addr, events)).await;
    (t, dir)
}

async fn outbox_rows(core: &AuthCore) -> i64 {
    core.stores()
        .db
        .query_one("SELECT COUNT(*) AS n FROM event_outbox", vec![])
        .await
        .unwrap()
        .get("n")
        .unwrap()
}

async fn signed_retried_and_logged(backend: Backend) {
    let (receiver, addr) = Receiver::start(&[500]).await;
    let (t, _dir) = start(backend, addr, "[\"user.approved\"]").await;
    let user = t.active_user("ann").await;
    let hooks = t.core.webhooks();

    hooks.run_once().await.unwrap();
    let first = receiver.got();
    assert_eq!(first.len(), 1, "one attempt, answered 500");
    let now = t.clock.now().as_second();
    assert!(first[0].signature_verifies(now));
    let body = first[0].json();
    assert_eq!(body["type"], "user.approved");
    assert_eq!(body["data"]["user_id"], user.to_string());
    assert_eq!(body["id"], first[0].header(signature::ID_HEADER));

    // Not due again until the backoff has passed.
    hooks.run_once().await.unwrap();
    assert_eq!(receiver.got().len(), 1);
    t.clock.advance(SignedDuration::from_secs(6));
    hooks.run_once().await.unwrap();
    let got = receiver.got();
    assert_eq!(got.len(), 2, "retried after the 500");
    assert_eq!(
        got[1].header(signature::ID_HEADER),
        got[0].header(signature::ID_HEADER),
        "the dedup id stays the same across retries"
    );
    assert_eq!(got[1].body, got[0].body, "the same body on every retry");
    assert!(got[1].signature_verifies(t.clock.now().as_second()));
    // A tampered body does not verify.
    let mut tampered = got[1].clone();
    tampered.body = Bytes::from(got[1].body.to_vec().repeat(2));
    assert!(!tampered.signature_verifies(t.clock.now().as_second()));

    // Delivered: nothing more goes out.
    t.clock.advance(SignedDuration::from_hours(1));
    hooks.run_once().await.unwrap();
    assert_eq!(receiver.got().len(), 2);

    let reader = t.reader().await;
    let log = hooks
        .attempts(
            &reader,
            Some("receiver".into()),
            None,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(log.total, 2);
    assert_eq!(log.items[0].outcome, "delivered");
    assert_eq!(log.items[0].status, Some(200));
    assert_eq!(log.items[0].attempt, 2);
    assert_eq!(log.items[1].outcome, "retrying");
    assert_eq!(log.items[1].status, Some(500));
    assert_eq!(log.items[1].event_id, log.items[0].event_id);
    assert!(log.items[1].error.as_deref().unwrap().contains("500"));
    let other = hooks
        .attempts(&reader, Some("nobody".into()), None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(other.total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_signed_retried_and_logged_embedded() {
    signed_retried_and_logged(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_signed_retried_and_logged_postgres() {
    signed_retried_and_logged(Backend::PostgresRedis).await;
}

async fn gives_up_and_sweeps(backend: Backend) {
    let (receiver, addr) = Receiver::start(&[503, 503, 503]).await;
    let (t, _dir) = start(
        backend,
        addr,
        "[\"user.registered\"]\n[events]\nwebhook_max_attempts = 3\nretention_days = 7\n\
         delivery_log_days = 30\n",
    )
    .await;
    t.active_user("bob").await;
    let hooks = t.core.webhooks();
    for _ in 0..3 {
        hooks.run_once().await.unwrap();
        t.clock.advance(SignedDuration::from_mins(5));
    }
    hooks.run_once().await.unwrap();
    assert_eq!(receiver.got().len(), 3, "three attempts, then given up");
    let reader = t.reader().await;
    let log = hooks
        .attempts(&reader, None, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(log.items[0].outcome, "given_up");

    // Events fanned out (registered, verified, approved) stay within the retention period.
    let events = outbox_rows(&t.core).await;
    assert!(events >= 3, "{events}");
    hooks.sweep().await.unwrap();
    assert_eq!(outbox_rows(&t.core).await, events);
    t.clock.advance(SignedDuration::from_hours(24 * 8));
    hooks.sweep().await.unwrap();
    let left = outbox_rows(&t.core).await;
    // With Redis an event also waits to be published to the stream (not running here).
    if t.core.shared_redis().is_none() {
        assert_eq!(left, 0, "delivered events removed after retention_days");
    }
    let log = hooks
        .attempts(&reader, None, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(log.total, 3, "the log outlives the events");
    t.clock.advance(SignedDuration::from_hours(24 * 30));
    hooks.sweep().await.unwrap();
    let log = hooks
        .attempts(&reader, None, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(log.total, 0, "log entries removed after delivery_log_days");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gives_up_and_old_entries_go_embedded() {
    gives_up_and_sweeps(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gives_up_and_old_entries_go_postgres() {
    gives_up_and_sweeps(Backend::PostgresRedis).await;
}

core_test!(events_without_webhooks_are_drained_from_the_outbox, |t| {
    t.active_user("cyd").await;
    assert!(outbox_rows(&t.core).await > 0);
    t.core.webhooks().run_once().await.unwrap();
    t.clock.advance(SignedDuration::from_hours(24 * 8));
    t.core.webhooks().sweep().await.unwrap();
    if t.core.shared_redis().is_none() {
        assert_eq!(
            outbox_rows(&t.core).await,
            0,
            "nothing waits forever without Redis"
        );
    }
});

/// Two gateways on one PostgreSQL database deliver each event exactly once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_on_postgres_deliver_each_event_once() {
    let (receiver, addr) = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let url =
        tokio::task::spawn_blocking(|| auth_test_support::Postgres::shared().create_database())
            .await
            .unwrap();
    let toml = format!(
        "[storage]\nbackend = \"postgres\"\ndata_dir = \"{}\"\n[storage.postgres]\nurl = \"{url}\"\n{}",
        dir.path().display(),
        webhook_toml(dir.path(), addr, "[\"user.registered\"]")
    );
    let clock = auth_core::ManualClock::new("2026-03-02T10:00:00Z".parse().unwrap());
    let one = AuthCore::open(config::from_toml(&toml).unwrap(), clock.clone())
        .await
        .unwrap();
    let two = AuthCore::open(config::from_toml(&toml).unwrap(), clock.clone())
        .await
        .unwrap();
    const USERS: usize = 12;
    for i in 0..USERS {
        one.accounts()
            .register(
                Registration {
                    email: format!("u{i}@example.com"),
                    username: format!("user{i}"),
                    full_name: "Test Person".into(),
                    password: Secret::new(PASSWORD),
                    password_confirmation: Secret::new(PASSWORD),
                },
                &TestCore::context(),
            )
            .await
            .unwrap();
    }
    // Both gateways run their passes at the same time, several times over.
    for _ in 0..5 {
        let (a, b) = tokio::join!(one.webhooks().run_once(), two.webhooks().run_once());
        a.unwrap();
        b.unwrap();
    }
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for got in receiver.got() {
        *per_event
            .entry(got.header(signature::ID_HEADER))
            .or_default() += 1;
    }
    assert_eq!(per_event.len(), USERS, "every event delivered");
    assert!(
        per_event.values().all(|n| *n == 1),
        "no event delivered twice: {per_event:?}"
    );
}

async fn lockout_and_revocation_are_announced(backend: Backend) {
    let (receiver, addr) = Receiver::start(&[]).await;
    let (t, _dir) = start(backend, addr, "[\"user.locked\", \"session.revoked\"]").await;
    let user = t.active_user("dora").await;
    let creds = t.core.credentials();
    creds
        .login(
            auth_core::credentials::LoginRequest {
                login: "dora".into(),
                password: Secret::new(PASSWORD),
            },
            &TestCore::context(),
        )
        .await
        .unwrap();
    for _ in 0..5 {
        let _ = creds
            .login(
                auth_core::credentials::LoginRequest {
                    login: "dora".into(),
                    password: Secret::new("not the password at all"),
                },
                &TestCore::context(),
            )
            .await;
    }
    let admin = t.admin().await;
    let ended = t
        .core
        .sessions()
        .end_all_by_admin(&admin, user, &TestCore::context())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    t.core.webhooks().run_once().await.unwrap();
    let bodies: Vec<serde_json::Value> = receiver.got().iter().map(Received::json).collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.locked", "session.revoked"], "{bodies:?}");
    assert_eq!(bodies[0]["data"]["method"], "password");
    assert_eq!(bodies[0]["data"]["user_id"], user.to_string());
    assert_eq!(bodies[1]["data"]["subject_id"], user.to_string());
    assert!(bodies[1]["data"]["revoked_by"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_and_revocation_are_announced_embedded() {
    lockout_and_revocation_are_announced(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_and_revocation_are_announced_postgres() {
    lockout_and_revocation_are_announced(Backend::PostgresRedis).await;
}
