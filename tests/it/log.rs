//! The question log: migrations, privacy, /forget, crash safety, concurrency, a failing disk,
//! retention, and the `log` commands.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use workhealth::log::sqlite::{MIGRATIONS, SqliteStore};
use workhealth::log::store::{Applied, Day, Reviewer, Session, Suggestion, WriteOp};
use workhealth::log::{
    AccountStore, DB_FILE, Feedback, Filter, Log, LogError, LogOptions, NewQuestion, Outcome,
    Pseudonymiser, Question, ReadStore, Stats, Store, UpdateState, UserKey,
};

/// Forwards the listed `Store` methods to `self.inner`.
macro_rules! delegate {
    ($(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(fn $name(&mut self $(, $arg: $ty)*) -> $ret { self.inner.$name($($arg),*) })*
    };
}

fn question(user: &UserKey, text: &str, outcome: &str) -> NewQuestion {
    NewQuestion {
        id: 0,
        asked_at: Utc::now(),
        user: user.clone(),
        region: Some("north-east".into()),
        channel: "telegram".into(),
        text: text.into(),
        outcome: Outcome::parse(outcome).expect("a known outcome"),
        results: vec![
            ("ssp-eligibility".into(), 14.25),
            ("ssp-paying".into(), 9.5),
        ],
        shown_id: (outcome == "answer").then(|| "ssp-eligibility".to_string()),
        content_digest: "v1:abc".into(),
        reply_text: Some("Statutory Sick Pay...".into()),
    }
}

/// A fresh, empty log on one backend: SQLite in a temp folder, or (when
/// `WORKHEALTH_TEST_DATABASE_URL` names a PostgreSQL server whose user may create databases)
/// a throwaway PostgreSQL database, dropped afterwards. The same tests run on both (see
/// `on_both_backends!`).
struct Db {
    dir: tempfile::TempDir,
    url: Option<String>,
    _pg: Option<common::PgDb>,
}

impl Db {
    fn open(&self, opts: LogOptions) -> Log {
        Log::open_at(self.dir.path(), self.url.as_deref(), opts).unwrap()
    }

    fn name(&self) -> &'static str {
        if self.url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// The CLI flags that reach this log.
    fn args(&self) -> Vec<String> {
        let mut a = vec!["--data".to_string(), self.dir.path().display().to_string()];
        if let Some(u) = &self.url {
            a.extend(["--database-url".to_string(), u.clone()]);
        }
        a
    }

    /// Every text the store holds, for privacy checks.
    fn all_bytes(&self) -> Vec<u8> {
        match &self.url {
            None => db_bytes(self.dir.path()),
            Some(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                let mut all = Vec::new();
                for table in ["questions", "settings", "question_tags"] {
                    let q = format!("SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t");
                    let text: String = c.query_one(&q, &[]).unwrap().get(0);
                    all.extend(text.into_bytes());
                }
                all
            }
        }
    }
}

impl Db {
    fn sqlite() -> Db {
        Db {
            dir: tempfile::tempdir().unwrap(),
            url: None,
            _pg: None,
        }
    }

    /// Panics, saying what to set, when no PostgreSQL server is named.
    fn postgres() -> Db {
        let pg = common::PgDb::required();
        Db {
            dir: tempfile::tempdir().unwrap(),
            url: Some(pg.url.clone()),
            _pg: Some(pg),
        }
    }
}

/// Each test listed runs twice: `on_sqlite::NAME`, and `on_postgres::NAME`, which is ignored unless
/// asked for (`--ignored`, with `WORKHEALTH_TEST_DATABASE_URL` set), so that no PostgreSQL
/// test passes without a server: the runner counts it as ignored instead.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Db::sqlite());
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                #[ignore = "needs PostgreSQL: set WORKHEALTH_TEST_DATABASE_URL, run with --ignored (bash scripts/test.sh does)"]
                fn $name() {
                    super::$name(&super::Db::postgres());
                }
            )*
        }
    };
}

