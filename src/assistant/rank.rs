//! Ranking a question: the lexical hits and the semantic scores (best variant, whole item,
//! classifier) fused per item, the two-worries check, and the asker's region lifting its
//! programmes and hiding other regions'. Also the crisis check's meaning layer, which reads
//! the same vectors.

use crate::content::Kind;
use crate::embed::Vector;
use crate::search::Hit;

use super::decide::Span;
use super::{Assistant, Context, CrisisLayer, CrisisSignal, message, region};

/// How far a programme for the asker's own region is lifted above national ones.
pub const REGION_BOOST: f32 = 1.15;
/// And further when the question asks for something local ("round here").
pub const LOCAL_BOOST: f32 = 1.6;
/// Lexical hits fetched per question before fusion.
const LEXICAL_DEPTH: usize = 30;

/// A message's vectors (its core, then each of its sentences; none without the model) and each
/// one's cosines with every item text, computed once for the crisis check and the ranking.
pub struct Embedded {
    pub vectors: Vec<Vector>,
    pub cosines: Vec<Vec<f32>>,
}

/// A question ranked: the hits best first, and what else the decision needs.
pub struct Ranking {
    pub hits: Vec<Hit>,
    /// The best item of each sentence that is about something of its own (two worries).
    pub worries: Vec<String>,
    /// How near the message is to the out-of-scope examples
    /// ([`crate::search::semantic::Semantic::off_topic`]); `None` without the model or them.
    pub off_topic: Option<f32>,
    /// How many words the message asks with, its wrapping taken off.
    pub words: usize,
}
impl Assistant {
    /// Every ranked hit with its signals (fused score, BM25, coverage, cosines) and the
    /// message's nearness to the out-of-scope examples, for calibration.
    pub fn signals(&self, cx: &Context, question: &str) -> Ranking {
        self.rank(question, self.region_for(cx, question).as_deref())
    }

    /// The region a question is about: a place it names, else the asker's (known) region.
    pub(super) fn region_for(&self, cx: &Context, question: &str) -> Option<String> {
        let named = self.regions.find(question).map(str::to_string);
        named
            .or_else(|| cx.region.clone())
            .filter(|r| self.content.region(r).is_some())
    }

    /// Ranks the items for a question: lexical and semantic scores fused per item, then the
    /// region's programmes lifted and other regions' hidden.
    pub fn rank(&self, question: &str, region: Option<&str>) -> Ranking {
        let message = message::read(question);
        let embedded = self.embed_message(&message);
        self.rank_message(message, embedded, region)
    }

    /// The message's vectors: its core, then each of its sentences, with their cosines with
    /// every item text (empty without the model).
    pub(super) fn embed_message(&self, message: &message::Message) -> Embedded {
        let Some(sem) = &self.semantic else {
            return Embedded {
                vectors: Vec::new(),
                cosines: Vec::new(),
            };
        };
        let mut texts: Vec<&str> = vec![message.core.as_str()];
        texts.extend(message.sentences.iter().map(String::as_str));
        let vectors = sem.embedder().embed_many(&texts);
        let cosines = vectors.iter().map(|v| sem.text_cosines(v)).collect();
        Embedded { vectors, cosines }
    }

    /// The meaning layer of the crisis check: the message (whole and sentence by sentence)
    /// against the crisis examples and the calm contrasts. Returns the signal, if it fires,
    /// and the closest example's similarity (for reviewers: near-misses).
    pub fn crisis_meaning(
        &self,
        embedded: &Embedded,
        words: usize,
        skip_self: bool,
    ) -> (Option<CrisisSignal>, Option<f32>) {
        let Some(sem) = &self.semantic else {
            return (None, None);
        };
        let t = &self.crisis_thresholds;
        let mut closest: Option<f32> = None;
        let mut fired = None;
        let split = embedded.vectors.len() > 1;
        let pairs = embedded.vectors.iter().zip(&embedded.cosines);
        for (i, (v, cos)) in pairs.enumerate() {
            let Some(sim) = sem.crisis_similarity(v, cos, skip_self) else {
                continue;
            };
            closest = Some(closest.map_or(sim.crisis, |c: f32| c.max(sim.crisis)));
            let span = if i == 0 {
                Span::Whole { words, split }
            } else {
                Span::Sentence
            };
            if fired.is_none() && t.fires(&sim, span) {
                fired = Some(CrisisSignal {
                    layer: CrisisLayer::Meaning,
                    matched: sem.crisis_example(sim.example).to_string(),
                });
            }
        }
        (fired, closest)
    }

