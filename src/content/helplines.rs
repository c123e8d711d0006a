//! `helplines.yaml`: the helpline a reply with no answer names, and the programmes "Talk to
//! someone" lists first, so editors change them without a release. Its raw type (read like
//! every file, unknown fields and positions included), its checks and its model: the no-answer
//! helpline is a programme with a phone number (its name and number come from its file, never
//! written twice), every id resolves, `reviewed` is a date and `sources` are https.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use super::diag::{Diagnostics, Pos, did_you_mean};
use super::model::{NATIONAL, Programme, Source};
use super::raw::{RawSource, S, Shape, Shaped};

/// The file, under the content root.
pub const FILE: &str = "helplines.yaml";

/// Longest `gives:` ("free, confidential employment advice"): a few words in a sentence.
pub const GIVES_MAX: usize = 100;

/// Who the bot points to when it cannot help itself, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helplines {
    /// The helpline a reply with no answer names; `None` only in content built by hand.
    pub no_answer: Option<NoAnswerLine>,
    /// Programme ids "Talk to someone" lists first, in this order (each resolves).
    pub talk_to_someone: Vec<String>,
    pub sources: Vec<Source>,
    pub reviewed: NaiveDate,
    pub path: PathBuf,
}

/// The helpline named under "I don't have guidance on that": a programme, its name and phone
/// number from its file, and what it gives in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswerLine {
    pub programme: String,
    pub name: String,
    pub phone: String,
    pub gives: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawHelplines {
    pub no_answer: RawNoAnswer,
    pub talk_to_someone: S<Vec<S<String>>>,
    pub sources: S<Vec<RawSource>>,
    pub reviewed: S<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawNoAnswer {
    pub programme: S<String>,
    pub gives: S<String>,
}

impl Shaped for RawHelplines {
    fn nested() -> Vec<(&'static str, Shape)> {
        vec![
            ("no_answer", RawNoAnswer::shape()),
            ("sources", RawSource::shape()),
        ]
    }
}

impl Shaped for RawNoAnswer {}

/// Checks `helplines.yaml` against the programmes (`known`: every programme id, those whose
/// file did not parse included, so one broken file is not also reported here) and builds it.
pub(super) fn build(
    d: &mut Diagnostics,
    path: &Path,
    raw: &RawHelplines,
    known: &HashSet<&str>,
    programmes: &[Programme],
    today: NaiveDate,
) -> Helplines {
    let programme = |id: &str| programmes.iter().find(|p| p.id == id);
    let reference = |d: &mut Diagnostics, id: &S<String>| {
        let ok = known.contains(id.value.as_str());
        if !ok {
            let hint = did_you_mean(&id.value, known.iter().copied());
            d.error(
                Pos::of(path, id),
                format!("unknown programme `{}`{hint}", id.value),
            );
        }
        ok
    };

    let line = &raw.no_answer;
    let gives = line.gives.value.trim();
    if gives.is_empty() {
        d.error(Pos::of(path, &line.gives), "gives is empty");
    } else if gives.chars().count() > GIVES_MAX {
        d.error(
            Pos::of(path, &line.gives),
            format!(
                "gives is {} characters; at most {GIVES_MAX} allowed (a few words: it is read as \"<name> gives <gives> on <phone>\")",
                gives.chars().count()
            ),
        );
    }
    let mut no_answer = None;
    if reference(d, &line.programme)
        && let Some(p) = programme(&line.programme.value)
    {
        match &p.contact.phone {
            Some(phone) => {
                no_answer = Some(NoAnswerLine {
                    programme: p.id.clone(),
                    name: p.name.clone(),
                    phone: phone.clone(),
                    gives: gives.to_string(),
                })
            }
            None => d.error(
                Pos::of(path, &line.programme),
                format!(
                    "programme `{}` has no phone under `contact:` for the no-answer reply to give",
                    p.id
                ),
            ),
        }
    }

    if raw.talk_to_someone.value.is_empty() {
        d.error(
            Pos::of(path, &raw.talk_to_someone),
            "talk_to_someone is empty: list at least one programme",
        );
    }
    let mut seen = HashSet::new();
    let mut talk_to_someone = Vec::new();
    for id in &raw.talk_to_someone.value {
        if !seen.insert(id.value.as_str()) {
            d.error(
                Pos::of(path, id),
                format!("programme `{}` is listed twice", id.value),
            );
        } else if reference(d, id) {
            if let Some(p) = programme(&id.value)
                && !p.is_national()
            {
                d.warning(
                    Pos::of(path, id),
                    format!(
                        "programme `{}` is not {NATIONAL}, but talk_to_someone lists it in every region",
                        id.value
                    ),
                );
            }
            talk_to_someone.push(id.value.clone());
        }
    }

    if raw.sources.value.is_empty() {
        d.error(Pos::of(path, &raw.sources), "no sources: cite at least one");
    }
    let mut sources = Vec::new();
    for src in &raw.sources.value {
        if src.title.value.trim().is_empty() {
            d.error(Pos::of(path, &src.title), "source title is empty");
        }
        let url = src.url.value.trim();
        if url.starts_with("https://")
            && url.len() > "https://".len()
            && !url.contains(char::is_whitespace)
        {
            sources.push(Source {
                title: src.title.value.trim().to_string(),
                url: url.to_string(),
                pos: Pos::of(path, &src.url),
            });
        } else {
            d.error(
                Pos::of(path, &src.url),
                format!("link `{url}` must be an https:// URL"),
            );
        }
    }

    let reviewed = match NaiveDate::parse_from_str(raw.reviewed.value.trim(), "%Y-%m-%d") {
        Ok(date) => {
            if date > today {
                d.warning(
                    Pos::of(path, &raw.reviewed),
                    format!("reviewed date {date} is in the future"),
                );
            }
            date
        }
        Err(_) => {
            d.error(
                Pos::of(path, &raw.reviewed),
                format!("`{}` is not a date (YYYY-MM-DD)", raw.reviewed.value),
            );
            NaiveDate::MIN
        }
    };

    Helplines {
        no_answer,
        talk_to_someone,
        sources,
        reviewed,
        path: path.to_path_buf(),
    }
}
