//! Opens each backend fresh for one test, and the macros that run one test body on each.

use std::sync::Arc;

use auth_core::config::{PostgresConfig, RedisConfig};
use auth_core::store::ephemeral::{EmbeddedStore, RedisStore};
use auth_core::store::{Db, Ephemeral};
use auth_test_support::{Postgres, Redis};

/// A database on one engine, with whatever must live as long as it.
pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
}

pub async fn embedded() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_embedded(&dir.path().join("auth.db"))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    TestDb {
        db,
        _dir: Some(dir),
    }
}

pub fn postgres_config(url: String) -> PostgresConfig {
    PostgresConfig {
        url,
        pool_size: 20,
        connect_timeout_secs: 2,
        acquire_timeout_secs: 2,
    }
}

pub async fn postgres() -> TestDb {
    let url = tokio::task::spawn_blocking(|| Postgres::shared().create_database())
        .await
        .unwrap();
    let db = Db::connect_postgres(&postgres_config(url)).unwrap();
    db.migrate().await.unwrap();
    TestDb { db, _dir: None }
}

pub async fn embedded_ephemeral() -> (Arc<dyn Ephemeral>, TestDb) {
    let test_db = embedded().await;
    let store = EmbeddedStore::open(test_db.db.clone()).await.unwrap();
    (Arc::new(store), test_db)
}

pub async fn redis_ephemeral() -> (Arc<dyn Ephemeral>, ()) {
    let redis = tokio::task::spawn_blocking(Redis::shared).await.unwrap();
    let store = RedisStore::connect(&RedisConfig {
        url: redis.url(),
        key_prefix: redis.unique_prefix(),
    })
    .unwrap();
    (Arc::new(store), ())
}

/// `sql_test!(name, |db| body)` runs `body` once on the embedded engine and once on PostgreSQL.
#[macro_export]
macro_rules! sql_test {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let test_db = $crate::backends::embedded().await;
                let $db = test_db.db.clone();
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let test_db = $crate::backends::postgres().await;
                let $db = test_db.db.clone();
                $body
            }
        }
    };
}

/// `ephemeral_test!(name, |store| body)` runs `body` on the embedded store and on Redis.
#[macro_export]
macro_rules! ephemeral_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let ($store, _keep) = $crate::backends::embedded_ephemeral().await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                let ($store, _keep) = $crate::backends::redis_ephemeral().await;
                $body
            }
        }
    };
}