on_both_backends!(
    rows_hold_what_reviewers_need_and_no_chat_id_or_personal_details,
    feedback_from_another_user_is_ignored,
    forget_deletes_that_users_rows_and_settings_only,
    settings_survive_a_restart,
    concurrent_writers_and_readers_lose_nothing,
    purge_deletes_only_old_rows,
    review_updates_tags_notes_and_suggestions,
    log_stats_export_and_purge_commands,
    telegram_update_progress_only_moves_forward_and_a_question_is_kept_once,
);

fn store(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join(DB_FILE)).unwrap()
}

/// Every byte the database keeps: the file, its WAL and shared memory.
fn db_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for f in [
        DB_FILE,
        &format!("{DB_FILE}-wal"),
        &format!("{DB_FILE}-shm"),
    ] {
        if let Ok(b) = std::fs::read(dir.join(f)) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_empty_database_is_migrated_to_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let mode: String = Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_database_at_the_previous_schema_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        c.execute(
            "INSERT INTO questions (id, asked_at, user_key, channel, text, outcome, results, content_digest)
             VALUES (7, '2026-11-01T10:00:00.000000Z', 'k', 'telegram', 'old question', 'no_answer', '[]', 'v1:old')",
            [],
        )
        .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    // Migrated to the current version (2 when this test was written; 3 adds telegram_updates).
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let q = s.question(7).unwrap().expect("the old row survives");
    assert_eq!(q.text, "old question");
    assert_eq!(q.reply_text, None);
    assert_eq!(q.review.state, "new");
    // The new tables of version 2 are there.
    s.put_reviewer("ann", "hash").unwrap();
    assert_eq!(s.reviewers().unwrap().len(), 1);
    // And the table of version 3.
    assert_eq!(s.update_state(1, Utc::now()).unwrap(), None);
}

/// How far each Telegram update was handled (issue 14 item 4): it only moves forward, it is
/// forgotten after two days, and a question recorded again under the same id (an update
/// handled again after a crash) keeps its one row.
fn telegram_update_progress_only_moves_forward_and_a_question_is_kept_once(db: &Db) {
    {
        let name = db.name();
        let log = db.open(LogOptions::default());
        assert_eq!(log.update_state(41), UpdateState::default(), "{name}");
        log.update_progress(41, 2, false);
        log.update_progress(41, 1, false);
        log.update_progress(42, 0, true);
        let alice = log.user_key("telegram", 1);
        let mut q = question(&alice, "how much is ssp", "answer");
        q.id = 777;
        log.record(q.clone());
        q.outcome = Outcome::NoAnswer;
        log.record(q);
        log.flush_blocking();
        let two = UpdateState {
            sent: 2,
            sending: 2,
            done: false,
        };
        assert_eq!(log.update_state(41), two, "{name}: never backwards");
        let done = UpdateState {
            sent: 0,
            sending: 0,
            done: true,
        };
        assert_eq!(log.update_state(42), done, "{name}");
        log.update_progress(41, 3, true);
        log.update_progress(41, 3, false);
        log.flush_blocking();
        let all = UpdateState {
            sent: 3,
            sending: 3,
            done: true,
        };
        assert_eq!(log.update_state(41), all, "{name}: done stays done");
        let rows = log.reader().with(|s| s.count(&Filter::default())).unwrap();
        assert_eq!(rows, 1, "{name}: one row per question id");
        let kept = log.reader().with(|s| s.question(777)).unwrap().unwrap();
        assert_eq!(kept.outcome, "answer", "{name}: the first is kept");
        assert_eq!(log.health().lost.load(Ordering::Relaxed), 0, "{name}");
        // A message being sent: recorded before it goes, kept until it is delivered.
        let sending = |sent, sending| WriteOp::UpdateProgress {
            update_id: 43,
            sent,
            sending,
            done: false,
            at: Utc::now(),
        };
        log.write_blocking(sending(0, 1)).unwrap();
        let in_flight = UpdateState {
            sent: 0,
            sending: 1,
            done: false,
        };
        assert_eq!(log.update_state(43), in_flight, "{name}");
        log.write_blocking(sending(1, 1)).unwrap();
        log.write_blocking(sending(0, 0)).unwrap();
        let delivered = UpdateState {
            sent: 1,
            sending: 1,
            done: false,
        };
        assert_eq!(log.update_state(43), delivered, "{name}: never backwards");
        // Older than two days: forgotten (Telegram keeps an update a day at most).
        log.write_blocking(WriteOp::UpdateProgress {
            update_id: 50,
            sent: 1,
            sending: 1,
            done: true,
            at: Utc::now() - chrono::TimeDelta::days(3),
        })
        .unwrap();
        assert_eq!(log.update_state(50), UpdateState::default(), "{name}");
        log.close();
    }
}

