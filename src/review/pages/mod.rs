//! The review pages: overview, queue, one question (and its review form), suggestions, the
//! CSV export and the reload action.

mod export;
mod overview;
mod question;
mod queue;
mod suggestions;

pub use export::{export_csv, reload};
pub use overview::overview;
pub use question::{question, review_question};
pub use queue::queue;
pub use suggestions::suggestions;

use chrono::{DateTime, Utc};

use crate::content::Content;
use crate::log::Outcome;

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

/// The queue's outcome choices: each outcome, and 👎 (a filter on feedback, not an outcome),
/// as query-string value and label.
pub(crate) fn outcome_choices() -> impl Iterator<Item = (&'static str, &'static str)> {
    Outcome::ALL
        .into_iter()
        .map(|o| (o.as_str(), o.label()))
        .chain([(UNHELPFUL, "marked not helpful")])
}

/// The outcome filter's value for questions marked 👎.
const UNHELPFUL: &str = "unhelpful";

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
