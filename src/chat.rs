//! `workhealth chat`: the Telegram conversation in a terminal. Replies are the bot's own
//! messages ([`crate::render::telegram`]) as plain text, links written out, and their buttons
//! as numbered choices: the same first message, "Read more", "Or did you mean…", menus and
//! texts. Needs no token and no network; reads lines from any input, so it can be driven by a
//! pipe. Every Telegram command (`/start`, `/help`, `/topics`, `/programmes`, `/region`,
//! `/privacy`, `/forget`) works here too. Nothing is logged: the region and the previous
//! question (for follow-ups, [`FOLLOW_UP_WINDOW`]) are kept in memory only, and `/forget`
//! clears them.

use std::io::{BufRead, Write};
use std::time::Instant;

use crate::assistant::{Assistant, Context, FOLLOW_UP_WINDOW, Previous, Reply};
use crate::bot::texts;
use crate::render::telegram::{self as tgr, Action, ButtonKind, Message};

/// What only the terminal adds to the bot's help.
const CHAT_HELP: &str =
    "In this terminal, type a number to pick one of the choices shown, and /quit to leave.";

/// What a number typed next stands for.
#[derive(Debug, Clone)]
enum Pick {
    Action(Action),
    Topic(String),
    Region(Option<String>),
    /// `/forget` answered: yes (true) or no.
    Forget(bool),
}

/// One terminal conversation: the asker's region and previous question, in memory only.
#[derive(Default)]
struct Session {
    cx: Context,
    previous: Option<(Instant, Previous)>,
}

