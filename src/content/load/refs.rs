//! Cross-references: what no single file can check. Ids are unique across guidance and
//! programmes; every reference to an id, topic, programme or region names one that exists
//! (or suggests the nearest); the same question listed under two entries is a warning.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::Loader;
use crate::content::diag::{Pos, did_you_mean};
use crate::content::raw::*;

/// The ids, topics and regions that exist, for checking references. A file that failed to
/// parse still counts by its file name, so one syntax error does not also show up as a
/// dangling reference everywhere it is linked.
pub(super) struct Refs<'a> {
    pub guidance: &'a HashSet<&'a str>,
    pub programmes: &'a HashSet<&'a str>,
    pub topics: &'a HashSet<&'a str>,
    pub regions: &'a HashSet<&'a str>,
}

impl Loader {
    /// Reports every id defined twice across guidance and programmes, at both places.
    pub(super) fn unique_ids<'a>(&mut self, ids: impl Iterator<Item = (&'a Path, &'a S<String>)>) {
        let mut seen: HashMap<String, Pos> = HashMap::new();
        for (path, id) in ids {
            let pos = Pos::of(path, id);
            if let Some(first) = seen.get(&id.value) {
                self.d.error(
                    pos.clone(),
                    format!("duplicate id `{}`: also defined at {first}", id.value),
                );
                self.d.error(
                    first.clone(),
                    format!("duplicate id `{}`: also defined at {pos}", id.value),
                );
            } else {
                seen.insert(id.value.clone(), pos);
            }
        }
    }

    pub(super) fn reference(
        &mut self,
        path: &Path,
        r: &S<String>,
        known: &HashSet<&str>,
        what: &str,
    ) {
        if !known.contains(r.value.as_str()) {
            let hint = did_you_mean(&r.value, known.iter().copied());
            self.d.error(
                Pos::of(path, r),
                format!("unknown {what} `{}`{hint}", r.value),
            );
        }
    }

    /// Warns, at both places, when two entries (or programmes) list the same question: the
    /// ranking cannot tell which should answer it. A question listed twice in one entry is
    /// a warning too.
    pub(super) fn duplicate_questions<'a>(
        &mut self,
        owners: impl Iterator<Item = (&'a Path, &'a String, &'a Vec<S<String>>)>,
    ) {
        let mut seen: HashMap<String, (String, Pos)> = HashMap::new();
        for (path, id, questions) in owners {
            for q in questions {
                let key = normalise_question(&q.value);
                if key.is_empty() {
                    continue;
                }
                let pos = Pos::of(path, q);
                match seen.get(&key) {
                    Some((other, first)) if other != id => {
                        self.d.warning(
                            pos.clone(),
                            format!(
                                "the question \"{}\" is also under `{other}` ({first}): keep it \
                                 under one entry only",
                                q.value.trim()
                            ),
                        );
                        self.d.warning(
                            first.clone(),
                            format!(
                                "the question \"{}\" is also under `{id}` ({pos}): keep it \
                                 under one entry only",
                                q.value.trim()
                            ),
                        );
                    }
                    Some((_, first)) => {
                        self.d.warning(
                            pos,
                            format!(
                                "the question \"{}\" is listed twice (also at {first})",
                                q.value.trim()
                            ),
                        );
                    }
                    None => {
                        seen.insert(key, (id.clone(), pos));
                    }
                }
            }
        }
    }

    /// An out-of-scope example that is also an entry's or a programme's question would turn
    /// that question away: an error at the example.
    pub(super) fn off_topic_questions<'a>(
        &mut self,
        path: &Path,
        examples: impl IntoIterator<Item = &'a S<String>>,
        owners: impl Iterator<Item = (&'a Path, &'a String, &'a Vec<S<String>>)>,
    ) {
        let asked: HashMap<String, &String> = owners
            .flat_map(|(_, id, qs)| qs.iter().map(move |q| (normalise_question(&q.value), id)))
            .collect();
        for e in examples {
            if let Some(id) = asked.get(&normalise_question(&e.value)) {
                self.d.error(
                    Pos::of(path, e),
                    format!(
                        "out-of-scope example `{}` is also a question of `{id}`",
                        e.value.trim()
                    ),
                );
            }
        }
    }
}

/// A question as the ranking sees it: lower case, single spaces, no closing punctuation.
fn normalise_question(q: &str) -> String {
    let words: Vec<&str> = q.split_whitespace().collect();
    words
        .join(" ")
        .to_lowercase()
        .trim_end_matches(['?', '.', '!', ' '])
        .to_string()
}