    /// The crisis check's signals for a text, for calibration: whether the phrase or structure
    /// layer fires, and for the whole message and then each of its sentences, the closest
    /// crisis example's and calm text's similarity and the crisis classifier's output
    /// (`skip_self` leaves an exact match out).
    pub fn crisis_signals(
        &self,
        text: &str,
        skip_self: bool,
    ) -> (Option<CrisisLayer>, Vec<(f32, f32, f32)>) {
        let rule = self.crisis.check(text).map(|s| s.layer);
        let e = self.embed_message(&message::read(text));
        let sims = match &self.semantic {
            Some(sem) => e
                .vectors
                .iter()
                .zip(&e.cosines)
                .filter_map(|(v, cos)| sem.crisis_similarity(v, cos, skip_self))
                .map(|s| (s.crisis, s.calm, s.class))
                .collect(),
            None => Vec::new(),
        };
        (rule, sims)
    }

    pub(super) fn rank_message(
        &self,
        message: message::Message,
        embedded: Embedded,
        region: Option<&str>,
    ) -> Ranking {
        let Embedded { vectors, cosines } = embedded;
        let words = message.words();
        let found = match self.engine.search(&message.core, LEXICAL_DEPTH) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "search failed");
                Default::default()
            }
        };
        let mut hits = found.hits;
        let mut worries = Vec::new();
        let off_topic = match (&self.semantic, vectors.first()) {
            (Some(sem), Some(v)) => sem.off_topic(v),
            _ => None,
        };
        if let Some(sem) = &self.semantic {
            let per_query = sem.score_each(&vectors, &cosines);
            let w = &self.weights;
            let mut by_id: std::collections::HashMap<String, usize> = hits
                .iter()
                .enumerate()
                .map(|(i, h)| (h.id.clone(), i))
                .collect();
            let mut extra = Vec::new();
            for (i, (id, kind)) in sem.items.iter().enumerate() {
                let best = per_query.iter().map(|q| q[i].best).fold(-1.0f32, f32::max);
                let whole = per_query.iter().map(|q| q[i].whole).fold(-1.0f32, f32::max);
                let class = per_query
                    .iter()
                    .map(|q| q[i].class)
                    .fold(f32::NEG_INFINITY, f32::max);
                match by_id.remove(id) {
                    Some(j) => {
                        hits[j].sem_best = best;
                        hits[j].sem_whole = whole;
                        hits[j].sem_class = class;
                    }
                    None => extra.push(Hit {
                        id: id.clone(),
                        kind: *kind,
                        score: 0.0,
                        coverage: 0.0,
                        lexical: 0.0,
                        sem_best: best,
                        sem_whole: whole,
                        sem_class: class,
                    }),
                }
            }
            hits.extend(extra);
            for h in &mut hits {
                h.score = w.fuse(h, words);
            }
            // Two worries: sentences whose own best item is clearly in scope.
            if per_query.len() > 2 {
                for q in &per_query[1..] {
                    if let Some((i, s)) = q
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (i, s.best))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        && s >= w.worry
                    {
                        let id = &sem.items[i].0;
                        if !worries.contains(id) {
                            worries.push(id.clone());
                        }
                    }
                }
            }
        }
        let hits = self.regional(hits, &message.core, region);
        Ranking {
            hits,
            worries,
            off_topic,
            words,
        }
    }

    fn regional(&self, hits: Vec<Hit>, question: &str, region: Option<&str>) -> Vec<Hit> {
        let local = region::wants_local(question);
        let mut hits: Vec<Hit> = hits
            .into_iter()
            .filter_map(|mut h| {
                if h.kind == Kind::Programme {
                    let p = self.content.programme(&h.id)?;
                    if region.is_some() && !p.serves(region) {
                        return None; // another region's programme
                    }
                    if let Some(r) = region
                        && !p.is_national()
                        && p.regions.iter().any(|x| x == r)
                    {
                        h.score *= if local { LOCAL_BOOST } else { REGION_BOOST };
                    }
                }
                Some(h)
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits
    }
}
