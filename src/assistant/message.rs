//! What a message asks, apart from how it is wrapped: greetings, thanks, sign-offs, contact
//! details, the log's redaction placeholders and a sentence that only introduces the writer's
//! business ("I run a small café in Gateshead.") are taken out, and the rest is split into
//! sentences so a long message can be scored as a whole and sentence by sentence.

use std::sync::LazyLock;

use regex::Regex;

/// A message made ready for ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message without its wrapping (the original if nothing else is left).
    pub core: String,
    /// The core's sentences with at least [`MIN_SENTENCE_WORDS`] words, when there are two or
    /// more of them.
    pub sentences: Vec<String>,
}

impl Message {
    /// How many words the core has: what the crisis check's short-message margin and the
    /// classifier's `class_words` count (and `eval --signals` prints, for calibration).
    pub fn words(&self) -> usize {
        self.core.split_whitespace().count()
    }
}

/// Shorter sentences ("Any ideas?") carry too little to be scored on their own.
pub const MIN_SENTENCE_WORDS: usize = 4;
/// At most this many sentences are scored on their own (the whole message always is).
pub const MAX_SENTENCES: usize = 8;

static WRAPPING: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // contact details and placeholders
        r"(?i)\[(?:phone|email|postcode|ni|nino|card|url|date|dob|name)\]",
        r"(?i)\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
        r"(?i)\bhttps?://\S+",
        r"\+?\d[\d ()\-]{7,}\d",
        r"(?i)\b(?:you can )?(?:reach|contact|call|ring|text|email|phone|message|get hold of) (?:me|us) (?:on|at|via|by)\b[^.!?\n]*",
        r"(?i)\b(?:my )?(?:number|mobile|phone|tel|email) (?:is|:)[^.!?\n]*",
        // greetings at the start of a line
        r"(?im)^\s*(?:(?:hi|hello|hey|hiya)(?: there| all| everyone| folks)?|morning|afternoon|evening|good (?:morning|afternoon|evening)|dear (?:sir or madam|sir|madam|all|team|workhealth))\b[\s,!.:-]*",
        // politeness and preamble
        r"(?i)\b(?:i )?(?:hope|hoping|wonder if|wondering if) (?:you|someone|somebody|anyone) (?:can|could|might be able to) help(?: me)?(?: out)?(?: with (?:this|something|a question))?(?: please)?[.!,]?",
        r"(?i)\bsorry (?:for|about) the (?:long|rambling) (?:post|message|question)\b[.!,]?",
        // "sorry if this is a daft question", "might be a silly question but", "sorry to bother
        // you", "not sure if this is the right place": apologies that ask nothing (and whose
        // "daft" and "bother" sit near crisis examples such as "he's going to do something daft")
        r"(?i)\b(?:(?:i'?m |i’m |i am )?sorry|apologies)(?: in advance)?,? (?:if|in case) (?:this|it)(?:'s|’s| is| sounds| seems)(?: like)? (?:a |an )?(?:really |very |bit of a |bit )?(?:daft|silly|stupid|dumb|basic|obvious|simple|naive|thick) (?:question|one|query)\b[.!,]?",
        r"(?i)\b(?:(?:this|it)(?: might| may| could|'s|’s| is)(?: be)? |probably |maybe )?(?:a |an )?(?:daft|silly|stupid|dumb|basic|obvious) (?:question|query)(?:,? but| here)?\b[.!,:]?",
        r"(?i)\bsorry to (?:bother|trouble) (?:you|anyone)\b[.!,]?",
        r"(?i)\b(?:i'?m |i’m |i am )?not sure (?:if|whether) (?:this is|i'?m in|i’m in|i am in) the right place(?: to ask)?(?:,? but)?\b[.!,]?",
        r"(?i)\bquick question\b[.!,:]?",
        r"(?i)\b(?:long time lurker|first time posting|first post)\b[^.!?\n]*[.!]?",
        r"(?i)\bany (?:advice|help|thoughts|ideas|pointers|guidance)(?: at all)? (?:would be|is|gratefully|much|greatly|really|very)?[\w ]*?(?:appreciated|received|welcome)\b[.!]?",
        r"(?i)\b(?:many |big )?thanks(?: very much| so much| a lot| a million)?(?: in advance| for (?:any|your) (?:help|advice|time))?(?:,|\.|!)*",
        r"(?i)\bthank you(?: very much| so much)?(?: in advance| for (?:any|your) (?:help|advice|time|reading))?(?:,|\.|!)*",
        r"(?i)\b(?:cheers|ta very much|much appreciated)\b[.!,]*",
        // sign-offs with a name after them
        r"(?i)\b(?:kind|best|warm|many) regards\b[\s\S]*$",
        r"(?im)^\s*regards\b[\s\S]*$",
        r"(?im)^\s*(?:cheers|thanks|ta|best|all the best|yours (?:sincerely|faithfully))\s*,?\s*\n[\s\S]*$",
    ]
    .iter()
    .map(|r| Regex::new(r).expect("wrapping pattern"))
    .collect()
});

