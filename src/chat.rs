//! `workhealth chat`: the Telegram conversation in a terminal. Replies are the bot's own
//! messages ([`crate::render::telegram`]) as plain text, links written out, and their buttons
//! as numbered choices: the same first message, "Read more", "Or did you mean…", the same
//! menus ([`crate::assistant::menu`]) and words ([`crate::words`]). Needs no token and no
//! network; reads lines from any input, so it can be driven by a pipe. Every Telegram
//! command (`/start`, `/help`, `/topics`, `/programmes`, `/region`, `/privacy`, `/forget`)
//! works here too. Nothing is logged: the region and the previous
//! question (for follow-ups, [`FOLLOW_UP_WINDOW`]) are kept in memory only, and `/forget`
//! clears them.

use std::io::{BufRead, Write};
use std::time::Instant;

use crate::assistant::{Assistant, Context, FOLLOW_UP_WINDOW, Menu, Previous, menu};
use crate::render::telegram::{self as tgr, Action, ButtonKind, Message};
use crate::words;

/// One terminal conversation: the asker's region and previous question, in memory only.
#[derive(Default)]
struct Session {
    cx: Context,
    previous: Option<(Instant, Previous)>,
}

pub fn run(assistant: &Assistant, input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    let mut session = Session::default();
    // What each number typed next stands for.
    let mut picks: Vec<Action> = Vec::new();
    writeln!(
        out,
        "{}\n\n{}\n",
        plain(words::WELCOME),
        plain(words::CHAT_HELP)
    )?;
    prompt(&mut out)?;
    for line in input.lines() {
        let line = line?;
        let text = line.trim();
        if text.is_empty() {
            prompt(&mut out)?;
            continue;
        }
        let content = assistant.content();
        match command(text).as_deref() {
            Some("quit" | "exit") => break,
            Some("start") => {
                writeln!(
                    out,
                    "{}\n\n{}\n",
                    plain(words::WELCOME),
                    plain(words::PRIVACY_SHORT)
                )?;
                picks = draw(&menu::regions(content), &mut out)?;
            }
            Some("help") => writeln!(out, "{}\n\n{}", plain(words::HELP), plain(words::CHAT_HELP))?,
            Some("privacy") => writeln!(out, "{}", plain(words::PRIVACY))?,
            Some("topics") => picks = draw(&menu::topics(content), &mut out)?,
            Some("region") => picks = draw(&menu::regions(content), &mut out)?,
            Some("programmes") => {
                let reply = assistant.programmes(&session.cx);
                picks = show(&tgr::reply(&reply, None), &mut out)?;
            }
            Some("forget") => picks = draw(&menu::forget(), &mut out)?,
            Some(_) => writeln!(out, "{}", plain(words::UNKNOWN_COMMAND))?,
            None => {
                if let Ok(n) = text.parse::<usize>() {
                    match n.checked_sub(1).and_then(|i| picks.get(i)).cloned() {
                        Some(a) => picks = picked(assistant, &mut session, a, &mut out)?,
                        None => writeln!(out, "{}", plain(&words::no_such_choice(n)))?,
                    }
                } else {
                    let previous = session
                        .previous
                        .as_ref()
                        .filter(|(at, _)| at.elapsed() < FOLLOW_UP_WINDOW)
                        .map(|(_, p)| p.clone());
                    let reply = assistant.reply_after(&session.cx, text, previous.as_ref());
                    match Previous::of(&reply) {
                        Some(p) => session.previous = Some((Instant::now(), p)),
                        None if reply.outcome == crate::assistant::Outcome::Crisis => {
                            session.previous = None
                        }
                        None => {}
                    }
                    picks = show(&tgr::reply(&reply, None), &mut out)?;
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

/// The bot's markup as plain text.
fn plain(html: &str) -> String {
    tgr::as_sent(&[Message {
        html: html.to_string(),
        buttons: Vec::new(),
    }])
}

fn prompt(out: &mut impl Write) -> std::io::Result<()> {
    write!(out, "> ")?;
    out.flush()
}

/// The bot's messages as plain text, their buttons numbered in order.
fn show(msgs: &[Message], out: &mut impl Write) -> std::io::Result<Vec<Action>> {
    let mut picks = Vec::new();
    for m in msgs {
        writeln!(out, "{}", plain(&m.html))?;
        for b in m.buttons.iter().flatten() {
            if let ButtonKind::Action(a) = &b.kind {
                picks.push((b.text.clone(), a.clone()));
            }
        }
    }
    if picks.is_empty() {
        return Ok(Vec::new());
    }
    numbered(out, "", picks)
}

/// One of the bot's menus: its heading, then its choices numbered (the labels Telegram's
/// buttons carry).
fn draw(m: &Menu, out: &mut impl Write) -> std::io::Result<Vec<Action>> {
    let picks = m
        .choices()
        .map(|c| (tgr::button_label(c.label()), Action::of(c)))
        .collect();
    numbered(out, &plain(&m.heading), picks)
}

/// A heading (if any) and numbered choices.
fn numbered(
    out: &mut impl Write,
    heading: &str,
    picks: Vec<(String, Action)>,
) -> std::io::Result<Vec<Action>> {
    if !heading.is_empty() {
        writeln!(out, "{heading}")?;
    } else {
        writeln!(out)?;
    }
    for (i, (label, _)) in picks.iter().enumerate() {
        writeln!(out, "[{}] {label}", i + 1)?;
    }
    Ok(picks.into_iter().map(|(_, a)| a).collect())
}

/// Says the bot's words for a button that no longer leads anywhere.
fn stale(out: &mut impl Write) -> std::io::Result<Vec<Action>> {
    writeln!(out, "{}", plain(words::STALE))?;
    Ok(Vec::new())
}

fn picked(
    assistant: &Assistant,
    session: &mut Session,
    pick: Action,
    out: &mut impl Write,
) -> std::io::Result<Vec<Action>> {
    let cx = session.cx.clone();
    let content = assistant.content();
    match pick {
        Action::Show(id) => match assistant.show(&cx, &id) {
            Some(r) => {
                if let Some((_, p)) = &mut session.previous {
                    p.entry = Some(id.clone());
                }
                show(&tgr::reply(&r, None), out)
            }
            None => stale(out),
        },
        Action::ReadMore(id) => match assistant.show(&cx, &id) {
            Some(r) => show(&tgr::more(&r), out),
            None => stale(out),
        },
        Action::Topics => draw(&menu::topics(content), out),
        Action::Topic(id) => match menu::topic(content, &id) {
            Some(m) => draw(&m, out),
            None => stale(out),
        },
        a @ (Action::TalkToSomeone | Action::CrisisLines) => {
            let reply = if a == Action::CrisisLines {
                assistant.crisis_lines(&cx)
            } else {
                assistant.talk_to_someone(&cx)
            };
            show(&tgr::reply(&reply, None), out)
        }
        // chat offers no feedback buttons (nothing is logged), so none can be picked.
        Action::Feedback { .. } => Ok(Vec::new()),
        Action::Forget(false) => {
            writeln!(out, "{}", plain(words::NOTHING_DELETED))?;
            Ok(Vec::new())
        }
        Action::Forget(true) => {
            // chat keeps no questions; the region and the previous question are all it holds.
            *session = Session::default();
            writeln!(out, "{}", plain(words::FORGOTTEN_IN_CHAT))?;
            Ok(Vec::new())
        }
        Action::Region(r) => {
            let region = r.and_then(|id| content.region(&id));
            session.cx.region = region.map(|r| r.id.clone());
            let saved = words::region_saved(region.map(|r| r.name.as_str()));
            writeln!(out, "{}", plain(&saved))?;
            Ok(Vec::new())
        }
    }
}
