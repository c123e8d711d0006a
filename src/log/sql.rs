//! The one SQL store: the schema, every query, the row mapping and the write logic, written
//! once over a small [`Driver`] seam ([`super::driver`]) that SQLite ([`super::sqlite`]) and PostgreSQL
//! ([`super::postgres`]) each implement: run a statement, fetch rows, transactions, and
//! whether the database can be written. Connection set-up and migration bookkeeping stay with
//! each driver.
//!
//! Queries use SQLite's numbered placeholders (`?1`, `?2`, …) and SQL both databases accept
//! (`ON CONFLICT … DO UPDATE`, `IS NOT DISTINCT FROM`, `count(*) FILTER (WHERE …)`); the
//! PostgreSQL driver rewrites the placeholders to `$1`, `$2`, …. Times are stored as
//! fixed-width RFC 3339 text ([`stamp`]), so ordering and filtering match on both.

use chrono::{DateTime, NaiveDate, Utc};

use super::driver::{Driver, Row, Value};
use super::store::{
    Applied, Day, Filter, ReviewUpdate, Reviewer, Session, Stats, Store, Suggestion, UpdateState,
    WriteOp, stamp,
};
use super::{Feedback, LogError, Outcome, Question, Review, ReviewState, UserKey};

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
            .ok_or_else(|| LogError::Invalid(format!("no row from: {sql}")))
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

fn apply_one(d: &mut impl Driver, op: &WriteOp) -> Result<u64, LogError> {
    match op {
        WriteOp::Insert(q) => {
            let results = serde_json::to_string(&q.results).unwrap_or_else(|_| "[]".into());
            d.execute(
                "INSERT INTO questions (id, asked_at, user_key, region, channel, text, outcome,
                     results, shown_id, content_digest, reply_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    q.id.into(),
                    q.asked_at.into(),
                    q.user.as_str().into(),
                    q.region.clone().into(),
                    q.channel.as_str().into(),
                    q.text.as_str().into(),
                    q.outcome.as_str().into(),
                    results.into(),
                    q.shown_id.clone().into(),
                    q.content_digest.as_str().into(),
                    q.reply_text.clone().into(),
                ],
            )
        }
        WriteOp::Feedback {
            id,
            user,
            feedback,
            at,
        } => d.execute(
            "UPDATE questions SET feedback = ?1, feedback_at = ?2 WHERE id = ?3 AND user_key = ?4",
            &[
                feedback.as_str().into(),
                (*at).into(),
                (*id).into(),
                user.as_str().into(),
            ],
        ),
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent: None,
        } => d.execute(
            "UPDATE questions SET shown_id = ?1 WHERE id = ?2 AND user_key = ?3",
            &[shown_id.as_str().into(), (*id).into(), user.as_str().into()],
        ),
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent: Some(sent),
        } => d.execute(
            // What was sent is added after what the row already holds, a blank line between.
            "UPDATE questions SET shown_id = ?1,
                 reply_text = COALESCE(reply_text || ?2, '') || ?3
             WHERE id = ?4 AND user_key = ?5",
            &[
                shown_id.as_str().into(),
                "\n\n".into(),
                sent.as_str().into(),
                (*id).into(),
                user.as_str().into(),
            ],
        ),
        WriteOp::SetRegion { user, region, at } => d.execute(
            "INSERT INTO settings (user_key, region, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_key) DO UPDATE SET region = excluded.region,
                 updated_at = excluded.updated_at",
            &[user.as_str().into(), region.clone().into(), (*at).into()],
        ),
        WriteOp::Forget { user } => {
            let n = d.execute(
                "DELETE FROM questions WHERE user_key = ?1",
                &[user.as_str().into()],
            )?;
            d.execute(
                "DELETE FROM settings WHERE user_key = ?1",
                &[user.as_str().into()],
            )?;
            Ok(n)
        }
        WriteOp::Purge { before } => d.execute(
            "DELETE FROM questions WHERE asked_at < ?1",
            &[(*before).into()],
        ),
        WriteOp::Review { id, update, by, at } => review(d, *id, update, by, *at),
        WriteOp::UpdateProgress {
            update_id,
            sent,
            sending,
            done,
            at,
        } => {
            d.execute(
                "DELETE FROM telegram_updates WHERE updated_at < ?1",
                &[(*at - super::store::UPDATES_KEPT).into()],
            )?;
            // Never backwards: each count only grows (CASE, as SQLite has no GREATEST).
            d.execute(
                "INSERT INTO telegram_updates
                     (update_id, messages_sent, messages_sending, done, updated_at)
                 VALUES (?1, ?2, ?5, ?3, ?4)
                 ON CONFLICT (update_id) DO UPDATE SET
                     messages_sent = CASE WHEN excluded.messages_sent > telegram_updates.messages_sent
                         THEN excluded.messages_sent ELSE telegram_updates.messages_sent END,
                     messages_sending = CASE
                         WHEN excluded.messages_sending > telegram_updates.messages_sending
                         THEN excluded.messages_sending ELSE telegram_updates.messages_sending END,
                     done = CASE WHEN excluded.done > telegram_updates.done
                         THEN excluded.done ELSE telegram_updates.done END,
                     updated_at = excluded.updated_at",
                &[
                    (*update_id).into(),
                    (*sent).into(),
                    i64::from(*done).into(),
                    (*at).into(),
                    (*sending.max(sent)).into(),
                ],
            )
        }
    }
}

