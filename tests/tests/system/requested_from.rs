//! In the API flow the service's own server asks for the QR challenge, so the gateway sees the
//! service, not the person. The service names the end user (`client_ip`, `user_agent`) and the
//! phone shows that as "requested from".

use serde_json::{Value, json};

use crate::flows::{active_person, admin_token, scan, service_key, tokens};
use crate::harness::{Storage, System};

const END_USER_IP: &str = "203.0.113.50";
const END_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) EndUserBrowser";

async fn generate(system: &System, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = system
        .client()
        .post(system.url("/api/auth/qr/generate"))
        .header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    crate::harness::json(request.send().await.expect("generate")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_sees_the_end_user_the_service_names() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let key = service_key(&system, &admin, "service-b").await;
    let phone = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let end_user = json!({ "client_ip": END_USER_IP, "user_agent": END_USER_AGENT });

    // By the API: the scan's answer.
    let (status, challenge) = generate(&system, &key, Some(end_user.clone())).await;
    assert_eq!(status, 201, "{challenge}");
    let scanned = scan(
        &system,
        &phone,
        challenge["data"]["qr_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        scanned["requested_from"],
        json!({ "ip": END_USER_IP, "user_agent": END_USER_AGENT })
    );

    // By the phone page: what the person reads before confirming.
    let (_, challenge) = generate(&system, &key, Some(end_user)).await;
    let page = system
        .client()
        .get(system.url(&format!(
            "/m/scan?t={}",
            challenge["data"]["qr_token"].as_str().unwrap()
        )))
        .header("cookie", format!("auth_access={phone}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(END_USER_IP), "{page}");
    assert!(page.contains("EndUserBrowser"), "{page}");

    // Only an address: the browser is unknown, not the service's own HTTP client.
    let (_, challenge) = generate(&system, &key, Some(json!({ "client_ip": "2001:db8::7" }))).await;
    let scanned = scan(
        &system,
        &phone,
        challenge["data"]["qr_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        scanned["requested_from"],
        json!({ "ip": "2001:db8::7", "user_agent": null })
    );

    // No body, or an empty object: the caller itself, as before.
    for body in [None, Some(json!({}))] {
        let (status, challenge) = generate(&system, &key, body.clone()).await;
        assert_eq!(status, 201, "{body:?}: {challenge}");
        let scanned = scan(
            &system,
            &phone,
            challenge["data"]["qr_token"].as_str().unwrap(),
        )
        .await;
        assert_eq!(scanned["requested_from"]["ip"], "127.0.0.1", "{body:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_service_says_of_the_end_user_is_checked() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let key = service_key(&system, &admin, "service-b").await;
    for (body, field) in [
        (json!({ "client_ip": "not-an-address" }), "client_ip"),
        (json!({ "client_ip": "203.0.113.50:443" }), "client_ip"),
        (json!({ "user_agent": "x".repeat(513) }), "user_agent"),
        (
            json!({ "user_agent": "Mozilla\r\nX-Injected: 1" }),
            "user_agent",
        ),
        (
            json!({ "client_ip": END_USER_IP, "referer": "x" }),
            "referer",
        ),
    ] {
        let (status, answer) = generate(&system, &key, Some(body.clone())).await;
        assert_eq!(
            (
                status,
                answer["error"]["code"].as_str(),
                answer["error"]["details"]["fields"][0]["field"].as_str()
            ),
            (422, Some("VALIDATION_ERROR"), Some(field)),
            "{body}: {answer}"
        );
        assert!(answer["data"].is_null());
    }
    // Without the service's key, nobody may claim to speak for an end user.
    let (status, _) = generate(
        &system,
        "svc_not-a-key",
        Some(json!({ "client_ip": END_USER_IP })),
    )
    .await;
    assert_eq!(status, 401);
    // The longest accepted agent.
    let (status, answer) = generate(
        &system,
        &key,
        Some(json!({ "user_agent": "x".repeat(512) })),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}
