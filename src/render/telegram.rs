//! Telegram HTML for a reply: every piece of text escaped, answers' Markdown turned into the
//! few tags Telegram allows (nested lists indented), and buttons as abstract [`Action`]s (the
//! bot module turns them into callback data). An answer's first message fits a phone (title,
//! summary and the points that fit in [`FIRST_MESSAGE`]); the rest, who can help and the
//! sources are behind "Read more" ([`more`]). Programmes are one line each. Long texts are
//! split at paragraph boundaries into messages under Telegram's 4,096-character limit. A pure
//! function of the reply. Menus ([`menu`]) are drawn the same way: a heading and buttons.
//! Every word comes from [`crate::words`].

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::assistant::{Choice, Menu, Outcome, ProgrammeCard, Reply, Shown};
use crate::words;

/// Telegram HTML escapes what the bot's markup escapes: `<`, `>` and `&`.
pub use crate::words::escape;

/// Telegram's limit is 4,096 characters after entity parsing; stay a little under it.
pub const MAX_MESSAGE: usize = 4000;

/// What a button does when pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Show(String),
    Feedback {
        question: i64,
        helpful: bool,
        /// The entry the buttons sit under, so the feedback is attached to it.
        entry: Option<String>,
    },
    Topics,
    TalkToSomeone,
    /// "Talk to someone" under a crisis reply: the crisis lines first.
    CrisisLines,
    /// The rest of an answer: the points left out of the first message, who can help, sources.
    ReadMore(String),
    /// A topic's entries.
    Topic(String),
    /// Set the region (`None`: somewhere else in the UK).
    Region(Option<String>),
    /// `/forget` answered: delete (true) or keep.
    Forget(bool),
}

impl Action {
    /// What pressing a choice's button does.
    pub fn of(c: &Choice) -> Action {
        match c {
            Choice::Show { id, .. } => Action::Show(id.clone()),
            Choice::Topics | Choice::AllTopics => Action::Topics,
            Choice::TalkToSomeone => Action::TalkToSomeone,
            Choice::CrisisLines => Action::CrisisLines,
            Choice::Topic { id, .. } => Action::Topic(id.clone()),
            Choice::Region { id, .. } => Action::Region(id.clone()),
            Choice::Forget { delete } => Action::Forget(*delete),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonKind {
    Action(Action),
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    pub kind: ButtonKind,
}

impl Button {
    pub fn action(text: impl Into<String>, a: Action) -> Button {
        Button {
            text: text.into(),
            kind: ButtonKind::Action(a),
        }
    }
}

/// One message to send: HTML text and its inline keyboard rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub html: String,
    pub buttons: Vec<Vec<Button>>,
}

/// Escapes a URL for an `href` attribute (quotes too).
fn escape_attr(s: &str) -> String {
    escape(s).replace('"', "&quot;")
}

/// The length Telegram counts for our own HTML: text without tags, entities as one
/// character, in UTF-16 code units.
pub fn visible_len(html: &str) -> usize {
    let mut n = 0;
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
            }
            '&' => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
                n += 1;
            }
            c => n += c.len_utf16(),
        }
    }
    n
}

/// Answer Markdown to self-contained HTML blocks (each paragraph or list item one block,
/// tags closed within it), so blocks can be packed into messages in any grouping.
pub fn markdown_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    for ev in Parser::new(md) {
        match ev {
            Event::Start(Tag::List(start)) => {
                // A nested list: its parent item's text is a block of its own, so the
                // children go on lines of their own, not run onto the parent's.
                flush(&mut cur, &mut blocks);
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                // Nested items are indented with no-break spaces (Telegram keeps them).
                let depth = lists.len().saturating_sub(1);
                let indent = "\u{a0}\u{a0}\u{a0}\u{a0}".repeat(depth);
                match lists.last_mut() {
                    Some(Some(n)) => {
                        cur.push_str(&format!("{indent}{n}. "));
                        *n += 1;
                    }
                    _ if depth > 0 => cur.push_str(&format!("{indent}◦ ")),
                    _ => cur.push_str(&format!("{indent}• ")),
                }
            }
            Event::End(TagEnd::Item) | Event::End(TagEnd::Paragraph) => {
                flush(&mut cur, &mut blocks);
            }
            Event::Start(Tag::Paragraph) => {}
            Event::Start(Tag::Strong) => cur.push_str("<b>"),
            Event::End(TagEnd::Strong) => cur.push_str("</b>"),
            Event::Start(Tag::Emphasis) => cur.push_str("<i>"),
            Event::End(TagEnd::Emphasis) => cur.push_str("</i>"),
            Event::Start(Tag::Link { dest_url, .. }) => {
                cur.push_str(&format!("<a href=\"{}\">", escape_attr(&dest_url)));
            }
            Event::End(TagEnd::Link) => cur.push_str("</a>"),
            Event::Code(t) => cur.push_str(&format!("<code>{}</code>", escape(&t))),
            Event::Text(t) => cur.push_str(&escape(&t)),
            // Raw HTML is not allowed in content; should any slip through, show it as text.
            Event::Html(t) | Event::InlineHtml(t) => cur.push_str(&escape(&t)),
            Event::SoftBreak => cur.push(' '),
            Event::HardBreak => cur.push('\n'),
            _ => {}
        }
    }
    flush(&mut cur, &mut blocks);
    blocks
}

