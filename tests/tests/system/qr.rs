//! The QR + PIN login over HTTP through a real gateway, on the embedded store and on PostgreSQL with
//! Redis; the phone stand-in; services and sessions managed by admins.

use auth_test_support::binary;
use base64::Engine;
use serde_json::{Value, json};

use crate::flows::{PASSWORD, active_person, admin_token, service_key, tokens};
use crate::harness::{Storage, System};

async fn as_service(
    system: &System,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = system
        .client()
        .request(method, system.url(path))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    crate::harness::json(request.send().await.unwrap()).await
}

async fn whole_flow(storage: Storage<'_>) {
    let system = System::start_with_mail(storage, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let key = service_key(&system, &admin, "service-b").await;
    let person = active_person(&system, &admin).await;

    let (status, body) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let challenge = &body["data"];
    assert_eq!(challenge["expires_in"], 120);
    let token = challenge["qr_token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits, base64url");
    let scan_url = challenge["scan_url"].as_str().unwrap();
    assert_eq!(scan_url, system.url(&format!("/m/scan?t={token}")));
    let png = base64::engine::general_purpose::STANDARD
        .decode(challenge["qr_png_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(auth_examples::qr_image::decode_png(&png).unwrap(), scan_url);
    assert!(challenge["qr_svg"].as_str().unwrap().contains("<svg"));

    let status_path = format!("/api/auth/qr/{token}/status");
    let (_, body) = as_service(&system, &key, reqwest::Method::GET, &status_path, None).await;
    assert_eq!(body["data"]["status"], "pending");

    let phone = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, scan) = system
        .post(
            "/api/auth/qr/scan",
            Some(&phone),
            json!({ "qr_token": token }),
        )
        .await;
    assert_eq!(status, 200, "{scan}");
    let pin = scan["data"]["pin"].as_str().unwrap();
    assert_eq!(
        scan["data"]["service"],
        json!({ "name": "ServiceB", "slug": "service-b" })
    );
    assert_eq!(scan["data"]["requested_from"]["ip"], "127.0.0.1");
    let (_, body) = as_service(&system, &key, reqwest::Method::GET, &status_path, None).await;
    assert_eq!(body["data"]["status"], "scanned");

    let (status, login) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/pin/verify",
        Some(json!({ "qr_token": token, "pin": pin })),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(login["data"]["expires_in"], 1800);
    assert_eq!(
        login["data"]["user_info"]["user_id"],
        person.user_id.as_str()
    );
    let session = login["data"]["session_token"].as_str().unwrap();

    let (status, body) = system.get_as("/api/auth/session", session).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["live"], true);
    assert_eq!(body["data"]["audience"], "service-b");
    assert_eq!(body["data"]["session"]["method"], "qr");
    assert_eq!(
        system
            .post("/api/auth/logout", Some(session), json!({}))
            .await
            .0,
        200
    );
    let (status, body) = system.get_as("/api/auth/session", session).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("INVALID_TOKEN"))
    );

    let (_, body) = as_service(&system, &key, reqwest::Method::GET, &status_path, None).await;
    assert_eq!(body["data"]["status"], "used");
}

