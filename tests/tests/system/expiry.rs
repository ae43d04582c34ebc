//! Expiry and closing time at the edge, through HTTP, on a gateway whose clock the test moves (the
//! gateway built with its test-only `test-clock` feature, as `scripts/test.sh` builds it): a service
//! session ends after 30 minutes and at closing time, a QR code is refused after 2 minutes and its
//! PIN after 5, a locked account opens again after `lock_minutes`, and once the clock passes closing
//! time services answer 503 with `Retry-After`, after a warning on every answer in the last 15
//! minutes. The clock stands still between moves, so every boundary is tested to the second.
//!
//! ServiceB and AppC check the gateway's assertions against their own wall clock, which a moved
//! gateway clock is not; a service reached under a moved clock is therefore a plain one here that
//! counts what reaches it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_test_support::{Smtp, free_port};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::flows::{
    PASSWORD, active_person, admin_token, login, qr_challenge, qr_session, scan, service_key,
    tokens,
};
use crate::harness::{Storage, System, json as read};

/// The control of a gateway's test clock.
pub struct TestClock {
    pub url: String,
    pub client: reqwest::Client,
}

impl TestClock {
    async fn call(&self, request: reqwest::RequestBuilder) -> Timestamp {
        let response = request.send().await.unwrap_or_else(|err| {
            panic!(
                "the gateway's test clock does not answer ({err}): build the gateway with \
                 `cargo build --workspace --bins --features auth-gateway/test-clock` \
                 (scripts/test.sh does)"
            )
        });
        assert_eq!(response.status().as_u16(), 200, "the test clock's answer");
        let body: Value = response.json().await.unwrap();
        body["now"].as_str().unwrap().parse().unwrap()
    }

    pub async fn now(&self) -> Timestamp {
        self.call(self.client.get(format!("{}/clock", self.url)))
            .await
    }

    pub async fn set(&self, at: Timestamp) {
        let now = self
            .call(
                self.client
                    .put(format!("{}/clock", self.url))
                    .json(&json!({ "at": at })),
            )
            .await;
        assert_eq!(now, at);
    }

    pub async fn advance(&self, seconds: i64) {
        self.call(
            self.client
                .post(format!("{}/clock/advance", self.url))
                .json(&json!({ "seconds": seconds })),
        )
        .await;
    }
}

/// A service that answers every request and counts them.
struct Upstream {
    addr: SocketAddr,
    reached: Arc<AtomicUsize>,
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reached = Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let user = request
                    .headers()
                    .get("x-auth-user-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                axum::Json(json!({ "reached": true, "user_id": user }))
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { addr, reached }
    }

    fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }
}

