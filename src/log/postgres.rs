//! The PostgreSQL store: the same schema and behaviour as the SQLite one, for several replicas
//! sharing one log. Times are stored as the same fixed-width RFC 3339 text, so ordering and
//! filtering match SQLite exactly. A lost connection is re-opened on the next use.

use chrono::{DateTime, NaiveDate, Utc};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row};

use super::store::{
    Applied, Day, Filter, ReviewUpdate, Reviewer, Session, Stats, Store, Suggestion, UpdateState,
    WriteOp,
};
use super::{Feedback, LogError, Question, Review, UserKey};

/// Migrations, in order; `workhealth_schema.version` is how many have run.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE questions (
        id BIGINT PRIMARY KEY,
        asked_at TEXT NOT NULL,
        user_key TEXT NOT NULL,
        region TEXT,
        channel TEXT NOT NULL,
        text TEXT NOT NULL,
        outcome TEXT NOT NULL,
        results TEXT NOT NULL,
        shown_id TEXT,
        content_digest TEXT NOT NULL,
        feedback TEXT CHECK (feedback IN ('helpful', 'unhelpful')),
        feedback_at TEXT,
        review_state TEXT NOT NULL DEFAULT 'new',
        note TEXT,
        suggested_entry TEXT,
        reviewed_at TEXT
    );
    CREATE INDEX questions_asked_at ON questions (asked_at);
    CREATE INDEX questions_user_key ON questions (user_key);
    CREATE TABLE question_tags (
        question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (question_id, tag)
    );
    CREATE TABLE settings (
        user_key TEXT PRIMARY KEY,
        region TEXT,
        updated_at TEXT NOT NULL
    );",
    "ALTER TABLE questions ADD COLUMN reply_text TEXT;
    ALTER TABLE questions ADD COLUMN reviewed_by TEXT;
    CREATE TABLE reviewers (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        reviewer TEXT NOT NULL REFERENCES reviewers (name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );",
    "CREATE TABLE telegram_updates (
        update_id BIGINT PRIMARY KEY,
        messages_sent INTEGER NOT NULL,
        done INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX telegram_updates_updated_at ON telegram_updates (updated_at);",
];

/// The store. The `postgres` crate's client runs its own small runtime and must not be used
/// from inside tokio, so every call is handed to a thread of its own that owns the connection.
pub struct PgStore {
    tx: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// The connection, on its own thread.
struct Conn {
    url: String,
    client: Option<Client>,
}

fn ts(t: DateTime<Utc>) -> String {
    super::store::stamp(t)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn pg(url: &str, e: postgres::Error) -> LogError {
    LogError::Postgres {
        url: crate::config::mask_url(url),
        source: e,
    }
}

impl PgStore {
    /// Connects and runs pending migrations (under an advisory lock, so replicas starting
    /// together migrate once).
    pub fn open(url: &str) -> Result<PgStore, LogError> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let mut conn = Conn {
            url: url.to_string(),
            client: None,
        };
        std::thread::Builder::new()
            .name("log-postgres".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| LogError::Invalid(format!("cannot start the PostgreSQL thread: {e}")))?;
        let s = PgStore { tx };
        s.call(|c| c.migrate())?;
        Ok(s)
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let (back, rx) = std::sync::mpsc::sync_channel(1);
        self.tx
            .send(Box::new(move |c: &mut Conn| {
                let _ = back.send(f(c));
            }))
            .map_err(|_| LogError::WriterGone)?;
        rx.recv().map_err(|_| LogError::WriterGone)?
    }

    pub fn schema_version(&mut self) -> Result<i64, LogError> {
        self.call(|c| c.schema_version())
    }
}

impl Conn {
    fn client(&mut self) -> Result<&mut Client, LogError> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            let c = Client::connect(&self.url, NoTls).map_err(|e| pg(&self.url, e))?;
            self.client = Some(c);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn schema_version(&mut self) -> Result<i64, LogError> {
        let url = self.url.clone();
        let c = self.client()?;
        c.batch_execute("CREATE TABLE IF NOT EXISTS workhealth_schema (version BIGINT NOT NULL)")
            .map_err(|e| pg(&url, e))?;
        let row = c
            .query_opt("SELECT version FROM workhealth_schema", &[])
            .map_err(|e| pg(&url, e))?;
        Ok(row.map(|r| r.get::<_, i64>(0)).unwrap_or(0))
    }

