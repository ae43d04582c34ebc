//! Secrets the gateway hands out are kept only as hashes: after registration, logins, tokens, a
//! service key, a QR login and a password reset, none of them is anywhere in PostgreSQL or Redis,
//! in PostgreSQL alone when it keeps the short-lived state too, or in the embedded database's
//! files as they lie on disk, not even in the mail that carried it.

use std::path::Path;
use std::time::{Duration, Instant};

use auth_test_support::{Postgres, Redis};
use serde_json::json;

use crate::flows::{
    admin_token, mailed_token, pending_person, qr_challenge, reset_token, scan, service_key, tokens,
};
use crate::harness::{Storage, System};

/// Every key and value in `redis`, as text.
async fn redis_contents(redis: &Redis) -> String {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut text = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut read = match kind.as_str() {
            "string" => redis::cmd("GET"),
            "set" => redis::cmd("SMEMBERS"),
            "hash" => redis::cmd("HGETALL"),
            "list" => {
                let mut cmd = redis::cmd("LRANGE");
                cmd.arg(&key).arg(0).arg(-1);
                cmd
            }
            "zset" => {
                let mut cmd = redis::cmd("ZRANGE");
                cmd.arg(&key).arg(0).arg(-1);
                cmd
            }
            "stream" => {
                let mut cmd = redis::cmd("XRANGE");
                cmd.arg(&key).arg("-").arg("+");
                cmd
            }
            // Expired since it was listed: nothing left to read.
            "none" => continue,
            other => panic!("a Redis value of type {other} at {key}"),
        };
        if matches!(kind.as_str(), "string" | "set" | "hash") {
            read.arg(&key);
        }
        let value: redis::Value = read.query_async(&mut conn).await.unwrap();
        text.push_str(&key);
        text.push('\n');
        flatten(&value, &mut text);
        text.push('\n');
    }
    text
}

fn flatten(value: &redis::Value, text: &mut String) {
    match value {
        redis::Value::BulkString(bytes) => text.push_str(&String::from_utf8_lossy(bytes)),
        redis::Value::SimpleString(s) => text.push_str(s),
        redis::Value::Int(n) => text.push_str(&n.to_string()),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for item in items {
                flatten(item, text);
                text.push(' ');
            }
        }
        redis::Value::Map(pairs) => {
            for (k, v) in pairs {
                flatten(k, text);
                text.push(' ');
                flatten(v, text);
                text.push(' ');
            }
        }
        _ => {}
    }
}

