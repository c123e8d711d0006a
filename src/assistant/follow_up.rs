//! Follow-ups: what a chat asked last ([`Previous`]), kept by the channel so that a short
//! message after it ("and if he's part-time?", "the second one") is read in its light.

use super::{Outcome, Reply};

/// What a chat asked last, kept by the channel (in memory only, for [`FOLLOW_UP_WINDOW`]) so
/// that a follow-up can be answered in its light ([`Assistant::reply_after`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// The question (with the follow-ups that were taken with it).
    pub question: String,
    /// The entry shown for it, if any.
    pub entry: Option<String>,
    /// The entries offered as choices, in order ("the second one").
    pub choices: Vec<String>,
}

impl Previous {
    /// What to remember of a reply, for the next message; `None` when there is nothing to
    /// follow up (no answer, small talk, a crisis).
    pub fn of(reply: &Reply) -> Option<Previous> {
        if !matches!(reply.outcome, Outcome::Answer | Outcome::Clarify) {
            return None;
        }
        // A follow-up carries its earlier question along (the last 60 words of it all).
        let words: Vec<&str> = reply.question.split_whitespace().collect();
        let question = words[words.len().saturating_sub(60)..].join(" ");
        Some(Previous {
            question,
            entry: reply.shown.as_ref().map(|s| s.id().to_string()),
            choices: reply
                .choices
                .iter()
                .filter_map(|c| c.shown().map(str::to_string))
                .collect(),
        })
    }
}

/// Whether a message opens like the rest of a conversation ("and if…", "what about…", "but…").
pub(super) fn continues(text: &str) -> bool {
    let t = text.trim_start().to_lowercase();
    [
        "and ",
        "but ",
        "what if ",
        "what about ",
        "how about ",
        "also ",
        "so what ",
        "then ",
        "if ",
        "or ",
    ]
    .iter()
    .any(|c| t.starts_with(c))
}

/// "The first one", "the second", "the third option": which choice, from 0.
pub(super) fn ordinal(text: &str) -> Option<usize> {
    let t = text.to_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > 6 {
        return None;
    }
    let n = words.iter().find_map(|w| match *w {
        "first" | "1st" => Some(0),
        "second" | "2nd" => Some(1),
        "third" | "3rd" => Some(2),
        _ => None,
    });
    let refers = words
        .iter()
        .any(|w| matches!(*w, "one" | "option" | "choice" | "entry" | "about" | "the"));
    n.filter(|_| refers)
}
