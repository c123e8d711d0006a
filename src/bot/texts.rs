//! What the bot says in its own voice (HTML, already escaped where it needs to be).

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

pub const ASK_REGION: &str = "Where is your workplace? I'll show local help first (you can change it any time with /region).";

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

pub const FORGET_ASK: &str = "This deletes the questions you have asked here and your settings (such as your region). \
It can't be undone. Delete them?";

pub const NOT_TEXT: &str =
    "Sorry, I can only read text messages. Please type your question, or try /topics or /help.";

pub const EDITED: &str = "I only read new messages, so I haven't answered your edit. Please send your corrected question as a new message.";

pub const STALE: &str =
    "Sorry, that button is out of date. Please ask your question again, or use /topics.";

pub const UNHELPFUL_FOLLOW_UP: &str = "Sorry that didn't help. You could ask in other words, browse /topics, or talk to someone who can advise:";

pub const TOPICS: &str = "<b>Topics</b>\nChoose one to see its guidance:";

pub const UNKNOWN_COMMAND: &str =
    "I don't know that command. Try /help, or just type your question.";

/// The heading over "Talk to someone".
pub const PEOPLE_WHO_CAN_HELP: &str =
    "<b>People who can help</b>\nFree, confidential advice for employers:";

pub const NOTHING_DELETED: &str = "Nothing was deleted.";

/// After a region is chosen (`name`: the region's name, already escaped; `None`: the UK).
pub fn region_saved(name: Option<&str>) -> String {
    match name {
        Some(n) => format!(
            "Thanks: I'll show help in <b>{n}</b> first. Change it any time with /region. Now, what would you like to ask?"
        ),
        None => "Thanks: I'll show help available across the UK. Change it any time with /region. Now, what would you like to ask?".to_string(),
    }
}

/// The heading over `/programmes` (`name`: the region's name, already escaped).
pub fn programmes_heading(name: Option<&str>) -> String {
    match name {
        Some(n) => format!("<b>Programmes and helplines for {n}</b>, local ones first:"),
        None => "<b>Programmes and helplines across the UK.</b> Set /region to see local ones too:"
            .to_string(),
    }
}

/// A topic's menu heading (`title` already escaped).
pub fn topic_heading(title: &str) -> String {
    format!("<b>{title}</b>\nChoose an entry:")
}

/// The "Somewhere else" choice of the region menu.
pub const ELSEWHERE: &str = "Somewhere else in the UK";
