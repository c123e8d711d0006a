//! The suggestions page: reviewers' "should have been answered by" entries, grouped by entry,
//! as a YAML snippet of `questions:` lines to paste into the content.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use crate::review::{AppError, Authed, Nav, layout, page, with_store};
use crate::state::AppState;

use super::title_of;

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
