//! Reading `content/`: every file parsed, every problem collected, the model built.
//!
//! Loading never stops at the first problem: it returns the content it could build and a
//! list of every diagnostic, each at the line and column the YAML parser reported. Each file
//! is read twice: first as a generic tree, to report tabs in the indentation and every unknown
//! field (with "did you mean …?") without stopping, then into its raw type for the other
//! checks. Unknown references to ids, topics, programmes and regions suggest the nearest known
//! one; list items folded into the previous one by mis-indentation and the same question
//! phrased under two entries are warnings. A caller that will answer from the content uses
//! [`load_valid`], which refuses content with errors.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Months, NaiveDate};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};
use sha2::{Digest, Sha256};

use super::diag::{Diagnostics, Pos, did_you_mean, nearest};
use super::helplines::{self, RawHelplines};
use super::markdown;
use super::model::*;
use super::raw::*;

pub const SUMMARY_MAX: usize = 400;
pub const ANSWER_MAX: usize = 3000;
pub const HOW_TO_JOIN_MAX: usize = 1000;

/// Content that loaded with errors: the diagnostics say where.
#[derive(Debug, thiserror::Error)]
#[error("the content in {root} has {errors} error(s); run `workhealth check` for the list")]
pub struct InvalidContent {
    pub root: PathBuf,
    pub errors: usize,
    pub diagnostics: Diagnostics,
}

/// The result of reading a content folder.
#[derive(Debug)]
pub struct Loaded {
    pub content: Content,
    pub diagnostics: Diagnostics,
}

/// Loads the content and fails if it has any error (warnings are allowed).
pub fn load_valid(root: &Path, today: NaiveDate) -> Result<Content, InvalidContent> {
    let loaded = load(root, today);
    let errors = loaded.diagnostics.errors();
    if errors > 0 {
        return Err(InvalidContent {
            root: root.to_path_buf(),
            errors,
            diagnostics: loaded.diagnostics,
        });
    }
    Ok(loaded.content)
}

