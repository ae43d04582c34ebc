//! The gateway at the edge, end to end: what browsers, API clients and services see.

use auth_test_support::free_port;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::flows::{active_person, admin_token, login, qr_session};
use crate::harness::{Storage, System, json as read};

async fn get(
    system: &System,
    url: &str,
    bearer: Option<&str>,
    accept_html: bool,
) -> reqwest::Response {
    let mut request = system.client().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if accept_html {
        request = request.header("accept", "text/html,application/xhtml+xml");
    }
    request.send().await.unwrap()
}

fn pyjwt_accepts(jwks_url: &str, token: &str, audience: &str) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify_with_pyjwt.py");
    let output =
        std::process::Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
            .args([script, jwks_url, token, audience, "auth-gateway"])
            .output()
            .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_logs_in_and_serviceb_sees_who_it_is() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let page = system.host_url("service-b.localhost", "/reports?month=3");

    // Without a session a browser is sent to the login page for ServiceB, an API client gets 401.
    let response = get(&system, &page, None, true).await;
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let login_page = reqwest::Url::parse(&location).unwrap();
    assert_eq!(login_page.path(), "/login");
    let params: std::collections::HashMap<_, _> = login_page.query_pairs().into_owned().collect();
    assert_eq!(params["service"], "service-b");
    assert_eq!(params["return_to"], page);
    let (status, body) = read(get(&system, &page, None, false).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    // The QR + PIN login through the API yields the session the cookie carries.
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let response = system
        .client()
        .get(&page)
        .header("cookie", format!("theme=dark; auth_session={session}"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    let identity = &body["identity_headers"];
    assert_eq!(identity["x-auth-user-id"], person.user_id.as_str());
    assert_eq!(identity["x-auth-username"], person.username.as_str());
    assert_eq!(identity["x-auth-email"], person.email.as_str());
    assert!(identity["x-auth-session-id"].is_string());
    assert_eq!(body["path"], "/reports");
    assert_eq!(
        body["forwarded_headers"]["x-forwarded-host"],
        format!("service-b.localhost:{}", system.gateway.port)
    );

    // The assertion verifies with an independent library, for ServiceB only.
    let assertion = identity["x-auth-assertion"].as_str().unwrap().to_string();
    let jwks = system.url("/.well-known/jwks.json");
    let (for_b, for_c) = tokio::task::spawn_blocking(move || {
        (
            pyjwt_accepts(&jwks, &assertion, "service-b"),
            pyjwt_accepts(&jwks, &assertion, "app-c"),
        )
    })
    .await
    .unwrap();
    assert!(for_b.0, "{}", for_b.1);
    assert_eq!(for_b.1, person.user_id);
    assert!(!for_c.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_for_serviceb_is_refused_at_appc_and_after_revocation() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let at_b = system.host_url("service-b.localhost", "/");
    assert_eq!(
        get(&system, &at_b, Some(&session), false)
            .await
            .status()
            .as_u16(),
        200
    );
    let (status, body) = read(
        get(
            &system,
            &system.host_url("app-c.localhost", "/"),
            Some(&session),
            false,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("INVALID_TOKEN"))
    );
    assert_eq!(
        get(&system, &system.url("/app-c/"), Some(&session), false)
            .await
            .status()
            .as_u16(),
        401
    );

    // A password login's access token opens no service: only the QR + PIN login does.
    let access = crate::flows::tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get(
            &system,
            &system.host_url("app-c.localhost", "/"),
            Some(&access),
            false
        )
        .await
        .status()
        .as_u16(),
        401
    );

    let (_, sessions) = system
        .get_as(
            &format!("/api/admin/sessions?user_id={}", person.user_id),
            &admin,
        )
        .await;
    let id = sessions["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["audience"] == "service-b")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&system, &at_b, Some(&session), false)
            .await
            .status()
            .as_u16(),
        401
    );
}

fn weekday_name(at: Timestamp) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][at
        .to_zoned(jiff::tz::TimeZone::UTC)
        .weekday()
        .to_monday_zero_offset() as usize]
}

async fn set_schedule(system: &System, admin: &str, weekly: Value) -> (u16, Value) {
    system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(admin),
            Some(json!({ "timezone": "UTC", "weekly": weekly, "exceptions": [], "warning_minutes": 15 })),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_hours_answer_503_but_admins_and_health_stay_up() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    // Open only tomorrow.
    let tomorrow = Timestamp::now() + 24.hours();
    let (status, body) = set_schedule(
        &system,
        &admin,
        json!({ weekday_name(tomorrow): { "open": "09:00", "close": "17:00" } }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let response = get(
        &system,
        &system.host_url("service-b.localhost", "/"),
        Some(&session),
        false,
    )
    .await;
    assert_eq!(response.status().as_u16(), 503);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, body) = read(response).await;
    assert_eq!(body["error"]["code"], "SYSTEM_CLOSED");
    let opens_at: Timestamp = body["error"]["details"]["opens_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        opens_at.to_zoned(jiff::tz::TimeZone::UTC).time(),
        jiff::civil::time(9, 0, 0, 0)
    );
    assert!(retry_after > 0 && retry_after <= 48 * 3600, "{retry_after}");

    let page = get(
        &system,
        &system.host_url("service-b.localhost", "/"),
        None,
        true,
    )
    .await;
    assert_eq!(page.status().as_u16(), 503);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("opens again"));

    let (status, body) = login(&system, &person.username, crate::flows::PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("SYSTEM_CLOSED"))
    );
    for path in [
        "/health",
        "/.well-known/jwks.json",
        "/api/system/status",
        "/metrics",
    ] {
        assert_eq!(
            get(&system, &system.url(path), None, false)
                .await
                .status()
                .as_u16(),
            200,
            "{path}"
        );
    }
    let (status, body) = system.get("/api/system/status").await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("closed"))
    );
    // The service request, the page and the login were counted as refused for closed hours.
    assert_eq!(
        system
            .metric("gateway_refusals_total{reason=\"closed\"}")
            .await,
        Some(3.0)
    );
    assert_eq!(system.get_as("/api/admin/users", &admin).await.0, 200);
    let (status, _) = set_schedule(&system, &admin, json!({})).await;
    assert_eq!(status, 200, "admins can still change the schedule");
}

