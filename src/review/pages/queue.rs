//! The queue page: questions to review (or all of them), filtered by outcome or 👎, dates,
//! region, tag and text, a page at a time; and the filters as the query string carries them.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use maud::html;
use serde::Deserialize;

use crate::log::{Filter, Outcome, ReviewState};
use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::{UNHELPFUL, outcome_choices, query_string};

/// Rows on one page of the queue.
pub(super) const PAGE_SIZE: usize = 50;
/// The highest page number asked for that is honoured (a larger one shows this page).
pub(super) const MAX_PAGE: usize = 1_000_000;

/// The queue's (and the CSV export's) filters, as the query string carries them.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct QueueParams {
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub q: String,
    /// "1": every question, not only the review queue.
    #[serde(default)]
    pub all: String,
    #[serde(default)]
    pub page: String,
}

/// What is wrong with the queue's (or the export's) filters: shown to the reviewer as it is.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("outcome: `{given}` is not one of {}", .known.join(", "))]
    Outcome {
        given: String,
        known: Vec<&'static str>,
    },
    #[error("{field}: `{given}` is not a date (YYYY-MM-DD)")]
    Date { field: &'static str, given: String },
}

impl From<FilterError> for AppError {
    fn from(e: FilterError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

fn date_param(s: &str, field: &'static str) -> Result<Option<NaiveDate>, FilterError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FilterError::Date {
            field,
            given: s.to_string(),
        })
}

impl QueueParams {
    pub fn all(&self) -> bool {
        self.all == "1"
    }

    /// The store filter, or what is wrong with the parameters.
    pub fn filter(&self) -> Result<Filter, FilterError> {
        let some = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let (outcome, unhelpful) = match some(&self.outcome) {
            None => (None, false),
            Some(o) if o == UNHELPFUL => (None, true),
            Some(o) => match Outcome::parse(&o) {
                Some(o) => (Some(o), false),
                None => {
                    return Err(FilterError::Outcome {
                        given: o,
                        known: outcome_choices().map(|(v, _)| v).collect(),
                    });
                }
            },
        };
        let since =
            date_param(&self.from, "from")?.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
        let until = date_param(&self.to, "to")?.map(|d| {
            (d + Duration::days(1))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        });
        Ok(Filter {
            queue: !self.all(),
            outcome,
            unhelpful,
            region: some(&self.region),
            tag: some(&self.tag),
            since,
            until,
            text: some(&self.q),
        })
    }

    /// The page asked for, 1 to [`MAX_PAGE`] (anything else is page 1, or the last allowed).
    fn page(&self) -> usize {
        let p = self.page.trim();
        if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<usize>().is_err() {
            return MAX_PAGE;
        }
        p.parse::<usize>().unwrap_or(1).clamp(1, MAX_PAGE)
    }