#[tokio::test(flavor = "multi_thread")]
async fn service_b_walks_the_whole_flow_on_the_embedded_store() {
    whole_flow(Storage::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn service_b_walks_the_whole_flow_on_postgres_and_redis() {
    whole_flow(Storage::shared_servers()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn service_b_walks_the_whole_flow_on_postgres_without_redis() {
    // Short-lived state (challenges, PINs, sessions) then lives in PostgreSQL through the
    // embedded short-lived store.
    whole_flow(Storage::Postgres {
        url: auth_test_support::Postgres::shared().create_database(),
        redis: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_stand_in_reads_the_qr_image_and_prints_the_pin() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let key = service_key(&system, &admin, "app-c").await;
    let person = active_person(&system, &admin).await;
    let (_, body) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    let token = body["data"]["qr_token"].as_str().unwrap().to_string();
    let image = system.gateway.dir.join("qr.png");
    std::fs::write(
        &image,
        base64::engine::general_purpose::STANDARD
            .decode(body["data"]["qr_png_base64"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let output = tokio::task::spawn_blocking({
        let (gateway, login, image) = (system.url(""), person.username.clone(), image.clone());
        move || {
            use std::io::Write;
            let mut child = std::process::Command::new(binary("phone"))
                .args(["--gateway", &gateway, "--login", &login, "--qr-image"])
                .arg(&image)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{PASSWORD}\n").as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("AppC asks"), "{text}");
    let pin = text.split("PIN: ").nth(1).unwrap()[..6].to_string();
    let (status, body) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/pin/verify",
        Some(json!({ "qr_token": token, "pin": pin })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_qr_api_needs_the_right_service_key() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let service_b = service_key(&system, &admin, "service-b").await;
    let app_c = service_key(&system, &admin, "app-c").await;
    let (status, body) = system.post("/api/auth/qr/generate", None, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let (status, _) = as_service(
        &system,
        "svc_forged",
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    assert_eq!(status, 401);

    let person = active_person(&system, &admin).await;
    let (_, body) = as_service(
        &system,
        &service_b,
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    let token = body["data"]["qr_token"].as_str().unwrap().to_string();
    let phone = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, scan) = system
        .post(
            "/api/auth/qr/scan",
            Some(&phone),
            json!({ "qr_token": token }),
        )
        .await;
    let pin = scan["data"]["pin"].as_str().unwrap().to_string();
    let verify = json!({ "qr_token": token, "pin": pin });
    let (status, body) = as_service(
        &system,
        &app_c,
        reqwest::Method::POST,
        "/api/auth/pin/verify",
        Some(verify.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("QR_NOT_FOUND"))
    );
    let (status, _) = as_service(
        &system,
        &app_c,
        reqwest::Method::GET,
        &format!("/api/auth/qr/{token}/status"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // A scan needs a person's own login, not a service's session.
    let (status, body) = system
        .post(
            "/api/auth/qr/scan",
            Some(&admin),
            json!({ "qr_token": token }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, body) = system
        .post(
            "/api/auth/qr/scan",
            Some(&phone),
            json!({ "qr_token": "unknown" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("QR_NOT_FOUND"))
    );
    let (status, body) = system
        .post(
            "/api/auth/qr/scan",
            Some(&phone),
            json!({ "qr_token": token }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("QR_ALREADY_SCANNED"))
    );
    let (status, body) = as_service(
        &system,
        &service_b,
        reqwest::Method::POST,
        "/api/auth/pin/verify",
        Some(json!({ "qr_token": token, "pin": "12ab56" })),
    )
    .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("pin"))
    );
    let (status, _) = as_service(
        &system,
        &service_b,
        reqwest::Method::POST,
        "/api/auth/pin/verify",
        Some(verify),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_services_sessions_and_read_the_history() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let (support, _) = admin_token(&system, "support").await;
    let new_service = json!({
        "name": "Reports", "slug": "reports", "hosts": ["reports.localhost"],
        "path_prefix": "/reports", "upstreams": ["127.0.0.1:9"]
    });
    let (status, body) = system
        .post(
            "/api/services/register",
            Some(&support),
            new_service.clone(),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = system
        .post("/api/services/register", Some(&admin), new_service.clone())
        .await;
    assert_eq!(status, 201, "{body}");
    let key = body["data"]["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("svc_"));
    let (status, body) = system
        .post("/api/services/register", Some(&admin), new_service)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT"))
    );
    let (status, body) = system
        .post(
            "/api/services/register",
            Some(&admin),
            json!({ "name": "", "slug": "Bad Slug", "hosts": ["x:80"], "upstreams": ["nowhere"] }),
        )
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "slug", "hosts[0]", "upstreams[0]"]);

    let (status, body) = system.get_as("/api/services/list", &support).await;
    assert_eq!(status, 200);
    let slugs: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["app-c", "reports", "service-b"]);
    assert!(body["data"][1].get("api_key").is_none());

    assert_eq!(
        system
            .post("/api/services/reports/disable", Some(&admin), json!({}))
            .await
            .0,
        200
    );
    let (status, _) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        system
            .post("/api/services/reports/enable", Some(&admin), json!({}))
            .await
            .0,
        200
    );
    let (status, _) = as_service(
        &system,
        &key,
        reqwest::Method::POST,
        "/api/auth/qr/generate",
        None,
    )
    .await;
    assert_eq!(status, 201);

    // Sessions: list a person's, revoke all, and the next request is refused.
    let person = active_person(&system, &admin).await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = system
        .get_as(
            &format!("/api/admin/sessions?user_id={}", person.user_id),
            &support,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    let (status, body) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions?user_id={}", person.user_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((status, body["data"]["revoked"].as_i64()), (200, Some(1)));
    assert_eq!(system.get_as("/api/users/me", &access).await.0, 401);

    let (status, body) = system
        .get_as(
            &format!("/api/admin/login-history?user_id={}", person.user_id),
            &support,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["items"][0]["method"], "password");
    let (status, body) = system
        .get_as(
            &format!(
                "/api/admin/login-history/summary?group_by=user&username={}",
                person.username
            ),
            &support,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["logins"], 1);
    let (status, body) = system
        .get_as("/api/admin/login-history/summary?group_by=planet", &support)
        .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("group_by"))
    );
}
