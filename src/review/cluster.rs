//! Clustering questions by shared weighted terms, with no UI: the review app's groups page
//! ([`super::groups`]) shows what this finds, so a reviewer sees that twelve people asked
//! about the same missing thing.
//!
//! Each question becomes its set of content terms, through the search analyser (normalised,
//! stop words removed, stemmed), without redaction placeholders such as `[email]`. Terms are
//! weighed by their rarity among the questions being grouped, `idf(t) = ln(1 + N / df(t))`, so a
//! word most questions share ("staff", "pay") counts for little and a rare one ("jury") for a
//! lot. Two questions are linked when their weighted Jaccard similarity
//!
//! ```text
//!   sim(A, B) = Σ idf(t) for t in A ∩ B  /  Σ idf(t) for t in A ∪ B
//! ```
//!
//! is at least [`THRESHOLD`]; groups are the connected components of those links (union-find),
//! so paraphrases chain together. Only pairs that share a term are ever compared (an inverted
//! index), which keeps 2,000 questions well under a second.
//!
//! Why 0.3: in the unit tests' set (25 questions: jury service asked four ways, office
//! temperature twice, and questions sharing their common words), the links between paraphrases
//! score 0.35–0.58 and no unrelated pair scores above 0.22, even short ones sharing two common
//! words ("pay staff who work nights" / "ask staff to work on sunday": 0.21).
//! 0.3 leaves a margin on both sides and errs towards precision, because one false link merges
//! two whole groups (components chain). The cost: a paraphrase sharing a single rare word
//! ("jury duty" beside "jury service", 0.21–0.24) stays out. In a real period of hundreds of
//! questions, common words weigh less still and the gap widens. Single-word synonyms from
//! `synonyms.yaml` ("sack" = "dismiss") count as one term.
//!

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::search::analyse::{analyser, normalise, tokens};

/// Weighted Jaccard similarity at or above which two questions are linked.
pub const THRESHOLD: f64 = 0.3;
/// Most questions grouped at once (the newest).
pub const MAX_QUESTIONS: usize = 2_000;
/// The default period, in days.
pub const DEFAULT_DAYS: i64 = 90;

/// Redaction placeholders (`[email]`, `[ni number]`, ...): they say nothing about the topic.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[[a-z ]{2,20}\]").expect("placeholder pattern"));

/// Words that frame a question rather than say what it is about. The search keeps some of
/// them (negations matter to an answer); for grouping they are noise.
const FRAMING: &[&str] = &[
    "not", "no", "while", "need", "needs", "up", "ok", "okay", "hi", "hello", "help", "question",
    "advice", "way", "still", "now", "even", "else", "able", "allowed", "supposed", "happen",
    "happens", "best",
];

/// Maps a stem to the stem of the first one-word term of its synonym group, so "sack" and
/// "dismiss" are one term. Built from the content's `synonyms.yaml` groups.
#[derive(Debug, Default)]
pub struct Canon(HashMap<String, String>);

impl Canon {
    pub fn new(groups: &[Vec<String>]) -> Canon {
        let mut an = analyser();
        let mut map = HashMap::new();
        for g in groups {
            let stems: Vec<String> = g
                .iter()
                .map(|term| tokens(&mut an, term))
                .filter(|t| t.len() == 1)
                .map(|t| t[0].text.clone())
                .collect();
            let Some(first) = stems.first() else {
                continue;
            };
            for s in &stems {
                map.entry(s.clone()).or_insert_with(|| first.clone());
            }
        }
        Canon(map)
    }

    fn get(&self, stem: String) -> String {
        match self.0.get(&stem) {
            Some(c) => c.clone(),
            None => stem,
        }
    }
}

/// A question's content terms, each with the surface word it came from.
fn terms(
    an: &mut tantivy::tokenizer::TextAnalyzer,
    canon: &Canon,
    text: &str,
) -> Vec<(String, String)> {
    let text = PLACEHOLDER.replace_all(text, " ");
    let mut out: Vec<(String, String)> = Vec::new();
    for word in normalise(&text).split_whitespace() {
        if FRAMING.contains(&word) {
            continue;
        }
        for t in tokens(an, word) {
            let term = canon.get(t.text);
            if term.chars().count() < 2 || out.iter().any(|(s, _)| *s == term) {
                continue;
            }
            out.push((term, word.to_string()));
        }
    }
    out
}

/// One group: indices into the input (in input order) and its label words.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub members: Vec<usize>,
    pub label: Vec<String>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index stays the root, so a group's root is its newest member.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// The pairwise similarity of every pair sharing a term (i < j), for tests and tuning.