/// Reads and checks everything under `root`, returning the model and every diagnostic.
pub fn load(root: &Path, today: NaiveDate) -> Loaded {
    let mut cx = Loader {
        root: root.to_path_buf(),
        d: Diagnostics::default(),
        hasher: Sha256::new(),
        today,
        texts: HashMap::new(),
    };

    let topics = cx.parse::<RawTopics>(&root.join("topics.yaml"));
    let regions = cx.parse::<RawRegions>(&root.join("regions.yaml"));
    let synonyms = cx.parse::<RawSynonyms>(&root.join("synonyms.yaml"));
    let crisis = cx.parse::<RawCrisis>(&root.join("crisis.yaml"));
    let raw_helplines = cx.parse::<RawHelplines>(&root.join(helplines::FILE));

    // A file that fails to parse still counts as existing (by its file name), so that one
    // syntax error does not also show up as a dangling reference everywhere it is linked.
    let mut unparsed_guidance: Vec<String> = Vec::new();
    let mut unparsed_programmes: Vec<String> = Vec::new();
    let mut raw_entries = Vec::new();
    let guidance_dir = root.join("guidance");
    for (path, folder) in cx.yaml_files(&guidance_dir, true) {
        match cx.parse::<RawEntry>(&path) {
            Some(raw) => raw_entries.push((path, folder, raw)),
            None => unparsed_guidance.push(file_stem(&path)),
        }
    }
    let mut raw_programmes = Vec::new();
    for (path, _) in cx.yaml_files(&root.join("programmes"), false) {
        match cx.parse::<RawProgramme>(&path) {
            Some(raw) => raw_programmes.push((path, raw)),
            None => unparsed_programmes.push(file_stem(&path)),
        }
    }

    // Topics and regions first: entries and programmes refer to them.
    let topics = topics
        .map(|t| cx.topics(&root.join("topics.yaml"), t))
        .unwrap_or_default();
    let regions = regions
        .map(|r| cx.regions(&root.join("regions.yaml"), r))
        .unwrap_or_default();
    let synonyms = synonyms
        .map(|s| cx.synonyms(&root.join("synonyms.yaml"), s))
        .unwrap_or_default();

    // Ids are unique across guidance and programmes.
    let mut seen: HashMap<String, Pos> = HashMap::new();
    let mut ids = |cx: &mut Loader, path: &Path, id: &S<String>| {
        let pos = Pos::of(path, id);
        if let Some(first) = seen.get(&id.value) {
            cx.d.error(
                pos.clone(),
                format!("duplicate id `{}`: also defined at {first}", id.value),
            );
            cx.d.error(
                first.clone(),
                format!("duplicate id `{}`: also defined at {pos}", id.value),
            );
        } else {
            seen.insert(id.value.clone(), pos);
        }
    };
    for (path, _, e) in &raw_entries {
        ids(&mut cx, path, &e.id);
    }
    for (path, p) in &raw_programmes {
        ids(&mut cx, path, &p.id);
    }

    let guidance_ids: HashSet<&str> = raw_entries
        .iter()
        .map(|(_, _, e)| e.id.value.as_str())
        .chain(unparsed_guidance.iter().map(String::as_str))
        .collect();
    let programme_ids: HashSet<&str> = raw_programmes
        .iter()
        .map(|(_, p)| p.id.value.as_str())
        .chain(unparsed_programmes.iter().map(String::as_str))
        .collect();
    let topic_ids: HashSet<&str> = topics.iter().map(|t| t.id.as_str()).collect();
    let region_ids: HashSet<&str> = regions.iter().map(|r| r.id.as_str()).collect();
    let refs = Refs {
        guidance: &guidance_ids,
        programmes: &programme_ids,
        topics: &topic_ids,
        regions: &region_ids,
    };

    let entries: Vec<Entry> = raw_entries
        .iter()
        .map(|(path, folder, e)| cx.entry(path, folder.as_deref(), e, &refs))
        .collect();
    let programmes: Vec<Programme> = raw_programmes
        .iter()
        .map(|(path, p)| cx.programme(path, p, &refs))
        .collect();
    let crisis = crisis
        .map(|c| cx.crisis(&root.join("crisis.yaml"), c, &refs))
        .unwrap_or_default();
    let helplines = raw_helplines
        .map(|h| {
            let path = root.join(helplines::FILE);
            helplines::build(&mut cx.d, &path, &h, &programme_ids, &programmes, today)
        })
        .unwrap_or_default();
    cx.duplicate_questions(
        raw_entries
            .iter()
            .map(|(path, _, e)| (path.as_path(), &e.id.value, &e.questions.value))
            .chain(
                raw_programmes
                    .iter()
                    .map(|(path, p)| (path.as_path(), &p.id.value, &p.questions.value)),
            ),
    );

    let digest = hex::encode(cx.hasher.clone().finalize());
    let mut diagnostics = cx.d;
    diagnostics.sort();
    let mut content = Content::new(
        root.to_path_buf(),
        topics,
        regions,
        synonyms,
        crisis,
        entries,
        programmes,
        digest,
    );
    content.helplines = helplines;
    Loaded {
        content,
        diagnostics,
    }
}

struct Refs<'a> {
    guidance: &'a HashSet<&'a str>,
    programmes: &'a HashSet<&'a str>,
    topics: &'a HashSet<&'a str>,
    regions: &'a HashSet<&'a str>,
}

struct Loader {
    root: PathBuf,
    d: Diagnostics,
    hasher: Sha256,
    today: NaiveDate,
    /// The text of every file read, for checks that look at the source itself.
    texts: HashMap<PathBuf, String>,
}

