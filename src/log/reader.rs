//! The two handles on the log's shared connection, besides the writer thread: [`Reader`],
//! which hands out only [`ReadStore`] (every read, and nothing that writes: no SQL here, and
//! the type has no write method), and [`Accounts`], which hands out [`AccountStore`] for
//! reviewer accounts, sessions and login failures. Both share one connection behind one lock
//! (reads and account changes are rare and quick); the question log itself is written only by
//! the writer thread ([`super::writer`]).

use std::sync::{Arc, Mutex};

use super::LogError;
use super::store::{AccountStore, ReadStore, Store};

type Shared = Arc<Mutex<Box<dyn Store>>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// Read access to the log.
#[derive(Clone)]
pub struct Reader(Shared);

impl Reader {
    /// Runs `f` on the shared connection. Blocks on its lock and the database: async code
    /// calls it from a blocking thread.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn ReadStore) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        let mut guard = lock(&self.0);
        let store: &mut dyn ReadStore = guard.as_mut();
        f(store)
    }
}

/// Reviewer accounts, sessions and login failures (the review app's login and the
/// `reviewers` CLI).
#[derive(Clone)]
pub struct Accounts(Shared);

impl Accounts {
    /// Runs `f` on the shared connection, holding its lock throughout (so a read and the
    /// compare and set after it are one step in this process). Blocks: async code calls it
    /// from a blocking thread.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn AccountStore) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        let mut guard = lock(&self.0);
        let store: &mut dyn AccountStore = guard.as_mut();
        f(store)
    }
}

/// The read handle and the accounts handle over one store (a connection of its own, beside the
/// writer thread's).
pub fn handles(store: Box<dyn Store>) -> (Reader, Accounts) {
    let shared: Shared = Arc::new(Mutex::new(store));
    (Reader(shared.clone()), Accounts(shared))
}
