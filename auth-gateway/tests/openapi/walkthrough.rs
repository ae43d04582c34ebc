//! Every documented operation, called for real, answers what the document says.

use crate::harness::{ANN_PASSWORD, Api, As, BOSS_PASSWORD, registered_and_verified, registration};
use auth_core::ids::UserId;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_match_the_document() {
    let api = Api::start().await;
    system_routes(&api).await;
    let (admin, user_id) = admin_and_accounts(&api).await;
    let service_key = services(&api, &admin).await;
    person_and_qr_login(&api, &admin, &user_id, &service_key).await;
    account_management(&api, &admin, &user_id).await;

    let exercised = api.exercised.lock().unwrap().clone();
    let missing: Vec<String> = api
        .contract
        .operations()
        .into_iter()
        .filter(|(path, method, _)| !exercised.contains(&(path.clone(), method.clone())))
        .map(|(path, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "operations never called: {missing:?}");
}

async fn system_routes(api: &Api) {
    let health = api.at("get", "/health", As::Anyone, None).await.data(200);
    assert_eq!(health["redis"], "not_configured");
    let jwks = api
        .at("get", "/.well-known/jwks.json", As::Anyone, None)
        .await;
    assert!(!jwks.expect(200)["keys"].as_array().unwrap().is_empty());
    let document = api.at("get", "/api/openapi.json", As::Anyone, None).await;
    assert_eq!(
        document.expect(200),
        serde_json::to_value(auth_gateway::api::openapi()).unwrap()
    );
    api.at("get", "/metrics", As::Anyone, None)
        .await
        .expect(200);
    let status = api
        .at("get", "/api/system/status", As::Anyone, None)
        .await
        .data(200);
    assert_eq!(status["status"], "open");
    api.at("get", "/api/system/operating-hours", As::Anyone, None)
        .await
        .expect(200);
}

/// The admin's token and an active account's id.
async fn admin_and_accounts(api: &Api) -> (String, String) {
    let ann = registered_and_verified(api, "ann@example.com", "ann").await;
    let again = registration("ann@example.com", "ann");
    api.at("post", "/api/register", As::Anyone, Some(again))
        .await
        .expect(409);
    let bad = json!({ "email": "not an address", "username": "x" });
    let refused = api
        .at("post", "/api/register", As::Anyone, Some(bad))
        .await
        .expect(422);
    assert_eq!(refused["error"]["code"], "VALIDATION_ERROR");
    let raw = api
        .call(
            "post",
            "/api/register",
            "/api/register",
            As::Anyone,
            Some("{"),
        )
        .await;
    raw.expect(400);
    let unverified = json!({ "login": "ann", "password": "wrong password here" });
    api.at("post", "/api/auth/login", As::Anyone, Some(unverified))
        .await
        .expect(401);
    let pending = json!({ "login": "ann", "password": ANN_PASSWORD });
    let refused = api
        .at("post", "/api/auth/login", As::Anyone, Some(pending))
        .await
        .expect(403);
    assert_eq!(refused["error"]["code"], "ACCOUNT_PENDING");
    let used = json!({ "token": "vt_not-a-real-token" });
    api.at("post", "/api/auth/verify-email", As::Anyone, Some(used))
        .await
        .expect(401);
    let nobody = json!({ "email": "nobody@example.com" });
    let mut limited = None;
    for _ in 0..5 {
        let answer = api
            .at(
                "post",
                "/api/auth/resend-verification",
                As::Anyone,
                Some(nobody.clone()),
            )
            .await;
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
        answer.expect(202);
    }
    let limited = limited.expect("resends are limited");
    assert!(limited.headers.contains_key("retry-after"));

    let new_admin = auth_core::admins::NewAdmin {
        username: "boss".into(),
        email: "boss@example.com".into(),
        password: auth_core::secret::Secret::new(BOSS_PASSWORD),
        role: auth_core::admins::Role::Admin,
    };
    let context = auth_core::RequestContext::default();
    let admins = api.core.admins();
    admins
        .create(new_admin, &api.core.host_operator(), &context)
        .await
        .unwrap();
    let login = json!({ "username": "boss", "password": BOSS_PASSWORD });
    let token = api
        .at("post", "/api/admin/login", As::Anyone, Some(login))
        .await
        .data(200);
    let admin = token["access_token"].as_str().unwrap().to_string();
    let wrong = json!({ "username": "boss", "password": "not the password" });
    api.at("post", "/api/admin/login", As::Anyone, Some(wrong))
        .await
        .expect(401);

    let queue = api
        .at("get", "/api/admin/pending", As::Bearer(&admin), None)
        .await
        .data(200);
    assert_eq!(queue["items"][0]["id"], ann.as_str());
    api.at("get", "/api/admin/pending", As::Anyone, None)
        .await
        .expect(401);
    let approve = format!("/api/admin/approve/{ann}");
    let template = "/api/admin/approve/{id}";
    let approved = api
        .call("post", template, &approve, As::Bearer(&admin), None)
        .await;
    assert_eq!(approved.data(200)["status"], "active");
    api.call("post", template, &approve, As::Bearer(&admin), None)
        .await
        .expect(409);
    let not_an_id = "/api/admin/approve/not-an-id";
    api.call("post", template, not_an_id, As::Bearer(&admin), None)
        .await
        .expect(422);

    let bob = registered_and_verified(api, "bob@example.com", "bob").await;
    let reject = format!("/api/admin/reject/{bob}");
    let reason = json!({ "reason": "unknown to us" }).to_string();
    let template = "/api/admin/reject/{id}";
    let rejected = api
        .call("post", template, &reject, As::Bearer(&admin), Some(&reason))
        .await;
    assert_eq!(rejected.data(200)["status"], "rejected");
    let again = api
        .call("post", template, &reject, As::Bearer(&admin), Some(&reason))
        .await;
    again.expect(409);
    (admin, ann)
}

/// Registers and manages services; the API key of `service-b`.
async fn services(api: &Api, admin: &str) -> String {
    let admin = As::Bearer(admin);
    let listed = api
        .at("get", "/api/services/list", admin, None)
        .await
        .data(200);
    assert!(listed.as_array().unwrap().len() >= 2);
    let new = json!({
        "name": "Reports", "slug": "reports", "hosts": ["reports.localhost"],
        "upstreams": ["127.0.0.1:9000"],
    });
    let created = api
        .at("post", "/api/services/register", admin, Some(new.clone()))
        .await;
    assert!(
        created.data(201)["api_key"]
            .as_str()
            .unwrap()
            .starts_with("svc_")
    );
    api.at("post", "/api/services/register", admin, Some(new))
        .await
        .expect(409);
    let template = "/api/services/{slug}/disable";
    let off = api
        .call(
            "post",
            template,
            "/api/services/reports/disable",
            admin,
            None,
        )
        .await;
    assert_eq!(off.data(200)["enabled"], false);
    let template = "/api/services/{slug}/enable";
    let on = api
        .call(
            "post",
            template,
            "/api/services/reports/enable",
            admin,
            None,
        )
        .await;
    assert_eq!(on.data(200)["enabled"], true);
    api.call("post", template, "/api/services/nope/enable", admin, None)
        .await
        .expect(404);
    let template = "/api/services/{slug}";
    let changes = json!({
        "name": "Reports", "hosts": ["reports2.example.com"], "upstreams": ["127.0.0.1:9"],
        "warning_minutes": 20,
    })
    .to_string();
    let changed = api
        .call(
            "put",
            template,
            "/api/services/reports",
            admin,
            Some(&changes),
        )
        .await
        .data(200);
    assert_eq!(changed["warning_minutes"], 20);
    let template = "/api/services/{slug}/rotate-key";
    let path = "/api/services/service-b/rotate-key";
    let rotated = api
        .call("post", template, path, admin, None)
        .await
        .data(200);
    rotated["api_key"].as_str().unwrap().to_string()
}

async fn person_and_qr_login(api: &Api, admin: &str, user_id: &str, key: &str) {
    let login = json!({ "login": "ann@example.com", "password": ANN_PASSWORD });
    let tokens = api
        .at("post", "/api/auth/login", As::Anyone, Some(login))
        .await
        .data(200);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let cookies = json!({ "login": "ann", "password": ANN_PASSWORD, "use_cookies": true });
    let answer = api
        .at("post", "/api/auth/login", As::Anyone, Some(cookies))
        .await;
    assert!(answer.headers.contains_key("set-cookie"));
    assert_eq!(answer.data(200)["token_type"], "cookie");

    let me = api
        .at("get", "/api/users/me", As::Cookie(&access), None)
        .await
        .data(200);
    assert_eq!(me["id"], user_id);
    api.at("get", "/api/users/me", As::Anyone, None)
        .await
        .expect(401);
    api.at("get", "/api/users/me", As::Bearer(admin), None)
        .await
        .expect(403);
    let change = json!({ "full_name": "Ann B. Smith" });
    api.at("put", "/api/users/me", As::Bearer(&access), Some(change))
        .await
        .expect(200);
    let unknown = json!({ "nickname": "annie" });
    api.at("put", "/api/users/me", As::Bearer(&access), Some(unknown))
        .await
        .expect(422);

    let check = json!({ "token": access });
    let valid = api
        .at("post", "/api/auth/validate-token", As::Anyone, Some(check))
        .await;
    assert_eq!(valid.data(200)["is_valid"], true);
    let check = json!({ "token": "garbage" });
    let invalid = api
        .at("post", "/api/auth/validate-token", As::Anyone, Some(check))
        .await;
    assert_eq!(invalid.data(200)["reason"], "INVALID_TOKEN");
    let refresh = json!({ "refresh_token": tokens["refresh_token"] });
    let renewed = api
        .at("post", "/api/auth/refresh", As::Anyone, Some(refresh))
        .await
        .data(200);
    let access = renewed["access_token"].as_str().unwrap().to_string();
    api.at("post", "/api/auth/refresh", As::Anyone, Some(json!({})))
        .await
        .expect(422);

    let pat = json!({ "name": "phone", "expires_in_days": 30, "services": ["service-b"] });
    let created = api
        .at(
            "post",
            "/api/users/me/tokens",
            As::Bearer(&access),
            Some(pat),
        )
        .await;
    let pat = created.data(201);
    let listed = api
        .at("get", "/api/users/me/tokens", As::Bearer(&access), None)
        .await;
    assert_eq!(listed.data(200)["total"], 1);
    let logins = api
        .at("get", "/api/users/me/logins", As::Bearer(&access), None)
        .await
        .data(200);
    assert!(logins["total"].as_i64().unwrap() >= 1, "{logins}");
    let template = "/api/users/me/logins";
    api.call(
        "get",
        template,
        "/api/users/me/logins?page=0",
        As::Bearer(&access),
        None,
    )
    .await
    .expect(422);
    api.call("get", template, template, As::Bearer(admin), None)
        .await
        .expect(403);
    let path = format!("/api/users/me/tokens/{}", pat["id"].as_str().unwrap());
    let template = "/api/users/me/tokens/{id}";
    api.call("delete", template, &path, As::Bearer(&access), None)
        .await
        .expect(200);
    let admin_pat = json!({ "name": "ci", "expires_in_days": 7 });
    let created = api
        .at(
            "post",
            "/api/admin/tokens",
            As::Bearer(admin),
            Some(admin_pat),
        )
        .await;
    let admin_pat = created.data(201);
    api.at("get", "/api/admin/tokens", As::Bearer(admin), None)
        .await
        .expect(200);
    let path = format!("/api/admin/tokens/{}", admin_pat["id"].as_str().unwrap());
    let template = "/api/admin/tokens/{id}";
    api.call("delete", template, &path, As::Bearer(admin), None)
        .await
        .expect(200);

    let service = As::Service(key);
    api.at("post", "/api/auth/qr/generate", As::Anyone, None)
        .await
        .expect(401);
    let challenge = api
        .at("post", "/api/auth/qr/generate", service, None)
        .await
        .data(201);
    let qr_token = challenge["qr_token"].as_str().unwrap().to_string();
    let status = format!("/api/auth/qr/{qr_token}/status");
    let template = "/api/auth/qr/{token}/status";
    let state = api
        .call("get", template, &status, service, None)
        .await
        .data(200);
    assert_eq!(state["status"], "pending");
    let early = json!({ "qr_token": qr_token, "pin": "000000" });
    let verify = "/api/auth/pin/verify";
    api.at("post", verify, service, Some(early))
        .await
        .expect(409);
    let scan = json!({ "qr_token": qr_token });
    let scanned = api
        .at(
            "post",
            "/api/auth/qr/scan",
            As::Bearer(&access),
            Some(scan.clone()),
        )
        .await;
    let pin = scanned.data(200)["pin"].as_str().unwrap().to_string();
    api.at("post", "/api/auth/qr/scan", As::Bearer(&access), Some(scan))
        .await
        .expect(409);
    let wrong_pin = if pin == "000000" { "111111" } else { "000000" };
    let wrong = json!({ "qr_token": qr_token, "pin": wrong_pin });
    let refused = api
        .at("post", verify, service, Some(wrong))
        .await
        .expect(401);
    assert_eq!(refused["error"]["details"]["attempts_left"], 4);
    let right = json!({ "qr_token": qr_token, "pin": pin });
    let session = api.at("post", verify, service, Some(right)).await.data(200);
    let session_id = session["session_id"].as_str().unwrap().to_string();
    let session_token = session["session_token"].as_str().unwrap().to_string();

    let live = format!("/api/auth/sessions/{session_id}");
    let template = "/api/auth/sessions/{id}";
    let answer = api
        .call("get", template, &live, service, None)
        .await
        .data(200);
    assert_eq!(answer["live"], true);
    let mine = api
        .at("get", "/api/auth/session", As::Bearer(&session_token), None)
        .await;
    assert_eq!(mine.data(200)["audience"], "service-b");

    let list = format!("/api/admin/sessions?user_id={user_id}");
    let sessions = api
        .call("get", "/api/admin/sessions", &list, As::Bearer(admin), None)
        .await;
    assert!(sessions.data(200).as_array().unwrap().len() >= 2);
    let one = format!("/api/admin/sessions/{session_id}");
    let template = "/api/admin/sessions/{id}";
    api.call("delete", template, &one, As::Bearer(admin), None)
        .await
        .expect(200);
    api.call("delete", template, &one, As::Bearer(admin), None)
        .await
        .expect(404);
    let password = "/api/users/me/password";
    let wrong =
        json!({ "current_password": "not it at all", "new_password": "a brand new phrase" });
    api.at("put", password, As::Bearer(&access), Some(wrong))
        .await
        .expect(422);
    let change = json!({ "current_password": ANN_PASSWORD, "new_password": "a brand new phrase" });
    let changed = api
        .at("put", password, As::Bearer(&access), Some(change))
        .await
        .data(200);
    assert!(changed["sessions_ended"].as_u64().is_some());
    api.at("post", "/api/auth/logout", As::Bearer(&access), None)
        .await
        .expect(200);
    api.at("post", "/api/auth/logout", As::Bearer(&access), None)
        .await
        .expect(401);
    let login = json!({ "login": "ann", "password": "a brand new phrase" });
    let tokens = api
        .at("post", "/api/auth/login", As::Anyone, Some(login))
        .await
        .data(200);
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let everywhere = "/api/users/me/sign-out-everywhere";
    let ended = api
        .at("post", everywhere, As::Bearer(&access), None)
        .await
        .data(200);
    assert_eq!(ended["sessions_ended"], 1);
    api.at("get", "/api/users/me", As::Bearer(&access), None)
        .await
        .expect(401);
    let all = api
        .call(
            "delete",
            "/api/admin/sessions",
            &list,
            As::Bearer(admin),
            None,
        )
        .await;
    all.expect(200);
}

async fn account_management(api: &Api, admin: &str, user_id: &str) {
    let ann = json!({ "email": "ann@example.com" });
    let forgot = "/api/auth/password/forgot";
    api.at("post", forgot, As::Anyone, Some(ann))
        .await
        .expect(202);
    let token = api
        .mailed_token("ann@example.com", "reset-password?token=")
        .await;
    let weak = json!({ "token": token, "new_password": "short" });
    api.at("post", "/api/auth/password/reset", As::Anyone, Some(weak))
        .await
        .expect(422);
    let reset = json!({ "token": token, "new_password": ANN_PASSWORD });
    let changed = api
        .at(
            "post",
            "/api/auth/password/reset",
            As::Anyone,
            Some(reset.clone()),
        )
        .await;
    changed.expect(200);
    api.at("post", "/api/auth/password/reset", As::Anyone, Some(reset))
        .await
        .expect(401);

    let admin = As::Bearer(admin);
    let list = api.call(
        "get",
        "/api/admin/users",
        "/api/admin/users?status=active",
        admin,
        None,
    );
    assert_eq!(list.await.data(200)["total"], 1);
    let bad = api.call(
        "get",
        "/api/admin/users",
        "/api/admin/users?status=gone",
        admin,
        None,
    );
    bad.await.expect(422);
    let one = "/api/admin/users/{id}";
    let path = format!("/api/admin/users/{user_id}");
    api.call("get", one, &path, admin, None).await.expect(200);
    let nobody = format!("/api/admin/users/{}", UserId::new());
    api.call("get", one, &nobody, admin, None).await.expect(404);
    for action in ["unlock", "block", "unblock"] {
        let template = format!("/api/admin/users/{{id}}/{action}");
        let path = format!("/api/admin/users/{user_id}/{action}");
        api.call("post", &template, &path, admin, None)
            .await
            .expect(200);
    }
    let template = "/api/admin/users/{id}/block";
    let path = format!("/api/admin/users/{user_id}/block");
    let reason = json!({ "reason": "x".repeat(501) }).to_string();
    api.call("post", template, &path, admin, Some(&reason))
        .await
        .expect(422);
    let path = format!("/api/admin/users/{user_id}");
    let edit = json!({ "full_name": "Ann Edited" }).to_string();
    let edited = api
        .call("put", "/api/admin/users/{id}", &path, admin, Some(&edit))
        .await
        .data(200);
    assert_eq!(edited["full_name"], "Ann Edited");

    let login = json!({ "login": "ann", "password": ANN_PASSWORD });
    let tokens = api
        .at("post", "/api/auth/login", As::Anyone, Some(login))
        .await
        .data(200);
    let access = tokens["access_token"].as_str().unwrap();
    let deleted = api
        .at("delete", "/api/users/me", As::Bearer(access), None)
        .await
        .data(200);
    assert_eq!(deleted["status"], "deleted");
    let template = "/api/admin/users/{id}/restore";
    let path = format!("/api/admin/users/{user_id}/restore");
    api.call("post", template, &path, admin, None)
        .await
        .expect(200);
    api.call("post", template, &path, admin, None)
        .await
        .expect(409);
    api.call(
        "delete",
        one,
        &format!("/api/admin/users/{user_id}"),
        admin,
        None,
    )
    .await
    .expect(200);

    api.at("get", "/api/admin/audit", admin, None)
        .await
        .expect(200);
    let deliveries = "/api/admin/webhooks/deliveries";
    api.at("get", deliveries, admin, None).await.expect(200);
    let path = "/api/admin/webhooks/deliveries?per_page=201";
    api.call("get", deliveries, path, admin, None)
        .await
        .expect(422);
    let mail = "/api/admin/mail";
    api.at("get", mail, admin, None).await.expect(200);
    api.call("get", mail, "/api/admin/mail?state=failed", admin, None)
        .await
        .expect(200);
    api.call("get", mail, "/api/admin/mail?state=lost", admin, None)
        .await
        .expect(422);
    let history = "/api/admin/login-history";
    api.at("get", history, admin, None).await.expect(200);
    let summary = "/api/admin/login-history/summary";
    let rows = api.at("get", summary, admin, None).await.data(200);
    assert!(!rows.as_array().unwrap().is_empty());
    let path = "/api/admin/login-history/summary?group_by=month";
    api.call("get", summary, path, admin, None)
        .await
        .expect(422);

    let schedule = api
        .at("get", "/api/admin/schedule", admin, None)
        .await
        .data(200);
    api.at("put", "/api/admin/schedule", admin, Some(schedule))
        .await
        .expect(200);
    let closed_all_day = json!({ "timezone": "Mars/Olympus", "weekly": {}, "warning_minutes": 5 });
    api.at("put", "/api/admin/schedule", admin, Some(closed_all_day))
        .await
        .expect(422);
    api.at("get", "/api/admin/schedule", As::Anyone, None)
        .await
        .expect(401);
}