impl Loader {
    /// The `.yaml` files in `dir` (sorted), or one level down in topic folders when `nested`.
    /// Returns each path with the folder it sits in when nested.
    fn yaml_files(&mut self, dir: &Path, nested: bool) -> Vec<(PathBuf, Option<String>)> {
        let mut out = Vec::new();
        let listing = match read_dir_sorted(dir) {
            Ok(l) => l,
            Err(e) => {
                self.d
                    .error(Pos::new(dir, 1, 1), format!("cannot read folder: {e}"));
                return out;
            }
        };
        for path in listing {
            if nested && path.is_dir() {
                let folder = path.file_name().map(|f| f.to_string_lossy().into_owned());
                match read_dir_sorted(&path) {
                    Ok(files) => out.extend(
                        files
                            .into_iter()
                            .filter(|p| is_yaml(p))
                            .map(|p| (p, folder.clone())),
                    ),
                    Err(e) => self
                        .d
                        .error(Pos::new(&path, 1, 1), format!("cannot read folder: {e}")),
                }
            } else if is_yaml(&path) {
                if nested {
                    self.d.error(
                        Pos::new(&path, 1, 1),
                        "guidance files belong in a topic folder: guidance/<topic>/<id>.yaml",
                    );
                } else {
                    out.push((path, None));
                }
            }
        }
        out
    }

