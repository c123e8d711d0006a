//! How a question was met: the one [`Outcome`] the assistant decides, the channels render,
//! and the question log stores and reviewers filter on. It lives apart from both, so that
//! neither `assistant` nor `log` depends on the other for it. The stored text
//! ([`Outcome::as_str`]) never changes: existing databases keep reading.

use serde::Serialize;

/// What the assistant decided to do with a question, as the log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Outcome {
    /// The best entry is a clear match: show it.
    #[serde(rename = "answer")]
    Answer,
    /// Two or three entries are close: offer them.
    #[serde(rename = "clarify")]
    Clarify,
    /// Nothing matches well enough: say so honestly.
    #[serde(rename = "no_answer")]
    NoAnswer,
    /// The question signals a risk to life: the crisis message comes first.
    #[serde(rename = "crisis")]
    Crisis,
    /// A greeting, thanks, "ok", emoji or other noise: a friendly word, not a question, so
    /// not in the rates.
    #[serde(rename = "smalltalk")]
    SmallTalk,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Answer,
        Outcome::Clarify,
        Outcome::NoAnswer,
        Outcome::Crisis,
        Outcome::SmallTalk,
    ];

    /// The stored text, also the value in `ask --json`, the review app's query strings and
    /// the CSV export.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answer => "answer",
            Outcome::Clarify => "clarify",
            Outcome::NoAnswer => "no_answer",
            Outcome::Crisis => "crisis",
            Outcome::SmallTalk => "smalltalk",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// What a reviewer reads.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answer => "answered",
            Outcome::Clarify => "clarified",
            Outcome::NoAnswer => "unanswered",
            Outcome::Crisis => "crisis",
            Outcome::SmallTalk => "small talk",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Outcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_keep_their_stored_text() {
        // Existing databases hold exactly these strings: changing one loses their rows' meaning.
        let stored: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            stored,
            ["answer", "clarify", "no_answer", "crisis", "smalltalk"]
        );
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(o.to_string(), o.as_str());
        }
        assert_eq!(
            Outcome::parse("unhelpful"),
            None,
            "a filter, not an outcome"
        );
    }
}
