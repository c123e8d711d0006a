//! The storage boundary: everything the log keeps, behind three traits, so the SQL store (on
//! SQLite or PostgreSQL, [`super::sql`]) and the tests' stand-ins behave the same way:
//! [`ReadStore`] (every read), [`AccountStore`] (reviewer accounts and sessions) and
//! [`Store`] (the question log's writes, applied by the writer thread).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Feedback, LogError, NewQuestion, Outcome, Question, UserKey};

/// One change, applied by the writer in a transaction with others.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Insert(Box<NewQuestion>),
    /// 👍/👎 on a question; only the user who asked it can give it.
    Feedback {
        id: i64,
        user: UserKey,
        feedback: Feedback,
        at: DateTime<Utc>,
    },
    /// The entry a user picked for a question (from "which did you mean", or the entry 👍/👎
    /// was given on): `shown_id` set, and what was sent added to `reply_text`.
    Shown {
        id: i64,
        user: UserKey,
        shown_id: String,
        sent: Option<String>,
    },
    SetRegion {
        user: UserKey,
        region: Option<String>,
        at: DateTime<Utc>,
    },
    /// Deletes the user's questions and settings.
    Forget {
        user: UserKey,
    },
    /// Deletes questions asked before this time.
    Purge {
        before: DateTime<Utc>,
    },
    Review {
        id: i64,
        update: ReviewUpdate,
        by: String,
        at: DateTime<Utc>,
    },
    /// How far handling a Telegram update has got: messages delivered so far, and whether
    /// it is done, so that one delivered again after a crash is neither answered twice nor
    /// lost. Never goes backwards. Records older than [`UPDATES_KEPT`] are dropped as each
    /// new one is written.
    UpdateProgress {
        update_id: i64,
        sent: u32,
        /// Messages whose sending has begun (`sent`, or one more while one is in flight).
        sending: u32,
        done: bool,
        at: DateTime<Utc>,
    },
}

/// What is known of a Telegram update the bot was handed before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateState {
    /// Messages delivered in reply.
    pub sent: u32,
    /// Messages whose sending began: more than `sent` when a crash came while one was in
    /// flight (Telegram may or may not have taken it).
    pub sending: u32,
    /// Handled to the end.
    pub done: bool,
}

/// How long a handled update id is remembered: Telegram keeps an unconfirmed update for 24
/// hours, and may restart its numbering after a quiet week.
pub const UPDATES_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(2);

/// What a reviewer changes on a question: `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewUpdate {
    pub reviewed: Option<bool>,
    pub tags: Option<Vec<String>>,
    /// `Some("")` clears the note.
    pub note: Option<String>,
    /// `Some("")` clears the suggestion.
    pub suggested_entry: Option<String>,
}

/// Which questions a listing wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// The review queue: unanswered, 👎 or clarified, and not yet reviewed.
    pub queue: bool,
    pub outcome: Option<Outcome>,
    /// Only questions marked 👎.
    pub unhelpful: bool,
    pub region: Option<String>,
    pub tag: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the question text.
    pub text: Option<String>,
}

/// How both stores write a time: fixed-width RFC 3339 in UTC, so text order is time order.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub questions: u64,
    pub answered: u64,
    pub clarified: u64,
    pub unanswered: u64,
    pub crisis: u64,
    pub helpful: u64,
    pub unhelpful: u64,
    /// Entry ids most often shown, with counts.
    pub top_entries: Vec<(String, u64)>,
    /// Unanswered questions most often asked (same redacted text), with counts.
    pub top_unanswered: Vec<(String, u64)>,
}

impl Stats {
    /// Share of questions with this count, 0 when there are none.
    pub fn share(&self, n: u64) -> f64 {
        if self.questions == 0 {
            0.0
        } else {
            n as f64 / self.questions as f64
        }
    }

    /// 👍 among the answers that got feedback.
    pub fn helpful_rate(&self) -> Option<f64> {
        let rated = self.helpful + self.unhelpful;
        (rated > 0).then(|| self.helpful as f64 / rated as f64)
    }
}

/// Questions and unanswered ones on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    pub questions: u64,
    pub unanswered: u64,
}

/// A proposed `questions:` line for an entry, from a reviewer's "should have been answered by".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub entry: String,
    pub question: String,
    pub question_id: i64,
}

/// A reviewer account (the hash is an argon2id PHC string).
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewer {
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A login session; only a hash of its token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub reviewer: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// What one applied write changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub rows: u64,
}

/// Every read of the log. [`super::Reader`] hands out only this, so the read handle cannot
/// write.
pub trait ReadStore: Send {
    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError>;
    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError>;
    /// Newest first.
    fn questions(
        &mut self,
        filter: &Filter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Question>, LogError>;
    fn count(&mut self, filter: &Filter) -> Result<u64, LogError>;
    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError>;
    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError>;
    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError>;
    /// Every entry id shown as an answer since then, with counts, most shown first (the
    /// review app's top topics). The default is the top ten of [`ReadStore::stats`].
    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        Ok(self.stats(since)?.top_entries)
    }
    /// Tags in use, most used first.
    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError>;
    /// How many questions this user has in the log (for /forget's confirmation).
    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError>;
    /// Checks the store can be written to (for readiness), changing nothing.
    fn writable(&mut self) -> Result<(), LogError>;
    /// How far this Telegram update's handling got, if recorded at or after `since`.
    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        let _ = (update_id, since);
        Ok(None)
    }

    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError>;
    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError>;
    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError>;
}

/// Reviewer accounts, sessions and login failures: what the review app and the `reviewers`
/// CLI write, through [`super::Accounts`]. The question log itself is written only by the
/// writer thread, through [`Store::apply`].
pub trait AccountStore: ReadStore {
    /// Adds or replaces (a new password) a reviewer.
    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError>;
    /// Removes a reviewer and their sessions; false when there was none.
    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError>;
    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError>;
    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError>;
    /// Sets a reviewer's failure count and back-off end to `new`, but only if they are still
    /// `old` (compare and set): parallel logins cannot all start from the same old count.
    /// False when they had changed, or there is no such reviewer.
    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError>;
    fn put_session(&mut self, s: &Session) -> Result<(), LogError>;
    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError>;
    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError>;
}

/// The whole store: the writer thread applies [`WriteOp`]s through it.
pub trait Store: AccountStore {
    /// Applies the operations in one transaction, all or nothing; returns rows changed by each.
    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError>;
}