    /// The query string of these filters (without the page), for links.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("all", self.all.clone()),
            ("outcome", self.outcome.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("region", self.region.clone()),
            ("tag", self.tag.clone()),
            ("q", self.q.clone()),
        ]
    }

    fn link(&self, path: &str, page: Option<usize>) -> String {
        let mut pairs = self.pairs();
        if let Some(p) = page {
            pairs.push(("page", p.to_string()));
        }
        format!("{path}{}", query_string(&pairs))
    }
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Query(p): Query<QueueParams>,
) -> Result<Response, AppError> {
    let filter = p.filter()?;
    let page_no = p.page();
    let offset = (page_no - 1).saturating_mul(PAGE_SIZE);
    let (rows, total, tags) = {
        let filter = filter.clone();
        with_store(&state, move |s| {
            Ok((
                s.questions(&filter, PAGE_SIZE, offset)?,
                s.count(&filter)?,
                s.tags()?,
            ))
        })
        .await?
    };
    let pages = (total as usize).div_ceil(PAGE_SIZE).max(1);
    let assistant = state.live.get();
    let content = assistant.content();
    let heading = if p.all() {
        "All questions"
    } else {
        "Review queue"
    };
    let body = html! {
        h1 { (heading) }
        @if !p.all() {
            p.muted { "Unanswered, clarified and not-helpful questions nobody has reviewed yet, newest first." }
        }
        form.filters method="get" action="/queue" {
            label { "Show"
                select name="all" {
                    option value="" selected[!p.all()] { "the review queue" }
                    option value="1" selected[p.all()] { "all questions" }
                }
            }
            label { "Outcome"
                select name="outcome" {
                    option value="" { "any" }
                    @for (o, label) in outcome_choices() {
                        option value=(o) selected[p.outcome == o] { (label) }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(p.from); }
            label { "To" input type="date" name="to" value=(p.to); }
            label { "Region"
                select name="region" {
                    option value="" { "any" }
                    @for r in &content.regions {
                        option value=(r.id) selected[p.region == r.id] { (r.name) }
                    }
                }
            }
            label { "Tag"
                select name="tag" {
                    option value="" { "any" }
                    @for (t, n) in &tags {
                        option value=(t) selected[&p.tag == t] { (t) " (" (n) ")" }
                    }
                }
            }
            label.wide { "Text" input type="search" name="q" value=(p.q) placeholder="words in the question"; }
            button type="submit" { "Filter" }
            a href="/queue" { "Clear" }
        }
        p {
            (total) " question(s)"
            @if pages > 1 { ", page " (page_no) " of " (pages) }
            " · " a href=(p.link("/export.csv", None)) { "Download these as CSV" }
        }
        @if rows.is_empty() {
            p.empty { "Nothing here." @if !p.all() { " The queue is empty." } }
        } @else {
            table.queue {
                thead { tr { th { "asked" } th { "question" } th { "outcome" } th { "region" } th { "tags" } } }
                tbody {
                    @for q in &rows {
                        tr {
                            td.when { (q.asked_at.format("%Y-%m-%d %H:%M")) }
                            td { a href={ "/questions/" (q.id) } { (q.text) } }
                            td {
                                (q.outcome.label())
                                @if q.feedback == Some(crate::log::Feedback::Unhelpful) { br; small.bad { "not helpful" } }
                                @if q.feedback == Some(crate::log::Feedback::Helpful) { br; small.muted { "helpful" } }
                                @if q.review.state == ReviewState::Reviewed { br; small.muted { "reviewed" } }
                            }
                            td { (q.region.as_deref().unwrap_or("–")) }
                            td { @for t in &q.review.tags { span.tag { (t) } " " } }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager {
                @if page_no > 1 { a href=(p.link("/queue", Some(page_no - 1))) { "← newer" } }
                @if page_no < pages { a href=(p.link("/queue", Some(page_no + 1))) { "older →" } }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout(heading, Some(&who), Nav::Queue, body),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::enc;
    use super::*;

    #[test]
    fn page_numbers_are_bounded() {
        let page = |s: &str| {
            QueueParams {
                page: s.into(),
                ..Default::default()
            }
            .page()
        };
        assert_eq!(page(""), 1);
        assert_eq!(page("0"), 1);
        assert_eq!(page("-3"), 1);
        assert_eq!(page("x"), 1);
        assert_eq!(page("7"), 7);
        assert_eq!(page("9223372036854775807"), MAX_PAGE);
        assert_eq!(page("18446744073709551615"), MAX_PAGE);
        assert_eq!(page("99999999999999999999999"), MAX_PAGE);
    }

    #[test]
    fn queue_filters() {
        let p = QueueParams {
            outcome: "no_answer".into(),
            from: "2025-03-01".into(),
            to: "2025-03-31".into(),
            q: " sick ".into(),
            ..Default::default()
        };
        let f = p.filter().unwrap();
        assert!(f.queue);
        assert_eq!(f.text.as_deref(), Some("sick"));
        assert_eq!(f.until.unwrap().to_rfc3339(), "2025-04-01T00:00:00+00:00");
        assert!(
            QueueParams {
                outcome: "bogus".into(),
                ..Default::default()
            }
            .filter()
            .is_err()
        );
        assert!(
            QueueParams {
                from: "March".into(),
                ..Default::default()
            }
            .filter()
            .is_err()
        );
        let bad = QueueParams {
            outcome: "bogus".into(),
            to: "tomorrow".into(),
            ..Default::default()
        };
        let why = bad.filter().unwrap_err().to_string();
        assert!(why.starts_with("outcome: `bogus` is not one of "), "{why}");
        let bad = QueueParams {
            to: " tomorrow ".into(),
            ..Default::default()
        };
        assert_eq!(
            bad.filter().unwrap_err().to_string(),
            "to: `tomorrow` is not a date (YYYY-MM-DD)"
        );
        assert_eq!(enc("a b&c/é"), "a%20b%26c%2F%C3%A9");
        assert_eq!(
            p.link("/queue", Some(2)),
            "/queue?outcome=no_answer&from=2025-03-01&to=2025-03-31&q=%20sick%20&page=2"
        );
    }
}
