//! The support role reads every admin list and changes nothing: each admin route that writes is
//! refused to it before anything happens, whatever the body.

use reqwest::Method;
use serde_json::{Value, json};

use crate::flows::{active_person, admin_token, pending_person, qr_session};
use crate::harness::{Storage, System};

#[tokio::test(flavor = "multi_thread")]
async fn support_reads_every_admin_list_and_every_write_is_refused() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let (support, _) = admin_token(&system, "support").await;
    let person = active_person(&system, &admin).await;
    let pending = pending_person(&system).await;
    qr_session(&system, &admin, &person, "service-b").await;
    let (_, schedule) = system.get_as("/api/admin/schedule", &admin).await;
    let schedule = schedule["data"].clone();
    let user = &person.user_id;

    let reads = [
        "/api/admin/pending".to_string(),
        "/api/admin/users".to_string(),
        format!("/api/admin/users/{user}"),
        "/api/admin/audit".to_string(),
        "/api/admin/login-history".to_string(),
        "/api/admin/login-history/summary".to_string(),
        format!("/api/admin/sessions?user_id={user}"),
        "/api/admin/schedule".to_string(),
        "/api/services/list".to_string(),
    ];
    for path in &reads {
        let (status, body) = system.get_as(path, &support).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    let writes: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            format!("/api/admin/approve/{}", pending.user_id),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/admin/reject/{}", pending.user_id),
            json!({ "reason": "not known here" }),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{user}/block"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{user}/unblock"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{user}/unlock"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{user}/restore"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/admin/users/{user}"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/admin/sessions?user_id={user}"),
            json!({}),
        ),
        (
            Method::DELETE,
            "/api/admin/sessions/00000000-0000-4000-8000-000000000000".to_string(),
            json!({}),
        ),
        (Method::PUT, "/api/admin/schedule".to_string(), schedule),
        (
            Method::POST,
            "/api/services/register".to_string(),
            json!({ "name": "Other", "slug": "other", "hosts": ["other.localhost"],
                    "upstreams": ["127.0.0.1:9"] }),
        ),
        (
            Method::POST,
            "/api/services/service-b/disable".to_string(),
            json!({}),
        ),
        (
            Method::POST,
            "/api/services/service-b/enable".to_string(),
            json!({}),
        ),
        (
            Method::POST,
            "/api/services/service-b/rotate-key".to_string(),
            json!({}),
        ),
    ];
    for (method, path, body) in writes {
        let (status, answer) = system
            .call(method.clone(), &path, Some(&support), Some(body))
            .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{method} {path}: {answer}"
        );
    }

    // Nothing moved: the pending person still waits, the active one still has a live session and
    // no service was added.
    let (_, body) = system
        .get_as(&format!("/api/admin/users/{}", pending.user_id), &admin)
        .await;
    assert_eq!(body["data"]["status"], "pending");
    let (_, body) = system
        .get_as(&format!("/api/admin/users/{user}"), &admin)
        .await;
    assert_eq!(body["data"]["status"], "active");
    let (_, body) = system
        .get_as(&format!("/api/admin/sessions?user_id={user}"), &admin)
        .await;
    let sessions = body["data"].as_array().unwrap();
    assert!(
        sessions.iter().any(|s| s["audience"] == "service-b"),
        "{body}"
    );
    let (_, body) = system.get_as("/api/services/list", &admin).await;
    assert!(
        !body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["slug"] == "other"),
        "{body}"
    );
}