fn similarities(sets: &[Vec<usize>], weights: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut postings: HashMap<usize, Vec<usize>> = HashMap::new();
    let totals: Vec<f64> = sets
        .iter()
        .map(|s| s.iter().map(|&t| weights[t]).sum())
        .collect();
    let mut out = Vec::new();
    for (j, set) in sets.iter().enumerate() {
        let mut shared: HashMap<usize, f64> = HashMap::new();
        for &t in set {
            let list = postings.entry(t).or_default();
            for &i in list.iter() {
                *shared.entry(i).or_default() += weights[t];
            }
            list.push(j);
        }
        for (i, inter) in shared {
            let union = totals[i] + totals[j] - inter;
            if union > 0.0 {
                out.push((i, j, inter / union));
            }
        }
    }
    out
}

/// Groups texts (newest first) by shared terms; only groups of two or more, biggest first.
pub fn cluster(texts: &[&str], canon: &Canon, threshold: f64) -> Vec<Group> {
    let mut an = analyser();
    let mut vocab: HashMap<String, usize> = HashMap::new();
    let mut surfaces: Vec<HashMap<String, usize>> = Vec::new();
    let mut sets: Vec<Vec<usize>> = Vec::with_capacity(texts.len());
    for text in texts {
        let mut set = Vec::new();
        for (stem, word) in terms(&mut an, canon, text) {
            let next = vocab.len();
            let id = *vocab.entry(stem).or_insert(next);
            if id == surfaces.len() {
                surfaces.push(HashMap::new());
            }
            *surfaces[id].entry(word).or_default() += 1;
            set.push(id);
        }
        sets.push(set);
    }
    let n = sets.iter().filter(|s| !s.is_empty()).count().max(1) as f64;
    let mut df = vec![0usize; vocab.len()];
    for set in &sets {
        for &t in set {
            df[t] += 1;
        }
    }
    let weights: Vec<f64> = df
        .iter()
        .map(|&d| (1.0 + n / d.max(1) as f64).ln())
        .collect();
    let mut uf = UnionFind((0..texts.len()).collect());
    for (i, j, sim) in similarities(&sets, &weights) {
        if sim >= threshold {
            uf.union(i, j);
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..texts.len() {
        let r = uf.find(i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Group> = by_root
        .into_values()
        .filter(|m| m.len() >= 2)
        .map(|members| {
            let mut count: HashMap<usize, usize> = HashMap::new();
            for &m in &members {
                for &t in &sets[m] {
                    *count.entry(t).or_default() += 1;
                }
            }
            let mut shared: Vec<(usize, usize)> =
                count.into_iter().filter(|&(_, c)| c >= 2).collect();
            shared.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then(weights[b.0].total_cmp(&weights[a.0]))
                    .then(a.0.cmp(&b.0))
            });
            let label = shared
                .iter()
                .take(4)
                .map(|&(t, _)| {
                    surfaces[t]
                        .iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(w, _)| w.clone())
                        .unwrap_or_default()
                })
                .collect();
            Group { members, label }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].cmp(&b.members[0]))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups_of(texts: &[&str]) -> Vec<Vec<usize>> {
        cluster(texts, &Canon::default(), THRESHOLD)
            .into_iter()
            .map(|g| g.members)
            .collect()
    }

    /// Every pair's similarity (pairs sharing no term are 0 and left out), as `cluster` sees
    /// them.
    fn all_similarities(texts: &[&str]) -> Vec<(usize, usize, f64)> {
        let mut an = analyser();
        let mut vocab: HashMap<String, usize> = HashMap::new();
        let sets: Vec<Vec<usize>> = texts
            .iter()
            .map(|t| {
                terms(&mut an, &Canon::default(), t)
                    .into_iter()
                    .map(|(s, _)| {
                        let n = vocab.len();
                        *vocab.entry(s).or_insert(n)
                    })
                    .collect()
            })
            .collect();
        let mut df = vec![0usize; vocab.len()];
        for s in &sets {
            for &t in s {
                df[t] += 1;
            }
        }
        let n = texts.len() as f64;
        let w: Vec<f64> = df.iter().map(|&d| (1.0 + n / d as f64).ln()).collect();
        similarities(&sets, &w)
    }

    const JURY: [usize; 4] = [0, 2, 4, 6];
    const HEAT: [usize; 2] = [3, 7];

    /// Four ways of asking about jury service (not in the guidance), two about office
    /// temperature, and background questions that share common words with them ("pay",
    /// "staff", "employee", "work", "holiday") but not their subject.
    const MIXED: &[&str] = &[
        "Do I have to pay an employee while they are on jury service?",
        "how much holiday does a part-time worker get",
        "Jury service - do I need to pay staff for the days they are away?",
        "Is there a maximum temperature for working in an office?",
        "paying staff who get called up for jury duty",
        "Can an employee carry over holiday they could not take while off sick?",
        "email me at [email] about pay for jury service",
        "office too hot in summer, what temperature is too hot to work?",
        "what should I pay someone on maternity leave",
        "Do I need a first aider?",
        "how do I pay staff who work nights",
        "an employee wants to work from home, do I have to agree",
        "can I pay staff less during a probation period",
        "my staff want to start a union",
        "what is the minimum wage for an apprentice",
        "do employees get paid bank holidays",
        "how many toilets does a small workplace need",
        "an employee keeps coming in late, what can I do",
        "can I ask staff to work on sunday",
        "do I need employers liability insurance",
        "is it legal to monitor staff emails",
        "how do I give an employee a written warning",
        "pay slips: what do they have to show",
        "staff christmas party rules",
        "can an employee refuse to work overtime",
    ];

    #[test]
    fn questions_about_the_same_missing_thing_group_together() {
        let g = groups_of(MIXED);
        assert_eq!(g.len(), 2, "{g:?}");
        assert_eq!(g[0], vec![0, 2, 6], "jury service, biggest first: {g:?}");
        assert_eq!(g[1], HEAT.to_vec(), "office temperature: {g:?}");
        let groups = cluster(MIXED, &Canon::default(), THRESHOLD);
        let label = &groups[0].label;
        assert!(
            label[..2].contains(&"jury".to_string()) && label[..2].contains(&"service".to_string()),
            "{label:?}"
        );
        assert!(groups[1].label.contains(&"temperature".to_string()));
    }

    /// The threshold sits in the gap between paraphrases and unrelated questions, with a
    /// margin on each side: the links that make the groups score at least 0.04 above it, and
    /// no unrelated pair (sharing "pay", "staff", "employee" or "work") comes within 0.1 below.
    #[test]
    fn the_threshold_separates_paraphrases_from_shared_common_words() {
        let sims = all_similarities(MIXED);
        let sim = |a: usize, b: usize| {
            sims.iter()
                .find(|&&(i, j, _)| (i, j) == (a, b))
                .map_or(0.0, |s| s.2)
        };
        for (a, b) in [(0, 2), (0, 6), (2, 6), (3, 7)] {
            assert!(sim(a, b) >= THRESHOLD + 0.04, "{a}-{b}: {}", sim(a, b));
        }
        let same = |i: usize, j: usize| {
            (JURY.contains(&i) && JURY.contains(&j)) || (HEAT.contains(&i) && HEAT.contains(&j))
        };
        let worst = sims
            .iter()
            .filter(|&&(i, j, _)| !same(i, j))
            .map(|s| s.2)
            .fold(0.0, f64::max);
        assert!(
            worst < THRESHOLD - 0.075,
            "an unrelated pair scores {worst}"
        );
        assert!(worst > 0.1, "the test set does share common words");
    }

    #[test]
    fn unrelated_questions_stay_alone() {
        let g = groups_of(MIXED);
        for lone in (0..MIXED.len()).filter(|i| !JURY.contains(i) && !HEAT.contains(i)) {
            assert!(
                !g.iter().any(|g| g.contains(&lone)),
                "{lone} grouped: {g:?}"
            );
        }
    }

    #[test]
    fn synonyms_make_one_term() {
        let groups = vec![vec![
            "dismiss".to_string(),
            "sack".into(),
            "get rid of".into(),
        ]];
        let texts = ["can I sack a cleaner for stealing", "dismiss cleaner theft"];
        assert!(groups_of(&texts).is_empty(), "without synonyms");
        let g = cluster(&texts, &Canon::new(&groups), THRESHOLD);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].members, vec![0, 1]);
    }

    #[test]
    fn placeholders_and_framing_words_are_not_terms() {
        let t: Vec<String> = terms(
            &mut analyser(),
            &Canon::default(),
            "email [email] or ring [phone] about the [ni number], need help",
        )
        .into_iter()
        .map(|(s, _)| s)
        .collect();
        assert_eq!(t, vec!["email", "ring"]);
        assert!(groups_of(&["[email] [phone]", "[email] [phone]"]).is_empty());
        assert!(groups_of(&[]).is_empty());
    }

    #[test]
    fn identical_questions_group() {
        let g = groups_of(&["riddor reporting?", "stress at work", "RIDDOR reporting"]);
        assert_eq!(g, vec![vec![0, 2]]);
    }
}
