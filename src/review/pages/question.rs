//! One question's page, and its review form: reviewed or not, tags, a note, and the entry it
//! should have been answered by.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use crate::content::Content;
use crate::log::store::{ReviewUpdate, WriteOp};
use crate::log::{Question, ReviewState};
use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::{title_of, when};

/// The tag for a question the bot should have declined (the suggestions page lists those it
/// answered or clarified).
pub(super) const OUT_OF_SCOPE: &str = "out of scope";

/// Tags offered as checkboxes on a question's page.
pub(super) const QUICK_TAGS: [(&str, &str); 3] = [
    ("tag_content_gap", "content gap"),
    ("tag_wrong_answer", "wrong answer"),
    ("tag_out_of_scope", OUT_OF_SCOPE),
];
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 64;
const MAX_NOTE_CHARS: usize = 4000;

/// What is wrong with a review's tags: shown to the reviewer as it is.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("a tag is longer than {} characters", MAX_TAG_CHARS)]
    TooLong,
    #[error("at most {} tags", MAX_TAGS)]
    TooMany,
}

impl From<TagError> for AppError {
    fn from(e: TagError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct QuestionParams {
    #[serde(default)]
    saved: String,
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>().map_err(|_| AppError::NotFound)
}

fn entry_options(content: &Content, current: Option<&str>) -> Markup {
    let known = current.is_none_or(|c| content.kind_of(c).is_some());
    html! {
        option value="" selected[current.is_none()] { "— none —" }
        @if let (false, Some(c)) = (known, current) {
            option value=(c) selected { (c) " (not in the live content)" }
        }
        optgroup label="Guidance" {
            @for e in &content.entries {
                option value=(e.id) selected[current == Some(e.id.as_str())] { (e.title) " — " (e.id) }
            }
        }
        optgroup label="Programmes" {
            @for pr in &content.programmes {
                option value=(pr.id) selected[current == Some(pr.id.as_str())] { (pr.name) " — " (pr.id) }
            }
        }
    }
}

fn question_page(who: &Authed, q: &Question, content: &Content, saved: bool) -> Markup {
    let free_tags: Vec<&str> = q
        .review
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| !QUICK_TAGS.iter().any(|(_, q)| q == t))
        .collect();
    let body = html! {
        p { a href="/queue" { "← the queue" } }
        @if saved { p.notice role="status" { "Saved." } }
        h1 { "Question" }
        blockquote.question { (q.text) }
        dl.facts {
            dt { "asked" } dd { (when(&q.asked_at)) " · " (q.channel) }
            dt { "region" } dd { (q.region.as_deref().unwrap_or("not known")) }
            dt { "outcome" } dd { (q.outcome.label()) }
            dt { "shown" } dd {
                @match &q.shown_id {
                    Some(id) => { (title_of(content, id).unwrap_or_default()) " " code { (id) } }
                    None => "nothing",
                }
            }
            dt { "feedback" } dd {
                @match q.feedback {
                    Some(crate::log::Feedback::Helpful) => "helpful (👍)",
                    Some(crate::log::Feedback::Unhelpful) => "not helpful (👎)",
                    None => "none",
                }
                @if let Some(t) = &q.feedback_at { " (" (when(t)) ")" }
            }
            dt { "content" } dd {
                code { (q.content_digest) }
                @if q.content_digest == content.digest { " (the live version)" } @else { " (an older version)" }
            }
            dt { "review" } dd {
                (q.review.state.as_str())
                @if let (Some(by), Some(at)) = (&q.review.reviewed_by, &q.review.reviewed_at) {
                    " · last changed by " (by) " " (when(at))
                }
            }
        }
        h2 { "The answer as sent" }
        @match &q.reply_text {
            Some(t) => pre.reply { (t) },
            None => p.muted { "Not recorded." },
        }
        h2 { "Top results" }
        @if q.results.is_empty() {
            p.muted { "No results." }
        } @else {
            table {
                thead { tr { th { "entry" } th.num { "score" } } }
                tbody {
                    @for (id, score) in &q.results {
                        tr {
                            td { (title_of(content, id).unwrap_or_else(|| "(not in the live content)".into())) br; small.muted { (id) } }
                            td.num { (format!("{score:.3}")) }
                        }
                    }
                }
            }
        }
        h2 { "Review" }
        form.review method="post" action={ "/questions/" (q.id) } {
            input type="hidden" name="csrf" value=(who.csrf);
            fieldset {
                legend { "Tags" }
                @for (field, tag) in QUICK_TAGS {
                    label.check {
                        input type="checkbox" name=(field) value="1" checked[q.review.tags.iter().any(|t| t == tag)];
                        " " (tag)
                    }
                }
                label { "Other tags (comma separated)"
                    input type="text" name="tags" value=(free_tags.join(", "));
                }
            }
            label { "Should have been answered by"
                select name="suggested" { (entry_options(content, q.review.suggested_entry.as_deref())) }
            }
            label { "Note"
                textarea name="note" rows="3" { (q.review.note.as_deref().unwrap_or("")) }
            }
            label.check {
                input type="checkbox" name="reviewed" value="1" checked[q.review.state == ReviewState::Reviewed];
                " Reviewed (takes it out of the queue)"
            }
            button type="submit" { "Save" }
        }
    };
    layout("Question", Some(who), Nav::Queue, body)
}

pub async fn question(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Path(id): Path<String>,
    Query(p): Query<QuestionParams>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let q = with_store(&state, move |s| s.question(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let assistant = state.live.get();
    Ok(page(
        StatusCode::OK,
        question_page(&who, &q, assistant.content(), p.saved == "1"),
    ))
}

#[derive(Debug, Deserialize, Default)]
pub struct ReviewForm {
    #[serde(default)]
    reviewed: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    tag_content_gap: String,
    #[serde(default)]
    tag_wrong_answer: String,
    #[serde(default)]
    tag_out_of_scope: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    suggested: String,
}

impl ReviewForm {
    fn quick(&self, field: &str) -> bool {
        let v = match field {
            "tag_content_gap" => &self.tag_content_gap,
            "tag_wrong_answer" => &self.tag_wrong_answer,
            "tag_out_of_scope" => &self.tag_out_of_scope,
            _ => return false,
        };
        !v.is_empty()
    }

    /// The tags: the checked quick ones, then the typed ones, without repeats.
    fn tag_list(&self) -> Result<Vec<String>, TagError> {
        let mut out: Vec<String> = Vec::new();
        let quick = QUICK_TAGS
            .iter()
            .filter(|(f, _)| self.quick(f))
            .map(|(_, t)| t.to_string());
        let typed = self
            .tags
            .split(',')
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "));
        for t in quick.chain(typed) {
            if t.is_empty() || out.iter().any(|o| o.eq_ignore_ascii_case(&t)) {
                continue;
            }
            if t.chars().count() > MAX_TAG_CHARS {
                return Err(TagError::TooLong);
            }
            out.push(t);
        }
        if out.len() > MAX_TAGS {
            return Err(TagError::TooMany);
        }
        Ok(out)
    }
}

pub async fn review_question(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let current = with_store(&state, move |s| s.question(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let tags = form.tag_list()?;
    if form.note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::BadRequest(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    let suggested = form.suggested.trim().to_string();
    if !suggested.is_empty()
        && state.live.get().content().kind_of(&suggested).is_none()
        && current.review.suggested_entry.as_deref() != Some(suggested.as_str())
    {
        return Err(AppError::BadRequest(format!(
            "`{suggested}` is not a guidance entry or programme in the live content"
        )));
    }
    let update = ReviewUpdate {
        reviewed: Some(!form.reviewed.is_empty()),
        tags: Some(tags),
        note: Some(form.note.clone()),
        suggested_entry: Some(suggested),
    };
    let applied = state
        .log
        .write(WriteOp::Review {
            id,
            update,
            by: who.reviewer.clone(),
            at: Utc::now(),
        })
        .await?;
    if applied.rows == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(reviewer = %who.reviewer, id, "review app: question reviewed");
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/questions/{id}?saved=1"))],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_the_form() {
        let f = ReviewForm {
            tags: " ssp ,  , Content gap, part  time ".into(),
            tag_content_gap: "1".into(),
            ..Default::default()
        };
        assert_eq!(
            f.tag_list().unwrap(),
            vec!["content gap", "ssp", "part time"]
        );
        let many = ReviewForm {
            tags: (0..30)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(","),
            ..Default::default()
        };
        assert!(many.tag_list().is_err());
        assert_eq!(many.tag_list().unwrap_err().to_string(), "at most 20 tags");
        let long = ReviewForm {
            tags: "x".repeat(65),
            ..Default::default()
        };
        assert_eq!(
            long.tag_list().unwrap_err().to_string(),
            "a tag is longer than 64 characters"
        );
    }
}