    fn migrate(&mut self) -> Result<(), LogError> {
        let url = self.url.clone();
        let known = MIGRATIONS.len() as i64;
        let c = self.client()?;
        let mut tx = c.transaction().map_err(|e| pg(&url, e))?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7271820);
             CREATE TABLE IF NOT EXISTS workhealth_schema (version BIGINT NOT NULL);",
        )
        .map_err(|e| pg(&url, e))?;
        let found = tx
            .query_opt("SELECT version FROM workhealth_schema", &[])
            .map_err(|e| pg(&url, e))?
            .map(|r| r.get::<_, i64>(0));
        let v = found.unwrap_or(0);
        if v > known {
            return Err(LogError::SchemaTooNew {
                path: crate::config::mask_url(&url).into(),
                found: v,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            tx.batch_execute(sql).map_err(|e| pg(&url, e))?;
            tracing::info!(version = i + 1, "PostgreSQL log migrated");
        }
        if found.is_none() {
            tx.execute(
                "INSERT INTO workhealth_schema (version) VALUES ($1)",
                &[&known],
            )
        } else {
            tx.execute("UPDATE workhealth_schema SET version = $1", &[&known])
        }
        .map_err(|e| pg(&url, e))?;
        tx.commit().map_err(|e| pg(&url, e))
    }

    fn tags_of(&mut self, id: i64) -> Result<Vec<String>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(
                "SELECT tag FROM question_tags WHERE question_id = $1 ORDER BY tag",
                &[&id],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn pairs(&mut self, q: &str, since: &str) -> Result<Vec<(String, u64)>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(q, &[&since])
            .map_err(|e| pg(&url, e))?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }
}

const QUESTION_COLUMNS: &str = "q.id, q.asked_at, q.region, q.channel, q.text, q.outcome, \
     q.results, q.shown_id, q.content_digest, q.reply_text, q.feedback, q.feedback_at, \
     q.review_state, q.note, q.suggested_entry, q.reviewed_at, q.reviewed_by";

fn question_from_row(r: &Row) -> Question {
    let results: String = r.get(6);
    let feedback: Option<String> = r.get(10);
    Question {
        id: r.get(0),
        asked_at: parse_ts(&r.get::<_, String>(1)),
        region: r.get(2),
        channel: r.get(3),
        text: r.get(4),
        outcome: r.get(5),
        results: serde_json::from_str(&results).unwrap_or_default(),
        shown_id: r.get(7),
        content_digest: r.get(8),
        reply_text: r.get(9),
        feedback: feedback.as_deref().and_then(Feedback::parse),
        feedback_at: r.get::<_, Option<String>>(11).as_deref().map(parse_ts),
        review: Review {
            state: r.get(12),
            tags: Vec::new(),
            note: r.get(13),
            suggested_entry: r.get(14),
            reviewed_at: r.get::<_, Option<String>>(15).as_deref().map(parse_ts),
            reviewed_by: r.get(16),
        },
    }
}

fn apply_one(tx: &mut postgres::Transaction<'_>, op: &WriteOp) -> Result<u64, postgres::Error> {
    match op {
        WriteOp::Insert(q) => {
            let results = serde_json::to_string(&q.results).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT INTO questions (id, asked_at, user_key, region, channel, text, outcome,
                     results, shown_id, content_digest, reply_text)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &q.id,
                    &ts(q.asked_at),
                    &q.user.as_str(),
                    &q.region,
                    &q.channel,
                    &q.text,
                    &q.outcome,
                    &results,
                    &q.shown_id,
                    &q.content_digest,
                    &q.reply_text,
                ],
            )
        }
        WriteOp::Feedback {
            id,
            user,
            feedback,
            at,
        } => tx.execute(
            "UPDATE questions SET feedback = $1, feedback_at = $2 WHERE id = $3 AND user_key = $4",
            &[&feedback.as_str(), &ts(*at), id, &user.as_str()],
        ),
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent,
        } => tx.execute(
            "UPDATE questions SET shown_id = $1,
                 reply_text = CASE WHEN $2::text IS NULL THEN reply_text
                                   ELSE COALESCE(reply_text || E'\\n\\n', '') || $2::text END
             WHERE id = $3 AND user_key = $4",
            &[shown_id, sent, id, &user.as_str()],
        ),
        WriteOp::SetRegion { user, region, at } => tx.execute(
            "INSERT INTO settings (user_key, region, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_key) DO UPDATE SET region = excluded.region,
                 updated_at = excluded.updated_at",
            &[&user.as_str(), region, &ts(*at)],
        ),
        WriteOp::Forget { user } => {
            let n = tx.execute(
                "DELETE FROM questions WHERE user_key = $1",
                &[&user.as_str()],
            )?;
            tx.execute(
                "DELETE FROM settings WHERE user_key = $1",
                &[&user.as_str()],
            )?;
            Ok(n)
        }
        WriteOp::Purge { before } => {
            tx.execute("DELETE FROM questions WHERE asked_at < $1", &[&ts(*before)])
        }
        WriteOp::Review { id, update, by, at } => review(tx, *id, update, by, *at),
        WriteOp::UpdateProgress {
            update_id,
            sent,
            done,
            at,
        } => {
            tx.execute(
                "DELETE FROM telegram_updates WHERE updated_at < $1",
                &[&ts(*at - super::store::UPDATES_KEPT)],
            )?;
            tx.execute(
                "INSERT INTO telegram_updates (update_id, messages_sent, done, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (update_id) DO UPDATE SET
                     messages_sent = GREATEST(telegram_updates.messages_sent, excluded.messages_sent),
                     done = GREATEST(telegram_updates.done, excluded.done),
                     updated_at = excluded.updated_at",
                &[update_id, &(*sent as i32), &i32::from(*done), &ts(*at)],
            )
        }
    }
}