/// A gateway with `toml` whose clock the returned [`TestClock`] sets.
pub fn on_test_clock(storage: Storage<'_>, toml: &str) -> (System, TestClock) {
    let control = format!("127.0.0.1:{}", free_port());
    let system = System::start_with(storage, toml, &[("GATEWAY_TEST_CLOCK", &control)]);
    let clock = TestClock {
        url: format!("http://{control}"),
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    (system, clock)
}

/// A gateway on a test clock with mail to the shared SMTP server, the counting service behind it
/// as `clocked` (host `clocked.localhost`), and `extra_toml`.
async fn start(storage: Storage<'_>, extra_toml: &str) -> (System, TestClock, Upstream) {
    let upstream = Upstream::start().await;
    let toml = format!(
        "[mail]\nsmtp_url = \"smtp://127.0.0.1:{smtp}\"\n{extra_toml}\n\
         [[services]]\nslug = \"clocked\"\nname = \"Clocked\"\nhosts = [\"clocked.localhost\"]\n\
         upstreams = [\"{addr}\"]\n",
        smtp = Smtp::shared().port(),
        addr = upstream.addr,
    );
    let (system, clock) = on_test_clock(storage, &toml);
    (system, clock, upstream)
}

/// GET `/` on the `clocked` service through the gateway, with `session` as bearer.
async fn at_service(system: &System, session: &str) -> reqwest::Response {
    let gateway = SocketAddr::from(([127, 0, 0, 1], system.gateway.port));
    reqwest::Client::builder()
        .resolve("clocked.localhost", gateway)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(system.host_url("clocked.localhost", "/"))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn closing_in(response: &reqwest::Response) -> Option<i64> {
    response
        .headers()
        .get("x-system-closing-in")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_session_ends_after_thirty_minutes_at_the_edge() {
    let (system, clock, upstream) = start(Storage::Embedded, "").await;
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "clocked").await;

    let (status, body) = read(at_service(&system, &session).await).await;
    assert_eq!((status, &body["reached"]), (200, &json!(true)), "{body}");
    assert_eq!(body["user_id"], person.user_id.as_str());

    clock.advance(30 * 60 - 1).await;
    let (status, body) = read(at_service(&system, &session).await).await;
    assert_eq!(status, 200, "one second before its end: {body}");
    assert_eq!(system.get_as("/api/auth/session", &session).await.0, 200);
    assert_eq!(upstream.reached(), 2);

    clock.advance(1).await;
    let (status, body) = read(at_service(&system, &session).await).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
    assert_eq!(
        upstream.reached(),
        2,
        "the ended session reached the service"
    );
    let (status, body) = system.get_as("/api/auth/session", &session).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
}

/// The first Monday after today, at `hour:minute` UTC: ahead of the wall clock, so every token
/// the gateway signs is still within its life for the wall clock too.
pub fn next_monday_at(hour: i8, minute: i8) -> Timestamp {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut day = today.tomorrow().unwrap();
    while day.weekday() != jiff::civil::Weekday::Monday {
        day = day.tomorrow().unwrap();
    }
    day.at(hour, minute, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_time_warns_then_closes_services_and_ends_their_sessions() {
    let (system, clock, upstream) = start(
        Storage::shared_servers(),
        "[schedule]\ntimezone = \"UTC\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
         open = \"09:00\"\nclose = \"17:00\"\nwarning_minutes = 15\n",
    )
    .await;
    let monday = next_monday_at(16, 40);
    let closes_at = monday + 20.minutes();
    clock.set(monday).await;
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "clocked").await;

    // Thirty minutes from 16:40 would pass closing time: the session ends at 17:00 instead.
    let (status, body) = system.get_as("/api/auth/session", &session).await;
    assert_eq!(status, 200, "{body}");
    let expires_at: Timestamp = body["data"]["session"]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires_at, closes_at);

    // No warning until the last fifteen minutes, then on every answer, to the second.
    clock.set(closes_at - 15.minutes() - 1.second()).await;
    let response = at_service(&system, &session).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(closing_in(&response), None);
    let health = system
        .client()
        .get(system.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(closing_in(&health), None);

    clock.set(closes_at - 15.minutes()).await;
    let response = at_service(&system, &session).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(closing_in(&response), Some(900));
    let health = system
        .client()
        .get(system.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(closing_in(&health), Some(900));
    let (_, status) = system.get("/api/system/status").await;
    assert_eq!(
        (
            &status["data"]["warning"],
            &status["data"]["seconds_until_close"]
        ),
        (&json!(true), &json!(900)),
        "{status}"
    );

    clock.set(closes_at - 1.second()).await;
    let response = at_service(&system, &session).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(closing_in(&response), Some(1));
    assert_eq!(upstream.reached(), 3);

    // Closing time: services and logins are refused until Tuesday 09:00, sixteen hours on.
    clock.set(closes_at).await;
    let response = at_service(&system, &session).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "57600");
    let (_, body) = read(response).await;
    assert_eq!(code(&body), Some("SYSTEM_CLOSED"), "{body}");
    let opens_at: Timestamp = body["error"]["details"]["opens_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(opens_at, monday + 16.hours() + 20.minutes());
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!((status, code(&body)), (503, Some("SYSTEM_CLOSED")));
    assert_eq!(upstream.reached(), 3, "a closed service was reached");
    assert_eq!(system.get_as("/api/admin/users", &admin).await.0, 200);

    // Open again around the clock: the session still ended at closing time, a new login works.
    let every_day: serde_json::Map<String, Value> =
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|day| {
                (
                    day.to_string(),
                    json!({ "open": "00:00", "close": "24:00" }),
                )
            })
            .collect();
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(json!({ "timezone": "UTC", "weekly": every_day, "exceptions": [], "warning_minutes": 15 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = read(at_service(&system, &session).await).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
    assert_eq!(upstream.reached(), 3);
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 200);
}

/// Status and body of a service's call with API key `key`.
async fn as_service(system: &System, key: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let request = match body {
        Some(body) => system.client().post(system.url(path)).json(&body),
        None => system.client().get(system.url(path)),
    };
    read(request.header("x-api-key", key).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_qr_code_is_refused_after_two_minutes_and_its_pin_after_five() {
    let (system, clock, _upstream) = start(Storage::Embedded, "").await;
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let key = service_key(&system, &admin, "service-b").await;
    let phone = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Scanned one second before its two minutes are up: the phone gets a PIN.
    let first = qr_challenge(&system, &key).await;
    clock.advance(119).await;
    let pin = scan(&system, &phone, &first).await["pin"].clone();

    // Two minutes after it was made, a QR code is refused, and says so when polled.
    let second = qr_challenge(&system, &key).await;
    clock.advance(120).await;
    let (status, body) = system
        .post(
            "/api/auth/qr/scan",
            Some(&phone),
            json!({ "qr_token": second }),
        )
        .await;
    assert_eq!((status, code(&body)), (410, Some("QR_EXPIRED")), "{body}");
    let (_, body) = as_service(
        &system,
        &key,
        &format!("/api/auth/qr/{second}/status"),
        None,
    )
    .await;
    assert_eq!(body["data"]["status"], "expired", "{body}");

    // The first PIN, one second before its five minutes are up, logs in.
    clock.advance(299 - 120).await;
    let (status, body) = as_service(
        &system,
        &key,
        "/api/auth/pin/verify",
        Some(json!({ "qr_token": first, "pin": pin })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["session_token"].is_string());

    // Five minutes after the scan, a PIN is refused and its challenge has made no session.
    let third = qr_challenge(&system, &key).await;
    let pin = scan(&system, &phone, &third).await["pin"].clone();
    clock.advance(300).await;
    let (status, body) = as_service(
        &system,
        &key,
        "/api/auth/pin/verify",
        Some(json!({ "qr_token": third, "pin": pin })),
    )
    .await;
    assert_eq!((status, code(&body)), (410, Some("PIN_EXPIRED")), "{body}");
    let (_, body) = as_service(&system, &key, &format!("/api/auth/qr/{third}/status"), None).await;
    assert_ne!(body["data"]["status"], "used", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_account_opens_again_after_lock_minutes() {
    let (system, clock, _upstream) =
        start(Storage::Embedded, "[lockout]\nlock_minutes = 7\n").await;
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    // On a whole second, as the lock's end is given to the millisecond.
    let locked_at = Timestamp::from_second(clock.now().await.as_second()).unwrap();
    clock.set(locked_at).await;
    for attempt in 1..=5 {
        let (status, _) = login(&system, &person.username, "not the password").await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(
        (status, code(&body)),
        (423, Some("ACCOUNT_LOCKED")),
        "{body}"
    );
    let until: Timestamp = body["error"]["details"]["locked_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(until, locked_at + SignedDuration::from_mins(7));

    clock.advance(7 * 60 - 1).await;
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(
        (status, code(&body)),
        (423, Some("ACCOUNT_LOCKED")),
        "{body}"
    );
    clock.advance(1).await;
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
}
