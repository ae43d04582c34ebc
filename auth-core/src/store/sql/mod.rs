//! Durable storage in SQL, over two engines: PostgreSQL (deadpool-postgres) and an embedded SQLite
//! file. The domain modules write plain parameterised SQL once, in the subset both engines speak
//! (`$1` placeholders, BIGINT, TEXT, BOOLEAN, `RETURNING`, `ON CONFLICT`), and run it through [`Db`]
//! or, when several statements must land together, a [`Tx`].

mod filter;
mod postgres;
mod sqlite;
mod value;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::PostgresConfig;
use crate::measure::StoreTimer;
use crate::store::StoreError;

pub use filter::Filter;
pub use value::{FromSqlValue, Row, SqlValue};

/// Which engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Postgres,
    Sqlite,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres",
            EngineKind::Sqlite => "embedded",
        }
    }
}

#[async_trait]
trait Engine: Send + Sync {
    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError>;
    async fn execute(&self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError>;
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError>;
    async fn migrate(&self) -> Result<Vec<String>, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
    fn kind(&self) -> EngineKind;
}

#[async_trait]
trait Transaction: Send {
    async fn query(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError>;
    async fn execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// A handle on the durable database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    engine: Arc<dyn Engine>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("engine", &self.engine.kind())
            .finish()
    }
}

impl Db {
    /// Opens (creating if needed) the embedded database file at `path`.
    pub async fn open_embedded(path: &Path) -> Result<Db, StoreError> {
        let engine = sqlite::SqliteEngine::open(path).await?;
        Ok(Db {
            engine: Arc::new(engine),
        })
    }

    /// Connects a pool to PostgreSQL. Connections are made lazily, so a server that is down now
    /// does not stop start-up; queries fail with [`StoreError::Unavailable`] until it is back.
    pub fn connect_postgres(config: &PostgresConfig) -> Result<Db, StoreError> {
        let engine = postgres::PostgresEngine::connect(config)?;
        Ok(Db {
            engine: Arc::new(engine),
        })
    }

    /// Applies every migration not yet applied; returns the names applied now.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.engine.migrate().await
    }

    /// A cheap round trip proving the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.engine.ping().await
    }

    pub fn kind(&self) -> EngineKind {
        self.engine.kind()
    }

    /// Runs a statement that returns rows.
    pub async fn query(&self, sql: &str, params: Vec<SqlValue>) -> Result<Vec<Row>, StoreError> {
        let _timer = StoreTimer::start("sql");
        self.engine.query(sql, params).await
    }

    /// Runs a statement expected to return at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Option<Row>, StoreError> {
        let _timer = StoreTimer::start("sql");
        Ok(self.engine.query(sql, params).await?.into_iter().next())
    }

    /// Runs a statement expected to return exactly one row.
    pub async fn query_one(&self, sql: &str, params: Vec<SqlValue>) -> Result<Row, StoreError> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| StoreError::Malformed("expected one row, found none".into()))
    }

    /// The shape of every list: how many rows of `from` (`FROM table …`) `filter` matches, and
    /// one page of them, `SELECT columns … ORDER BY order_by LIMIT limit OFFSET offset`.
    pub async fn page_of(
        &self,
        columns: &str,
        from: &str,
        filter: &Filter,
        order_by: &str,
        (limit, offset): (i64, i64),
    ) -> Result<(i64, Vec<Row>), StoreError> {
        let where_sql = filter.where_sql();
        let total: i64 = self
            .query_one(
                &format!("SELECT COUNT(*) AS n {from}{where_sql}"),
                filter.params(),
            )
            .await?
            .get("n")?;
        let n = filter.next_placeholder();
        let mut params = filter.params();
        params.extend([SqlValue::from(limit), SqlValue::from(offset)]);
        let sql = format!(
            "SELECT {columns} {from}{where_sql} ORDER BY {order_by} LIMIT ${n} OFFSET ${}",
            n + 1
        );
        Ok((total, self.query(&sql, params).await?))
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        let _timer = StoreTimer::start("sql");
        self.engine.execute(sql, params).await
    }

    /// Starts a transaction. Dropping the [`Tx`] without [`Tx::commit`] rolls it back.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx {
            inner: self.engine.begin().await?,
        })
    }
}

/// A transaction: every statement lands, or none does.
pub struct Tx {
    inner: Box<dyn Transaction>,
}

impl Tx {
    pub async fn query(
        &mut self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Row>, StoreError> {
        let _timer = StoreTimer::start("sql");
        self.inner.query(sql, params).await
    }

    pub async fn query_opt(
        &mut self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Option<Row>, StoreError> {
        let _timer = StoreTimer::start("sql");
        Ok(self.inner.query(sql, params).await?.into_iter().next())
    }

    pub async fn execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        let _timer = StoreTimer::start("sql");
        self.inner.execute(sql, params).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        let _timer = StoreTimer::start("sql");
        self.inner.commit().await
    }
}

/// Something statements can run on: the database itself or an open transaction. Lets a domain
/// function take part in a caller's transaction or run alone.
#[async_trait]
pub trait Executor: Send {
    async fn run_query(&mut self, sql: &str, params: Vec<SqlValue>)
    -> Result<Vec<Row>, StoreError>;
    async fn run_execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError>;
}

#[async_trait]
impl Executor for Db {
    async fn run_query(
        &mut self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Row>, StoreError> {
        self.query(sql, params).await
    }

    async fn run_execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        self.execute(sql, params).await
    }
}

#[async_trait]
impl Executor for Tx {
    async fn run_query(
        &mut self,
        sql: &str,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Row>, StoreError> {
        self.query(sql, params).await
    }

    async fn run_execute(&mut self, sql: &str, params: Vec<SqlValue>) -> Result<u64, StoreError> {
        self.execute(sql, params).await
    }
}
