//! Turning a question into a tantivy query, and running it.
//!
//! User text never reaches tantivy's query grammar. It is normalised and analysed into
//! tokens; each token becomes a best-of-fields clause (title and questions weigh most);
//! synonyms add alternative terms and phrases at a lower weight; a token of five or more
//! letters that the corpus does not contain is corrected to the nearest corpus terms (edit
//! distance 1, or 2 for long words) and searched at a low weight. The clauses are OR-ed, so
//! a question full of filler still finds its answer, and BM25 ranks the rest.

use std::collections::{HashMap, HashSet};

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{TantivyDocument, Term};

use super::analyse::{self, analyser};
use super::build::{IndexError, SearchIndex, markdown_text};
use super::synonyms::Synonyms;
use crate::content::{Content, Kind};

/// How much a synonym's match counts against the word itself.
pub const SYNONYM_WEIGHT: f32 = 0.5;
/// How much a spelling correction's match counts.
pub const CORRECTION_WEIGHT: f32 = 0.5;
/// Tie-breaker in the best-of-fields clause: a little credit for matching more fields.
pub const TIE_BREAKER: f32 = 0.2;
/// Tie-breaker between a token and its synonyms: a little credit for matching several.
pub const SYNONYM_TIE: f32 = 0.1;

/// One ranked result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub kind: Kind,
    /// The score the ranking uses: BM25 from the engine; the fused score after the assistant.
    pub score: f32,
    /// Share of the question's weight (by rarity) that this item's text contains, 0 to 1.
    pub coverage: f32,
    /// The BM25 score (0 when the lexical search did not find the item).
    pub lexical: f32,
    /// Semantic signals (0 without the model).
    pub sem_best: f32,
    pub sem_whole: f32,
    /// The content-trained classifier's output for this item (see `search::classify`).
    pub sem_class: f32,
}

/// What a search found, and what it made of the question.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The question's analysed tokens, without repeats.
    pub tokens: Vec<String>,
    /// Tokens the corpus does not contain at all, even after spelling correction.
    pub unknown: Vec<String>,
    pub hits: Vec<Hit>,
}

/// The search engine over one version of the content.
pub struct Engine {
    index: SearchIndex,
    synonyms: Synonyms,
    /// Analysed terms of each item, by id, for coverage.
    terms: HashMap<String, HashSet<String>>,
    /// How many items contain each term.
    doc_freq: HashMap<String, u32>,
    /// Every term, grouped by length, for spelling correction.
    vocabulary: HashMap<usize, Vec<String>>,
    items: usize,
    kinds: HashMap<String, Kind>,
    /// Item id of every document, by segment and doc id: no stored-document reads per query.
    doc_ids: Vec<Vec<Option<String>>>,
    analyser: TextAnalyzer,
}

