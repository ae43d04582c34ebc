//! Opens each backend fresh for one test, and the macros that run one test body on each.

use std::sync::Arc;

use auth_core::config::{PostgresConfig, RedisConfig};
use auth_core::store::ephemeral::{EmbeddedStore, RedisStore};
use auth_core::store::{Db, Ephemeral};
use auth_test_support::{Postgres, Redis, RedisCluster, RedisSentinel};

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

/// A Redis deployment of each kind the store runs on, shared by the tests of this binary.
#[derive(Debug, Clone, Copy)]
pub enum RedisKind {
    Single,
    Sentinel,
    Cluster,
}

/// A `[redis]` section for `kind` with a key prefix no other test uses; the servers start on first
/// use.
pub async fn redis_config(kind: RedisKind) -> RedisConfig {
    tokio::task::spawn_blocking(move || match kind {
        RedisKind::Single => {
            let redis = Redis::shared();
            RedisConfig::single(redis.url(), redis.unique_prefix())
        }
        RedisKind::Sentinel => {
            let sentinel = RedisSentinel::shared();
            RedisConfig::single(sentinel.url(), sentinel.unique_prefix())
        }
        RedisKind::Cluster => {
            let cluster = RedisCluster::shared();
            RedisConfig {
                url: None,
                cluster: cluster.urls(),
                ..RedisConfig::single("", cluster.unique_prefix())
            }
        }
    })
    .await
    .unwrap()
}

pub async fn redis_ephemeral(kind: RedisKind) -> (Arc<dyn Ephemeral>, RedisConfig) {
    let config = redis_config(kind).await;
    let store = RedisStore::connect(&config).unwrap();
    (Arc::new(store), config)
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

/// `ephemeral_test!(name, |store| body)` runs `body` on the embedded store and on Redis: one
/// server, a Sentinel set-up and a Cluster.
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

            $crate::redis_test!(|$store, _config| $body);
        }
    };
}

/// `redis_test!(|store, config| body)` runs `body` on each Redis deployment: `store` is a store on
/// it and `config` its `[redis]` section, to open more stores sharing the same keys (other
/// gateways).
#[macro_export]
macro_rules! redis_test {
    (|$store:ident, $config:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn redis() {
            let ($store, $config) =
                $crate::backends::redis_ephemeral($crate::backends::RedisKind::Single).await;
            $body
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn redis_sentinel() {
            let ($store, $config) =
                $crate::backends::redis_ephemeral($crate::backends::RedisKind::Sentinel).await;
            $body
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn redis_cluster() {
            let ($store, $config) =
                $crate::backends::redis_ephemeral($crate::backends::RedisKind::Cluster).await;
            $body
        }
    };
}
