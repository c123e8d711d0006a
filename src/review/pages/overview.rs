//! The overview page: the period's counts and rates, questions per day, the top topics and
//! the unanswered questions most often asked.

use std::collections::{BTreeMap, HashMap};

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use crate::review::charts::{self, Point};
use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::{pct, title_of};

#[derive(Debug, Deserialize, Default)]
pub struct OverviewParams {
    days: Option<String>,
}

pub async fn overview(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Query(p): Query<OverviewParams>,
) -> Result<Response, AppError> {
    let days: i64 = match p.days.as_deref() {
        Some("90") => 90,
        _ => 30,
    };
    let today = Utc::now().date_naive();
    let first = today - Duration::days(days - 1);
    let since = first.and_time(chrono::NaiveTime::MIN).and_utc();
    let (stats, day_rows, shown) = with_store(&state, move |s| {
        Ok((
            s.stats(Some(since))?,
            s.days(since)?,
            s.shown_counts(Some(since))?,
        ))
    })
    .await?;
    let by_date: HashMap<NaiveDate, (u64, u64)> = day_rows
        .iter()
        .map(|d| (d.date, (d.questions, d.unanswered)))
        .collect();
    let points: Vec<Point> = (0..days)
        .map(|i| {
            let date = first + Duration::days(i);
            let (questions, unanswered) = by_date.get(&date).copied().unwrap_or((0, 0));
            Point {
                date,
                questions,
                unanswered,
            }
        })
        .collect();
    let assistant = state.live.get();
    let content = assistant.content();
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for (id, n) in &shown {
        if let Some(e) = content.entry(id) {
            *topics.entry(e.topic.clone()).or_default() += n;
        }
    }
    let mut topics: Vec<(String, u64)> = topics.into_iter().collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    topics.truncate(10);
    let problem = state.live.problem();
    let due = content.due_for_review(today);
    let outcomes = [
        ("answered", stats.answered),
        ("clarified", stats.clarified),
        ("unanswered", stats.unanswered),
        ("crisis", stats.crisis),
    ];
    let body = html! {
        @if let Some(problem) = &problem {
            section.banner role="alert" {
                strong { "Live content is stale: the last reload failed." }
                " The bot is still answering from the last good content. The errors:"
                pre { (problem) }
            }
        }
        h1 { "Overview" }
        p.period {
            "The last " (days) " days: "
            @if days == 30 { strong { "30 days" } } @else { a href="/?days=30" { "30 days" } }
            " · "
            @if days == 90 { strong { "90 days" } } @else { a href="/?days=90" { "90 days" } }
        }
        section.figures {
            div.figure { span.n { (stats.questions) } span.k { "questions" } }
            div.figure { span.n { (pct(stats.share(stats.unanswered))) } span.k { "unanswered" } }
            div.figure {
                span.n { @match stats.helpful_rate() { Some(r) => (pct(r)), None => "–" } }
                span.k { "helpful: " (stats.helpful) " of " (stats.helpful + stats.unhelpful) " rated answers" }
            }
        }
        h2 { "Questions a day" }
        (charts::questions(&points))
        h2 { "Unanswered rate a day" }
        (charts::unanswered_rate(&points))
        div.columns {
            section {
                h2 { "Outcomes" }
                table {
                    thead { tr { th { "outcome" } th.num { "questions" } th.num { "share" } } }
                    tbody {
                        @for (label, n) in outcomes {
                            tr { td { (label) } td.num { (n) } td.num { (pct(stats.share(n))) } }
                        }
                    }
                }
            }
            section {
                h2 { "Top entries" }
                @if stats.top_entries.is_empty() {
                    p.muted { "No answers in this period." }
                } @else {
                    table {
                        thead { tr { th { "entry" } th.num { "shown" } } }
                        tbody {
                            @for (id, n) in &stats.top_entries {
                                tr {
                                    td {
                                        (title_of(content, id).unwrap_or_else(|| "(not in the live content)".into()))
                                        br; small.muted { (id) }
                                    }
                                    td.num { (n) }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Top topics" }
                @if topics.is_empty() {
                    p.muted { "No answers in this period." }
                } @else {
                    table {
                        thead { tr { th { "topic" } th.num { "answers" } } }
                        tbody {
                            @for (id, n) in &topics {
                                tr {
                                    td { (content.topic(id).map(|t| t.title.clone()).unwrap_or_else(|| id.clone())) }
                                    td.num { (n) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.due {
            h2 { "Due for review" }
            @if due.is_empty() {
                p.muted { "No entry is past its review_by date." }
            } @else {
                p {
                    (due.len()) " entr" (if due.len() == 1 { "y states" } else { "ies state" })
                    " figures or dates whose review_by date has passed. Answers from them tell the asker when the figures were last checked."
                }
                table {
                    thead { tr { th { "entry" } th { "review by" } th { "last reviewed" } } }
                    tbody {
                        @for e in &due {
                            tr {
                                td { (e.title) br; small.muted { (e.id) } }
                                td { (e.review_by.map(|d| d.to_string()).unwrap_or_default()) }
                                td { (e.reviewed) }
                            }
                        }
                    }
                }
            }
        }
        section.reload {
            h2 { "Content" }
            p { "Live content digest: " code { (content.digest) } }
            form method="post" action="/reload" {
                input type="hidden" name="csrf" value=(who.csrf);
                button type="submit" { "Reload content" }
                " (validates " code { "content/" } " and swaps it in; on errors the bot keeps the current content)"
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Overview", Some(&who), Nav::Overview, body),
    ))
}
