//! `workhealth chat`: the Telegram conversation in a terminal, buttons as numbered choices.
//! Needs no token and no network; reads lines from any input, so it can be driven by a pipe.
//! Every Telegram command (`/start`, `/help`, `/topics`, `/programmes`, `/region`, `/privacy`,
//! `/forget`) works here too, with the bot's own texts as plain text. Nothing is logged: the
//! region is kept in memory only, and `/forget` clears it.

use std::io::{BufRead, Write};

use crate::assistant::{Assistant, Choice, Context, Reply};
use crate::bot::texts;
use crate::render::telegram::unescape_plain;
use crate::render::terminal;

/// What only the terminal adds to the bot's help.
const CHAT_HELP: &str =
    "In this terminal, type a number to pick one of the choices shown, and /quit to leave.";

/// What a number typed next stands for.
#[derive(Debug, Clone)]
enum Pick {
    Choice(Choice),
    Topic(String),
    Region(Option<String>),
    /// `/forget` answered: yes (true) or no.
    Forget(bool),
}

pub fn run(assistant: &Assistant, input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    let mut cx = Context::default();
    let mut menu: Vec<Pick> = Vec::new();
    writeln!(out, "{}\n\n{CHAT_HELP}\n", plain(texts::WELCOME))?;
    prompt(&mut out)?;
    for line in input.lines() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            prompt(&mut out)?;
            continue;
        }
        match command(text).as_deref() {
            Some("quit" | "exit") => break,
            Some("start") => {
                writeln!(
                    out,
                    "{}\n\n{}",
                    plain(texts::WELCOME),
                    plain(texts::PRIVACY_SHORT)
                )?;
                menu = regions(assistant, &mut out)?;
            }
            Some("help") => writeln!(out, "{}\n\n{CHAT_HELP}", plain(texts::HELP))?,
            Some("privacy") => writeln!(out, "{}", plain(texts::PRIVACY))?,
            Some("topics") => menu = topics(assistant, &mut out)?,
            Some("region") => menu = regions(assistant, &mut out)?,
            Some("programmes") => menu = programmes(assistant, &cx, &mut out)?,
            Some("forget") => {
                writeln!(
                    out,
                    "{}\n[1] Yes, delete\n[2] No, keep them",
                    plain(texts::FORGET_ASK)
                )?;
                menu = vec![Pick::Forget(true), Pick::Forget(false)];
            }
            Some(_) => writeln!(out, "{}", plain(texts::UNKNOWN_COMMAND))?,
            None => {
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

/// A command's name, lower-cased ("/Programmes@bot extra" -> "programmes"), or `None` for
/// anything that is not a command.
fn command(text: &str) -> Option<String> {
    let word = text
        .strip_prefix('/')?
        .split_whitespace()
        .next()
        .unwrap_or("");
    let name = word.split('@').next().unwrap_or("");
    Some(name.to_ascii_lowercase())
}

/// The bot's HTML text as plain text.
fn plain(html: &str) -> String {
    unescape_plain(html)
}

/// `/programmes`: the same heading and list as the bot's.
fn programmes(
    assistant: &Assistant,
    cx: &Context,
    out: &mut impl Write,
) -> std::io::Result<Vec<Pick>> {
    let region = cx.region.as_deref();
    let heading = match region.and_then(|r| assistant.content().region(r)) {
        Some(r) => format!("Programmes and helplines for {}, local ones first:", r.name),
        None => {
            "Programmes and helplines across the UK. Set /region to see local ones too:".to_string()
        }
    };
    let reply = Reply {
        programmes: assistant.programmes_for(region),
        ..assistant.talk_to_someone(cx)
    };
    writeln!(out, "{heading}\n")?;
    show(&reply, out)
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
        Pick::Forget(false) => {
            writeln!(out, "Nothing was deleted.")?;
            Ok(Vec::new())
        }
        Pick::Forget(true) => {
            // chat keeps no questions; the region is its only setting.
            *cx = Context::default();
            writeln!(
                out,
                "Done: I deleted 0 question(s) and your settings. You can carry on asking."
            )?;
            Ok(Vec::new())
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
