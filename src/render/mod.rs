//! Renderers: pure functions from a [`Reply`](crate::assistant::Reply) (or a
//! [`Menu`](crate::assistant::Menu)) to what a channel shows, in the words of [`crate::words`].

pub mod json;
pub mod markdown;
pub mod telegram;
pub mod terminal;

#[cfg(test)]
mod tests {
    use crate::assistant::{Outcome, Reply, Shown};

    fn answer(figures_checked: Option<&str>) -> Reply {
        Reply {
            question: "how much is ssp".into(),
            heading: None,
            region: None,
            outcome: Outcome::Answer,
            results: Vec::new(),
            crisis_message: None,
            crisis: None,
            crisis_similarity: None,
            smalltalk: None,
            shown: Some(Shown::Guidance {
                id: "ssp-eligibility".into(),
                title: "Who gets SSP".into(),
                summary: "SSP is paid from the first full day.".into(),
                answer: "It is **£123.25** a week.".into(),
                figures_checked: figures_checked.map(str::to_string),
            }),
            runners_up: Vec::new(),
            follow_up: None,
            programmes: Vec::new(),
            related: Vec::new(),
            sources: Vec::new(),
            choices: Vec::new(),
            helpline: None,
            content_digest: "d".into(),
        }
    }

    #[test]
    fn a_past_review_by_adds_one_line_on_both_channels() {
        let r = answer(Some("1 December 2026"));
        let line = "Figures in this answer were last checked on 1 December 2026";
        let tg: String = super::telegram::reply(&r, None)
            .iter()
            .map(|m| m.html.clone())
            .collect();
        assert_eq!(tg.matches(line).count(), 1, "{tg}");
        assert!(tg.contains(&format!("<i>{line}")), "{tg}");
        let term = super::terminal::reply(&r);
        assert_eq!(term.matches(line).count(), 1, "{term}");
        // It comes after the answer, not before it.
        assert!(term.find("£123.25").unwrap() < term.find(line).unwrap());
    }

    #[test]
    fn json_says_small_talk_in_the_shared_formats_four_outcomes() {
        let mut r = answer(None);
        let v = super::json::reply(&r);
        assert_eq!(v["outcome"], "answer");
        assert!(v.get("smalltalk").is_none(), "{v}");
        r.outcome = Outcome::SmallTalk;
        let v = super::json::reply(&r);
        assert_eq!(v["outcome"], "no_answer");
        assert_eq!(v["smalltalk"], true);
    }

    #[test]
    fn no_line_while_the_figures_are_in_date() {
        let r = answer(None);
        let tg: String = super::telegram::reply(&r, None)
            .iter()
            .map(|m| m.html.clone())
            .collect();
        assert!(!tg.contains("last checked"), "{tg}");
        assert!(!super::terminal::reply(&r).contains("last checked"));
    }
}
