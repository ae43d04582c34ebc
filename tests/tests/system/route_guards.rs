//! The guards of each route that logs people in or guesses at a secret, beyond `/api/auth/login`:
//! a flood from one caller is cut off with 429 on PIN verify, the scan, the phone's sign-in, the
//! admin sign-in, refresh and password reset; and outside operating hours PIN verify, the scan,
//! the phone's sign-in, the login page and refresh answer 503, while the admin endpoints stay up
//! and nothing the closed routes were asked to do was done.
//!
//! Each flood comes from its own loopback address (127.0.0.N), so one route's budget never
//! depends on another's.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::flows::{PASSWORD, active_person, admin_token, qr_challenge, scan, service_key, tokens};
use crate::harness::{Storage, System, json as read};

/// The budget per minute of each limited class in these tests.
const BUDGET: usize = 5;

/// A client whose requests come from `127.0.0.{n}`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// Sends `request()` [`BUDGET`] times, none of which may be refused for the rate, and once more,
/// which must be: 429, `RATE_LIMITED`, `Retry-After`.
async fn flood_is_cut_off(route: &str, request: impl Fn() -> reqwest::RequestBuilder) {
    for attempt in 1..=BUDGET {
        let status = request().send().await.unwrap().status().as_u16();
        assert_ne!(
            status, 429,
            "{route}: attempt {attempt} is within the budget"
        );
    }
    let refused = request().send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429, "{route}: past the budget");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{route}: Retry-After {retry_after}");
    let (_, body) = read(refused).await;
    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{route}: {body}");
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_caller_is_cut_off_on_every_route_that_logs_in() {
    let system = System::start_with_mail(
        Storage::Embedded,
        "[rate_limits]\nlogin_per_minute = 5\nregister_per_minute = 5\npin_per_minute = 5\n\
         scan_per_minute = 5\nservice_per_minute_per_session = 100000\n\
         service_per_minute_per_ip = 100000\n",
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let key = service_key(&system, &admin, "service-b").await;
    let origin = system.url("").trim_end_matches('/').to_string();

    let client = client_from(2);
    flood_is_cut_off("scan", || {
        client
            .post(system.url("/api/auth/qr/scan"))
            .bearer_auth(&access)
            .json(&json!({ "qr_token": "no-such-challenge-0000000000000000000000000" }))
    })
    .await;
    let client = client_from(3);
    flood_is_cut_off("/m/login", || {
        client
            .post(system.url("/m/login"))
            .header("origin", &origin)
            .form(&[("t", "x"), ("login", "nobody-here"), ("password", "not it")])
    })
    .await;
    let client = client_from(4);
    flood_is_cut_off("admin login", || {
        client
            .post(system.url("/api/admin/login"))
            .json(&json!({ "username": "nobody-here", "password": "not it" }))
    })
    .await;
    let client = client_from(5);
    flood_is_cut_off("refresh", || {
        client
            .post(system.url("/api/auth/refresh"))
            .json(&json!({ "refresh_token": "not-a-refresh-token-000000000000000000000" }))
    })
    .await;
    let client = client_from(6);
    flood_is_cut_off("password reset", || {
        client.post(system.url("/api/auth/password/reset")).json(
            &json!({ "token": "not-a-reset-token-00000000000000000000000",
                           "new_password": "a fresh long password" }),
        )
    })
    .await;
    let client = client_from(7);
    flood_is_cut_off("forgotten password", || {
        client
            .post(system.url("/api/auth/password/forgot"))
            .json(&json!({ "email": "nobody-here@example.com" }))
    })
    .await;

    // Wrong PINs from one caller: whatever the limit is keyed on, a flood is cut off, by the rate
    // (429) or by the challenge dying after five wrong PINs, and then the right PIN is no use.
    let challenge = qr_challenge(&system, &key).await;
    let pin = scan(&system, &access, &challenge).await["pin"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = if pin == "000000" { "000001" } else { "000000" };
    let client = client_from(8);
    let verify = |pin: &str| {
        client
            .post(system.url("/api/auth/pin/verify"))
            .header("x-api-key", &key)
            .json(&json!({ "qr_token": challenge, "pin": pin }))
            .send()
    };
    let mut judged = 0;
    let mut stopped = None;
    for attempt in 1..=20 {
        let (status, body) = read(verify(wrong).await.unwrap()).await;
        match (status, code(&body)) {
            (401, Some("PIN_INVALID")) => judged += 1,
            (429, Some("RATE_LIMITED")) | (_, Some("QR_LOCKED")) => {
                stopped = Some(attempt);
                break;
            }
            other => panic!("wrong PIN {attempt}: {other:?} {body}"),
        }
    }
    assert!(stopped.is_some(), "twenty wrong PINs were all judged");
    assert!(judged <= 5, "{judged} wrong PINs were judged");
    let (status, body) = read(verify(&pin).await.unwrap()).await;
    assert!(
        matches!(
            (status, code(&body)),
            (429, Some("RATE_LIMITED")) | (_, Some("QR_LOCKED"))
        ),
        "the right PIN after the flood: {status} {body}"
    );
}

/// Open only on tomorrow's weekday: closed now, whatever the time.
fn closed_now() -> Value {
    let tomorrow = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(Timestamp::now() + 24.hours())
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_monday_zero_offset()
        as usize];
    json!({ tomorrow: { "open": "09:00", "close": "17:00" } })
}

fn open_always() -> Value {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|day| {
            (
                day.to_string(),
                json!({ "open": "00:00", "close": "24:00" }),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn set_schedule(system: &System, admin: &str, weekly: Value) -> u16 {
    system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(admin),
            Some(
                json!({ "timezone": "UTC", "weekly": weekly, "exceptions": [],
                         "warning_minutes": 15 }),
            ),
        )
        .await
        .0
}

/// 503 `SYSTEM_CLOSED` with a `Retry-After`.
async fn assert_closed(what: &str, response: reqwest::Response) {
    assert_eq!(response.status().as_u16(), 503, "{what}");
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0,
        "{what}"
    );
    let (_, body) = read(response).await;
    assert_eq!(code(&body), Some("SYSTEM_CLOSED"), "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_hours_refuse_every_login_route_while_admin_endpoints_stay_up() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let login = tokens(&system, &person).await;
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let key = service_key(&system, &admin, "service-b").await;
    let scanned = qr_challenge(&system, &key).await;
    let pin = scan(&system, &access, &scanned).await["pin"].clone();
    let unscanned = qr_challenge(&system, &key).await;
    let origin = system.url("").trim_end_matches('/').to_string();

    assert_eq!(set_schedule(&system, &admin, closed_now()).await, 200);
    let client = system.client();
    let verify = || {
        client
            .post(system.url("/api/auth/pin/verify"))
            .header("x-api-key", &key)
            .json(&json!({ "qr_token": scanned, "pin": pin }))
            .send()
    };
    let scan_it = || {
        client
            .post(system.url("/api/auth/qr/scan"))
            .bearer_auth(&access)
            .json(&json!({ "qr_token": unscanned }))
            .send()
    };
    let refresh_it = || {
        client
            .post(system.url("/api/auth/refresh"))
            .json(&json!({ "refresh_token": refresh }))
            .send()
    };
    assert_closed("PIN verify", verify().await.unwrap()).await;
    assert_closed("scan", scan_it().await.unwrap()).await;
    assert_closed(
        "/m/login",
        client
            .post(system.url("/m/login"))
            .header("origin", &origin)
            .form(&[
                ("t", "x"),
                ("login", &person.username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_closed(
        "/login",
        client
            .get(system.url("/login?service=service-b&return_to=/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_closed("refresh", refresh_it().await.unwrap()).await;

    // Admins still sign in, read and change the schedule.
    let (second_admin, _) = admin_token(&system, "admin").await;
    assert_eq!(
        system.get_as("/api/admin/users", &second_admin).await.0,
        200
    );
    assert_eq!(system.get("/api/admin/schedule").await.0, 401);
    assert_eq!(system.get_as("/api/admin/schedule", &admin).await.0, 200);
    assert_eq!(set_schedule(&system, &admin, open_always()).await, 200);

    // Nothing the closed routes were asked for was done or spent: the same PIN, challenge and
    // refresh token work once open.
    let (status, body) = read(verify().await.unwrap()).await;
    assert_eq!(status, 200, "PIN verify once open: {body}");
    let (status, body) = read(scan_it().await.unwrap()).await;
    assert_eq!(status, 200, "scan once open: {body}");
    let (status, body) = read(refresh_it().await.unwrap()).await;
    assert_eq!(status, 200, "refresh once open: {body}");
}
