//! The English analyser shared by the index and the query side.
//!
//! Text is first normalised here (apostrophes dropped so "doesn't" is one word, US spellings
//! mapped to UK ones, everything that is not a letter or digit made a space), then run through
//! one tantivy pipeline: split, lower-case, a short stop list that keeps "no" and "not",
//! English stemming. Abbreviations such as SSP, OH, RIDDOR and DSE survive as tokens.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};

/// The name the analyser is registered under in the index.
pub const ANALYSER: &str = "workhealth_en";

/// Only this much of a question is searched; longer text still answers, from its start.
pub const MAX_QUERY_CHARS: usize = 2_000;

/// Words too common in questions to help find an answer. Negations and words with meaning
/// in this domain ("off", "back", "may", "fit", "sick") are deliberately absent.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "with",
    "from",
    "by",
    "as",
    "into",
    "about",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "i",
    "me",
    "my",
    "myself",
    "we",
    "us",
    "our",
    "you",
    "your",
    "he",
    "him",
    "his",
    "she",
    "her",
    "they",
    "them",
    "their",
    "do",
    "does",
    "did",
    "doing",
    "done",
    "have",
    "has",
    "had",
    "having",
    "can",
    "could",
    "should",
    "would",
    "will",
    "shall",
    "might",
    "must",
    "what",
    "whats",
    "how",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "why",
    "if",
    "so",
    "then",
    "than",
    "there",
    "theres",
    "thats",
    "whos",
    "here",
    "just",
    "any",
    "some",
    "all",
    "im",
    "ive",
    "id",
    "hes",
    "shes",
    "theyre",
    "weve",
    "were",
    "youre",
    "its",
    "s",
    "t",
    "d",
    "ll",
    "re",
    "ve",
    "m",
    "dont",
    "get",
    "got",
    "getting",
    "also",
    "very",
    "really",
    "too",
    "much",
    "many",
    "one",
    "someone",
    "somebody",
    "anyone",
    "anything",
    "something",
    "thing",
    "things",
    "know",
    "want",
    "wants",
    "like",
    "please",
    "thanks",
    "thank",
    "hi",
    "hello",
    "hiya",
    "ok",
    "okay",
    "pet",
    "mate",
    "yes",
    "yeah",
    "well",
    "now",
    "still",
    "even",
    "ever",
    "again",
    "bit",
    "lot",
    "lots",
    "way",
    "say",
    "said",
    "tell",
    "told",
    "think",
    "go",
    "going",
    "gonna",
    "wanna",
    "need",
    "needs",
    "does",
    "u",
    "ur",
    "pls",
    "plz",
    "cos",
    "cause",
    "because",
    "though",
    "only",
];

/// Builds the tantivy analyser. Register it on every index opened, new or old.
pub fn analyser() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|s| s.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Lower-cases, drops apostrophes inside words, maps US spellings to UK, removes control
/// characters and caps the length. The result is what both sides of the index see.
pub fn normalise(text: &str) -> String {
    normalise_chars(text.chars().take(MAX_QUERY_CHARS).collect())
}

/// As [`normalise`], over the whole text however long (for the crisis check).
pub fn normalise_all(text: &str) -> String {
    normalise_chars(text.chars().collect())
}

