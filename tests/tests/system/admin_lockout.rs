//! The admin login locks per admin and client address (an IPv6 client by its /64): wrong passwords
//! from one place do not keep the admin out from another, and an unknown admin name locks as a real
//! one does. Client addresses come from `X-Forwarded-For`, the test being a trusted proxy.

use serde_json::{Value, json};

use crate::flows::{ADMIN_PASSWORD, admin_token};
use crate::harness::{Storage, System};

const BEHIND_A_PROXY: &str = "[rate_limits]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
    login_per_minute = 100000\nregister_per_minute = 100000\npin_per_minute = 100000\n\
    scan_per_minute = 100000\nservice_per_minute_per_session = 100000\n\
    service_per_minute_per_ip = 100000\n";

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn admin_login_from(
    system: &System,
    client: &str,
    username: &str,
    password: &str,
) -> (u16, Value) {
    let response = system
        .client()
        .post(system.url("/api/admin/login"))
        .header("x-forwarded-for", client)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("admin login");
    crate::harness::json(response).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_locked_from_one_address_still_signs_in_from_another() {
    let system = System::start_with_mail(Storage::shared_servers(), BEHIND_A_PROXY);
    let (reader, email) = admin_token(&system, "admin").await;
    let username = email.split('@').next().unwrap().to_string();

    for (attacker, same_network, elsewhere) in [
        ("203.0.113.7", "203.0.113.7", "198.51.100.9"),
        ("2001:db8:1:2::1", "2001:db8:1:2::beef", "2001:db8:1:3::1"),
    ] {
        for _ in 0..5 {
            let (status, body) = admin_login_from(&system, attacker, &username, "wrong").await;
            assert_eq!((status, code(&body)), (401, Some("INVALID_CREDENTIALS")));
        }
        let (status, body) =
            admin_login_from(&system, same_network, &username, ADMIN_PASSWORD).await;
        assert_eq!(
            (status, code(&body)),
            (423, Some("ACCOUNT_LOCKED")),
            "{same_network}: {body}"
        );
        assert!(body["error"]["details"]["locked_until"].is_string());
        let (status, body) = admin_login_from(&system, elsewhere, &username, ADMIN_PASSWORD).await;
        assert_eq!(status, 200, "{elsewhere}: {body}");
        // Signing in elsewhere does not lift the lock where the wrong passwords came from.
        let (status, _) = admin_login_from(&system, attacker, &username, ADMIN_PASSWORD).await;
        assert_eq!(status, 423, "{attacker}");
    }

    let (_, audit) = system
        .get_as("/api/admin/audit?action=admin.locked", &reader)
        .await;
    let entries = audit["data"]["items"].as_array().expect("audit items");
    let mut from: Vec<&str> = entries
        .iter()
        .map(|e| e["client_ip"].as_str().unwrap_or(""))
        .collect();
    from.sort();
    assert_eq!(from, ["2001:db8:1:2::1", "203.0.113.7"], "{audit}");
    for entry in entries {
        assert!(entry["details"]["locked_until"].is_string(), "{entry}");
        assert_eq!(entry["target_kind"], "admin");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_admin_name_locks_per_address_as_a_real_one_does() {
    let system = System::start_with_mail(Storage::Embedded, BEHIND_A_PROXY);
    let (_, email) = admin_token(&system, "admin").await;
    let username = email.split('@').next().unwrap().to_string();
    let nobody = format!("nobody-{username}");
    for attempt in 1..=6 {
        let (real_status, real) =
            admin_login_from(&system, "203.0.113.8", &username, "wrong").await;
        let (unknown_status, unknown) =
            admin_login_from(&system, "203.0.113.8", &nobody, "wrong").await;
        let expected = if attempt <= 5 { 401 } else { 423 };
        assert_eq!(
            (real_status, unknown_status),
            (expected, expected),
            "try {attempt}"
        );
        assert_eq!(code(&real), code(&unknown), "try {attempt}");
        assert_eq!(real["error"]["message"], unknown["error"]["message"]);
    }
    let (status, body) = admin_login_from(&system, "198.51.100.10", &nobody, "wrong").await;
    assert_eq!((status, code(&body)), (401, Some("INVALID_CREDENTIALS")));
}
