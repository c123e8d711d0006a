//! The question log: every question kept for review, with privacy built in.
//!
//! The only module that writes the log. Questions are redacted ([`redact`]) and keyed by a
//! pseudonymous user key ([`pseudonym`]) before they reach storage; writes go through one
//! writer thread ([`writer`]) so the answering path never waits on the disk. Reads go
//! through [`Reader`], which cannot write; reviewer accounts and sessions through
//! [`Accounts`] ([`reader`]). Storage is behind the [`store`] traits, implemented once in SQL
//! ([`sql`]) over two drivers, [`sqlite`] and [`postgres`].

pub mod driver;
pub mod postgres;
pub mod pseudonym;
pub mod reader;
pub mod redact;
pub mod report;
pub mod schema;
pub mod sql;
pub mod sqlite;
pub mod store;
pub mod writer;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::outcome::Outcome;
pub use pseudonym::{Pseudonymiser, UserKey};
pub use reader::{Accounts, Reader};
pub use store::{AccountStore, Filter, ReadStore, Stats, Store, UpdateState};
pub use writer::{Log, LogOptions, WriterHealth};

/// File name of the SQLite database inside `--data`.
pub const DB_FILE: &str = "workhealth.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{0}: not a valid pseudonymisation key (64 hex characters expected); restore it from a backup, or move it away to start a new one (old users' rows can then no longer be found by /forget)"
    )]
    BadKey(PathBuf),
    #[error("cannot get random bytes: {0}")]
    Random(String),
    #[error(
        "{path}: the database schema is version {found}, newer than this binary knows ({known}); run a newer workhealth, or restore a backup"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database {url}: {source}")]
    Postgres {
        url: String,
        source: ::postgres::Error,
    },
    #[error("the log writer has stopped")]
    WriterGone,
    /// A write someone waits for was not committed in time (a full, read-only or locked
    /// disk); it stays queued and is applied once the store recovers.
    #[error(
        "the question log could not be written within {0} seconds (is the disk full or locked?); the change stays queued and is applied once the log can be written"
    )]
    WriteTimeout(u64),
    #[error("the question log's write queue is full (is the disk failing?)")]
    QueueFull,
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("cannot write the CSV export: {0}")]
    Export(#[from] csv::Error),
    #[error("--database-url: {0}: expected postgres://... (or no URL for SQLite in --data)")]
    DatabaseUrl(String),
    #[error("{0}: the database is read-only")]
    ReadOnly(String),
    /// What the database returned is not what the log wrote (a damaged or foreign row).
    #[error("{0}")]
    Corrupt(String),
    /// A write that failed on the writer thread, as the writer saw it: the error itself
    /// (shared by every caller waiting on its batch), so [`LogError::is_transient`] still
    /// tells a failing disk from a refused entry.
    #[error("{0}")]
    Writer(std::sync::Arc<LogError>),
}

impl LogError {
    pub fn io(path: &Path, source: std::io::Error) -> LogError {
        LogError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where a question is in review, as the log stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    #[default]
    New,
    Reviewed,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::New => "new",
            ReviewState::Reviewed => "reviewed",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "new" => Some(ReviewState::New),
            "reviewed" => Some(ReviewState::Reviewed),
            _ => None,
        }
    }
}

impl std::fmt::Display for ReviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ReviewState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// 👍 or 👎 on an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    Helpful,
    Unhelpful,
}

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Helpful => "helpful",
            Feedback::Unhelpful => "unhelpful",
        }
    }

    pub fn parse(s: &str) -> Option<Feedback> {
        match s {
            "helpful" => Some(Feedback::Helpful),
            "unhelpful" => Some(Feedback::Unhelpful),
            _ => None,
        }
    }
}

/// A question as a channel hands it to the log. `text` is redacted by [`Log::record`].
#[derive(Debug, Clone)]
pub struct NewQuestion {
    pub id: i64,
    pub asked_at: DateTime<Utc>,
    pub user: UserKey,
    pub region: Option<String>,
    pub channel: String,
    pub text: String,
    pub outcome: Outcome,
    /// Top result ids with their scores, best first.
    pub results: Vec<(String, f64)>,
    pub shown_id: Option<String>,
    pub content_digest: String,
    /// The reply as sent, as plain text (curated content; no user text but the question).
    pub reply_text: Option<String>,
}

/// A reviewer's work on one question.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Review {
    pub state: ReviewState,
    pub tags: Vec<String>,
    pub note: Option<String>,
    /// "Should have been answered by" this entry id.
    pub suggested_entry: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<String>,
}

/// One stored question, as reviewers and exports see it. It carries no user key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    pub id: i64,
    pub asked_at: DateTime<Utc>,
    pub region: Option<String>,
    pub channel: String,
    pub text: String,
    pub outcome: Outcome,
    pub results: Vec<(String, f64)>,
    pub shown_id: Option<String>,
    pub content_digest: String,
    pub reply_text: Option<String>,
    pub feedback: Option<Feedback>,
    pub feedback_at: Option<DateTime<Utc>>,
    pub review: Review,
}

/// A URL with any password replaced by `***`, for logs and `config show` (here, so the log
/// depends on nothing above it).
pub fn mask_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(not a URL)".to_string(),
    }
}

/// A new random question id: positive, below 2^53 (safe in any JSON reader), so ids reveal
/// neither order nor volume and need no round trip to the database.
pub fn new_question_id() -> i64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No entropy source: fall back to time-derived ids, still unique in practice.
        let t = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        return (t as u64 & ((1 << 53) - 1)).max(1) as i64;
    }
    ((u64::from_le_bytes(b) & ((1 << 53) - 1)).max(1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_review_states_keep_their_stored_text() {
        // The log stores the one `Outcome`; its stored text is tested in `crate::outcome`.
        for s in [ReviewState::New, ReviewState::Reviewed] {
            assert_eq!(ReviewState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReviewState::New.as_str(), "new");
        assert_eq!(ReviewState::Reviewed.as_str(), "reviewed");
        assert_eq!(ReviewState::parse("done"), None);
    }

    #[test]
    fn a_transient_error_stays_transient_through_the_writer() {
        use std::sync::Arc;
        let disk = LogError::io(Path::new("x"), std::io::Error::other("disk full"));
        assert!(disk.is_transient());
        assert!(LogError::Writer(Arc::new(disk)).is_transient());
        let refused = LogError::Writer(Arc::new(LogError::Corrupt("a damaged row".into())));
        assert!(!refused.is_transient());
        assert_eq!(refused.to_string(), "a damaged row");
        assert!(!LogError::QueueFull.is_transient());
    }
}
