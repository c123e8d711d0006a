//! The seam under the SQL store ([`super::sql`]): what a database driver must do (run a
//! statement, fetch rows, transactions, whether it can be written), and the values and rows
//! that cross it. [`super::sqlite`] and [`super::postgres`] implement it.

use chrono::{DateTime, Utc};

use super::store::stamp;
use super::{LogError, Outcome, ReviewState};

/// A value bound to a placeholder or read from a column: all the log stores is whole
/// numbers and text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(t: DateTime<Utc>) -> Value {
        Value::Text(stamp(t))
    }
}

/// One result row, its columns in `SELECT` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub(super) fn get(&self, i: usize) -> Result<&Value, LogError> {
        self.0
            .get(i)
            .ok_or_else(|| LogError::Corrupt(format!("the log's query has no column {i}")))
    }

    pub(super) fn mismatch(&self, i: usize, want: &str) -> LogError {
        LogError::Corrupt(format!(
            "the log's column {i} holds {:?}, not {want}",
            self.0.get(i)
        ))
    }

    pub(super) fn int(&self, i: usize) -> Result<i64, LogError> {
        match self.get(i)? {
            Value::Int(v) => Ok(*v),
            _ => Err(self.mismatch(i, "a number")),
        }
    }

    pub(super) fn count(&self, i: usize) -> Result<u64, LogError> {
        Ok(self.int(i)?.max(0) as u64)
    }

    pub(super) fn opt_text(&self, i: usize) -> Result<Option<String>, LogError> {
        match self.get(i)? {
            Value::Text(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            Value::Int(_) => Err(self.mismatch(i, "text")),
        }
    }

    pub(super) fn text(&self, i: usize) -> Result<String, LogError> {
        self.opt_text(i)?
            .ok_or_else(|| self.mismatch(i, "text (not null)"))
    }

    pub(super) fn outcome(&self, i: usize) -> Result<Outcome, LogError> {
        let s = self.text(i)?;
        Outcome::parse(&s)
            .ok_or_else(|| LogError::Corrupt(format!("the log holds an unknown outcome `{s}`")))
    }

    pub(super) fn review_state(&self, i: usize) -> Result<ReviewState, LogError> {
        let s = self.text(i)?;
        ReviewState::parse(&s).ok_or_else(|| {
            LogError::Corrupt(format!("the log holds an unknown review state `{s}`"))
        })
    }

    pub(super) fn time(&self, i: usize) -> Result<DateTime<Utc>, LogError> {
        Ok(parse_ts(&self.text(i)?))
    }

    pub(super) fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, LogError> {
        Ok(self.opt_text(i)?.as_deref().map(parse_ts))
    }
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// What a database must do for [`SqlStore`]. Statements use `?N` placeholders.
pub trait Driver: Send {
    /// Runs one statement; the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, LogError>;
    /// Runs one query; every row it returns.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, LogError>;
    fn begin(&mut self) -> Result<(), LogError>;
    fn commit(&mut self) -> Result<(), LogError>;
    fn rollback(&mut self) -> Result<(), LogError>;
    /// Checks the database can be written to (for readiness), without writing.
    fn writable(&mut self) -> Result<(), LogError>;
}
