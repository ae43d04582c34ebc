//! Security events land in the audit log with their outcome: logins and lockouts of users and
//! admins, refresh and its reuse, resets, personal access tokens, QR logins and logouts, session
//! revocations, services and the schedule.

use auth_test_support::run_gateway_command;
use serde_json::{Value, json};

use crate::flows::{
    PASSWORD, active_person, admin_token, login, new_person_names, pending_person, qr_challenge,
    qr_session, registration, reset_token, scan, service_key, tokens,
};
use crate::harness::{Storage, System};

/// The audit entries of `action`, newest first.
async fn entries(system: &System, admin: &str, action: &str) -> Vec<Value> {
    let (status, body) = system
        .get_as(
            &format!("/api/admin/audit?action={action}&per_page=200"),
            admin,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn security_events_are_audited_with_their_outcome() {
    // No grace window for parallel refreshes, so a reuse is caught at once.
    let system = System::start_with_mail(Storage::Embedded, "[tokens]\nrefresh_grace_secs = 0\n");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;

    let pair = tokens(&system, &person).await;
    let old_refresh = pair["refresh_token"].as_str().unwrap();
    let access = pair["access_token"].as_str().unwrap().to_string();

    // A personal access token made, used and revoked.
    let (_, made) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "audit", "expires_in_days": 7, "services": ["service-b"] }),
        )
        .await;
    let pat = made["data"]["token"].as_str().unwrap().to_string();
    let pat_id = made["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(system.get_as("/api/users/me", &pat).await.0, 200);
    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/users/me/tokens/{pat_id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Refresh, then the old refresh token again: the family (and its session) is revoked.
    let refresh =
        |token: &str| system.post("/api/auth/refresh", None, json!({ "refresh_token": token }));
    assert_eq!(refresh(old_refresh).await.0, 200);
    assert_eq!(refresh(old_refresh).await.0, 401);

    // A new verification link, and a password reset asked for and done.
    let (username, email) = new_person_names();
    system
        .post("/api/register", None, registration(&username, &email))
        .await;
    let (status, _) = system
        .post(
            "/api/auth/resend-verification",
            None,
            json!({ "email": email }),
        )
        .await;
    assert_eq!(status, 202);
    let reset = reset_token(&system, &person.email).await;
    let (status, body) = system
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": reset, "new_password": "amber kettle drifts slowly" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Lockouts: a user and an admin after five wrong passwords each.
    let locked_out = active_person(&system, &admin).await;
    for _ in 0..5 {
        login(&system, &locked_out.username, "not the password").await;
    }
    assert_eq!(login(&system, &locked_out.username, PASSWORD).await.0, 423);
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &system.config_path(),
            "create-admin",
            "--username",
            "forgetful",
            "--email",
            "forgetful@example.com",
            "--role",
            "support",
        ],
        &[],
        "quiet meadow lantern 42\n",
    );
    assert_eq!(code, 0, "{output}");
    for _ in 0..5 {
        system
            .post(
                "/api/admin/login",
                None,
                json!({ "username": "forgetful", "password": "not the password" }),
            )
            .await;
    }

    // A QR login ended by logout, a PIN guessed until the account is locked, revocations.
    let visitor = active_person(&system, &admin).await;
    let session = qr_session(&system, &admin, &visitor, "service-b").await;
    assert_eq!(
        system
            .post("/api/auth/logout", Some(&session), json!({}))
            .await
            .0,
        200
    );
    let guesser = pending_person(&system).await;
    system
        .post(
            &format!("/api/admin/approve/{}", guesser.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    let key = service_key(&system, &admin, "service-b").await;
    let client = system.client();
    let phone = tokens(&system, &guesser).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let qr_token = qr_challenge(&system, &key).await;
    let scanned = scan(&system, &phone, &qr_token).await;
    let right = scanned["pin"].as_str().unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        client
            .post(system.url("/api/auth/pin/verify"))
            .header("x-api-key", &key)
            .json(&json!({ "qr_token": qr_token, "pin": wrong }))
            .send()
            .await
            .unwrap();
    }
    let sessions_of = |user_id: String| {
        let path = format!("/api/admin/sessions?user_id={user_id}");
        let admin = admin.clone();
        let system = &system;
        async move { system.get_as(&path, &admin).await.1 }
    };
    let listed = sessions_of(guesser.user_id.clone()).await;
    let one = listed["data"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions/{one}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/sessions?user_id={}", guesser.user_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Services and the schedule.
    let (status, _) = system
        .post(
            "/api/services/register",
            Some(&admin),
            json!({ "name": "Audited", "slug": "audited", "hosts": ["audited.localhost"],
                    "upstreams": ["127.0.0.1:9"] }),
        )
        .await;
    assert_eq!(status, 201);
    for path in [
        "/api/services/audited/disable",
        "/api/services/audited/enable",
    ] {
        assert_eq!(system.post(path, Some(&admin), json!({})).await.0, 200);
    }
    let (_, schedule) = system.get_as("/api/admin/schedule", &admin).await;
    let (status, _) = system
        .call(
            reqwest::Method::PUT,
            "/api/admin/schedule",
            Some(&admin),
            Some(schedule["data"].clone()),
        )
        .await;
    assert_eq!(status, 200);

    for (action, outcome) in [
        ("admin.created", "success"),
        ("admin.login", "success"),
        ("admin.login", "failure"),
        ("admin.locked", "failure"),
        ("token.refreshed", "success"),
        ("refresh_family.revoked", "denied"),
        ("pat.created", "success"),
        ("pat.used", "success"),
        ("pat.revoked", "success"),
        ("user.verification_resent", "success"),
        ("password.reset_requested", "success"),
        ("password.reset", "success"),
        ("user.locked", "failure"),
        ("qr.scanned", "success"),
        ("session.logout", "success"),
        ("user.pin_locked", "failure"),
        ("session.revoked", "success"),
        ("session.revoked_all", "success"),
        ("service.key_rotated", "success"),
        ("service.registered", "success"),
        ("service.disabled", "success"),
        ("service.enabled", "success"),
        ("schedule.changed", "success"),
    ] {
        let found = entries(&system, &admin, action).await;
        assert!(
            found.iter().any(|e| e["outcome"] == outcome),
            "no {action} with outcome {outcome}: {found:?}"
        );
    }
    // Lockouts say until when.
    for action in ["user.locked", "admin.locked", "user.pin_locked"] {
        let found = entries(&system, &admin, action).await;
        assert!(
            found[0]["details"]["locked_until"].is_string(),
            "{action}: {found:?}"
        );
    }
}
