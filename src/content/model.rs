//! The content model: validated, typed values built once at load.
//!
//! Once a [`Content`] exists, every id it holds is known to resolve, every URL is `https://`
//! and every answer uses only the Markdown subset the channels can show. The rest of the
//! program never re-checks them.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDate;

use super::diag::Pos;

/// Which of the two kinds of answerable item an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Guidance,
    Programme,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Guidance => "guidance",
            Kind::Programme => "programme",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub title: String,
    pub url: String,
    /// Where the URL is written, for `check --links`.
    pub pos: Pos,
}

/// A guidance entry: an answer to a manager's question.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub topic: String,
    pub questions: Vec<String>,
    pub summary: String,
    /// Markdown in the subset `check` allows: paragraphs, lists, bold, italic, links.
    pub answer: String,
    pub programmes: Vec<String>,
    pub related: Vec<String>,
    pub sources: Vec<Source>,
    pub reviewed: NaiveDate,
    /// When the figures or dates it states that change (rates, commencement dates) must next
    /// be re-checked; `None` for an entry that states none.
    pub review_by: Option<NaiveDate>,
    pub path: PathBuf,
}

impl Entry {
    /// True when `review_by` has passed on `today`: its figures may be out of date.
    pub fn review_due(&self, today: NaiveDate) -> bool {
        self.review_by.is_some_and(|d| d < today)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub url: Option<Source>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A support programme, service or helpline.
#[derive(Debug, Clone)]
pub struct Programme {
    pub id: String,
    pub name: String,
    pub provider: String,
    /// Region ids from `regions.yaml`; `national` means everywhere.
    pub regions: Vec<String>,
    pub summary: String,
    pub how_to_join: String,
    pub contact: Contact,
    pub questions: Vec<String>,
    pub sources: Vec<Source>,
    pub reviewed: NaiveDate,
    pub path: PathBuf,
}

impl Programme {
    pub fn is_national(&self) -> bool {
        self.regions.iter().any(|r| r == NATIONAL)
    }

    pub fn serves(&self, region: Option<&str>) -> bool {
        self.is_national() || region.is_some_and(|r| self.regions.iter().any(|x| x == r))
    }
}

/// The region id that programmes use for "everywhere".
pub const NATIONAL: &str = "national";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub places: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crisis {
    /// The phrase layer: any of these is a crisis (the floor).
    pub phrases: Vec<String>,
    /// Masked before the phrase and structure layers look ("suicide prevention", "nail gun").
    pub safe_phrases: Vec<String>,
    /// The structure layer's word lists.
    pub structure: CrisisStructure,
    /// Crisis messages the meaning layer compares with.
    pub examples: Vec<String>,
    /// Alarming-looking messages that are not a risk now (to calibrate the meaning layer).
    pub not_crisis: Vec<String>,
    /// Markdown, same subset as answers.
    pub message: String,
    pub entry: Option<String>,
    pub programmes: Vec<String>,
}

/// Word lists for the crisis structure layer; each item is a phrase (`*` = up to three words,
/// `word*` = any word starting so). See `content/crisis.yaml` for what each list means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrisisStructure {
    pub people: Vec<String>,
    pub intents: Vec<String>,
    pub done: Vec<String>,
    pub means: Vec<String>,
    pub places: Vec<String>,
    pub acts: Vec<String>,
    pub emergencies: Vec<String>,
    pub weapons: Vec<String>,
    pub violence: Vec<String>,
    pub presence: Vec<String>,
    pub now: Vec<String>,
    pub past: Vec<String>,
    pub hypothetical: Vec<String>,
    pub safety: Vec<String>,
}

/// Everything under `content/`, validated.
#[derive(Debug, Clone, Default)]
pub struct Content {
    pub root: PathBuf,
    pub topics: Vec<Topic>,
    pub regions: Vec<Region>,
    pub synonyms: Vec<Vec<String>>,
    pub crisis: Crisis,
    /// `helplines.yaml`: the no-answer helpline and the "Talk to someone" list (empty in
    /// content built by hand until set).
    pub helplines: super::Helplines,
    /// `out-of-scope.yaml`: messages the guidance does not cover, which the answering engine
    /// compares a message with to tell an off-topic question from an in-scope one (empty
    /// when the file is absent).
    pub off_topic: Vec<String>,
    /// How many of `off_topic`, from the first, are also on the crisis check's calm side:
    /// `examples:`, not `decline_only:` (added later, and kept off it so that teaching the
    /// bot to decline more never moves a crisis message to the calm side).
    pub off_topic_calm: usize,
    /// Sorted by id.
    pub entries: Vec<Entry>,
    /// Sorted by id.
    pub programmes: Vec<Programme>,
    /// SHA-256 over every content file's path and bytes: which version of the guidance this is.
    pub digest: String,
    entry_index: HashMap<String, usize>,
    programme_index: HashMap<String, usize>,
}

impl Content {
    #[allow(clippy::too_many_arguments)]
    /// Assembles content from parts (the loader uses this; so do benchmarks with generated corpora).
    pub fn new(
        root: PathBuf,
        topics: Vec<Topic>,
        regions: Vec<Region>,
        synonyms: Vec<Vec<String>>,
        crisis: Crisis,
        mut entries: Vec<Entry>,
        mut programmes: Vec<Programme>,
        digest: String,
    ) -> Self {
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        programmes.sort_by(|a, b| a.id.cmp(&b.id));
        let entry_index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        let programme_index = programmes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Content {
            root,
            topics,
            regions,
            synonyms,
            crisis,
            helplines: Default::default(),
            off_topic: Vec::new(),
            off_topic_calm: 0,
            entries,
            programmes,
            digest,
            entry_index,
            programme_index,
        }
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entry_index.get(id).map(|&i| &self.entries[i])
    }

    pub fn programme(&self, id: &str) -> Option<&Programme> {
        self.programme_index.get(id).map(|&i| &self.programmes[i])
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id == id)
    }

    pub fn kind_of(&self, id: &str) -> Option<Kind> {
        if self.entry_index.contains_key(id) {
            Some(Kind::Guidance)
        } else if self.programme_index.contains_key(id) {
            Some(Kind::Programme)
        } else {
            None
        }
    }

    /// Entries of one topic, in id order.
    pub fn entries_in(&self, topic: &str) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.topic == topic)
    }

    /// Entries whose `review_by` date has passed on `today`, earliest first.
    pub fn due_for_review(&self, today: NaiveDate) -> Vec<&Entry> {
        let mut due: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.review_due(today))
            .collect();
        due.sort_by(|a, b| a.review_by.cmp(&b.review_by).then_with(|| a.id.cmp(&b.id)));
        due
    }

    /// Every URL the content cites (sources and contact links), with where it is written.
    pub fn links(&self) -> Vec<&Source> {
        let mut out: Vec<&Source> = Vec::new();
        for e in &self.entries {
            out.extend(e.sources.iter());
        }
        for p in &self.programmes {
            out.extend(p.sources.iter());
            out.extend(p.contact.url.iter());
        }
        out.extend(self.helplines.sources.iter());
        out
    }
}
