//! The crisis check, run on every message before any search: the phrase layer and the
//! structure layer, both read from `content/crisis.yaml`. (The meaning layer, which compares
//! a message with the embedded `examples`, belongs to the caller; [`CrisisMatcher::sentences`]
//! gives it the pieces to compare.)
//!
//! Patterns (phrases, safe phrases and every structure word) are sequences of words, matched
//! as whole words in order: `*` stands for up to three other words, `word*` for any word that
//! starts with `word`, and `{a|b c|d*}` for any one of the word sequences listed. Both sides
//! are normalised the same way (lower case, apostrophes dropped, punctuation as spaces). Two
//! words with the same first letter also match when the longer has seven letters or more and
//! they are one slip apart (one letter added, dropped, changed or two swapped), so
//! "paracetomol", "overdoes" and "sucide" still count.
//!
//! Before either layer looks, the words of any safe phrase ("suicide prevention", "nail gun",
//! "dying for a brew") are masked out, so a crisis word inside one does not count while the
//! rest of the message is still checked.
//!
//! - **Phrase layer**: any phrase anywhere in the (masked) message is a crisis. It is the floor.
//! - **Structure layer**: reads the message sentence by sentence (split on `. ! ? ;` and new
//!   lines) and looks at each sentence together with the next. It fires on a person and
//!   1. an intent (plan, threat, or a deed already done) and a means: a `means` item, or a
//!      `places` item together with an `acts` item ("talks of walking into the sea");
//!   2. or an emergency ("collapsed", "not breathing", "lips are blue");
//!   3. or danger from someone now: a weapon with presence or violence, or violence with
//!      presence or an intent ("her ex is outside saying he'll kill her").
//!
//!   Unless the same two sentences hold a `now` marker ("tonight", "right now", "999"), a
//!   match is dropped when they read as a policy or training question (`hypothetical`), and a
//!   deed done, an emergency or violence is dropped when they read as the past or its aftermath
//!   (`past`: "last year", "funeral", "RIDDOR"). A plan or threat is never dropped for `past`:
//!   "since his wife died he keeps saying he'll jump" is a crisis.

use crate::content::{Crisis, CrisisStructure};
use crate::search::analyse::normalise_all;

