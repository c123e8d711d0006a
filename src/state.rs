//! What the HTTP side shares: [`AppState`], handed to the review app's handlers and to
//! `serve`'s operator endpoints. It lives apart from `serve`, so the review app depends on it
//! and not on `serve` (which depends on the review app for its routes).

use std::sync::Arc;

use crate::live::{Live, Reloader};
use crate::log::Log;
use crate::metrics::Metrics;
use crate::readiness::Readiness;

/// What the HTTP side shares.
#[derive(Clone)]
pub struct AppState {
    pub live: Arc<Live>,
    pub log: Arc<Log>,
    pub metrics: Arc<Metrics>,
    pub reloader: Arc<Reloader>,
    pub ready: Arc<Readiness>,
}
