//! Plain terminal text for a reply (`ask`), with its choices numbered; its words from
//! [`crate::words`].

use crate::assistant::{Outcome, Reply, Shown};
use crate::words;

use super::markdown::to_plain;

pub fn reply(r: &Reply) -> String {
    let mut s = String::new();
    if let Some(h) = &r.heading {
        s.push_str(&super::telegram::unescape_plain(h));
        s.push_str("\n\n");
    }
    if let Some(msg) = &r.crisis_message {
        s.push_str(&to_plain(msg));
        s.push_str("\n\n");
    }
    if let Some(word) = &r.smalltalk {
        s.push_str(word);
        s.push('\n');
    }
    if let Some(f) = &r.follow_up {
        s.push_str(&super::telegram::follow_up_line(f));
        s.push_str("\n\n");
    }
    match r.outcome {
        Outcome::Clarify => {
            s.push_str(words::CLARIFY);
            s.push('\n');
        }
        Outcome::NoAnswer => {
            let helpline = r.helpline.as_ref().map(|h| h.sentence());
            s.push_str(&format!(
                "{} {}\n",
                words::NO_ANSWER,
                words::no_answer_help(helpline.as_deref())
            ));
        }
        _ => {}
    }
    match &r.shown {
        Some(Shown::Guidance {
            title,
            summary,
            answer,
            figures_checked,
            ..
        }) => {
            s.push_str(&format!(
                "{title}\n{}\n\n{summary}\n\n{}\n",
                "=".repeat(title.chars().count()),
                to_plain(answer)
            ));
            if let Some(date) = figures_checked {
                s.push_str(&format!("\n{}\n", words::figures_checked(date)));
            }
        }
        Some(Shown::Programme { card }) => {
            s.push_str(&format!(
                "{}\n{}\n\n",
                card.name,
                "=".repeat(card.name.chars().count())
            ));
            s.push_str(&programme(card));
        }
        None => {}
    }
    if !r.programmes.is_empty() {
        s.push_str(&format!("\n{}:\n", words::WHO_CAN_HELP));
        for p in &r.programmes {
            s.push_str(&format!("\n* {}\n", p.name));
            for line in programme(p).lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
    }
    if !r.sources.is_empty() {
        s.push_str(&format!("\n{}:\n", words::SOURCES));
        for src in &r.sources {
            s.push_str(&format!("- {} <{}>\n", src.title, src.url));
        }
    }
    if !r.runners_up.is_empty() {
        s.push('\n');
        s.push_str(&super::telegram::or_did_you_mean(&r.runners_up));
        s.push('\n');
    }
    if !r.choices.is_empty() {
        s.push('\n');
        for (i, c) in r.choices.iter().enumerate() {
            s.push_str(&format!("[{}] {}\n", i + 1, c.label()));
        }
    }
    s
}

fn programme(p: &crate::assistant::ProgrammeCard) -> String {
    let mut s = format!("{}\n{}: {}\n", p.summary, words::HOW_TO_JOIN, p.how_to_join);
    if let Some(u) = &p.url {
        s.push_str(&format!("{}: {u}\n", words::WEB));
    }
    if let Some(ph) = &p.phone {
        s.push_str(&format!("{}: {ph}\n", words::PHONE));
    }
    if let Some(e) = &p.email {
        s.push_str(&format!("{}: {e}\n", words::EMAIL));
    }
    s
}
