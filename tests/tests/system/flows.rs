//! The steps many tests share: making admins, taking a person from registration to an active
//! account, logging in. Mail is read from the real SMTP server.

use std::time::Duration;

use auth_test_support::{Smtp, run_gateway_command, unique_name};
use serde_json::{Value, json};

use crate::harness::System;

pub const PASSWORD: &str = "violet harbor tumbles";
pub const ADMIN_PASSWORD: &str = "quiet meadow lantern 42";
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Someone with an account.
#[derive(Debug, Clone)]
pub struct Person {
    pub user_id: String,
    pub email: String,
    pub username: String,
}

/// A fresh username and email no other test uses.
pub fn new_person_names() -> (String, String) {
    let username = unique_name("u").replace('_', "-");
    let email = format!("{username}@example.com");
    (username, email)
}

/// Creates an admin with the command line; returns a logged-in admin token.
pub async fn admin_token(system: &System, role: &str) -> (String, String) {
    let (username, email) = create_admin(system, role);
    let (status, body) = system
        .post(
            "/api/admin/login",
            None,
            json!({ "username": username, "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["data"]["access_token"].as_str().unwrap().to_string(),
        email,
    )
}

/// A new admin of `role` with [`ADMIN_PASSWORD`], made on the host's command line; its username
/// and email.
pub fn create_admin(system: &System, role: &str) -> (String, String) {
    let username = unique_name("admin").replace('_', "-");
    let email = format!("{username}@example.com");
    let config = system.config_path();
    let (code, output) = run_gateway_command(
        &[
            "--config",
            &config,
            "create-admin",
            "--username",
            &username,
            "--email",
            &email,
            "--role",
            role,
        ],
        &[],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "create-admin failed: {output}");
    (username, email)
}

pub fn registration(username: &str, email: &str) -> Value {
    json!({
        "email": email,
        "username": username,
        "full_name": "Test Person",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    })
}

/// The token of the newest mail to `email` whose subject contains `subject`.
pub fn mailed_token(email: &str, subject: &str) -> String {
    let mail = Smtp::shared().wait_for(email, subject, MAIL_WAIT);
    let link = mail.link_containing("token=").expect("a link with a token");
    link.split("token=").nth(1).unwrap().to_string()
}

/// Asks for a password reset for `email` and returns the token the mail carried.
pub async fn reset_token(system: &System, email: &str) -> String {
    let (status, _) = system
        .post("/api/auth/password/forgot", None, json!({ "email": email }))
        .await;
    assert_eq!(status, 202);
    mailed_token(email, "Reset your password")
}

/// Registers and verifies; the account is then pending.
pub async fn pending_person(system: &System) -> Person {
    let (username, email) = new_person_names();
    let (status, body) = system
        .post("/api/register", None, registration(&username, &email))
        .await;
    assert_eq!(status, 201, "{body}");
    let token = mailed_token(&email, "Verify your email");
    let (status, body) = system
        .post("/api/auth/verify-email", None, json!({ "token": token }))
        .await;
    assert_eq!(status, 200, "{body}");
    Person {
        user_id: body["data"]["user_id"].as_str().unwrap().to_string(),
        email,
        username,
    }
}

/// A person whose account an admin approved.
pub async fn active_person(system: &System, admin: &str) -> Person {
    let person = pending_person(system).await;
    let (status, body) = system
        .post(
            &format!("/api/admin/approve/{}", person.user_id),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    person
}

/// Logs in with a password; status and body.
pub async fn login(system: &System, login: &str, password: &str) -> (u16, Value) {
    system
        .post(
            "/api/auth/login",
            None,
            json!({ "login": login, "password": password }),
        )
        .await
}

/// Logs in and returns the data of the answer.
pub async fn tokens(system: &System, person: &Person) -> Value {
    let (status, body) = login(system, &person.username, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// A new API key for service `slug`.
pub async fn service_key(system: &System, admin: &str, slug: &str) -> String {
    let (status, body) = system
        .post(
            &format!("/api/services/{slug}/rotate-key"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["api_key"].as_str().unwrap().to_string()
}

/// The status of `GET path` at a service's `host` with `session` as the bearer.
pub async fn status_at(system: &System, host: &str, path: &str, session: &str) -> u16 {
    system
        .client()
        .get(system.host_url(host, path))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A request for a QR challenge with API key `key`.
fn generate_request(system: &System, key: &str) -> reqwest::RequestBuilder {
    system
        .client()
        .post(system.url("/api/auth/qr/generate"))
        .header("x-api-key", key)
}

/// The status of asking for a QR challenge with API key `key` (201 when the key works).
pub async fn generate_status(system: &System, key: &str) -> u16 {
    generate_request(system, key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A new QR challenge of the service whose API key is `key`; its token.
pub async fn qr_challenge(system: &System, key: &str) -> String {
    let challenge: Value = generate_request(system, key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    challenge["data"]["qr_token"]
        .as_str()
        .expect("a challenge")
        .to_string()
}

/// The phone signed in with `access` scans challenge `qr_token`; the scan's data (PIN included).
pub async fn scan(system: &System, access: &str, qr_token: &str) -> Value {
    let (status, scan) = system
        .post(
            "/api/auth/qr/scan",
            Some(access),
            json!({ "qr_token": qr_token }),
        )
        .await;
    assert_eq!(status, 200, "{scan}");
    scan["data"].clone()
}

/// Logs `person` into service `slug` the QR way, through the API; returns the session token.
pub async fn qr_session(system: &System, admin: &str, person: &Person, slug: &str) -> String {
    let key = service_key(system, admin, slug).await;
    let token = qr_challenge(system, &key).await;
    let phone = tokens(system, person).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let scan = scan(system, &phone, &token).await;
    let verified: Value = system
        .client()
        .post(system.url("/api/auth/pin/verify"))
        .header("x-api-key", &key)
        .json(&json!({ "qr_token": token, "pin": scan["pin"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    verified["data"]["session_token"]
        .as_str()
        .expect("a session")
        .to_string()
}
