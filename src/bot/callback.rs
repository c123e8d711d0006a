//! Callback data: what a pressed button means, in at most 64 bytes. Only ids and short codes
//! go in it (anyone can read and forge callback data), and every decoded value is checked
//! again against the content and the log before anything acts on it.

use crate::render::telegram::Action;

/// Telegram's limit on callback data.
pub const MAX_DATA: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// Show an entry or programme; `question` ties feedback to the question it came from.
    Show {
        id: String,
        question: Option<i64>,
    },
    Feedback {
        question: i64,
        helpful: bool,
        /// The entry the buttons were under (left out when it would not fit in 64 bytes).
        entry: Option<String>,
    },
    Topics,
    Topic(String),
    TalkToSomeone,
    /// "Talk to someone" under a crisis reply: the crisis lines first.
    CrisisLines,
    /// The rest of an entry's answer, after its first message.
    ReadMore(String),
    /// Set the region (`None`: not listed / skip).
    Region(Option<String>),
    Programmes,
    /// `/forget` confirmed (true) or cancelled.
    Forget(bool),
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 56
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Callback {
    pub fn from_action(a: &Action, question: Option<i64>) -> Callback {
        match a {
            Action::Show(id) => Callback::Show {
                id: id.clone(),
                question,
            },
            Action::Feedback {
                question,
                helpful,
                entry,
            } => Callback::Feedback {
                question: *question,
                helpful: *helpful,
                entry: entry.clone(),
            },
            Action::Topics => Callback::Topics,
            Action::TalkToSomeone => Callback::TalkToSomeone,
            Action::CrisisLines => Callback::CrisisLines,
            Action::ReadMore(id) => Callback::ReadMore(id.clone()),
            Action::Topic(id) => Callback::Topic(id.clone()),
            Action::Region(r) => Callback::Region(r.clone()),
            Action::Forget(delete) => Callback::Forget(*delete),
        }
    }

    /// The data, or `None` when it would not fit in 64 bytes (the button is then left out).
    pub fn encode(&self) -> Option<String> {
        let s = match self {
            Callback::Show { id, question: None } => format!("s:{id}"),
            Callback::Show {
                id,
                question: Some(q),
            } => format!("s:{id}:{q}"),
            Callback::Feedback {
                question,
                helpful,
                entry,
            } => {
                let short = format!("f:{question}:{}", if *helpful { 1 } else { 0 });
                match entry {
                    Some(e) if short.len() + 1 + e.len() <= MAX_DATA => format!("{short}:{e}"),
                    _ => short,
                }
            }
            Callback::Topics => "T".into(),
            Callback::Topic(t) => format!("t:{t}"),
            Callback::TalkToSomeone => "h".into(),
            Callback::CrisisLines => "h:c".into(),
            Callback::ReadMore(id) => format!("m:{id}"),
            Callback::Region(Some(r)) => format!("r:{r}"),
            Callback::Region(None) => "r:-".into(),
            Callback::Programmes => "p".into(),
            Callback::Forget(yes) => format!("x:{}", if *yes { "y" } else { "n" }),
        };
        (s.len() <= MAX_DATA).then_some(s)
    }

    /// Parses callback data; anything malformed is `None` (a polite "out of date" reply).
    pub fn decode(data: &str) -> Option<Callback> {
        if data.len() > MAX_DATA {
            return None;
        }
        let (tag, rest) = match data.split_once(':') {
            Some((t, r)) => (t, Some(r)),
            None => (data, None),
        };
        let question = |s: &str| s.parse::<i64>().ok().filter(|q| *q > 0);
        match (tag, rest) {
            ("s", Some(r)) => {
                let (id, q) = match r.split_once(':') {
                    Some((id, q)) => (id, Some(question(q)?)),
                    None => (r, None),
                };
                is_id(id).then(|| Callback::Show {
                    id: id.to_string(),
                    question: q,
                })
            }
            ("f", Some(r)) => {
                let (q, rest) = r.split_once(':')?;
                let (h, entry) = match rest.split_once(':') {
                    Some((h, e)) if is_id(e) => (h, Some(e.to_string())),
                    Some(_) => return None,
                    None => (rest, None),
                };
                let helpful = match h {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                };
                Some(Callback::Feedback {
                    question: question(q)?,
                    helpful,
                    entry,
                })
            }
            ("T", None) => Some(Callback::Topics),
            ("t", Some(t)) if is_id(t) => Some(Callback::Topic(t.to_string())),
            ("h", None) => Some(Callback::TalkToSomeone),
            ("h", Some("c")) => Some(Callback::CrisisLines),
            ("m", Some(id)) if is_id(id) => Some(Callback::ReadMore(id.to_string())),
            ("r", Some("-")) => Some(Callback::Region(None)),
            ("r", Some(r)) if is_id(r) => Some(Callback::Region(Some(r.to_string()))),
            ("p", None) => Some(Callback::Programmes),
            ("x", Some("y")) => Some(Callback::Forget(true)),
            ("x", Some("n")) => Some(Callback::Forget(false)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_within_64_bytes() {
        let all = [
            Callback::Show {
                id: "access-to-work-mental-health-service".into(),
                question: Some((1 << 53) - 1),
            },
            Callback::Show {
                id: "ssp-eligibility".into(),
                question: None,
            },
            Callback::Feedback {
                question: 9_007_199_254_740_991,
                helpful: false,
                entry: None,
            },
            Callback::Feedback {
                question: 9_007_199_254_740_991,
                helpful: true,
                entry: Some("access-to-work-mental-health-service".into()),
            },
            Callback::Topics,
            Callback::Topic("mental-health".into()),
            Callback::TalkToSomeone,
            Callback::CrisisLines,
            Callback::ReadMore("access-to-work-mental-health-service".into()),
            Callback::Region(Some("north-east".into())),
            Callback::Region(None),
            Callback::Programmes,
            Callback::Forget(true),
            Callback::Forget(false),
        ];
        for c in all {
            let d = c.encode().expect("fits");
            assert!(d.len() <= MAX_DATA, "{d}");
            assert_eq!(Callback::decode(&d), Some(c), "{d}");
        }
    }

    #[test]
    fn forged_or_stale_data_is_refused() {
        for d in [
            "",
            "s:",
            "s:<script>",
            "s:ok:abc",
            "s:ok:-5",
            "f:12",
            "f:x:1",
            "f:12:2",
            "f:12:1:Not An Id",
            "f:12:1:",
            "r:North East",
            "x:maybe",
            "zzz",
            "T:extra",
            "h:x",
            "m:",
            "m:Not An Id",
            &"s:".repeat(40),
            "s:ÿÿ",
        ] {
            assert_eq!(Callback::decode(d), None, "{d:?}");
        }
    }

    #[test]
    fn an_id_too_long_for_the_limit_is_not_encoded() {
        let c = Callback::Show {
            id: "x".repeat(70),
            question: None,
        };
        assert_eq!(c.encode(), None);
    }
}
