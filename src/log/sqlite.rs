//! The SQLite store: one file under `--data`, WAL mode, versioned migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::store::{
    Applied, Day, Filter, ReviewUpdate, Reviewer, Session, Stats, Store, Suggestion, UpdateState,
    WriteOp,
};
use super::{Feedback, LogError, Question, Review, UserKey};

/// Schema migrations, in order; the database's `user_version` is how many have run.
/// Never edit one that has shipped: add a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: questions, their tags, and per-user settings.
    "CREATE TABLE questions (
        id INTEGER PRIMARY KEY,
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
        question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (question_id, tag)
    );
    CREATE TABLE settings (
        user_key TEXT PRIMARY KEY,
        region TEXT,
        updated_at TEXT NOT NULL
    );",
    // 2: the reply as sent, who reviewed, and reviewer accounts for the review app.
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
    // 3: how far each recent Telegram update was handled, so none is answered twice or lost
    // after a crash.
    "CREATE TABLE telegram_updates (
        update_id INTEGER PRIMARY KEY,
        messages_sent INTEGER NOT NULL,
        done INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX telegram_updates_updated_at ON telegram_updates (updated_at);",
];

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

fn ts(t: DateTime<Utc>) -> String {
    super::store::stamp(t)
}

/// Creates the database file, if it is not there, readable by its owner only (0600, like the
/// pseudonymisation key): it holds the questions and the reviewers' password and session
/// hashes. SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_private(path: &Path) -> Result<(), LogError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if needed) the database and runs any pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, LogError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn err(&self, e: rusqlite::Error) -> LogError {
        sql(&self.path, e)
    }

    fn configure(&mut self) -> Result<(), LogError> {
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| sql(&self.path, e))?;
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| sql(&self.path, e))?;
        // NORMAL is durable across process crashes in WAL mode (only power loss can lose the
        // last transactions), and much faster than FULL.
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| sql(&self.path, e))
    }

    pub fn schema_version(&self) -> Result<i64, LogError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), LogError> {
        let known = MIGRATIONS.len() as i64;
        let found = self.schema_version()?;
        if found > known {
            return Err(LogError::SchemaTooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (i, sql_text) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i64 + 1;
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
            // Re-check inside the write transaction: another process may have migrated.
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| sql(&path, e))?;
            if now >= version {
                continue;
            }
            tx.execute_batch(sql_text).map_err(|e| sql(&path, e))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(|e| sql(&path, e))?;
            tx.commit().map_err(|e| sql(&path, e))?;
            tracing::info!(path = %path.display(), version, "database migrated");
        }
        Ok(())
    }

    /// Test hook: caps the database size so writes fail as on a full disk (`None` lifts it).
    pub fn limit_pages(&mut self, pages: Option<u64>) -> Result<(), LogError> {
        let n = pages.unwrap_or(1 << 30);
        self.conn
            .pragma_update(None, "max_page_count", n)
            .map_err(|e| sql(&self.path, e))
    }

    pub fn page_count(&self) -> Result<u64, LogError> {
        self.conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn integrity_check(&self) -> Result<String, LogError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn tags_of(&self, id: i64) -> Result<Vec<String>, LogError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT tag FROM question_tags WHERE question_id = ?1 ORDER BY tag")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

fn sql(path: &Path, e: rusqlite::Error) -> LogError {
    LogError::Sqlite {
        path: path.to_path_buf(),
        source: e,
    }
}

const QUESTION_COLUMNS: &str = "q.id, q.asked_at, q.region, q.channel, q.text, q.outcome, \
     q.results, q.shown_id, q.content_digest, q.reply_text, q.feedback, q.feedback_at, \
     q.review_state, q.note, q.suggested_entry, q.reviewed_at, q.reviewed_by";

fn question_from_row(r: &Row<'_>) -> rusqlite::Result<Question> {
    let results: String = r.get(6)?;
    let feedback: Option<String> = r.get(10)?;
    Ok(Question {
        id: r.get(0)?,
        asked_at: parse_ts(&r.get::<_, String>(1)?),
        region: r.get(2)?,
        channel: r.get(3)?,
        text: r.get(4)?,
        outcome: r.get(5)?,
        results: serde_json::from_str(&results).unwrap_or_default(),
        shown_id: r.get(7)?,
        content_digest: r.get(8)?,
        reply_text: r.get(9)?,
        feedback: feedback.as_deref().and_then(Feedback::parse),
        feedback_at: r.get::<_, Option<String>>(11)?.as_deref().map(parse_ts),
        review: Review {
            state: r.get(12)?,
            tags: Vec::new(),
            note: r.get(13)?,
            suggested_entry: r.get(14)?,
            reviewed_at: r.get::<_, Option<String>>(15)?.as_deref().map(parse_ts),
            reviewed_by: r.get(16)?,
        },
    })
}

fn apply_one(tx: &rusqlite::Transaction<'_>, op: &WriteOp) -> rusqlite::Result<u64> {
    let n = match op {
        WriteOp::Insert(q) => {
            let results = serde_json::to_string(&q.results).unwrap_or_else(|_| "[]".into());
            tx.prepare_cached(
                "INSERT INTO questions (id, asked_at, user_key, region, channel, text, outcome,
                     results, shown_id, content_digest, reply_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![
                q.id,
                ts(q.asked_at),
                q.user.as_str(),
                q.region,
                q.channel,
                q.text,
                q.outcome,
                results,
                q.shown_id,
                q.content_digest,
                q.reply_text,
            ])?
        }
        WriteOp::Feedback {
            id,
            user,
            feedback,
            at,
        } => tx
            .prepare_cached(
                "UPDATE questions SET feedback = ?1, feedback_at = ?2
                 WHERE id = ?3 AND user_key = ?4",
            )?
            .execute(params![feedback.as_str(), ts(*at), id, user.as_str()])?,
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent,
        } => tx
            .prepare_cached(
                "UPDATE questions SET shown_id = ?1,
                     reply_text = CASE WHEN ?2 IS NULL THEN reply_text
                                       ELSE COALESCE(reply_text || char(10) || char(10), '') || ?2 END
                 WHERE id = ?3 AND user_key = ?4",
            )?
            .execute(params![shown_id, sent, id, user.as_str()])?,
        WriteOp::SetRegion { user, region, at } => tx
            .prepare_cached(
                "INSERT INTO settings (user_key, region, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_key) DO UPDATE SET region = excluded.region,
                     updated_at = excluded.updated_at",
            )?
            .execute(params![user.as_str(), region, ts(*at)])?,
        WriteOp::Forget { user } => {
            let q = tx
                .prepare_cached("DELETE FROM questions WHERE user_key = ?1")?
                .execute([user.as_str()])?;
            tx.prepare_cached("DELETE FROM settings WHERE user_key = ?1")?
                .execute([user.as_str()])?;
            q
        }
        WriteOp::Purge { before } => tx
            .prepare_cached("DELETE FROM questions WHERE asked_at < ?1")?
            .execute([ts(*before)])?,
        WriteOp::Review { id, update, by, at } => review(tx, *id, update, by, *at)?,
        WriteOp::UpdateProgress {
            update_id,
            sent,
            done,
            at,
        } => {
            tx.prepare_cached("DELETE FROM telegram_updates WHERE updated_at < ?1")?
                .execute([ts(*at - super::store::UPDATES_KEPT)])?;
            tx.prepare_cached(
                "INSERT INTO telegram_updates (update_id, messages_sent, done, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (update_id) DO UPDATE SET
                     messages_sent = max(messages_sent, excluded.messages_sent),
                     done = max(done, excluded.done), updated_at = excluded.updated_at",
            )?
            .execute(params![update_id, sent, i64::from(*done), ts(*at)])?
        }
    };
    Ok(n as u64)
}

