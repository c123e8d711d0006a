//! The review web app: TUC reviewers work through the question log in a browser. Server-rendered
//! HTML, behind a login; reads and writes the log only through `log`'s API.
//!
//! - [`auth`]: login, logout, sessions, and the middleware that guards every route;
//!   [`backoff`]: how failed logins slow down, per account and per client address.
//! - [`csrf`]: tokens and their constant-time check.
//! - [`password`]: reviewer names and passwords: policy, argon2id hashing, verification.
//! - [`accounts`]: the `reviewers` CLI.
//! - [`pages`]: overview, queue, a question, suggestions, the CSV export, reload.
//! - [`groups`]: the page of groups of similar unanswered questions; [`cluster`] finds them.
//! - [`charts`]: the overview's inline SVG charts.
//!
//! No page needs JavaScript; the Content-Security-Policy forbids scripts and inline styles, and
//! every piece of log text goes through maud's escaping.

pub mod accounts;
mod auth;
mod backoff;
mod charts;
pub mod cluster;
mod csrf;
pub mod groups;
mod pages;
pub mod password;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use crate::log::LogError;
use crate::log::store::{AccountStore, ReadStore};
use crate::state::AppState;

pub use auth::Authed;

/// Every review route (`/`, `/queue`, `/questions/{id}`, `/groups`, `/suggestions`,
/// `/export.csv`, `/login`, `/logout`, `/reload`, `/style.css`); `serve` adds `/healthz` and
/// `/metrics`, then wraps the whole app with [`guard`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/queue", get(pages::queue))
        .route(
            "/questions/{id}",
            get(pages::question).post(pages::review_question),
        )
        .route("/groups", get(groups::handler))
        .route("/suggestions", get(pages::suggestions))
        .route("/export.csv", get(pages::export_csv))
        .route("/reload", post(pages::reload))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/style.css", get(style))
        .fallback(not_found)
}

/// Wraps the whole HTTP app: a session (and, for a POST, its CSRF token) on every route but
/// the public ones, and the security headers on every response.
pub fn guard(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    auth::warm_up();
    app.layer(from_fn_with_state(state.clone(), auth::require_session))
        .layer(from_fn(security_headers))
}

/// Routes that need no session.
pub const PUBLIC: [&str; 5] = ["/login", "/healthz", "/readyz", "/metrics", "/style.css"];

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

const STYLE: &str = include_str!("style.css");

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// Which nav item a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Queue,
    Groups,
    Suggestions,
    None,
}

/// The frame of every page: head, nav (with the logout form) and the body.
pub(crate) fn layout(title: &str, who: Option<&Authed>, active: Nav, body: Markup) -> Markup {
    let item = |nav: Nav, href: &str, label: &str| {
        html! {
            @if nav == active {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · workhealth review" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header {
                    nav {
                        span.brand { "workhealth review" }
                        @if let Some(who) = who {
                            (item(Nav::Overview, "/", "Overview"))
                            (item(Nav::Queue, "/queue", "Queue"))
                            (item(Nav::Groups, "/groups", "Groups"))
                            (item(Nav::Suggestions, "/suggestions", "Suggestions"))
                            a href="/export.csv" { "CSV" }
                            form.logout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(who.csrf);
                                button type="submit" { "Log out " (who.reviewer) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An HTML response.
pub(crate) fn page(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A short page for a refusal or an error (no nav: it may be shown without a session).
pub(crate) fn short_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        layout(
            title,
            None,
            Nav::None,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Back to the overview" } }
            },
        ),
    )
}

/// What a handler can fail with. Only `BadRequest` (what was wrong with the request) is shown
/// as it is; every other error's detail goes to the server's log and the page says a fixed
/// sentence.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    #[error(transparent)]
    Store(LogError),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No random bytes for a token.
    #[error("cannot get random bytes: {0}")]
    Random(#[from] getrandom::Error),
    /// A task run off the async threads panicked or was cancelled.
    #[error("{what} failed: {source}")]
    Task {
        what: &'static str,
        source: tokio::task::JoinError,
    },
}

impl AppError {
    pub(crate) fn task(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> AppError {
        move |source| AppError::Task { what, source }
    }
}

impl From<LogError> for AppError {
    fn from(e: LogError) -> Self {
        AppError::Store(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            // The detail (which may name files) goes to the server's log, never the page.
            AppError::Store(LogError::WriteTimeout(secs)) => {
                tracing::error!(
                    secs,
                    "review app: the question log could not be written in time"
                );
                short_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The question log cannot be written just now",
                    "The question log could not be written within a few seconds (the disk may be full). Your change is queued and will be saved once the log can be written: check back in a few minutes.",
                )
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "review app: the question log failed");
                short_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The question log failed",
                    "The question log could not be read or written. Try again in a minute; the details are in the server's log.",
                )
            }
            e @ (AppError::Random(_) | AppError::Task { .. }) => {
                tracing::error!(error = %e, "review app: internal error");
                short_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on the server. Try again in a minute; the details are in the server's log.",
                )
            }
            AppError::NotFound => short_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page or question (it may have been deleted by the retention period or /forget).",
            ),
            AppError::BadRequest(why) => {
                short_page(StatusCode::BAD_REQUEST, "Cannot do that", &why)
            }
        }
    }
}

/// Runs a read on the log's [`crate::log::Reader`], off the async threads.
pub(crate) async fn with_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn ReadStore) -> Result<T, LogError> + Send + 'static,
) -> Result<T, AppError> {
    let log = state.log.clone();
    tokio::task::spawn_blocking(move || log.reader().with(f))
        .await
        .map_err(AppError::task("a store task"))?
        .map_err(AppError::Store)
}

/// Runs a reviewer-account or session change on the log's [`crate::log::Accounts`], off the
/// async threads.
pub(crate) async fn with_accounts<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn AccountStore) -> Result<T, LogError> + Send + 'static,
) -> Result<T, AppError> {
    let log = state.log.clone();
    tokio::task::spawn_blocking(move || log.accounts().with(f))
        .await
        .map_err(AppError::task("a store task"))?
        .map_err(AppError::Store)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
