//! An [`AuthCore`] on fresh stores with a manual clock, and the steps most tests start with.

use std::sync::Arc;

use auth_core::accounts::Registration;
use auth_core::admins::{NewAdmin, Role};
use auth_core::credentials::{AdminRead, AdminWrite};
use auth_core::ids::UserId;
use auth_core::secret::Secret;
use auth_core::{AuthCore, ManualClock, RequestContext, config};
use auth_test_support::{Postgres, Redis};

pub const PASSWORD: &str = "violet harbor tumbles";

pub struct TestCore {
    pub core: AuthCore,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

pub enum Backend {
    Embedded,
    PostgresRedis,
}

impl TestCore {
    pub async fn start(backend: Backend) -> TestCore {
        Self::start_with(backend, "").await
    }

    pub async fn start_with(backend: Backend, extra_toml: &str) -> TestCore {
        let dir = tempfile::tempdir().unwrap();
        let storage = match backend {
            Backend::Embedded => format!("[storage]\ndata_dir = \"{}\"\n", dir.path().display()),
            Backend::PostgresRedis => {
                let (url, redis) = tokio::task::spawn_blocking(|| {
                    (Postgres::shared().create_database(), Redis::shared())
                })
                .await
                .unwrap();
                format!(
                    "[storage]\nbackend = \"postgres\"\ndata_dir = \"{}\"\n[storage.postgres]\nurl = \"{url}\"\n\
                     [redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n",
                    dir.path().display(),
                    redis.url(),
                    redis.unique_prefix()
                )
            }
        };
        let config = config::from_toml(&format!("{storage}\n{extra_toml}")).unwrap();
        let clock = ManualClock::new("2026-03-02T10:00:00Z".parse().unwrap());
        let core = AuthCore::open(config, clock.clone()).await.unwrap();
        TestCore {
            core,
            clock,
            _dir: dir,
        }
    }

    pub fn context() -> RequestContext {
        RequestContext {
            client_ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("tests".into()),
        }
    }

    /// A new admin, and its leave to act (read from its stored role, as an embedding app gets it).
    pub async fn admin(&self) -> AdminWrite {
        let id = self
            .core
            .admins()
            .create(
                NewAdmin {
                    username: auth_test_support::unique_name("admin").replace('_', "-"),
                    email: "admin@example.com".into(),
                    password: Secret::new("quiet meadow lantern 42"),
                    role: Role::Admin,
                },
                &self.core.host_operator(),
                &Self::context(),
            )
            .await
            .unwrap()
            .id;
        self.core.admins().write_authority(id).await.unwrap()
    }

    /// Reading leave, as an admin's.
    pub async fn reader(&self) -> AdminRead {
        self.admin().await.read()
    }

    /// Registers a user and takes the account to active, reading the token from the database's
    /// mail queue (the mail itself is tested over SMTP elsewhere).
    pub async fn active_user(&self, username: &str) -> UserId {
        let email = format!("{username}@example.com");
        let registered = self
            .core
            .accounts()
            .register(
                Registration {
                    email: email.clone(),
                    username: username.into(),
                    full_name: "Test Person".into(),
                    password: Secret::new(PASSWORD),
                    password_confirmation: Secret::new(PASSWORD),
                },
                &Self::context(),
            )
            .await
            .unwrap();
        let token = self.mailed_token(&email, "/verify-email?token=").await;
        self.core
            .accounts()
            .verify_email(&token, &Self::context())
            .await
            .unwrap();
        let admin = self.admin().await;
        self.core
            .accounts()
            .approve(&admin, registered.user_id, &Self::context())
            .await
            .unwrap();
        registered.user_id
    }

    /// The token in the newest queued mail to `to` whose link contains `marker`.
    pub async fn mailed_token(&self, to: &str, marker: &str) -> String {
        let rows = self
            .core
            .stores()
            .db
            .query(
                "SELECT body FROM mail_queue WHERE recipient = $1 ORDER BY created_at DESC, id DESC",
                auth_core::params![to],
            )
            .await
            .unwrap();
        rows.iter()
            .filter_map(|row| row.get::<String>("body").ok())
            .find_map(|body| {
                let start = body.find(marker)? + marker.len();
                Some(
                    body[start..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect(),
                )
            })
            .expect("a mail with the token")
    }
}

/// `core_test!(name, |t| body)` runs `body` on the embedded store and on PostgreSQL + Redis.
#[macro_export]
macro_rules! core_test {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let $t = $crate::harness::TestCore::start($crate::harness::Backend::Embedded).await;
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                let $t =
                    $crate::harness::TestCore::start($crate::harness::Backend::PostgresRedis).await;
                $body
            }
        }
    };
}
