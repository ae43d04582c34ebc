//! `/metrics` only for the addresses in `gateway.metrics_allow` (others see an unknown route), and
//! the security headers on the gateway's own answers: `nosniff` and `no-store` on the API's JSON,
//! HSTS over TLS.

use auth_test_support::free_port;
use serde_json::{Value, json};

use crate::flows::{PASSWORD, active_person, admin_token};
use crate::harness::{Storage, System};

const BEHIND_A_PROXY: &str = "[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
    login_per_minute = 100000\nregister_per_minute = 100000\npin_per_minute = 100000\n\
    scan_per_minute = 100000\nservice_per_minute_per_session = 100000\n\
    service_per_minute_per_ip = 100000\n";

/// Status, content type and body of `GET path` from `client` (through the trusted proxy).
async fn get_from(system: &System, client: Option<&str>, path: &str) -> (u16, String, String) {
    let mut request = system.client().get(system.url(path));
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, content_type, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_for_loopback_only_and_others_see_an_unknown_route() {
    let system = System::start_with_mail(Storage::Embedded, BEHIND_A_PROXY);
    let (status, content_type, _) = get_from(&system, None, "/metrics").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    // Requests are counted after their answer; the first one shows up on a later read.
    let series = "gateway_requests_total{service=\"gateway\",status=\"200\"}";
    assert!(
        system
            .logged_metric(series, 1.0)
            .await
            .is_some_and(|n| n >= 1.0)
    );
    let (status, _, text) = get_from(&system, Some("::1"), "/metrics").await;
    assert_eq!(status, 200, "{text}");

    for outsider in ["203.0.113.9", "2001:db8::9", "10.1.2.3"] {
        let metrics = get_from(&system, Some(outsider), "/metrics").await;
        let unknown = get_from(&system, Some(outsider), "/no-such-route").await;
        assert_eq!(metrics.0, 404, "{outsider}: {}", metrics.2);
        assert_eq!(metrics, unknown, "{outsider}");
        let body: Value = serde_json::from_str(&metrics.2).expect("JSON");
        assert_eq!(body["error"]["code"], "NOT_FOUND");
        assert!(!metrics.2.contains("gateway_requests_total"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_allow_list_replaces_loopback() {
    let system = System::start_with(
        Storage::Embedded,
        BEHIND_A_PROXY,
        &[("AUTH_GATEWAY__METRICS_ALLOW", "[\"10.0.9.0/24\"]")],
    );
    let (status, _, text) = get_from(&system, Some("10.0.9.77"), "/metrics").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("auth_password_verifications_total"));
    for refused in [None, Some("10.0.10.1")] {
        let (status, _, _) = get_from(&system, refused, "/metrics").await;
        assert_eq!(status, 404, "{refused:?}");
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn api_answers_carry_nosniff_and_no_store_and_tls_answers_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let tls_port = free_port();
    let system = System::start_with_mail(
        Storage::Embedded,
        &format!(
            "[gateway.tls]\nlisten = \"127.0.0.1:{tls_port}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let login = json!({ "login": person.username, "password": PASSWORD });

    // Over plain HTTP: the headers, but no HSTS (it would mean nothing there).
    let http = system.client();
    let tokens = http
        .post(system.url("/api/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status().as_u16(), 200);
    for (path, cache) in [
        ("/api/system/status", "no-store"),
        ("/api/no-such-route", "no-store"),
        ("/.well-known/jwks.json", "public, max-age=300"),
    ] {
        let response = http.get(system.url(path)).send().await.unwrap();
        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(header(&response, "cache-control"), Some(cache), "{path}");
        assert_eq!(
            header(&response, "strict-transport-security"),
            None,
            "{path}"
        );
    }
    assert_eq!(header(&tokens, "cache-control"), Some("no-store"));
    assert_eq!(header(&tokens, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&tokens, "strict-transport-security"), None);

    // Over TLS: HSTS on the API, the pages, and the edge's own refusals.
    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://localhost:{tls_port}");
    let tokens = https
        .post(format!("{base}/api/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status().as_u16(), 200);
    assert_eq!(header(&tokens, "cache-control"), Some("no-store"));
    assert_eq!(header(&tokens, "x-content-type-options"), Some("nosniff"));
    for response in [
        tokens,
        https.get(format!("{base}/health")).send().await.unwrap(),
        https
            .get(format!("{base}/login?service=service-b&return_to=/"))
            .send()
            .await
            .unwrap(),
        // No session for the service: the edge refuses by itself, before any router.
        https
            .get(format!("{base}/service-b/"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
    ] {
        let url = response.url().to_string();
        assert_eq!(
            header(&response, "strict-transport-security"),
            Some("max-age=31536000"),
            "{url} ({})",
            response.status()
        );
        assert_eq!(
            header(&response, "x-content-type-options"),
            Some("nosniff"),
            "{url}"
        );
    }
}
