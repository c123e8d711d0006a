//! The groups page: similar unanswered, clarified or 👎 questions of a period, grouped by
//! [`super::cluster`] (its doc says how and why the threshold is what it is).
//!
//! The page's clustering is cached until the log changes (any committed write) or the content
//! is reloaded, and only one clustering runs at a time, so reloading the page is cheap.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::html;
use serde::Deserialize;

use super::cluster::{Canon, DEFAULT_DAYS, Group, MAX_QUESTIONS, THRESHOLD, cluster};
use super::pages::when;
use super::{AppError, Authed, Nav, layout, page, with_store};
use crate::log::{Filter, Outcome, Question};
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct GroupParams {
    #[serde(default)]
    days: String,
}

/// The questions to group: unanswered, clarified or 👎, in the period, newest first.
fn candidates(
    store: &mut dyn crate::log::store::ReadStore,
    days: i64,
) -> Result<Vec<Question>, crate::log::LogError> {
    let since = Some(Utc::now() - Duration::days(days));
    let mut all: Vec<Question> = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    let unanswered = Filter {
        outcome: Some(Outcome::NoAnswer),
        since,
        ..Default::default()
    };
    let clarified = Filter {
        outcome: Some(Outcome::Clarify),
        ..unanswered.clone()
    };
    let unhelpful = Filter {
        outcome: None,
        unhelpful: true,
        ..unanswered.clone()
    };
    for f in [unanswered, clarified, unhelpful] {
        for q in store.questions(&f, MAX_QUESTIONS, 0)? {
            if seen.insert(q.id) {
                all.push(q);
            }
        }
    }
    all.sort_by(|a, b| b.asked_at.cmp(&a.asked_at).then(a.id.cmp(&b.id)));
    all.truncate(MAX_QUESTIONS);
    Ok(all)
}

/// What identifies one clustering: the log (by address), how many writes it had committed
/// when the questions were read, the live content's digest, and the period.
type CacheKey = (usize, u64, String, i64);
type Grouped = Arc<(Vec<Question>, Vec<Group>)>;

/// The last clustering. Held across the computation, so concurrent requests wait for one
/// clustering instead of each running their own; any commit to the log (a new question, a
/// review, a purge) or a content reload makes the next request cluster again.
static CACHE: tokio::sync::Mutex<Option<(CacheKey, Grouped)>> = tokio::sync::Mutex::const_new(None);

/// How many times the questions of each log (by address) were clustered.
static CLUSTERINGS: std::sync::Mutex<Vec<(usize, u64)>> = std::sync::Mutex::new(Vec::new());

/// How many times the groups page has clustered this log's questions (for tests).
pub fn clusterings(log: &Arc<crate::log::Log>) -> u64 {
    let id = Arc::as_ptr(log) as usize;
    let all = CLUSTERINGS.lock().unwrap_or_else(|p| p.into_inner());
    all.iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| *n)
}

fn count_clustering(id: usize) {
    let mut all = CLUSTERINGS.lock().unwrap_or_else(|p| p.into_inner());
    match all.iter_mut().find(|(k, _)| *k == id) {
        Some((_, n)) => *n += 1,
        None => {
            if all.len() >= 64 {
                all.remove(0);
            }
            all.push((id, 1));
        }
    }
}

async fn grouped(state: &AppState, days: i64) -> Result<Grouped, AppError> {
    use std::sync::atomic::Ordering;
    let assistant = state.live.get();
    let mut cache = CACHE.lock().await;
    // Read the generation before the questions: the cached result is never older than its key.
    let key: CacheKey = (
        Arc::as_ptr(&state.log) as usize,
        state.log.health().committed.load(Ordering::SeqCst),
        assistant.content().digest.clone(),
        days,
    );
    if let Some((k, g)) = cache.as_ref()
        && *k == key
    {
        return Ok(g.clone());
    }
    let questions = with_store(state, move |s| candidates(s, days)).await?;
    let g: Grouped = tokio::task::spawn_blocking(move || {
        let canon = Canon::new(&assistant.content().synonyms);
        let texts: Vec<&str> = questions.iter().map(|q| q.text.as_str()).collect();
        let groups = cluster(&texts, &canon, THRESHOLD);
        Arc::new((questions, groups))
    })
    .await
    .map_err(AppError::task("the grouping task"))?;
    count_clustering(key.0);
    *cache = Some((key, g.clone()));
    Ok(g)
}

pub(crate) async fn handler(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Query(p): Query<GroupParams>,
) -> Result<Response, AppError> {
    let days = p
        .days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .unwrap_or(DEFAULT_DAYS);
    let grouped = grouped(&state, days).await?;
    let (questions, groups) = (&grouped.0, &grouped.1);
    let grouped: usize = groups.iter().map(|g| g.members.len()).sum();
    let groups = groups.as_slice();
    let body = html! {
        h1 { "Groups of similar unanswered questions" }
        p.muted {
            "Unanswered, clarified and not-helpful questions of the last " (days) " days ("
            (questions.len()) " questions; " (grouped) " of them in " (groups.len()) " group(s)), "
            "grouped by the words they share. A big group is likely a gap in the guidance."
        }
        @if groups.is_empty() {
            p.empty { "No two questions are alike enough to group yet." }
        }
        @for g in groups {
            section.group {
                h2 {
                    (g.members.len()) " questions: "
                    @for w in &g.label {
                        span.term { (w) } " "
                    }
                }
                ul {
                    @for &m in &g.members {
                        @let q = &questions[m];
                        li {
                            a href={ "/questions/" (q.id) } { (q.text) }
                            " " small.muted {
                                (when(&q.asked_at)) " · " (q.outcome.label())
                                @if q.feedback == Some(crate::log::Feedback::Unhelpful) { " · marked not helpful" }
                                @if q.review.state == crate::log::ReviewState::Reviewed { " · reviewed" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Groups", Some(&who), Nav::Groups, body),
    ))
}
