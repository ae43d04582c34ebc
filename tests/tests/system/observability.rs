//! What an operator sees: the request id reaching the service (a client's replaced, a trusted
//! proxy's kept), the core's metrics counting after a login (live sessions per service among
//! them), and `--log-format json`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::flows::{PASSWORD, active_person, admin_token, login, qr_session};
use crate::harness::{Storage, System, json as read};

const BEHIND_A_PROXY: &str = "[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
    login_per_minute = 100000\nregister_per_minute = 100000\npin_per_minute = 100000\n\
    scan_per_minute = 100000\nservice_per_minute_per_session = 100000\n\
    service_per_minute_per_ip = 100000\n";

/// What ServiceB saw as `X-Request-Id`, and what the client got back, for a request that
/// carried `sent`.
async fn request_id_seen(system: &System, session: &str, sent: &str) -> (String, String) {
    let response = system
        .client()
        .get(system.host_url("service-b.localhost", "/reports"))
        .header("cookie", format!("auth_session={session}"))
        .header("x-request-id", sent)
        .send()
        .await
        .unwrap();
    let returned = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    let values = body["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "x-request-id")
        .unwrap_or_else(|| panic!("the service got no request id: {body}"))["values"]
        .clone();
    assert_eq!(values.as_array().unwrap().len(), 1, "one id only: {values}");
    let seen = values[0].as_str().unwrap().to_string();
    (seen, returned)
}

#[tokio::test(flavor = "multi_thread")]
async fn request_id_reaches_the_service_and_a_clients_own_is_replaced() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let (seen, returned) = request_id_seen(&system, &session, "chosen-by-client").await;
    assert_ne!(seen, "chosen-by-client", "a client's own id is replaced");
    assert_eq!(seen, returned, "the client gets the id the service saw");
    let (again, _) = request_id_seen(&system, &session, "chosen-by-client").await;
    assert_ne!(again, seen, "one id per request");

    // The gateway's own answers carry theirs too: the API, a refusal at the edge, a page.
    let own = |request: reqwest::RequestBuilder| async move {
        let response = request
            .header("x-request-id", "chosen-by-client")
            .send()
            .await
            .unwrap();
        let id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string());
        (response.status().as_u16(), id)
    };
    let client = system.client();
    for (request, status) in [
        (client.get(system.url("/api/system/status")), 200),
        (
            client.get(system.host_url("service-b.localhost", "/reports")),
            401,
        ),
        (
            client
                .get(system.url("/"))
                .header("host", "nowhere.localhost"),
            421,
        ),
        (client.get(system.url("/register")), 200),
    ] {
        let (got, id) = own(request).await;
        assert_eq!(got, status);
        let id = id.expect("an id on the gateway's own answer");
        assert!(!id.is_empty() && id != "chosen-by-client", "{id}");
    }
    // The access line names it (the id appears nowhere else in the log).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !system
        .gateway
        .log()
        .lines()
        .any(|line| line.contains("access") && line.contains(&seen))
    {
        assert!(Instant::now() < deadline, "{}", system.gateway.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxys_request_id_is_kept() {
    let system = System::start_with_mail(Storage::Embedded, BEHIND_A_PROXY);
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let (seen, returned) = request_id_seen(&system, &session, "lb-7f3a.9").await;
    assert_eq!(seen, "lb-7f3a.9");
    assert_eq!(returned, "lb-7f3a.9");
    // Not even a trusted proxy gets a malformed one through.
    let (seen, _) = request_id_seen(&system, &session, "two words").await;
    assert_ne!(seen, "two words");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_logins_challenges_live_sessions_store_calls_and_upstream_health() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let success = "auth_logins_total{method=\"password\",outcome=\"success\"}";
    let wrong = "auth_logins_total{method=\"password\",outcome=\"INVALID_CREDENTIALS\"}";
    assert_eq!(system.metric(success).await, None);
    let (status, _) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(status, 200);
    let (status, _) = login(&system, &person.username, "not the password at all").await;
    assert_eq!(status, 401);
    assert_eq!(system.metric(success).await, Some(1.0));
    assert_eq!(system.metric(wrong).await, Some(1.0));

    let live = |slug: &str| format!("auth_sessions_live{{service=\"{slug}\"}}");
    assert_eq!(system.metric(&live("service-b")).await, Some(0.0));
    qr_session(&system, &admin, &person, "service-b").await;
    assert_eq!(system.metric(&live("service-b")).await, Some(1.0));
    assert_eq!(system.metric(&live("app-c")).await, Some(0.0));
    // In all: ServiceB's session and the password logins' own (the phone's among them).
    let all = system.metric(&live("")).await.unwrap();
    assert!(all >= 2.0, "{all}");
    for outcome in ["created", "scanned", "completed"] {
        let series = format!("auth_qr_challenges_total{{outcome=\"{outcome}\"}}");
        assert_eq!(system.metric(&series).await, Some(1.0), "{series}");
    }
    let sql_calls = system
        .metric("auth_store_duration_seconds_count{store=\"sql\"}")
        .await
        .unwrap_or(0.0);
    assert!(sql_calls > 10.0, "{sql_calls}");

    // ServiceB's upstream answers its health checks.
    let text = system
        .client()
        .get(system.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let healthy = text
        .lines()
        .find(|l| l.starts_with("gateway_upstream_healthy{service=\"service-b\""))
        .unwrap_or_else(|| panic!("no upstream health: {text}"));
    assert!(healthy.ends_with(" 1"), "{healthy}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_log_format_prints_one_json_object_a_line() {
    let port = auth_test_support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             [storage]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let log_path = dir.path().join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = std::process::Command::new(auth_test_support::binary("auth-gateway"))
        .args(["--log-format", "json", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("auth-gateway listening") {
            let _ = reqwest::get(format!("http://127.0.0.1:{port}/health")).await;
        }
        if text.contains("\"target\":\"access\"") {
            break text;
        }
        assert!(Instant::now() < deadline, "no access line: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    let access: Value = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["target"] == "access")
        .unwrap();
    let id = access["fields"]["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "{access}");
    assert_eq!(access["fields"]["status"], 200, "{access}");
}
