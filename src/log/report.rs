//! Reports over the log for operators and reviewers: the `log stats` text and the CSV export.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::store::{Filter, ReadStore, Stats};
use super::{LogError, Question};

/// `log stats` as plain text.
pub fn stats_text(s: &Stats, since_days: Option<u32>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let period = match since_days {
        Some(d) => format!("in the last {d} day(s)"),
        None => "in the whole log".to_string(),
    };
    let pct = |n: u64| format!("{:.1}%", 100.0 * s.share(n));
    let _ = writeln!(out, "questions {period}: {}", s.questions);
    let _ = writeln!(
        out,
        "answered {} ({})  clarified {} ({})  unanswered {} ({})  crisis {} ({})",
        s.answered,
        pct(s.answered),
        s.clarified,
        pct(s.clarified),
        s.unanswered,
        pct(s.unanswered),
        s.crisis,
        pct(s.crisis)
    );
    match s.helpful_rate() {
        Some(r) => {
            let _ = writeln!(
                out,
                "helpful rate: {:.1}% ({} 👍, {} 👎)",
                100.0 * r,
                s.helpful,
                s.unhelpful
            );
        }
        None => {
            let _ = writeln!(out, "helpful rate: no feedback yet");
        }
    }
    let _ = writeln!(out, "top entries:");
    if s.top_entries.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (id, n) in &s.top_entries {
        let _ = writeln!(out, "  {n:>5}  {id}");
    }
    let _ = writeln!(out, "top unanswered questions:");
    if s.top_unanswered.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (q, n) in &s.top_unanswered {
        let _ = writeln!(out, "  {n:>5}  {q}");
    }
    out
}

/// A cell made safe for spreadsheets: text starting with `= + - @` (or a tab or carriage
/// return) would run as a formula, so it gets a leading apostrophe.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

pub const CSV_HEADER: [&str; 15] = [
    "id",
    "asked_at",
    "region",
    "channel",
    "outcome",
    "question",
    "shown_id",
    "top_results",
    "content_digest",
    "feedback",
    "feedback_at",
    "review_state",
    "tags",
    "note",
    "suggested_entry",
];

fn row(q: &Question) -> [String; 15] {
    let t = |d: &DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    [
        q.id.to_string(),
        t(&q.asked_at),
        q.region.clone().unwrap_or_default(),
        q.channel.clone(),
        q.outcome.as_str().to_string(),
        q.text.clone(),
        q.shown_id.clone().unwrap_or_default(),
        q.results
            .iter()
            .map(|(id, s)| format!("{id}:{s:.3}"))
            .collect::<Vec<_>>()
            .join(" "),
        q.content_digest.clone(),
        q.feedback
            .map(|f| f.as_str().to_string())
            .unwrap_or_default(),
        q.feedback_at.as_ref().map(t).unwrap_or_default(),
        q.review.state.as_str().to_string(),
        q.review.tags.join(" "),
        q.review.note.clone().unwrap_or_default(),
        q.review.suggested_entry.clone().unwrap_or_default(),
    ]
}

/// Writes the questions matching `filter` as RFC 4180 CSV (header row, CRLF line ends,
/// fields quoted where needed), oldest pages streamed in turn so memory stays flat.
pub fn export_csv(
    store: &mut dyn ReadStore,
    filter: &Filter,
    out: impl Write,
) -> Result<u64, LogError> {
    let io = LogError::Export;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(CSV_HEADER).map_err(io)?;
    const PAGE: usize = 1000;
    let mut offset = 0;
    let mut n = 0u64;
    loop {
        let page = store.questions(filter, PAGE, offset)?;
        for q in &page {
            let cells = row(q);
            w.write_record(cells.iter().map(|c| safe_cell(c).into_owned()))
                .map_err(io)?;
            n += 1;
        }
        if page.len() < PAGE {
            break;
        }
        offset += PAGE;
    }
    w.flush().map_err(|e| LogError::Export(e.into()))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formula_cells_are_defused() {
        for s in ["=1+1", "+44 191", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(safe_cell(s).starts_with('\''), "{s:?}");
        }
        for s in ["ssp", "", "1+1", "what is =", "'quoted"] {
            assert_eq!(safe_cell(s), s);
        }
    }
}
