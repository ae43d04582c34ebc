//! The values that cross the SQL boundary, the same for both engines: integers, text, booleans,
//! bytes and NULL. Times are stored as UTC milliseconds since the epoch.

use std::sync::Arc;

use jiff::Timestamp;

use crate::store::StoreError;

/// One parameter or column value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Int(i64::from(v))
    }
}

impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Bool(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}

impl From<Vec<u8>> for SqlValue {
    fn from(v: Vec<u8>) -> Self {
        SqlValue::Bytes(v)
    }
}

impl From<Timestamp> for SqlValue {
    fn from(v: Timestamp) -> Self {
        SqlValue::Int(v.as_millisecond())
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// Builds a parameter list: `params![user_id, email, now]`.
#[macro_export]
macro_rules! params {
    () => { ::std::vec::Vec::<$crate::store::sql::SqlValue>::new() };
    ($($value:expr),+ $(,)?) => {
        vec![$($crate::store::sql::SqlValue::from($value)),+]
    };
}

/// One result row, read by column name.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<SqlValue>,
}

impl Row {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<SqlValue>) -> Self {
        Self { columns, values }
    }

    /// The value of `column`, converted to `T`.
    pub fn get<T: FromSqlValue>(&self, column: &str) -> Result<T, StoreError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| StoreError::Malformed(format!("no column `{column}` in result")))?;
        T::from_sql(&self.values[index])
            .map_err(|expected| StoreError::Malformed(format!("column `{column}`: {expected}")))
    }
}

/// Conversion from a column value; the error names what was expected.
pub trait FromSqlValue: Sized {
    fn from_sql(value: &SqlValue) -> Result<Self, String>;
}

impl FromSqlValue for i64 {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Int(v) => Ok(*v),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

impl FromSqlValue for bool {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Bool(v) => Ok(*v),
            // SQLite stores booleans as 0 and 1.
            SqlValue::Int(v) => Ok(*v != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}

impl FromSqlValue for String {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Text(v) => Ok(v.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromSqlValue for Vec<u8> {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Bytes(v) => Ok(v.clone()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}

impl FromSqlValue for Timestamp {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        let millis = i64::from_sql(value)?;
        Timestamp::from_millisecond(millis).map_err(|err| err.to_string())
    }
}

impl<T: FromSqlValue> FromSqlValue for Option<T> {
    fn from_sql(value: &SqlValue) -> Result<Self, String> {
        match value {
            SqlValue::Null => Ok(None),
            other => T::from_sql(other).map(Some),
        }
    }
}

/// Rewrites `$1`-style placeholders as SQLite's numbered `?1` form.
///
/// Our SQL never holds a `$` inside a string literal, so a plain scan is enough.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(
            numbered_placeholders("SELECT * FROM t WHERE a = $1 AND b = $12 OR c = $1"),
            "SELECT * FROM t WHERE a = ?1 AND b = ?12 OR c = ?1"
        );
    }

    #[test]
    fn row_reads_by_name_and_reports_wrong_types() {
        let row = Row::new(
            Arc::from(vec!["id".to_string(), "n".to_string()]),
            vec![SqlValue::Text("a".into()), SqlValue::Null],
        );
        assert_eq!(row.get::<String>("id").unwrap(), "a");
        assert_eq!(row.get::<Option<i64>>("n").unwrap(), None);
        assert!(row.get::<i64>("n").is_err());
        assert!(row.get::<String>("missing").is_err());
    }
}
