//! Small talk and noise: greetings, thanks, "ok", a lone "?", emoji and stickers. They get a
//! short friendly word ([`crate::words`]) and the topics button instead of "I don't have
//! guidance on that", and are logged as `smalltalk`, never as unanswered questions. The
//! crisis check always runs before this (in [`Assistant::reply`](super::Assistant::reply));
//! this only looks at messages the crisis check let through.

use crate::words;

/// What kind of small talk a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    Greeting,
    Thanks,
    /// "ok", "cool", "got it", a thumbs-up...
    Ack,
    Goodbye,
    /// No words at all: "?", "...", emoji, a sticker.
    Noise,
}

/// What a channel puts in its log for a sticker (the sticker itself is not text).
pub const STICKER: &str = "[sticker]";

const GREETINGS: &[&str] = &[
    "hi",
    "hiya",
    "hello",
    "hey",
    "heya",
    "hey there",
    "hi there",
    "hello there",
    "hallo",
    "howdy",
    "yo",
    "morning",
    "good morning",
    "afternoon",
    "good afternoon",
    "evening",
    "good evening",
    "alright",
    "how are you",
    "how are you doing",
    "hows it going",
    "you there",
    "are you there",
    "anyone there",
    "test",
    "testing",
];

const THANKS: &[&str] = &[
    "thanks",
    "thank you",
    "thank you very much",
    "thanks very much",
    "thanks a lot",
    "many thanks",
    "thankyou",
    "thx",
    "ta",
    "cheers",
    "cheers mate",
    "brilliant thanks",
    "great thanks",
    "lovely thanks",
    "perfect thanks",
    "ok thanks",
    "okay thanks",
    "ok thank you",
    "okay thank you",
    "thats helpful",
    "that helps",
    "that was helpful",
    "very helpful",
    "helpful thanks",
    "thats helped",
    "that helped",
    "thats great",
    "thats brilliant",
    "thats lovely",
    "thats perfect",
    "appreciate it",
    "much appreciated",
    // North East and everyday British thanks ("thanks pet, that's champion")
    "thats champion",
    "champion thanks",
    "thats canny",
    "canny thanks",
    "ta very much",
    "ta muchly",
    "thats magic",
    "thats spot on",
    "thats smashing",
    "thats ace",
    "cracking thanks",
];

const ACKS: &[&str] = &[
    "ok",
    "okay",
    "k",
    "kk",
    "okey",
    "okie",
    "cool",
    "great",
    "brilliant",
    "lovely",
    "perfect",
    "nice",
    "fine",
    "sure",
    "right",
    "yes",
    "yep",
    "yeah",
    "no",
    "nope",
    "got it",
    "understood",
    "noted",
    "will do",
    "fair enough",
    "lol",
    "haha",
    "ha",
    "hmm",
    "mm",
    "oh",
    "ah",
    "ahh",
    "oh ok",
    "ah ok",
    "i see",
    "makes sense",
    "good",
    "nice one",
    "sound",
    "champion",
    "canny",
    "magic",
    "spot on",
    "smashing",
    "ace",
    "cracking",
];

const GOODBYES: &[&str] = &[
    "bye",
    "goodbye",
    "bye bye",
    "see you",
    "see ya",
    "laters",
    "night",
    "goodnight",
    "good night",
    "thats all",
    "thats it",
    "thats all thanks",
    "nothing else",
];

/// Words that may trail or lead small talk without changing it ("hi bot", "thanks again").
const FILLER: &[&str] = &[
    "workhealth",
    "bot",
    "again",
    "mate",
    "so",
    "much",
    "everyone",
    "then",
    "pet",
    "love",
    "hun",
    "pal",
    "folks",
];

/// Lower-cased words of a message: apostrophes dropped, everything else not a letter or digit
/// a space.
fn words(text: &str) -> Vec<String> {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned.split_whitespace().map(str::to_string).collect()
}

