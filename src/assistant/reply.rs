//! The channel-neutral reply: everything a channel needs to show an answer, owned, so a
//! renderer is a pure function of it.

use serde::Serialize;

use crate::content::Kind;
pub use crate::outcome::Outcome;
use crate::words;

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

/// What the asker can do next: buttons on Telegram, numbered choices in the terminal. Under a
/// reply, and in the bot's own menus ([`Menu`](super::menu::Menu)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    /// Show this guidance entry or programme.
    Show { id: String, title: String },
    /// Browse the topics.
    Topics,
    /// Who to talk to: the `talk_to_someone` list of `helplines.yaml`, then local signposts.
    TalkToSomeone,
    /// Who to talk to after a crisis reply: the crisis lines first, then the usual ones.
    CrisisLines,
    /// A topic of the /topics menu: its entries.
    Topic { id: String, title: String },
    /// Back to the topics, under a topic's entries.
    AllTopics,
    /// A region of the /region menu (`id` `None`: somewhere else in the UK).
    Region { id: Option<String>, name: String },
    /// The answer to /forget's question: delete, or keep.
    Forget { delete: bool },
}

impl Choice {
    /// The entry or programme a `Show` choice leads to.
    pub fn shown(&self) -> Option<&str> {
        match self {
            Choice::Show { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The words on its button (plain).
    pub fn label(&self) -> &str {
        match self {
            Choice::Show { title, .. } | Choice::Topic { title, .. } => title,
            Choice::Region { name, .. } => name,
            Choice::Topics => words::BROWSE_TOPICS,
            Choice::AllTopics => words::ALL_TOPICS,
            Choice::TalkToSomeone | Choice::CrisisLines => words::TALK_TO_SOMEONE,
            Choice::Forget { delete: true } => words::YES_DELETE,
            Choice::Forget { delete: false } => words::NO_KEEP,
        }
    }
}

/// The helpline a reply with no answer names (`no_answer` in `helplines.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Helpline {
    pub name: String,
    pub phone: String,
    /// What it gives, in a few words ("free, confidential employment advice").
    pub gives: String,
}

impl Helpline {
    /// The helpline in a sentence (plain): "Acas gives … on 0300 123 1100".
    pub fn sentence(&self) -> String {
        words::helpline(&self.name, &self.gives, &self.phone)
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
    /// A heading over the reply (markup, from [`crate::words`]): over "Talk to someone" and
    /// /programmes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
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
    /// The helpline to name, present exactly when the outcome is no answer (and the content
    /// names one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helpline: Option<Helpline>,
    /// Which version of the content answered.
    pub content_digest: String,
}
