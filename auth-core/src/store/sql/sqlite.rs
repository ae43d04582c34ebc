//! The embedded engine: one SQLite file, one connection, every call on the blocking pool.
//!
//! One connection serialises all access, which is what SQLite does for writers anyway, and removes
//! `SQLITE_BUSY` from the picture. A transaction holds the connection until it commits or is dropped;
//! an abandoned transaction is rolled back by whoever takes the connection next.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::value::numbered_placeholders;
use super::{Engine, EngineKind, Row, SqlValue, Transaction};
use crate::store::{StoreError, migrations};

type Guard = OwnedMutexGuard<Connection>;

pub(super) struct SqliteEngine {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteEngine {
    pub(super) async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || open_file(&path))
            .await
            .map_err(join_error)??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self.conn.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || {
            roll_back_abandoned(&guard)?;
            work(&mut guard)
        })
        .await
        .map_err(join_error)?
    }
}

fn open_file(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| {
            StoreError::Backend(format!("cannot create {}: {err}", dir.display()))
        })?;
    }
    let conn = Connection::open(path).map_err(map_error)?;
    restrict_to_owner(path, 0o600);
    // FULL sync: an account written is an account kept, even across a power cut.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(map_error)?;
    Ok(conn)
}

/// The file holds password hashes and keys: owner-only, like a private key.
fn restrict_to_owner(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(err) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            tracing::warn!(path = %path.display(), %err, "could not restrict database file permissions");
        }
    }
}

fn roll_back_abandoned(conn: &Connection) -> Result<(), StoreError> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").map_err(map_error)?;
    }
    Ok(())
}

#[async_trait]
impl Engine for SqliteEngine {
    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError> {
        let sql = numbered_placeholders(sql);
        self.with_conn(move |conn| run_query(conn, &sql, &params))
            .await
    }

    async fn execute(&self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        let sql = numbered_placeholders(sql);
        self.with_conn(move |conn| run_execute(conn, &sql, &params))
            .await
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        let guard = self.conn.clone().lock_owned().await;
        let guard = tokio::task::spawn_blocking(move || {
            roll_back_abandoned(&guard)?;
            // IMMEDIATE takes the write lock now, so a transaction never fails half-way on it.
            guard.execute_batch("BEGIN IMMEDIATE").map_err(map_error)?;
            Ok::<_, StoreError>(guard)
        })
        .await
        .map_err(join_error)??;
        Ok(Box::new(SqliteTx { guard: Some(guard) }))
    }

    async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(|conn| {
            let report = migrations::runner()
                .run(conn)
                .map_err(|err| StoreError::Backend(format!("migration failed: {err}")))?;
            conn.execute_batch(migrations::AUDIT_APPEND_ONLY_SQLITE)
                .map_err(map_error)?;
            Ok(migrations::applied_names(&report))
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(map_error)
        })
        .await
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }
}

struct SqliteTx {
    guard: Option<Guard>,
}

impl SqliteTx {
    async fn run<T, F>(&mut self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self
            .guard
            .take()
            .ok_or_else(|| StoreError::Backend("transaction already finished".into()))?;
        let (guard, result) = tokio::task::spawn_blocking(move || {
            let result = work(&mut guard);
            (guard, result)
        })
        .await
        .map_err(join_error)?;
        self.guard = Some(guard);
        result
    }
}

#[async_trait]
impl Transaction for SqliteTx {
    async fn query(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError> {
        let sql = numbered_placeholders(sql);
        self.run(move |conn| run_query(conn, &sql, &params)).await
    }

    async fn execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        let sql = numbered_placeholders(sql);
        self.run(move |conn| run_execute(conn, &sql, &params)).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.run(|conn| conn.execute_batch("COMMIT").map_err(map_error))
            .await?;
        self.guard = None;
        Ok(())
    }
}

fn run_query(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(map_error)?;
    let columns: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(String::from)
        .collect();
    let mut rows = statement
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(map_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_error)? {
        let values = (0..columns.len())
            .map(|i| row.get_ref(i).map_err(map_error).and_then(read_value))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Row::new(columns.clone(), values));
    }
    Ok(out)
}

fn run_execute(conn: &Connection, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(map_error)?;
    let changed = statement
        .execute(rusqlite::params_from_iter(params.iter()))
        .map_err(map_error)?;
    Ok(changed as u64)
}

fn read_value(value: ValueRef<'_>) -> Result<SqlValue, StoreError> {
    Ok(match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(v) => SqlValue::Int(v),
        ValueRef::Text(bytes) => SqlValue::Text(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| StoreError::Malformed("text column is not UTF-8".into()))?,
        ),
        ValueRef::Blob(bytes) => SqlValue::Bytes(bytes.to_vec()),
        ValueRef::Real(_) => {
            return Err(StoreError::Malformed(
                "floating-point columns are not used".into(),
            ));
        }
    })
}

impl rusqlite::ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            SqlValue::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            SqlValue::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
            SqlValue::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

fn map_error(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &err {
        let unique = failure.code == ErrorCode::ConstraintViolation
            && matches!(
                failure.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            );
        if unique {
            return StoreError::Unique(message.clone().unwrap_or_else(|| err.to_string()));
        }
        if matches!(
            failure.code,
            ErrorCode::CannotOpen | ErrorCode::DiskFull | ErrorCode::DatabaseBusy
        ) {
            return StoreError::Unavailable(err.to_string());
        }
    }
    StoreError::Backend(err.to_string())
}

fn join_error(err: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("database task failed: {err}"))
}
