//! The durable store: migrations, values, constraints and transactions, on both engines.

use std::sync::Arc;

use auth_core::params;
use auth_core::store::{Db, StoreError};
use jiff::Timestamp;

use crate::sql_test;

async fn insert_user(db: &Db, id: &str, email: &str, status: &str) -> Result<u64, StoreError> {
    db.execute(
        "INSERT INTO users (id, email, email_normalized, username, username_normalized, full_name,
                            password_hash, status, created_at, updated_at)
         VALUES ($1, $2, $3, $1, $1, 'Test Person', 'hash', $4, $5, $5)",
        params![id, email, email.to_lowercase(), status, Timestamp::now()],
    )
    .await
}

sql_test!(migrations_are_applied_once, |db| {
    // The harness migrated already: a second run has nothing left to apply.
    assert!(db.migrate().await.unwrap().is_empty());
    let row = db
        .query_one("SELECT COUNT(*) AS n FROM users", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("n").unwrap(), 0);
});

sql_test!(values_round_trip, |db| {
    let at: Timestamp = "2026-05-04T10:11:12.345Z".parse().unwrap();
    db.execute(
        "INSERT INTO services (id, slug, name, hosts, path_prefix, upstreams, api_key_hash, enabled,
                               created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        params![
            "svc-1",
            "service-b",
            "ServiceB ✓",
            "[\"service-b.localhost\"]",
            None::<String>,
            "[]",
            Some("hash"),
            false,
            at
        ],
    )
    .await
    .unwrap();
    let row = db
        .query_one("SELECT * FROM services WHERE id = $1", params!["svc-1"])
        .await
        .unwrap();
    assert_eq!(row.get::<String>("name").unwrap(), "ServiceB ✓");
    assert_eq!(row.get::<Option<String>>("path_prefix").unwrap(), None);
    assert_eq!(
        row.get::<Option<String>>("api_key_hash")
            .unwrap()
            .as_deref(),
        Some("hash")
    );
    assert!(!row.get::<bool>("enabled").unwrap());
    assert_eq!(row.get::<Timestamp>("created_at").unwrap(), at);

    db.execute(
        "INSERT INTO ephemeral_entries (key, kind, value, expires_at) VALUES ($1, 'bytes', $2, 0)",
        params!["k", vec![0u8, 255, 10]],
    )
    .await
    .unwrap();
    let row = db
        .query_one(
            "SELECT value FROM ephemeral_entries WHERE key = $1",
            params!["k"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<Vec<u8>>("value").unwrap(), vec![0u8, 255, 10]);
});

sql_test!(unique_violation_names_the_column, |db| {
    insert_user(&db, "u1", "Ann@example.com", "pending")
        .await
        .unwrap();
    let err = insert_user(&db, "u2", "ann@EXAMPLE.com", "pending")
        .await
        .unwrap_err();
    assert!(err.is_unique_on("email_normalized"), "{err:?}");
    let row = db
        .query_one("SELECT COUNT(*) AS n FROM users", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("n").unwrap(), 1);
});

sql_test!(committed_transaction_lands_whole, |db| {
    let mut tx = db.begin().await.unwrap();
    for id in ["a", "b"] {
        tx.execute(
            "INSERT INTO admins (id, username, username_normalized, email, password_hash, role,
                                 created_at, updated_at)
             VALUES ($1, $1, $1, 'x@example.com', 'h', 'admin', 0, 0)",
            params![id],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let row = db
        .query_one("SELECT COUNT(*) AS n FROM admins", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("n").unwrap(), 2);
});

sql_test!(failed_transaction_leaves_nothing, |db| {
    insert_user(&db, "taken", "taken@example.com", "active")
        .await
        .unwrap();
    {
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "UPDATE users SET status = 'blocked' WHERE id = $1",
            params!["taken"],
        )
        .await
        .unwrap();
        // A second statement fails: the caller gives up and drops the transaction.
        let err = tx
            .execute(
                "INSERT INTO users (id, email, email_normalized, username, username_normalized,
                                    full_name, password_hash, status, created_at, updated_at)
                 VALUES ('x', 'taken@example.com', 'taken@example.com', 'x', 'x', 'X', 'h',
                         'pending', 0, 0)",
                params![],
            )
            .await
            .unwrap_err();
        assert!(err.is_unique_on("email_normalized"));
    }
    let row = db
        .query_one("SELECT status FROM users WHERE id = $1", params!["taken"])
        .await
        .unwrap();
    assert_eq!(row.get::<String>("status").unwrap(), "active");
    // The connection is usable again after the abandoned transaction.
    insert_user(&db, "next", "next@example.com", "pending")
        .await
        .unwrap();
});