#[tokio::test(flavor = "multi_thread")]
async fn exception_days_override_the_week_and_the_hours_are_published() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    // Today in a zone where it is morning, so the day cannot end during the test.
    let utc = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let zone = if utc.hour() >= 12 {
        "Etc/GMT+12"
    } else {
        "UTC"
    };
    let today = utc.in_tz(zone).unwrap().date();
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
    let put = |schedule: Value| {
        system.call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(schedule),
        )
    };

    // Open every day of the week, but today is a holiday.
    let holiday = json!({
        "timezone": zone,
        "weekly": every_day,
        "exceptions": [{ "date": today.to_string(), "hours": null }],
        "warning_minutes": 15,
    });
    assert_eq!(put(holiday.clone()).await.0, 200);
    let (status, published) = system.get("/api/system/operating-hours").await;
    assert_eq!(status, 200);
    assert_eq!(published["data"], holiday, "published as set");
    let (_, body) = system.get("/api/system/status").await;
    assert_eq!(body["data"]["status"], "closed");
    assert_eq!(login(&system, "anyone", "anything").await.0, 503);

    // Closed every day of the week, but open all of today.
    let special = json!({
        "timezone": zone,
        "weekly": {},
        "exceptions": [{ "date": today.to_string(), "hours": { "open": "00:00", "close": "24:00" } }],
        "warning_minutes": 15,
    });
    assert_eq!(put(special).await.0, 200);
    let (_, body) = system.get("/api/system/status").await;
    assert_eq!(body["data"]["status"], "open");
    assert_eq!(login(&system, "anyone", "anything").await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_warns_in_the_last_fifteen_minutes() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    // Closing 11 minutes from now, in a zone where that is still today whatever the hour in UTC.
    let utc = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let zone = if utc.hour() >= 12 {
        "Etc/GMT+12"
    } else {
        "UTC"
    };
    let now = utc.in_tz(zone).unwrap();
    let minutes = now.hour() as i64 * 60 + now.minute() as i64 + 11;
    let close = format!("{:02}:{:02}", minutes / 60, minutes % 60);
    let weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [now.weekday().to_monday_zero_offset() as usize];
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(json!({
                "timezone": zone,
                "weekly": { weekday: { "open": "00:00", "close": close } },
                "exceptions": [],
                "warning_minutes": 15,
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    for response in [
        get(
            &system,
            &system.host_url("service-b.localhost", "/"),
            Some(&session),
            false,
        )
        .await,
        get(&system, &system.url("/health"), None, false).await,
        get(&system, &system.url("/nowhere"), None, false).await,
    ] {
        let seconds: i64 = response.headers()["x-system-closing-in"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((540..=900).contains(&seconds), "{seconds}");
    }
    let (_, body) = system.get("/api/system/status").await;
    assert_eq!(body["data"]["warning"], true);
    assert!(body["data"]["seconds_until_close"].as_i64().unwrap() <= 900);
    // The gateway's pages say it in words too.
    let login = format!(
        "/login?service=service-b&return_to=/&state={}",
        "0".repeat(64)
    );
    for path in [login.as_str(), "/m/scan?t=unknown"] {
        let html = get(&system, &system.url(path), None, true)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("class=\"banner\" role=\"status\">The system closes in"),
            "{path}: {html}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_hosts_are_refused_and_metrics_count_what_happened() {
    let system = System::start(Storage::Embedded);
    let response = reqwest::Client::new()
        .get(system.url("/health"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (421, Some("UNKNOWN_HOST"))
    );
    get(
        &system,
        &system.host_url("service-b.localhost", "/"),
        None,
        false,
    )
    .await;
    // Refusals are counted before the answer goes out, requests once it has gone.
    for reason in ["unknown_host", "unauthenticated"] {
        let series = format!("gateway_refusals_total{{reason=\"{reason}\"}}");
        assert_eq!(system.metric(&series).await, Some(1.0), "{series}");
    }
    assert_eq!(
        system
            .logged_metric(
                "gateway_requests_total{service=\"service-b\",status=\"401\"}",
                1.0
            )
            .await,
        Some(1.0)
    );
    let metrics = get(&system, &system.url("/metrics"), None, false)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gateway_request_duration_seconds_bucket"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tls_listener_serves_and_marks_cookies_secure() {
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
    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://localhost:{tls_port}");
    let health = https.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let response = https
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": person.username, "password": crate::flows::PASSWORD, "use_cookies": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|cookie| cookie.to_str().unwrap().to_string())
        .collect();
    // Both tokens come as cookies (whatever prefix their names carry), and every cookie is Secure.
    for token in ["auth_access", "auth_refresh"] {
        assert!(
            cookies.iter().any(|cookie| cookie
                .split_once('=')
                .is_some_and(|(name, _)| name.ends_with(token))),
            "no {token} cookie: {cookies:?}"
        );
    }
    for cookie in &cookies {
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
}
