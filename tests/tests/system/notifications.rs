//! The mail people expect, read from the real SMTP test server: a person hears of a block (with
//! the reason) and an unblock, a lockout, a rejection (with the reason) and a new personal access
//! token, each saying what to do if it was not them. Mail a server refuses is retried with
//! backoff (the test clock moves the time) and then given up; `GET /api/admin/mail` lists it and
//! `/metrics` counts it.

use std::time::Duration;

use auth_test_support::{Smtp, free_port};
use serde_json::{Value, json};

use crate::flows::{
    ADMIN_PASSWORD, MAIL_WAIT, PASSWORD, active_person, admin_token, login, new_person_names,
    pending_person, registration, tokens,
};
use crate::harness::{Storage, System};

#[tokio::test(flavor = "multi_thread")]
async fn people_are_told_of_what_happens_to_their_account() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let smtp = Smtp::shared();
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;

    let (status, body) = system
        .post(
            &format!("/api/admin/users/{}/block", person.user_id),
            Some(&admin),
            json!({ "reason": "shared the account with a colleague" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mail = smtp.wait_for(&person.email, "Your account was blocked", MAIL_WAIT);
    assert!(
        mail.body.contains("shared the account with a colleague"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("If you do not know why"),
        "{}",
        mail.body
    );

    let (status, body) = system
        .post(
            &format!("/api/admin/users/{}/unblock", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mail = smtp.wait_for(&person.email, "Your account was unblocked", MAIL_WAIT);
    assert!(
        mail.body.contains("If you did not expect this"),
        "{}",
        mail.body
    );

    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "nightly export", "expires_in_days": 30, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mail = smtp.wait_for(
        &person.email,
        "A new personal access token was created",
        MAIL_WAIT,
    );
    assert!(mail.body.contains("nightly export"), "{}", mail.body);
    assert!(
        mail.body.contains("If you did not create it"),
        "{}",
        mail.body
    );

    for _ in 0..5 {
        let (status, _) = login(&system, &person.username, "not the password at all").await;
        assert_eq!(status, 401);
    }
    let (status, _) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(status, 423, "locked");
    let mail = smtp.wait_for(&person.email, "Your account was locked", MAIL_WAIT);
    assert!(
        mail.body.contains("tried your password 5 times"),
        "{}",
        mail.body
    );
    assert!(mail.body.contains("If it was not you"), "{}", mail.body);

    let waiting = pending_person(&system).await;
    let (status, body) = system
        .post(
            &format!("/api/admin/reject/{}", waiting.user_id),
            Some(&admin),
            json!({ "reason": "not a member of staff" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mail = smtp.wait_for(&waiting.email, "declined", MAIL_WAIT);
    assert!(mail.body.contains("not a member of staff"), "{}", mail.body);
    assert!(mail.body.contains("If you never asked"), "{}", mail.body);
}

/// The control of the gateway's test clock: moves it forward.
async fn advance(control: &str, seconds: i64) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{control}/clock/advance"))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .expect("the gateway's test clock (build with --features auth-gateway/test-clock)");
    assert_eq!(response.status(), 200);
}

/// Lists undelivered mail as the admin whose email is `admin`, signing in afresh each time (the
/// test moves the clock past an admin token's hour).
async fn undelivered(system: &System, admin: &str, query: &str) -> (u16, Value) {
    let username = admin.split('@').next().unwrap();
    let (status, body) = system
        .post(
            "/api/admin/login",
            None,
            json!({ "username": username, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["access_token"].as_str().unwrap();
    system
        .get_as(&format!("/api/admin/mail{query}"), token)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_a_server_refuses_is_retried_then_given_up_and_listed_for_admins() {
    let refusing = Smtp::start_refusing();
    let control = format!("127.0.0.1:{}", free_port());
    let system = System::start_with(
        Storage::Embedded,
        &format!(
            "[mail]\nsmtp_url = \"smtp://127.0.0.1:{}\"\n",
            refusing.port()
        ),
        &[("GATEWAY_TEST_CLOCK", &control)],
    );
    let (_, admin) = admin_token(&system, "admin").await;
    let (username, email) = new_person_names();
    let (status, body) = system
        .post("/api/register", None, registration(&username, &email))
        .await;
    assert_eq!(status, 201, "{body}");

    // The first attempt fails at once; the message waits for its next try.
    let mut attempts = 0;
    for _ in 0..200 {
        let (status, body) = undelivered(&system, &admin, "?state=waiting").await;
        assert_eq!(status, 200, "{body}");
        attempts = body["data"]["items"][0]["attempts"].as_i64().unwrap_or(0);
        if attempts >= 1 {
            let item = &body["data"]["items"][0];
            assert_eq!(item["recipient"], email.as_str());
            assert_eq!(item["state"], "waiting");
            assert!(
                item["last_error"].as_str().unwrap().contains("550"),
                "{item}"
            );
            assert!(item.get("body").is_none(), "bodies are never shown");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(attempts, 1);
    assert_eq!(system.metric("auth_mail_waiting").await, Some(1.0));
    assert_eq!(system.metric("auth_mail_failed").await, Some(0.0));

    // Not tried again before its backoff is over: the clock stands still, so attempts stay 1.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, body) = undelivered(&system, &admin, "").await;
    assert_eq!(body["data"]["items"][0]["attempts"], 1);

    // Each hour the next try is due (the longest backoff is 43 minutes); after 12 it gives up.
    for expected in 2..=12 {
        advance(&control, 3600).await;
        let mut seen = 0;
        for _ in 0..200 {
            let (_, body) = undelivered(&system, &admin, "").await;
            seen = body["data"]["items"][0]["attempts"].as_i64().unwrap_or(0);
            if seen >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(seen, expected);
    }
    let (_, body) = undelivered(&system, &admin, "?state=failed").await;
    assert_eq!(body["data"]["total"], 1, "{body}");
    let item = &body["data"]["items"][0];
    assert_eq!(item["state"], "failed");
    assert!(item["next_attempt_at"].is_null(), "{item}");
    let (_, body) = undelivered(&system, &admin, "?state=waiting").await;
    assert_eq!(body["data"]["total"], 0, "{body}");
    assert_eq!(system.metric("auth_mail_waiting").await, Some(0.0));
    assert_eq!(system.metric("auth_mail_failed").await, Some(1.0));

    // Given up means given up: a day later it is still not tried again.
    advance(&control, 86_400).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, body) = undelivered(&system, &admin, "?state=failed").await;
    assert_eq!(body["data"]["items"][0]["attempts"], 12);

    // The list refuses what it does not know, and anyone but an admin.
    let (status, body) = undelivered(&system, &admin, "?state=lost").await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = undelivered(&system, &admin, "?per_page=0").await;
    assert_eq!(status, 422);
    let (status, _) = system.get("/api/admin/mail").await;
    assert_eq!(status, 401);
    let (status, _) = system.get_as("/api/admin/mail", "not-a-token").await;
    assert_eq!(status, 401);
}
