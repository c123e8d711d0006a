//! The one writer: a thread that owns the store's write connection and applies queued
//! operations in batches, one transaction each. Channels hand it work without waiting on the
//! disk; a failing disk (full, read-only, locked) is reported and retried with backoff while
//! the bot keeps answering, and nothing queued is dropped silently.
//!
//! [`Log`] here is the handle channels hold; [`thread`] is the writer thread itself (batches,
//! transactions, retries, and which errors are worth retrying).

mod thread;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::oneshot;

use super::reader::{Accounts, Reader};
use super::sqlite::SqliteStore;
use super::store::{Applied, Store, UpdateState, WriteOp};
use super::{DB_FILE, Feedback, LogError, NewQuestion, Pseudonymiser, UserKey, redact};
use thread::{Closing, Msg, Writer};

#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Operations that may wait for the writer before `record` reports the log as full.
    pub queue_capacity: usize,
    /// Most operations committed in one transaction.
    pub batch: usize,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// On close, how long to keep retrying a failing disk before reporting what is lost.
    pub close_deadline: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            queue_capacity: 100_000,
            batch: 512,
            retry_min: Duration::from_millis(50),
            retry_max: Duration::from_secs(5),
            close_deadline: Duration::from_secs(10),
        }
    }
}

/// What the writer has done, for `/readyz` and `/metrics`.
#[derive(Debug, Default)]
pub struct WriterHealth {
    /// Operations queued and not yet committed.
    pub depth: AtomicU64,
    pub committed: AtomicU64,
    /// Failed attempts to commit (each is retried).
    pub write_errors: AtomicU64,
    /// Operations that could not be logged at all (queue full, or given up on at close).
    pub lost: AtomicU64,
    /// True while the last attempt failed.
    pub failing: AtomicBool,
    pub last_error: Mutex<Option<String>>,
}

/// How long a caller waits for a write it asked for before it is told the log is not
/// writable just now.
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// How long a cached region is trusted before the store is asked again.
pub const REGION_TTL: Duration = Duration::from_secs(30);
const REGION_CACHE_MAX: usize = 100_000;

/// The question log: pseudonymise, redact, queue for the writer; read through [`Reader`].
pub struct Log {
    tx: Mutex<Option<SyncSender<Msg>>>,
    pseudonym: Pseudonymiser,
    reader: Reader,
    /// Reviewer accounts and sessions, on the reader's connection.
    accounts: Accounts,
    /// Settings cache: each entry is trusted for [`REGION_TTL`], so a region set through
    /// another replica sharing the store is seen within that time.
    regions: Mutex<HashMap<UserKey, (Option<String>, Instant)>>,
    health: Arc<WriterHealth>,
    closing: Arc<Closing>,
    /// How long `flush` waits at most.
    flush_wait: Duration,
    thread: Mutex<Option<JoinHandle<()>>>,
}
impl Log {
    /// Opens the SQLite log in `data_dir` (created if needed), with its pseudonymisation key.
    pub fn open(data_dir: &Path, opts: LogOptions) -> Result<Log, LogError> {
        create_data_dir(data_dir)?;
        let pseudonym = Pseudonymiser::load_or_create(data_dir)?;
        let db = data_dir.join(DB_FILE);
        let writer = SqliteStore::open(&db)?;
        let reader = SqliteStore::open(&db)?;
        Ok(Log::with_stores(
            Box::new(writer),
            Box::new(reader),
            pseudonym,
            opts,
        ))
    }