/// Ends the block being built, if it has any text: trimmed, but keeping the no-break spaces
/// that indent a nested item.
fn flush(cur: &mut String, blocks: &mut Vec<String>) {
    let b = cur
        .trim_end()
        .trim_start_matches(|c: char| c.is_whitespace() && c != '\u{a0}');
    if !b.trim().is_empty() {
        blocks.push(b.to_string());
    }
    cur.clear();
}

/// Where a reply's text comes from: what to say, then what buttons to offer.
pub fn reply(r: &Reply, question_id: Option<i64>) -> Vec<Message> {
    let mut first: Vec<String> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    if let Some(h) = &r.heading {
        blocks.push(h.clone());
    }
    if let Some(msg) = &r.crisis_message {
        // The crisis message goes first, in a message of its own.
        first = markdown_blocks(msg);
    }
    if let Some(word) = &r.smalltalk {
        blocks.push(escape(word));
    }
    if let Some(f) = &r.follow_up {
        blocks.push(format!("<i>{}</i>", escape(&follow_up_line(f))));
    }
    match r.outcome {
        Outcome::Clarify => blocks.push(escape(words::CLARIFY)),
        Outcome::NoAnswer => {
            blocks.push(escape(words::NO_ANSWER));
            let helpline = r.helpline.as_ref().map(|h| h.sentence());
            blocks.push(escape(&words::no_answer_help(helpline.as_deref())));
        }
        _ => {}
    }
    // The first message of an answer fits a phone: the title, the summary and the points
    // that fit in FIRST_MESSAGE; the rest is behind "Read more" ([`more`]).
    let mut has_more = false;
    match &r.shown {
        Some(Shown::Guidance {
            title,
            summary,
            answer,
            figures_checked,
            ..
        }) => {
            blocks.push(format!("<b>{}</b>", escape(title)));
            blocks.push(format!("<i>{}</i>", escape(summary)));
            let (head, rest) = split_answer(answer, &blocks);
            blocks.extend(head);
            if let Some(date) = figures_checked {
                blocks.push(format!("<i>{}</i>", escape(&words::figures_checked(date))));
            }
            if r.outcome == Outcome::Crisis {
                // After a crisis, who can help (the crisis lines first) is not hidden.
                blocks.extend(programme_list(&r.programmes));
            }
            has_more = !rest.is_empty()
                || (r.outcome != Outcome::Crisis && !r.programmes.is_empty())
                || !r.sources.is_empty();
        }
        Some(Shown::Programme { card }) => {
            blocks.push(format!("<b>{}</b>", escape(&card.name)));
            blocks.extend(programme_blocks(card));
            blocks.extend(sources_block(r));
        }
        None => {
            // "Talk to someone", /programmes: a short list, one line a programme.
            blocks.extend(programme_list(&r.programmes));
            blocks.extend(sources_block(r));
        }
    }
    if r.shown.is_some() {
        blocks.push(disclaimer());
    }
    if !r.runners_up.is_empty() {
        blocks.push(format!(
            "<i>{}</i>",
            escape(&or_did_you_mean(&r.runners_up))
        ));
    }

    let mut rows: Vec<Vec<Button>> = Vec::new();
    if let (Some(q), Some(shown)) = (question_id, &r.shown) {
        let entry = Some(shown.id().to_string());
        rows.push(vec![
            Button::action(
                words::HELPFUL,
                Action::Feedback {
                    question: q,
                    helpful: true,
                    entry: entry.clone(),
                },
            ),
            Button::action(
                words::NOT_HELPFUL,
                Action::Feedback {
                    question: q,
                    helpful: false,
                    entry,
                },
            ),
        ]);
    }
    if has_more && let Some(Shown::Guidance { id, .. }) = &r.shown {
        rows.push(vec![Button::action(
            words::READ_MORE,
            Action::ReadMore(id.clone()),
        )]);
    }
    for c in &r.choices {
        rows.push(vec![button(c)]);
    }

    let mut out = Vec::new();
    if !first.is_empty() {
        out.extend(pack(&first, Vec::new()));
    }
    out.extend(pack(&blocks, rows));
    out
}

