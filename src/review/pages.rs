//! The review pages: overview, queue, one question (and its review form), suggestions, the
//! CSV export and the reload action.

use std::collections::{BTreeMap, HashMap};

use axum::Extension;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::charts::{self, Point};
use super::{AppError, Authed, Nav, layout, page, with_store};
use crate::content::Content;
use crate::log::store::{ReviewUpdate, WriteOp};
use crate::log::{Filter, OUTCOMES, Question, report};
use crate::serve::AppState;

/// Rows on one page of the queue.
pub const PAGE_SIZE: usize = 50;
/// The highest page number asked for that is honoured (a larger one shows this page).
pub const MAX_PAGE: usize = 1_000_000;
/// Tags offered as checkboxes on a question's page.
pub const QUICK_TAGS: [(&str, &str); 3] = [
    ("tag_content_gap", "content gap"),
    ("tag_wrong_answer", "wrong answer"),
    ("tag_out_of_scope", "out of scope"),
];
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 64;
const MAX_NOTE_CHARS: usize = 4000;

pub(crate) fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The title of an entry or programme id in the live content, if it is there.
pub(crate) fn title_of(content: &Content, id: &str) -> Option<String> {
    content
        .entry(id)
        .map(|e| e.title.clone())
        .or_else(|| content.programme(id).map(|p| p.name.clone()))
}

/// What reviewers call an outcome.
pub(crate) fn outcome_label(o: &str) -> &str {
    match o {
        "answer" => "answered",
        "clarify" => "clarified",
        "no_answer" => "unanswered",
        "crisis" => "crisis",
        "smalltalk" => "small talk",
        "unhelpful" => "marked not helpful",
        other => other,
    }
}

/// Percent-encodes a query-string component.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

// ---------------------------------------------------------------------------------- overview

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

// ------------------------------------------------------------------------------------- queue

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

fn date_param(s: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{what}: `{s}` is not a date (YYYY-MM-DD)"))
}

impl QueueParams {
    pub fn all(&self) -> bool {
        self.all == "1"
    }

