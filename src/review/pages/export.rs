//! The CSV export of the queue's filters, and the reload action.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::live::ReloadError;
use crate::log::report;
use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::queue::QueueParams;

pub async fn export_csv(
    State(state): State<AppState>,
    Query(p): Query<QueueParams>,
) -> Result<Response, AppError> {
    let filter = p.filter()?;
    let bytes = with_store(&state, move |s| {
        let mut buf = Vec::new();
        report::export_csv(s, &filter, &mut buf)?;
        Ok(buf)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"workhealth-questions.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

pub async fn reload(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
) -> Result<Response, AppError> {
    let reloader = state.reloader.clone();
    let result = tokio::task::spawn_blocking(move || reloader.reload("review app"))
        .await
        .map_err(AppError::task("the reload task"))?;
    tracing::info!(reviewer = %who.reviewer, ok = result.is_ok(), "review app: content reload");
    let (status, body) = match &result {
        Ok(digest) => (
            StatusCode::OK,
            html! {
                h1 { "Content reloaded" }
                p.notice role="status" { "The bot now answers from content " code { (digest) } "." }
                p { a href="/" { "Back to the overview" } }
            },
        ),
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                h1 { "Reload failed" }
                p.notice.error role="alert" {
                    "The content has errors, so nothing changed: the bot keeps answering from the last good content."
                }
                @match errors {
                    // The content's own errors are for the editors: shown as they are.
                    ReloadError::Invalid(_) => pre { (errors) },
                    // Anything else is the server's: its detail is in the server's log.
                    ReloadError::Index { .. } => p { "The search index could not be rebuilt; the details are in the server's log." },
                }
                p { a href="/" { "Back to the overview" } }
            },
        ),
    };
    Ok(page(status, layout("Reload", Some(&who), Nav::None, body)))
}
