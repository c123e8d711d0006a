//! What `/readyz` reports beyond the log: whether Telegram answered at the last check, how
//! long polling is doing, and why the embedding model is not in use. The bot's start-up
//! ([`crate::bot::start`]) writes it; `serve`'s `/readyz` reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bot::poll::PollHealth;

/// What `/readyz` knows about Telegram.
#[derive(Debug)]
pub struct Readiness {
    /// False until the first successful check (always true with `--no-telegram`).
    pub telegram_ok: AtomicBool,
    pub telegram_error: std::sync::Mutex<Option<String>>,
    /// Why the embedding model is not in use (answers are lexical only), if it is not.
    pub model_error: std::sync::Mutex<Option<String>>,
    /// True once long polling has started (not in webhook mode).
    pub polling: AtomicBool,
    pub poll: Arc<PollHealth>,
}

impl Readiness {
    pub fn new(telegram_needed: bool) -> Readiness {
        Readiness {
            telegram_ok: AtomicBool::new(!telegram_needed),
            telegram_error: std::sync::Mutex::new(None),
            model_error: std::sync::Mutex::new(None),
            polling: AtomicBool::new(false),
            poll: Arc::new(PollHealth::default()),
        }
    }

    pub fn set(&self, r: Result<(), String>) {
        self.telegram_ok.store(r.is_ok(), Ordering::Relaxed);
        *self
            .telegram_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = r.err();
    }
}