#[test]
fn a_newer_schema_is_a_clear_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
        .unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(
        matches!(err, LogError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("newer than this binary knows"),
        "{err}"
    );
    let v: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99, "not rewritten");
}

fn rows_hold_what_reviewers_need_and_no_chat_id_or_personal_details(db: &Db) {
    let log = db.open(LogOptions::default());
    let chat_id = 918_273_645_i64;
    let user = log.user_key("telegram", chat_id);
    let id = log.record(question(
        &user,
        "my worker jo.bloggs@example.com on 07700 900123, NI QQ 12 34 56 C, lives NE1 4XF: sick pay?",
        "answer",
    ));
    log.feedback(&user, id, Feedback::Helpful);
    log.set_region(&user, Some("north-east".into()));
    log.flush_blocking();
    let q = log
        .reader()
        .with(|s| s.question(id))
        .unwrap()
        .expect("stored");
    assert!(
        q.text.contains("[email]") && q.text.contains("[phone]"),
        "{}",
        q.text
    );
    assert!(q.text.contains("[postcode]"), "{}", q.text);
    assert_eq!(q.outcome, "answer");
    assert_eq!(q.shown_id.as_deref(), Some("ssp-eligibility"));
    assert_eq!(q.results[0], ("ssp-eligibility".to_string(), 14.25));
    assert_eq!(q.content_digest, "v1:abc");
    assert_eq!(q.feedback, Some(Feedback::Helpful));
    assert!(q.feedback_at.is_some());
    log.close();
    let bytes = db.all_bytes();
    for secret in [
        &chat_id.to_string()[..],
        "jo.bloggs",
        "example.com",
        "07700",
        "900123",
        "NE1 4XF",
    ] {
        assert!(
            !contains(&bytes, secret),
            "{secret} found in the database bytes"
        );
    }
    // The key file is there, and the stored key is not the chat id.
    assert!(db.dir.path().join("pseudonym.key").exists());
    assert!(contains(&bytes, user.as_str()));
}

fn feedback_from_another_user_is_ignored(db: &Db) {
    let log = db.open(LogOptions::default());
    let alice = log.user_key("telegram", 1);
    let mallory = log.user_key("telegram", 2);
    let id = log.record(question(&alice, "how much is ssp", "answer"));
    log.feedback(&mallory, id, Feedback::Unhelpful);
    log.flush_blocking();
    let q = log.reader().with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.feedback, None, "{}", db.name());
}

fn forget_deletes_that_users_rows_and_settings_only(db: &Db) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log = db.open(LogOptions::default());
    let a = log.user_key("telegram", 11);
    let b = log.user_key("telegram", 22);
    for i in 0..3 {
        log.record(question(&a, &format!("a question {i}"), "no_answer"));
    }
    log.record(question(&b, "b question", "answer"));
    log.set_region(&a, Some("north-east".into()));
    assert_eq!(rt.block_on(log.forget(&a)).unwrap(), 3);
    assert_eq!(log.region(&a), None);
    let r = log.reader().clone();
    assert_eq!(r.with(|s| s.user_questions(&a)).unwrap(), 0);
    assert_eq!(r.with(|s| s.user_questions(&b)).unwrap(), 1);
    assert_eq!(r.with(|s| s.region(&a)).unwrap(), None, "{}", db.name());
}

fn settings_survive_a_restart(db: &Db) {
    {
        let log = db.open(LogOptions::default());
        let u = log.user_key("telegram", 5);
        log.set_region(&u, Some("greater-manchester".into()));
    }
    let log = db.open(LogOptions::default());
    let u = log.user_key("telegram", 5);
    assert_eq!(
        log.region(&u).as_deref(),
        Some("greater-manchester"),
        "{}",
        db.name()
    );
}