    /// Reads and deserialises one file, reporting tabs in the indentation and every unknown
    /// field first; on a parse failure records the parser's own position.
    fn parse<T: Shaped>(&mut self, path: &Path) -> Option<T> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.d
                    .error(Pos::new(path, 1, 1), format!("cannot read file: {e}"));
                return None;
            }
        };
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        self.hasher.update(rel.to_string_lossy().as_bytes());
        self.hasher.update([0u8]);
        self.hasher.update(text.as_bytes());
        self.hasher.update([0u8]);
        let tabs = self.tabs(path, &text);
        let mut renames = Vec::new();
        let parsed = serde_saphyr::from_str::<S<Node>>(&text).and_then(|tree| {
            self.unknown_fields(path, &tree, &T::shape(), true, &mut renames);
            let text = respell(&text, renames);
            let parsed = serde_saphyr::from_str::<T>(&text);
            self.texts.insert(path.to_path_buf(), text);
            parsed
        });
        self.texts.entry(path.to_path_buf()).or_insert(text);
        match parsed {
            Ok(v) => Some(v),
            // A tab in the indentation derails the parser, which then reports some later line.
            Err(_) if tabs > 0 => None,
            Err(err) => {
                let (line, col) = err
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((1, 1));
                let message = DefaultMessageFormatter
                    .format_message(&err)
                    .escape_debug()
                    .to_string();
                self.d.error(Pos::new(path, line, col), message);
                None
            }
        }
    }

    /// Reports every tab in a line's indentation (YAML indents with spaces only), at its own
    /// line and column; returns how many lines have one.
    fn tabs(&mut self, path: &Path, text: &str) -> usize {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            if let Some(col) = line[..indent].find('\t') {
                n += 1;
                self.d.error(
                    Pos::new(path, i as u64 + 1, col as u64 + 1),
                    "a tab in the indentation: YAML indents with spaces only",
                );
            }
        }
        n
    }

    /// Reports every key in `tree` that `shape` does not know, at the key, with the nearest
    /// known field as a suggestion; descends into the fields whose shape it knows. A value of
    /// the wrong kind is left for serde to report. A misspelt key whose suggestion is not in
    /// the same mapping is added to `renames`, so that the file is then read as if spelt
    /// right: one typo is one error, not also a missing field that hides every other check.
    fn unknown_fields(
        &mut self,
        path: &Path,
        tree: &S<Node>,
        shape: &Shape,
        top: bool,
        renames: &mut Vec<Rename>,
    ) {
        match &tree.value {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let name = key.value.as_str();
                    if !shape.fields.contains(&name) {
                        let near = nearest(name, shape.fields.iter().copied());
                        let message = match near {
                            Some(field) => {
                                format!("unknown field `{name}`: did you mean `{field}`?")
                            }
                            None => format!(
                                "unknown field `{name}` (known: {})",
                                shape.fields.join(", ")
                            ),
                        };
                        self.d.error(Pos::of(path, key), message);
                        let span = key.referenced.span();
                        if let (Some(field), Some(at), Some(len)) =
                            (near, span.byte_offset(), span.byte_len())
                            && !entries.iter().any(|(k, _)| k.value == field)
                        {
                            renames.push(Rename {
                                at: at as usize,
                                len: len as usize,
                                from: key.value.clone(),
                                to: field,
                            });
                        }
                    } else if let Some((_, inner)) = shape.nested.iter().find(|(f, _)| *f == name) {
                        self.unknown_fields(path, value, inner, false, renames);
                    }
                }
            }
            Node::Seq(items) if !top => {
                for item in items {
                    self.unknown_fields(path, item, shape, true, renames);
                }
            }
            _ => {}
        }
    }

    fn topics(&mut self, path: &Path, raw: RawTopics) -> Vec<Topic> {
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

    fn regions(&mut self, path: &Path, raw: RawRegions) -> Vec<Region> {
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

    fn synonyms(&mut self, path: &Path, raw: RawSynonyms) -> Vec<Vec<String>> {
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

    fn crisis(&mut self, path: &Path, raw: RawCrisis, refs: &Refs) -> Crisis {
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
        let safe_phrases = self.crisis_list(path, &raw.safe_phrases, "safe phrase", &mut None);
        let s = raw.structure.unwrap_or_default();
        let list = |cx: &mut Self, l: &[S<String>], what: &str| {
            cx.crisis_list(path, l, &format!("structure {what} word"), &mut None)
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
        let examples = self.crisis_list(path, &raw.examples, "crisis example", &mut seen);
        let not_crisis = self.crisis_list(path, &raw.not_crisis, "not_crisis example", &mut seen);
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

    /// A list of crisis strings: each non-empty and not repeated (compared lower-cased, with
    /// spaces collapsed). `seen` carries earlier lists when duplicates across lists matter.
    fn crisis_list(
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

    fn entry(&mut self, path: &Path, folder: Option<&str>, e: &RawEntry, refs: &Refs) -> Entry {
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

    fn programme(&mut self, path: &Path, p: &RawProgramme, refs: &Refs) -> Programme {
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

    /// Warns, at both places, when two entries (or programmes) list the same question: the
    /// ranking cannot tell which should answer it. A question listed twice in one entry is
    /// a warning too.
    fn duplicate_questions<'a>(
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

    fn reference(&mut self, path: &Path, r: &S<String>, known: &HashSet<&str>, what: &str) {
        if !known.contains(r.value.as_str()) {
            let hint = did_you_mean(&r.value, known.iter().copied());
            self.d.error(
                Pos::of(path, r),
                format!("unknown {what} `{}`{hint}", r.value),
            );
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

/// A misspelt key (at byte `at`, `len` bytes, reading `from`) and the field it meant.
struct Rename {
    at: usize,
    len: usize,
    from: String,
    to: &'static str,
}

/// `text` with each misspelt key replaced by its field, padded with spaces when shorter so
/// that later positions on its line stay put (a longer field moves them right by the
/// difference). A rename whose span does not hold the key as written (a quoted key, say) is
/// skipped.
fn respell(text: &str, mut renames: Vec<Rename>) -> String {
    renames.sort_by_key(|r| std::cmp::Reverse(r.at));
    let mut out = text.to_string();
    for r in renames {
        if out.get(r.at..r.at + r.len) != Some(r.from.as_str()) {
            continue;
        }
        let mut with = r.to.to_string();
        while with.len() < r.len {
            with.push(' ');
        }
        out.replace_range(r.at..r.at + r.len, &with);
    }
    out
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

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_yaml(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}
