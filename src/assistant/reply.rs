//! The channel-neutral reply: everything a channel needs to show an answer, owned, so a
//! renderer is a pure function of it.

use serde::Serialize;

use crate::content::Kind;
pub use crate::outcome::Outcome;

/// One ranked search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    /// BM25 score, rounded to three decimals.
    pub score: f64,
}

/// A link to another item, shown as a button or a numbered choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemLink {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLink {
    pub title: String,
    pub url: String,
}

/// A programme as a card under an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammeCard {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub summary: String,
    pub how_to_join: String,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// True when it serves the asker's region specifically (not only nationally).
    pub local: bool,
}

/// The item a reply shows in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shown {
    Guidance {
        id: String,
        title: String,
        summary: String,
        answer: String,
        /// When the entry's figures were last checked (its `reviewed` date, as "1 December
        /// 2026"), set only when its `review_by` date has passed: they may be out of date.
        #[serde(skip_serializing_if = "Option::is_none")]
        figures_checked: Option<String>,
    },
    Programme {
        card: ProgrammeCard,
    },
}

impl Shown {
    pub fn id(&self) -> &str {
        match self {
            Shown::Guidance { id, .. } => id,
            Shown::Programme { card } => &card.id,
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Shown::Guidance { title, .. } => title,
            Shown::Programme { card } => &card.name,
        }
    }
}

/// What the asker can do next: buttons on Telegram, numbered choices in the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    /// Show this guidance entry or programme.
    Show { id: String, title: String },
    /// Browse the topics.
    Topics,
    /// Who to talk to: Acas and local signposts.
    TalkToSomeone,
    /// Who to talk to after a crisis reply: the crisis lines first, then the usual ones.
    CrisisLines,
}

impl Choice {
    pub fn label(&self) -> &str {
        match self {
            Choice::Show { title, .. } => title,
            Choice::Topics => "Browse topics",
            Choice::TalkToSomeone | Choice::CrisisLines => "Talk to someone",
        }
    }
}

/// The previous question a follow-up was answered in the light of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowUp {
    /// The entry shown for the previous question, and its title.
    pub entry: Option<String>,
    pub title: Option<String>,
}

/// The assistant's reply to one question, for any channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub question: String,
    /// The region the reply was made for: the asker's, or one the question names.
    pub region: Option<String>,
    pub outcome: Outcome,
    /// Best first, at most five.
    pub results: Vec<Ranked>,
    /// Markdown crisis message, present exactly when the outcome is crisis; shown first.
    pub crisis_message: Option<String>,
    /// Which layer of the crisis check fired, and on what (present exactly for crisis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crisis: Option<crate::assistant::CrisisSignal>,
    /// The closest crisis example's cosine similarity to the message (without the model: none),
    /// so reviewers can see near-misses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crisis_similarity: Option<f32>,
    /// The friendly word for small talk (plain text), present exactly when the outcome is
    /// small talk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smalltalk: Option<String>,
    pub shown: Option<Shown>,
    /// Entries that ranked close behind the one shown ("Or did you mean…"); they lead the
    /// choices (after a second worry, if the question had one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runners_up: Vec<ItemLink>,
    /// Set when the message was taken as a follow-up of the previous question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUp>,
    pub programmes: Vec<ProgrammeCard>,
    pub related: Vec<ItemLink>,
    pub sources: Vec<SourceLink>,
    pub choices: Vec<Choice>,
    /// Which version of the content answered.
    pub content_digest: String,
}
