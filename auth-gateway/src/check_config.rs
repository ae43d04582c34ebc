//! `auth-gateway check-config`: loads and validates a configuration, then tries what it points
//! at (the database, Redis, the SMTP server or the outbox folder, the master key, the upstream TLS
//! files) and prints one
//! line for each, so an operator finds every problem before starting the gateway.

use std::process::ExitCode;
use std::time::Duration;

use auth_core::Config;
use auth_core::config::StorageBackend;
use auth_core::store::sql::Db;
use auth_core::store::{EMBEDDED_DB_FILE, Ephemeral, ephemeral::RedisStore};

const TRY_FOR: Duration = Duration::from_secs(5);

/// One check's outcome: what was checked and whether it passed.
struct Line {
    what: &'static str,
    outcome: Result<String, String>,
}

impl Line {
    fn print(&self) {
        match &self.outcome {
            Ok(detail) => println!("ok    {:<10} {detail}", self.what),
            Err(problem) => println!("FAIL  {:<10} {problem}", self.what),
        }
    }
}

async fn within<T>(what: &str, work: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(TRY_FOR, work)
        .await
        .unwrap_or_else(|_| Err(format!("{what}: no answer within {} s", TRY_FOR.as_secs())))
}

async fn database(config: &Config) -> Result<String, String> {
    match config.storage.backend {
        StorageBackend::Embedded => {
            let path = config.storage.data_dir.join(EMBEDDED_DB_FILE);
            if !path.is_file() {
                return Ok(format!("embedded, {} (created at start)", path.display()));
            }
            let db = Db::open_embedded(&path).await.map_err(|e| e.to_string())?;
            db.ping().await.map_err(|e| e.to_string())?;
            Ok(format!("embedded, {}", path.display()))
        }
        StorageBackend::Postgres => {
            let db = Db::connect_postgres(&config.storage.postgres).map_err(|e| e.to_string())?;
            within("PostgreSQL", async {
                db.ping().await.map_err(|e| e.to_string())
            })
            .await?;
            Ok("PostgreSQL answers".to_string())
        }
    }
}

async fn redis(config: &Config) -> Option<Result<String, String>> {
    let redis_config = config.redis.as_ref()?;
    Some(
        async {
            let redis = RedisStore::connect(redis_config).map_err(|e| e.to_string())?;
            within("Redis", async {
                redis.ping().await.map_err(|e| e.to_string())
            })
            .await?;
            Ok(format!("{} answers", redis.backend_name()))
        }
        .await,
    )
}

fn master_key(config: &Config) -> Result<String, String> {
    if config.keys.master_key.is_some() {
        return auth_core::credentials::MasterKey::load_or_create(config)
            .map(|_| "keys.master_key is a valid key".to_string())
            .map_err(|e| e.to_string());
    }
    let path = config.storage.data_dir.join("master.key");
    if !path.exists() {
        return Ok(format!("{} (created at first start)", path.display()));
    }
    auth_core::credentials::MasterKey::load_or_create(config)
        .map(|_| format!("{} is a valid key", path.display()))
        .map_err(|e| e.to_string())
}

fn upstream_tls(config: &Config) -> Result<String, String> {
    crate::edge::upstream_tls::by_slug(config)
        .map(|tls| {
            format!(
                "{} service(s) reached over TLS, their files load",
                tls.len()
            )
        })
        .map_err(|e| e.to_string())
}

/// Prints one line per check; the exit code is 0 when all passed, 1 when one failed.
pub fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("ok    {:<10} the configuration is valid", "config");
    let lines = runtime.block_on(async {
        let mut lines = vec![Line {
            what: "database",
            outcome: database(config).await,
        }];
        if let Some(outcome) = redis(config).await {
            lines.push(Line {
                what: "redis",
                outcome,
            });
        }
        lines.push(Line {
            what: "mail",
            outcome: within("mail", auth_core::mail::check_transport(config)).await,
        });
        lines.push(Line {
            what: "master key",
            outcome: master_key(config),
        });
        lines.push(Line {
            what: "tls",
            outcome: upstream_tls(config),
        });
        lines
    });
    for line in &lines {
        line.print();
    }
    let failed = lines.iter().filter(|l| l.outcome.is_err()).count();
    if failed == 0 {
        println!("all checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} check(s) failed");
        Ok(ExitCode::FAILURE)
    }
}