fn concurrent_writers_and_readers_lose_nothing(db: &Db) {
    let log = Arc::new(db.open(LogOptions::default()));
    // A second handle on the same log (as another replica would be), writing at the same time.
    let other = Arc::new(db.open(LogOptions::default()));
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = if t % 2 == 0 {
                log.clone()
            } else {
                other.clone()
            };
            s.spawn(move || {
                let u = log.user_key("telegram", t);
                for i in 0..250 {
                    log.record(question(&u, &format!("thread {t} question {i}"), "answer"));
                }
            });
        }
        let log = log.clone();
        s.spawn(move || {
            for _ in 0..50 {
                let st = log.reader().with(|s| s.stats(None)).unwrap();
                assert!(st.questions <= 1000);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
    });
    log.flush_blocking();
    other.flush_blocking();
    let st = log.reader().with(|s| s.stats(None)).unwrap();
    assert_eq!(st.questions, 1000);
    assert_eq!(st.answered, 1000);
}

/// A store whose database is capped at its current size (so writes fail with SQLite's real
/// "database or disk is full") until `lift` is set: a disk that fills and is then cleared.
struct Capped {
    inner: SqliteStore,
    lift: Arc<AtomicBool>,
    lifted: bool,
}

impl Store for Capped {
    fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<Applied>, LogError> {
        if !self.lifted && self.lift.load(Ordering::SeqCst) {
            self.inner.limit_pages(None)?;
            self.lifted = true;
        }
        self.inner.apply(ops)
    }
}

impl ReadStore for Capped {
    delegate! {
        fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError>;
        fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError>;
        fn questions(&mut self, filter: &Filter, limit: usize, offset: usize) -> Result<Vec<Question>, LogError>;
        fn count(&mut self, filter: &Filter) -> Result<u64, LogError>;
        fn question(&mut self, id: i64) -> Result<Option<Question>, LogError>;
        fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError>;
        fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError>;
        fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError>;
        fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError>;
        fn writable(&mut self) -> Result<(), LogError>;
        fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError>;
        fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError>;
        fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError>;
    }
}

impl AccountStore for Capped {
    delegate! {
        fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError>;
        fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError>;
        fn record_login_failure(&mut self, name: &str, locked_until: Option<DateTime<Utc>>) -> Result<(), LogError>;
        fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError>;
        fn swap_login_failures(&mut self, name: &str, old: (u32, Option<DateTime<Utc>>), new: (u32, Option<DateTime<Utc>>)) -> Result<bool, LogError>;
        fn put_session(&mut self, s: &Session) -> Result<(), LogError>;
        fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError>;
        fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError>;
    }
}

#[test]
fn a_full_disk_is_reported_retried_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let mut inner = SqliteStore::open(&path).unwrap();
    let pages = inner.page_count().unwrap();
    inner.limit_pages(Some(pages)).unwrap();
    let lift = Arc::new(AtomicBool::new(false));
    let writer = Capped {
        inner,
        lift: lift.clone(),
        lifted: false,
    };
    let opts = LogOptions {
        retry_min: Duration::from_millis(5),
        retry_max: Duration::from_millis(20),
        ..Default::default()
    };
    let log = Log::with_stores(
        Box::new(writer),
        Box::new(SqliteStore::open(&path).unwrap()),
        Pseudonymiser::from_secret([1; 32]),
        opts,
    );
    let u = log.user_key("telegram", 3);
    let long = "x".repeat(3000);
    for i in 0..20 {
        log.record(question(&u, &format!("{long} {i}"), "no_answer"));
    }
    let health = log.health().clone();
    let t0 = std::time::Instant::now();
    while health.write_errors.load(Ordering::SeqCst) < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no write error seen"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(health.failing.load(Ordering::SeqCst));
    assert!(
        health.depth.load(Ordering::SeqCst) >= 1,
        "still queued, not dropped"
    );
    let err = health.last_error.lock().unwrap().clone().unwrap();
    assert!(err.contains("full"), "{err}");
    // The bot keeps answering meanwhile: queuing never waits on the disk.
    let t1 = std::time::Instant::now();
    log.record(question(&u, "asked while the disk is full", "answer"));
    assert!(t1.elapsed() < Duration::from_millis(50));
    // Space is freed: the writer's retry commits everything.
    lift.store(true, Ordering::SeqCst);
    log.flush_blocking();
    let st = log.reader().with(|s| s.stats(None)).unwrap();
    assert_eq!(st.questions, 21);
    assert_eq!(health.lost.load(Ordering::SeqCst), 0);
    assert_eq!(health.depth.load(Ordering::SeqCst), 0);
    assert!(!health.failing.load(Ordering::SeqCst));
}

