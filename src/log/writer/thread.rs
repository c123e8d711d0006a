//! The writer thread: it owns the store's write connection, takes queued operations off the
//! channel, and commits them in batches, one transaction each. A transient failure (a full,
//! read-only or locked disk; a lost database connection) is reported and retried with
//! backoff; a permanent one is retried entry by entry so one bad entry costs only itself; at
//! close, what cannot be written by the deadline is counted as lost and logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{LogOptions, WriterHealth};
use crate::log::LogError;
use crate::log::store::{Applied, Store, WriteOp};

pub(super) type Done = oneshot::Sender<Result<Applied, Arc<LogError>>>;

pub(super) enum Msg {
    Op(WriteOp, Option<Done>),
    Flush(oneshot::Sender<()>),
}

/// Set once [`super::Log::close`] is called, with the time, so every batch still queued shares one
/// deadline.
#[derive(Default)]
pub(super) struct Closing {
    flag: AtomicBool,
    at: std::sync::OnceLock<Instant>,
}

impl Closing {
    pub(super) fn start(&self) {
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

pub(super) struct Writer {
    store: Box<dyn Store>,
    rx: Receiver<Msg>,
    health: Arc<WriterHealth>,
    closing: Arc<Closing>,
    opts: LogOptions,
}

impl Writer {
    /// Starts the writer thread over `store`, taking work from `rx`.
    pub(super) fn spawn(
        store: Box<dyn Store>,
        rx: Receiver<Msg>,
        health: Arc<WriterHealth>,
        closing: Arc<Closing>,
        opts: LogOptions,
    ) -> JoinHandle<()> {
        let w = Writer {
            store,
            rx,
            health,
            closing,
            opts,
        };
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || w.run())
            .expect("spawn the log writer thread")
    }

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
                        let e = Arc::new(e);
                        self.finish(batch, ops.iter().map(|_| Err(e.clone())).collect());
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
                                Err(Arc::new(e))
                            }
                        })
                        .collect();
                    self.finish(batch, results);
                    return;
                }
            }
        }
    }

    fn finish(
        &self,
        batch: Vec<(WriteOp, Option<Done>)>,
        results: Vec<Result<Applied, Arc<LogError>>>,
    ) {
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
            LogError::Writer(e) => e.is_transient(),
            _ => false,
        }
    }
}