/// A choice as a button: its label, kept short, and what it does.
fn button(c: &Choice) -> Button {
    Button::action(button_label(c.label()), Action::of(c))
}

/// A menu: its heading, then its choices as buttons, row by row.
pub fn menu(m: &Menu) -> Vec<Message> {
    let rows = m
        .rows
        .iter()
        .map(|row| row.iter().map(button).collect())
        .collect();
    pack(std::slice::from_ref(&m.heading), rows)
}

/// The line over a reply taken as a follow-up of the previous question (plain).
pub fn follow_up_line(f: &crate::assistant::FollowUp) -> String {
    words::following_on(f.title.as_deref())
}

/// "Or did you mean “A” or “B”?": the close runners-up under an answer (their buttons lead).
pub fn or_did_you_mean(runners_up: &[crate::assistant::ItemLink]) -> String {
    let titles: Vec<&str> = runners_up.iter().map(|r| r.title.as_str()).collect();
    words::or_did_you_mean(&titles)
}

/// The first message of an answer stays within about this many characters (as Telegram
/// counts them).
pub const FIRST_MESSAGE: usize = 900;

/// The line under every answer shown.
fn disclaimer() -> String {
    format!("<i>{}</i>", escape(words::DISCLAIMER))
}

/// An answer's blocks split into those for the first message (after `before`, which is already
/// in it) and the rest: blocks in order while they fit in [`FIRST_MESSAGE`], leaving room for
/// the disclaimer and a possible figures line; a heading is never left last.
fn split_answer(answer: &str, before: &[String]) -> (Vec<String>, Vec<String>) {
    let reserve = visible_len(&disclaimer()) + 2 + 130;
    let mut used: usize = before.iter().map(|b| visible_len(b) + 2).sum::<usize>() + reserve;
    let all = markdown_blocks(answer);
    let mut head = Vec::new();
    let mut rest = Vec::new();
    for b in all {
        let len = visible_len(&b) + 2;
        if rest.is_empty() && used + len <= FIRST_MESSAGE {
            used += len;
            head.push(b);
        } else {
            rest.push(b);
        }
    }
    // A heading ("<b>What the law says</b>") with nothing under it goes with what follows.
    while head.last().is_some_and(|h| is_heading(h)) && !rest.is_empty() {
        rest.insert(0, head.pop().expect("checked"));
    }
    (head, rest)
}

fn is_heading(block: &str) -> bool {
    block.starts_with("<b>") && block.ends_with("</b>") && block.matches("<b>").count() == 1
}

/// "Read more" under an answer: the points left out of the first message, who can help (one
/// line each) and the sources.
pub fn more(r: &Reply) -> Vec<Message> {
    let mut blocks = Vec::new();
    if let Some(Shown::Guidance {
        title,
        summary,
        answer,
        ..
    }) = &r.shown
    {
        let before = [
            format!("<b>{}</b>", escape(title)),
            format!("<i>{}</i>", escape(summary)),
        ];
        let (_, rest) = split_answer(answer, &before);
        if !rest.is_empty() {
            blocks.push(format!(
                "<b>{}</b> {}",
                escape(title),
                escape(words::CONTINUED)
            ));
            blocks.extend(rest);
        }
    }
    if !r.programmes.is_empty() {
        blocks.push(format!("<b>{}</b>", escape(words::WHO_CAN_HELP)));
        blocks.extend(programme_list(&r.programmes));
    }
    blocks.extend(sources_block(r));
    if blocks.is_empty() {
        blocks.push(escape(words::NOTHING_MORE));
    }
    let rows = vec![vec![button(&Choice::TalkToSomeone)]];
    pack(&blocks, rows)
}

/// Programmes one line each: name, who it is for (the summary's first sentence), one link.
fn programme_list(cards: &[ProgrammeCard]) -> Vec<String> {
    let lines: Vec<String> = cards.iter().map(programme_line).collect();
    // Lines of one list, one block per few so a long list still packs under the limit.
    lines.chunks(8).map(|c| c.join("\n")).collect()
}

