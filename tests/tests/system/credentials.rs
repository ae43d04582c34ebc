//! Credentials over HTTP: password login and its refusals, lockout under parallel attempts,
//! refresh rotation and reuse, password reset by mail, personal access tokens, cookies, logout,
//! and tokens checked by an independent JWT library.

use std::process::Command;
use std::time::Instant;

use auth_test_support::Smtp;
use serde_json::{Value, json};

use crate::flows::{
    MAIL_WAIT, PASSWORD, Person, active_person, admin_token, login, pending_person, registration,
    reset_token, tokens,
};
use crate::harness::{Storage, System, json as json_of};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_succeeds_and_each_refusal_has_its_code() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;

    let (status, body) = login(&system, &person.email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["token_type"], "bearer");
    assert_eq!(data["expires_in"], 900);
    assert_eq!(data["user_id"], person.user_id.as_str());
    assert!(data["refresh_token"].as_str().unwrap().len() >= 43);

    let (status, body) = login(&system, &person.username, "not the password").await;
    assert_eq!((status, code(&body)), (401, Some("INVALID_CREDENTIALS")));
    let (status, unknown) = login(&system, "nobody-at-all", PASSWORD).await;
    assert_eq!((status, code(&unknown)), (401, Some("INVALID_CREDENTIALS")));
    assert_eq!(unknown["error"]["message"], body["error"]["message"]);

    let (username, email) = crate::flows::new_person_names();
    system
        .post("/api/register", None, registration(&username, &email))
        .await;
    let (status, body) = login(&system, &username, PASSWORD).await;
    assert_eq!((status, code(&body)), (403, Some("EMAIL_NOT_VERIFIED")));
    // The state shows only to someone with the password.
    assert_eq!(login(&system, &username, "not the password").await.0, 401);

    let pending = pending_person(&system).await;
    let (status, body) = login(&system, &pending.username, PASSWORD).await;
    assert_eq!((status, code(&body)), (403, Some("ACCOUNT_PENDING")));

    system
        .post(
            &format!("/api/admin/users/{}/block", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!((status, code(&body)), (403, Some("ACCOUNT_BLOCKED")));
    system
        .post(
            &format!("/api/admin/users/{}/unblock", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;

    for _ in 0..5 {
        login(&system, &person.username, "not the password").await;
    }
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!((status, code(&body)), (423, Some("ACCOUNT_LOCKED")));
    assert!(body["error"]["details"]["locked_until"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_parallel_wrong_passwords_lock_after_exactly_five() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let attempts = (0..50).map(|_| {
        let system = &system;
        let username = person.username.clone();
        async move { login(system, &username, "not the password").await.0 }
    });
    let statuses = futures::future::join_all(attempts).await;
    let counted = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 423).count();
    assert_eq!((counted, locked), (5, 45), "{statuses:?}");
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 423);

    let (_, audit) = system
        .get_as(
            &format!(
                "/api/admin/audit?action=user.locked&target_id={}",
                person.user_id
            ),
            &admin,
        )
        .await;
    assert_eq!(audit["data"]["total"], 1);
    let (status, _) = system
        .post(
            &format!("/api/admin/users/{}/unlock", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 200);
}

async fn verifications(system: &System) -> f64 {
    system
        .metric("auth_password_verifications_total")
        .await
        .expect("the auth_password_verifications_total metric")
}

/// What each failed login costs, counted rather than timed (bench/enumeration_timing.py measures the
/// times): one Argon2id verification, whether the account exists or not, and whether it is locked
/// or not. Without the dummy hash an unknown login would cost none; without hashing on the locked
/// path a locked account would.
#[tokio::test(flavor = "multi_thread")]
async fn every_failed_login_costs_one_password_verification() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let nobody = format!("nobody-{}", person.username);
    // Five counted tries each, then two at the locks.
    for attempt in 1..=7 {
        for name in [&person.username, &nobody] {
            let before = verifications(&system).await;
            let (status, body) = login(&system, name, "not the password").await;
            let cost = verifications(&system).await - before;
            assert_eq!(cost, 1.0, "try {attempt} at {name}: {status} {body}");
        }
    }
}

async fn refresh(system: &System, token: &str) -> (u16, Value) {
    system
        .post("/api/auth/refresh", None, json!({ "refresh_token": token }))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let system = System::start_with_mail(
        Storage::shared_servers(),
        "[tokens]\nrefresh_grace_secs = 0\n",
    );
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let first = tokens(&system, &person).await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let (status, second) = refresh(&system, first_refresh).await;
    assert_eq!(status, 200, "{second}");
    let second = &second["data"];
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        system
            .get_as("/api/users/me", second["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );

    // The spent token comes back: someone copied it. The whole family dies.
    let (status, body) = refresh(&system, first_refresh).await;
    assert_eq!((status, code(&body)), (401, Some("INVALID_TOKEN")));
    let (status, _) = refresh(&system, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(
        system
            .get_as("/api/users/me", second["access_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    let (_, audit) = system
        .get_as(
            &format!(
                "/api/admin/audit?action=refresh_family.revoked&target_id={}",
                person.user_id
            ),
            &admin,
        )
        .await;
    assert_eq!(audit["data"]["total"], 1);
    let (status, body) = refresh(&system, "rt_made-up").await;
    assert_eq!((status, code(&body)), (401, Some("INVALID_TOKEN")));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tabs_refreshing_at_once_both_succeed_with_the_same_pair() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let first = tokens(&system, &person).await;
    let token = first["refresh_token"].as_str().unwrap();
    let (a, b) = tokio::join!(refresh(&system, token), refresh(&system, token));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["data"], b.1["data"]);
    let (status, _) = refresh(&system, a.1["data"]["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_by_mail_signs_out_everywhere() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = tokens(&system, &person).await;

    let (status, _) = system
        .post(
            "/api/auth/password/forgot",
            None,
            json!({ "email": "no-such-person@example.com" }),
        )
        .await;
    assert_eq!(status, 202);
    let token = reset_token(&system, &person.email).await;

    let (status, body) = system
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "password123" }),
        )
        .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("new_password"))
    );
    let (status, body) = system
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "amber glacier whistle" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = system
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "second brand new phrase" }),
        )
        .await;
    assert_eq!(status, 401);

    assert_eq!(
        system
            .get_as("/api/users/me", session["access_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    assert_eq!(
        refresh(&system, session["refresh_token"].as_str().unwrap())
            .await
            .0,
        401
    );
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 401);
    assert_eq!(
        login(&system, &person.username, "amber glacier whistle")
            .await
            .0,
        200
    );
    Smtp::shared().wait_for(&person.email, "password was changed", MAIL_WAIT);
    assert!(
        Smtp::shared()
            .messages_to("no-such-person@example.com")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn personal_access_tokens_live_until_revoked() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "deploy script", "expires_in_days": 30, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let pat = body["data"]["token"].as_str().unwrap().to_string();
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert!(pat.starts_with("pat_"));

    let (_, listed) = system.get_as("/api/users/me/tokens", &access).await;
    let item = &listed["data"]["items"][0];
    assert!(item.get("token").is_none(), "the secret is shown only once");
    assert!(item["last_used_at"].is_null());
    assert!(pat.starts_with(item["token_prefix"].as_str().unwrap()));

    let (status, body) = system.get_as("/api/users/me", &pat).await;
    assert_eq!(
        (status, body["data"]["id"].as_str()),
        (200, Some(person.user_id.as_str()))
    );
    let (_, listed) = system.get_as("/api/users/me/tokens", &access).await;
    assert!(listed["data"]["items"][0]["last_used_at"].is_string());

    // At a service behind the gateway the token stands for its owner, without a session.
    let at_service_b = |token: &str| {
        let request = system
            .client()
            .get(system.host_url("service-b.localhost", "/reports"))
            .bearer_auth(token);
        async move { json_of(request.send().await.unwrap()).await }
    };
    let (status, seen) = at_service_b(&pat).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["identity_headers"]["x-auth-user-id"], person.user_id);
    assert_eq!(seen["identity"]["user_id"], person.user_id);
    assert!(seen["identity_headers"].get("x-auth-session-id").is_none());
    // Used again within a session's lifetime, it is still one login at ServiceB, with its client.
    assert_eq!(at_service_b(&pat).await.0, 200);
    let (_, history) = system
        .get_as(
            &format!(
                "/api/admin/login-history?user_id={}&service=service-b",
                person.user_id
            ),
            &admin,
        )
        .await;
    let rows = history["data"]["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{history}");
    assert_eq!(rows[0]["method"], "pat");
    assert_eq!(rows[0]["success"], true);
    assert_eq!(rows[0]["client_ip"], "127.0.0.1");

    let (status, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "forever", "expires_in_days": 10000, "services": ["service-b"] }),
        )
        .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("expires_in_days"))
    );

    let (status, _) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/users/me/tokens/{id}"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(system.get_as("/api/users/me", &pat).await.0, 401);
    assert_eq!(at_service_b(&pat).await.0, 401);

    // An admin's token works on admin routes like the admin's login token.
    let (_, body) = system
        .post(
            "/api/admin/tokens",
            Some(&admin),
            json!({ "name": "reports", "expires_in_days": 7, "services": ["service-b"] }),
        )
        .await;
    // An admin's token names no service: it opens the admin API only.
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "services",
        "{body}"
    );
    let (_, body) = system
        .post(
            "/api/admin/tokens",
            Some(&admin),
            json!({ "name": "reports", "expires_in_days": 7 }),
        )
        .await;
    let admin_pat = body["data"]["token"].as_str().unwrap();
    assert_eq!(system.get_as("/api/admin/users", admin_pat).await.0, 200);
    assert_eq!(system.get_as("/api/admin/users", &pat).await.0, 401);
    // An admin's token is for the admin API, not for services nor a person's account API.
    assert_eq!(
        system.get_as("/api/users/me/tokens", admin_pat).await.0,
        403
    );
    assert_eq!(at_service_b(admin_pat).await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_can_use_http_only_cookies() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let response = system
        .client()
        .post(system.url("/api/auth/login"))
        .json(&json!({ "login": person.username, "password": PASSWORD, "use_cookies": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let body: Value = response.json().await.unwrap();
    assert!(body["data"].get("access_token").is_none());
    for cookie in &cookies {
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(!cookie.contains("Secure"), "not over TLS: {cookie}");
    }
    let jar: Vec<&str> = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    let access_cookie = jar.iter().find(|c| c.starts_with("auth_access=")).unwrap();
    let me = system
        .client()
        .get(system.url("/api/users/me"))
        .header("cookie", *access_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let refreshed = system
        .client()
        .post(system.url("/api/auth/refresh"))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status().as_u16(), 200);
    assert_eq!(refreshed.headers().get_all("set-cookie").iter().count(), 2);
    let jar: Vec<String> = refreshed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();

    // Logging out ends the session and tells the browser to drop both cookies.
    let logout = system
        .client()
        .post(system.url("/api/auth/logout"))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 200);
    let cleared: Vec<String> = logout
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    for name in ["auth_access=", "auth_refresh="] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(name) && c.contains("Max-Age=0")),
            "{name} not cleared: {cleared:?}"
        );
    }
    let me = system
        .client()
        .get(system.url("/api/users/me"))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 401);
}