impl Engine {
    pub fn new(content: &Content, index: SearchIndex) -> Engine {
        let mut a = analyser();
        let synonyms = Synonyms::new(&mut a, &content.synonyms);
        let mut terms: HashMap<String, HashSet<String>> = HashMap::new();
        let mut kinds = HashMap::new();
        let mut add = |a: &mut TextAnalyzer, id: &str, texts: Vec<&str>| {
            let set = terms.entry(id.to_string()).or_default();
            for t in texts {
                set.extend(analyse::tokens(a, t).into_iter().map(|t| t.text));
            }
        };
        for e in &content.entries {
            let body = markdown_text(&e.answer);
            let mut texts = vec![e.title.as_str(), e.summary.as_str(), body.as_str()];
            texts.extend(e.questions.iter().map(String::as_str));
            add(&mut a, &e.id, texts);
            kinds.insert(e.id.clone(), Kind::Guidance);
        }
        for p in &content.programmes {
            let mut texts = vec![
                p.name.as_str(),
                p.summary.as_str(),
                p.provider.as_str(),
                p.how_to_join.as_str(),
            ];
            texts.extend(p.questions.iter().map(String::as_str));
            add(&mut a, &p.id, texts);
            kinds.insert(p.id.clone(), Kind::Programme);
        }
        let mut doc_freq: HashMap<String, u32> = HashMap::new();
        for set in terms.values() {
            for t in set {
                *doc_freq.entry(t.clone()).or_default() += 1;
            }
        }
        let mut vocabulary: HashMap<usize, Vec<String>> = HashMap::new();
        for t in doc_freq.keys() {
            vocabulary
                .entry(t.chars().count())
                .or_default()
                .push(t.clone());
        }
        for v in vocabulary.values_mut() {
            v.sort();
        }
        let items = terms.len();
        let doc_ids = document_ids(&index);
        Engine {
            index,
            synonyms,
            terms,
            doc_freq,
            vocabulary,
            items,
            kinds,
            doc_ids,
            analyser: a,
        }
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Rarity weight of a term (BM25's idf); unknown terms weigh most.
    pub fn idf(&self, term: &str) -> f32 {
        let n = self.items as f32;
        let df = self.doc_freq.get(term).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Corpus terms within edit distance of an unknown token (1, or 2 from eight letters).
    fn corrections(&self, token: &str) -> Vec<String> {
        let len = token.chars().count();
        if len < 5 || self.doc_freq.contains_key(token) || token.chars().any(|c| c.is_ascii_digit())
        {
            return Vec::new();
        }
        let max = if len >= 8 { 2 } else { 1 };
        let mut best: Vec<(usize, &String)> = Vec::new();
        for l in len.saturating_sub(max)..=len + max {
            for cand in self.vocabulary.get(&l).into_iter().flatten() {
                // Most typos keep the first or the second letter: a cheap filter before the
                // edit distance, which allocates.
                let (mut a, mut b) = (token.chars(), cand.chars());
                let (a0, b0, a1, b1) = (a.next(), b.next(), a.next(), b.next());
                if a0 != b0 && a1 != b1 {
                    continue;
                }
                let d = strsim::damerau_levenshtein(token, cand);
                if d <= max {
                    best.push((d, cand));
                }
            }
        }
        best.sort();
        let Some(&(d0, _)) = best.first() else {
            return Vec::new();
        };
        best.into_iter()
            .filter(|(d, _)| *d == d0)
            .take(3)
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Runs one question; returns at most `limit` hits, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Found, IndexError> {
        let mut a = self.analyser.clone();
        let mut tokens: Vec<String> = Vec::new();
        for t in analyse::tokens(&mut a, text) {
            tokens.push(t.text);
        }
        let sequence = tokens.clone();
        let mut seen = HashSet::new();
        tokens.retain(|t| seen.insert(t.clone()));
        let mut found = Found {
            tokens: tokens.clone(),
            ..Default::default()
        };
        if tokens.is_empty() || limit == 0 {
            return Ok(found);
        }
        let f = self.index.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // What each question token may be matched by, for coverage: itself, synonyms, corrections.
        let mut stands_for: Vec<(usize, Vec<String>)> = Vec::new();

        let term_clause = |token: &str, weight: f32| -> Box<dyn Query> {
            let alts: Vec<Box<dyn Query>> = f
                .weighted()
                .iter()
                .map(|&(field, boost)| {
                    let q = TermQuery::new(
                        Term::from_field_text(field, token),
                        IndexRecordOption::WithFreqs,
                    );
                    Box::new(BoostQuery::new(Box::new(q), boost * weight)) as Box<dyn Query>
                })
                .collect();
            Box::new(DisjunctionMaxQuery::with_tie_breaker(alts, TIE_BREAKER))
        };
        // Synonym phrases are looked for in the short fields only: a phrase over the long
        // answer bodies costs far more than it adds.
        let phrase_clause = |words: &[String], weight: f32| -> Box<dyn Query> {
            let alts: Vec<Box<dyn Query>> = f
                .weighted()
                .iter()
                .filter(|&&(field, _)| field != f.body)
                .map(|&(field, boost)| {
                    let terms: Vec<Term> = words
                        .iter()
                        .map(|w| Term::from_field_text(field, w))
                        .collect();
                    let mut q = PhraseQuery::new(terms);
                    q.set_slop(1);
                    Box::new(BoostQuery::new(Box::new(q), boost * weight)) as Box<dyn Query>
                })
                .collect();
            Box::new(DisjunctionMaxQuery::with_tie_breaker(alts, TIE_BREAKER))
        };

        // Each question token is one clause: the best of the token itself, its spelling
        // corrections and every synonym that stands for it. Taking the best (not the sum)
        // keeps a word with many synonyms from outweighing the rest of the question.
        let mut per_token: Vec<Vec<Box<dyn Query>>> =
            (0..tokens.len()).map(|_| Vec::new()).collect();
        for (i, t) in tokens.iter().enumerate() {
            if self.doc_freq.contains_key(t) {
                per_token[i].push(term_clause(t, 1.0));
            } else {
                let fixes = self.corrections(t);
                if fixes.is_empty() {
                    found.unknown.push(t.clone());
                }
                for fix in &fixes {
                    per_token[i].push(term_clause(fix, CORRECTION_WEIGHT));
                    stands_for.push((i, vec![fix.clone()]));
                }
            }
        }
        for alt in self.synonyms.expand(&sequence) {
            if alt.tokens.iter().any(|t| !self.doc_freq.contains_key(t)) {
                continue;
            }
            for covered in &sequence[alt.covers.clone()] {
                if let Some(i) = tokens.iter().position(|t| t == covered) {
                    // A word repeated in the question still gets each synonym once.
                    if stands_for.iter().any(|(j, a)| *j == i && *a == alt.tokens) {
                        continue;
                    }
                    let q = if alt.tokens.len() == 1 {
                        term_clause(&alt.tokens[0], SYNONYM_WEIGHT)
                    } else {
                        phrase_clause(&alt.tokens, SYNONYM_WEIGHT)
                    };
                    per_token[i].push(q);
                    stands_for.push((i, alt.tokens.clone()));
                }
            }
        }
        for alts in per_token {
            match alts.len() {
                0 => {}
                1 => clauses.push((Occur::Should, alts.into_iter().next().unwrap())),
                _ => clauses.push((
                    Occur::Should,
                    Box::new(DisjunctionMaxQuery::with_tie_breaker(alts, SYNONYM_TIE)),
                )),
            }
        }
        if clauses.is_empty() {
            return Ok(found);
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.index.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;

        let weights: Vec<f32> = tokens.iter().map(|t| self.idf(t)).collect();
        let total: f32 = weights.iter().sum();
        for (score, addr) in top {
            let id = match self
                .doc_ids
                .get(addr.segment_ord as usize)
                .and_then(|s| s.get(addr.doc_id as usize))
            {
                Some(Some(id)) => id.clone(),
                _ => {
                    let doc: TantivyDocument = searcher.doc(addr)?;
                    let Some(id) = self.index.stored_id(&doc) else {
                        continue;
                    };
                    id
                }
            };
            let Some(&kind) = self.kinds.get(&id) else {
                continue;
            };
            let terms = &self.terms[&id];
            let mut matched = 0.0;
            for (i, t) in tokens.iter().enumerate() {
                let direct = terms.contains(t);
                let other = stands_for
                    .iter()
                    .any(|(j, alt)| *j == i && alt.iter().all(|w| terms.contains(w)));
                if direct || other {
                    matched += weights[i];
                }
            }
            let coverage = if total > 0.0 { matched / total } else { 0.0 };
            found.hits.push(Hit {
                id,
                kind,
                score,
                coverage,
                lexical: score,
                sem_best: 0.0,
                sem_whole: 0.0,
                sem_class: 0.0,
            });
        }
        Ok(found)
    }
}

/// Reads every document's id once, so queries map hits to ids without touching the store.
fn document_ids(index: &SearchIndex) -> Vec<Vec<Option<String>>> {
    let searcher = index.reader.searcher();
    searcher
        .segment_readers()
        .iter()
        .enumerate()
        .map(|(ord, seg)| {
            (0..seg.max_doc())
                .map(|doc| {
                    let addr = tantivy::DocAddress::new(ord as u32, doc);
                    searcher
                        .doc::<TantivyDocument>(addr)
                        .ok()
                        .and_then(|d| index.stored_id(&d))
                })
                .collect()
        })
        .collect()
}