fn review(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    u: &ReviewUpdate,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let n = tx.execute(
        "UPDATE questions SET reviewed_at = ?1, reviewed_by = ?2 WHERE id = ?3",
        params![ts(at), by, id],
    )?;
    if n == 0 {
        return Ok(0);
    }
    if let Some(r) = u.reviewed {
        let state = if r { "reviewed" } else { "new" };
        tx.execute(
            "UPDATE questions SET review_state = ?1 WHERE id = ?2",
            params![state, id],
        )?;
    }
    if let Some(note) = &u.note {
        let note = (!note.trim().is_empty()).then(|| note.trim().to_string());
        tx.execute(
            "UPDATE questions SET note = ?1 WHERE id = ?2",
            params![note, id],
        )?;
    }
    if let Some(s) = &u.suggested_entry {
        let s = (!s.trim().is_empty()).then(|| s.trim().to_string());
        tx.execute(
            "UPDATE questions SET suggested_entry = ?1 WHERE id = ?2",
            params![s, id],
        )?;
    }
    if let Some(tags) = &u.tags {
        tx.execute("DELETE FROM question_tags WHERE question_id = ?1", [id])?;
        for t in tags {
            let t = t.trim();
            if !t.is_empty() {
                tx.execute(
                    "INSERT OR IGNORE INTO question_tags (question_id, tag) VALUES (?1, ?2)",
                    params![id, t],
                )?;
            }
        }
    }
    Ok(n)
}