const GAP: usize = 3;
/// Words at least this long may match with one slip (a word one shorter may slip to one this long).
const FUZZY_MIN: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrisisLayer {
    Phrase,
    Meaning,
    Structure,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CrisisSignal {
    pub layer: CrisisLayer,
    /// What fired: the phrase, the example, or the three words.
    pub matched: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Exact(String),
    Prefix(String),
    /// Up to [`GAP`] words.
    Gap,
    /// Any one of these word sequences (`{a|b c|d*}`).
    Any(Vec<Vec<Part>>),
}

/// One compiled pattern with the text an editor wrote.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Default)]
struct Lists {
    people: Vec<Pattern>,
    intents: Vec<Pattern>,
    done: Vec<Pattern>,
    means: Vec<Pattern>,
    places: Vec<Pattern>,
    acts: Vec<Pattern>,
    emergencies: Vec<Pattern>,
    weapons: Vec<Pattern>,
    violence: Vec<Pattern>,
    presence: Vec<Pattern>,
    now: Vec<Pattern>,
    past: Vec<Pattern>,
    hypothetical: Vec<Pattern>,
}

#[derive(Debug, Clone, Default)]
pub struct CrisisMatcher {
    phrases: Vec<Pattern>,
    safe: Vec<Pattern>,
    lists: Lists,
}

impl CrisisMatcher {
    pub fn new(crisis: &Crisis) -> CrisisMatcher {
        let s: &CrisisStructure = &crisis.structure;
        CrisisMatcher {
            phrases: compile_all(&crisis.phrases),
            safe: compile_all(&crisis.safe_phrases),
            lists: Lists {
                people: compile_all(&s.people),
                intents: compile_all(&s.intents),
                done: compile_all(&s.done),
                means: compile_all(&s.means),
                places: compile_all(&s.places),
                acts: compile_all(&s.acts),
                emergencies: compile_all(&s.emergencies),
                weapons: compile_all(&s.weapons),
                violence: compile_all(&s.violence),
                presence: compile_all(&s.presence),
                now: compile_all(&s.now),
                past: compile_all(&s.past),
                hypothetical: compile_all(&s.hypothetical),
            },
        }
    }

    /// Phrase layer, then structure layer; None when neither fires. (Meaning is the caller's.)
    pub fn check(&self, text: &str) -> Option<CrisisSignal> {
        self.phrase(text)
            .map(|matched| CrisisSignal {
                layer: CrisisLayer::Phrase,
                matched,
            })
            .or_else(|| {
                self.structure(text).map(|matched| CrisisSignal {
                    layer: CrisisLayer::Structure,
                    matched,
                })
            })
    }

    /// Sentences of a message as the detector sees them (also used for the meaning layer):
    /// split on . ! ? newlines and ; , keeping each non-empty piece trimmed.
    pub fn sentences(text: &str) -> Vec<String> {
        split(text, &['.', '!', '?', '\n', '\r', ';', ','])
    }

    /// The first crisis phrase the whole (masked) text contains.
    fn phrase(&self, text: &str) -> Option<String> {
        let norm = normalise_all(text);
        let words = self.masked(norm.split_whitespace().collect());
        self.phrases
            .iter()
            .find(|p| find(&words, p).is_some())
            .map(|p| p.text.clone())
    }

    /// The structure layer over each sentence and the next.
    fn structure(&self, text: &str) -> Option<String> {
        let sentences: Vec<Vec<String>> = split(text, &['.', '!', '?', '\n', '\r', ';'])
            .iter()
            .map(|s| {
                normalise_all(s)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        (0..sentences.len()).find_map(|i| {
            let mut window: Vec<&str> = sentences[i].iter().map(String::as_str).collect();
            if let Some(next) = sentences.get(i + 1) {
                // An empty word keeps a phrase from running across the sentence break.
                window.push("");
                window.extend(next.iter().map(String::as_str));
            }
            self.window(&self.masked(window))
        })
    }

    /// Blanks out the words of every safe phrase.
    fn masked<'a>(&self, mut words: Vec<&'a str>) -> Vec<&'a str> {
        for p in &self.safe {
            let mut i = 0;
            while i < words.len() {
                match match_at(&words, i, &p.parts) {
                    Some(end) if end > i => {
                        for w in &mut words[i..end] {
                            *w = "";
                        }
                        i = end;
                    }
                    _ => i += 1,
                }
            }
        }
        words
    }

    /// The words that fire in one window of words, if any: person / intent / means, person /
    /// emergency, or person / threat / weapon, each as the message wrote it.
    fn window(&self, words: &[&str]) -> Option<String> {
        let l = &self.lists;
        // The first item of a list found in the window, as the words it matched.
        let first = |list: &[Pattern]| {
            list.iter().find_map(|p| {
                let (start, end) = find(words, p)?;
                Some(
                    words[start..end]
                        .iter()
                        .filter(|w| !w.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })
        };
        let person = first(&l.people)?;
        let now = first(&l.now).is_some();
        if !now && first(&l.hypothetical).is_some() {
            return None;
        }
        let past = !now && first(&l.past).is_some();
        let intent = first(&l.intents);
        let done = first(&l.done).filter(|_| !past);

        // 1. A person, an intent (or a deed done) and a means.
        let means = first(&l.means).or_else(|| {
            let place = first(&l.places)?;
            let act = first(&l.acts)?;
            Some(format!("{act} + {place}"))
        });
        if let (Some(means), Some(i)) = (&means, intent.as_ref().or(done.as_ref())) {
            return Some(format!("{person} / {i} / {means}"));
        }
        if past {
            return None;
        }
        // 2. An emergency now.
        if let Some(e) = first(&l.emergencies) {
            return Some(format!("{person} / {e}"));
        }
        // 3. A weapon or violence now.
        let presence = first(&l.presence);
        let violence = first(&l.violence);
        let found = match (first(&l.weapons), violence) {
            (Some(w), Some(v)) => Some((v, w)),
            (Some(w), None) => presence.map(|p| (p, w)),
            (None, Some(v)) => presence.or(intent).map(|x| (x, v)),
            (None, None) => None,
        };
        found.map(|(a, b)| format!("{person} / {a} / {b}"))
    }
}

fn split(text: &str, on: &[char]) -> Vec<String> {
    text.split(|c| on.contains(&c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn compile_all(items: &[String]) -> Vec<Pattern> {
    items.iter().filter_map(|s| compile(s)).collect()
}

/// A pattern from its text; None when it holds no word to match.
fn compile(text: &str) -> Option<Pattern> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            // An unclosed brace takes the rest of the pattern.
            let (inner, tail) = after.split_once('}').unwrap_or((after, ""));
            let alts: Vec<Vec<Part>> = inner
                .split('|')
                .map(words)
                .filter(|a| !a.is_empty())
                .collect();
            if !alts.is_empty() {
                parts.push(Part::Any(alts));
            }
            rest = tail.trim_start();
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            parts.extend(words(&rest[..end]));
            rest = &rest[end..];
        }
    }
    parts
        .iter()
        .any(|p| !matches!(p, Part::Gap))
        .then(|| Pattern {
            text: text.trim().to_string(),
            parts,
        })
}

/// Plain words: `*` alone is a gap, `word*` a prefix, anything else normalised words.
fn words(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    for token in text.split_whitespace() {
        if token == "*" {
            parts.push(Part::Gap);
        } else if let Some(stem) = token.strip_suffix('*') {
            let norm = normalise_all(stem);
            let mut ws: Vec<&str> = norm.split_whitespace().collect();
            if let Some(last) = ws.pop() {
                parts.extend(ws.iter().map(|w| Part::Exact(w.to_string())));
                parts.push(Part::Prefix(last.to_string()));
            }
        } else {
            parts.extend(
                normalise_all(token)
                    .split_whitespace()
                    .map(|w| Part::Exact(w.to_string())),
            );
        }
    }
    parts
}

/// Where the pattern first matches in the words (start and end), if anywhere.
fn find(words: &[&str], p: &Pattern) -> Option<(usize, usize)> {
    (0..words.len()).find_map(|i| match_at(words, i, &p.parts).map(|end| (i, end)))
}

/// The end of a match of `parts` starting at word `i`.
fn match_at(words: &[&str], i: usize, parts: &[Part]) -> Option<usize> {
    let Some((first, rest)) = parts.split_first() else {
        return Some(i);
    };
    match first {
        Part::Exact(e) => {
            let w = words.get(i)?;
            (!w.is_empty() && (e == w || near(e, w)))
                .then(|| match_at(words, i + 1, rest))
                .flatten()
        }
        Part::Prefix(p) => {
            let w = words.get(i)?;
            w.starts_with(p.as_str())
                .then(|| match_at(words, i + 1, rest))
                .flatten()
        }
        Part::Gap => (0..=GAP)
            .filter(|skip| i + skip <= words.len())
            .find_map(|skip| match_at(words, i + skip, rest)),
        Part::Any(alts) => alts.iter().find_map(|alt| {
            let end = match_at(words, i, alt)?;
            // An alternative must use at least one word.
            (end > i).then(|| match_at(words, end, rest)).flatten()
        }),
    }
}

/// Both words long enough, the same first letter, and at most one slip apart
/// (optimal string alignment distance 1).
fn near(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().max(b.len()) < FUZZY_MIN
        || a.len().min(b.len()) < FUZZY_MIN - 1
        || a[0] != b[0]
        || a.len().abs_diff(b.len()) > 1
    {
        return false;
    }
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=m {
        d[0][j] = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m] <= 1
}

#[cfg(test)]
mod probe {
    #[test]
    #[ignore]
    fn probe() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let c = crate::content::load(&root, chrono::Utc::now().date_naive()).content;
        let m = super::CrisisMatcher::new(&c.crisis);
        let text = std::fs::read_to_string(std::env::var("PROBE").unwrap()).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            match m.check(line) {
                Some(s) => println!("{:?}\t{}\t{}", s.layer, s.matched, line),
                None => println!("NONE\t\t{line}"),
            }
        }
    }
}
