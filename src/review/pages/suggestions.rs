//! The suggestions page: reviewers' "should have been answered by" entries, grouped by entry,
//! as a YAML snippet of `questions:` lines to paste into the content; and the questions they
//! tagged "out of scope" that the bot answered or clarified, as `decline_only:` examples for
//! `out-of-scope.yaml`.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

use crate::log::store::Filter;
use crate::log::{Outcome, Question};
use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::question::OUT_OF_SCOPE;
use super::title_of;

/// `?format=` for the `questions:` snippet.
const FORMAT_QUESTIONS: &str = "yaml";
/// `?format=` for the `decline_only:` snippet.
const FORMAT_DECLINE: &str = "decline-yaml";
/// Questions read at a time when gathering the ones tagged "out of scope".
const PAGE: usize = 500;

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
        let text = squeeze(&s.question);
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

/// Text with its spacing collapsed: how a proposed line is written.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a tag is "out of scope", case and spacing ignored.
fn is_out_of_scope(tag: &str) -> bool {
    squeeze(tag).to_lowercase() == OUT_OF_SCOPE
}

/// A question reviewers tagged "out of scope" that the bot did not decline: a proposed
/// `decline_only:` example, with the questions (and how the bot met each) that propose it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decline {
    pub text: String,
    pub questions: Vec<(i64, Outcome)>,
    /// Already an example in `out-of-scope.yaml` (either list): left out of the snippet,
    /// which `check` would refuse as a duplicate.
    pub listed: bool,
}

/// The questions tagged "out of scope" (case and spacing ignored) that the bot answered or
/// clarified (a declined one was already right), each text once (case and spacing ignored),
/// in the order given. `listed` is the live content's out-of-scope examples.
pub(crate) fn group_declines(questions: &[Question], listed: &[String]) -> Vec<Decline> {
    let listed: HashSet<String> = listed.iter().map(|t| squeeze(t).to_lowercase()).collect();
    let mut out: Vec<Decline> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for q in questions {
        if !matches!(q.outcome, Outcome::Answer | Outcome::Clarify)
            || !q.review.tags.iter().any(|t| is_out_of_scope(t))
        {
            continue;
        }
        let text = squeeze(&q.text);
        if text.is_empty() {
            continue;
        }
        let key = text.to_lowercase();
        match index.get(&key) {
            Some(&i) => {
                if !out[i].questions.iter().any(|(id, _)| *id == q.id) {
                    out[i].questions.push((q.id, q.outcome));
                }
            }
            None => {
                index.insert(key.clone(), out.len());
                out.push(Decline {
                    listed: listed.contains(&key),
                    text,
                    questions: vec![(q.id, q.outcome)],
                });
            }
        }
    }
    out
}

/// The snippet for `out-of-scope.yaml`: `decline_only:` then `  - "question"` lines (YAML
/// double-quoted scalars), leaving out examples already there. The `- ` lines paste straight
/// under the file's own `decline_only:`.
pub(crate) fn decline_yaml(declines: &[Decline]) -> String {
    let mut out = String::from(
        "# Proposed `decline_only:` examples from the workhealth review app: questions reviewers\n\
         # tagged \"out of scope\" that the bot answered or clarified. Check each (reword any that\n\
         # could still identify someone), then paste the `- ` lines under `decline_only:` at the\n\
         # end of content/out-of-scope.yaml.\n",
    );
    let new: Vec<&Decline> = declines.iter().filter(|d| !d.listed).collect();
    if new.is_empty() {
        out.push_str("decline_only: []\n");
        return out;
    }
    out.push_str("decline_only:\n");
    for d in new {
        out.push_str("  - ");
        out.push_str(&yaml_string(&d.text));
        out.push('\n');
    }
    out
}

/// Every question with an "out of scope" tag (however spelt) that the bot answered or
/// clarified, oldest first.
fn marked_out_of_scope(
    s: &mut dyn crate::log::ReadStore,
) -> Result<Vec<Question>, crate::log::LogError> {
    let tags: Vec<String> = s
        .tags()?
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| is_out_of_scope(t))
        .collect();
    let mut out: Vec<Question> = Vec::new();
    for tag in tags {
        for outcome in [Outcome::Answer, Outcome::Clarify] {
            let filter = Filter {
                tag: Some(tag.clone()),
                outcome: Some(outcome),
                ..Filter::default()
            };
            let mut offset = 0;
            loop {
                let page = s.questions(&filter, PAGE, offset)?;
                let n = page.len();
                out.extend(page);
                if n < PAGE {
                    break;
                }
                offset += n;
            }
        }
    }
    out.sort_by_key(|q| (q.asked_at, q.id));
    out.dedup_by_key(|q| q.id);
    Ok(out)
}

