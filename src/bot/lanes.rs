//! Handing updates to handlers: one lane per chat, so a chat's replies go out in the order it
//! asked, and chats never wait for each other; a crisis message jumps its chat's lane.
//!
//! - Every update is marked in flight ([`InFlight`]) until handled, so polling confirms it to
//!   Telegram only once it is done. Each message's sending and delivery in reply (committed
//!   before the handler goes on), and the end of handling, are recorded in the question log
//!   ([`Progress`]), so an update delivered again after a crash is not answered again, and
//!   one answered in part gets only the rest.
//! - While a chat's lane is busy (a reply waiting out Telegram's retries, say), a message
//!   whose reply would be the crisis reply is handled at once beside the lane instead of
//!   behind it; its reply is never paced ([`super::send::send_urgent`]).
//! - [`Lanes::drain`] waits for everything handed over to finish (graceful stop).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::types::Update;
use tokio::sync::mpsc;

use super::BotState;
use super::poll::InFlight;
use super::send::{PROGRESS, Progress};

/// A lane with nothing to do for this long is closed (a new one opens on the next update).
const IDLE: Duration = Duration::from_secs(30);

/// An update, and how many messages in reply to it were delivered before (after a crash).
type Job = (Update, u32);

struct Lane {
    tx: mpsc::UnboundedSender<Job>,
    /// Updates queued or being handled in this lane.
    pending: Arc<AtomicUsize>,
}

pub struct Lanes {
    state: Arc<BotState>,
    chats: Mutex<HashMap<i64, Lane>>,
    inflight: Arc<InFlight>,
    /// Every task holds a clone; [`Lanes::drain`] waits for all to be dropped.
    alive: Mutex<Option<mpsc::Sender<()>>>,
    gone: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl Lanes {
    pub fn new(state: Arc<BotState>) -> Arc<Lanes> {
        let (alive, gone) = mpsc::channel(1);
        Arc::new(Lanes {
            state,
            chats: Mutex::new(HashMap::new()),
            inflight: Arc::new(InFlight::default()),
            alive: Mutex::new(Some(alive)),
            gone: tokio::sync::Mutex::new(gone),
        })
    }

    pub fn inflight(&self) -> &Arc<InFlight> {
        &self.inflight
    }

    fn chats(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Lane>> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn token(&self) -> Option<mpsc::Sender<()>> {
        self.alive.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Hands an update to its chat's lane (or to a task of its own), without waiting.
    pub fn dispatch(self: &Arc<Self>, update: Update) {
        let id = i64::from(update.id.0);
        let Some(token) = self.token() else {
            tracing::warn!(
                update_id = id,
                "an update arrived while stopping; left for the next start"
            );
            return;
        };
        if matches!(update.kind, teloxide::types::UpdateKind::Error(_)) {
            // A webhook update teloxide could not read (polling skips these itself).
            self.state.metrics.updates.inc("unparseable");
            tracing::warn!(
                update_id = id,
                "skipped an update that could not be read (content not logged)"
            );
            return;
        }
        self.inflight.start(id);
        let before = self.state.log.update_state(id);
        if before.done {
            // Handled before a crash or restart, and delivered again: not answered twice.
            self.state.metrics.updates.inc("already_handled");
            tracing::info!(
                update_id = id,
                "an update delivered again was handled before; skipped"
            );
            self.inflight.done(id);
            return;
        }
        if before.sending > before.sent {
            // The crash came while a message was with Telegram: it may have arrived.
            self.state.metrics.updates.inc("maybe_sent_twice");
            tracing::warn!(
                update_id = id,
                message = before.sending,
                "a message was being sent when the bot stopped; it is sent again and may arrive twice"
            );
        }
        if before.sent > 0 {
            tracing::info!(
                update_id = id,
                sent = before.sent,
                "an update delivered again was partly answered before; sending the rest"
            );
        }
        let job = (update, before.sent);
        let Some(chat) = job.0.chat().map(|c| c.id.0) else {
            let me = self.clone();
            tokio::spawn(async move {
                me.run_one(job).await;
                drop(token);
            });
            return;
        };
        let busy = self
            .chats()
            .get(&chat)
            .is_some_and(|l| l.pending.load(Ordering::SeqCst) > 0);
        if busy && self.state.is_crisis(&job.0) {
            self.state.metrics.updates.inc("crisis_jumped_queue");
            tracing::info!(
                update_id = id,
                "a crisis message is answered at once, ahead of its chat's pending replies"
            );
            let me = self.clone();
            tokio::spawn(async move {
                me.run_one(job).await;
                drop(token);
            });
            return;
        }
        let mut chats = self.chats();
        let lane = chats.entry(chat).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let pending = Arc::new(AtomicUsize::new(0));
            let me = self.clone();
            let p = pending.clone();
            let token = token.clone();
            tokio::spawn(async move {
                me.lane(chat, rx, p).await;
                drop(token);
            });
            Lane { tx, pending }
        });
        lane.pending.fetch_add(1, Ordering::SeqCst);
        if let Err(mpsc::error::SendError(job)) = lane.tx.send(job) {
            // The lane's task has ended (it cannot, while listed); handle it beside.
            lane.pending.fetch_sub(1, Ordering::SeqCst);
            let me = self.clone();
            tokio::spawn(async move {
                me.run_one(job).await;
                drop(token);
            });
        }
    }

    async fn lane(
        self: Arc<Self>,
        chat: i64,
        mut rx: mpsc::UnboundedReceiver<Job>,
        pending: Arc<AtomicUsize>,
    ) {
        loop {
            match tokio::time::timeout(IDLE, rx.recv()).await {
                Ok(Some(job)) => {
                    self.run_one(job).await;
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
                Ok(None) => return,
                Err(_) => {
                    // Close when idle; under the map's lock, so nothing is sent to a closed lane.
                    let mut chats = self.chats();
                    if rx.is_empty() {
                        chats.remove(&chat);
                        return;
                    }
                }
            }
        }
    }

    async fn run_one(&self, (update, skip): Job) {
        let id = i64::from(update.id.0);
        let progress = Arc::new(Progress {
            update_id: id,
            skip,
            count: 0.into(),
            log: self.state.log.clone(),
        });
        PROGRESS
            .scope(progress.clone(), self.state.clone().handle(update))
            .await;
        let sent = progress.count.load(Ordering::SeqCst);
        self.state.log.update_progress(id, sent, true);
        self.inflight.done(id);
    }

    /// Stops taking updates and waits until every one handed over has been handled.
    pub async fn drain(&self) {
        self.chats().clear();
        self.alive.lock().unwrap_or_else(|p| p.into_inner()).take();
        let _ = self.gone.lock().await.recv().await;
    }
}
