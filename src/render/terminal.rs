//! Plain terminal text for a reply, with its choices numbered.

use crate::assistant::{Outcome, Reply, Shown};

use super::markdown::to_plain;

pub fn reply(r: &Reply) -> String {
    let mut s = String::new();
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
        Outcome::Clarify => s.push_str("I'm not sure which of these you mean:\n"),
        Outcome::NoAnswer => s.push_str(
            "Sorry, I don't have guidance on that. Try /topics to browse what I cover, or talk to Acas \
             (0300 123 1100) for free employment advice. If someone's life is at risk, call 999.\n",
        ),
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
                s.push_str(&format!("\n{}\n", super::figures_checked_line(date)));
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
        s.push_str("\nWho can help:\n");
        for p in &r.programmes {
            s.push_str(&format!("\n* {}\n", p.name));
            for line in programme(p).lines() {
                s.push_str(&format!("  {line}\n"));
            }
        }
    }
    if !r.sources.is_empty() {
        s.push_str("\nSources:\n");
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
    let mut s = format!("{}\nHow to join: {}\n", p.summary, p.how_to_join);
    if let Some(u) = &p.url {
        s.push_str(&format!("Web: {u}\n"));
    }
    if let Some(ph) = &p.phone {
        s.push_str(&format!("Phone: {ph}\n"));
    }
    if let Some(e) = &p.email {
        s.push_str(&format!("Email: {e}\n"));
    }
    s
}