/// The message as small talk, or `None` when it may be a question. Only short messages made
/// wholly of small-talk words count: "hi, my cook is off sick" is a question.
pub fn detect(text: &str) -> Option<SmallTalk> {
    let t = text.trim();
    if t == STICKER {
        return Some(SmallTalk::Noise);
    }
    let words = words(t);
    if words.is_empty() {
        // Punctuation, emoji, symbols only (or nothing).
        return Some(SmallTalk::Noise);
    }
    if words.len() > 6 {
        return None;
    }
    // Drop filler, and repeated letters at the end ("hiii", "thanksss") are not needed:
    // match against the lists with and without a run of the last letter.
    let core: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !FILLER.contains(w))
        .collect();
    if core.is_empty() {
        return None;
    }
    // The message must split wholly into small-talk phrases ("ok thanks bye", "thanks pet
    // that's helped"); what kind it is goes by the phrases found, thanks first.
    let words: Vec<String> = core.iter().map(|w| squeeze_end(w)).collect();
    let kinds = segment(&words)?;
    [
        SmallTalk::Thanks,
        SmallTalk::Greeting,
        SmallTalk::Goodbye,
        SmallTalk::Ack,
    ]
    .into_iter()
    .find(|k| kinds.contains(k))
}

/// The small-talk phrases `words` is made of, in order, or `None` when some word is not part
/// of one. Longest phrase first at each point, backing off when the rest does not split.
fn segment(words: &[String]) -> Option<Vec<SmallTalk>> {
    if words.is_empty() {
        return Some(Vec::new());
    }
    for len in (1..=words.len().min(4)).rev() {
        let phrase = words[..len].join(" ");
        if let Some(kind) = kind_of(&phrase)
            && let Some(mut rest) = segment(&words[len..])
        {
            rest.insert(0, kind);
            return Some(rest);
        }
    }
    None
}

fn kind_of(phrase: &str) -> Option<SmallTalk> {
    [
        (THANKS, SmallTalk::Thanks),
        (GREETINGS, SmallTalk::Greeting),
        (GOODBYES, SmallTalk::Goodbye),
        (ACKS, SmallTalk::Ack),
    ]
    .into_iter()
    .find(|(list, _)| list.contains(&phrase))
    .map(|(_, k)| k)
}

/// A word or phrase with a run of its last letter cut to one ("hiii" -> "hi", "thanksss" ->
/// "thanks"); unchanged when it does not end in a run.
fn squeeze_end(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    while chars.len() > 2 && chars[chars.len() - 1] == chars[chars.len() - 2] {
        chars.pop();
    }
    chars.into_iter().collect()
}

/// The friendly reply (plain text, no markup: every channel can show it as it is).
pub fn answer(kind: SmallTalk) -> &'static str {
    match kind {
        SmallTalk::Greeting => words::SMALLTALK_GREETING,
        SmallTalk::Thanks => words::SMALLTALK_THANKS,
        SmallTalk::Ack => words::SMALLTALK_ACK,
        SmallTalk::Goodbye => words::SMALLTALK_GOODBYE,
        SmallTalk::Noise => words::SMALLTALK_NOISE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_thanks_acks_and_noise_are_small_talk() {
        for (t, k) in [
            ("hello", SmallTalk::Greeting),
            ("Hi there!", SmallTalk::Greeting),
            ("hiii", SmallTalk::Greeting),
            ("Good morning", SmallTalk::Greeting),
            ("thanks", SmallTalk::Thanks),
            ("Thank you so much!", SmallTalk::Thanks),
            ("cheers mate", SmallTalk::Thanks),
            ("thanks pet that's helped", SmallTalk::Thanks),
            ("thanks pet thats champion", SmallTalk::Thanks),
            ("ta pet, that's canny", SmallTalk::Thanks),
            ("champion", SmallTalk::Ack),
            ("hiya", SmallTalk::Greeting),
            ("ok thanks bye", SmallTalk::Thanks),
            ("ok", SmallTalk::Ack),
            ("OK.", SmallTalk::Ack),
            ("got it", SmallTalk::Ack),
            ("bye", SmallTalk::Goodbye),
            ("?", SmallTalk::Noise),
            ("...", SmallTalk::Noise),
            ("👍", SmallTalk::Noise),
            ("😀😀", SmallTalk::Noise),
            ("", SmallTalk::Noise),
            (STICKER, SmallTalk::Noise),
        ] {
            assert_eq!(detect(t), Some(k), "{t:?}");
        }
    }

    #[test]
    fn questions_are_not_small_talk() {
        for t in [
            "hi, my cook is off sick, what do I pay her?",
            "thanks, and what about a fit note?",
            "sick pay",
            "stress",
            "ok so how long can someone self-certify",
            "hello can you help with a return to work",
            "SSP?",
            "no fit note",
            "is it ok to phone someone who is off sick",
        ] {
            assert_eq!(detect(t), None, "{t:?}");
        }
    }
}