    /// Opens the log where `database_url` says (`postgres://...`), or SQLite in `data_dir`
    /// when it is `None`. The pseudonymisation key always lives in `data_dir`: replicas
    /// sharing one PostgreSQL log must share that key file too.
    pub fn open_at(
        data_dir: &Path,
        database_url: Option<&str>,
        opts: LogOptions,
    ) -> Result<Log, LogError> {
        match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                create_data_dir(data_dir)?;
                let pseudonym = Pseudonymiser::load_or_create(data_dir)?;
                let writer = super::postgres::PgStore::open(url)?;
                let reader = super::postgres::PgStore::open(url)?;
                Ok(Log::with_stores(
                    Box::new(writer),
                    Box::new(reader),
                    pseudonym,
                    opts,
                ))
            }
            Some(other) => Err(LogError::DatabaseUrl(crate::log::mask_url(other))),
            None => Log::open(data_dir, opts),
        }
    }

    /// A log over any store: `writer` is moved to the writer thread; `reader` serves reads
    /// ([`Log::reader`]) and reviewer accounts ([`Log::accounts`]).
    pub fn with_stores(
        writer: Box<dyn Store>,
        reader: Box<dyn Store>,
        pseudonym: Pseudonymiser,
        opts: LogOptions,
    ) -> Log {
        let (tx, rx) = mpsc::sync_channel(opts.queue_capacity);
        let health = Arc::new(WriterHealth::default());
        let closing = Arc::new(Closing::default());
        let flush_wait = opts.close_deadline / 2;
        let thread = Writer::spawn(writer, rx, health.clone(), closing.clone(), opts);
        let (reader, accounts) = super::reader::handles(reader);
        Log {
            tx: Mutex::new(Some(tx)),
            pseudonym,
            reader,
            accounts,
            regions: Mutex::new(HashMap::new()),
            health,
            closing,
            flush_wait,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub fn user_key(&self, channel: &str, id: i64) -> UserKey {
        self.pseudonym.key(channel, id)
    }

    /// The user's key under the previous pseudonymisation key, after a rotation.
    pub fn previous_user_key(&self, channel: &str, id: i64) -> Option<UserKey> {
        self.pseudonym.previous_key(channel, id)
    }

    /// A secret derived from the pseudonymisation key for `purpose` (see
    /// [`Pseudonymiser::derived_secret`]).
    pub fn derived_secret(&self, purpose: &str) -> [u8; 32] {
        self.pseudonym.derived_secret(purpose)
    }

    /// Read access (it cannot write).
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Reviewer accounts, sessions and login failures.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn health(&self) -> &Arc<WriterHealth> {
        &self.health
    }

    fn send(&self, msg: Msg) -> Result<(), LogError> {
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Err(LogError::WriterGone);
        };
        let is_op = matches!(msg, Msg::Op(..));
        if is_op {
            self.health.depth.fetch_add(1, Ordering::Relaxed);
        }
        match tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(e) => {
                if is_op {
                    self.health.depth.fetch_sub(1, Ordering::Relaxed);
                }
                match e {
                    TrySendError::Full(_) => Err(LogError::QueueFull),
                    TrySendError::Disconnected(_) => Err(LogError::WriterGone),
                }
            }
        }
    }

    fn op(&self, op: WriteOp) {
        if let Err(e) = self.send(Msg::Op(op, None)) {
            self.health.lost.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "question log: an entry could not be queued and is lost");
        }
    }

    /// Queues a write whose result someone will wait for.
    fn op_queued(
        &self,
        op: WriteOp,
    ) -> Result<oneshot::Receiver<Result<Applied, Arc<LogError>>>, LogError> {
        let (done, rx) = oneshot::channel();
        self.send(Msg::Op(op, Some(done)))?;
        Ok(rx)
    }

    async fn op_wait(&self, op: WriteOp) -> Result<Applied, LogError> {
        let rx = self.op_queued(op)?;
        match tokio::time::timeout(WRITE_WAIT, rx).await {
            Ok(r) => outcome(r),
            Err(_) => Err(LogError::WriteTimeout(WRITE_WAIT.as_secs())),
        }
    }

    fn op_blocking(&self, op: WriteOp) -> Result<Applied, LogError> {
        outcome(self.op_queued(op)?.blocking_recv())
    }

    /// Queues a question; the text is redacted here, before it goes anywhere. Returns its id
    /// (assigned when `q.id` is 0) at once, without waiting on the disk.
    pub fn record(&self, mut q: NewQuestion) -> i64 {
        if q.id == 0 {
            q.id = super::new_question_id();
        }
        q.text = redact::redact(&q.text);
        let id = q.id;
        self.op(WriteOp::Insert(Box::new(q)));
        id
    }

    /// Attaches 👍/👎 to a question, if that user asked it.
    pub fn feedback(&self, user: &UserKey, id: i64, feedback: Feedback) {
        self.op(WriteOp::Feedback {
            id,
            user: user.clone(),
            feedback,
            at: Utc::now(),
        });
    }

    /// Records the entry shown for a question after it was asked (a pick from its choices,
    /// or the entry 👍/👎 was given on), if that user asked it; `sent` (what was sent) is
    /// added to the row's reply text.
    pub fn shown(&self, user: &UserKey, id: i64, shown_id: &str, sent: Option<String>) {
        self.op(WriteOp::Shown {
            id,
            user: user.clone(),
            shown_id: shown_id.to_string(),
            sent: sent.map(|t| t.chars().take(8000).collect()),
        });
    }

    /// Records how far a Telegram update's handling got: `sent` messages delivered, and
    /// whether it is `done` (queued, without waiting on the disk).
    pub fn update_progress(&self, update_id: i64, sent: u32, done: bool) {
        self.op(WriteOp::UpdateProgress {
            update_id,
            sent,
            sending: sent,
            done,
            at: Utc::now(),
        });
    }

    /// How far a Telegram update's handling got before; nothing when the store cannot say
    /// (answering twice is better than not at all).
    pub fn update_state(&self, update_id: i64) -> UpdateState {
        let since = Utc::now() - super::store::UPDATES_KEPT;
        self.reader
            .with(|s| s.update_state(update_id, since))
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read how far updates were handled");
                None
            })
            .unwrap_or_default()
    }

    /// The user's region, from memory (if fresh) or the store (blocking: async code uses
    /// [`Log::region_async`]).
    pub fn region(&self, user: &UserKey) -> Option<String> {
        if let Some(r) = self.cached_region(user) {
            return r;
        }
        match self.reader.with(|s| s.region(user)) {
            Ok(r) => {
                self.cache_region(user, r.clone());
                r
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read a chat's settings; answering without a region");
                None
            }
        }
    }

    /// [`Log::region`] for async code: from memory when fresh, else read on a blocking
    /// thread, so a tokio worker never waits on the database or the reader's lock.
    pub async fn region_async(self: &Arc<Self>, user: &UserKey) -> Option<String> {
        if let Some(r) = self.cached_region(user) {
            return r;
        }
        let (log, user) = (self.clone(), user.clone());
        tokio::task::spawn_blocking(move || log.region(&user))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read a chat's settings; answering without a region");
                None
            })
    }

    /// The cached region, if still fresh: `Some(region)`, where the region may be none.
    fn cached_region(&self, user: &UserKey) -> Option<Option<String>> {
        let cache = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(user) {
            Some((r, at)) if at.elapsed() < REGION_TTL => Some(r.clone()),
            _ => None,
        }
    }

    fn cache_region(&self, user: &UserKey, region: Option<String>) {
        let mut m = self.regions.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= REGION_CACHE_MAX {
            m.clear();
        }
        m.insert(user.clone(), (region, Instant::now()));
    }

    pub fn set_region(&self, user: &UserKey, region: Option<String>) {
        self.cache_region(user, region.clone());
        self.op(WriteOp::SetRegion {
            user: user.clone(),
            region,
            at: Utc::now(),
        });
    }

    /// Deletes the user's questions and settings; returns how many questions went.
    pub async fn forget(&self, user: &UserKey) -> Result<u64, LogError> {
        self.regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
        let r = self.op_wait(WriteOp::Forget { user: user.clone() }).await?;
        self.regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
        Ok(r.rows)
    }

    /// Applies a write and waits for it (CLI and review app).
    pub fn write_blocking(&self, op: WriteOp) -> Result<Applied, LogError> {
        self.op_blocking(op)
    }

    pub async fn write(&self, op: WriteOp) -> Result<Applied, LogError> {
        self.op_wait(op).await
    }

    /// Deletes questions older than `days` days; returns how many.
    pub fn purge_blocking(&self, days: u32) -> Result<u64, LogError> {
        Ok(self.op_blocking(purge_op(days))?.rows)
    }

    pub async fn purge(&self, days: u32) -> Result<u64, LogError> {
        Ok(self.op_wait(purge_op(days)).await?.rows)
    }

    /// Waits until everything queued before this call is committed (or given up on), or for
    /// half the close deadline at most (a failing disk); [`Log::close`] does the rest.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.send(Msg::Flush(done)).is_ok()
            && tokio::time::timeout(self.flush_wait, rx).await.is_err()
        {
            tracing::warn!(
                queued = self.health.depth.load(Ordering::Relaxed),
                "question log: not all committed yet (is the disk failing?)"
            );
        }
    }

    /// [`Log::flush`] for threads outside the async runtime, with the same time limit.
    pub fn flush_blocking(&self) {
        let (done, mut rx) = oneshot::channel();
        if self.send(Msg::Flush(done)).is_err() {
            return;
        }
        let until = Instant::now() + self.flush_wait;
        while Instant::now() < until {
            match rx.try_recv() {
                Err(oneshot::error::TryRecvError::Empty) => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return,
            }
        }
        tracing::warn!(
            queued = self.health.depth.load(Ordering::Relaxed),
            "question log: not all committed yet (is the disk failing?)"
        );
    }

    /// Commits everything queued and stops the writer. On a failing disk it keeps retrying for
    /// `close_deadline`, then counts what it could not write as lost and logs it. Later
    /// writes are reported as lost.
    pub fn close(&self) {
        self.closing.start();
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(tx);
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

/// Creates the data folder if needed, readable by its owner only (0700) when this creates it.
fn create_data_dir(dir: &Path) -> Result<(), LogError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| LogError::io(dir, e))
}

fn outcome(
    r: Result<Result<Applied, Arc<LogError>>, oneshot::error::RecvError>,
) -> Result<Applied, LogError> {
    match r {
        Ok(r) => r.map_err(LogError::Writer),
        Err(_) => Err(LogError::WriterGone),
    }
}

fn purge_op(days: u32) -> WriteOp {
    WriteOp::Purge {
        before: Utc::now() - chrono::Duration::days(i64::from(days)),
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}
