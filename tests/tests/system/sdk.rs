//! auth-sdk against the real gateway: ServiceB reads who is calling through the SDK's extractor,
//! refuses assertions it did not get from the gateway, and (with the liveness option) sees a
//! revocation at once. And the app that embeds auth-core without the gateway.

use std::time::Duration;

use auth_sdk::{SessionCheck, Verifier};
use auth_test_support::{binary, free_port, wait_for_port};
use serde_json::{Value, json};

use crate::flows::{PASSWORD, active_person, admin_token, qr_session, registration, service_key};
use crate::harness::{Storage, System, json as read};

#[tokio::test(flavor = "multi_thread")]
async fn serviceb_reads_the_identity_through_the_sdk_and_refuses_forgeries() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session_b = qr_session(&system, &admin, &person, "service-b").await;
    let session_c = qr_session(&system, &admin, &person, "app-c").await;
    let client = system.client();

    let (status, body) = read(
        client
            .get(system.host_url("service-b.localhost", "/"))
            .bearer_auth(&session_b)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let identity = &body["identity"];
    assert_eq!(identity["user_id"], person.user_id.as_str());
    assert_eq!(identity["username"], person.username.as_str());
    assert_eq!(identity["name"], "Test Person");
    assert_eq!(identity["token_kind"], "assertion");
    assert_eq!(
        identity["session_id"],
        body["identity_headers"]["x-auth-session-id"]
    );

    // Reached directly, ServiceB trusts only what the gateway signed for it.
    let (_, at_c) = read(
        client
            .get(system.host_url("app-c.localhost", "/"))
            .bearer_auth(&session_c)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let assertion_for_c = at_c["identity_headers"]["x-auth-assertion"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = reqwest::Client::new();
    for (header, value) in [
        ("x-auth-assertion", "forged.token.value".to_string()),
        ("x-auth-assertion", assertion_for_c.clone()),
        ("x-auth-user-id", person.user_id.clone()),
    ] {
        let response = direct
            .get(system.service_b_url("/"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{header}: {body}"
        );
    }
    // A session token for ServiceB works directly too (the service reached without the gateway).
    let response = direct
        .get(system.service_b_url("/"))
        .bearer_auth(&session_b)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["identity"]["token_kind"].as_str()),
        (200, Some("session"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_liveness_option_sees_a_revocation_at_once() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &person, "service-b").await;
    let key = service_key(&system, &admin, "service-b").await;
    let jwks = system.url("/.well-known/jwks.json");
    let checked = Verifier::builder(jwks.clone(), "auth-gateway", "service-b")
        .session_check(SessionCheck::new(system.url(""), key).cache_ttl(Duration::ZERO))
        .build()
        .unwrap();
    let unchecked = Verifier::builder(jwks, "auth-gateway", "service-b")
        .build()
        .unwrap();
    assert_eq!(
        checked.verify(&session).await.unwrap().user_id.to_string(),
        person.user_id
    );

    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions?user_id={}", person.user_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let refused = checked.verify(&session).await.unwrap_err();
    assert_eq!(refused.code(), "SESSION_ENDED");
    // Without the option the signature alone still passes until the token expires.
    assert!(unchecked.verify(&session).await.is_ok());

    // The liveness endpoint answers services only.
    let any_session = "01a2085c-0000-7000-8000-000000000001";
    assert_eq!(
        system
            .get(&format!("/api/auth/sessions/{any_session}"))
            .await
            .0,
        401
    );
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let mut request = client.post(url).json(&body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    read(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_example_runs_the_whole_flow_without_a_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = std::process::Command::new(binary("embedded"));
    command
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.path())
        .env("ADMIN_KEY", "operator-key-for-tests")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _app =
        auth_test_support::ChildProcess::spawn("embedded", command, None, libc::SIGTERM).unwrap();
    assert!(
        wait_for_port(port, Duration::from_secs(30)),
        "the embedded app did not listen"
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let (status, body) = post(
        &client,
        &format!("{base}/register"),
        &[],
        registration("ida-lee", "ida@example.com"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let user_id = body["data"]["user_id"].as_str().unwrap().to_string();
    // Without SMTP, mail is an .eml file in the app's outbox.
    let mut token = None;
    for _ in 0..100 {
        token = std::fs::read_dir(dir.path().join("outbox"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find_map(|text| {
                text.split("token=")
                    .nth(1)
                    .map(|t| t.split_whitespace().next().unwrap().to_string())
            });
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = post(
        &client,
        &format!("{base}/verify-email"),
        &[],
        json!({ "token": token.unwrap() }),
    )
    .await;
    assert_eq!(status, 200);
    let approve = format!("{base}/admin/approve/{user_id}");
    assert_eq!(
        post(&client, &approve, &[("x-admin-key", "wrong")], json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        post(
            &client,
            &approve,
            &[("x-admin-key", "operator-key-for-tests")],
            json!({})
        )
        .await
        .0,
        200
    );

    let (_, challenge) = post(&client, &format!("{base}/login/qr"), &[], json!({})).await;
    let qr_token = challenge["data"]["qr_token"].as_str().unwrap();
    let (_, phone) = post(
        &client,
        &format!("{base}/phone/login"),
        &[],
        json!({ "login": "ida-lee", "password": PASSWORD }),
    )
    .await;
    let (_, scan) = post(
        &client,
        &format!("{base}/phone/scan"),
        &[],
        json!({ "access_token": phone["data"]["access_token"], "qr_token": qr_token }),
    )
    .await;
    let (status, login) = post(
        &client,
        &format!("{base}/login/pin"),
        &[],
        json!({ "qr_token": qr_token, "pin": scan["data"]["pin"] }),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let page = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Hello, Test Person"), "{page}");
}