fn review(
    tx: &mut postgres::Transaction<'_>,
    id: i64,
    u: &ReviewUpdate,
    by: &str,
    at: DateTime<Utc>,
) -> Result<u64, postgres::Error> {
    let n = tx.execute(
        "UPDATE questions SET reviewed_at = $1, reviewed_by = $2 WHERE id = $3",
        &[&ts(at), &by, &id],
    )?;
    if n == 0 {
        return Ok(0);
    }
    if let Some(r) = u.reviewed {
        let state = if r { "reviewed" } else { "new" };
        tx.execute(
            "UPDATE questions SET review_state = $1 WHERE id = $2",
            &[&state, &id],
        )?;
    }
    if let Some(note) = &u.note {
        let note = (!note.trim().is_empty()).then(|| note.trim().to_string());
        tx.execute(
            "UPDATE questions SET note = $1 WHERE id = $2",
            &[&note, &id],
        )?;
    }
    if let Some(s) = &u.suggested_entry {
        let s = (!s.trim().is_empty()).then(|| s.trim().to_string());
        tx.execute(
            "UPDATE questions SET suggested_entry = $1 WHERE id = $2",
            &[&s, &id],
        )?;
    }
    if let Some(tags) = &u.tags {
        tx.execute("DELETE FROM question_tags WHERE question_id = $1", &[&id])?;
        for t in tags {
            let t = t.trim();
            if !t.is_empty() {
                tx.execute(
                    "INSERT INTO question_tags (question_id, tag) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&id, &t],
                )?;
            }
        }
    }
    Ok(n)
}

fn reviewer_from_row(r: &Row) -> Reviewer {
    Reviewer {
        name: r.get(0),
        password_hash: r.get(1),
        created_at: parse_ts(&r.get::<_, String>(2)),
        failed_logins: r.get::<_, i32>(3) as u32,
        locked_until: r.get::<_, Option<String>>(4).as_deref().map(parse_ts),
    }
}

