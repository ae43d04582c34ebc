//! Accounts over HTTP: registration, verification by mail, the approval queue, roles, user
//! management, the audit log and the event stream.

use auth_test_support::{Redis, Smtp};
use serde_json::{Value, json};

use crate::flows::{
    MAIL_WAIT, PASSWORD, active_person, admin_token, login, mailed_token, new_person_names,
    pending_person, registration, tokens,
};
use crate::harness::{Storage, System};

#[tokio::test(flavor = "multi_thread")]
async fn register_verify_and_approve_with_real_mail() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, admin_email) = admin_token(&system, "admin").await;
    let (username, email) = new_person_names();

    let (status, body) = system
        .post("/api/register", None, registration(&username, &email))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["status"], "unverified");
    let user_id = body["data"]["user_id"].as_str().unwrap().to_string();

    let (status, body) = login(&system, &username, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("EMAIL_NOT_VERIFIED"))
    );

    let verify = Smtp::shared().wait_for(&email, "Verify your email", MAIL_WAIT);
    let link = verify
        .link_containing("/verify-email?token=")
        .expect("verification link");
    assert!(
        link.starts_with(&system.url("/verify-email?token=")),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap();
    let (status, body) = system
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "pending");
    // The link works once.
    let (status, body) = system
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("INVALID_TOKEN"))
    );

    let notice = Smtp::shared().wait_for(&admin_email, "waiting for approval", MAIL_WAIT);
    assert!(notice.body.contains(&username));
    assert!(
        notice.body.contains(&system.url("/admin/pending")),
        "the mail leads to the console: {}",
        notice.body
    );
    let (status, body) = login(&system, &username, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACCOUNT_PENDING"))
    );

    let (status, body) = system.get_as("/api/admin/pending", &admin).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&user_id.as_str()));

    let (status, body) = system
        .post(
            &format!("/api/admin/approve/{user_id}"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "active");
    assert!(
        body["data"]["auth_key"]
            .as_str()
            .unwrap()
            .starts_with("ak_")
    );
    let approved = Smtp::shared().wait_for(&email, "approved", MAIL_WAIT);
    assert!(approved.body.contains("QR code"));

    let (status, body) = system
        .get_as(&format!("/api/admin/users/{user_id}"), &admin)
        .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("active"))
    );
    let (status, _) = login(&system, &email.to_uppercase(), PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn rejection_sends_the_reason_and_bars_login() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = pending_person(&system).await;
    let (status, body) = system
        .post(
            &format!("/api/admin/reject/{}", person.user_id),
            Some(&admin),
            json!({ "reason": "not an employee of ours" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "rejected");
    let mail = Smtp::shared().wait_for(&person.email, "declined", MAIL_WAIT);
    assert!(mail.body.contains("not an employee of ours"));
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("ACCOUNT_REJECTED"))
    );

    let (status, body) = system
        .post(
            &format!("/api/admin/reject/{}", person.user_id),
            Some(&admin),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("CONFLICT"))
    );
    let (status, body) = system
        .post(
            &format!(
                "/api/admin/reject/{}",
                pending_person(&system).await.user_id
            ),
            Some(&admin),
            json!({ "reason": " " }),
        )
        .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("reason"))
    );
}

