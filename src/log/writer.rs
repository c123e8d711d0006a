//! The one writer: a thread that owns the store's write connection and applies queued
//! operations in batches, one transaction each. Channels hand it work without waiting on the
//! disk; a failing disk (full, read-only, locked) is reported and retried with backoff while
//! the bot keeps answering, and nothing queued is dropped silently.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::oneshot;

use super::sqlite::SqliteStore;
use super::store::{Applied, Store, UpdateState, WriteOp};
use super::{DB_FILE, Feedback, LogError, NewQuestion, Pseudonymiser, Reader, UserKey, redact};

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

type Done = oneshot::Sender<Result<Applied, String>>;

/// How long a caller waits for a write it asked for before it is told the log is not
/// writable just now.
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// How long a cached region is trusted before the store is asked again.
pub const REGION_TTL: Duration = Duration::from_secs(30);
const REGION_CACHE_MAX: usize = 100_000;

enum Msg {
    Op(WriteOp, Option<Done>),
    Flush(oneshot::Sender<()>),
}

/// The question log: pseudonymise, redact, queue for the writer; read through [`Reader`].
pub struct Log {
    tx: Mutex<Option<SyncSender<Msg>>>,
    pseudonym: Pseudonymiser,
    reader: Reader,
    /// Settings cache: each entry is trusted for [`REGION_TTL`], so a region set through
    /// another replica sharing the store is seen within that time.
    regions: Mutex<HashMap<UserKey, (Option<String>, Instant)>>,
    health: Arc<WriterHealth>,
    closing: Arc<Closing>,
    /// How long `flush` waits at most.
    flush_wait: Duration,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Set once [`Log::close`] is called, with the time, so every batch still queued shares one
/// deadline.
#[derive(Default)]
struct Closing {
    flag: AtomicBool,
    at: std::sync::OnceLock<Instant>,
}

impl Closing {
    fn start(&self) {
        let _ = self.at.set(Instant::now());
        self.flag.store(true, Ordering::Relaxed);
    }