/// The start of a sentence that introduces the writer: "I run…", "we're a small…", "I own…".
static INTRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:so,? |well,? |ok,? )?(?:i|we)(?:'m|’m| am|'re|’re| are)?\s+(?:(?:just|only|currently|basically)\s+)?(?:run|own|manage|co-own|employ|have|am|are|a|an|the)\b",
    )
    .expect("intro pattern")
});

/// A business, a trade or a team: what an introduction is about.
static BUSINESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:business|firm|company|shop|caf[eé]|salon|garage|team|staff|employees|workers|people|lads|site|nursery|pub|restaurant|takeaway|agency|practice|farm|office|factory|bakery|builders?|employer|charity|hotel|bar|gym|workshop|store|chippy|care home|joinery|plumbing|cleaning|haulage|sole trader|partnership)\b",
    )
    .expect("business pattern")
});

/// Anything that makes a sentence more than an introduction: a health or work worry, someone
/// in particular, or a question.
static WORRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:sick|ill|illness|off|stress\w*|anxi\w*|depress\w*|absen\w*|injur\w*|pregnan\w*|disab\w*|condition\w*|leave|pay|paid|signed|note|pain\w*|hurt|died|death|recruit\w*|hir\w*|new|start\w*|told|says|said|question|help|advice|worried|worry|problem|issue|why|how|what|when|which|can|could|should|must|need\w*|one of|he|she|they|him|her|them|his|their)\b",
    )
    .expect("worry pattern")
});

/// Longest introduction taken out; a longer sentence probably says more.
const MAX_INTRO_WORDS: usize = 14;

/// Whether a sentence only introduces the writer's business ("We're a small building firm with
/// 8 lads."): its place names and trade would otherwise pull the ranking towards entries about
/// the region or the trade, away from what is asked.
fn is_intro(sentence: &str) -> bool {
    let t = sentence.trim();
    !t.ends_with('?')
        && t.split_whitespace().count() <= MAX_INTRO_WORDS
        && INTRO.is_match(t)
        && BUSINESS.is_match(t)
        && !WORRY.is_match(t)
}

/// The text without its introductions (unchanged when nothing else would be left).
fn without_intros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in SENTENCE_END.find_iter(text) {
        let sentence = &text[last..m.end()];
        if !is_intro(sentence.trim_end_matches(|c: char| ".!;\n ".contains(c))) {
            out.push_str(sentence);
        }
        last = m.end();
    }
    if !is_intro(&text[last..]) {
        out.push_str(&text[last..]);
    }
    if out.split_whitespace().next().is_none() {
        return text.to_string();
    }
    out.trim().to_string()
}

static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[.!?;]+(?:\s+|$)|\n+").expect("sentence pattern"));