fn programme_line(p: &ProgrammeCard) -> String {
    let local = if p.local {
        format!(" ({})", escape(words::IN_YOUR_AREA))
    } else {
        String::new()
    };
    let link = match (&p.url, &p.phone) {
        (Some(u), _) => format!(
            " · <a href=\"{}\">{}</a>",
            escape_attr(u),
            escape(words::WEBSITE_SHORT)
        ),
        (None, Some(ph)) => format!(" · {} {}", escape(words::PHONE_SHORT), escape(ph)),
        (None, None) => p
            .email
            .as_ref()
            .map(|e| format!(" · {}", escape(e)))
            .unwrap_or_default(),
    };
    format!(
        "• <b>{}</b>{local}: {}{link}",
        escape(&p.name),
        escape(&first_sentence(&p.summary, 110))
    )
}

/// The first sentence of a text, cut at a word to at most `max` characters.
fn first_sentence(text: &str, max: usize) -> String {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|(i, c)| *c == '.' && t[i + 1..].starts_with(' '))
        .map(|(i, _)| i + 1)
        .unwrap_or(t.len());
    let s = &t[..end];
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for w in s.split_whitespace() {
        if out.chars().count() + w.chars().count() + 1 > max - 1 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.push('…');
    out
}

fn sources_block(r: &Reply) -> Option<String> {
    if r.sources.is_empty() {
        return None;
    }
    let links: Vec<String> = r
        .sources
        .iter()
        .map(|s| {
            format!(
                "• <a href=\"{}\">{}</a>",
                escape_attr(&s.url),
                escape(&s.title)
            )
        })
        .collect();
    Some(format!(
        "<b>{}</b>\n{}",
        escape(words::SOURCES),
        links.join("\n")
    ))
}

/// Button text: Telegram shows about 40 characters on a phone; keep labels short.
pub fn button_label(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX - 1).collect();
        t.push('…');
        t
    }
}

/// A programme in full (its details view).
fn programme_blocks(p: &ProgrammeCard) -> Vec<String> {
    let mut lines = vec![
        format!("<i>{}</i>", escape(&p.provider)),
        escape(&p.summary),
    ];
    lines.push(format!(
        "<b>{}:</b> {}",
        escape(words::HOW_TO_JOIN),
        escape(&p.how_to_join)
    ));
    let mut contact = Vec::new();
    if let Some(u) = &p.url {
        contact.push(format!(
            "<a href=\"{}\">{}</a>",
            escape_attr(u),
            escape(words::WEBSITE)
        ));
    }
    if let Some(ph) = &p.phone {
        contact.push(format!("{} {}", escape(words::PHONE), escape(ph)));
    }
    if let Some(e) = &p.email {
        contact.push(escape(e));
    }
    if !contact.is_empty() {
        lines.push(contact.join(" · "));
    }
    lines
}

/// Messages as the user sees them, for the question log: each message's text (tags removed,
/// links kept as "text <url>" when the URL is not already shown), then its buttons as
/// "[label]" lines.
pub fn as_sent(messages: &[Message]) -> String {
    let mut parts = Vec::new();
    for m in messages {
        let mut text = unescape_plain(&link_targets(&m.html));
        let labels: Vec<String> = m
            .buttons
            .iter()
            .flatten()
            .map(|b| format!("[{}]", b.text))
            .collect();
        if !labels.is_empty() {
            text.push_str("\n\n");
            text.push_str(&labels.join("\n"));
        }
        parts.push(text);
    }
    parts.join("\n\n")
}

/// `<a href="U">T</a>` as `<a>T</a> <U>` (escaped), so the URL survives removing the tags.
fn link_targets(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<a href=\"") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 9..];
        let Some(q) = after.find('"') else {
            rest = &rest[at..];
            break;
        };
        let url = &after[..q];
        let Some(close) = after.find("</a>") else {
            rest = &rest[at..];
            break;
        };
        let inner_start = after[q..].find('>').map(|i| q + i + 1).unwrap_or(q);
        let inner = &after[inner_start.min(close)..close];
        out.push_str(inner);
        if unescape_plain(inner) != unescape_plain(url) {
            out.push_str(&format!(" &lt;{url}&gt;"));
        }
        rest = &after[close + 4..];
    }
    out.push_str(rest);
    out
}

/// A plain message with optional buttons, for the bot's own texts (help, privacy...).
pub fn text(html_blocks: &[String], buttons: Vec<Vec<Button>>) -> Vec<Message> {
    pack(html_blocks, buttons)
}

