//! Secrets the gateway hands out are kept only as hashes: after registration, logins, tokens, a
//! service key, a QR login and a password reset, none of them is anywhere in PostgreSQL or Redis,
//! not even in the mail that carried it.

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
    let (admin, _) = admin_token(&system, "admin").await;
    let person = pending_person(&system).await;
    let verification = mailed_token(&person.email, "Verify your email");
    let (status, _) = system
        .post(
            &format!("/api/admin/approve/{}", person.user_id),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let login = tokens(&system, &person).await;
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
    let key = service_key(&system, &admin, "service-b").await;

    let client = system.client();
    let qr_token = qr_challenge(&system, &key).await;
    let pin = scan(&system, &access, &qr_token).await["pin"]
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

    let reset = reset_token(&system, &person.email).await;

    let secrets = [
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
    // The mail worker clears a body right after the SMTP server took it: allow it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored = format!(
            "{}\n{}",
            Postgres::shared().dump(&database),
            redis_contents(&redis).await
        );
        assert!(stored.contains(&person.user_id), "the dump has the data");
        let found: Vec<&str> = secrets
            .iter()
            .filter(|(_, secret)| stored.contains(secret.as_str()))
            .map(|(what, _)| *what)
            .collect();
        // A PIN is six digits, so it is looked for as a JSON string value.
        let pin_found = stored.contains(&format!("\"{pin}\""));
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
