//! Telling accounts apart from outside: an unknown login must lock and answer as a real one does
//! (by the sixth try, and under parallel tries), and the mail-sending endpoints must answer alike,
//! without waiting for the mail, whether or not the address has an account.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use auth_test_support::{Postgres, Redis, Smtp};
use serde_json::{Value, json};

use crate::flows::{
    MAIL_WAIT, PASSWORD, active_person, admin_token, login, new_person_names, registration,
};
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

/// Status, the headers a client acts on, and the body bytes of an answer.
async fn raw_post(
    system: &System,
    path: &str,
    body: Value,
) -> (u16, Vec<(String, String)>, String) {
    let response = system
        .client()
        .post(system.url(path))
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{path} gave no answer while its mail was held up: {err}"));
    let status = response.status().as_u16();
    let headers = [
        "content-type",
        "content-length",
        "cache-control",
        "x-content-type-options",
        "retry-after",
        "set-cookie",
    ]
    .iter()
    .map(|name| {
        let value = response
            .headers()
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (name.to_string(), value)
    })
    .collect();
    (status, headers, response.text().await.expect("body"))
}

/// An exclusive lock on one table of a database, held by a `psql` session until dropped, so that
/// whatever needs the table waits.
struct TableLock {
    session: Child,
}

impl TableLock {
    fn hold(url: &str, table: &str) -> TableLock {
        let postgres = Postgres::shared();
        let session = postgres
            .psql(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start psql");
        // Owned from here on, so the session ends (and is waited for) however this goes.
        let mut lock = TableLock { session };
        let stdin = lock.session.stdin.as_mut().expect("psql stdin");
        writeln!(
            stdin,
            "BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"
        )
        .expect("send the lock");
        stdin.flush().expect("send the lock");
        let granted = format!(
            "SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass \
             AND mode = 'AccessExclusiveLock' AND granted"
        );
        for _ in 0..200 {
            let output = postgres
                .psql(url)
                .args(["-c", &granted])
                .output()
                .expect("run psql");
            if String::from_utf8_lossy(&output.stdout).trim() == "1" {
                return lock;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the lock on {table} was not granted");
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        if let Some(stdin) = self.session.stdin.as_mut() {
            let _ = writeln!(stdin, "ROLLBACK;");
        }
        drop(self.session.stdin.take());
        let _ = self.session.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mail_endpoints_answer_alike_and_before_the_mail_work() {
    let url = Postgres::shared().create_database();
    let system = System::start_with_mail(
        Storage::Postgres {
            url: url.clone(),
            redis: Some(Redis::shared()),
        },
        "",
    );
    let smtp = Smtp::shared();
    let (admin, _) = admin_token(&system, "admin").await;
    let active = active_person(&system, &admin).await;
    let (username, unverified) = new_person_names();
    let (status, _) = system
        .post("/api/register", None, registration(&username, &unverified))
        .await;
    assert_eq!(status, 201);
    smtp.wait_for(&unverified, "Verify your email", MAIL_WAIT);
    let (_, nobody) = new_person_names();

    // A known address needs a new token (a write to email_tokens); an unknown one needs nothing.
    // With the table held, an endpoint that did that work before answering could not answer.
    let held = TableLock::hold(&url, "email_tokens");
    for (path, known) in [
        ("/api/auth/resend-verification", &unverified),
        ("/api/auth/password/forgot", &active.email),
    ] {
        let for_known = raw_post(&system, path, json!({ "email": known })).await;
        let for_unknown = raw_post(&system, path, json!({ "email": nobody })).await;
        assert_eq!(for_known.0, 202, "{path}: {for_known:?}");
        assert_eq!(for_known, for_unknown, "{path}");
    }
    drop(held);

    // The mail still goes out, once the work can proceed.
    let deadline = std::time::Instant::now() + MAIL_WAIT;
    while smtp
        .messages_to(&unverified)
        .iter()
        .filter(|m| m.subject.contains("Verify your email"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no second verification mail"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reset = smtp.wait_for(&active.email, "Reset your password", MAIL_WAIT);
    assert!(reset.link_containing("/reset-password?token=").is_some());
    assert!(smtp.messages_to(&nobody).is_empty());
}
