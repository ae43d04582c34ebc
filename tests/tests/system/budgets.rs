//! The budgets of the route policy table, through the gateway: each is keyed on what an attacker
//! spends, the pages draw on the classes of their API twins, and a spent token costs nothing.

use serde_json::json;

use crate::flows::{active_person, admin_token, reset_token, service_key};
use crate::harness::{Storage, System};

/// The value of `attribute="…"` in `html`.
fn attribute(html: &str, attribute: &str) -> String {
    let start = html.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_page_reuses_a_browsers_pending_code_and_is_limited_per_address() {
    let system = System::start_with(
        Storage::Embedded,
        "[rate_limits]\nchallenge_per_minute = 3\n",
        &[],
    );
    let client = system.client();
    let login = format!(
        "/login?service=service-b&return_to=/&state={}",
        "0".repeat(64)
    );
    let first = client.get(system.url(&login)).send().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let nonce = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = attribute(&first.text().await.unwrap(), "data-qr-token");
    // The same browser asking again sees the same code: no new challenge is stored.
    let again = client
        .get(system.url(&login))
        .header("cookie", &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attribute(&again.text().await.unwrap(), "data-qr-token"),
        token
    );
    // Another browser gets its own.
    let other = client.get(system.url(&login)).send().await.unwrap();
    assert_ne!(
        attribute(&other.text().await.unwrap(), "data-qr-token"),
        token
    );
    // Three pages a minute from one address; the fourth is refused.
    let refused = client.get(system.url(&login)).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mailed_link_pages_share_the_budget_of_their_api_twins() {
    let system = System::start_with(
        Storage::Embedded,
        "[rate_limits]\nregister_per_minute = 2\n",
        &[],
    );
    let client = system.client();
    let origin = system.url("");
    let post_page = |path: &'static str| {
        client
            .post(system.url(path))
            .header("origin", origin.trim_end_matches('/'))
            .form(&[("token", "x"), ("new_password", "x")])
            .send()
    };
    assert_ne!(post_page("/reset-password").await.unwrap().status(), 429);
    assert_ne!(post_page("/verify-email").await.unwrap().status(), 429);
    // Two of the class spent from this address: the pages and their API twins are refused.
    assert_eq!(post_page("/reset-password").await.unwrap().status(), 429);
    let (status, body) = system
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": "x", "new_password": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("RATE_LIMITED"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_reset_token_is_refused_before_the_password_is_looked_at() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let token = reset_token(&system, &person.email).await;
    let reset = |password: &'static str| {
        system.post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": password }),
        )
    };
    assert_eq!(reset("a fresh and long phrase").await.0, 200);
    // Spent: refused as a token, though the password would be refused too (it is not looked at,
    // so no hash is computed for it).
    let (status, body) = reset("short").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pins_a_service_sends_draw_on_its_key_not_on_its_address() {
    let system = System::start_with_mail(
        Storage::Embedded,
        "[rate_limits]\npin_per_minute = 2\nservice_key_per_minute = 4\n",
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let service_b = service_key(&system, &admin, "service-b").await;
    let app_c = service_key(&system, &admin, "app-c").await;
    let verify = |key: String, qr_token: &'static str| {
        let request = system
            .client()
            .post(system.url("/api/auth/pin/verify"))
            .header("x-api-key", key)
            .json(&json!({ "qr_token": qr_token, "pin": "123456" }));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // More PINs than one address may send, all from ServiceB's one backend address: its key's
    // budget counts, not the address's.
    for _ in 0..4 {
        assert_eq!(verify(service_b.clone(), "unknown").await, 404);
    }
    assert_eq!(verify(service_b.clone(), "unknown").await, 429);
    // AppC, from the same address, has a budget of its own.
    assert_eq!(verify(app_c.clone(), "unknown").await, 404);
}