/// A log whose writer finds the disk full for good.
fn full_disk_log(dir: &Path, close_deadline: Duration) -> Log {
    let path = dir.join(DB_FILE);
    let mut inner = SqliteStore::open(&path).unwrap();
    let pages = inner.page_count().unwrap();
    inner.limit_pages(Some(pages)).unwrap();
    let writer = Capped {
        inner,
        lift: Arc::new(AtomicBool::new(false)),
        lifted: false,
    };
    Log::with_stores(
        Box::new(writer),
        Box::new(SqliteStore::open(&path).unwrap()),
        Pseudonymiser::from_secret([1; 32]),
        LogOptions {
            retry_min: Duration::from_millis(5),
            retry_max: Duration::from_secs(5),
            close_deadline,
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_full_disk_stopping_keeps_its_deadline_and_counts_what_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let log = full_disk_log(dir.path(), Duration::from_secs(2));
    let u = log.user_key("telegram", 4);
    let long = "x".repeat(3000);
    for i in 0..20 {
        log.record(question(&u, &format!("{long} {i}"), "no_answer"));
    }
    let health = log.health().clone();
    // What `serve` does on SIGTERM: flush, then close. Neither may wait for the disk.
    let t0 = std::time::Instant::now();
    log.flush().await;
    let flushed = t0.elapsed();
    tokio::task::block_in_place(|| log.close());
    let took = t0.elapsed();
    assert!(
        flushed <= Duration::from_millis(1500),
        "flush took {flushed:?}"
    );
    // Half the deadline for the flush, the deadline for the close, and one slow attempt.
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    // Every entry is either in the database or counted as lost (the first may have fitted).
    let lost = health.lost.load(Ordering::SeqCst);
    let committed = health.committed.load(Ordering::SeqCst);
    assert!(lost >= 15, "{lost} lost");
    assert_eq!(lost + committed, 20);
    assert_eq!(health.depth.load(Ordering::SeqCst), 0);
    let rows = SqliteStore::open(&dir.path().join(DB_FILE))
        .unwrap()
        .stats(None)
        .unwrap()
        .questions;
    assert_eq!(rows, committed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_full_disk_a_write_someone_waits_for_answers_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let log = full_disk_log(dir.path(), Duration::from_millis(500));
    let u = log.user_key("telegram", 8);
    let other = log.user_key("telegram", 9);
    for i in 0..20 {
        log.record(question(
            &other,
            &format!("{} {i}", "y".repeat(3000)),
            "answer",
        ));
    }
    let health = log.health().clone();
    let t0 = std::time::Instant::now();
    while health.write_errors.load(Ordering::SeqCst) < 1 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no write error seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // /forget, and a review save, on a full disk: an error in a few seconds, not a hang.
    let t0 = std::time::Instant::now();
    let err = log.forget(&u).await.unwrap_err();
    let took = t0.elapsed();
    assert!(matches!(err, LogError::WriteTimeout(_)), "{err}");
    assert!(took < Duration::from_secs(7), "{took:?}");
    assert!(err.to_string().contains("stays queued"), "{err}");
    let t0 = std::time::Instant::now();
    let err = log
        .write(WriteOp::Review {
            id: 1,
            update: Default::default(),
            by: "x".into(),
            at: Utc::now(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::WriteTimeout(_)), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(7));
    tokio::task::block_in_place(|| log.close());
}

#[cfg(unix)]
#[test]
fn the_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new").join("data");
    let log = Log::open(&data, LogOptions::default()).unwrap();
    let u = log.user_key("telegram", 1);
    log.record(question(&u, "anything", "answer"));
    log.flush_blocking();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data folder");
    for f in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        "pseudonym.key".to_string(),
    ] {
        let p = data.join(&f);
        assert!(p.exists(), "{f}");
        assert_eq!(mode(&p), 0o600, "{f}");
    }
    log.close();
}

fn purge_deletes_only_old_rows(db: &Db) {
    let log = db.open(LogOptions::default());
    let u = log.user_key("telegram", 9);
    let mut old = question(&u, "an old one", "answer");
    old.asked_at = Utc::now() - chrono::Duration::days(400);
    log.record(old);
    log.record(question(&u, "a new one", "answer"));
    assert_eq!(log.purge_blocking(365).unwrap(), 1);
    let qs = log
        .reader()
        .with(|s| s.questions(&Filter::default(), 10, 0))
        .unwrap();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0].text, "a new one", "{}", db.name());
}

