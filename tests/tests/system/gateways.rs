//! Two gateways sharing one PostgreSQL and one Redis, as several instances behind a load balancer
//! run: a change made through one (a service registered or disabled, the schedule, a signing key
//! rotated, a session revoked) is seen by the other within moments. Each gateway also reloads on a
//! timer (15 to 30 seconds), so a wait shorter than that is answered by the announcement alone;
//! every change is made twice where it can be, so a timer that happens to fire during one wait
//! does not hide a lost announcement.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use auth_test_support::{EchoService, GatewayProcess, free_port, run_gateway_command};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::flows::{PASSWORD, active_person, admin_token, qr_session, tokens};
use crate::harness::{Storage, System, json as read};

/// How long a change may take to reach the other gateway.
const WITHIN: Duration = Duration::from_secs(5);

/// Asks `ask` until `wanted` holds for its answer, for at most [`WITHIN`]; the last answer.
async fn until<F, Fut>(what: &str, ask: F, wanted: impl Fn(u16, &Value) -> bool) -> (u16, Value)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (u16, Value)>,
{
    let deadline = Instant::now() + WITHIN;
    loop {
        let (status, body) = ask().await;
        if wanted(status, &body) {
            return (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {WITHIN:?}; last answer {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A gateway (with ServiceB and AppC) on a fresh database and the shared Redis, and a second
/// gateway with the same configuration, so the same database, Redis prefix and master key.
fn two_gateways() -> (System, GatewayProcess) {
    let first = System::start_with_mail(Storage::shared_servers(), "");
    let port = first.gateway.port;
    let config = std::fs::read_to_string(first.config_path())
        .unwrap()
        .replace(&format!("127.0.0.1:{port}\""), "127.0.0.1:{port}\"");
    let second = GatewayProcess::start_on(free_port(), &config, &[]);
    (first, second)
}

/// GET `path` on `host`, through the gateway on `port`, with an optional bearer.
async fn get(port: u16, host: &str, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .resolve(host, SocketAddr::from(([127, 0, 0, 1], port)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut request = client.get(format!("http://{host}:{port}{path}"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}

/// POST a JSON `body` to a path of the gateway on `port`.
async fn post(port: u16, path: &str, body: Value) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    read(
        client
            .post(format!("http://127.0.0.1:{port}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_and_schedule_changes_through_one_gateway_reach_the_other() {
    let (first, second) = two_gateways();
    let (admin, _) = admin_token(&first, "admin").await;
    let reports = EchoService::start_as("app-c", &first.url(""), Some("reports"));
    let at_second = || get(second.port, "reports.localhost", "/", None);
    let (status, body) = at_second().await;
    assert_eq!((status, code(&body)), (421, Some("UNKNOWN_HOST")), "{body}");

    let (status, body) = first
        .post(
            "/api/services/register",
            Some(&admin),
            json!({ "name": "Reports", "slug": "reports", "hosts": ["reports.localhost"],
                    "upstreams": [reports.addr()] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Routed: a request without a credential is now the service's to refuse.
    until("the new service", at_second, |status, _| status == 401).await;

    for (action, wanted) in [("disable", 503), ("enable", 401)] {
        let (status, body) = first
            .post(
                &format!("/api/services/reports/{action}"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{action}: {body}");
        let (_, body) = until(action, at_second, |status, _| status == wanted).await;
        if wanted == 503 {
            assert_eq!(code(&body), Some("SERVICE_DISABLED"), "{body}");
        }
    }

    // Closed all week but tomorrow, then open around the clock again.
    let tomorrow = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(Timestamp::now() + 24.hours())
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_monday_zero_offset()
        as usize];
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
    let status_at_second = || get(second.port, "127.0.0.1", "/api/system/status", None);
    for (weekly, wanted) in [
        (
            json!({ tomorrow: { "open": "09:00", "close": "17:00" } }),
            "closed",
        ),
        (Value::Object(every_day), "open"),
    ] {
        let (status, body) = first
            .call(
                reqwest::Method::PUT,
                "/api/admin/schedule",
                Some(&admin),
                Some(
                    json!({ "timezone": "UTC", "weekly": weekly, "exceptions": [],
                             "warning_minutes": 15 }),
                ),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        until(
            &format!("the schedule ({wanted})"),
            status_at_second,
            |_, body| body["data"]["status"] == wanted,
        )
        .await;
        if wanted == "closed" {
            let (status, body) = post(
                second.port,
                "/api/auth/login",
                json!({ "login": "someone", "password": "anything" }),
            )
            .await;
            assert_eq!(
                (status, code(&body)),
                (503, Some("SYSTEM_CLOSED")),
                "{body}"
            );
        }
    }
}

/// The `kid` a token was signed with.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotations_and_revocations_reach_every_gateway() {
    let (first, second) = two_gateways();
    let (admin, _) = admin_token(&first, "admin").await;
    let person = active_person(&first, &admin).await;
    let jwks_at_second = || get(second.port, "127.0.0.1", "/.well-known/jwks.json", None);
    let (_, jwks) = jwks_at_second().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");

    // Each rotation (on the command line, with the first gateway's configuration) is announced;
    // the second gateway then publishes the new key and signs with it, and the first accepts
    // what it signed.
    for keys in [2, 3] {
        let (code, output) = run_gateway_command(
            &["--config", &first.config_path(), "keys", "rotate"],
            &[],
            "",
        );
        assert_eq!(code, 0, "{output}");
        let (_, jwks) = until("the rotated key", jwks_at_second, |_, jwks| {
            jwks["keys"].as_array().is_some_and(|k| k.len() == keys)
        })
        .await;
        let (status, body) = post(
            second.port,
            "/api/auth/login",
            json!({ "login": person.username, "password": PASSWORD }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let access = body["data"]["access_token"].as_str().unwrap();
        let newest = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        assert!(newest.contains(&kid_of(access)), "{newest:?}");
        let (_, first_jwks) = first.get("/.well-known/jwks.json").await;
        assert_eq!(first_jwks["keys"].as_array().unwrap().len(), keys);
        assert_eq!(first.get_as("/api/users/me", access).await.0, 200);
    }
    let access = tokens(&first, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get(second.port, "127.0.0.1", "/api/users/me", Some(&access))
            .await
            .0,
        200
    );

    // A session made through the first gateway works through the second until an admin of the
    // first revokes it; then at once it is refused there too.
    let session = qr_session(&first, &admin, &person, "service-b").await;
    let at_second = || get(second.port, "service-b.localhost", "/", Some(&session));
    let (status, body) = at_second().await;
    assert_eq!(
        (status, &body["service"]),
        (200, &json!("ServiceB")),
        "{body}"
    );
    let (_, info) = first.get_as("/api/auth/session", &session).await;
    let id = info["data"]["session"]["id"].as_str().unwrap();
    let (status, body) = first
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = at_second().await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
    // Logging out everywhere through the first gateway ends the person's access at the second.
    let (status, body) = first
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions?user_id={}", person.user_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(second.port, "127.0.0.1", "/api/users/me", Some(&access)).await;
    assert_eq!(status, 401);
    let (status, _) = post(
        second.port,
        "/api/auth/login",
        json!({ "login": person.username, "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200);
}