/// What a run of the flows handed out: each secret by name, the PIN, and whose they are.
struct HandedOut {
    secrets: Vec<(&'static str, String)>,
    pin: String,
    user_id: String,
}

/// Registration, approval, a login, a personal access token, a service key, a QR login and a
/// password reset: every kind of secret the gateway hands out.
async fn hand_out_secrets(system: &System) -> HandedOut {
    let (admin, _) = admin_token(system, "admin").await;
    let person = pending_person(system).await;
    let verification = mailed_token(&person.email, "Verify your email");
    let (status, _) = system
        .post(
            &format!("/api/admin/approve/{}", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let login = tokens(system, &person).await;
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    let (_, body) = system
        .post(
            "/api/users/me/tokens",
            Some(&access),
            json!({ "name": "script", "expires_in_days": 7, "services": ["service-b"] }),
        )
        .await;
    let pat = body["data"]["token"].as_str().unwrap().to_string();
    let key = service_key(system, &admin, "service-b").await;

    let client = system.client();
    let qr_token = qr_challenge(system, &key).await;
    let pin = scan(system, &access, &qr_token).await["pin"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, verified) = crate::harness::json(
        client
            .post(system.url("/api/auth/pin/verify"))
            .header("x-api-key", &key)
            .json(&json!({ "qr_token": qr_token, "pin": pin }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    let session = verified["data"]["session_token"]
        .as_str()
        .unwrap()
        .to_string();

    let reset = reset_token(system, &person.email).await;

    let secrets = vec![
        ("verification token", verification),
        ("admin token", admin),
        ("access token", access),
        ("refresh token", refresh),
        ("personal access token", pat),
        ("service API key", key),
        ("QR token", qr_token),
        ("session token", session),
        ("reset token", reset),
    ];
    for (what, secret) in &secrets {
        assert!(secret.len() >= 20, "{what} is a real secret: {secret}");
    }
    HandedOut {
        secrets,
        pin,
        user_id: person.user_id,
    }
}

/// Reads what is stored (with `stored`) until none of the secrets is in it, for up to five
/// seconds: the mail worker clears a body right after the SMTP server took it.
async fn assert_kept_only_as_hashes<F, Fut>(handed: &HandedOut, stored: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = String>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored = stored().await;
        assert!(stored.contains(&handed.user_id), "the dump has the data");
        let found: Vec<&str> = handed
            .secrets
            .iter()
            .filter(|(_, secret)| stored.contains(secret.as_str()))
            .map(|(what, _)| *what)
            .collect();
        // A PIN is six digits, so it is looked for as a JSON string value.
        let pin_found = stored.contains(&format!("\"{}\"", handed.pin));
        if found.is_empty() && !pin_found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stored as they are: {found:?}, PIN: {pin_found}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_handed_out_is_stored_as_it_is() {
    let redis = Redis::start_new();
    let database = Postgres::shared().create_database();
    let system = System::start_with_mail(
        Storage::Postgres {
            url: database.clone(),
            redis: Some(&redis),
        },
        "",
    );
    let handed = hand_out_secrets(&system).await;
    assert_kept_only_as_hashes(&handed, || async {
        format!(
            "{}\n{}",
            Postgres::shared().dump(&database),
            redis_contents(&redis).await
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_is_in_postgres_as_it_is_when_short_lived_state_lives_there_too() {
    let database = Postgres::shared().create_database();
    let system = System::start_with_mail(
        Storage::Postgres {
            url: database.clone(),
            redis: None,
        },
        "",
    );
    let handed = hand_out_secrets(&system).await;
    assert_kept_only_as_hashes(&handed, || async { Postgres::shared().dump(&database) }).await;
}

/// Every byte of every file in `dir` and below, as text: the SQLite file, its write-ahead log
/// and whatever else the embedded store keeps, read as they lie on disk.
fn files_under(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
            text.push('\n');
        }
    }
    text
}

/// Every value of every table of the SQLite database at `path`, as text (what a dump shows).
fn sqlite_contents(path: &Path) -> String {
    use rusqlite::types::ValueRef;
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut text = String::new();
    for table in tables {
        let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = select.column_count();
        let mut rows = select.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                        text.push_str(&String::from_utf8_lossy(bytes))
                    }
                    ValueRef::Integer(n) => text.push_str(&n.to_string()),
                    ValueRef::Real(x) => text.push_str(&x.to_string()),
                    ValueRef::Null => {}
                }
                text.push(' ');
            }
            text.push('\n');
        }
    }
    text
}

/// The secrets that only ever travel in a mail, whose queued body holds them until it is sent.
const MAILED: [&str; 2] = ["verification token", "reset token"];

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_is_in_the_embedded_database_file_as_it_is() {
    let system = System::start_with_mail(Storage::Embedded, "");
    let mut handed = hand_out_secrets(&system).await;
    let data = system.gateway.dir.join("data");
    let database = data.join("auth.db");
    assert!(database.is_file(), "no {}", database.display());
    // What the database holds, as any reader of the file sees it.
    assert_kept_only_as_hashes(&handed, || {
        let database = database.clone();
        async move { sqlite_contents(&database) }
    })
    .await;
    // The bytes on disk. A mail body, cleared once sent, lingers in the write-ahead log and in
    // freed pages until they are overwritten, so the two mailed tokens are left out here; no
    // other secret is ever written in plain, so none may be anywhere in the files.
    handed.secrets.retain(|(what, _)| !MAILED.contains(what));
    assert_kept_only_as_hashes(&handed, || {
        let data = data.clone();
        async move { files_under(&data) }
    })
    .await;
}