/// Takes the wrapping off a message and splits it into sentences.
pub fn read(text: &str) -> Message {
    let mut core = text.to_string();
    for re in WRAPPING.iter() {
        core = re.replace_all(&core, " ").into_owned();
    }
    let words = |s: &str| {
        s.split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count()
    };
    let core = if words(&core) == 0 {
        text.trim().to_string()
    } else {
        without_intros(&tidy(&core))
    };
    let mut sentences: Vec<String> = split(&core)
        .into_iter()
        .filter(|s| words(s) >= MIN_SENTENCE_WORDS)
        .collect();
    if sentences.len() < 2 {
        sentences.clear();
    }
    sentences.truncate(MAX_SENTENCES);
    Message { core, sentences }
}

/// The sentences of a text: split at . ! ? ; and line breaks, trimmed, empty ones dropped.
pub fn split(text: &str) -> Vec<String> {
    SENTENCE_END
        .split(text)
        .map(|s| s.trim().trim_matches(|c: char| c == ',' || c == '-').trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Collapses the gaps left by what was taken out, keeping line breaks as sentence ends.
fn tidy(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        // Punctuation left alone where wrapping was taken out (". ." or ", ,") goes too.
        .map(|l| {
            l.split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .map(|l| l.trim_matches(|c: char| c == ',' || c == ' ').to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_comes_off() {
        let m = read(
            "Hi, hope you can help. One of my staff has been signed off with stress for three weeks. Reach me on 07700 900123. Thanks in advance!\nKind regards,\nDave",
        );
        assert_eq!(
            m.core,
            "One of my staff has been signed off with stress for three weeks."
        );
        let m = read("hello there [phone] my chef is off sick again, what do i pay him? cheers");
        assert_eq!(m.core, "my chef is off sick again, what do i pay him?");
    }

    #[test]
    fn an_introduction_comes_off_but_not_a_worry() {
        let m = read("Hello there, I run a small café in Gateshead. new lad has ADHD, any tips");
        assert_eq!(m.core, "new lad has ADHD, any tips");
        let m = read("We're a small building firm with 8 lads.\nOne of them is off with his back.");
        assert_eq!(m.core, "One of them is off with his back.");
        // An introduction that carries the worry stays.
        let m = read("I run a café and one of my staff is off sick. What do I pay her?");
        assert!(
            m.core
                .starts_with("I run a café and one of my staff is off sick.")
        );
        let m = read("We are a small firm with a new starter. Do I need a policy?");
        assert!(
            m.core
                .starts_with("We are a small firm with a new starter.")
        );
        // A message that is only an introduction is kept whole.
        assert_eq!(read("I run a small café").core, "I run a small café");
    }

    #[test]
    fn an_apology_for_asking_comes_off() {
        let m = read(
            "sorry if this is a daft question. Our porter was off 4 days, then off again. do i pay sick pay again",
        );
        assert_eq!(
            m.core,
            "Our porter was off 4 days, then off again. do i pay sick pay again"
        );
        let m = read(
            "Sorry to bother you, this might be a silly question but can I ring her while she's off?",
        );
        assert_eq!(m.core, "can I ring her while she's off?");
        let m = read(
            "not sure if this is the right place to ask. quick question: is SSP paid from day one?",
        );
        assert_eq!(m.core, "is SSP paid from day one?");
        // "daft" that is not about the question stays.
        let m = read("he said he's going to do something daft tonight");
        assert_eq!(m.core, "he said he's going to do something daft tonight");
    }

    #[test]
    fn a_message_that_is_only_wrapping_is_kept() {
        assert_eq!(read("hello").core, "hello");
        assert_eq!(read("thanks!").core, "thanks!");
    }

    #[test]
    fn sentences_of_a_long_message() {
        let m = read(
            "My lad Kev has been off for six weeks with his back. He sends fit notes. Now he wants to come back on lighter duties. Any ideas?",
        );
        assert_eq!(m.sentences.len(), 3, "{:?}", m.sentences);
        assert_eq!(read("is ssp paid from day one").sentences.len(), 0);
    }
}
