//! Telling accounts apart from outside: an unknown login must lock and answer as a real one does
//! (by the sixth try, and under parallel tries).

use serde_json::Value;

use crate::flows::{PASSWORD, active_person, admin_token, login, new_person_names};
use crate::harness::{Storage, System};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// The answer without the one value that differs between two locks made a moment apart.
fn without_lock_time(body: &Value) -> Value {
    let mut body = body.clone();
    if body["error"]["details"]["locked_until"].is_string() {
        body["error"]["details"]["locked_until"] = Value::Null;
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_login_locks_and_answers_as_a_real_account_does() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let (admin, _) = admin_token(&system, "admin").await;
    let person = active_person(&system, &admin).await;
    let nobody = format!("nobody-{}", person.username);
    for attempt in 1..=7 {
        let (real_status, real) = login(&system, &person.username, "not the password").await;
        let (unknown_status, unknown) = login(&system, &nobody, "not the password").await;
        let expected = if attempt <= 5 {
            (401, Some("INVALID_CREDENTIALS"))
        } else {
            (423, Some("ACCOUNT_LOCKED"))
        };
        assert_eq!(
            (real_status, code(&real)),
            expected,
            "try {attempt}: {real}"
        );
        assert_eq!(
            (unknown_status, without_lock_time(&unknown)),
            (real_status, without_lock_time(&real)),
            "try {attempt}"
        );
        if attempt > 5 {
            assert!(unknown["error"]["details"]["locked_until"].is_string());
        }
    }
    // Counted by the normalised name, as an account is found.
    let (status, body) = login(&system, &nobody.to_uppercase(), "not the password").await;
    assert_eq!((status, code(&body)), (423, Some("ACCOUNT_LOCKED")));
    // Both locks are audited; the unknown one names no target (there is none).
    let (_, audit) = system
        .get_as("/api/admin/audit?action=user.locked", &admin)
        .await;
    let entries = audit["data"]["items"].as_array().expect("audit items");
    assert_eq!(entries.len(), 2, "{audit}");
    assert!(
        entries
            .iter()
            .any(|e| e["target_id"] == person.user_id.as_str())
    );
    assert!(entries.iter().any(|e| e["target_id"].is_null()));
    for entry in entries {
        assert!(entry["details"]["locked_until"].is_string(), "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_parallel_tries_at_an_unknown_login_lock_after_exactly_five() {
    let system = System::start_with_mail(Storage::shared_servers(), "");
    let (nobody, _) = new_person_names();
    let attempts = (0..50).map(|_| {
        let system = &system;
        let nobody = nobody.clone();
        async move { login(system, &nobody, "not the password").await.0 }
    });
    let statuses = futures::future::join_all(attempts).await;
    let counted = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 423).count();
    assert_eq!((counted, locked), (5, 45), "{statuses:?}");
    assert_eq!(login(&system, &nobody, PASSWORD).await.0, 423);
}