impl Store for Conn {
    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        let since = since.map(ts).unwrap_or_default();
        self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= $1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id",
            &since,
        )
    }

    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError> {
        let url = self.url.clone();
        let c = self.client()?;
        let mut tx = c.transaction().map_err(|e| pg(&url, e))?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let rows = apply_one(&mut tx, op).map_err(|e| pg(&url, e))?;
            out.push(Applied { rows });
        }
        tx.commit().map_err(|e| pg(&url, e))?;
        Ok(out)
    }

    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError> {
        let url = self.url.clone();
        let row = self
            .client()?
            .query_opt(
                "SELECT region FROM settings WHERE user_key = $1",
                &[&user.as_str()],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(row.and_then(|r| r.get::<_, Option<String>>(0)))
    }

    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError> {
        let url = self.url.clone();
        let since = since.map(ts).unwrap_or_default();
        let mut s = Stats::default();
        let rows = self
            .client()?
            .query(
                "SELECT outcome, count(*) FROM questions WHERE asked_at >= $1 GROUP BY outcome",
                &[&since],
            )
            .map_err(|e| pg(&url, e))?;
        for r in rows {
            let o: String = r.get(0);
            let n = r.get::<_, i64>(1) as u64;
            s.questions += n;
            match o.as_str() {
                "answer" => s.answered += n,
                "clarify" => s.clarified += n,
                "no_answer" => s.unanswered += n,
                "crisis" => s.crisis += n,
                // Greetings, thanks and emoji are not questions.
                "smalltalk" => s.questions -= n,
                _ => {}
            }
        }
        let r = self
            .client()?
            .query_one(
                "SELECT count(*) FILTER (WHERE feedback = 'helpful'),
                        count(*) FILTER (WHERE feedback = 'unhelpful')
                 FROM questions WHERE asked_at >= $1",
                &[&since],
            )
            .map_err(|e| pg(&url, e))?;
        s.helpful = r.get::<_, i64>(0) as u64;
        s.unhelpful = r.get::<_, i64>(1) as u64;
        s.top_entries = self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= $1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id LIMIT 10",
            &since,
        )?;
        s.top_unanswered = self.pairs(
            "SELECT lower(trim(text)) AS t, count(*) AS n FROM questions
             WHERE asked_at >= $1 AND outcome = 'no_answer'
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
        let url = self.url.clone();
        let (clause, args) = filter.sql(|n| format!("${n}"));
        let q = format!(
            "SELECT {QUESTION_COLUMNS} FROM questions q {clause}
             ORDER BY q.asked_at DESC, q.id LIMIT {limit} OFFSET {offset}"
        );
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let rows = self.client()?.query(&q, &params).map_err(|e| pg(&url, e))?;
        let mut out: Vec<Question> = rows.iter().map(question_from_row).collect();
        for q in &mut out {
            q.review.tags = self.tags_of(q.id)?;
        }
        Ok(out)
    }

    fn count(&mut self, filter: &Filter) -> Result<u64, LogError> {
        let url = self.url.clone();
        let (clause, args) = filter.sql(|n| format!("${n}"));
        let q = format!("SELECT count(*) FROM questions q {clause}");
        let params: Vec<&(dyn ToSql + Sync)> =
            args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let r = self
            .client()?
            .query_one(&q, &params)
            .map_err(|e| pg(&url, e))?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError> {
        let url = self.url.clone();
        let q = format!("SELECT {QUESTION_COLUMNS} FROM questions q WHERE q.id = $1");
        let row = self
            .client()?
            .query_opt(&q, &[&id])
            .map_err(|e| pg(&url, e))?;
        match row {
            Some(r) => {
                let mut q = question_from_row(&r);
                q.review.tags = self.tags_of(q.id)?;
                Ok(Some(q))
            }
            None => Ok(None),
        }
    }

    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(
                "SELECT substr(asked_at, 1, 10) AS d,
                        count(*) FILTER (WHERE outcome <> 'smalltalk'),
                        count(*) FILTER (WHERE outcome = 'no_answer')
                 FROM questions WHERE asked_at >= $1 GROUP BY d
                 HAVING count(*) FILTER (WHERE outcome <> 'smalltalk') > 0 ORDER BY d",
                &[&ts(since)],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(rows
            .iter()
            .map(|r| Day {
                date: NaiveDate::parse_from_str(&r.get::<_, String>(0), "%Y-%m-%d")
                    .unwrap_or_default(),
                questions: r.get::<_, i64>(1) as u64,
                unanswered: r.get::<_, i64>(2) as u64,
            })
            .collect())
    }

    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(
                "SELECT suggested_entry, text, id FROM questions
                 WHERE suggested_entry IS NOT NULL ORDER BY suggested_entry, asked_at",
                &[],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(rows
            .iter()
            .map(|r| Suggestion {
                entry: r.get(0),
                question: r.get(1),
                question_id: r.get(2),
            })
            .collect())
    }

    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(
                "SELECT tag, count(*) AS n FROM question_tags GROUP BY tag ORDER BY n DESC, tag",
                &[],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError> {
        let url = self.url.clone();
        let r = self
            .client()?
            .query_one(
                "SELECT count(*) FROM questions WHERE user_key = $1",
                &[&user.as_str()],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(r.get::<_, i64>(0) as u64)
    }

    fn writable(&mut self) -> Result<(), LogError> {
        let url = self.url.clone();
        let r = self
            .client()?
            .query_one(
                "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')",
                &[],
            )
            .map_err(|e| pg(&url, e))?;
        let recovery: bool = r.get(0);
        let ro: String = r.get(1);
        if recovery || ro == "on" {
            return Err(LogError::Invalid(format!(
                "{}: the database is read-only",
                crate::config::mask_url(&url)
            )));
        }
        Ok(())
    }

    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        let url = self.url.clone();
        let row = self
            .client()?
            .query_opt(
                "SELECT messages_sent, done FROM telegram_updates
                 WHERE update_id = $1 AND updated_at >= $2",
                &[&update_id, &ts(since)],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(row.map(|r| UpdateState {
            sent: r.get::<_, i32>(0).max(0) as u32,
            done: r.get::<_, i32>(1) != 0,
        }))
    }

    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError> {
        let url = self.url.clone();
        let row = self
            .client()?
            .query_opt(
                "SELECT name, password_hash, created_at, failed_logins, locked_until
                 FROM reviewers WHERE name = $1",
                &[&name],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(row.as_ref().map(reviewer_from_row))
    }

    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError> {
        let url = self.url.clone();
        let rows = self
            .client()?
            .query(
                "SELECT name, password_hash, created_at, failed_logins, locked_until
                 FROM reviewers ORDER BY name",
                &[],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(rows.iter().map(reviewer_from_row).collect())
    }

    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError> {
        let url = self.url.clone();
        // A new password ends the reviewer's sessions.
        self.client()?
            .execute("DELETE FROM sessions WHERE reviewer = $1", &[&name])
            .map_err(|e| pg(&url, e))?;
        self.client()?
            .execute(
                "INSERT INTO reviewers (name, password_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
                     failed_logins = 0, locked_until = NULL",
                &[&name, &password_hash, &ts(Utc::now())],
            )
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }

    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError> {
        let url = self.url.clone();
        let c = self.client()?;
        c.execute("DELETE FROM sessions WHERE reviewer = $1", &[&name])
            .map_err(|e| pg(&url, e))?;
        c.execute("DELETE FROM reviewers WHERE name = $1", &[&name])
            .map(|n| n > 0)
            .map_err(|e| pg(&url, e))
    }

    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?
            .execute(
                "UPDATE reviewers SET failed_logins = failed_logins + 1,
                     locked_until = coalesce($2, locked_until) WHERE name = $1",
                &[&name, &locked_until.map(ts)],
            )
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }

    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError> {
        let url = self.url.clone();
        self.client()?
            .execute(
                "UPDATE reviewers SET failed_logins = $4, locked_until = $5
                 WHERE name = $1 AND failed_logins = $2 AND locked_until IS NOT DISTINCT FROM $3",
                &[
                    &name,
                    &(old.0 as i32),
                    &old.1.map(ts),
                    &(new.0 as i32),
                    &new.1.map(ts),
                ],
            )
            .map(|n| n > 0)
            .map_err(|e| pg(&url, e))
    }

    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?
            .execute(
                "UPDATE reviewers SET failed_logins = 0, locked_until = NULL WHERE name = $1",
                &[&name],
            )
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }

    fn put_session(&mut self, s: &Session) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?
            .execute(
                "INSERT INTO sessions (token_hash, reviewer, csrf, expires_at) VALUES ($1, $2, $3, $4)",
                &[&s.token_hash, &s.reviewer, &s.csrf, &ts(s.expires_at)],
            )
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError> {
        let url = self.url.clone();
        let row = self
            .client()?
            .query_opt(
                "SELECT token_hash, reviewer, csrf, expires_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .map_err(|e| pg(&url, e))?;
        Ok(row.map(|r| Session {
            token_hash: r.get(0),
            reviewer: r.get(1),
            csrf: r.get(2),
            expires_at: parse_ts(&r.get::<_, String>(3)),
        }))
    }

    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }

    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?
            .execute("DELETE FROM sessions WHERE expires_at < $1", &[&ts(now)])
            .map(|_| ())
            .map_err(|e| pg(&url, e))
    }
}

impl Store for PgStore {
    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        self.call(move |c| c.shown_counts(since))
    }
    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError> {
        let ops = ops.to_vec();
        self.call(move |c| c.apply(&ops))
    }
    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError> {
        let user = user.clone();
        self.call(move |c| c.region(&user))
    }
    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError> {
        self.call(move |c| c.stats(since))
    }
    fn questions(
        &mut self,
        filter: &Filter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Question>, LogError> {
        let filter = filter.clone();
        self.call(move |c| c.questions(&filter, limit, offset))
    }
    fn count(&mut self, filter: &Filter) -> Result<u64, LogError> {
        let filter = filter.clone();
        self.call(move |c| c.count(&filter))
    }
    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError> {
        self.call(move |c| c.question(id))
    }
    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError> {
        self.call(move |c| c.days(since))
    }
    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError> {
        self.call(|c| c.suggestions())
    }
    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError> {
        self.call(|c| c.tags())
    }
    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError> {
        let user = user.clone();
        self.call(move |c| c.user_questions(&user))
    }
    fn writable(&mut self) -> Result<(), LogError> {
        self.call(|c| c.writable())
    }
    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        self.call(move |c| c.update_state(update_id, since))
    }
    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError> {
        let name = name.to_string();
        self.call(move |c| c.reviewer(&name))
    }
    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError> {
        self.call(|c| c.reviewers())
    }
    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError> {
        let (name, hash) = (name.to_string(), password_hash.to_string());
        self.call(move |c| c.put_reviewer(&name, &hash))
    }
    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError> {
        let name = name.to_string();
        self.call(move |c| c.remove_reviewer(&name))
    }
    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError> {
        let name = name.to_string();
        self.call(move |c| c.record_login_failure(&name, locked_until))
    }
    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError> {
        let name = name.to_string();
        self.call(move |c| c.clear_login_failures(&name))
    }
    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError> {
        let name = name.to_string();
        self.call(move |c| c.swap_login_failures(&name, old, new))
    }
    fn put_session(&mut self, s: &Session) -> Result<(), LogError> {
        let s = s.clone();
        self.call(move |c| c.put_session(&s))
    }
    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError> {
        let t = token_hash.to_string();
        self.call(move |c| c.session(&t))
    }
    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError> {
        let t = token_hash.to_string();
        self.call(move |c| c.remove_session(&t))
    }
    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError> {
        self.call(move |c| c.purge_sessions(now))
    }
}