pub fn run(assistant: &Assistant, input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    let mut session = Session::default();
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
                    "{}\n\n{}\n",
                    plain(texts::WELCOME),
                    plain(texts::PRIVACY_SHORT)
                )?;
                menu = regions(assistant, &mut out)?;
            }
            Some("help") => writeln!(out, "{}\n\n{CHAT_HELP}", plain(texts::HELP))?,
            Some("privacy") => writeln!(out, "{}", plain(texts::PRIVACY))?,
            Some("topics") => menu = topics(assistant, &mut out)?,
            Some("region") => menu = regions(assistant, &mut out)?,
            Some("programmes") => menu = programmes(assistant, &session.cx, &mut out)?,
            Some("forget") => {
                menu = numbered(
                    &mut out,
                    &plain(texts::FORGET_ASK),
                    vec![
                        ("Yes, delete".to_string(), Pick::Forget(true)),
                        ("No, keep them".to_string(), Pick::Forget(false)),
                    ],
                )?;
            }
            Some(_) => writeln!(out, "{}", plain(texts::UNKNOWN_COMMAND))?,
            None => {
                if let Ok(n) = text.parse::<usize>() {
                    match n.checked_sub(1).and_then(|i| menu.get(i)).cloned() {
                        Some(pick) => menu = picked(assistant, &mut session, pick, &mut out)?,
                        None => writeln!(
                            out,
                            "There is no choice {n} here. Type a question, or /help."
                        )?,
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
                    menu = show(&tgr::reply(&reply, None), &mut out)?;
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
fn show(msgs: &[Message], out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    let mut picks = Vec::new();
    for m in msgs {
        writeln!(out, "{}", plain(&m.html))?;
        for b in m.buttons.iter().flatten() {
            if let ButtonKind::Action(a) = &b.kind {
                picks.push((b.text.clone(), Pick::Action(a.clone())));
            }
        }
    }
    if picks.is_empty() {
        return Ok(Vec::new());
    }
    numbered(out, "", picks)
}

/// A heading (if any) and numbered choices.
fn numbered(
    out: &mut impl Write,
    heading: &str,
    picks: Vec<(String, Pick)>,
) -> std::io::Result<Vec<Pick>> {
    if !heading.is_empty() {
        writeln!(out, "{heading}")?;
    } else {
        writeln!(out)?;
    }
    for (i, (label, _)) in picks.iter().enumerate() {
        writeln!(out, "[{}] {label}", i + 1)?;
    }
    Ok(picks.into_iter().map(|(_, p)| p).collect())
}

/// `/programmes`: the same heading and list as the bot's.
fn programmes(
    assistant: &Assistant,
    cx: &Context,
    out: &mut impl Write,
) -> std::io::Result<Vec<Pick>> {
    let region = cx.region.as_deref();
    let name = region
        .and_then(|r| assistant.content().region(r))
        .map(|r| tgr::escape(&r.name));
    let reply = Reply {
        programmes: assistant.programmes_for(region),
        ..assistant.talk_to_someone(cx)
    };
    let mut msgs = tgr::reply(&reply, None);
    if let Some(first) = msgs.first_mut() {
        first.html = format!(
            "{}\n\n{}",
            texts::programmes_heading(name.as_deref()),
            first.html
        );
    }
    show(&msgs, out)
}

fn picked(
    assistant: &Assistant,
    session: &mut Session,
    pick: Pick,
    out: &mut impl Write,
) -> std::io::Result<Vec<Pick>> {
    let cx = session.cx.clone();
    match pick {
        Pick::Action(Action::Show(id)) => match assistant.show(&cx, &id) {
            Some(r) => {
                if let Some((_, p)) = &mut session.previous {
                    p.entry = Some(id.clone());
                }
                show(&tgr::reply(&r, None), out)
            }
            None => {
                writeln!(out, "{}", plain(texts::STALE))?;
                Ok(Vec::new())
            }
        },
        Pick::Action(Action::ReadMore(id)) => match assistant.show(&cx, &id) {
            Some(r) => show(&tgr::more(&r), out),
            None => {
                writeln!(out, "{}", plain(texts::STALE))?;
                Ok(Vec::new())
            }
        },
        Pick::Action(Action::Topics) => topics(assistant, out),
        Pick::Action(a @ (Action::TalkToSomeone | Action::CrisisLines)) => {
            let reply = if a == Action::CrisisLines {
                assistant.crisis_lines(&cx)
            } else {
                assistant.talk_to_someone(&cx)
            };
            let mut msgs = tgr::reply(&reply, None);
            if let Some(first) = msgs.first_mut() {
                first.html = format!("{}\n\n{}", texts::PEOPLE_WHO_CAN_HELP, first.html);
            }
            show(&msgs, out)
        }
        // chat offers no feedback buttons (nothing is logged), so none can be picked.
        Pick::Action(Action::Feedback { .. }) => Ok(Vec::new()),
        Pick::Topic(topic) => {
            let Some(t) = assistant.content().topic(&topic) else {
                writeln!(out, "{}", plain(texts::STALE))?;
                return Ok(Vec::new());
            };
            let mut entries: Vec<(String, Pick)> = assistant
                .content()
                .entries_in(&topic)
                .map(|e| {
                    (
                        tgr::button_label(&e.title),
                        Pick::Action(Action::Show(e.id.clone())),
                    )
                })
                .collect();
            entries.push(("« All topics".to_string(), Pick::Action(Action::Topics)));
            numbered(
                out,
                &plain(&texts::topic_heading(&tgr::escape(&t.title))),
                entries,
            )
        }
        Pick::Forget(false) => {
            writeln!(out, "{}", plain(texts::NOTHING_DELETED))?;
            Ok(Vec::new())
        }
        Pick::Forget(true) => {
            // chat keeps no questions; the region and the previous question are all it holds.
            *session = Session::default();
            writeln!(
                out,
                "Done: I deleted 0 question(s) and your settings. You can carry on asking."
            )?;
            Ok(Vec::new())
        }
        Pick::Region(r) => {
            let r = r.filter(|id| assistant.content().region(id).is_some());
            let name = r
                .as_deref()
                .and_then(|id| assistant.content().region(id))
                .map(|r| tgr::escape(&r.name));
            session.cx.region = r;
            writeln!(out, "{}", plain(&texts::region_saved(name.as_deref())))?;
            Ok(Vec::new())
        }
    }
}

fn topics(assistant: &Assistant, out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    let picks = assistant
        .content()
        .topics
        .iter()
        .map(|t| (tgr::button_label(&t.title), Pick::Topic(t.id.clone())))
        .collect();
    numbered(out, &plain(texts::TOPICS), picks)
}

fn regions(assistant: &Assistant, out: &mut impl Write) -> std::io::Result<Vec<Pick>> {
    let mut picks: Vec<(String, Pick)> = assistant
        .content()
        .regions
        .iter()
        .filter(|r| r.id != crate::content::NATIONAL)
        .map(|r| (r.name.clone(), Pick::Region(Some(r.id.clone()))))
        .collect();
    picks.push((texts::ELSEWHERE.to_string(), Pick::Region(None)));
    numbered(out, &plain(texts::ASK_REGION), picks)
}