/// Packs blocks into messages under [`MAX_MESSAGE`], joining with blank lines; buttons go on
/// the last message. A block too long on its own is cut at line, then word, boundaries.
pub fn pack(blocks: &[String], buttons: Vec<Vec<Button>>) -> Vec<Message> {
    let mut pieces: Vec<String> = Vec::new();
    for b in blocks {
        if visible_len(b) <= MAX_MESSAGE {
            pieces.push(b.clone());
        } else {
            pieces.extend(cut(b));
        }
    }
    let mut out: Vec<Message> = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for p in pieces {
        let len = visible_len(&p);
        let sep = if cur.is_empty() { 0 } else { 2 };
        if cur_len + sep + len > MAX_MESSAGE && !cur.is_empty() {
            out.push(Message {
                html: std::mem::take(&mut cur),
                buttons: Vec::new(),
            });
            cur_len = 0;
        }
        if !cur.is_empty() {
            cur.push_str("\n\n");
            cur_len += 2;
        }
        cur.push_str(&p);
        cur_len += len;
    }
    if !cur.is_empty() || out.is_empty() {
        if cur.is_empty() {
            cur.push('…');
        }
        out.push(Message {
            html: cur,
            buttons: Vec::new(),
        });
    }
    if let Some(last) = out.last_mut() {
        last.buttons = buttons;
    }
    out
}

/// Cuts an over-long block: its markup is dropped (a tag can't span messages), the text is
/// re-escaped and cut at line or word boundaries.
fn cut(block: &str) -> Vec<String> {
    let plain = unescape_plain(block);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    let flush = |cur: &mut String, cur_len: &mut usize, out: &mut Vec<String>| {
        if !cur.trim().is_empty() {
            out.push(escape(cur.trim()));
        }
        cur.clear();
        *cur_len = 0;
    };
    for word in plain.split_inclusive([' ', '\n']) {
        let len: usize = word.chars().map(char::len_utf16).sum();
        if cur_len + len > MAX_MESSAGE {
            flush(&mut cur, &mut cur_len, &mut out);
        }
        if len > MAX_MESSAGE {
            // One enormous "word": cut it by characters.
            for c in word.chars() {
                if cur_len + c.len_utf16() > MAX_MESSAGE {
                    flush(&mut cur, &mut cur_len, &mut out);
                }
                cur.push(c);
                cur_len += c.len_utf16();
            }
            continue;
        }
        cur.push_str(word);
        cur_len += len;
    }
    flush(&mut cur, &mut cur_len, &mut out);
    out
}