fn yaml_download(filename: &str, body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/yaml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn suggestions(
    State(state): State<AppState>,
    Extension(who): Extension<Authed>,
    Query(p): Query<SuggestionParams>,
) -> Result<Response, AppError> {
    let assistant = state.live.get();
    let content = assistant.content();
    if p.format == FORMAT_DECLINE {
        let marked = with_store(&state, marked_out_of_scope).await?;
        let declines = group_declines(&marked, &content.off_topic);
        return Ok(yaml_download(
            "workhealth-decline-only.yaml",
            decline_yaml(&declines),
        ));
    }
    let all = with_store(&state, |s| s.suggestions()).await?;
    let groups = group_suggestions(&all);
    if p.format == FORMAT_QUESTIONS {
        return Ok(yaml_download(
            "workhealth-suggestions.yaml",
            suggestions_yaml(&groups),
        ));
    }
    let marked = with_store(&state, marked_out_of_scope).await?;
    let declines = group_declines(&marked, &content.off_topic);
    let any_new = declines.iter().any(|d| !d.listed);
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
        h2 #decline { "Should have been declined" }
        p {
            "Questions tagged “" (OUT_OF_SCOPE) "” that the bot answered or clarified (a declined one was already right) become proposed "
            code { "decline_only:" } " examples for " code { "content/out-of-scope.yaml" } ". "
            @if any_new {
                a href={ "/suggestions?format=" (FORMAT_DECLINE) } download="workhealth-decline-only.yaml" { "Download as YAML" }
                " to paste under its " code { "decline_only:" } "."
            }
        }
        @if declines.is_empty() {
            p.empty { "None yet. Tag a question “" (OUT_OF_SCOPE) "” when the bot answered something it should have declined." }
        } @else {
            section.suggestion {
                ul {
                    @for d in &declines {
                        li {
                            code { "- " (yaml_string(&d.text)) }
                            " "
                            @if d.listed {
                                span.muted { "(already in out-of-scope.yaml)" } " "
                            }
                            @for (id, outcome) in &d.questions {
                                a.small href={ "/questions/" (id) } { (outcome.label()) } " "
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::store::Suggestion;
    use std::collections::BTreeMap;

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

    fn marked(id: i64, text: &str, outcome: Outcome, tags: &[&str]) -> Question {
        Question {
            id,
            asked_at: chrono::Utc::now(),
            region: None,
            channel: "telegram".into(),
            text: text.into(),
            outcome,
            results: Vec::new(),
            shown_id: None,
            content_digest: String::new(),
            reply_text: None,
            feedback: None,
            feedback_at: None,
            review: crate::log::Review {
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn decline_snippet_is_quoted_deduped_and_only_what_was_not_declined() {
        let oos = &["out of scope"][..];
        let questions = [
            marked(1, "best till for a \"café\": #1?", Outcome::Answer, oos),
            marked(2, "Best  till for a \"CAFÉ\": #1?", Outcome::Clarify, oos),
            marked(3, "how do i register for vat", Outcome::NoAnswer, oos),
            marked(4, "my dog is poorly", Outcome::Crisis, oos),
            marked(5, "hi there", Outcome::SmallTalk, oos),
            marked(6, "jury service pay?", Outcome::Answer, &["wrong answer"]),
            marked(
                7,
                "  which  van lease\tfor [email]  ",
                Outcome::Clarify,
                &["Out of  Scope"],
            ),
            marked(
                8,
                "Which till system is best for a small café",
                Outcome::Answer,
                oos,
            ),
            marked(1, "best till for a \"café\": #1?", Outcome::Answer, oos),
        ];
        let listed = ["which till system is best for a  small café".to_string()];
        let declines = group_declines(&questions, &listed);
        let texts: Vec<&str> = declines.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "best till for a \"café\": #1?",
                "which van lease for [email]",
                "Which till system is best for a small café",
            ]
        );
        assert_eq!(
            declines[0].questions,
            vec![(1, Outcome::Answer), (2, Outcome::Clarify)]
        );
        assert_eq!(declines[1].questions, vec![(7, Outcome::Clarify)]);
        assert!(!declines[0].listed && !declines[1].listed && declines[2].listed);

        let y = decline_yaml(&declines);
        assert!(
            y.contains(
                "\ndecline_only:\n  - \"best till for a \\\"café\\\": #1?\"\n  - \"which van lease for [email]\"\n"
            ),
            "{y}"
        );
        assert!(!y.contains("small café"), "already listed: {y}");
        assert!(!y.contains("vat") && !y.contains("jury"), "{y}");
        let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(
            parsed["decline_only"],
            vec![
                "best till for a \"café\": #1?",
                "which van lease for [email]"
            ]
        );

        // Nothing new: still valid YAML, an empty list.
        let y = decline_yaml(&group_declines(&questions[2..6], &[]));
        let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&y).unwrap();
        assert!(parsed["decline_only"].is_empty(), "{y}");
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
}
