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
//! "paracetomol", "overdoes" and "sucide" still count; not in the lists that hold a match back
//! or mask words (safe phrases, `past`, `hypothetical`), where a slip must not cost a crisis.
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
//!   (`past`: "last year", "funeral", "RIDDOR"); for an emergency, only a `past` word in its
//!   own sentence counts ("burns right over her arm, skin white and peeling. Is this a RIDDOR
//!   one?" is an emergency now). A plan or threat is never dropped for `past`: "since his wife
//!   died he keeps saying he'll jump" is a crisis.

use std::collections::HashMap;

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

impl CrisisLayer {
    pub fn as_str(self) -> &'static str {
        match self {
            CrisisLayer::Phrase => "phrase",
            CrisisLayer::Meaning => "meaning",
            CrisisLayer::Structure => "structure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CrisisSignal {
    pub layer: CrisisLayer,
    /// What fired: the phrase, the example, or the three words.
    pub matched: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// A word, or a word one slip away (see [`near`]).
    Exact(String),
    /// A word exactly: in the lists that hold a match back or mask words, where a slip must
    /// not cost a crisis ("trainee" is not "trained").
    Strict(String),
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

// The lists, by index into `CrisisMatcher::lists`.
const PHRASES: usize = 0;
const SAFE: usize = 1;
const PEOPLE: usize = 2;
const INTENTS: usize = 3;
const DONE: usize = 4;
const MEANS: usize = 5;
const PLACES: usize = 6;
const ACTS: usize = 7;
const EMERGENCIES: usize = 8;
const WEAPONS: usize = 9;
const VIOLENCE: usize = 10;
const PRESENCE: usize = 11;
const NOW: usize = 12;
const PAST: usize = 13;
const HYPOTHETICAL: usize = 14;
const SAFETY: usize = 15;
const LISTS: usize = 16;

/// A pattern by list and position in it.
type Id = (usize, usize);

/// Which patterns can start at a word, so that matching tries only those: keyed by the exact
/// words and prefixes a pattern can begin with, and by first letter for words that may slip.
#[derive(Debug, Clone, Default)]
struct Index {
    exact: HashMap<String, Vec<Id>>,
    prefix: Vec<(String, Id)>,
    /// Keyed by first byte and length in bytes.
    slip: HashMap<(u8, usize), Vec<(String, Id)>>,
    /// Patterns whose first word cannot be told in advance: tried everywhere.
    always: Vec<Id>,
}

impl Index {
    fn add(&mut self, id: Id, parts: &[Part]) {
        let mut atoms = Vec::new();
        if !first_atoms(parts, &mut atoms) {
            self.always.push(id);
            return;
        }
        for atom in atoms {
            match atom {
                Part::Exact(e) => {
                    if e.len() + 1 >= FUZZY_MIN
                        && let Some(&b) = e.as_bytes().first()
                    {
                        let key = (b, e.len());
                        self.slip.entry(key).or_default().push((e.clone(), id));
                    }
                    self.exact.entry(e).or_default().push(id);
                }
                Part::Strict(e) => self.exact.entry(e).or_default().push(id),
                Part::Prefix(p) => self.prefix.push((p, id)),
                Part::Gap | Part::Any(_) => unreachable!("first_atoms gives words only"),
            }
        }
    }

    /// Every pattern that may start at this word (a superset; duplicates possible).
    fn candidates<'a>(&'a self, w: &'a str) -> impl Iterator<Item = Id> + 'a {
        // A slip changes the length by at most one letter (a few bytes outside ASCII).
        let first = w
            .as_bytes()
            .first()
            .copied()
            .filter(|_| w.len() + 1 >= FUZZY_MIN);
        let slip = first
            .into_iter()
            .flat_map(move |b| {
                let spread = if w.is_ascii() { 1 } else { 4 };
                (w.len().saturating_sub(spread)..=w.len() + spread)
                    .filter_map(move |n| self.slip.get(&(b, n)))
            })
            .flatten()
            .filter(move |(e, _)| near(e, w))
            .map(|(_, id)| *id);
        self.exact
            .get(w)
            .into_iter()
            .flatten()
            .copied()
            .chain(
                self.prefix
                    .iter()
                    .filter(move |(p, _)| w.starts_with(p.as_str()))
                    .map(|(_, id)| *id),
            )
            .chain(slip)
            .chain(self.always.iter().copied())
    }
}

/// The words a pattern can begin with; false when that cannot be said (it begins with a gap).
fn first_atoms(parts: &[Part], out: &mut Vec<Part>) -> bool {
    match parts.first() {
        Some(p @ (Part::Exact(_) | Part::Strict(_) | Part::Prefix(_))) => {
            out.push(p.clone());
            true
        }
        Some(Part::Any(alts)) => alts.iter().all(|alt| first_atoms(alt, out)),
        Some(Part::Gap) | None => false,
    }
}

#[derive(Debug, Clone, Default)]
pub struct CrisisMatcher {
    lists: Vec<Vec<Pattern>>,
    index: Index,
}

/// Where each list first matched in a window of words: start and end.
type Hits = [Option<(usize, usize)>; LISTS];

/// The candidate patterns of each word met so far in one message (long messages repeat words).
type Cache = HashMap<String, Vec<Id>>;

/// The phrase list, the safe phrases and the structure layer's lists, in the order the
/// matcher indexes them (`SAFE`, `PAST`, `HYPOTHETICAL` and `SAFETY` are positions in it).
fn word_lists(crisis: &Crisis) -> [&Vec<String>; LISTS] {
    let s: &CrisisStructure = &crisis.structure;
    [
        &crisis.phrases,
        &crisis.safe_phrases,
        &s.people,
        &s.intents,
        &s.done,
        &s.means,
        &s.places,
        &s.acts,
        &s.emergencies,
        &s.weapons,
        &s.violence,
        &s.presence,
        &s.now,
        &s.past,
        &s.hypothetical,
        &s.safety,
    ]
}

impl CrisisMatcher {
    pub fn new(crisis: &Crisis) -> CrisisMatcher {
        let lists: Vec<Vec<Pattern>> = word_lists(crisis)
            .into_iter()
            .enumerate()
            .map(|(l, items)| compile_all(items, ![SAFE, PAST, HYPOTHETICAL, SAFETY].contains(&l)))
            .collect();
        let mut index = Index::default();
        for (l, list) in lists.iter().enumerate() {
            for (p, pattern) in list.iter().enumerate() {
                index.add((l, p), &pattern.parts);
            }
        }
        CrisisMatcher { lists, index }
    }

    /// Phrase layer, then structure layer; None when neither fires. (Meaning is the caller's.)
    pub fn check(&self, text: &str) -> Option<CrisisSignal> {
        let cache = &mut Cache::new();
        self.phrase(cache, text)
            .map(|matched| CrisisSignal {
                layer: CrisisLayer::Phrase,
                matched,
            })
            .or_else(|| {
                self.structure(cache, text).map(|matched| CrisisSignal {
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

    /// The first crisis phrase the whole (masked) text contains, unless the text is a policy,
    /// training or "what if" question (a `hypothetical` word) with no `now` word.
    fn phrase(&self, cache: &mut Cache, text: &str) -> Option<String> {
        let norm = normalise_all(text);
        let words = self.masked(cache, norm.split_whitespace().collect());
        let mut found = None;
        self.scan(cache, &words, &[PHRASES], |id, _, _| {
            found = Some(id.1);
            true
        });
        let found = found?;
        let mut frame = [false; 2];
        self.scan(cache, &words, &[HYPOTHETICAL, NOW], |id, _, _| {
            frame[usize::from(id.0 == NOW)] = true;
            false
        });
        let [hypothetical, now] = frame;
        (now || !hypothetical).then(|| self.lists[PHRASES][found].text.clone())
    }

    /// The structure layer over each sentence and the next.
    fn structure(&self, cache: &mut Cache, text: &str) -> Option<String> {
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
            let first_len = window.len();
            if let Some(next) = sentences.get(i + 1) {
                // An empty word keeps a phrase from running across the sentence break.
                window.push("");
                window.extend(next.iter().map(String::as_str));
            }
            let window = self.masked(cache, window);
            self.window(cache, &window, first_len)
        })
    }

    /// Calls `hit(id, start, end)` for each match of a pattern in the given lists, from the
    /// first word on, until it returns true.
    fn scan(
        &self,
        cache: &mut Cache,
        words: &[&str],
        lists: &[usize],
        mut hit: impl FnMut(Id, usize, usize) -> bool,
    ) {
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() {
                continue;
            }
            if !cache.contains_key(*w) {
                cache.insert(w.to_string(), self.index.candidates(w).collect());
            }
            for &id in &cache[*w] {
                if !lists.contains(&id.0) {
                    continue;
                }
                if let Some(end) = match_at(words, i, &self.lists[id.0][id.1].parts)
                    && hit(id, i, end)
                {
                    return;
                }
            }
        }
    }

    /// Blanks out the words of every safe phrase.
    fn masked<'a>(&self, cache: &mut Cache, words: Vec<&'a str>) -> Vec<&'a str> {
        let mut spans = Vec::new();
        self.scan(cache, &words, &[SAFE], |_, start, end| {
            spans.push((start, end));
            false
        });
        let mut words = words;
        for (start, end) in spans {
            for w in &mut words[start..end] {
                *w = "";
            }
        }
        words
    }

    /// The words that fire in one window of words, if any: person / intent / means, person /
    /// emergency, or person / threat / weapon, each as the message wrote it.
    fn window(&self, cache: &mut Cache, words: &[&str], first_len: usize) -> Option<String> {
        let mut hits: Hits = [None; LISTS];
        let mut pasts = Vec::new();
        self.scan(cache, words, &[PEOPLE], |_, start, end| {
            hits[PEOPLE] = Some((start, end));
            true
        });
        hits[PEOPLE]?;
        let rest: Vec<usize> = (INTENTS..LISTS).collect();
        self.scan(cache, words, &rest, |id, start, end| {
            hits[id.0].get_or_insert((start, end));
            if id.0 == PAST {
                pasts.push(start);
            }
            false
        });
        // A list's first match, as the words it matched.
        let first = |l: usize| {
            hits[l].map(|(start, end)| {
                words[start..end]
                    .iter()
                    .filter(|w| !w.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        };
        let person = first(PEOPLE)?;
        let now = hits[NOW].is_some();
        if !now && hits[HYPOTHETICAL].is_some() {
            return None;
        }
        let past = !now && hits[PAST].is_some();
        let safety = !now && hits[SAFETY].is_some();
        let intent = first(INTENTS);
        let done = first(DONE).filter(|_| !past);

        // 1. A person, an intent (or a deed done) and a means; not in a safety question
        // ("lads working at height could fall").
        let means = first(MEANS).filter(|_| !safety).or_else(|| {
            if safety {
                return None;
            }
            let place = first(PLACES)?;
            let act = first(ACTS)?;
            Some(format!("{act} + {place}"))
        });
        if let (Some(means), Some(i)) = (&means, intent.as_ref().or(done.as_ref())) {
            return Some(format!("{person} / {i} / {means}"));
        }
        // 2. An emergency now. A past word drops it only in the emergency's own sentence: "the
        // skin's white and peeling, big area. Is this a RIDDOR one?" is an emergency now with a
        // reporting question after it, while "he collapsed last week" is not.
        if let (Some(e), Some((at, _))) = (first(EMERGENCIES), hits[EMERGENCIES]) {
            let own = if at < first_len {
                0..first_len
            } else {
                first_len..words.len()
            };
            if now || !pasts.iter().any(|p| own.contains(p)) {
                return Some(format!("{person} / {e}"));
            }
        }
        if past {
            return None;
        }
        // 3. A weapon or violence now.
        let presence = first(PRESENCE);
        let violence = first(VIOLENCE);
        let found = match (first(WEAPONS), violence) {
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

fn compile_all(items: &[String], slip: bool) -> Vec<Pattern> {
    items.iter().filter_map(|s| compile(s, slip)).collect()
}

/// A pattern from its text, its words allowed a slip or not; None when it holds no word.
fn compile(text: &str, slip: bool) -> Option<Pattern> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            // An unclosed brace takes the rest of the pattern.
            let (inner, tail) = after.split_once('}').unwrap_or((after, ""));
            let alts: Vec<Vec<Part>> = inner
                .split('|')
                .map(|alt| words(alt, slip))
                .filter(|a| !a.is_empty())
                .collect();
            if !alts.is_empty() {
                parts.push(Part::Any(alts));
            }
            rest = tail.trim_start();
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            parts.extend(words(&rest[..end], slip));
            rest = &rest[end..];
        }
    }
    // Matches are looked for from every word, so gaps at either end change nothing.
    while parts.first() == Some(&Part::Gap) {
        parts.remove(0);
    }
    while parts.last() == Some(&Part::Gap) {
        parts.pop();
    }
    (!parts.is_empty()).then(|| Pattern {
        text: text.trim().to_string(),
        parts,
    })
}

/// Plain words: `*` alone is a gap, `word*` a prefix, anything else normalised words.
fn words(text: &str, slip: bool) -> Vec<Part> {
    let word = |w: &str| {
        if slip {
            Part::Exact(w.to_string())
        } else {
            Part::Strict(w.to_string())
        }
    };
    let mut parts = Vec::new();
    for token in text.split_whitespace() {
        if token == "*" {
            parts.push(Part::Gap);
        } else if let Some(stem) = token.strip_suffix('*') {
            let norm = normalise_all(stem);
            let mut ws: Vec<&str> = norm.split_whitespace().collect();
            if let Some(last) = ws.pop() {
                parts.extend(ws.iter().map(|w| word(w)));
                parts.push(Part::Prefix(last.to_string()));
            }
        } else {
            parts.extend(normalise_all(token).split_whitespace().map(word));
        }
    }
    parts
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
        Part::Strict(e) => {
            let w = words.get(i)?;
            (e == w).then(|| match_at(words, i + 1, rest)).flatten()
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

/// Both words long enough, the same first letter, and at most one slip apart: one letter
/// added, dropped or changed, or two neighbours swapped.
fn near(a: &str, b: &str) -> bool {
    // Cheap rejections first: this runs for every word against every long pattern word.
    if a.len().max(b.len()) < FUZZY_MIN || a.as_bytes().first() != b.as_bytes().first() {
        return false;
    }
    if a.is_ascii() && b.is_ascii() {
        one_slip(a.as_bytes(), b.as_bytes())
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        a.len().max(b.len()) >= FUZZY_MIN && one_slip(&a, &b)
    }
}

fn one_slip<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.len() + 1 < FUZZY_MIN || long.len() - short.len() > 1 {
        return false;
    }
    // The first place they differ; all that follows must line up after one slip there.
    let Some(i) = (0..short.len()).find(|&i| short[i] != long[i]) else {
        return true;
    };
    if long.len() > short.len() {
        return short[i..] == long[i + 1..];
    }
    short[i + 1..] == long[i + 1..]
        || (i + 1 < short.len()
            && short[i] == long[i + 1]
            && short[i + 1] == long[i]
            && short[i + 2..] == long[i + 2..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::CrisisStructure;
    use std::sync::OnceLock;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A matcher with only phrases and safe phrases (no structure lists).
    fn phrases(phrases: &[&str], safe: &[&str]) -> CrisisMatcher {
        CrisisMatcher::new(&Crisis {
            phrases: strings(phrases),
            safe_phrases: strings(safe),
            ..Crisis::default()
        })
    }

    fn fired(c: &CrisisMatcher, text: &str) -> bool {
        c.check(text).is_some()
    }

    /// The matcher built from the real `content/crisis.yaml`.
    fn real() -> &'static CrisisMatcher {
        static REAL: OnceLock<CrisisMatcher> = OnceLock::new();
        REAL.get_or_init(|| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
            let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            let loaded = crate::content::load(&root, today);
            let crisis = &loaded.content.crisis;
            assert!(!crisis.phrases.is_empty(), "no crisis phrases loaded");
            assert!(
                !crisis.structure.people.is_empty(),
                "no structure lists loaded"
            );
            CrisisMatcher::new(crisis)
        })
    }

    #[test]
    fn the_real_content_has_examples_contrasts_and_clean_lists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let loaded = crate::content::load(&root, today);
        let problems: Vec<String> = loaded
            .diagnostics
            .items
            .iter()
            .filter(|d| d.pos.path.ends_with("crisis.yaml"))
            .map(|d| d.to_string())
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
        let crisis = &loaded.content.crisis;
        assert!(crisis.examples.len() >= 170, "{}", crisis.examples.len());
        assert!(crisis.not_crisis.len() >= 80, "{}", crisis.not_crisis.len());
        // Every list item compiles to something that can match.
        for list in word_lists(crisis) {
            assert!(!list.is_empty());
            for item in list {
                assert!(compile(item, true).is_some(), "{item:?} matches nothing");
            }
        }
    }

    #[test]
    fn whole_words_in_order() {
        let c = phrases(&["kill himself", "doesnt want to be alive"], &[]);
        assert!(fired(&c, "He said he'd KILL himself!"));
        assert!(fired(&c, "she doesn't want to be alive"));
        assert!(!fired(&c, "skill himself up"));
        assert!(!fired(&c, "my back is killing me"));
        let s = c.check("he'll kill himself").unwrap();
        assert_eq!(s.layer, CrisisLayer::Phrase);
        assert_eq!(s.matched, "kill himself");
    }

    #[test]
    fn gaps_allow_a_few_words() {
        let c = phrases(&["taken * tablets"], &[]);
        assert!(fired(&c, "he's taken a load of tablets"));
        assert!(fired(&c, "he's taken tablets"));
        assert!(!fired(
            &c,
            "taken his blood pressure and the rest of his tablets"
        ));
    }

    #[test]
    fn alternatives_and_prefixes() {
        let c = phrases(
            &[
                "{top|do} {himself|herself} {in|off}",
                "unaliv*",
                "{car park|roof} jump",
            ],
            &[],
        );
        assert!(fired(&c, "he's going to do himself in"));
        assert!(fired(&c, "she wants to top herself off"));
        assert!(!fired(&c, "he's going to top himself up with coffee"));
        assert!(fired(&c, "thinking of unaliving"));
        assert!(fired(&c, "the car park jump"));
        assert!(fired(&c, "the roof jump"));
        assert!(!fired(&c, "the car jump"));
        // An alternative that normalises to nothing is dropped; a pattern of only gaps is too.
        let c = phrases(&["{!!|kms}", "* *"], &[]);
        assert!(fired(&c, "kms"));
        assert!(!fired(&c, "anything at all"));
    }

    #[test]
    fn one_slip_in_a_long_word() {
        let c = phrases(&["paracetamol", "suicide", "cutting herself"], &[]);
        assert!(fired(&c, "a load of paracetomol"));
        assert!(fired(&c, "worker thretening sucide"));
        assert!(fired(&c, "she's been cuttign herself"));
        // Short words, or a different first letter, do not slip.
        assert!(!fired(&c, "she's been putting herself forward"));
        assert!(!fired(&c, "paramedic"));
        assert!(near("suicide", "suicdie"));
        assert!(!near("suicide", "suicidal"));
        assert!(!near("kill", "kil"));
    }

    #[test]
    fn safe_phrases_mask_only_their_own_words() {
        let c = phrases(
            &["suicide", "kms"],
            &["suicide prevention", "{lost|losing} * to suicide"],
        );
        assert!(!fired(
            &c,
            "Is there suicide prevention training near Durham?"
        ));
        assert!(!fired(&c, "we lost a colleague to suicide"));
        assert!(fired(
            &c,
            "after suicide prevention training he said he's thinking of suicide"
        ));
        assert!(fired(
            &c,
            "we lost a colleague to suicide and now he says kms"
        ));
    }

    #[test]
    fn the_end_of_a_long_message_is_checked() {
        let c = phrases(&["end it all"], &[]);
        let text = format!(
            "{} and now he says he will end it all",
            "words ".repeat(3000)
        );
        assert!(fired(&c, &text));
    }

    #[test]
    fn sentences_split_on_stops_commas_and_new_lines() {
        assert_eq!(
            CrisisMatcher::sentences("He's on the bridge. He says, he'll jump!\n\n  Help?; now"),
            vec!["He's on the bridge", "He says", "he'll jump", "Help", "now"]
        );
        assert!(CrisisMatcher::sentences(" .,;!? ").is_empty());
    }

    fn structure() -> CrisisMatcher {
        CrisisMatcher::new(&Crisis {
            phrases: strings(&["kill himself"]),
            structure: CrisisStructure {
                people: strings(&["{he|hes|she|my lad}"]),
                intents: strings(&["going to", "{says|said}"]),
                done: strings(&["{took|has}"]),
                means: strings(&["rope"]),
                places: strings(&["bridge"]),
                acts: strings(&["jump*"]),
                emergencies: strings(&["collapsed"]),
                weapons: strings(&["knife"]),
                violence: strings(&["stab {her|him}"]),
                presence: strings(&["outside"]),
                now: strings(&["tonight"]),
                past: strings(&["last year"]),
                hypothetical: strings(&["policy"]),
                safety: strings(&["ladder"]),
            },
            ..Crisis::default()
        })
    }

    #[test]
    fn a_past_word_drops_an_emergency_only_in_its_own_sentence() {
        let c = structure();
        // The emergency was last year: not now.
        assert!(
            c.check("he collapsed last year, is that reportable")
                .is_none()
        );
        assert!(c.check("last year he collapsed at work").is_none());
        // An emergency now, with an admin question after it that names the past.
        let s = c
            .check("he has just collapsed on the floor. do i fill in the form we used last year")
            .unwrap();
        assert_eq!(s.matched, "he / collapsed");
        // A plan is still judged on the whole window, and a deed done still drops for the past.
        assert!(c.check("he took a rope. last year").is_none());
    }

    #[test]
    fn a_safety_word_drops_a_plan_but_never_an_emergency() {
        let c = structure();
        assert!(c.check("he has a rope for the ladder").is_none());
        assert!(
            c.check("he has a rope, he is going to jump tonight, ladder")
                .is_some()
        );
        let s = c.check("he fell off the ladder and collapsed").unwrap();
        assert_eq!(s.matched, "he / collapsed");
    }

    #[test]
    fn the_phrase_layer_is_held_back_by_a_policy_question_unless_now() {
        let c = structure();
        assert!(
            c.check("our policy if someone says they will kill himself")
                .is_none()
        );
        let s = c
            .check("never mind the policy, he says he will kill himself tonight")
            .unwrap();
        assert_eq!(s.layer, CrisisLayer::Phrase);
    }

    #[test]
    fn structure_needs_a_person_an_intent_and_a_means() {
        let c = structure();
        let s = c.check("My lad is going to jump from the bridge").unwrap();
        assert_eq!(s.layer, CrisisLayer::Structure);
        assert_eq!(s.matched, "my lad / going to / jump + bridge");
        // In any order, and across two adjacent sentences.
        assert!(fired(
            &c,
            "The bridge. He keeps jumping up, going to go there"
        ));
        assert!(fired(&c, "He has a rope in the van"));
        // Not three sentences apart, and not without a person or a means.
        assert!(!fired(&c, "He is going to. Walk the dog. Then the rope"));
        assert!(!fired(&c, "going to jump from the bridge"));
        assert!(!fired(&c, "he is going to the bridge"));
        // The phrase layer comes first.
        assert_eq!(
            c.check("he said he'd kill himself with a rope")
                .unwrap()
                .layer,
            CrisisLayer::Phrase
        );
    }

    #[test]
    fn structure_guards_for_policy_and_past_unless_now() {
        let c = structure();
        assert!(!fired(
            &c,
            "What should our policy be if he says he'll use a rope?"
        ));
        assert!(fired(&c, "Policy aside, he says tonight he'll use a rope"));
        // The past drops a deed done, not a plan.
        assert!(!fired(&c, "He took a rope to the loft last year"));
        assert!(fired(&c, "He took a rope to the loft tonight"));
        assert!(fired(
            &c,
            "Since the funeral last year he says he's going to use a rope"
        ));
        assert!(!fired(&c, "He collapsed last year"));
        // The guards take no slips: "policey" is not "policy", so this still fires.
        assert!(fired(&c, "He says he'll use a rope, policey"));
        assert!(fired(&c, "She collapsed"));
    }

    #[test]
    fn structure_catches_weapons_and_violence_now() {
        let c = structure();
        assert_eq!(
            c.check("he is outside with a knife").unwrap().matched,
            "he / outside / knife"
        );
        assert!(fired(&c, "he says he'll stab her"));
        assert!(fired(&c, "he's outside, wants to stab him"));
        assert!(!fired(&c, "he has a knife"));
        assert!(!fired(&c, "he was outside with a knife last year"));
    }

    const STRUCTURE_ONLY: &[&str] = &[
        "My forklift driver keeps going on about leaping from the gantry",
        "He reckons he'll walk out onto the A1 in the dark",
        "She's parked up at the coast and says she's going into the water",
        "Our cleaner has been collecting her nan's pills for weeks",
        "The new lad is stood on the ledge of the third floor window",
        "My brother works on your site and he's on the Redheugh bridge right now looking over the edge",
        "He's planning to step off the platform when the express train comes through",
        "One of the girls said she's going to swallow every tablet in the house",
        "My assistant manager has been researching a lethal dose of insulin",
        "He's in the van with the windows taped and a pipe from the exhaust",
        "She's got a razor and keeps saying she'll open her wrists",
        "Our chef said he's going to open his veins with a filleting knife",
        "One of my team rang from Roker pier, she says she'll leap off the end",
        "Worker sent a text saying he's heading to lie down on the railway line with a bottle of vodka",
        "He wants to crash the lorry into the bridge on purpose",
        "She's sitting on the railings at the top of the multi-storey",
        "He's drinking weedkiller in the shed",
        "My mate at work is going to light a barbecue in his tent and zip it up",
        "Lad's planning to fill his pockets with rocks and wade into the Tyne",
        "The warehouse supervisor texted that she's swallowed forty of her sleepers",
        "He's gone up Penshaw Hill with a rope",
        "My employee told her sister she'll drive off the pier at Seaham",
        "Worker says he's going to lie across the tracks at Pelaw",
        "Our driver says he'll steer into the central reservation at seventy",
        "She keeps talking about getting hit by a bus",
        "He's holding a blade against his own wrist",
        "The lass on reception has a stash of co-codamol and says tonight",
        "My foreman's been hoarding his painkillers and told me he's ready",
        "He's going to hang from the beam in the barn",
        "Someone is stood on the wrong side of the barrier on the Wearmouth bridge",
        "Lad says he's going to lie down in the road outside the depot",
        "My husband, who works in your stores, is sitting in the garage with the car running",
        "She said she's done with it all and is walking out into the river",
        "He's been googling lethal doses of his medication",
        "There's a bloke with a machete outside the office",
        "Her ex has just turned up with a baseball bat",
        "A customer is waving a knife at my staff",
        "He's pointing a gun at the lads in the yard",
        "Our delivery driver is slumped over the wheel and not waking",
        "The cleaner is lying on the floor and her lips look grey",
        "My colleague has gone grey and we can't rouse her",
        "Someone has stopped breathing in the canteen",
        "The lad's fitting on the warehouse floor",
        "Her partner is waiting in the car park saying he'll stab her",
        "Me and the lads found the new starter hanging in the toilets",
        "My dad works for you and he's threatening to douse himself in petrol",
        "She's put a plastic bag over her head",
        "Our van driver has waded into the river up to his chest",
    ];

    /// Crisis messages, none of them in `examples:` and none using a listed phrase: the
    /// structure layer of the real content must catch every one.
    #[test]
    fn the_real_structure_layer_catches_crises_in_other_words() {
        let c = real();
        let mut missed = Vec::new();
        for text in STRUCTURE_ONLY {
            match c.check(text) {
                Some(s) if s.layer == CrisisLayer::Structure => {}
                Some(s) => {
                    missed.push(format!("{text:?}: caught by {:?} ({})", s.layer, s.matched))
                }
                None => missed.push(format!("{text:?}: missed")),
            }
        }
        assert!(STRUCTURE_ONLY.len() >= 40);
        assert!(
            missed.is_empty(),
            "{} of {}:\n{}",
            missed.len(),
            STRUCTURE_ONLY.len(),
            missed.join("\n")
        );
    }

    const NEAR_MISSES: &[&str] = &[
        "Our training room is on the top floor, is there a rule about fire exits?",
        "One of the lads fell off a ladder last month, is it RIDDOR reportable?",
        "Can staff keep their own paracetamol in their lockers?",
        "What's the best way to support a worker whose brother died by suicide last spring?",
        "The Boxing Day dip at Whitley Bay is on, can staff have the morning off?",
        "My driver had a minor crash on the A19 last week, does he need a fit note for whiplash?",
        "A customer threatened to leave a bad review, how do I support the cashier?",
        "Is a kitchen knife allowed in the staff room?",
        "How high does scaffolding have to be before we need edge protection?",
        "Our gas engineer has to work in lofts, what's the rule on lone working?",
        "He's been dying to tell everyone about his promotion",
        "She was knocked down by a car last year and still has a limp, what adjustments can we make?",
        "One of my lads jumped off the back of the van and twisted his ankle, can he get sick pay?",
        "What first aid cover should we have for staff who work near the river?",
        "How do I reply to a worker who joked that the new shift pattern will be the death of him?",
        "Our pharmacy assistant handles tablets all day, can she wear gloves?",
        "We're reviewing our menopause policy, is there a template?",
        "Can we test staff for cannabis after an accident with the forklift?",
        "Stress risk assessment template for a small haulage firm",
        "A worker lost his wife to cancer, how much time off is normal?",
        "Do I need to provide a defibrillator in a small office?",
        "Staff at our bar keep getting threatened by drunk customers at closing time, what should we do?",
        "What are the rules on drivers taking codeine-based painkillers?",
        "My lads are off to a stag do in Newcastle and will be hanging tomorrow, can they take a day's holiday at short notice?",
        "The roof of our unit is leaking onto the tills, is it a health and safety issue?",
        "How do I support a worker with epilepsy who has seizures now and again?",
        "My worker is going to the coast for a week to recover from burnout, does she need a fit note?",
        "Staff panic when the fire alarm goes off, can we do more drills?",
        "A worker crashed the company van into a bollard, who pays for the repair?",
        "We need a policy on staff carrying knives for cutting open boxes",
        "The new apprentice keeps saying he's going to smash his targets this month",
        "Can I let a worker sit in her car in the car park during breaks because of anxiety?",
        "Our warehouse gets so hot people nearly pass out, what's the maximum temperature?",
        "She's a bridge engineer and wants flexible hours for childcare",
        "Do we need to report it if a worker gets a small electric shock?",
        "He drowned his sorrows after the match and came in hungover, can I discipline him?",
        "Our team lost a colleague in a road accident last year, how do we mark the anniversary?",
        "Is it legal to ask staff if they are taking antidepressants?",
        "My employee keeps jumping on calls late, how do I address it?",
        "One of the drivers says the A1 traffic is killing him every morning",
        "We're holding a charity abseil off the Tyne Bridge, do staff need insurance?",
        "Can my team have a leaving do in the pub by the river?",
        "How should I respond when a worker says the stress is making him feel like he's going under?",
        "My manager's going to hit the roof when he sees the sickness figures",
    ];

    /// Alarming words that are not a risk now: the real content must not fire on any.
    #[test]
    fn the_real_content_does_not_fire_on_near_misses() {
        let c = real();
        let alarms: Vec<String> = NEAR_MISSES
            .iter()
            .filter_map(|t| {
                c.check(t)
                    .map(|s| format!("{t:?}: {:?} {}", s.layer, s.matched))
            })
            .collect();
        assert!(NEAR_MISSES.len() >= 40);
        assert!(
            alarms.is_empty(),
            "{} of {}:\n{}",
            alarms.len(),
            NEAR_MISSES.len(),
            alarms.join("\n")
        );
    }

    const MORE_CRISES: &[&str] = &[
        "The lad who does our deliveries said he'd rather be under the wheels of a wagon than come back to work",
        "One of my joiners has been sleeping in his van and told me he's got a hosepipe ready",
        "Our receptionist says she keeps a bottle of vodka and her mam's sleeping pills for when she's had enough",
        "He says he's gonna walk off the end of South Shields pier",
        "My worker's wife phoned, he's taken the car and a length of rope and switched his phone off",
        "Bloke in the yard is threatening to slash anyone who comes near with a Stanley blade",
        "I've bought enough tablets to make sure I don't wake up",
        "She told the cleaner she's going to lie in the bath and use a razor",
        "The young lass on tills said she'll jump in front of the Metro on her way home",
        "He texted me at 2am saying he's on the Millennium Bridge and can't do this",
        "There's a fella in the shop with a screwdriver saying he'll stab the first person who moves",
        "Our sous chef collapsed by the fryers and is making gurgling noises",
        "My mate's been talking about driving off the cliff at Seaham",
        "Can you help, one of my team is on the scaffold threatening to throw herself down",
        "Ex-husband of one of my staff is banging on the shop door with an axe",
        "The driver's gone quiet, he's slumped on the steering wheel and his face is purple",
        "She keeps mentioning antifreeze and how it wouldn't hurt",
        "I'm on the railway line at Chester-le-Street",
        "He's lying on the floor of the toilets and won't wake up, there are empty blister packs everywhere",
        "Just had a worker say he's saved every one of his pills since Christmas and he's going to take them tonight",
        "My manager said he's going to gas himself in the garage after the business folds",
        "Our apprentice said she wants to cut until it stops hurting",
        "Her partner has just rung saying he's coming to the office with his shotgun",
        "One of my lads has tied a cable to the beam in the stores",
        "He's sat in his car by the river with the engine on and a pipe coming out the back",
        "She's planning on drinking a bottle of bleach when she gets in",
        "Found a worker with a carrier bag tied over his head in the van",
        "The security guard says a man is outside with a knife waiting for one of our nurses",
        "He keeps saying he's going to step off the top of the flats",
        "My dad is a caretaker for your firm and he has just swallowed a whole tub of painkillers",
        "She says she's going to walk out into the sea at Tynemouth tonight and keep walking",
        "Worker has a noose in his locker",
        "Our night porter has a seizure and is still shaking on the floor",
        "I want to drive my van off the quay",
        "My lad says he's ganna hoy hisself in the Wear",
        "Her boyfriend turned up at reception swinging a hammer",
        "He told his mate he's going to down all his insulin",
        "The girl at the till is on the floor and her lips are blue",
        "The roofer on our job says he'll just let himself fall off next time",
        "Our Kev has just phoned from the top of the Gateshead car park, he sounds drunk and says this is it",
        "My daughter works in your shop and she sent me a message saying she has taken everything in the cupboard",
        "I'm the owner and I've got the pills counted out on the table",
        "He keeps saying he'll drive into the Tyne and nobody will miss him",
        "The bairn's mam rang, her fella works for us and he's gone off with a rope after a row",
        "Staff member is sitting on the window ledge on the fourth floor with her legs over",
        "She sent a voice note saying she's walking down to the sea and won't be coming home",
        "Lad on the night shift says he's been practising with a belt in his room",
        "Our hairdresser has told a client she's ready to end her misery with her sleeping tablets",
        "A worker just told me he's bought a gun off someone and knows what he's doing with it",
        "He's been standing on the railway bridge at Durham for an hour",
        "There's a man screaming in the car park with a knife to his own neck",
        "Can you help my colleague is threatening to go under a bus on the way home",
        "My manager has locked herself in the office and says she's swallowed bleach",
        "One of my pickers is face down in the racking aisle and not breathing properly",
        "The delivery lad has fallen from the loading bay and there's blood coming from his head and he's not awake",
        "My employee's husband is in reception shouting that he'll kill her",
        "He said he plans to jump from Scotswood bridge on his birthday",
        "My brother who works at your site said the only way out is the river",
        "Our store manager posted online that she's saying goodbye and is at Souter lighthouse cliffs",
        "She's got a stash of razor blades in her locker and keeps showing me the cuts",
        "Worker says his head tells him to step in front of the next train",
        "Had a call from a lad's girlfriend, he's drunk a bottle of whisky and taken a box of sleeping tablets",
        "My dad works there and he's in the shed with the door locked and a hosepipe",
        "A bloke with an axe is smashing up the reception and going for staff",
        "The office junior says she's going to overdo her insulin tonight",
        "Our delivery driver has pulled up on the Tyne bridge, got out and climbed over the barrier",
        "He told me he's sorted his will and written to his kids, and now he's got a rope",
        "She's researching how long it takes to drown",
        "There's a woman fitting in the queue at the till",
        "He says he's not going to be around to see the new contract start",
        "Our groundsman has been drinking the weedkiller from the store, he's slurring",
        "one of the drivers is parked on the level crossing and won't move",
        "I've got a carrier bag full of tablets and I'm not scared any more",
        "He's tied a rope to the banister at his house, his wife just called us",
        "the apprentice has been hitting his head against the wall till it bleeds and says he wants to die in his sleep",
        "There's a man with a blade in the staff car park shouting he'll do someone",
        "My colleague has just fallen down the stairs and isn't moving or breathing",
        "She told me she's been sitting in the garage with the car on every night this week",
        "He keeps asking me what height you need to fall from to not survive",
        "The new chef has been running the knife across his arms in the walk-in fridge",
        "A lad has taken a load of pills at the Christmas do and we can't wake him",
        "He said he's going to kill her and then himself",
        "My manager texted me: tell my kids I love them",
        "She's standing by the tracks at Sunderland station and her phone's going straight to voicemail",
        "Worker was found unresponsive in the van with an empty bottle of vodka and pill packets",
        "One of my cleaners keeps saying she'll throw herself down the stairwell",
        "He's on the roof of the multi storey at the Metrocentre, he's sent me a photo of the drop",
        "Lass on the tills has burns up her arms from a lighter and says she's going to do her face next",
        "I'm sat in my car on the A19 with a hose and tape, I don't know why I'm telling you",
        "The warehouse lad has wrapped an extension cable round his neck in the stores",
        "He's sent messages to everyone in the team saying thank you and goodbye, and his location is the Tyne Bridge",
        "My employee has swallowed a handful of her mam's heart pills",
        "Her ex has been sitting outside the shop all morning with a bat in his car",
        "she's turned blue and isn't responding",
        "The lad who runs our stores said he's going to hoy himself under the Metro at Jarrow",
        "My wife works in your office and she's locked herself in the bathroom with my razors",
        "Our receptionist is slumped at her desk and we can't get a response",
        "He keeps talking about the old quarry and how high the drop is",
        "A worker has just told me she's bought a rope and a step ladder",
        "My employee's son rang, his dad has left the house with his shotgun and a bottle of rum",
        "She's planning to go down to the beach tonight and walk until the water takes her",
        "I think my foreman is going to do something to himself, he's been giving his tools out to the lads",
        "The manager at our other site sent a text saying by the time you read this I'll be gone",
        "One of my drivers has parked on the Tyne Bridge and is climbing over the side",
        "There's a woman in the yard holding a broken bottle to her wrist",
        "Our trainee says he's been taking more and more of his tablets to see how many it takes",
        "My colleague has been found in the toilets with a ligature round her neck, she's breathing but barely",
        "Someone has come into the shop with a knife and is demanding the till",
        "Her ex has just punched her in the car park and he's still here",
        "I'm standing on a chair with a rope round my neck",
        "He's drank a bottle of antifreeze from the garage",
        "She says she's going to starve herself to death",
        "A lad on site has fallen off the scaffold and isn't responding",
        "My boss keeps saying the world would be better without him and he knows where the cliff is",
        "He's threatening to burn the place down with himself inside",
        "Our young apprentice sent a photo of a pile of pills and the word soon",
        "She's taken her insulin pen and says she'll use the lot tonight",
        "He's in the river up to his waist and won't come out",
        "A cleaner says she keeps thinking about throwing herself down the lift shaft",
        "The chef has cut deep into his arm on purpose and it won't stop bleeding",
        "Someone's stood on the railway bridge over the A1 and looking down at the traffic",
        "He said if he gets sacked he's going to jump off the roof here",
        "I could kill myself",
        "he's got a knife for cutting himself",
        "her husband is killing her",
        "I'd kill myself if I had to do that",
        "he's dead on the floor",
    ];

    const MORE_NEAR_MISSES: &[&str] = &[
        "One of my lads is terrified of heights, can I excuse him from ladder work?",
        "How do I manage a worker who was in a car crash last year and now gets flashbacks on the motorway?",
        "Can staff bring their own knives for lunch in the canteen?",
        "Our bar staff had to deal with a customer who collapsed drunk last Saturday, do we need to report it?",
        "A worker needs to take insulin injections at set times, what breaks should we give?",
        "What's the rule on staff drinking alcohol at the Christmas party?",
        "The team is gutted after a colleague passed away suddenly at home, what support is there?",
        "My employee wants to go part time to care for her dad after his overdose two years ago",
        "We're installing a ligature-resistant door in the toilets, is that overkill?",
        "How do I deal with a worker who keeps threatening to quit?",
        "She's dying to get back to work after her operation, can she come back early?",
        "Should we have a mental health first aider on every shift?",
        "How do we support staff who witnessed someone jump from the bridge on their way in last month?",
        "Can I stop staff from smoking in their cars in the car park?",
        "One of my drivers has been knocked off his bike twice this year, can we give him a van?",
        "Is it OK to ask a worker why she's been crying in the toilets?",
        "My lads want to do a sponsored jump for the air ambulance, can we give them time off?",
        "Our roofers go up on the roof every day, what PPE do they need by law?",
        "What do I need to put in a lone working policy for night staff?",
        "A customer was rude and threatening to the cashier yesterday, do we log it?",
        "He's killing it on the sales team, can I promote him without advertising?",
        "Staff keep leaving the gas hobs on in the canteen, is there a legal duty to fit a cut-off?",
        "Can I require a worker to attend occupational health after a breakdown?",
        "The river flooded our yard, can staff stay home on full pay?",
        "My apprentice cut his finger on a blade yesterday and needed stitches, is that reportable?",
        "We found cannabis in a worker's locker, can we search lockers?",
        "A worker told me she feels low since her miscarriage, what leave is she entitled to?",
        "How can I make the trip to the coast for our team day accessible for a wheelchair user?",
        "Is there funding for a wellbeing programme for a small firm in Sunderland?",
        "One of my staff fainted after giving blood, can she go home on full pay?",
        "He keeps falling asleep at his desk, could it be a health problem?",
        "The boss said we'll all be dead in the water if we lose this contract",
        "My worker had a fit at home last week and the doctor says no driving, what now?",
        "Our van drivers carry tyre levers and crowbars, do we need a policy?",
        "How do we talk to staff about the stabbing that happened near the shop last month?",
        "A worker's son is in hospital after an overdose, can she have time off to be with him?",
        "She's gutted she can't go on the works trip to Whitby because of her anxiety",
        "Can I make my staff wear hi-vis when they're working next to the dual carriageway?",
        "The new guy keeps joking about throwing his laptop in the river",
        "Our Kev keeps going on about the car park at work being dangerous, who do I tell?",
        "Can staff take their prescribed sleeping tablets on night shift?",
        "A worker has a gun licence for clay shooting, does that matter for his job?",
        "Is there a rule about how high a window ledge has to be in an office?",
        "Our delivery driver fell off the loading bay last year, can he still claim?",
        "How do I support someone returning after their husband drowned on holiday?",
        "We want to do a sponsored walk over the Tyne Bridge for Mind, any tips?",
        "The lads were jumping the barriers at the train station, can I discipline them for that?",
        "He hung the new signs in the shop, does he need a ladder certificate?",
        "A worker's daughter died of an overdose, what compassionate leave is fair?",
        "My manager says the stocktake will finish him off",
        "What's a reasonable adjustment for someone who can't use the stairs?",
        "Staff keep cutting corners on the knife safety in the kitchen, what training is there?",
        "Can I insist staff don't drink alcohol at lunch?",
        "Do we need a policy on staff bringing razors for shaving on site?",
        "Her cancer treatment is really knocking her about, can she work shorter days?",
        "Someone's car was broken into in our car park, is that our responsibility?",
        "A customer fainted at the till yesterday but was fine after a drink of water, do I record it?",
        "The lad's mam says he's been low since the break-up, should I check in with him?",
        "How do I help a worker who is scared of the bridge on the drive in?",
        "We're putting a defibrillator outside the shop, do we need training?",
        "My worker wants to become a Samaritans volunteer, can I give her time off?",
        "What do we do about a worker who keeps sleeping in his van in the yard between shifts?",
        "Rules on storing weedkiller for the grounds team",
        "A lad cut his thumb open on a box cutter, is it RIDDOR?",
        "She's been prescribed sertraline and says it makes her drowsy, can she drive the forklift?",
        "One of my team lost her brother on the railway last year and the inquest is next month",
        "We had a gas leak in the kitchen and had to evacuate, who do I report it to?",
        "What's the law on staff who get into fights outside work?",
        "My sister works nights and is always tired, what are the rules on night shift breaks?",
        "He's not going to be around next week, he's on paternity leave, how do I cover?",
        "Our groundsman uses weedkiller, does he need special training?",
        "One of the drivers got stuck at a level crossing and was late, can I dock his pay?",
        "Can staff keep their own tablets in a bag at work?",
        "We need to tie down the loads on the flatbed, who is responsible?",
        "Is the harbour wall at Seaham safe for our team-building walk?",
        "The apprentice banged his head on a shelf and got a bump, do we log it?",
        "A worker has given his notice and is going travelling, how much holiday do I owe him?",
        "There's been a spate of car break-ins in the staff car park, what can we do?",
        "A colleague slipped on the stairs last week and bruised her hip, is it RIDDOR?",
        "Can staff warm up their cars in the garage before a shift?",
        "What height do you need edge protection from on a flat roof?",
        "A worker on morphine after an operation wants to come back, is that safe?",
        "Staff drinking too much at the Christmas do, how do we handle it next year?",
        "He said he'd kill for a day off",
        "My manager says the kids are making her ill with all the bugs, can she work from home?",
        "Sunderland station works are making staff late, can we change start times?",
        "Do we need a gun cabinet inspection for our gamekeeper?",
        "A driver fell asleep in the van on his break, is that a disciplinary issue?",
        "One of my cleaners is scared of the stairwell at night, can we add lighting?",
        "The roof of the multi storey is where staff park, is there a lone working risk?",
        "A worker burned her arm on the oven at work, do we report it?",
        "I'm stuck in traffic on the A19 every morning and it's stressing me out",
        "How do I fit an extension cable safely in the warehouse?",
        "We're sending a thank you and goodbye card for a colleague retiring, any ideas for a gift?",
        "She's on heart pills and gets dizzy, can she still work at height?",
        "Her ex keeps ringing the shop, can we block his number and support her?",
        "She went blue in the face arguing with a customer, how do I calm things down?",
        "The lad who runs our stores wants to go part time, can I say no?",
        "Can I ask staff not to bring razors to work in their bags?",
        "Our receptionist gets migraines and has to lie down, do we need a rest room?",
        "The old quarry next to our site is fenced off, do we need signs for staff?",
        "Do we need a ladder inspection log for the step ladder in the stores?",
        "A worker wants a day off for a shooting trip with his dad, is that holiday?",
        "Staff want to do a beach clean at Roker for charity, can it be work time?",
        "My foreman is retiring and giving his tools out to the lads, is that a taxable benefit?",
        "By the time you read this I'll be on holiday, who covers the rota?",
        "One of my drivers broke down on the Tyne Bridge, what's our policy on breakdowns?",
        "A broken bottle in the yard cut a worker's hand last week, do I report it?",
        "Our trainee takes tablets for ADHD, does he need to tell us?",
        "He told the lads he's got a plan for the Christmas party",
        "My colleague tripped over a cable in the toilets, who is liable?",
        "Someone was caught stealing from the till, can I sack them?",
        "Staff are arguing in the car park, how do I stop it turning nasty?",
        "I'm standing all day on a hard floor, can I ask for a chair?",
        "Do we need to lock away the antifreeze in the garage?",
        "She says she's starving because she has no time for lunch, are breaks required?",
        "A lad on site wants to do his scaffolding ticket, can we pay for it?",
        "My boss says the world has gone mad with all these new rules",
        "Fire safety: who checks the place won't burn down over the weekend?",
        "Our apprentice sent a photo of the rota and said it's unfair",
        "She uses an insulin pen and needs a private room to inject, do we have to provide one?",
        "The river is flooding the road, should staff stay home?",
        "My worker's mam rang to say he's ill and can't come in, is that acceptable notice?",
        "A cleaner is worried about the lift shaft doors, who do we call?",
        "The chef cut his arm on the slicer and needs a week off, is it SSP?",
        "Someone parked on the railway bridge road and blocked the delivery",
        "He said if he gets the promotion he'll jump for joy",
    ];

    /// Later trials, by either layer: crises (some caught by phrases) and near-misses. The three
    /// near-misses of those trials that the phrase floor fires on ("jokes that she'll jump off a
    /// bridge if the rota changes", "asking about suicidal thoughts in a return to work
    /// interview", "the chef keeps cutting himself on the mandoline") are left out: that floor is
    /// kept on purpose.
    #[test]
    fn the_real_content_holds_on_later_trials() {
        let c = real();
        let missed: Vec<&&str> = MORE_CRISES
            .iter()
            .filter(|t| c.check(t).is_none())
            .collect();
        assert!(missed.is_empty(), "missed: {missed:#?}");
        let alarms: Vec<String> = MORE_NEAR_MISSES
            .iter()
            .filter_map(|t| {
                c.check(t)
                    .map(|s| format!("{t:?}: {:?} {}", s.layer, s.matched))
            })
            .collect();
        assert!(alarms.is_empty(), "false alarms: {alarms:#?}");
    }
}