fn review(
    d: &mut impl Driver,
    id: i64,
    u: &ReviewUpdate,
    by: &str,
    at: DateTime<Utc>,
) -> Result<u64, LogError> {
    let n = d.execute(
        "UPDATE questions SET reviewed_at = ?1, reviewed_by = ?2 WHERE id = ?3",
        &[at.into(), by.into(), id.into()],
    )?;
    if n == 0 {
        return Ok(0);
    }
    if let Some(r) = u.reviewed {
        let state = if r {
            ReviewState::Reviewed
        } else {
            ReviewState::New
        };
        d.execute(
            "UPDATE questions SET review_state = ?1 WHERE id = ?2",
            &[state.as_str().into(), id.into()],
        )?;
    }
    let trimmed = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    if let Some(note) = &u.note {
        d.execute(
            "UPDATE questions SET note = ?1 WHERE id = ?2",
            &[trimmed(note).into(), id.into()],
        )?;
    }
    if let Some(s) = &u.suggested_entry {
        d.execute(
            "UPDATE questions SET suggested_entry = ?1 WHERE id = ?2",
            &[trimmed(s).into(), id.into()],
        )?;
    }
    if let Some(tags) = &u.tags {
        d.execute(
            "DELETE FROM question_tags WHERE question_id = ?1",
            &[id.into()],
        )?;
        for t in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            d.execute(
                "INSERT INTO question_tags (question_id, tag) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                &[id.into(), t.into()],
            )?;
        }
    }
    Ok(n)
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

    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError> {
        let row = self.query_opt(
            "SELECT region FROM settings WHERE user_key = ?1",
            &[user.as_str().into()],
        )?;
        Ok(row.map(|r| r.opt_text(0)).transpose()?.flatten())
    }

    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError> {
        let since = [since_arg(since)];
        let mut s = Stats::default();
        for r in self.driver.query(
            "SELECT outcome, count(*) FROM questions WHERE asked_at >= ?1 GROUP BY outcome",
            &since,
        )? {
            let n = r.count(1)?;
            match Outcome::parse(&r.text(0)?) {
                Some(Outcome::Answer) => s.answered += n,
                Some(Outcome::Clarify) => s.clarified += n,
                Some(Outcome::NoAnswer) => s.unanswered += n,
                Some(Outcome::Crisis) => s.crisis += n,
                // Greetings, thanks and emoji are not questions.
                Some(Outcome::SmallTalk) => continue,
                None => {}
            }
            s.questions += n;
        }
        let r = self.query_one(
            "SELECT count(*) FILTER (WHERE feedback = 'helpful'),
                    count(*) FILTER (WHERE feedback = 'unhelpful')
             FROM questions WHERE asked_at >= ?1",
            &since,
        )?;
        s.helpful = r.count(0)?;
        s.unhelpful = r.count(1)?;
        s.top_entries = self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id LIMIT 10",
            &since,
        )?;
        s.top_unanswered = self.pairs(
            "SELECT lower(trim(text)) AS t, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND outcome = 'no_answer'
             GROUP BY t ORDER BY n DESC, t LIMIT 10",
            &since,
        )?;
        Ok(s)
    }

    fn questions(
        &mut self,
        filter: &Filter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Question>, LogError> {
        let (clause, args) = where_clause(filter);
        let rows = self.driver.query(
            &format!(
                "SELECT {QUESTION_COLUMNS} FROM questions q {clause}
                 ORDER BY q.asked_at DESC, q.id LIMIT {limit} OFFSET {offset}"
            ),
            &args,
        )?;
        self.with_tags(rows)
    }

    fn count(&mut self, filter: &Filter) -> Result<u64, LogError> {
        let (clause, args) = where_clause(filter);
        self.query_one(&format!("SELECT count(*) FROM questions q {clause}"), &args)?
            .count(0)
    }

    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError> {
        let rows = self.driver.query(
            &format!("SELECT {QUESTION_COLUMNS} FROM questions q WHERE q.id = ?1"),
            &[id.into()],
        )?;
        Ok(self.with_tags(rows)?.into_iter().next())
    }

    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError> {
        self.driver
            .query(
                "SELECT substr(asked_at, 1, 10) AS d,
                        count(*) FILTER (WHERE outcome <> 'smalltalk'),
                        count(*) FILTER (WHERE outcome = 'no_answer')
                 FROM questions WHERE asked_at >= ?1 GROUP BY d
                 HAVING count(*) FILTER (WHERE outcome <> 'smalltalk') > 0 ORDER BY d",
                &[since.into()],
            )?
            .iter()
            .map(|r| {
                Ok(Day {
                    date: NaiveDate::parse_from_str(&r.text(0)?, "%Y-%m-%d").unwrap_or_default(),
                    questions: r.count(1)?,
                    unanswered: r.count(2)?,
                })
            })
            .collect()
    }

    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError> {
        self.driver
            .query(
                "SELECT suggested_entry, text, id FROM questions
                 WHERE suggested_entry IS NOT NULL ORDER BY suggested_entry, asked_at",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Suggestion {
                    entry: r.text(0)?,
                    question: r.text(1)?,
                    question_id: r.int(2)?,
                })
            })
            .collect()
    }

    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id",
            &[since_arg(since)],
        )
    }

    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError> {
        self.pairs(
            "SELECT tag, count(*) AS n FROM question_tags GROUP BY tag ORDER BY n DESC, tag",
            &[],
        )
    }

    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError> {
        self.query_one(
            "SELECT count(*) FROM questions WHERE user_key = ?1",
            &[user.as_str().into()],
        )?
        .count(0)
    }

    fn writable(&mut self) -> Result<(), LogError> {
        self.driver.writable()
    }

    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        let row = self.query_opt(
            "SELECT messages_sent, done, messages_sending FROM telegram_updates
             WHERE update_id = ?1 AND updated_at >= ?2",
            &[update_id.into(), since.into()],
        )?;
        row.map(|r| {
            let sent = u32::try_from(r.int(0)?.max(0)).unwrap_or(u32::MAX);
            Ok(UpdateState {
                sent,
                sending: u32::try_from(r.int(2)?.max(0))
                    .unwrap_or(u32::MAX)
                    .max(sent),
                done: r.int(1)? != 0,
            })
        })
        .transpose()
    }

    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError> {
        self.query_opt(
            &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers WHERE name = ?1"),
            &[name.into()],
        )?
        .as_ref()
        .map(reviewer_from_row)
        .transpose()
    }

    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError> {
        self.driver
            .query(
                &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers ORDER BY name"),
                &[],
            )?
            .iter()
            .map(reviewer_from_row)
            .collect()
    }

    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError> {
        // A new password ends the reviewer's sessions.
        self.driver
            .execute("DELETE FROM sessions WHERE reviewer = ?1", &[name.into()])?;
        self.driver.execute(
            "INSERT INTO reviewers (name, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
                 failed_logins = 0, locked_until = NULL",
            &[name.into(), password_hash.into(), Utc::now().into()],
        )?;
        Ok(())
    }

    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError> {
        self.driver
            .execute("DELETE FROM sessions WHERE reviewer = ?1", &[name.into()])?;
        let n = self
            .driver
            .execute("DELETE FROM reviewers WHERE name = ?1", &[name.into()])?;
        Ok(n > 0)
    }

    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError> {
        self.driver.execute(
            "UPDATE reviewers SET failed_logins = failed_logins + 1,
                 locked_until = coalesce(?2, locked_until) WHERE name = ?1",
            &[name.into(), locked_until.into()],
        )?;
        Ok(())
    }

    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError> {
        let n = self.driver.execute(
            "UPDATE reviewers SET failed_logins = ?4, locked_until = ?5
             WHERE name = ?1 AND failed_logins = ?2 AND locked_until IS NOT DISTINCT FROM ?3",
            &[
                name.into(),
                old.0.into(),
                old.1.into(),
                new.0.into(),
                new.1.into(),
            ],
        )?;
        Ok(n > 0)
    }

    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError> {
        self.driver.execute(
            "UPDATE reviewers SET failed_logins = 0, locked_until = NULL WHERE name = ?1",
            &[name.into()],
        )?;
        Ok(())
    }

    fn put_session(&mut self, s: &Session) -> Result<(), LogError> {
        self.driver.execute(
            "INSERT INTO sessions (token_hash, reviewer, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            &[
                s.token_hash.as_str().into(),
                s.reviewer.as_str().into(),
                s.csrf.as_str().into(),
                s.expires_at.into(),
            ],
        )?;
        Ok(())
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError> {
        self.query_opt(
            "SELECT token_hash, reviewer, csrf, expires_at FROM sessions WHERE token_hash = ?1",
            &[token_hash.into()],
        )?
        .map(|r| {
            Ok(Session {
                token_hash: r.text(0)?,
                reviewer: r.text(1)?,
                csrf: r.text(2)?,
                expires_at: r.time(3)?,
            })
        })
        .transpose()
    }

    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError> {
        self.driver.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            &[token_hash.into()],
        )?;
        Ok(())
    }

    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError> {
        self.driver
            .execute("DELETE FROM sessions WHERE expires_at < ?1", &[now.into()])?;
        Ok(())
    }
}