/// Run as a child process by the crash test: writes forever, printing each committed count.
#[test]
#[ignore = "a child process of kill_mid_write_loses_no_committed_row"]
fn child_writer() {
    let Ok(dir) = std::env::var("WORKHEALTH_TEST_CHILD_DIR") else {
        panic!("not a test on its own: kill_mid_write_loses_no_committed_row runs it as a child");
    };
    let log = Log::open(Path::new(&dir), LogOptions::default()).unwrap();
    let u = log.user_key("telegram", 77);
    for i in 0.. {
        log.record(question(&u, &format!("crash test {i}"), "answer"));
        if i % 25 == 24 {
            log.flush_blocking();
            println!("committed {}", i + 1);
        }
    }
}

#[test]
fn kill_mid_write_loses_no_committed_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "log::child_writer", "--ignored", "--nocapture"])
        .env("WORKHEALTH_TEST_CHILD_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut committed = 0u64;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while committed < 500 {
        let line = lines.next().expect("child output").unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = n.trim().parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL, mid-write
    child.wait().unwrap();
    let mut s = store(dir.path());
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let n = s.count(&Filter::default()).unwrap();
    assert!(n >= committed, "{n} rows, {committed} committed");
    let texts: std::collections::HashSet<String> = s
        .questions(&Filter::default(), 100_000, 0)
        .unwrap()
        .into_iter()
        .map(|q| q.text)
        .collect();
    for i in 0..committed {
        assert!(texts.contains(&format!("crash test {i}")), "row {i} lost");
    }
}

fn review_updates_tags_notes_and_suggestions(db: &Db) {
    let log = db.open(LogOptions::default());
    let u = log.user_key("telegram", 4);
    let id = log.record(question(&u, "can I make staff wear masks", "no_answer"));
    let update = workhealth::log::store::ReviewUpdate {
        reviewed: Some(true),
        tags: Some(vec!["content gap".into(), "content gap".into(), " ".into()]),
        note: Some("nothing on masks".into()),
        suggested_entry: Some("health-safety-basics".into()),
    };
    let applied = log
        .write_blocking(WriteOp::Review {
            id,
            update,
            by: "ann".into(),
            at: Utc::now(),
        })
        .unwrap();
    assert_eq!(applied.rows, 1);
    let r = log.reader().clone();
    let q = r.with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.review.state, "reviewed");
    assert_eq!(q.review.tags, vec!["content gap"]);
    assert_eq!(q.review.reviewed_by.as_deref(), Some("ann"));
    let sug = r.with(|s| s.suggestions()).unwrap();
    assert_eq!(sug.len(), 1);
    assert_eq!(sug[0].entry, "health-safety-basics");
    let queue = Filter {
        queue: true,
        ..Default::default()
    };
    assert_eq!(
        r.with(|s| s.count(&queue)).unwrap(),
        0,
        "reviewed leaves the queue"
    );
    let tagged = Filter {
        tag: Some("content gap".into()),
        ..Default::default()
    };
    assert_eq!(r.with(|s| s.count(&tagged)).unwrap(), 1);
    let search = Filter {
        text: Some("MASKS".into()),
        ..Default::default()
    };
    assert_eq!(r.with(|s| s.count(&search)).unwrap(), 1);
    let pct = Filter {
        text: Some("100%".into()),
        ..Default::default()
    };
    assert_eq!(
        r.with(|s| s.count(&pct)).unwrap(),
        0,
        "% is literal in search"
    );
    // Reviewer accounts live in the same store; a new password ends their sessions.
    let accounts = log.accounts().clone();
    accounts
        .with(|s| s.put_reviewer("ann", "$argon2id$fake"))
        .unwrap();
    assert_eq!(r.with(|s| s.reviewers()).unwrap().len(), 1);
    let session = workhealth::log::store::Session {
        token_hash: "abc".into(),
        reviewer: "ann".into(),
        csrf: "x".into(),
        expires_at: Utc::now() + chrono::Duration::hours(1),
    };
    accounts.with(|s| s.put_session(&session)).unwrap();
    assert!(r.with(|s| s.session("abc")).unwrap().is_some());
    accounts
        .with(|s| s.put_reviewer("ann", "$argon2id$new"))
        .unwrap();
    assert!(
        r.with(|s| s.session("abc")).unwrap().is_none(),
        "{}",
        db.name()
    );
    assert!(accounts.with(|s| s.remove_reviewer("ann")).unwrap());
    assert!(!accounts.with(|s| s.remove_reviewer("ann")).unwrap());
}