/// Our HTML back to its text (tags removed, our four entities decoded).
pub fn unescape_plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_telegram_needs() {
        assert_eq!(escape("a<b>&c\"d'"), "a&lt;b&gt;&amp;c\"d'");
    }

    #[test]
    fn markdown_becomes_allowed_tags_only() {
        let b = markdown_blocks(
            "Do **this** & *that* <now>.\n\n- one [link](https://x.org/a?b=1&c=2)\n- two\n\n1. first\n2. second\n",
        );
        assert_eq!(
            b,
            vec![
                "Do <b>this</b> &amp; <i>that</i> &lt;now&gt;.",
                "• one <a href=\"https://x.org/a?b=1&amp;c=2\">link</a>",
                "• two",
                "1. first",
                "2. second",
            ]
        );
    }

    #[test]
    fn a_nested_list_is_nested_not_run_onto_its_parent() {
        let b = markdown_blocks(
            "If they are not in danger:\n\n- **NHS 111**: call 111\n  - option 2\n  - any time\n- Samaritans\n",
        );
        assert_eq!(
            b,
            vec![
                "If they are not in danger:",
                "• <b>NHS 111</b>: call 111",
                "\u{a0}\u{a0}\u{a0}\u{a0}◦ option 2",
                "\u{a0}\u{a0}\u{a0}\u{a0}◦ any time",
                "• Samaritans",
            ]
        );
    }

    /// Over every entry of the real content: the first message of its answer (what a phone
    /// shows before "Read more"), its median and 95th percentile length, printed.
    #[test]
    fn the_first_message_of_every_answer_fits_a_phone() {
        use crate::assistant::{Assistant, Context};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let content = crate::content::load_valid(&root, chrono::Utc::now().date_naive())
            .expect("the real content loads");
        let a = Assistant::in_memory(std::sync::Arc::new(content)).expect("an index");
        let cx = Context::default();
        let mut lens = Vec::new();
        let mut more_count = 0;
        for e in &a.content().entries {
            let r = a.show(&cx, &e.id).expect("every entry shows");
            let msgs = reply(&r, Some(1));
            assert_eq!(msgs.len(), 1, "{}: one message before Read more", e.id);
            let first = &msgs[0];
            assert!(first.html.contains(&escape(&e.title)), "{}", e.id);
            lens.push(visible_len(&first.html));
            let more_button = first
                .buttons
                .iter()
                .flatten()
                .any(|b| b.kind == ButtonKind::Action(Action::ReadMore(e.id.clone())));
            if more_button {
                more_count += 1;
                // Nothing is lost: what was left out is in "Read more", the sources too.
                let rest: String = more(&r).iter().map(|m| m.html.clone()).collect();
                for src in &r.sources {
                    assert!(rest.contains(&escape_attr(&src.url)), "{}", e.id);
                }
                for b in markdown_blocks(match &r.shown {
                    Some(Shown::Guidance { answer, .. }) => answer,
                    _ => unreachable!(),
                }) {
                    assert!(
                        first.html.contains(&b) || rest.contains(&b),
                        "{}: {b}",
                        e.id
                    );
                }
            }
        }
        lens.sort_unstable();
        let median = lens[lens.len() / 2];
        let p95 = lens[(lens.len() * 95).div_ceil(100) - 1];
        let max = *lens.last().unwrap();
        println!(
            "first message over {} entries: median {median}, p95 {p95}, max {max} characters; {more_count} with Read more",
            lens.len()
        );
        assert!(lens.len() >= 30, "{}", lens.len());
        assert!(p95 <= FIRST_MESSAGE, "p95 {p95}");
        assert!(max <= FIRST_MESSAGE + 100, "max {max}");
    }

    #[test]
    fn programme_cards_are_one_line_with_one_link() {
        let card = ProgrammeCard {
            id: "acas".into(),
            name: "Acas".into(),
            provider: "Advisory, Conciliation and Arbitration Service".into(),
            summary:
                "Acas gives free, impartial advice to employers. Its helpline is 0300 123 1100."
                    .into(),
            how_to_join: "Phone the helpline.".into(),
            url: Some("https://www.acas.org.uk".into()),
            phone: Some("0300 123 1100".into()),
            email: None,
            local: false,
        };
        let line = programme_line(&card);
        assert_eq!(
            line,
            "• <b>Acas</b>: Acas gives free, impartial advice to employers. · <a href=\"https://www.acas.org.uk\">website</a>"
        );
        assert!(!line.contains('\n'));
        assert_eq!(first_sentence(&"word ".repeat(50), 20).chars().count(), 20);
    }

    #[test]
    fn the_log_gets_the_text_as_sent_with_links_and_buttons() {
        let msgs = vec![Message {
            html: "<b>SSP</b> &amp; pay: see <a href=\"https://www.gov.uk/ssp?a=1&amp;b=2\">GOV.UK</a>".into(),
            buttons: vec![vec![Button::action("👍 Helpful", Action::Topics)]],
        }];
        assert_eq!(
            as_sent(&msgs),
            "SSP & pay: see GOV.UK <https://www.gov.uk/ssp?a=1&b=2>\n\n[👍 Helpful]"
        );
    }

    #[test]
    fn visible_length_counts_entities_once_and_utf16() {
        assert_eq!(visible_len("<b>a&amp;b</b>"), 3);
        assert_eq!(visible_len("😀"), 2);
    }

    #[test]
    fn long_text_is_split_under_the_limit_at_paragraphs() {
        let para = "word ".repeat(300); // 1,500 characters
        let blocks: Vec<String> = (0..4).map(|i| format!("{i} {para}")).collect();
        let msgs = pack(&blocks, vec![vec![Button::action("x", Action::Topics)]]);
        assert_eq!(msgs.len(), 2);
        for m in &msgs {
            assert!(visible_len(&m.html) <= MAX_MESSAGE);
        }
        assert!(msgs[0].buttons.is_empty());
        assert_eq!(msgs[1].buttons.len(), 1);
        assert!(msgs[1].html.starts_with("2 "));
    }

    #[test]
    fn an_enormous_block_is_cut_without_breaking_markup() {
        let block = format!("<b>{}</b>", "a&amp;b ".repeat(2000)); // 8,000 visible
        let msgs = pack(&[block], Vec::new());
        assert_eq!(msgs.len(), 2);
        for m in &msgs {
            assert!(visible_len(&m.html) <= MAX_MESSAGE);
            assert!(!m.html.contains('<'));
        }
    }
}