async fn session_of(system: &System, person: &Person) -> (String, String) {
    let t = tokens(system, person).await;
    (
        t["access_token"].as_str().unwrap().to_string(),
        t["refresh_token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_and_its_refresh_family() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let (access, refresh_token) = session_of(&system, &person).await;
    let (other_access, _) = session_of(&system, &person).await;
    let (status, _) = system
        .post("/api/auth/logout", Some(&access), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(system.get_as("/api/users/me", &access).await.0, 401);
    assert_eq!(refresh(&system, &refresh_token).await.0, 401);
    // Other sessions of the same person live on.
    assert_eq!(system.get_as("/api/users/me", &other_access).await.0, 200);
    assert_eq!(
        system.post("/api/auth/logout", None, json!({})).await.0,
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_token_says_whose_it_is() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let (access, _) = session_of(&system, &person).await;
    let (status, body) = system
        .post("/api/auth/validate-token", None, json!({ "token": access }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["is_valid"], true);
    assert_eq!(body["data"]["user_id"], person.user_id.as_str());
    assert_eq!(body["data"]["email"], person.email.as_str());
    assert!(body["data"]["expires_at"].is_string());
    for bad in ["garbage", &access[..access.len() - 4], admin.as_str()] {
        let (status, body) = system
            .post("/api/auth/validate-token", None, json!({ "token": bad }))
            .await;
        assert_eq!(
            (status, body["data"]["is_valid"].as_bool()),
            (200, Some(false)),
            "{bad:.20}"
        );
    }
}

fn pyjwt(jwks_url: &str, token: &str, audience: &str) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/verify_with_pyjwt.py");
    let output = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .args([script, jwks_url, token, audience, "auth-gateway"])
        .output()
        .expect("run python3 (pip install 'pyjwt[crypto]')");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn pyjwt_verifies_our_tokens_from_the_jwks_alone() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let (access, _) = session_of(&system, &person).await;
    let jwks_url = system.url("/.well-known/jwks.json");
    let handle = tokio::task::spawn_blocking({
        let (jwks_url, access) = (jwks_url.clone(), access.clone());
        move || {
            let good = pyjwt(&jwks_url, &access, "auth-api");
            let wrong_aud = pyjwt(&jwks_url, &access, "service-b");
            let mut tampered = access.clone();
            let flip = tampered.len() - 3;
            let replacement = if &tampered[flip..flip + 1] == "A" {
                "B"
            } else {
                "A"
            };
            tampered.replace_range(flip..flip + 1, replacement);
            (good, wrong_aud, pyjwt(&jwks_url, &tampered, "auth-api"))
        }
    });
    let (good, wrong_aud, tampered) = handle.await.unwrap();
    assert!(good.0, "PyJWT refused a good token: {}", good.1);
    assert_eq!(good.1.trim(), person.user_id);
    assert!(!wrong_aud.0, "PyJWT accepted the wrong audience");
    assert!(!tampered.0, "PyJWT accepted a tampered token");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_on_the_command_line_reaches_the_running_gateway() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let before = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let kids = || async {
        let (_, jwks) = system.get("/.well-known/jwks.json").await;
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let old_kids = kids().await;
    assert_eq!(old_kids.len(), 1);

    let (code, output) = auth_test_support::run_gateway_command(
        &["--config", &system.config_path(), "keys", "rotate"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{output}");

    // The running gateway hears of it through Redis: both keys published, the new one signing.
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while kids().await.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the JWKS never listed the new key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let after = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let kid_of = |token: &str| {
        let header = token.split('.').next().unwrap();
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_string()
    };
    assert_eq!(kid_of(&before), old_kids[0]);
    assert_ne!(kid_of(&after), old_kids[0], "new tokens use the new key");
    // A token signed before the rotation still works until it expires.
    assert_eq!(system.get_as("/api/users/me", &before).await.0, 200);
    assert_eq!(system.get_as("/api/users/me", &after).await.0, 200);
}