fn log_stats_export_and_purge_commands(db: &Db) {
    {
        let log = db.open(LogOptions::default());
        let u = log.user_key("telegram", 12);
        let id = log.record(question(&u, "how much is ssp", "answer"));
        log.feedback(&u, id, Feedback::Helpful);
        log.record(question(
            &u,
            "=HYPERLINK(\"http://evil\") can I claim VAT",
            "no_answer",
        ));
        log.record(question(&u, "can I claim VAT back", "no_answer"));
        log.record(question(&u, "Can I claim VAT back ", "no_answer"));
        let mut old = question(&u, "ancient", "clarify");
        old.asked_at = Utc::now() - chrono::Duration::days(40);
        log.record(old);
    }
    let base = db.args();
    let with = |more: &[&str]| -> common::Run {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.extend_from_slice(more);
        common::run(&a)
    };
    let r = with(&["log", "stats"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("questions in the whole log: 5"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("unanswered 3 (60.0%)"), "{}", r.stdout);
    assert!(r.stdout.contains("helpful rate: 100.0%"), "{}", r.stdout);
    assert!(r.stdout.contains("ssp-eligibility"), "{}", r.stdout);
    assert!(
        r.stdout.contains("    2  can i claim vat back"),
        "{}",
        r.stdout
    );
    let r = with(&["log", "stats", "--since", "30"]);
    assert!(
        r.stdout.contains("questions in the last 30 day(s): 4"),
        "{}",
        r.stdout
    );

    let r = with(&["log", "export", "--csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 6, "{}", r.stdout);
    assert!(lines[0].starts_with("id,asked_at,region,channel,outcome,question"));
    assert!(
        r.stdout
            .contains("\"'=HYPERLINK(\"\"http://evil\"\") can I claim VAT\""),
        "{}",
        r.stdout
    );
    let r = with(&["log", "export", "--csv", "--since", "30"]);
    assert_eq!(r.stdout.split("\r\n").filter(|l| !l.is_empty()).count(), 5);

    let r = with(&["log", "purge", "--older-than", "30"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("deleted 1 question(s)"), "{}", r.stdout);

    let empty = tempfile::tempdir().unwrap();
    let r = common::run(&["--data", empty.path().to_str().unwrap(), "log", "stats"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no question log"), "{}", r.stderr);
}

#[test]
#[ignore = "needs PostgreSQL: set WORKHEALTH_TEST_DATABASE_URL, run with --ignored (bash scripts/test.sh does)"]
fn a_newer_postgres_schema_is_a_clear_error() {
    let db = Db::postgres();
    db.open(LogOptions::default()).close();
    let url = db.url.clone().unwrap();
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE workhealth_schema SET version = 99")
        .unwrap();
    let err = Log::open_at(db.dir.path(), Some(&url), LogOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(err, LogError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(
        !err.to_string().contains("workhealth:workhealth@"),
        "password masked: {err}"
    );
}
