//! The gateway's foundation: proxying by host and prefix, `/health`, header hygiene, configuration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_test_support::{
    GatewayProcess, Postgres, Redis, free_port, run_gateway_command, wait_for_port,
};

use crate::flows::{active_person, admin_token, qr_session};
use crate::harness::{Storage, System, json};

/// A system with a person logged into ServiceB and AppC; their session tokens.
async fn logged_in(system: &System) -> (String, String) {
    let (admin, _) = admin_token(system, "admin").await;
    let person = active_person(system, &admin).await;
    (
        qr_session(system, &admin, &person, "service-b").await,
        qr_session(system, &admin, &person, "app-c").await,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn proxies_to_services_by_host_and_by_prefix() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (service_b, app_c) = logged_in(&system).await;
    let client = system.client();

    let (status, body) = json(
        client
            .get(system.host_url("service-b.localhost", "/orders/7?x=1"))
            .bearer_auth(&service_b)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["service"], "ServiceB");
    assert_eq!(body["path"], "/orders/7");
    assert_eq!(body["query"], "x=1");

    // ServiceB lives on its own host only: its old prefix on the gateway's host is the gateway's.
    let (status, _) = json(
        client
            .get(system.url("/service-b/orders/7"))
            .header("cookie", format!("auth_session={service_b}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    // AppC opted in to sharing the gateway's origin under /app-c, with a cookie of its own there.
    let (status, body) = json(
        client
            .get(system.url("/app-c/orders/7"))
            .header("cookie", format!("auth_session-app-c={app_c}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["service"], "AppC");
    assert_eq!(body["path"], "/orders/7");
    assert_eq!(body["forwarded_headers"]["x-forwarded-prefix"], "/app-c");

    let (_, body) = json(
        client
            .get(system.host_url("app-c.localhost", "/"))
            .bearer_auth(&app_c)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["service"], "AppC");
    let (_, body) = json(
        client
            .get(system.url("/app-c/"))
            .bearer_auth(&app_c)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["service"], "AppC");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_sent_identity_and_forwarding_headers_never_reach_a_service() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (service_b, _) = logged_in(&system).await;
    let response = system
        .client()
        .get(system.host_url("service-b.localhost", "/"))
        .bearer_auth(&service_b)
        .header("X-Auth-User-Id", "admin")
        .header("x-auth-assertion", "forged")
        .header("X-Forwarded-For", "6.6.6.6")
        .header("Forwarded", "for=6.6.6.6")
        .header("X-Real-IP", "6.6.6.6")
        .header("Connection", "x-auth-user-id, x-auth-assertion")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["identity_headers"]["x-auth-user-id"], "admin");
    assert!(
        body["identity_headers"]["x-auth-user-id"]
            .as_str()
            .unwrap()
            .len()
            == 36
    );
    assert_ne!(body["identity_headers"]["x-auth-assertion"], "forged");
    assert_eq!(body["forwarded_headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(body["forwarded_headers"]["x-real-ip"], "127.0.0.1");
    assert!(body["forwarded_headers"].get("forwarded").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_json_and_names_the_backends() {
    let system = System::start(Storage::Embedded);
    let (status, body) = json(
        system
            .client()
            .get(system.url("/health"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["database"]["backend"], "embedded");
    assert_eq!(body["data"]["database"]["up"], true);
    assert_eq!(body["data"]["redis"], "not_configured");

    let system = System::start(Storage::shared_servers());
    let (status, body) = system.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["database"]["backend"], "postgres");
    assert_eq!(body["data"]["redis"]["backend"], "redis");
    assert_eq!(body["data"]["redis"]["up"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_document_is_served_through_the_gateway() {
    let system = System::start(Storage::Embedded);
    let (status, document) = system.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi version {version:?}");
    assert!(document["paths"]["/api/auth/qr/generate"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_gateway_route_is_a_json_404() {
    let system = System::start(Storage::Embedded);
    let (status, body) = json(
        system
            .client()
            .get(system.url("/no/such/page"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

async fn wait_for_health(system: &System, expected: u16, within: Duration) -> serde_json::Value {
    let client = system.client();
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = json(client.get(system.url("/health")).send().await.unwrap()).await;
        if status == expected {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health stayed {status} (wanted {expected}): {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_follows_postgres_and_redis_going_down_and_coming_back() {
    let pg = Arc::new(Postgres::start_new());
    let redis = Arc::new(Redis::start_new());
    let system = System::start(Storage::Postgres {
        url: pg.create_database(),
        redis: Some(&redis),
    });
    wait_for_health(&system, 200, Duration::from_secs(5)).await;

    let stopping = pg.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let body = wait_for_health(&system, 503, Duration::from_secs(5)).await;
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["error"]["details"]["database"]["up"], false);
    assert_eq!(body["error"]["details"]["redis"]["up"], true);

    let starting = pg.clone();
    tokio::task::spawn_blocking(move || starting.start())
        .await
        .unwrap();
    wait_for_health(&system, 200, Duration::from_secs(10)).await;

    let stopping = redis.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let body = wait_for_health(&system, 503, Duration::from_secs(5)).await;
    assert_eq!(body["error"]["details"]["redis"]["up"], false);
    assert_eq!(body["error"]["details"]["database"]["up"], true);

    let starting = redis.clone();
    tokio::task::spawn_blocking(move || starting.start())
        .await
        .unwrap();
    wait_for_health(&system, 200, Duration::from_secs(10)).await;
}

fn write_config(dir: &tempfile::TempDir, toml: &str) -> String {
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

#[test]
fn a_bad_config_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[gateway]\nlisten = \"127.0.0.1:70000\"\n",
            "gateway.listen",
        ),
        (
            "[storage]\nbackend = \"postgres\"\n[storage.postgres]\nurl = \"postgres://a@b:port/x\"\n",
            "storage.postgres.url",
        ),
        ("[gateway]\nthreads = 0\n", "gateway.threads"),
        ("[gateway]\nlisten_on = \"x\"\n", "listen_on"),
    ];
    for (toml, key) in cases {
        let path = write_config(&dir, toml);
        let (code, output) = run_gateway_command(&["--config", &path], &[], "");
        assert_eq!(code, 2, "{toml} -> {output}");
        assert!(output.contains(key), "{toml}: {output}");
    }

    let (code, output) = run_gateway_command(&[], &[("AUTH_GATEWAY__THREADS", "many")], "");
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("gateway.threads"), "{output}");

    let (code, output) = run_gateway_command(&["--config", "/nonexistent.toml"], &[], "");
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("--config"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_overrides_the_config_file() {
    // The file and the environment name different ports. The harness waits on the environment's
    // port, so the gateway only starts for this test if the override applied; and nothing may
    // answer on the file's port.
    let file_port = free_port();
    let port = free_port();
    let gateway = GatewayProcess::start_on(
        port,
        &format!(
            "[gateway]\nlisten = \"127.0.0.1:{file_port}\"\n\
             [storage]\nbackend = \"embedded\"\ndata_dir = \"{{data_dir}}\"\n"
        ),
        &[("AUTH_GATEWAY__LISTEN", "127.0.0.1:{port}")],
    );
    let (status, _) = json(
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(gateway.url("/health"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !wait_for_port(file_port, Duration::from_millis(300)),
        "the gateway also listens on the file's port:\n{}",
        gateway.log()
    );
}

#[test]
fn migrate_command_applies_the_schema_once() {
    let url = Postgres::shared().create_database();
    let env = [
        ("AUTH_STORAGE__BACKEND", "postgres"),
        ("AUTH_STORAGE__POSTGRES__URL", url.as_str()),
    ];
    let (code, output) = run_gateway_command(&["migrate"], &env, "");
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("applied V1__"), "{output}");
    let (code, output) = run_gateway_command(&["migrate"], &env, "");
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("up to date"), "{output}");
}
