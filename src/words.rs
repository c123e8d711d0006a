//! Every sentence the product says, in one place: the bot's own messages, the words around a
//! reply, menu headings, button labels and the notices a pressed button shows. Every channel
//! (Telegram, the terminal `chat`, `ask`) takes its words from here, by name; nothing else
//! writes a sentence for a user (`tests/it/tidy.rs` checks `bot/`, `render/`, `chat.rs` and the
//! reply types). UK English.
//!
//! Two kinds of text, each item says which:
//! - **markup**: the bot's own messages, in the small markup every channel draws: `<b>`, `<i>`
//!   and the escapes `&amp;`, `&lt;`, `&gt;` ([`escape`]). Telegram sends it as HTML; the
//!   terminal and the question log show it as plain text. Functions that put a name into
//!   markup take it as plain text and escape it themselves.
//! - **plain**: words inside a reply or on a button; the renderer escapes them as its channel
//!   needs.
//!
//! Helpline names and numbers are not here: they come from `content/helplines.yaml` (and the
//! programmes it names), so editors change them without a release.

// ---------------------------------------------------------------------------------------------
// The bot's own messages (markup)

pub const WELCOME: &str = "<b>Hello, I'm workhealth.</b>\n\n\
I answer employers' questions about staff health and work: sickness absence and sick pay, \
fit notes, stress and mental health, reasonable adjustments, returning to work, health and \
safety duties. The guidance is written from official sources (GOV.UK, Acas, HSE, NHS) and I \
point you to free help near you.\n\n\
Just type your question in your own words, for example: <i>one of my lads is off with his back, \
what do I have to pay him?</i>";

pub const PRIVACY_SHORT: &str = "<b>Privacy.</b> I keep the questions you ask, with personal details \
such as emails, phone numbers and postcodes removed, so that reviewers at the TUC can find what the \
guidance does not yet answer. I never store your name, username or Telegram id. /privacy says more; \
/forget deletes what I hold about this chat.\n\n\
<i>This is information, not legal or medical advice.</i> If someone is in danger, call 999.";

pub const HELP: &str = "<b>How to use workhealth</b>\n\n\
Type a question in your own words, like <i>how long can someone self-certify?</i> or \
<i>my cook has been signed off with stress, what should I do?</i>\n\n\
/topics - browse the guidance by topic\n\
/programmes - free programmes and helplines for your area\n\
/region - set your region for local help\n\
/privacy - what I keep and why\n\
/forget - delete your questions and settings\n\
/help - this message\n\n\
Under each answer: 👍 or 👎 tells us whether it helped; \"Talk to someone\" lists people who can advise.";

/// What only the terminal adds to the help (markup).
pub const CHAT_HELP: &str =
    "In this terminal, type a number to pick one of the choices shown, and /quit to leave.";

pub const PRIVACY: &str = "<b>What workhealth keeps, and why</b>\n\n\
• <b>Your questions</b>, so that reviewers at the TUC can see what people ask and improve the guidance. \
Before a question is stored, email addresses, phone numbers, National Insurance numbers, postcodes, \
card numbers and web links with personal parts are replaced by placeholders such as [email].\n\
• <b>What I answered</b> (which guidance entry, and how sure I was) and your 👍 or 👎.\n\
• <b>Your region</b>, if you set one, so I can show local help.\n\n\
I never store your name, username, phone number or Telegram id. Questions are filed under a code \
made from your chat that cannot be turned back into it; reviewers see only the questions, not who asked.\n\n\
Questions are deleted automatically after a year. /forget deletes your questions and settings now.\n\n\
Please don't include names or health details of the people you are asking about: describe the situation instead.\n\n\
<i>workhealth gives information, not legal or medical advice.</i>";

pub const NOT_TEXT: &str =
    "Sorry, I can only read text messages. Please type your question, or try /topics or /help.";

pub const EDITED: &str = "I only read new messages, so I haven't answered your edit. Please send your corrected question as a new message.";

pub const STALE: &str =
    "Sorry, that button is out of date. Please ask your question again, or use /topics.";

pub const UNKNOWN_COMMAND: &str =
    "I don't know that command. Try /help, or just type your question.";

/// When handling a message failed on the bot's side (markup).
pub const SOMETHING_WENT_WRONG: &str = "Sorry, something went wrong on my side. Please try again.";

/// A number typed in the terminal that is not one of the choices shown (markup).
pub fn no_such_choice(n: usize) -> String {
    format!("There is no choice {n} here. Type a question, or /help.")
}