    fn since(&self) -> Option<Instant> {
        if self.flag.load(Ordering::Relaxed) {
            self.at.get().copied()
        } else {
            None
        }
    }
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
            Some(other) => Err(LogError::Invalid(format!(
                "--database-url: {}: expected postgres://... (or no URL for SQLite in --data)",
                crate::config::mask_url(other)
            ))),
            None => Log::open(data_dir, opts),
        }
    }

    /// A log over any store: `writer` is moved to the writer thread, `reader` serves reads.
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
        let w = Writer {
            store: writer,
            rx,
            health: health.clone(),
            closing: closing.clone(),
            opts,
        };
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || w.run())
            .expect("spawn the log writer thread");
        Log {
            tx: Mutex::new(Some(tx)),
            pseudonym,
            reader: Reader::new(reader),
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

    pub fn reader(&self) -> &Reader {
        &self.reader
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
                    TrySendError::Full(_) => Err(LogError::Invalid(
                        "the question log's write queue is full (is the disk failing?)".into(),
                    )),
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
    ) -> Result<oneshot::Receiver<Result<Applied, String>>, LogError> {
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

    /// The user's region, from memory (if fresh) or the store.
    pub fn region(&self, user: &UserKey) -> Option<String> {
        if let Some((r, at)) = self
            .regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            && at.elapsed() < REGION_TTL
        {
            return r.clone();
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
    r: Result<Result<Applied, String>, oneshot::error::RecvError>,
) -> Result<Applied, LogError> {
    match r {
        Ok(r) => r.map_err(LogError::Invalid),
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

struct Writer {
    store: Box<dyn Store>,
    rx: Receiver<Msg>,
    health: Arc<WriterHealth>,
    closing: Arc<Closing>,
    opts: LogOptions,
}

impl Writer {
    fn run(mut self) {
        let mut pending: Vec<(WriteOp, Option<Done>)> = Vec::new();
        while let Ok(first) = self.rx.recv() {
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Op(op, done) => pending.push((op, done)),
                    Msg::Flush(done) => {
                        self.commit(&mut pending);
                        let _ = done.send(());
                    }
                }
                if pending.len() >= self.opts.batch {
                    self.commit(&mut pending);
                }
                next = self.rx.try_recv().ok();
            }
            self.commit(&mut pending);
        }
        self.commit(&mut pending);
        let lost = self.health.lost.load(Ordering::Relaxed);
        if lost > 0 {
            tracing::error!(
                lost,
                "question log: closed; entries that could not be written since start: {lost}"
            );
        }
    }

    /// Sleeps up to `delay`, waking early when close has begun and its deadline comes first.
    fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        loop {
            let now = Instant::now();
            let mut end = until;
            if let Some(at) = self.closing.since() {
                end = end.min(at + self.opts.close_deadline);
            }
            if now >= end {
                return;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }

    fn commit(&mut self, pending: &mut Vec<(WriteOp, Option<Done>)>) {
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(pending);
        let ops: Vec<WriteOp> = batch.iter().map(|(op, _)| op.clone()).collect();
        let mut delay = self.opts.retry_min;
        let mut attempts = 0u32;
        loop {
            match self.store.apply(&ops) {
                Ok(applied) => {
                    self.finish(batch, applied.into_iter().map(Ok).collect());
                    if self.health.failing.swap(false, Ordering::Relaxed) {
                        tracing::info!(attempts, "question log: writing again after failures");
                    }
                    return;
                }
                Err(e) if e.is_transient() => {
                    attempts += 1;
                    self.health.write_errors.fetch_add(1, Ordering::Relaxed);
                    self.health.failing.store(true, Ordering::Relaxed);
                    *self
                        .health
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    if attempts == 1 || attempts.is_power_of_two() {
                        tracing::error!(error = %e, attempts, queued = ops.len(),
                            "question log: cannot write; retrying (the bot keeps answering)");
                    }
                    if let Some(at) = self.closing.since()
                        && at.elapsed() >= self.opts.close_deadline
                    {
                        let n = batch.len() as u64;
                        self.health.lost.fetch_add(n, Ordering::Relaxed);
                        tracing::error!(error = %e, lost = n,
                            "question log: giving up at shutdown; these entries are lost");
                        let msg = e.to_string();
                        self.finish(batch, ops.iter().map(|_| Err(msg.clone())).collect());
                        return;
                    }
                    self.pause(delay);
                    delay = (delay * 2).min(self.opts.retry_max);
                }
                Err(e) => {
                    // A permanent error: apply one by one so one bad entry costs only itself.
                    tracing::warn!(error = %e, "question log: batch refused; writing entries singly");
                    let results = ops
                        .iter()
                        .map(|op| match self.store.apply(std::slice::from_ref(op)) {
                            Ok(mut a) => Ok(a.pop().unwrap_or(Applied { rows: 0 })),
                            Err(e) => {
                                self.health.lost.fetch_add(1, Ordering::Relaxed);
                                tracing::error!(error = %e, "question log: an entry was refused and is lost");
                                Err(e.to_string())
                            }
                        })
                        .collect();
                    self.finish(batch, results);
                    return;
                }
            }
        }
    }

    fn finish(&self, batch: Vec<(WriteOp, Option<Done>)>, results: Vec<Result<Applied, String>>) {
        let n = batch.len() as u64;
        let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.health.depth.fetch_sub(n, Ordering::Relaxed);
        self.health.committed.fetch_add(ok, Ordering::Relaxed);
        for ((_, done), r) in batch.into_iter().zip(results) {
            if let Some(done) = done {
                let _ = done.send(r);
            }
        }
    }
}

impl LogError {
    /// Errors worth retrying: the disk or the database may recover (space freed, lock gone).
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode::*;
        match self {
            LogError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => matches!(
                e.code,
                DiskFull
                    | ReadOnly
                    | DatabaseBusy
                    | DatabaseLocked
                    | SystemIoFailure
                    | CannotOpen
                    | FileLockingProtocolFailed
                    | OutOfMemory
            ),
            LogError::Io { .. } => true,
            // Lost connections, a full disk, a read-only or restarting server, conflicts.
            LogError::Postgres { source, .. } => {
                source.is_closed()
                    || source.code().is_none()
                    || source.code().is_some_and(|c| {
                        let c = c.code();
                        c.starts_with("08")
                            || c.starts_with("53")
                            || c.starts_with("57P")
                            || c == "25006"
                            || c == "40001"
                            || c == "40P01"
                    })
            }
            _ => false,
        }
    }
}