fn normalise_chars(chars: Vec<char>) -> String {
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '`' | '\u{00B4}' => '\'',
            _ => c,
        };
        if c == '\'' {
            let prev = i
                .checked_sub(1)
                .and_then(|j| chars.get(j))
                .is_some_and(|p| p.is_alphanumeric());
            let next = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
            if prev && next {
                // "I'll" is "I will", so that "ill" (as in ill health) can stay a real word.
                let lower = |j: usize| chars.get(j).map(|c| c.to_ascii_lowercase());
                let word_start = i < 2 || !chars[i - 2].is_alphanumeric();
                if word_start
                    && lower(i - 1) == Some('i')
                    && lower(i + 1) == Some('l')
                    && lower(i + 2) == Some('l')
                    && !chars.get(i + 3).is_some_and(|c| c.is_alphanumeric())
                {
                    out.push_str(" wi");
                }
                continue; // doesn't -> doesnt, employer's -> employers
            }
            out.push(' ');
        } else if c == '&' {
            out.push_str(" and ");
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace()
        .map(uk_spelling)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps one lower-case word from US to UK spelling, so that both meet in the index.
fn uk_spelling(word: &str) -> std::borrow::Cow<'_, str> {
    const TABLE: &[(&str, &str)] = &[
        ("program", "programme"),
        ("programs", "programmes"),
        ("center", "centre"),
        ("centers", "centres"),
        ("labor", "labour"),
        ("color", "colour"),
        ("behavior", "behaviour"),
        ("behaviors", "behaviours"),
        ("behavioral", "behavioural"),
        ("favor", "favour"),
        ("pediatric", "paediatric"),
        ("anemia", "anaemia"),
        ("diarrhea", "diarrhoea"),
        ("esophagus", "oesophagus"),
        ("tumor", "tumour"),
        ("tumors", "tumours"),
        ("hemorrhage", "haemorrhage"),
        ("judgment", "judgement"),
        ("enroll", "enrol"),
        ("enrollment", "enrolment"),
        ("skeptical", "sceptical"),
        ("counseling", "counselling"),
        ("counselor", "counsellor"),
        ("traveling", "travelling"),
        ("canceled", "cancelled"),
        ("fulfill", "fulfil"),
        ("license", "licence"),
        ("defense", "defence"),
        ("offense", "offence"),
        ("gray", "grey"),
        ("mom", "mum"),
        ("vacation", "holiday"),
        ("sweater", "jumper"),
        ("pajamas", "pyjamas"),
        ("aluminum", "aluminium"),
        ("sulfur", "sulphur"),
        ("neighbor", "neighbour"),
        ("honor", "honour"),
        ("humor", "humour"),
        ("rumor", "rumour"),
        ("harbor", "harbour"),
        ("vigor", "vigour"),
        ("ameba", "amoeba"),
        ("orthopedic", "orthopaedic"),
        ("fetus", "foetus"),
        ("estrogen", "oestrogen"),
        ("leukemia", "leukaemia"),
        ("anesthetic", "anaesthetic"),
    ];
    if let Some((_, uk)) = TABLE.iter().find(|(us, _)| *us == word) {
        return (*uk).into();
    }
    // -ize/-ization and -yze endings: organization -> organisation, analyze -> analyse.
    // Short words (size, seize, prize) are left alone.
    const SUFFIXES: &[(&str, &str)] = &[
        ("izations", "isations"),
        ("ization", "isation"),
        ("izing", "ising"),
        ("izes", "ises"),
        ("ized", "ised"),
        ("ize", "ise"),
        ("yzing", "ysing"),
        ("yzed", "ysed"),
        ("yze", "yse"),
    ];
    const KEEP: &[&str] = &[
        "capsize", "capsized", "seize", "seized", "seizes", "seizing", "prize", "prized", "baptize",
    ];
    if word.len() >= 7 && !KEEP.contains(&word) {
        for (us, uk) in SUFFIXES {
            if let Some(stem) = word.strip_suffix(us) {
                return format!("{stem}{uk}").into();
            }
        }
    }
    word.into()
}

/// One analysed token and its position in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub position: usize,
}

/// Normalises and analyses `text` into tokens, as the index sees it.
pub fn tokens(analyser: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let normalised = normalise(text);
    let mut stream = analyser.token_stream(&normalised);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(Token {
            text: t.text.clone(),
            position: t.position,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokens(&mut analyser(), s)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn abbreviations_survive() {
        assert_eq!(
            toks("SSP, OH, RIDDOR and DSE"),
            vec!["ssp", "oh", "riddor", "dse"]
        );
    }

    #[test]
    fn negation_is_kept() {
        assert_eq!(toks("is it not allowed? no"), vec!["not", "allow", "no"]);
    }

    #[test]
    fn uk_and_us_spellings_meet() {
        assert_eq!(toks("organization"), toks("organisation"));
        assert_eq!(toks("behavior program"), toks("behaviour programme"));
        assert_eq!(toks("size"), vec!["size"]);
    }

    #[test]
    fn apostrophes_join_words() {
        assert_eq!(
            normalise("doesn't employer’s 'quoted'"),
            "doesnt employers quoted"
        );
    }

    #[test]
    fn hostile_text_is_just_words() {
        assert_eq!(
            normalise("sick pay: (AND) \"ssp\" OR \u{0007} 🙂"),
            "sick pay and ssp or"
        );
        let long = "stress ".repeat(5000);
        assert!(normalise(&long).len() <= MAX_QUERY_CHARS);
    }
}
