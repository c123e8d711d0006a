//! Query-time synonym expansion from `content/synonyms.yaml`.
//!
//! Each term of each group is analysed with the index's own analyser, so "sick notes" and
//! "sick note" are one term. When a question contains a term (as consecutive tokens), every
//! other term of its group becomes an alternative for those tokens. tantivy has no synonym
//! filter, and expanding at query time means no reindex when the list changes.

use std::collections::HashSet;
use std::ops::Range;

use tantivy::tokenizer::TextAnalyzer;

use super::analyse;

/// Another way of saying part of the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// The analysed tokens of the other term; several for a phrase.
    pub tokens: Vec<String>,
    /// Which of the question's tokens it stands for.
    pub covers: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<Vec<String>>>,
}

impl Synonyms {
    pub fn new(analyser: &mut TextAnalyzer, groups: &[Vec<String>]) -> Self {
        let groups = groups
            .iter()
            .map(|g| {
                let mut terms: Vec<Vec<String>> = g
                    .iter()
                    .map(|t| {
                        analyse::tokens(analyser, t)
                            .into_iter()
                            .map(|t| t.text)
                            .collect::<Vec<_>>()
                    })
                    .filter(|t: &Vec<String>| !t.is_empty())
                    .collect();
                terms.dedup();
                terms
            })
            .filter(|g: &Vec<Vec<String>>| g.len() > 1)
            .collect();
        Synonyms { groups }
    }

    /// The alternatives for a question's tokens, without repeats and without terms the
    /// question already contains at that place.
    pub fn expand(&self, tokens: &[String]) -> Vec<Alternative> {
        let mut out = Vec::new();
        let mut seen: HashSet<(Vec<String>, usize, usize)> = HashSet::new();
        for group in &self.groups {
            for term in group {
                for start in find_all(tokens, term) {
                    let covers = start..start + term.len();
                    for other in group {
                        if other == term {
                            continue;
                        }
                        let key = (other.clone(), covers.start, covers.end);
                        if seen.insert(key) {
                            out.push(Alternative {
                                tokens: other.clone(),
                                covers: covers.clone(),
                            });
                        }
                    }
                }
            }
        }
        out
    }
}

fn find_all(haystack: &[String], needle: &[String]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return Vec::new();
    }
    (0..=haystack.len() - needle.len())
        .filter(|&i| haystack[i..i + needle.len()] == *needle)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(groups: &[&[&str]]) -> (Synonyms, TextAnalyzer) {
        let mut a = analyse::analyser();
        let g: Vec<Vec<String>> = groups
            .iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect();
        (Synonyms::new(&mut a, &g), a)
    }

    fn toks(a: &mut TextAnalyzer, s: &str) -> Vec<String> {
        analyse::tokens(a, s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn phrases_expand_both_ways() {
        let (s, mut a) = syn(&[&["fit note", "sick note", "doctor's note"]]);
        let q = toks(&mut a, "does she need a sick note");
        let alts = s.expand(&q);
        let words: Vec<String> = alts.iter().map(|x| x.tokens.join(" ")).collect();
        assert!(words.contains(&"fit note".to_string()), "{words:?}");
        assert!(words.contains(&"doctor note".to_string()), "{words:?}");
        let q = toks(&mut a, "what does the fit note say");
        assert!(
            s.expand(&q)
                .iter()
                .any(|x| x.tokens.join(" ") == "sick note")
        );
    }

    #[test]
    fn plurals_meet_through_stemming() {
        let (s, mut a) = syn(&[&["reasonable adjustments", "accommodations"]]);
        let q = toks(&mut a, "what accommodation do I have to make");
        assert_eq!(
            s.expand(&q)[0].tokens,
            toks(&mut a, "reasonable adjustment")
        );
    }

    #[test]
    fn no_match_no_expansion() {
        let (s, mut a) = syn(&[&["ssp", "statutory sick pay"]]);
        assert!(s.expand(&toks(&mut a, "first aid kit")).is_empty());
    }
}