// ---------------------------------------------------------------------------------------------
// Menu headings (markup)

/// Over the /region menu.
pub const ASK_REGION: &str = "Where is your workplace? I'll show local help first (you can change it any time with /region).";

/// Over the /topics menu.
pub const TOPICS: &str = "<b>Topics</b>\nChoose one to see its guidance:";

/// Over a topic's entries (`title`: the topic's title, plain).
pub fn topic_heading(title: &str) -> String {
    format!("<b>{}</b>\nChoose an entry:", escape(title))
}

/// The question `/forget` asks first.
pub const FORGET_ASK: &str = "This deletes the questions you have asked here and your settings (such as your region). \
It can't be undone. Delete them?";

/// Under 👎: what else to try, over "Browse topics" and "Talk to someone".
pub const UNHELPFUL_FOLLOW_UP: &str = "Sorry that didn't help. You could ask in other words, browse /topics, or talk to someone who can advise:";

/// The heading over "Talk to someone".
pub const PEOPLE_WHO_CAN_HELP: &str =
    "<b>People who can help</b>\nFree, confidential advice for employers:";

/// The heading over `/programmes` (`name`: the region's name, plain; `None`: no region set).
pub fn programmes_heading(name: Option<&str>) -> String {
    match name {
        Some(n) => format!(
            "<b>Programmes and helplines for {}</b>, local ones first:",
            escape(n)
        ),
        None => "<b>Programmes and helplines across the UK.</b> Set /region to see local ones too:"
            .to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// After a menu choice (markup)

/// After a region is chosen (`name`: the region's name, plain; `None`: the UK).
pub fn region_saved(name: Option<&str>) -> String {
    match name {
        Some(n) => format!(
            "Thanks: I'll show help in <b>{}</b> first. Change it any time with /region. Now, what would you like to ask?",
            escape(n)
        ),
        None => "Thanks: I'll show help available across the UK. Change it any time with /region. Now, what would you like to ask?".to_string(),
    }
}

pub const NOTHING_DELETED: &str = "Nothing was deleted.";

/// After `/forget` on Telegram: how many questions went.
pub fn forgotten(n: u64) -> String {
    format!(
        "Done: I deleted {n} question(s) and your settings. You can carry on asking; new questions will be kept as /privacy explains."
    )
}

/// After `/forget` in the terminal, which keeps no questions.
pub const FORGOTTEN_IN_CHAT: &str =
    "Done: I deleted 0 question(s) and your settings. You can carry on asking.";

pub const FORGET_FAILED: &str =
    "Sorry, I couldn't delete your data just now. Please try /forget again in a few minutes.";

// ---------------------------------------------------------------------------------------------
// Notices a pressed button shows for a moment (plain)

pub const NOTICE_OUT_OF_DATE: &str = "That button is out of date.";
pub const NOTICE_THANKS: &str = "Thank you: that helps us improve the guidance.";
pub const NOTICE_SAVED: &str = "Saved.";

// ---------------------------------------------------------------------------------------------
// Button labels (plain)

pub const BROWSE_TOPICS: &str = "Browse topics";
pub const ALL_TOPICS: &str = "« All topics";
pub const TALK_TO_SOMEONE: &str = "Talk to someone";
pub const READ_MORE: &str = "Read more";
pub const HELPFUL: &str = "👍 Helpful";
pub const NOT_HELPFUL: &str = "👎 Not helpful";
pub const YES_DELETE: &str = "Yes, delete";
pub const NO_KEEP: &str = "No, keep them";
/// The last choice of the region menu.
pub const ELSEWHERE: &str = "Somewhere else in the UK";

// ---------------------------------------------------------------------------------------------
// The words around a reply (plain)

/// Over the choices when the question matched several entries.
pub const CLARIFY: &str =
    "I'm not sure which of these you mean. Choose the closest, or ask in other words:";

/// The first line of a reply with no answer.
pub const NO_ANSWER: &str = "Sorry, I don't have guidance on that yet.";

/// What to do instead, naming the helpline from `helplines.yaml` ([`helpline`]) when there is
/// one.
pub fn no_answer_help(helpline: Option<&str>) -> String {
    match helpline {
        Some(h) => format!(
            "Try asking in other words, browse /topics, or talk to someone: {h}. If someone's life is at risk, call 999."
        ),
        None => "Try asking in other words, browse /topics, or talk to someone. If someone's life is at risk, call 999.".to_string(),
    }
}

/// A helpline in a sentence: "Acas gives free, confidential employment advice on 0300 123 1100".
pub fn helpline(name: &str, gives: &str, phone: &str) -> String {
    format!("{name} gives {gives} on {phone}")
}

/// The line over a reply taken as a follow-up of the previous question (`title`: the entry
/// shown for it).
pub fn following_on(title: Option<&str>) -> String {
    match title {
        Some(t) => format!("Following on from your last question (\u{201c}{t}\u{201d}):"),
        None => "Following on from your last question:".to_string(),
    }
}

/// "Or did you mean “A” or “B”?": the close runners-up under an answer.
pub fn or_did_you_mean(titles: &[&str]) -> String {
    let quoted: Vec<String> = titles
        .iter()
        .map(|t| format!("\u{201c}{t}\u{201d}"))
        .collect();
    format!("Or did you mean {}?", quoted.join(" or "))
}

/// The one line under an answer whose `review_by` date has passed (`date`: "1 December 2026").
pub fn figures_checked(date: &str) -> String {
    format!(
        "Figures in this answer were last checked on {date}; they may have changed since, so check the sources."
    )
}

/// Under every answer shown.
pub const DISCLAIMER: &str = "Information, not legal or medical advice.";

/// After an answer's title in "Read more".
pub const CONTINUED: &str = "(continued)";

/// "Read more" with nothing more to show.
pub const NOTHING_MORE: &str = "That's all there is on this one.";

pub const WHO_CAN_HELP: &str = "Who can help";
pub const SOURCES: &str = "Sources";
pub const HOW_TO_JOIN: &str = "How to join";
/// After a programme's name in a list, when it serves the asker's region.
pub const IN_YOUR_AREA: &str = "in your area";
pub const WEBSITE: &str = "Website";
pub const PHONE: &str = "Phone";
/// The link that ends a programme's one line in a list ("· website", "· phone 0300 …").
pub const WEBSITE_SHORT: &str = "website";
pub const PHONE_SHORT: &str = "phone";
/// A programme's contact lines in the terminal ("Web: …", "Email: …").
pub const WEB: &str = "Web";
pub const EMAIL: &str = "Email";

// ---------------------------------------------------------------------------------------------
// Small talk (plain): the friendly word for a greeting, thanks, "ok", goodbye or noise

pub const SMALLTALK_GREETING: &str = "Hello! Ask me anything about staff health at work, in your own words: sick pay, fit notes, stress, adjustments, getting someone back to work. Or browse the topics.";
pub const SMALLTALK_THANKS: &str =
    "You're welcome. Ask another question any time, or browse the topics.";
pub const SMALLTALK_ACK: &str =
    "OK. If you have a question about staff health at work, just type it, or browse the topics.";
pub const SMALLTALK_GOODBYE: &str =
    "Thanks for using workhealth. Come back any time with a question.";
pub const SMALLTALK_NOISE: &str = "I didn't catch a question there. Type it in your own words, for example \"how much sick pay do I pay?\", or browse the topics.";

// ---------------------------------------------------------------------------------------------

/// Escapes plain text for the markup (and for Telegram HTML, which it is): only `<`, `>` and
/// `&` need it.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_put_into_markup_are_escaped() {
        assert_eq!(
            topic_heading("Pay & <leave>"),
            "<b>Pay &amp; &lt;leave&gt;</b>\nChoose an entry:"
        );
        assert!(programmes_heading(Some("A&B")).contains("for A&amp;B</b>"));
        assert!(region_saved(Some("A<B")).contains("<b>A&lt;B</b>"));
    }

    #[test]
    fn the_no_answer_help_names_the_helpline_it_is_given() {
        let h = helpline("Acas", "free advice", "0300 123 1100");
        assert_eq!(h, "Acas gives free advice on 0300 123 1100");
        let with = no_answer_help(Some(&h));
        assert!(with.contains("talk to someone: Acas gives free advice on 0300 123 1100. If"));
        let without = no_answer_help(None);
        assert!(without.contains("talk to someone. If someone's life is at risk, call 999."));
    }

    #[test]
    fn runners_up_are_quoted_and_joined_with_or() {
        assert_eq!(
            or_did_you_mean(&["A", "B"]),
            "Or did you mean \u{201c}A\u{201d} or \u{201c}B\u{201d}?"
        );
    }
}
