//! Building the typed model from the raw files: each value checked where it stands (ids,
//! empty and over-long text, Markdown, https links, dates, folded list items, crisis lists)
//! and turned into a [`Topic`], [`Region`], [`Entry`], [`Programme`] or [`Crisis`].
//! References to other files are checked through [`Refs`] (see [`super::refs`]).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{Months, NaiveDate};

use super::read::file_stem;
use super::refs::Refs;
use super::{ANSWER_MAX, HOW_TO_JOIN_MAX, Loader, SUMMARY_MAX};
use crate::content::diag::{Pos, did_you_mean};
use crate::content::markdown;
use crate::content::model::*;
use crate::content::raw::*;

impl Loader {
    pub(super) fn topics(&mut self, path: &Path, raw: RawTopics) -> Vec<Topic> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for t in raw.topics {
            self.id_syntax(path, &t.id);
            if !seen.insert(t.id.value.clone()) {
                self.d.error(
                    Pos::of(path, &t.id),
                    format!("duplicate topic id `{}`", t.id.value),
                );
            }
            self.non_empty(path, &t.title, "title");
            out.push(Topic {
                id: t.id.value,
                title: t.title.value,
            });
        }
        out
    }

    pub(super) fn regions(&mut self, path: &Path, raw: RawRegions) -> Vec<Region> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in raw.regions {
            self.id_syntax(path, &r.id);
            if !seen.insert(r.id.value.clone()) {
                self.d.error(
                    Pos::of(path, &r.id),
                    format!("duplicate region id `{}`", r.id.value),
                );
            }
            self.non_empty(path, &r.name, "name");
            for p in &r.places {
                self.non_empty(path, p, "place name");
            }
            out.push(Region {
                id: r.id.value,
                name: r.name.value,
                places: r.places.into_iter().map(|p| p.value).collect(),
            });
        }
        if !out.iter().any(|r| r.id == NATIONAL) {
            self.d.error(
                Pos::new(path, 1, 1),
                format!("regions.yaml must define the `{NATIONAL}` region"),
            );
        }
        out
    }

    pub(super) fn synonyms(&mut self, path: &Path, raw: RawSynonyms) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for g in raw.groups {
            if g.value.len() < 2 {
                self.d.error(
                    Pos::of(path, &g),
                    "a synonym group needs at least two terms",
                );
            }
            for t in &g.value {
                self.non_empty(path, t, "synonym");
            }
            out.push(
                g.value
                    .into_iter()
                    .map(|t| t.value.trim().to_string())
                    .collect(),
            );
        }
        out
    }

    pub(super) fn crisis(&mut self, path: &Path, raw: RawCrisis, refs: &Refs) -> Crisis {
        if raw.phrases.value.is_empty() {
            self.d.error(
                Pos::of(path, &raw.phrases),
                "crisis.yaml needs at least one phrase",
            );
        }
        for p in &raw.phrases.value {
            self.non_empty(path, p, "phrase");
            self.folded(path, p);
        }
        self.non_empty(path, &raw.message, "message");
        self.markdown(path, &raw.message);
        if let Some(e) = &raw.entry {
            self.reference(path, e, refs.guidance, "guidance entry");
        }
        for p in &raw.programmes {
            self.reference(path, p, refs.programmes, "programme");
        }
        let safe_phrases = self.text_list(path, &raw.safe_phrases, "safe phrase", &mut None);
        let s = raw.structure.unwrap_or_default();
        let list = |cx: &mut Self, l: &[S<String>], what: &str| {
            cx.text_list(path, l, &format!("structure {what} word"), &mut None)
        };
        let structure = CrisisStructure {
            people: list(self, &s.people, "people"),
            intents: list(self, &s.intents, "intents"),
            done: list(self, &s.done, "done"),
            means: list(self, &s.means, "means"),
            places: list(self, &s.places, "places"),
            acts: list(self, &s.acts, "acts"),
            emergencies: list(self, &s.emergencies, "emergencies"),
            weapons: list(self, &s.weapons, "weapons"),
            violence: list(self, &s.violence, "violence"),
            presence: list(self, &s.presence, "presence"),
            now: list(self, &s.now, "now"),
            past: list(self, &s.past, "past"),
            hypothetical: list(self, &s.hypothetical, "hypothetical"),
            safety: list(self, &s.safety, "safety"),
        };
        // Examples and contrasts share one table, so that the same message in both is caught too.
        let mut seen = Some(HashMap::new());
        let examples = self.text_list(path, &raw.examples, "crisis example", &mut seen);
        let not_crisis = self.text_list(path, &raw.not_crisis, "not_crisis example", &mut seen);
        Crisis {
            phrases: raw.phrases.value.into_iter().map(|p| p.value).collect(),
            safe_phrases,
            structure,
            examples,
            not_crisis,
            message: raw.message.value,
            entry: raw.entry.map(|e| e.value),
            programmes: raw.programmes.into_iter().map(|p| p.value).collect(),
        }
    }

    /// A list of strings (crisis phrases and examples, out-of-scope examples): each non-empty
    /// and not repeated (compared lower-cased, with spaces collapsed). `seen` carries earlier
    /// lists when duplicates across lists matter.
    pub(super) fn text_list(
        &mut self,
        path: &Path,
        items: &[S<String>],
        what: &str,
        seen: &mut Option<HashMap<String, Pos>>,
    ) -> Vec<String> {
        let mut local = HashMap::new();
        let seen = seen.as_mut().unwrap_or(&mut local);
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let pos = Pos::of(path, item);
            let text = item.value.trim();
            if text.is_empty() {
                self.d.error(pos, format!("{what} is empty"));
                continue;
            }
            let key = text
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(first) = seen.get(&key) {
                self.d
                    .error(pos, format!("duplicate {what} `{text}`: also at {first}"));
                continue;
            }
            seen.insert(key, pos);
            out.push(text.to_string());
        }
        out
    }

    pub(super) fn entry(
        &mut self,
        path: &Path,
        folder: Option<&str>,
        e: &RawEntry,
        refs: &Refs,
    ) -> Entry {
        self.item_id(path, &e.id);
        self.non_empty(path, &e.title, "title");
        if !refs.topics.contains(e.topic.value.as_str()) {
            self.d.error(
                Pos::of(path, &e.topic),
                format!(
                    "unknown topic `{}` (not in topics.yaml){}",
                    e.topic.value,
                    did_you_mean(&e.topic.value, refs.topics.iter().copied())
                ),
            );
        } else if folder.is_some_and(|f| f != e.topic.value) {
            self.d.error(
                Pos::of(path, &e.topic),
                format!(
                    "topic `{}` does not match the folder `{}` the file is in",
                    e.topic.value,
                    folder.unwrap_or_default()
                ),
            );
        }
        self.questions(path, &e.questions);
        self.text(path, &e.summary, "summary", SUMMARY_MAX);
        self.text(path, &e.answer, "answer", ANSWER_MAX);
        self.markdown(path, &e.answer);
        for p in &e.programmes {
            self.reference(path, p, refs.programmes, "programme");
        }
        for r in &e.related {
            self.reference(path, r, refs.guidance, "guidance entry");
            if r.value == e.id.value {
                self.d
                    .error(Pos::of(path, r), "an entry cannot be related to itself");
            }
        }
        let sources = self.sources(path, &e.sources);
        let reviewed = self.date(path, &e.reviewed);
        let review_by = e
            .review_by
            .as_ref()
            .map(|r| self.review_by(path, r, reviewed));
        Entry {
            id: e.id.value.clone(),
            title: e.title.value.trim().to_string(),
            topic: e.topic.value.clone(),
            questions: e
                .questions
                .value
                .iter()
                .map(|q| q.value.trim().to_string())
                .collect(),
            summary: e.summary.value.trim().to_string(),
            answer: e.answer.value.trim_end().to_string(),
            programmes: e.programmes.iter().map(|p| p.value.clone()).collect(),
            related: e.related.iter().map(|r| r.value.clone()).collect(),
            sources,
            reviewed,
            review_by: review_by.flatten(),
            path: path.to_path_buf(),
        }
    }

    pub(super) fn programme(&mut self, path: &Path, p: &RawProgramme, refs: &Refs) -> Programme {
        self.item_id(path, &p.id);
        self.non_empty(path, &p.name, "name");
        self.non_empty(path, &p.provider, "provider");
        if p.regions.value.is_empty() {
            self.d.error(
                Pos::of(path, &p.regions),
                format!("regions is empty (use [{NATIONAL}] for everywhere)"),
            );
        }
        for r in &p.regions.value {
            self.reference(path, r, refs.regions, "region");
        }
        self.text(path, &p.summary, "summary", SUMMARY_MAX);
        self.text(path, &p.how_to_join, "how_to_join", HOW_TO_JOIN_MAX);
        self.questions(path, &p.questions);
        let mut contact = Contact::default();
        if let Some(c) = &p.contact {
            if let Some(u) = &c.url
                && self.https(path, u)
            {
                contact.url = Some(Source {
                    title: p.name.value.clone(),
                    url: u.value.trim().to_string(),
                    pos: Pos::of(path, u),
                });
            }
            if let Some(ph) = &c.phone {
                self.non_empty(path, ph, "phone");
                if !ph.value.chars().any(|c| c.is_ascii_digit()) {
                    self.d.error(Pos::of(path, ph), "phone has no digits");
                }
                contact.phone = Some(ph.value.trim().to_string());
            }
            if let Some(em) = &c.email {
                let v = em.value.trim();
                let ok = v
                    .split_once('@')
                    .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !v.contains(' '));
                if !ok {
                    self.d
                        .error(Pos::of(path, em), format!("`{v}` is not an email address"));
                }
                contact.email = Some(v.to_string());
            }
        }
        let sources = self.sources(path, &p.sources);
        let reviewed = self.date(path, &p.reviewed);
        Programme {
            id: p.id.value.clone(),
            name: p.name.value.trim().to_string(),
            provider: p.provider.value.trim().to_string(),
            regions: p.regions.value.iter().map(|r| r.value.clone()).collect(),
            summary: p.summary.value.trim().to_string(),
            how_to_join: p.how_to_join.value.trim().to_string(),
            contact,
            questions: p
                .questions
                .value
                .iter()
                .map(|q| q.value.trim().to_string())
                .collect(),
            sources,
            reviewed,
            path: path.to_path_buf(),
        }
    }

    fn item_id(&mut self, path: &Path, id: &S<String>) {
        self.id_syntax(path, id);
        let stem = file_stem(path);
        if stem != id.value {
            self.d.error(
                Pos::of(path, id),
                format!(
                    "id `{}` does not match the file name `{stem}.yaml`",
                    id.value
                ),
            );
        }
    }

    fn id_syntax(&mut self, path: &Path, id: &S<String>) {
        let v = &id.value;
        let ok = !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !v.starts_with('-')
            && !v.ends_with('-')
            && !v.contains("--");
        if !ok {
            self.d.error(
                Pos::of(path, id),
                format!(
                    "id `{v}` must be kebab-case: lowercase letters, digits and single hyphens"
                ),
            );
        }
    }

    fn non_empty(&mut self, path: &Path, s: &S<String>, what: &str) {
        if s.value.trim().is_empty() {
            self.d.error(Pos::of(path, s), format!("{what} is empty"));
        }
    }

    fn text(&mut self, path: &Path, s: &S<String>, what: &str, max: usize) {
        self.non_empty(path, s, what);
        let n = s.value.trim().chars().count();
        if n > max {
            self.d.error(
                Pos::of(path, s),
                format!("{what} is {n} characters; at most {max} allowed"),
            );
        }
    }

    fn questions(&mut self, path: &Path, q: &S<Vec<S<String>>>) {
        if q.value.is_empty() {
            self.d.error(
                Pos::of(path, q),
                "questions is empty: add the ways people ask this",
            );
        }
        for item in &q.value {
            self.non_empty(path, item, "question");
            self.folded(path, item);
        }
    }

    /// Warns when a list item spans a line that starts with `- `: YAML has folded what was
    /// meant as the next item into this one, because it was indented further.
    fn folded(&mut self, path: &Path, item: &S<String>) {
        let span = item.referenced.span();
        let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) else {
            return;
        };
        let Some(source) = self.texts.get(path).and_then(|t| {
            let start = usize::try_from(start).ok()?;
            t.get(start..start.checked_add(usize::try_from(len).ok()?)?)
        }) else {
            return;
        };
        let folded: Vec<(u64, u64)> = source
            .lines()
            .enumerate()
            .skip(1)
            .filter(|(_, l)| l.trim_start().starts_with("- "))
            .map(|(i, l)| {
                let indent = l.len() - l.trim_start().len();
                (item.referenced.line() + i as u64, indent as u64 + 1)
            })
            .collect();
        for (line, col) in folded {
            self.d.warning(
                Pos::new(path, line, col),
                "this line starts with `- ` but is part of the item above (YAML folded the \
                 two into one because this line is indented further): indent it like the \
                 other items",
            );
        }
    }

    fn markdown(&mut self, path: &Path, s: &S<String>) {
        for v in markdown::violations(&s.value) {
            let before = &s.value[..v.offset];
            let line_in = before.matches('\n').count() as u64;
            let col_in = before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0) as u64;
            let start = &s.referenced;
            let pos = if line_in == 0 {
                Pos::new(path, start.line(), start.column() + col_in)
            } else {
                Pos::new(path, start.line() + line_in, start.column() + col_in)
            };
            self.d.error(pos, format!("Markdown: {}", v.message));
        }
    }

    fn https(&mut self, path: &Path, u: &S<String>) -> bool {
        let v = u.value.trim();
        let ok = v.starts_with("https://")
            && v.len() > "https://".len()
            && !v.contains(char::is_whitespace);
        if !ok {
            self.d.error(
                Pos::of(path, u),
                format!("link `{v}` must be an https:// URL"),
            );
        }
        ok
    }

    fn sources(&mut self, path: &Path, s: &S<Vec<RawSource>>) -> Vec<Source> {
        if s.value.is_empty() {
            self.d
                .error(Pos::of(path, s), "no sources: cite at least one");
        }
        let mut out = Vec::new();
        for src in &s.value {
            self.non_empty(path, &src.title, "source title");
            if self.https(path, &src.url) {
                out.push(Source {
                    title: src.title.value.trim().to_string(),
                    url: src.url.value.trim().to_string(),
                    pos: Pos::of(path, &src.url),
                });
            }
        }
        out
    }

    fn date(&mut self, path: &Path, s: &S<String>) -> NaiveDate {
        match NaiveDate::parse_from_str(s.value.trim(), "%Y-%m-%d") {
            Ok(date) => {
                let pos = Pos::of(path, s);
                if date > self.today {
                    self.d
                        .warning(pos, format!("reviewed date {date} is in the future"));
                } else if self
                    .today
                    .checked_sub_months(Months::new(12))
                    .is_some_and(|limit| date < limit)
                {
                    self.d.warning(
                        pos,
                        format!(
                            "reviewed {date}, more than 12 months ago: check it against its sources"
                        ),
                    );
                }
                date
            }
            Err(_) => {
                self.d.error(
                    Pos::of(path, s),
                    format!("`{}` is not a date (YYYY-MM-DD)", s.value),
                );
                NaiveDate::MIN
            }
        }
    }

    /// Parses `review_by` like `reviewed`; warns (never errors) once the date has passed, so
    /// stale figures are flagged without stopping the bot. `None` when it is not a date.
    fn review_by(&mut self, path: &Path, s: &S<String>, reviewed: NaiveDate) -> Option<NaiveDate> {
        let pos = Pos::of(path, s);
        match NaiveDate::parse_from_str(s.value.trim(), "%Y-%m-%d") {
            Ok(date) => {
                if date < self.today {
                    self.d.warning(
                        pos,
                        format!(
                            "review_by {date} has passed: re-check the figures and dates in this entry against its sources, then set reviewed and a new review_by"
                        ),
                    );
                } else if reviewed != NaiveDate::MIN && date < reviewed {
                    self.d.warning(
                        pos,
                        format!("review_by {date} is before reviewed {reviewed}"),
                    );
                }
                Some(date)
            }
            Err(_) => {
                self.d
                    .error(pos, format!("`{}` is not a date (YYYY-MM-DD)", s.value));
                None
            }
        }
    }
}
