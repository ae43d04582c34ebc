//! Routing to services registered through the admin API: changes apply without a restart, several
//! upstreams share a service's traffic, and health checks leave out the dead ones.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use auth_test_support::{EchoService, free_port};
use serde_json::{Value, json};

use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System, json as read};

/// A client that resolves `host` to the gateway.
fn client_for(system: &System, host: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(
            host,
            std::net::SocketAddr::from(([127, 0, 0, 1], system.gateway.port)),
        )
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn services_follow_the_admin_api_without_a_restart() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let reports = EchoService::start_as("app-c", &system.url(""), Some("reports"));
    let dead_port = free_port();
    for (slug, upstream) in [
        ("reports", reports.addr()),
        ("dead", format!("127.0.0.1:{dead_port}")),
    ] {
        let (status, body) = system
            .post(
                "/api/services/register",
                Some(&admin),
                json!({ "name": slug, "slug": slug, "hosts": [format!("{slug}.localhost")], "upstreams": [upstream] }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let session = qr_session(&system, &admin, &person, "reports").await;
    let reports_client = client_for(&system, "reports.localhost");
    let url = format!("http://reports.localhost:{}/", system.gateway.port);
    // The new service is routed within moments, without a restart.
    let (status, body) =
        ask_until(&reports_client, &url, &session, |status, _| status != 421).await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/")), "{body}");

    // The change is announced to every gateway, which swaps its route table within moments.
    assert_eq!(
        system
            .post("/api/services/reports/disable", Some(&admin), json!({}))
            .await
            .0,
        200
    );
    let (status, body) =
        ask_until(&reports_client, &url, &session, |status, _| status == 503).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("SERVICE_DISABLED")),
        "still routed after being disabled: {body}"
    );

    // An upstream nobody listens on is found unhealthy by the health checks; until then the
    // requests sent to it fail as a bad gateway.
    let dead = qr_session(&system, &admin, &person, "dead").await;
    let dead_url = format!("http://dead.localhost:{}/", system.gateway.port);
    let (status, body) = ask_until(
        &client_for(&system, "dead.localhost"),
        &dead_url,
        &dead,
        |status, body| {
            assert!(matches!(status, 502 | 503), "{status} {body}");
            status == 503
        },
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("NO_HEALTHY_UPSTREAM")),
        "the dead upstream was never marked unhealthy: {body}"
    );
}

/// Asks `url` with `token` until `wanted` holds for the answer, for at most ten seconds; returns
/// the last answer.
async fn ask_until(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    wanted: impl Fn(u16, &Value) -> bool,
) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = read(client.get(url).bearer_auth(token).send().await.unwrap()).await;
        if wanted(status, &body) || Instant::now() > deadline {
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn several_upstreams_share_the_traffic_and_a_dead_one_is_left_out() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    // Two different programs serving the same service, so each answer says which one it was.
    let first = EchoService::start_as("service-b", &system.url(""), Some("pair"));
    let second = EchoService::start_as("app-c", &system.url(""), Some("pair"));
    let dead = format!("127.0.0.1:{}", free_port());
    let (status, body) = system
        .post(
            "/api/services/register",
            Some(&admin),
            json!({ "name": "pair", "slug": "pair", "hosts": ["pair.localhost"],
                    "upstreams": [first.addr(), second.addr(), dead] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let session = qr_session(&system, &admin, &person, "pair").await;
    let client = client_for(&system, "pair.localhost");
    let url = format!("http://pair.localhost:{}/", system.gateway.port);

    // Until the health checks have found the dead upstream, some requests may fail on it; after
    // that, a run of requests all succeed and both live upstreams take turns.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut served: HashMap<String, usize> = HashMap::new();
    let mut in_a_row = 0;
    while in_a_row < 20 {
        assert!(
            Instant::now() < deadline,
            "never 20 answers in a row: {served:?}"
        );
        let (status, body) =
            read(client.get(&url).bearer_auth(&session).send().await.unwrap()).await;
        if status == 200 {
            in_a_row += 1;
            *served
                .entry(body["service"].as_str().unwrap().to_string())
                .or_default() += 1;
        } else {
            assert_eq!(status, 502, "only the dead upstream may fail: {body}");
            in_a_row = 0;
            served.clear();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert_eq!(served.len(), 2, "both live upstreams answer: {served:?}");
    assert!(served.values().all(|&n| n >= 5), "{served:?}");
}
