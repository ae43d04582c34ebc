//! The PostgreSQL engine: a deadpool pool of tokio-postgres clients with cached statements.
//!
//! A URL may list a primary and its standbys (`postgres://u@db1:5432,db2:5432/auth?
//! target_session_attrs=read-write`, which configuration requires with several hosts): each new
//! connection goes to the first host that accepts writes. After a failover the pool's connections
//! to the old primary are closed, fast recycling drops them, and new ones find the promoted
//! standby; nothing needs a restart.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Engine, EngineKind, Row, SqlValue, Transaction};
use crate::config::PostgresConfig;
use crate::store::{StoreError, migrations};

/// Arbitrary key of the advisory lock that keeps two gateways from migrating at once.
const MIGRATION_LOCK: i64 = 0x0061_7574_686d_6967;

pub(super) struct PostgresEngine {
    pool: Pool,
}

impl PostgresEngine {
    pub(super) fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let mut pg = tokio_postgres::Config::from_str(&config.url)
            .map_err(|err| StoreError::Backend(format!("bad PostgreSQL URL: {err}")))?;
        let connect_timeout = Duration::from_secs(config.connect_timeout_secs);
        pg.connect_timeout(connect_timeout);
        // A server that vanishes without closing its connections (a machine gone, a network cut)
        // is noticed by TCP rather than after hours: idle pooled connections are probed, and a
        // query whose bytes go unacknowledged fails. The pool then drops those connections and
        // opens new ones, on whichever listed host now accepts writes. Settings in the URL win.
        if !config.url.contains("keepalives") {
            pg.keepalives(true)
                .keepalives_idle(Duration::from_secs(10))
                .keepalives_interval(Duration::from_secs(2))
                .keepalives_retries(3);
        }
        if !config.url.contains("tcp_user_timeout") {
            pg.tcp_user_timeout(Duration::from_secs(10));
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // Fast recycling: a closed connection is still noticed and replaced.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(Duration::from_secs(config.acquire_timeout_secs)))
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| StoreError::Backend(err.to_string()))?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|err| StoreError::Unavailable(err.to_string()))
    }
}

#[async_trait]
impl Engine for PostgresEngine {
    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        run_query(&client, sql, &params).await
    }

    async fn execute(&self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        run_execute(&client, sql, &params).await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await.map_err(map_error)?;
        Ok(Box::new(PostgresTx {
            client: Some(client),
        }))
    }

    async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(map_error)?;
        let report = migrations::runner()
            .run_async(&mut **client)
            .await
            .map_err(|err| StoreError::Backend(format!("migration failed: {err}")));
        let guarded = match &report {
            Ok(_) => client
                .batch_execute(migrations::AUDIT_APPEND_ONLY_POSTGRES)
                .await
                .map_err(map_error),
            Err(_) => Ok(()),
        };
        if guarded.is_ok()
            && let Err(err) = client
                .batch_execute(&migrations::user_search_index_postgres())
                .await
        {
            tracing::warn!(
                error = %err,
                "no trigram index for the user search (pg_trgm could not be made): searching \
                 reads every account"
            );
        }
        // Unlock even when the migration failed; a dropped connection would unlock too.
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        let report = report?;
        guarded?;
        Ok(migrations::applied_names(&report))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(map_error)?;
        Ok(())
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }
}

struct PostgresTx {
    client: Option<Object>,
}

impl PostgresTx {
    fn client(&self) -> Result<&Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))
    }
}

#[async_trait]
impl Transaction for PostgresTx {
    async fn query(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError> {
        run_query(self.client()?, sql, &params).await
    }

    async fn execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        run_execute(self.client()?, sql, &params).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let client = self.client()?;
        client.batch_execute("COMMIT").await.map_err(map_error)?;
        // Committed: the connection can go back to the pool as it is.
        drop(self.client.take());
        Ok(())
    }
}

impl Drop for PostgresTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Not committed. Closing the connection makes the server roll back, and keeps a
            // connection inside a transaction from ever returning to the pool.
            drop(Object::take(client));
        }
    }
}

async fn run_query(
    client: &Object,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(map_error)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&statement, &refs).await.map_err(map_error)?;
    let columns: std::sync::Arc<[String]> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    rows.iter()
        .map(|row| {
            let values = (0..row.len())
                .map(|i| read_value(row, i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row::new(columns.clone(), values))
        })
        .collect()
}

async fn run_execute(client: &Object, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(map_error)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    client.execute(&statement, &refs).await.map_err(map_error)
}

fn read_value(row: &tokio_postgres::Row, index: usize) -> Result<SqlValue, StoreError> {
    let ty = row.columns()[index].type_().clone();
    let value = match ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map(|v| v.map(SqlValue::Int)),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map(|v| v.map(|v| SqlValue::Int(v.into()))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)
            .map(|v| v.map(|v| SqlValue::Int(v.into()))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map(|v| v.map(SqlValue::Bool)),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)
            .map(|v| v.map(SqlValue::Bytes)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<String>>(index)
            .map(|v| v.map(SqlValue::Text)),
        other => {
            return Err(StoreError::Malformed(format!(
                "column type {other} is not supported; cast it in the query"
            )));
        }
    };
    value
        .map(|v| v.unwrap_or(SqlValue::Null))
        .map_err(|err| StoreError::Malformed(err.to_string()))
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                _ => typed(v, ty, out),
            },
            SqlValue::Text(v) => typed(v, ty, out),
            SqlValue::Bool(v) => typed(v, ty, out),
            SqlValue::Bytes(v) => typed(v, ty, out),
        }
    }

    // Any column type is accepted here; `typed` refuses the mismatches value by value.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn typed<T: ToSql>(
    value: &T,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
    if !T::accepts(ty) {
        return Err(format!(
            "a {} cannot be bound to a {ty} parameter",
            std::any::type_name::<T>()
        )
        .into());
    }
    value.to_sql(ty, out)
}

fn map_error(err: tokio_postgres::Error) -> StoreError {
    if let Some(db) = err.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let what = db.constraint().unwrap_or(db.message());
            return StoreError::Unique(what.to_string());
        }
        if db.code().code().starts_with("08") || db.code().code().starts_with("57") {
            // Connection exceptions and operator intervention (e.g. the server shutting down).
            return StoreError::Unavailable(db.message().to_string());
        }
        return StoreError::Backend(db.message().to_string());
    }
    if err.is_closed() || std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>())
    {
        return StoreError::Unavailable(err.to_string());
    }
    StoreError::Backend(err.to_string())
}