    /// The store filter, or what is wrong with the parameters.
    pub fn filter(&self) -> Result<Filter, String> {
        let some = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let outcome = some(&self.outcome);
        if let Some(o) = &outcome
            && !OUTCOMES.contains(&o.as_str())
            && o != "unhelpful"
        {
            return Err(format!(
                "outcome: `{o}` is not one of answer, clarify, no_answer, crisis, smalltalk, unhelpful"
            ));
        }
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
    let filter = p.filter().map_err(AppError::BadRequest)?;
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
                    @for o in OUTCOMES.iter().copied().chain(["unhelpful"]) {
                        option value=(o) selected[p.outcome == o] { (outcome_label(o)) }
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
                                (outcome_label(&q.outcome))
                                @if q.feedback == Some(crate::log::Feedback::Unhelpful) { br; small.bad { "not helpful" } }
                                @if q.feedback == Some(crate::log::Feedback::Helpful) { br; small.muted { "helpful" } }
                                @if q.review.state == "reviewed" { br; small.muted { "reviewed" } }
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

// ---------------------------------------------------------------------------------- question

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
            dt { "outcome" } dd { (outcome_label(&q.outcome)) }
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
                (q.review.state)
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
                input type="checkbox" name="reviewed" value="1" checked[q.review.state == "reviewed"];
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
    fn tag_list(&self) -> Result<Vec<String>, String> {
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
                return Err(format!("a tag is longer than {MAX_TAG_CHARS} characters"));
            }
            out.push(t);
        }
        if out.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags"));
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
    let tags = form.tag_list().map_err(AppError::BadRequest)?;
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

// ------------------------------------------------------------------------------- suggestions

#[derive(Debug, Deserialize, Default)]
pub struct SuggestionParams {
    #[serde(default)]
    format: String,
}

/// An entry id and its proposed questions, each with the ids of the questions proposing it.
pub(crate) type EntrySuggestions = (String, Vec<(String, Vec<i64>)>);

/// The suggestions grouped by entry, each question once (case and spacing ignored), with the
/// ids of the questions that proposed it.
pub(crate) fn group_suggestions(all: &[crate::log::store::Suggestion]) -> Vec<EntrySuggestions> {
    let mut out: Vec<EntrySuggestions> = Vec::new();
    for s in all {
        if out.last().is_none_or(|(e, _)| *e != s.entry) {
            out.push((s.entry.clone(), Vec::new()));
        }
        let Some((_, lines)) = out.last_mut() else {
            continue;
        };
        let text = s.question.split_whitespace().collect::<Vec<_>>().join(" ");
        match lines
            .iter_mut()
            .find(|(t, _)| t.to_lowercase() == text.to_lowercase())
        {
            Some((_, ids)) => ids.push(s.question_id),
            None => lines.push((text, vec![s.question_id])),
        }
    }
    out
}

/// A YAML double-quoted scalar for any text: `"` and `\` escaped, and every character outside
/// YAML's printable set (C0 and C1 controls, DEL, U+FEFF, U+FFFE, U+FFFF), line and paragraph
/// separators and the next-line character written as escapes, so the result is always valid
/// YAML and reads back as the same text.
pub(crate) fn yaml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML key: entry ids are already plain (`a-z0-9-`); anything else is quoted.
fn yaml_key(id: &str) -> String {
    let plain = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if plain {
        id.to_string()
    } else {
        yaml_string(id)
    }
}

/// The snippet editors paste: `entry-id:` then `  - "question"` lines (YAML double-quoted
/// scalars, valid whatever the question holds).
pub(crate) fn suggestions_yaml(groups: &[EntrySuggestions]) -> String {
    let mut out = String::from(
        "# Proposed `questions:` lines from the workhealth review app: questions reviewers said\n\
         # these entries should have answered. Check each before adding it to the entry's file.\n",
    );
    for (entry, lines) in groups {
        out.push_str(&yaml_key(entry));
        out.push_str(":\n");
        for (text, _) in lines {
            out.push_str("  - ");
            out.push_str(&yaml_string(text));
            out.push('\n');
        }
    }
    out
}

pub async fn suggestions(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Query(p): Query<SuggestionParams>,
) -> Result<Response, AppError> {
    let all = with_store(&state, |s| s.suggestions()).await?;
    let groups = group_suggestions(&all);
    if p.format == "yaml" {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/yaml; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"workhealth-suggestions.yaml\"",
                ),
            ],
            suggestions_yaml(&groups),
        )
            .into_response());
    }
    let assistant = state.live.get();
    let content = assistant.content();
    let body = html! {
        h1 { "Suggestions" }
        p {
            "Every “should have been answered by” becomes a proposed " code { "questions:" }
            " line for that entry. "
            @if !groups.is_empty() {
                a href="/suggestions?format=yaml" download="workhealth-suggestions.yaml" { "Download as YAML" }
                " for editors."
            }
        }
        @if groups.is_empty() {
            p.empty { "No suggestions yet. Open a question and choose the entry that should have answered it." }
        }
        @for (entry, lines) in &groups {
            section.suggestion {
                h2 {
                    (title_of(content, entry).unwrap_or_else(|| "(not in the live content)".into()))
                    " " code { (entry) }
                }
                ul {
                    @for (text, ids) in lines {
                        li {
                            code { "- " (yaml_string(text)) }
                            " "
                            @for id in ids {
                                a.small href={ "/questions/" (id) } { "question" } " "
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Suggestions", Some(&who), Nav::Suggestions, body),
    ))
}

// ------------------------------------------------------------------------------ export, reload

pub async fn export_csv(
    State(state): State<AppState>,
    Query(p): Query<QueueParams>,
) -> Result<Response, AppError> {
    let filter = p.filter().map_err(AppError::BadRequest)?;
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
        .map_err(|e| AppError::Internal(format!("the reload task failed: {e}")))?;
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
                pre { (errors) }
                p { a href="/" { "Back to the overview" } }
            },
        ),
    };
    Ok(page(status, layout("Reload", Some(&who), Nav::None, body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::store::Suggestion;

    #[test]
    fn yaml_snippet_is_quoted_and_grouped() {
        let s = |e: &str, q: &str, id| Suggestion {
            entry: e.into(),
            question: q.into(),
            question_id: id,
        };
        let groups = group_suggestions(&[
            s("jury-service", "Do I pay staff on \"jury\" service?", 1),
            s("jury-service", "do I pay  staff on \"jury\" service?", 2),
            s("jury-service", "jury: #1 - what now?", 3),
            s("ssp-eligibility", "ssp for [email]", 4),
        ]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].1.len(), 2, "{groups:?}");
        assert_eq!(groups[0].1[0].1, vec![1, 2]);
        let y = suggestions_yaml(&groups);
        assert!(
            y.contains("jury-service:\n  - \"Do I pay staff on \\\"jury\\\" service?\"\n"),
            "{y}"
        );
        assert!(y.contains("  - \"jury: #1 - what now?\"\n"), "{y}");
        assert!(
            y.contains("ssp-eligibility:\n  - \"ssp for [email]\"\n"),
            "{y}"
        );
        let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(parsed["jury-service"][1], "jury: #1 - what now?");
        assert_eq!(yaml_key("a: b"), "\"a: b\"");
    }

    #[test]
    fn yaml_strings_are_valid_for_any_text() {
        let texts = [
            "plain",
            "quote \" and backslash \\ and : # - [ ] { }",
            "DEL \u{7f} here",
            "C1 \u{80}\u{85}\u{9f} controls",
            "NUL \u{0} and bell \u{7} and escape \u{1b}",
            "tab\tnewline\ncarriage\r",
            "separators \u{2028} \u{2029} and BOM \u{feff} and \u{fffe}\u{ffff}",
            "emoji 😀 and Welsh ŵ and RTL \u{202e}",
        ];
        for t in texts {
            let y = yaml_string(t);
            // Only printable characters (YAML's c-printable, less the line breaks) remain.
            assert!(
                !y.chars().any(|c| c.is_control()
                    || matches!(
                        c,
                        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                    )),
                "{y:?}"
            );
            let doc = format!("entry:\n  - {y}\n");
            let parsed: BTreeMap<String, Vec<String>> =
                serde_saphyr::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
            assert_eq!(parsed["entry"], vec![t.to_string()], "{doc:?}");
        }
        let groups = group_suggestions(&[Suggestion {
            entry: "fit-notes".into(),
            question: "fit note \u{7f}\u{9b} question".into(),
            question_id: 1,
        }]);
        let y = suggestions_yaml(&groups);
        assert!(y.contains("\\x7f\\x9b"), "{y}");
        let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(parsed["fit-notes"][0], "fit note \u{7f}\u{9b} question");
    }

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
        assert_eq!(enc("a b&c/é"), "a%20b%26c%2F%C3%A9");
        assert_eq!(
            p.link("/queue", Some(2)),
            "/queue?outcome=no_answer&from=2025-03-01&to=2025-03-31&q=%20sick%20&page=2"
        );
    }

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
    }
}
