//! The YAML files exactly as editors write them: serde types with source positions.
//!
//! Every struct rejects unknown fields, and every value a later check needs to point at is a
//! [`Spanned`], so that `check` reports the line and column the YAML parser saw. Nothing here
//! validates beyond what serde does; `load.rs` turns these into the typed model.

use serde::Deserialize;
use serde_saphyr::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntry {
    pub id: S<String>,
    pub title: S<String>,
    pub topic: S<String>,
    pub questions: S<Vec<S<String>>>,
    pub summary: S<String>,
    pub answer: S<String>,
    #[serde(default)]
    pub programmes: Vec<S<String>>,
    #[serde(default)]
    pub related: Vec<S<String>>,
    pub sources: S<Vec<RawSource>>,
    pub reviewed: S<String>,
    /// When the entry's changing figures or dates must next be re-checked (optional).
    #[serde(default)]
    pub review_by: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProgramme {
    pub id: S<String>,
    pub name: S<String>,
    pub provider: S<String>,
    pub regions: S<Vec<S<String>>>,
    pub summary: S<String>,
    pub how_to_join: S<String>,
    #[serde(default)]
    pub contact: Option<RawContact>,
    pub questions: S<Vec<S<String>>>,
    pub sources: S<Vec<RawSource>>,
    pub reviewed: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub title: S<String>,
    pub url: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    #[serde(default)]
    pub url: Option<S<String>>,
    #[serde(default)]
    pub phone: Option<S<String>>,
    #[serde(default)]
    pub email: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopics {
    pub topics: Vec<RawTopic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub id: S<String>,
    pub title: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegions {
    pub regions: Vec<RawRegion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub id: S<String>,
    pub name: S<String>,
    #[serde(default)]
    pub places: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSynonyms {
    pub groups: Vec<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrisis {
    pub phrases: S<Vec<S<String>>>,
    /// Phrases whose words are masked before the crisis check looks ("suicide prevention").
    #[serde(default)]
    pub safe_phrases: Vec<S<String>>,
    #[serde(default)]
    pub structure: Option<RawCrisisStructure>,
    /// Crisis messages for the meaning layer.
    #[serde(default)]
    pub examples: Vec<S<String>>,
    /// Alarming-looking messages that are not a risk now, for calibrating the meaning layer.
    #[serde(default)]
    pub not_crisis: Vec<S<String>>,
    pub message: S<String>,
    #[serde(default)]
    pub entry: Option<S<String>>,
    #[serde(default)]
    pub programmes: Vec<S<String>>,
}

/// The word lists of the crisis structure layer (see `content/crisis.yaml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrisisStructure {
    #[serde(default)]
    pub people: Vec<S<String>>,
    #[serde(default)]
    pub intents: Vec<S<String>>,
    #[serde(default)]
    pub done: Vec<S<String>>,
    #[serde(default)]
    pub means: Vec<S<String>>,
    #[serde(default)]
    pub places: Vec<S<String>>,
    #[serde(default)]
    pub acts: Vec<S<String>>,
    #[serde(default)]
    pub emergencies: Vec<S<String>>,
    #[serde(default)]
    pub weapons: Vec<S<String>>,
    #[serde(default)]
    pub violence: Vec<S<String>>,
    #[serde(default)]
    pub presence: Vec<S<String>>,
    #[serde(default)]
    pub now: Vec<S<String>>,
    #[serde(default)]
    pub past: Vec<S<String>>,
    #[serde(default)]
    pub hypothetical: Vec<S<String>>,
}