sql_test!(racing_conditional_updates_have_one_winner, |db| {
    insert_user(&db, "p", "p@example.com", "pending")
        .await
        .unwrap();
    let db = Arc::new(db);
    let attempts = (0..20).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let status = if i % 2 == 0 { "active" } else { "rejected" };
            db.execute(
                "UPDATE users SET status = $1 WHERE id = 'p' AND status = 'pending'",
                params![status],
            )
            .await
            .unwrap()
        })
    });
    let changed: u64 = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    assert_eq!(changed, 1);
});

sql_test!(parallel_transactions_do_not_interleave, |db| {
    insert_user(&db, "c", "c@example.com", "active")
        .await
        .unwrap();
    db.execute("UPDATE users SET created_at = 0 WHERE id = 'c'", params![])
        .await
        .unwrap();
    let db = Arc::new(db);
    let workers = (0..10).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            tx.execute(
                "UPDATE users SET created_at = created_at + 1 WHERE id = 'c'",
                params![],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker.unwrap();
    }
    let row = db
        .query_one("SELECT created_at FROM users WHERE id = 'c'", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("created_at").unwrap(), 10);
});

#[tokio::test]
async fn embedded_data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    {
        let db = Db::open_embedded(&path).await.unwrap();
        db.migrate().await.unwrap();
        insert_user(&db, "kept", "kept@example.com", "active")
            .await
            .unwrap();
    }
    let db = Db::open_embedded(&path).await.unwrap();
    assert!(db.migrate().await.unwrap().is_empty());
    let row = db
        .query_one("SELECT email FROM users WHERE id = 'kept'", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<String>("email").unwrap(), "kept@example.com");
}

#[tokio::test]
async fn postgres_outage_is_unavailable_and_recovers() {
    let pg = tokio::task::spawn_blocking(auth_test_support::Postgres::start_new)
        .await
        .unwrap();
    let url = pg.create_database();
    let db = Db::connect_postgres(&crate::backends::postgres_config(url)).unwrap();
    db.migrate().await.unwrap();
    db.ping().await.unwrap();

    let pg = Arc::new(pg);
    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let err = db.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .unwrap();
    // The pool drops the dead connection and makes a new one.
    let mut recovered = false;
    for _ in 0..3 {
        if db.ping().await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "the pool did not reconnect after PostgreSQL came back"
    );
}

sql_test!(the_audit_log_is_append_only, |db| {
    db.execute(
        "INSERT INTO audit_log (id, at, actor_kind, action, outcome, details)
         VALUES ('a1', 1, 'system', 'user.approved', 'success', '{}')",
        params![],
    )
    .await
    .unwrap();
    for change in [
        "UPDATE audit_log SET outcome = 'failure' WHERE id = 'a1'",
        "DELETE FROM audit_log WHERE id = 'a1'",
    ] {
        let refused = db.execute(change, params![]).await;
        assert!(refused.is_err(), "{change} was allowed");
    }
    let row = db
        .query_one("SELECT outcome FROM audit_log WHERE id = 'a1'", params![])
        .await
        .unwrap();
    assert_eq!(row.get::<String>("outcome").unwrap(), "success");
    // Applying the guard again on start (or by `migrate`) is harmless.
    db.migrate().await.unwrap();
});