async fn user_total(system: &System, admin: &str) -> i64 {
    system.get_as("/api/admin/users", admin).await.1["data"]["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invalid_field_is_named_and_nothing_is_written() {
    let system = System::start(Storage::Embedded);
    let (admin, _) = admin_token(&system, "support").await;
    let good = registration("valid-name", "valid@example.com");
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "email": "not-an-email" }), "email"),
        (json!({ "email": "ann@localhost" }), "email"),
        (json!({ "username": "x" }), "username"),
        (json!({ "username": "has space" }), "username"),
        (json!({ "full_name": "" }), "full_name"),
        (
            json!({ "password": "short", "password_confirmation": "short" }),
            "password",
        ),
        (
            json!({ "password": "password1234", "password_confirmation": "password1234" }),
            "password",
        ),
        (
            json!({ "password": "valid-name is my pass", "password_confirmation": "valid-name is my pass" }),
            "password",
        ),
        (
            json!({ "password_confirmation": "something else entirely" }),
            "password_confirmation",
        ),
    ];
    for (change, field) in cases {
        let mut body = good.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = system.post("/api/register", None, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
        let fields: Vec<&str> = answer["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} -> {answer}");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("username");
    let (status, answer) = system.post("/api/register", None, missing).await;
    assert_eq!(
        (
            status,
            answer["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("username"))
    );
    let mut unknown = good.clone();
    unknown["is_admin"] = json!(true);
    let (status, answer) = system.post("/api/register", None, unknown).await;
    assert_eq!(
        (
            status,
            answer["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("is_admin"))
    );
    let response = system
        .client()
        .post(system.url("/api/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(user_total(&system, &admin).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_refused_even_in_another_case() {
    let system = System::start(Storage::shared_servers());
    let (admin, _) = admin_token(&system, "support").await;
    let (status, _) = system
        .post(
            "/api/register",
            None,
            registration("ann-smith", "Ann@Example.com"),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = system
        .post(
            "/api/register",
            None,
            registration("other-name", "aNN@example.COM"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("DUPLICATE_EMAIL"))
    );
    let (status, body) = system
        .post(
            "/api/register",
            None,
            registration("ANN-SMITH", "other@example.com"),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("DUPLICATE_USERNAME"))
    );
    assert_eq!(user_total(&system, &admin).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_check_the_role() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let (support, _) = admin_token(&system, "support").await;
    let person = active_person(&system, &admin).await;
    let user_token = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = pending_person(&system).await;
    let approve = format!("/api/admin/approve/{}", pending.user_id);

    let (status, body) = system
        .call(reqwest::Method::GET, "/api/admin/pending", None, None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let (status, body) = system.get_as("/api/admin/pending", &user_token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let (status, _) = system.post(&approve, Some(&user_token), json!({})).await;
    assert_eq!(status, 403);

    for path in ["/api/admin/pending", "/api/admin/users", "/api/admin/audit"] {
        assert_eq!(system.get_as(path, &support).await.0, 200, "{path}");
    }
    let (status, body) = system.post(&approve, Some(&support), json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("FORBIDDEN"))
    );
    let block = format!("/api/admin/users/{}/block", person.user_id);
    assert_eq!(system.post(&block, Some(&support), json!({})).await.0, 403);

    let (status, body) = system
        .get_as(&format!("/api/admin/users/{}", pending.user_id), &support)
        .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("pending"))
    );
    assert_eq!(system.post(&approve, Some(&admin), json!({})).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_decisions_have_one_winner_and_one_mail() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (first, _) = admin_token(&system, "admin").await;
    let (second, _) = admin_token(&system, "admin").await;
    let person = pending_person(&system).await;
    let decisions = (0..10).map(|i| {
        let (token, path, body) = if i % 2 == 0 {
            (
                first.clone(),
                format!("/api/admin/approve/{}", person.user_id),
                json!({}),
            )
        } else {
            (
                second.clone(),
                format!("/api/admin/reject/{}", person.user_id),
                json!({ "reason": "duplicate" }),
            )
        };
        let system = &system;
        async move { system.post(&path, Some(&token), body).await.0 }
    });
    let mut statuses = futures::future::join_all(decisions).await;
    statuses.sort();
    assert_eq!(statuses, [vec![200], vec![409; 9]].concat());
    // Give the mail worker time to send anything it (wrongly) might, then count.
    Smtp::shared().wait_for(&person.email, "Your account", MAIL_WAIT);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let decided = Smtp::shared()
        .messages_to(&person.email)
        .into_iter()
        .filter(|m| m.subject.starts_with("Your account"))
        .count();
    assert_eq!(decided, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_delete_and_restore_keep_the_account_intact() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let session = tokens(&system, &person).await;
    let access = session["access_token"].as_str().unwrap();
    let before = system
        .get_as(&format!("/api/admin/users/{}", person.user_id), &admin)
        .await
        .1["data"]
        .clone();

    let (status, body) = system
        .call(
            reqwest::Method::DELETE,
            &format!("/api/admin/users/{}", person.user_id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("deleted"))
    );
    assert_eq!(system.get_as("/api/users/me", access).await.0, 401);
    let (status, body) = login(&system, &person.username, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );

    let (status, body) = system
        .post(
            &format!("/api/admin/users/{}/restore", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for field in [
        "status",
        "auth_key",
        "email",
        "username",
        "full_name",
        "created_at",
    ] {
        assert_eq!(body["data"][field], before[field], "{field}");
    }
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 200);

    // A person can delete their own account.
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = system
        .call(
            reqwest::Method::DELETE,
            "/api/users/me",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (200, Some("deleted"))
    );
    assert_eq!(login(&system, &person.username, PASSWORD).await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_action_is_audited() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let admin_id = system
        .get_as("/api/admin/audit?action=admin.login", &admin)
        .await
        .1["data"]["items"][0]["actor_id"]
        .as_str()
        .unwrap()
        .to_string();
    let person = active_person(&system, &admin).await;
    let other = pending_person(&system).await;
    let user = |suffix: &str| format!("/api/admin/users/{}{suffix}", person.user_id);
    system
        .post(
            &format!("/api/admin/reject/{}", other.user_id),
            Some(&admin),
            json!({ "reason": "no" }),
        )
        .await;
    for path in [user("/block"), user("/unblock"), user("/unlock")] {
        assert_eq!(
            system.post(&path, Some(&admin), json!({})).await.0,
            200,
            "{path}"
        );
    }
    system
        .call(reqwest::Method::DELETE, &user(""), Some(&admin), None)
        .await;
    system
        .post(&user("/restore"), Some(&admin), json!({}))
        .await;

    let (status, body) = system
        .get_as(
            &format!("/api/admin/audit?actor_id={admin_id}&per_page=100"),
            &admin,
        )
        .await;
    assert_eq!(status, 200);
    let entries = body["data"]["items"].as_array().unwrap();
    for action in [
        "user.approved",
        "user.rejected",
        "user.blocked",
        "user.unblocked",
        "user.unlocked",
        "user.deleted",
        "user.restored",
    ] {
        let entry = entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no audit entry for {action}: {body}"));
        assert_eq!(entry["actor_kind"], "admin");
        assert_eq!(entry["outcome"], "success");
        assert_eq!(entry["client_ip"], "127.0.0.1");
        assert!(entry["target_id"].is_string());
    }
    let (_, filtered) = system
        .get_as("/api/admin/audit?action=user.blocked", &admin)
        .await;
    assert_eq!(filtered["data"]["total"], 1);
}

/// The event types on `stream` about `user_id`, in stream order, once there are `wanted` of them
/// (or what there is after ten seconds).
async fn events_about(redis: &Redis, stream: &str, user_id: &str, wanted: usize) -> Vec<String> {
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut types = Vec::new();
    for _ in 0..100 {
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        types = entries
            .ids
            .iter()
            .filter(|e| e.get::<String>("user_id").as_deref() == Some(user_id))
            .map(|e| e.get::<String>("type").unwrap())
            .collect();
        if types.len() >= wanted {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    types
}

fn system_with_redis(redis: &Redis, prefix: &str) -> System {
    let url = auth_test_support::Postgres::shared().create_database();
    System::start_with(
        Storage::Postgres { url, redis: None },
        &format!(
            "[redis]\nurl = \"{}\"\nkey_prefix = \"{prefix}\"\n[mail]\nsmtp_url = \"smtp://127.0.0.1:{}\"\n",
            redis.url(),
            Smtp::shared().port()
        ),
        &[],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_the_redis_stream_in_order() {
    let redis = Redis::shared();
    let prefix = redis.unique_prefix();
    let system = system_with_redis(redis, &prefix);
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    tokens(&system, &person).await;
    let other = pending_person(&system).await;
    let (status, _) = system
        .post(
            &format!("/api/admin/reject/{}", other.user_id),
            Some(&admin),
            json!({ "reason": "unknown here" }),
        )
        .await;
    assert_eq!(status, 200);

    let stream = format!("{prefix}events");
    assert_eq!(
        events_about(redis, &stream, &person.user_id, 4).await,
        [
            "user.registered",
            "user.email_verified",
            "user.approved",
            "user.logged_in"
        ]
    );
    assert_eq!(
        events_about(redis, &stream, &other.user_id, 3).await,
        ["user.registered", "user.email_verified", "user.rejected"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_wait_in_the_outbox_while_redis_is_down() {
    let redis = std::sync::Arc::new(Redis::start_new());
    let prefix = redis.unique_prefix();
    let system = system_with_redis(&redis, &prefix);
    let stopping = redis.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();

    // Registration and verification go on without Redis; their events are kept, not lost, and
    // published before the ones that follow.
    let person = pending_person(&system).await;
    let starting = redis.clone();
    tokio::task::spawn_blocking(move || starting.start())
        .await
        .unwrap();
    let (admin, _) = admin_token(&system, "admin").await;
    let (status, body) = system
        .post(
            &format!("/api/admin/approve/{}", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        events_about(&redis, &format!("{prefix}events"), &person.user_id, 3).await,
        ["user.registered", "user.email_verified", "user.approved"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn people_manage_their_own_profile() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let access = tokens(&system, &person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = system.get_as("/api/users/me", &access).await;
    assert_eq!(
        (status, body["data"]["email"].as_str()),
        (200, Some(person.email.as_str()))
    );
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/users/me",
            Some(&access),
            Some(json!({ "full_name": "New Name" })),
        )
        .await;
    assert_eq!(
        (status, body["data"]["full_name"].as_str()),
        (200, Some("New Name"))
    );
    let (status, body) = system
        .call(
            reqwest::Method::PUT,
            "/api/users/me",
            Some(&access),
            Some(json!({ "status": "active" })),
        )
        .await;
    assert_eq!(
        (
            status,
            body["error"]["details"]["fields"][0]["field"].as_str()
        ),
        (422, Some("status"))
    );
    let (status, _) = system.get_as("/api/users/me", &admin).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn resending_the_verification_mail_is_limited() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (username, email) = new_person_names();
    system
        .post("/api/register", None, registration(&username, &email))
        .await;
    let first = mailed_token(&email, "Verify");
    for _ in 0..3 {
        let (status, _) = system
            .post(
                "/api/auth/resend-verification",
                None,
                json!({ "email": email }),
            )
            .await;
        assert_eq!(status, 202);
    }
    let (status, body) = system
        .post(
            "/api/auth/resend-verification",
            None,
            json!({ "email": email }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("RATE_LIMITED"))
    );
    // Only the newest link works, once the resent links are out (they are made after the answer).
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    while Smtp::shared()
        .messages_to(&email)
        .iter()
        .filter(|m| m.subject.contains("Verify"))
        .count()
        < 4
    {
        assert!(std::time::Instant::now() < deadline, "the resent links");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, _) = system
        .post("/api/auth/verify-email", None, json!({ "token": first }))
        .await;
    assert_eq!(status, 401);
    // Unknown addresses get the same answer as known ones.
    let (status, _) = system
        .post(
            "/api/auth/resend-verification",
            None,
            json!({ "email": "nobody-here@example.com" }),
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_mail_lands_in_the_outbox_folder() {
    let system = System::start(Storage::Embedded);
    let (username, email) = new_person_names();
    system
        .post("/api/register", None, registration(&username, &email))
        .await;
    let outbox = system.gateway.dir.join("data").join("outbox");
    let mut found = None;
    for _ in 0..100 {
        found = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .find(|text| text.contains(&email));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = found.expect("a .eml file in the outbox");
    let token = text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let (status, _) = system
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(status, 200);
}
