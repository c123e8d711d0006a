//! The one SQL store: the schema, every query, the row mapping and the write logic, written
//! once over a small [`Driver`] seam ([`super::driver`]) that SQLite ([`super::sqlite`]) and PostgreSQL
//! ([`super::postgres`]) each implement: run a statement, fetch rows, transactions, and
//! whether the database can be written. Connection set-up and migration bookkeeping stay with
//! each driver.
//!
//! Here: the store, its helpers, the row mapping and [`Store::apply`]; [`read`] has every
//! read ([`super::store::ReadStore`], all the log's `Reader` reaches), [`accounts`] the
//! reviewer-account and session writes, [`write`] what each [`WriteOp`] does.
//!
//! Queries use SQLite's numbered placeholders (`?1`, `?2`, …) and SQL both databases accept
//! (`ON CONFLICT … DO UPDATE`, `IS NOT DISTINCT FROM`, `count(*) FILTER (WHERE …)`); the
//! PostgreSQL driver rewrites the placeholders to `$1`, `$2`, …. Times are stored as
//! fixed-width RFC 3339 text ([`stamp`]), so ordering and filtering match on both.

mod accounts;
mod read;
mod write;

use chrono::{DateTime, Utc};

use write::apply_one;

use super::driver::{Driver, Row, Value};
use super::store::{Applied, Filter, Reviewer, Store, WriteOp, stamp};
use super::{Feedback, LogError, Question, Review};

/// The question log's store over a database driver. [`super::sqlite::SqliteStore`] and
/// [`super::postgres::PgStore`] are this over their drivers.
pub struct SqlStore<D> {
    pub(super) driver: D,
}

impl<D: Driver> SqlStore<D> {
    /// Runs `f` in one transaction: committed if it succeeds, rolled back if not.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut D) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        let d = &mut self.driver;
        d.begin()?;
        let done = f(d).and_then(|v| d.commit().map(|()| v));
        if done.is_err() {
            // Nothing to roll back when the failure already ended the transaction.
            let _ = d.rollback();
        }
        done
    }

    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, LogError> {
        self.driver
            .query(sql, params)?
            .into_iter()
            .next()
            .ok_or_else(|| LogError::Corrupt(format!("no row from: {sql}")))
    }

    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, LogError> {
        Ok(self.driver.query(sql, params)?.into_iter().next())
    }

    fn pairs(&mut self, sql: &str, params: &[Value]) -> Result<Vec<(String, u64)>, LogError> {
        self.driver
            .query(sql, params)?
            .iter()
            .map(|r| Ok((r.text(0)?, r.count(1)?)))
            .collect()
    }

    fn tags_of(&mut self, id: i64) -> Result<Vec<String>, LogError> {
        self.driver
            .query(
                "SELECT tag FROM question_tags WHERE question_id = ?1 ORDER BY tag",
                &[id.into()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    fn with_tags(&mut self, rows: Vec<Row>) -> Result<Vec<Question>, LogError> {
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut q = question_from_row(r)?;
            q.review.tags = self.tags_of(q.id)?;
            out.push(q);
        }
        Ok(out)
    }
}

/// The SQL `WHERE` clause for questions aliased `q`, and its arguments in order, so a filter
/// means the same on each database.
fn where_clause(f: &Filter) -> (String, Vec<Value>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let arg = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        format!("?{}", args.len())
    };
    if f.queue {
        parts.push(
            "(q.outcome IN ('no_answer', 'clarify') OR q.feedback = 'unhelpful') \
             AND q.review_state <> 'reviewed'"
                .into(),
        );
    }
    if let Some(o) = f.outcome {
        parts.push(format!("q.outcome = {}", arg(o.as_str().into(), &mut args)));
    }
    if f.unhelpful {
        parts.push("q.feedback = 'unhelpful'".into());
    }
    if let Some(r) = &f.region {
        parts.push(format!("q.region = {}", arg(r.as_str().into(), &mut args)));
    }
    if let Some(t) = &f.tag {
        parts.push(format!(
            "EXISTS (SELECT 1 FROM question_tags t WHERE t.question_id = q.id AND t.tag = {})",
            arg(t.as_str().into(), &mut args)
        ));
    }
    if let Some(s) = f.since {
        parts.push(format!("q.asked_at >= {}", arg(s.into(), &mut args)));
    }
    if let Some(u) = f.until {
        parts.push(format!("q.asked_at < {}", arg(u.into(), &mut args)));
    }
    if let Some(text) = &f.text {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        parts.push(format!(
            "lower(q.text) LIKE {} ESCAPE '\\'",
            arg(format!("%{escaped}%").into(), &mut args)
        ));
    }
    let clause = if parts.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", parts.join(" AND "))
    };
    (clause, args)
}

const QUESTION_COLUMNS: &str = "q.id, q.asked_at, q.region, q.channel, q.text, q.outcome, \
     q.results, q.shown_id, q.content_digest, q.reply_text, q.feedback, q.feedback_at, \
     q.review_state, q.note, q.suggested_entry, q.reviewed_at, q.reviewed_by";

fn question_from_row(r: &Row) -> Result<Question, LogError> {
    Ok(Question {
        id: r.int(0)?,
        asked_at: r.time(1)?,
        region: r.opt_text(2)?,
        channel: r.text(3)?,
        text: r.text(4)?,
        outcome: r.outcome(5)?,
        results: serde_json::from_str(&r.text(6)?).unwrap_or_default(),
        shown_id: r.opt_text(7)?,
        content_digest: r.text(8)?,
        reply_text: r.opt_text(9)?,
        feedback: r.opt_text(10)?.as_deref().and_then(Feedback::parse),
        feedback_at: r.opt_time(11)?,
        review: Review {
            state: r.review_state(12)?,
            tags: Vec::new(),
            note: r.opt_text(13)?,
            suggested_entry: r.opt_text(14)?,
            reviewed_at: r.opt_time(15)?,
            reviewed_by: r.opt_text(16)?,
        },
    })
}

const REVIEWER_COLUMNS: &str = "name, password_hash, created_at, failed_logins, locked_until";

fn reviewer_from_row(r: &Row) -> Result<Reviewer, LogError> {
    Ok(Reviewer {
        name: r.text(0)?,
        password_hash: r.text(1)?,
        created_at: r.time(2)?,
        failed_logins: u32::try_from(r.int(3)?.max(0)).unwrap_or(u32::MAX),
        locked_until: r.opt_time(4)?,
    })
}

/// `since` as a lower bound on stored times: '' sorts before them all.
fn since_arg(since: Option<DateTime<Utc>>) -> Value {
    Value::Text(since.map(stamp).unwrap_or_default())
}

impl<D: Driver> Store for SqlStore<D> {
    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError> {
        self.transaction(|d| {
            ops.iter()
                .map(|op| apply_one(d, op).map(|rows| Applied { rows }))
                .collect()
        })
    }
}
