//! `workhealth chat`: the Telegram conversation in a terminal, buttons as numbered choices.
//! Needs no token and no network; reads lines from any input, so it can be driven by a pipe.

use std::io::{BufRead, Write};

use crate::assistant::{Assistant, Choice, Context, Reply};
use crate::render::terminal;

const HELP: &str = "Ask a question in your own words, for example \"one of my staff is signed off with stress, what now?\".\n\
Type a number to pick one of the choices shown.\n\
/topics  browse the topics\n\
/region  set your region (your local programmes are shown first)\n\
/help    this help\n\
/quit    leave\n\n\
workhealth gives information, not legal or medical advice.";

/// What a number typed next stands for.
#[derive(Debug, Clone)]
enum Pick {
    Choice(Choice),
    Topic(String),
    Region(Option<String>),
}

pub fn run(assistant: &Assistant, input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    let mut cx = Context::default();
    let mut menu: Vec<Pick> = Vec::new();
    writeln!(
        out,
        "workhealth: questions about staff health and work, answered from sourced guidance.\n{HELP}\n"
    )?;
    prompt(&mut out)?;
    for line in input.lines() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            prompt(&mut out)?;
            continue;
        }
        match text {
            "/quit" | "/exit" => break,
            "/help" | "/start" => writeln!(out, "{HELP}")?,
            "/topics" => menu = topics(assistant, &mut out)?,
            "/region" => menu = regions(assistant, &mut out)?,
            _ => {
                if let Ok(n) = text.parse::<usize>() {
                    match n.checked_sub(1).and_then(|i| menu.get(i)).cloned() {
                        Some(pick) => menu = picked(assistant, &mut cx, pick, &mut out)?,
                        None => writeln!(
                            out,
                            "There is no choice {n} here. Type a question, or /help."
                        )?,
                    }
                } else {
                    let reply = assistant.reply(&cx, text);
                    menu = show(&reply, &mut out)?;
                }
            }
        }
        prompt(&mut out)?;
    }
    writeln!(out)?;
    Ok(())
}

fn prompt(out: &mut impl Write) -> std::io::Result<()> {
    write!(out, "> ")?;
    out.flush()
}

fn show(reply: &Reply, out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    writeln!(out, "{}", terminal::reply(reply))?;
    Ok(reply.choices.iter().cloned().map(Pick::Choice).collect())
}

fn picked(
    assistant: &Assistant,
    cx: &mut Context,
    pick: Pick,
    out: &mut impl Write,
) -> std::io::Result<Vec<Pick>> {
    match pick {
        Pick::Choice(Choice::Show { id, .. }) => match assistant.show(cx, &id) {
            Some(r) => show(&r, out),
            None => {
                writeln!(out, "That entry is no longer in the guidance.")?;
                Ok(Vec::new())
            }
        },
        Pick::Choice(Choice::Topics) => topics(assistant, out),
        Pick::Choice(Choice::TalkToSomeone) => show(&assistant.talk_to_someone(cx), out),
        Pick::Choice(Choice::CrisisLines) => show(&assistant.crisis_lines(cx), out),
        Pick::Topic(topic) => {
            let entries: Vec<Pick> = assistant
                .content()
                .entries_in(&topic)
                .map(|e| {
                    Pick::Choice(Choice::Show {
                        id: e.id.clone(),
                        title: e.title.clone(),
                    })
                })
                .collect();
            for (i, p) in entries.iter().enumerate() {
                if let Pick::Choice(c) = p {
                    writeln!(out, "[{}] {}", i + 1, c.label())?;
                }
            }
            Ok(entries)
        }
        Pick::Region(r) => {
            let name = r
                .as_deref()
                .and_then(|id| assistant.content().region(id))
                .map(|r| r.name.clone());
            cx.region = r;
            writeln!(out, "Region set: {}.", name.as_deref().unwrap_or("none"))?;
            Ok(Vec::new())
        }
    }
}

fn topics(assistant: &Assistant, out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    writeln!(out, "Topics:")?;
    let topics = &assistant.content().topics;
    for (i, t) in topics.iter().enumerate() {
        writeln!(out, "[{}] {}", i + 1, t.title)?;
    }
    Ok(topics.iter().map(|t| Pick::Topic(t.id.clone())).collect())
}

fn regions(assistant: &Assistant, out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    writeln!(out, "Where are you?")?;
    let mut picks = Vec::new();
    for r in assistant
        .content()
        .regions
        .iter()
        .filter(|r| r.id != crate::content::NATIONAL)
    {
        picks.push((r.name.clone(), Pick::Region(Some(r.id.clone()))));
    }
    picks.push(("Somewhere else / don't say".to_string(), Pick::Region(None)));
    for (i, (name, _)) in picks.iter().enumerate() {
        writeln!(out, "[{}] {name}", i + 1)?;
    }
    Ok(picks.into_iter().map(|(_, p)| p).collect())
}
