//! Three gateways on the engines operators run beyond one machine: Redis Sentinel and Redis
//! Cluster for short-lived state, PostgreSQL with a hot standby for durable data. Requests go
//! to a gateway picked at random. On each Redis deployment the gateways act as one: a QR login
//! started on one is finished on the others, a session revoked through one is refused by all,
//! and a shared login budget (the GCRA script) is one budget. On PostgreSQL, the primary is
//! killed and the standby promoted; the gateways carry on, without a restart, within seconds.

use std::time::Duration;

use auth_test_support::{Postgres, PostgresStandby, Redis, RedisCluster, RedisSentinel};
use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fleet::{Fleet, until};
use crate::flows::{
    PASSWORD, Person, active_person, admin_token, new_person_names, registration, service_key,
};
use crate::harness::Storage;

/// Generous budgets, but a small login budget shared through Redis.
const SHARED_LOGIN_BUDGET: u32 = 8;

fn limits_toml() -> String {
    format!(
        "[rate_limits]\nshared = true\nlogin_per_minute = {SHARED_LOGIN_BUDGET}\n\
         register_per_minute = 100000\npin_per_minute = 100000\nscan_per_minute = 100000\n\
         challenge_per_minute = 100000\npoll_per_minute = 100000\n\
         service_per_minute_per_session = 100000\nservice_per_minute_per_ip = 100000\n"
    )
}

/// The `sid` claim of a token.
fn sid(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url claims"),
    )
    .expect("JSON claims");
    claims["sid"].as_str().expect("a sid").to_string()
}

/// A QR login of `person` into ServiceB made across three gateways: the service asks on one, the
/// phone (signed in on another) scans on a second, the PIN is verified on the third.
async fn qr_login_across(fleet: &Fleet, admin: &str, person: &Person) -> String {
    let ports = fleet.ports();
    let key = service_key(&fleet.first, admin, "service-b").await;
    let challenge: Value = Fleet::client(ports[0])
        .post(format!(
            "http://127.0.0.1:{}/api/auth/qr/generate",
            ports[0]
        ))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let qr_token = challenge["data"]["qr_token"].as_str().expect("a challenge");
    let (status, login) = Fleet::call_on(
        ports[1],
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({ "login": person.username, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let phone = login["data"]["access_token"].as_str().unwrap();
    let (status, scan) = Fleet::call_on(
        ports[1],
        Method::POST,
        "/api/auth/qr/scan",
        Some(phone),
        Some(json!({ "qr_token": qr_token })),
    )
    .await;
    assert_eq!(status, 200, "{scan}");
    let verified: Value = Fleet::client(ports[2])
        .post(format!("http://127.0.0.1:{}/api/auth/pin/verify", ports[2]))
        .header("x-api-key", &key)
        .json(&json!({ "qr_token": qr_token, "pin": scan["data"]["pin"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    verified["data"]["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a session: {verified}"))
        .to_string()
}

/// What three gateways sharing `redis_toml` must do as one.
async fn three_gateways_act_as_one(redis_toml: String) {
    let storage = Storage::Postgres {
        url: Postgres::shared().create_database(),
        redis: None,
    };
    let fleet = Fleet::start(3, storage, &format!("{redis_toml}\n{}", limits_toml()));
    let (admin, _) = admin_token(&fleet.first, "admin").await;
    let person = active_person(&fleet.first, &admin).await;

    let session = qr_login_across(&fleet, &admin, &person).await;
    for port in fleet.ports() {
        let status = Fleet::service_get(port, "service-b.localhost", "/", &session).await;
        assert_eq!(status, 200, "gateway {port}");
    }

    // Revoked through one gateway: refused by every gateway.
    let (status, body) = fleet
        .call(
            Method::DELETE,
            &format!("/api/admin/sessions/{}", sid(&session)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for port in fleet.ports() {
        until(
            &format!("the revocation at gateway {port}"),
            Duration::from_secs(5),
            || Fleet::service_get(port, "service-b.localhost", "/", &session),
            |status| *status == 401,
        )
        .await;
    }

    // One login budget for all: the admin's and the phone's logins spent two of it; wrong
    // passwords (a new name each time, so no name locks) spend the rest, whichever gateway
    // takes them.
    let mut refused_after = None;
    for attempt in 1..=SHARED_LOGIN_BUDGET + 2 {
        let (name, _) = new_person_names();
        let (status, _) = fleet
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({ "login": name, "password": "not the password" })),
            )
            .await;
        if status == 429 {
            refused_after = Some(attempt - 1);
            break;
        }
        assert_eq!(status, 401, "attempt {attempt}");
    }
    assert_eq!(refused_after, Some(SHARED_LOGIN_BUDGET - 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn three_gateways_on_redis_sentinel_act_as_one() {
    let sentinel = tokio::task::block_in_place(RedisSentinel::shared);
    three_gateways_act_as_one(format!(
        "[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n",
        sentinel.url(),
        sentinel.unique_prefix()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_gateways_on_a_redis_cluster_act_as_one() {
    let cluster = tokio::task::block_in_place(RedisCluster::shared);
    let nodes: Vec<String> = cluster.urls().iter().map(|u| format!("\"{u}\"")).collect();
    three_gateways_act_as_one(format!(
        "[redis]\ncluster = [{}]\nkey_prefix = \"{}\"\n",
        nodes.join(", "),
        cluster.unique_prefix()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gateways_follow_a_promoted_postgresql_standby_without_a_restart() {
    let pair = tokio::task::block_in_place(PostgresStandby::start);
    let name = auth_test_support::unique_name("standby");
    let created = pair
        .primary
        .psql(&pair.primary.url("postgres"))
        .args(["-c", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(created.success());
    let storage = Storage::Postgres {
        url: pair.url(&name),
        redis: Some(Redis::shared()),
    };
    let fleet = Fleet::start(3, storage, "");
    let (admin, _) = admin_token(&fleet.first, "admin").await;
    let before = active_person(&fleet.first, &admin).await;
    let session = crate::flows::qr_session(&fleet.first, &admin, &before, "service-b").await;

    tokio::task::block_in_place(|| {
        pair.kill_primary();
        pair.promote_standby();
    });

    // Every gateway logs people in (a write: a refresh token) and serves the service again,
    // within seconds and without a restart.
    for port in fleet.ports() {
        let (_, took) = until(
            &format!("logins at gateway {port}"),
            Duration::from_secs(30),
            || {
                Fleet::call_on(
                    port,
                    Method::POST,
                    "/api/auth/login",
                    None,
                    Some(json!({ "login": before.username, "password": PASSWORD })),
                )
            },
            |(status, _)| *status == 200,
        )
        .await;
        eprintln!("gateway {port}: logins again {took:?} after the promotion");
        let status = Fleet::service_get(port, "service-b.localhost", "/", &session).await;
        assert_eq!(status, 200, "service traffic at gateway {port}");
    }
    // New accounts go to the promoted server.
    let (username, email) = new_person_names();
    let (status, body) = fleet
        .call(
            Method::POST,
            "/api/register",
            None,
            Some(registration(&username, &email)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = fleet.first.get("/health").await;
    assert_eq!(status, 200, "{body}");
}
