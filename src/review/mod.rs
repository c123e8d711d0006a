//! The review web app: TUC reviewers work through the question log in a browser. Server-rendered
//! HTML, behind a login; reads and writes the log only through `log`'s API.

pub mod accounts;

use axum::Router;

use crate::serve::AppState;

/// Every review route (`/`, `/queue`, `/questions/{id}`, `/groups`, `/suggestions`,
/// `/export.csv`, `/login`, `/logout`, `/reload`); `serve` adds `/healthz` and `/metrics`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
