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
//!
//! The work is split by concern: [`read`] finds and reads the files (tabs, unknown fields,
//! the parser's own errors, the digest); [`build`] checks each file's values and builds the
//! typed model; [`refs`] checks what crosses files (unique ids, references to ids, topics,
//! programmes and regions, the same question under two entries). [`load`] runs them in order.

mod build;
mod read;
mod refs;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::diag::Diagnostics;
use super::helplines::{self, RawHelplines};
use super::model::*;
use super::raw::*;
use read::file_stem;
use refs::Refs;

/// Messages the guidance does not cover (optional): see [`Content::off_topic`].
pub const OFF_TOPIC_FILE: &str = "out-of-scope.yaml";
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
    // Optional: without it, off-topic questions are told apart by the thresholds alone.
    let off_topic_path = root.join(OFF_TOPIC_FILE);
    let raw_off_topic = off_topic_path
        .exists()
        .then(|| cx.parse::<RawOffTopic>(&off_topic_path))
        .flatten();

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
    cx.unique_ids(
        raw_entries
            .iter()
            .map(|(path, _, e)| (path.as_path(), &e.id))
            .chain(
                raw_programmes
                    .iter()
                    .map(|(path, p)| (path.as_path(), &p.id)),
            ),
    );

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
    let (off_topic, off_topic_calm) = raw_off_topic
        .map(|o| {
            cx.off_topic_questions(
                &off_topic_path,
                o.examples.value.iter().chain(&o.decline_only),
                owners(&raw_entries, &raw_programmes),
            );
            // One `seen` for both lists: an example in both is a duplicate.
            let mut seen = Some(Default::default());
            let what = "out-of-scope example";
            let mut all = cx.text_list(&off_topic_path, &o.examples.value, what, &mut seen);
            let calm = all.len();
            all.extend(cx.text_list(&off_topic_path, &o.decline_only, what, &mut seen));
            (all, calm)
        })
        .unwrap_or_default();
    cx.duplicate_questions(owners(&raw_entries, &raw_programmes));

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
    content.off_topic = off_topic;
    content.off_topic_calm = off_topic_calm;
    Loaded {
        content,
        diagnostics,
    }
}

struct Loader {
    root: PathBuf,
    d: Diagnostics,
    hasher: Sha256,
    today: NaiveDate,
    /// The text of every file read, for checks that look at the source itself.
    texts: HashMap<PathBuf, String>,
}

/// Every entry's and programme's questions, with the file and the id they are under.
fn owners<'a>(
    entries: &'a [(PathBuf, Option<String>, RawEntry)],
    programmes: &'a [(PathBuf, RawProgramme)],
) -> impl Iterator<Item = (&'a Path, &'a String, &'a Vec<S<String>>)> {
    entries
        .iter()
        .map(|(path, _, e)| (path.as_path(), &e.id.value, &e.questions.value))
        .chain(
            programmes
                .iter()
                .map(|(path, p)| (path.as_path(), &p.id.value, &p.questions.value)),
        )
}