impl Store for SqliteStore {
    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let rows = apply_one(&tx, op).map_err(|e| sql(&path, e))?;
            out.push(Applied { rows });
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(out)
    }

    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError> {
        self.conn
            .query_row(
                "SELECT region FROM settings WHERE user_key = ?1",
                [user.as_str()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError> {
        // Stored times are fixed-width RFC 3339, so they sort as text; '' is before them all.
        let since = since.map(ts).unwrap_or_default();
        let mut s = Stats::default();
        {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT outcome, count(*) FROM questions WHERE asked_at >= ?1 GROUP BY outcome",
                )
                .map_err(|e| sql(&self.path, e))?;
            let mut rows = st.query([&since]).map_err(|e| sql(&self.path, e))?;
            while let Some(r) = rows.next().map_err(|e| sql(&self.path, e))? {
                let o: String = r.get(0).map_err(|e| sql(&self.path, e))?;
                let n: u64 = r.get(1).map_err(|e| sql(&self.path, e))?;
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
        }
        let (helpful, unhelpful) = self
            .conn
            .query_row(
                "SELECT count(*) FILTER (WHERE feedback = 'helpful'),
                        count(*) FILTER (WHERE feedback = 'unhelpful')
                 FROM questions WHERE asked_at >= ?1",
                [&since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))?;
        s.helpful = helpful;
        s.unhelpful = unhelpful;
        s.top_entries = self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id LIMIT 10",
            &since,
        )?;
        s.top_unanswered = self.pairs(
            "SELECT lower(trim(text)), count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND outcome = 'no_answer'
             GROUP BY lower(trim(text)) ORDER BY n DESC, 1 LIMIT 10",
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
        let (clause, args) = filter.sql(|n| format!("?{n}"));
        let q = format!(
            "SELECT {QUESTION_COLUMNS} FROM questions q {clause}
             ORDER BY q.asked_at DESC, q.id LIMIT {limit} OFFSET {offset}"
        );
        let mut out = {
            let mut st = self.conn.prepare(&q).map_err(|e| self.err(e))?;
            let rows = st
                .query_map(params_from_iter(args.iter()), question_from_row)
                .map_err(|e| sql(&self.path, e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| sql(&self.path, e))?
        };
        for q in &mut out {
            q.review.tags = self.tags_of(q.id)?;
        }
        Ok(out)
    }

    fn count(&mut self, filter: &Filter) -> Result<u64, LogError> {
        let (clause, args) = filter.sql(|n| format!("?{n}"));
        let q = format!("SELECT count(*) FROM questions q {clause}");
        self.conn
            .query_row(&q, params_from_iter(args.iter()), |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError> {
        let q = format!("SELECT {QUESTION_COLUMNS} FROM questions q WHERE q.id = ?1");
        let found = self
            .conn
            .query_row(&q, [id], question_from_row)
            .optional()
            .map_err(|e| self.err(e))?;
        match found {
            Some(mut q) => {
                q.review.tags = self.tags_of(q.id)?;
                Ok(Some(q))
            }
            None => Ok(None),
        }
    }

    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT substr(asked_at, 1, 10) AS d,
                        count(*) FILTER (WHERE outcome <> 'smalltalk'),
                        count(*) FILTER (WHERE outcome = 'no_answer')
                 FROM questions WHERE asked_at >= ?1 GROUP BY d
                 HAVING count(*) FILTER (WHERE outcome <> 'smalltalk') > 0 ORDER BY d",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = st
            .query_map([ts(since)], |r| {
                let d: String = r.get(0)?;
                Ok(Day {
                    date: NaiveDate::parse_from_str(&d, "%Y-%m-%d").unwrap_or_default(),
                    questions: r.get(1)?,
                    unanswered: r.get(2)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT suggested_entry, text, id FROM questions
                 WHERE suggested_entry IS NOT NULL ORDER BY suggested_entry, asked_at",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Suggestion {
                    entry: r.get(0)?,
                    question: r.get(1)?,
                    question_id: r.get(2)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        let since = since.map(ts).unwrap_or_default();
        self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id",
            &since,
        )
    }

    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT tag, count(*) AS n FROM question_tags GROUP BY tag ORDER BY n DESC, tag",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM questions WHERE user_key = ?1",
                [user.as_str()],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn writable(&mut self) -> Result<(), LogError> {
        // A write transaction that changes nothing: fails on a read-only or locked database.
        self.conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| self.err(e))
    }

    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        self.conn
            .query_row(
                "SELECT messages_sent, done FROM telegram_updates
                 WHERE update_id = ?1 AND updated_at >= ?2",
                params![update_id, ts(since)],
                |r| {
                    Ok(UpdateState {
                        sent: r.get(0)?,
                        done: r.get::<_, i64>(1)? != 0,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError> {
        self.conn
            .query_row(
                "SELECT name, password_hash, created_at, failed_logins, locked_until
                 FROM reviewers WHERE name = ?1",
                [name],
                reviewer_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, password_hash, created_at, failed_logins, locked_until
                 FROM reviewers ORDER BY name",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = st
            .query_map([], reviewer_from_row)
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError> {
        // A new password ends the reviewer's sessions.
        self.conn
            .execute("DELETE FROM sessions WHERE reviewer = ?1", [name])
            .map_err(|e| sql(&self.path, e))?;
        self.conn
            .execute(
                "INSERT INTO reviewers (name, password_hash, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
                     failed_logins = 0, locked_until = NULL",
                params![name, password_hash, ts(Utc::now())],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError> {
        self.conn
            .execute("DELETE FROM sessions WHERE reviewer = ?1", [name])
            .map_err(|e| sql(&self.path, e))?;
        self.conn
            .execute("DELETE FROM reviewers WHERE name = ?1", [name])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError> {
        self.conn
            .execute(
                "UPDATE reviewers SET failed_logins = failed_logins + 1,
                     locked_until = coalesce(?2, locked_until) WHERE name = ?1",
                params![name, locked_until.map(ts)],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError> {
        self.conn
            .execute(
                "UPDATE reviewers SET failed_logins = ?4, locked_until = ?5
                 WHERE name = ?1 AND failed_logins = ?2 AND locked_until IS ?3",
                params![name, old.0, old.1.map(ts), new.0, new.1.map(ts)],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError> {
        self.conn
            .execute(
                "UPDATE reviewers SET failed_logins = 0, locked_until = NULL WHERE name = ?1",
                [name],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn put_session(&mut self, s: &Session) -> Result<(), LogError> {
        self.conn
            .execute(
                "INSERT INTO sessions (token_hash, reviewer, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![s.token_hash, s.reviewer, s.csrf, ts(s.expires_at)],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError> {
        self.conn
            .query_row(
                "SELECT token_hash, reviewer, csrf, expires_at FROM sessions WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(Session {
                        token_hash: r.get(0)?,
                        reviewer: r.get(1)?,
                        csrf: r.get(2)?,
                        expires_at: parse_ts(&r.get::<_, String>(3)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError> {
        self.conn
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError> {
        self.conn
            .execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(now)])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

fn reviewer_from_row(r: &Row<'_>) -> rusqlite::Result<Reviewer> {
    Ok(Reviewer {
        name: r.get(0)?,
        password_hash: r.get(1)?,
        created_at: parse_ts(&r.get::<_, String>(2)?),
        failed_logins: r.get(3)?,
        locked_until: r.get::<_, Option<String>>(4)?.as_deref().map(parse_ts),
    })
}

impl SqliteStore {
    fn pairs(&self, q: &str, since: &str) -> Result<Vec<(String, u64)>, LogError> {
        let mut st = self.conn.prepare_cached(q).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
