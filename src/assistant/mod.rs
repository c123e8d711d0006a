//! The assistant: one question in, one channel-neutral [`Reply`] out.
//!
//! The crisis check runs first, before any search. Small talk ("hello", "thanks", "?", emoji)
//! the crisis check let through gets a friendly word ([`smalltalk`]). Then the engine ranks guidance and
//! programmes, the asker's region filters and orders the programmes, and `decide` picks the
//! outcome. No I/O of its own: the content and index are handed in.

pub mod crisis;
pub mod decide;
pub mod menu;
pub mod message;
pub mod region;
pub mod reply;
pub mod smalltalk;

use std::sync::Arc;

use crate::content::{Content, Kind, Programme};
use crate::embed::Vector;
use crate::search::semantic::Semantic;
use crate::search::{Engine, Hit, IndexError, SearchIndex};
pub use crisis::{CrisisLayer, CrisisSignal};
pub use decide::{CrisisThresholds, Thresholds, Weights};
pub use menu::Menu;
pub use reply::*;

/// How far a programme for the asker's own region is lifted above national ones.
pub const REGION_BOOST: f32 = 1.15;
/// And further when the question asks for something local ("round here").
pub const LOCAL_BOOST: f32 = 1.6;
/// Results a reply carries.
pub const MAX_RESULTS: usize = 5;
/// Related entries offered under an answer.
pub const MAX_RELATED: usize = 3;
/// A runner-up scoring at least this share of the answer's score is offered first under it
/// ("Or did you mean…"); at [`Thresholds::clarify_ratio`] and above the reply is a clarify.
pub const RUNNER_UP_RATIO: f32 = 0.80;
/// How many runners-up below the answer are looked at.
const RUNNER_UP_DEPTH: usize = 2;
/// A message of at most this many words may be a follow-up of the previous question.
pub const FOLLOW_UP_WORDS: usize = 8;
/// How far the previous entry's neighbourhood is lifted when a follow-up is ranked.
pub const FOLLOW_UP_BOOST: f32 = 1.1;
/// How long after a question a short message may follow up on it.
pub const FOLLOW_UP_WINDOW: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Lexical hits fetched per question before fusion.
const LEXICAL_DEPTH: usize = 30;
/// Ranked hits kept after fusion.
const RANKED_DEPTH: usize = 15;

/// Who is asking: what a channel knows about the asker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The asker's chosen region id, if any.
    pub region: Option<String>,
}

impl Context {
    pub fn in_region(region: Option<&str>) -> Context {
        Context {
            region: region.map(str::to_string),
        }
    }
}

pub struct Assistant {
    content: Arc<Content>,
    engine: Engine,
    crisis: crisis::CrisisMatcher,
    regions: region::RegionMatcher,
    /// The embedded content; `None` when the model could not be had (lexical answers only).
    semantic: Option<Semantic>,
    pub thresholds: Thresholds,
    pub weights: Weights,
    pub crisis_thresholds: CrisisThresholds,
}

/// What a chat asked last, kept by the channel (in memory only, for [`FOLLOW_UP_WINDOW`]) so
/// that a follow-up can be answered in its light ([`Assistant::reply_after`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// The question (with the follow-ups that were taken with it).
    pub question: String,
    /// The entry shown for it, if any.
    pub entry: Option<String>,
    /// The entries offered as choices, in order ("the second one").
    pub choices: Vec<String>,
}

impl Previous {
    /// What to remember of a reply, for the next message; `None` when there is nothing to
    /// follow up (no answer, small talk, a crisis).
    pub fn of(reply: &Reply) -> Option<Previous> {
        if !matches!(reply.outcome, Outcome::Answer | Outcome::Clarify) {
            return None;
        }
        // A follow-up carries its earlier question along (the last 60 words of it all).
        let words: Vec<&str> = reply.question.split_whitespace().collect();
        let question = words[words.len().saturating_sub(60)..].join(" ");
        Some(Previous {
            question,
            entry: reply.shown.as_ref().map(|s| s.id().to_string()),
            choices: reply
                .choices
                .iter()
                .filter_map(|c| match c {
                    Choice::Show { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .collect(),
        })
    }
}

/// Whether a message opens like the rest of a conversation ("and if…", "what about…", "but…").
fn continues(text: &str) -> bool {
    let t = text.trim_start().to_lowercase();
    [
        "and ",
        "but ",
        "what if ",
        "what about ",
        "how about ",
        "also ",
        "so what ",
        "then ",
        "if ",
        "or ",
    ]
    .iter()
    .any(|c| t.starts_with(c))
}

/// "The first one", "the second", "the third option": which choice, from 0.
fn ordinal(text: &str) -> Option<usize> {
    let t = text.to_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() > 6 {
        return None;
    }
    let n = words.iter().find_map(|w| match *w {
        "first" | "1st" => Some(0),
        "second" | "2nd" => Some(1),
        "third" | "3rd" => Some(2),
        _ => None,
    });
    let refers = words
        .iter()
        .any(|w| matches!(*w, "one" | "option" | "choice" | "entry" | "about" | "the"));
    n.filter(|_| refers)
}

/// A question ranked: the hits best first, and what else the decision needs.
pub struct Ranking {
    pub hits: Vec<Hit>,
    /// The best item of each sentence that is about something of its own (two worries).
    pub worries: Vec<String>,
}

impl Assistant {
    /// An assistant over the content, its index and (when the model is there) its vectors.
    pub fn new(content: Arc<Content>, index: SearchIndex, semantic: Option<Semantic>) -> Assistant {
        let engine = Engine::new(&content, index);
        let crisis = crisis::CrisisMatcher::new(&content.crisis);
        let regions = region::RegionMatcher::new(&content.regions);
        Assistant {
            content,
            engine,
            crisis,
            regions,
            thresholds: if semantic.is_some() {
                Thresholds::default()
            } else {
                Thresholds::lexical()
            },
            semantic,
            weights: Weights::default(),
            crisis_thresholds: CrisisThresholds::default(),
        }
    }

    /// A lexical-only assistant over an index built in memory.
    pub fn in_memory(content: Arc<Content>) -> Result<Assistant, IndexError> {
        let index = SearchIndex::build_in_ram(&content)?;
        Ok(Assistant::new(content, index, None))
    }

    /// The embedded content, if the model was there.
    pub fn semantic(&self) -> Option<&Semantic> {
        self.semantic.as_ref()
    }

    pub fn content(&self) -> &Arc<Content> {
        &self.content
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Answers one question.
    pub fn reply(&self, cx: &Context, question: &str) -> Reply {
        let region = self.region_for(cx, question);
        // The crisis check comes before any search.
        let message = message::read(question);
        let vectors = self.embed_message(&message);
        // The crisis check comes before any search: phrases, structure, then meaning.
        let words = message.words();
        let (meaning, near) = self.crisis_meaning(&vectors, words, false);
        let signal = self.crisis.check(question).or(meaning);
        if signal.is_none()
            && let Some(kind) = smalltalk::detect(question)
        {
            let mut reply = self.empty(question, region, Outcome::SmallTalk, Vec::new());
            reply.smalltalk = Some(smalltalk::answer(kind).to_string());
            reply.crisis_similarity = near;
            reply.choices = vec![Choice::Topics];
            return reply;
        }
        let ranking = self.rank_message(message, vectors, region.as_deref());
        let mut hits = ranking.hits;
        hits.truncate(RANKED_DEPTH);
        if let Some(signal) = signal {
            // Meaning alone is the least certain layer: the crisis message still comes first,
            // but a question with an answer or choices keeps them under it, so a false alarm
            // costs the manager seconds, not the answer.
            let keep = signal.layer == CrisisLayer::Meaning
                && decide::decide(&hits, &self.thresholds).0 != Outcome::NoAnswer;
            let mut reply = if keep {
                let mut r = self.ordinary(question, region, hits, &ranking.worries);
                self.put_crisis_first(&mut r);
                r
            } else {
                self.crisis_reply(question, region, hits)
            };
            reply.crisis = Some(signal);
            reply.crisis_similarity = near;
            return reply;
        }
        let mut reply = self.ordinary(question, region, hits, &ranking.worries);
        reply.crisis_similarity = near;
        reply
    }

    /// Answers a message in the light of the chat's previous question, when it is a
    /// follow-up: a short message ([`FOLLOW_UP_WORDS`] words at most, no word the guidance
    /// never uses) that on its own gets no answer or only choices ("what do I pay her then"),
    /// or that opens like a continuation ("and if he's part time?"). Then "the previous
    /// question + this message" is ranked, with the previous entry and its neighbours (its
    /// related entries, its topic) lifted by [`FOLLOW_UP_BOOST`], and its answer kept if it is
    /// in that neighbourhood (or, for a message with no answer of its own, among what the
    /// message alone ranked top three). "The second one" after a list of choices shows that
    /// choice. Otherwise the message's own reply.
    pub fn reply_after(&self, cx: &Context, question: &str, previous: Option<&Previous>) -> Reply {
        let alone = self.reply(cx, question);
        let Some(prev) = previous else {
            return alone;
        };
        let weak = matches!(alone.outcome, Outcome::NoAnswer | Outcome::Clarify);
        let cue = continues(question);
        if !(weak || (cue && alone.outcome == Outcome::Answer))
            || question.split_whitespace().count() > FOLLOW_UP_WORDS
        {
            return alone;
        }
        if let Some(n) = ordinal(question)
            && let Some(id) = prev.choices.get(n)
            && let Some(mut r) = self.show(cx, id)
        {
            r.question = question.to_string();
            r.follow_up = Some(FollowUp {
                entry: prev.entry.clone(),
                title: prev.entry.as_deref().map(|e| self.title(e)),
            });
            return r;
        }
        // A word the guidance never uses ("VAT") means something new, not a follow-up.
        let core = message::read(question).core;
        if self
            .engine
            .search(&core, 1)
            .map_or(true, |f| !f.unknown.is_empty())
        {
            return alone;
        }
        let combined = format!("{} {question}", prev.question);
        let region = self.region_for(cx, &combined);
        let ranking = self.rank(&combined, region.as_deref());
        let near = self.neighbourhood(prev.entry.as_deref());
        let mut hits = ranking.hits;
        for h in &mut hits {
            if near.contains(&h.id) {
                h.score *= FOLLOW_UP_BOOST;
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(RANKED_DEPTH);
        let Some(top) = hits.first().map(|h| h.id.clone()) else {
            return alone;
        };
        // Kept when it stays near the previous entry, or (for a message with no answer of its
        // own) lands on what the message alone ranked near the top.
        let alone_top: Vec<&str> = alone
            .results
            .iter()
            .take(3)
            .map(|r| r.id.as_str())
            .collect();
        let kept = near.contains(&top) || (weak && alone_top.contains(&top.as_str()));
        if !kept {
            return alone;
        }
        let mut reply = self.ordinary(question, region, hits, &ranking.worries);
        if reply.outcome != Outcome::Answer {
            return alone;
        }
        reply.crisis_similarity = alone.crisis_similarity;
        reply.follow_up = Some(FollowUp {
            entry: prev.entry.clone(),
            title: prev.entry.as_deref().map(|e| self.title(e)),
        });
        reply
    }

    /// An entry, its related entries and the entries of its topic.
    fn neighbourhood(&self, entry: Option<&str>) -> Vec<String> {
        let Some(e) = entry.and_then(|id| self.content.entry(id)) else {
            return entry.map(str::to_string).into_iter().collect();
        };
        let mut ids = vec![e.id.clone()];
        ids.extend(e.related.iter().cloned());
        ids.extend(self.content.entries_in(&e.topic).map(|x| x.id.clone()));
        ids.sort();
        ids.dedup();
        ids
    }

    /// The reply when the crisis check did not fire: answer, choices, or no answer.
    fn ordinary(
        &self,
        question: &str,
        region: Option<String>,
        hits: Vec<Hit>,
        worries: &[String],
    ) -> Reply {
        let (outcome, close) = decide::decide(&hits, &self.thresholds);
        let results = self.results(&hits);
        let mut reply = self.empty(question, region, outcome, results);
        // A second worry in the message, besides the entry shown first.
        let other_worry = worries
            .iter()
            .find(|w| hits.first().is_some_and(|h| &h.id != *w))
            .cloned();
        match outcome {
            Outcome::Answer => {
                let top = &hits[0];
                self.fill_item(&mut reply, &top.id);
                // Offered first: the second worry, then the close runners-up ("Or did you
                // mean…"), then the entry's related entries (already in the choices).
                let runners_up: Vec<String> = hits
                    .iter()
                    .skip(1)
                    .take(RUNNER_UP_DEPTH)
                    .filter(|h| h.score >= top.score * RUNNER_UP_RATIO)
                    .map(|h| h.id.clone())
                    .filter(|id| Some(id) != other_worry.as_ref())
                    .collect();
                reply.runners_up = runners_up
                    .iter()
                    .map(|id| ItemLink {
                        id: id.clone(),
                        title: self.title(id),
                    })
                    .collect();
                let first: Vec<String> = other_worry.into_iter().chain(runners_up).collect();
                reply
                    .choices
                    .retain(|c| !matches!(c, Choice::Show { id, .. } if first.contains(id)));
                for (i, id) in first.into_iter().enumerate() {
                    reply.choices.insert(
                        i,
                        Choice::Show {
                            title: self.title(&id),
                            id,
                        },
                    );
                }
            }
            Outcome::Clarify => {
                let mut ids: Vec<String> = hits.iter().take(close).map(|h| h.id.clone()).collect();
                if let Some(w) = other_worry
                    && !ids.contains(&w)
                {
                    ids.insert(1.min(ids.len()), w);
                    ids.truncate(3);
                }
                reply.choices = ids
                    .into_iter()
                    .map(|id| Choice::Show {
                        title: self.title(&id),
                        id,
                    })
                    .collect();
                reply.choices.push(Choice::Topics);
            }
            Outcome::NoAnswer => {
                reply.choices = vec![Choice::Topics, Choice::TalkToSomeone];
            }
            Outcome::Crisis | Outcome::SmallTalk => {
                unreachable!("crisis and small-talk replies are built above")
            }
        }
        reply
    }

    /// Shows one item by id, as if it were the answer (a button or numbered choice).
    pub fn show(&self, cx: &Context, id: &str) -> Option<Reply> {
        self.content.kind_of(id)?;
        let mut reply = self.empty(
            &self.title(id),
            cx.region.clone(),
            Outcome::Answer,
            Vec::new(),
        );
        self.fill_item(&mut reply, id);
        Some(reply)
    }

    /// The "Talk to someone" reply: the `talk_to_someone` list of `helplines.yaml`, then the
    /// asker's local programmes.
    pub fn talk_to_someone(&self, cx: &Context) -> Reply {
        self.people_to_talk_to(cx, false)
    }

    /// "Talk to someone" after a crisis reply: the crisis lines (the `programmes:` of
    /// `crisis.yaml`) first, then the usual ones.
    pub fn crisis_lines(&self, cx: &Context) -> Reply {
        self.people_to_talk_to(cx, true)
    }

    fn people_to_talk_to(&self, cx: &Context, crisis: bool) -> Reply {
        let mut reply = self.empty(
            crate::words::TALK_TO_SOMEONE,
            cx.region.clone(),
            Outcome::Answer,
            Vec::new(),
        );
        reply.heading = Some(crate::words::PEOPLE_WHO_CAN_HELP.to_string());
        let region = cx.region.as_deref();
        let crisis_ids = crisis.then_some(self.content.crisis.programmes.as_slice());
        let mut cards: Vec<ProgrammeCard> = crisis_ids
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .chain(
                self.content
                    .helplines
                    .talk_to_someone
                    .iter()
                    .map(String::as_str),
            )
            .filter_map(|id| self.content.programme(id))
            .map(|p| self.card(p, region))
            .collect();
        if let Some(r) = region {
            cards.extend(
                self.content
                    .programmes
                    .iter()
                    .filter(|p| !p.is_national() && p.regions.iter().any(|x| x == r))
                    .map(|p| self.card(p, region)),
            );
        }
        let mut seen = std::collections::HashSet::new();
        cards.retain(|c| seen.insert(c.id.clone()));
        reply.programmes = cards;
        reply.choices = vec![Choice::Topics];
        reply
    }

    /// Programmes for a region: its own first, then national ones.
    pub fn programmes_for(&self, region: Option<&str>) -> Vec<ProgrammeCard> {
        let mut v: Vec<ProgrammeCard> = self
            .content
            .programmes
            .iter()
            .filter(|p| p.serves(region))
            .map(|p| self.card(p, region))
            .collect();
        v.sort_by_key(|c| !c.local);
        v
    }

    /// Every ranked hit with its signals (fused score, BM25, coverage, cosines), for calibration.
    pub fn signals(&self, cx: &Context, question: &str) -> Vec<Hit> {
        self.rank(question, self.region_for(cx, question).as_deref())
            .hits
    }

    /// The region a question is about: a place it names, else the asker's (known) region.
    fn region_for(&self, cx: &Context, question: &str) -> Option<String> {
        let named = self.regions.find(question).map(str::to_string);
        named
            .or_else(|| cx.region.clone())
            .filter(|r| self.content.region(r).is_some())
    }

    /// Ranks the items for a question: lexical and semantic scores fused per item, then the
    /// region's programmes lifted and other regions' hidden.
    pub fn rank(&self, question: &str, region: Option<&str>) -> Ranking {
        let message = message::read(question);
        let vectors = self.embed_message(&message);
        self.rank_message(message, vectors, region)
    }

    /// The message's vectors: its core, then each of its sentences (empty without the model).
    fn embed_message(&self, message: &message::Message) -> Vec<Vector> {
        let Some(sem) = &self.semantic else {
            return Vec::new();
        };
        let mut texts: Vec<&str> = vec![message.core.as_str()];
        texts.extend(message.sentences.iter().map(String::as_str));
        sem.embedder().embed_many(&texts)
    }

    /// The meaning layer of the crisis check: the message (whole and sentence by sentence)
    /// against the crisis examples and the calm contrasts. Returns the signal, if it fires,
    /// and the closest example's similarity (for reviewers: near-misses).
    pub fn crisis_meaning(
        &self,
        vectors: &[Vector],
        words: usize,
        skip_self: bool,
    ) -> (Option<CrisisSignal>, Option<f32>) {
        let Some(sem) = &self.semantic else {
            return (None, None);
        };
        let t = &self.crisis_thresholds;
        let mut closest: Option<f32> = None;
        let mut fired = None;
        for (i, v) in vectors.iter().enumerate() {
            let Some(sim) = sem.crisis_similarity(v, skip_self) else {
                continue;
            };
            closest = Some(closest.map_or(sim.crisis, |c: f32| c.max(sim.crisis)));
            if fired.is_none() && t.fires(sim.crisis, sim.calm, i > 0, words) {
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
    /// crisis example's and calm text's similarity (`skip_self` leaves an exact match out).
    pub fn crisis_signals(
        &self,
        text: &str,
        skip_self: bool,
    ) -> (Option<CrisisLayer>, Vec<(f32, f32)>) {
        let rule = self.crisis.check(text).map(|s| s.layer);
        let vectors = self.embed_message(&message::read(text));
        let sims = match &self.semantic {
            Some(sem) => vectors
                .iter()
                .filter_map(|v| sem.crisis_similarity(v, skip_self))
                .map(|s| (s.crisis, s.calm))
                .collect(),
            None => Vec::new(),
        };
        (rule, sims)
    }

    fn rank_message(
        &self,
        message: message::Message,
        vectors: Vec<Vector>,
        region: Option<&str>,
    ) -> Ranking {
        let found = match self.engine.search(&message.core, LEXICAL_DEPTH) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "search failed");
                Default::default()
            }
        };
        let mut hits = found.hits;
        let mut worries = Vec::new();
        if let Some(sem) = &self.semantic {
            let per_query = sem.score_each(&vectors);
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
            let words = message.words();
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
        Ranking { hits, worries }
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

    /// The crisis reply: the crisis message first, then the crisis entry.
    fn crisis_reply(&self, question: &str, region: Option<String>, mut hits: Vec<Hit>) -> Reply {
        let crisis = &self.content.crisis;
        if let Some(entry) = &crisis.entry {
            hits.retain(|h| &h.id != entry);
            let score = hits.first().map(|h| h.score).unwrap_or(0.0);
            hits.insert(
                0,
                Hit {
                    id: entry.clone(),
                    kind: Kind::Guidance,
                    score,
                    coverage: 1.0,
                    lexical: 0.0,
                    sem_best: 0.0,
                    sem_whole: 0.0,
                    sem_class: 0.0,
                },
            );
        }
        let results = self.results(&hits);
        let mut reply = self.empty(question, region, Outcome::Crisis, results);
        if let Some(entry) = &crisis.entry {
            self.fill_item(&mut reply, entry);
        }
        self.put_crisis_first(&mut reply);
        reply
    }

    /// Makes a reply a crisis reply: the crisis message first, the crisis lines first among
    /// the programmes, and "Talk to someone" first among the choices.
    fn put_crisis_first(&self, reply: &mut Reply) {
        let crisis = &self.content.crisis;
        reply.outcome = Outcome::Crisis;
        reply.crisis_message = Some(crisis.message.clone());
        let region = reply.region.clone();
        let mut cards: Vec<ProgrammeCard> = crisis
            .programmes
            .iter()
            .filter_map(|id| self.content.programme(id))
            .map(|p| self.card(p, region.as_deref()))
            .collect();
        for c in std::mem::take(&mut reply.programmes) {
            if !cards.iter().any(|x| x.id == c.id) {
                cards.push(c);
            }
        }
        reply.programmes = cards;
        // "Talk to someone" once, first, and leading to the crisis lines.
        reply.choices.retain(|c| {
            !matches!(
                c,
                Choice::Topics | Choice::TalkToSomeone | Choice::CrisisLines
            )
        });
        reply.choices.insert(0, Choice::CrisisLines);
    }

    fn empty(
        &self,
        question: &str,
        region: Option<String>,
        outcome: Outcome,
        results: Vec<Ranked>,
    ) -> Reply {
        let helpline = match outcome {
            Outcome::NoAnswer => self.content.helplines.no_answer.as_ref().map(|h| Helpline {
                name: h.name.clone(),
                phone: h.phone.clone(),
                gives: h.gives.clone(),
            }),
            _ => None,
        };
        Reply {
            question: question.to_string(),
            heading: None,
            region,
            outcome,
            results,
            crisis_message: None,
            crisis: None,
            crisis_similarity: None,
            smalltalk: None,
            shown: None,
            runners_up: Vec::new(),
            follow_up: None,
            programmes: Vec::new(),
            related: Vec::new(),
            sources: Vec::new(),
            choices: Vec::new(),
            helpline,
            content_digest: self.content.digest.clone(),
        }
    }

    fn results(&self, hits: &[Hit]) -> Vec<Ranked> {
        hits.iter()
            .take(MAX_RESULTS)
            .map(|h| Ranked {
                id: h.id.clone(),
                kind: h.kind,
                title: self.title(&h.id),
                score: (f64::from(h.score) * 1000.0).round() / 1000.0,
            })
            .collect()
    }

    fn title(&self, id: &str) -> String {
        if let Some(e) = self.content.entry(id) {
            e.title.clone()
        } else if let Some(p) = self.content.programme(id) {
            p.name.clone()
        } else {
            id.to_string()
        }
    }

    /// Puts one item's full text, programmes, related entries, sources and buttons on a reply.
    fn fill_item(&self, reply: &mut Reply, id: &str) {
        let region = reply.region.clone();
        let region = region.as_deref();
        if let Some(e) = self.content.entry(id) {
            reply.shown = Some(Shown::Guidance {
                id: e.id.clone(),
                title: e.title.clone(),
                summary: e.summary.clone(),
                answer: e.answer.clone(),
                figures_checked: e
                    .review_due(chrono::Utc::now().date_naive())
                    .then(|| e.reviewed.format("%-d %B %Y").to_string()),
            });
            let mut cards: Vec<ProgrammeCard> = e
                .programmes
                .iter()
                .filter_map(|p| self.content.programme(p))
                .filter(|p| p.serves(region) || region.is_none())
                .map(|p| self.card(p, region))
                .collect();
            cards.sort_by_key(|c| !c.local);
            reply.programmes = cards;
            reply.related = e
                .related
                .iter()
                .take(MAX_RELATED)
                .map(|r| ItemLink {
                    id: r.clone(),
                    title: self.title(r),
                })
                .collect();
            reply.sources = source_links(&e.sources);
        } else if let Some(p) = self.content.programme(id) {
            reply.shown = Some(Shown::Programme {
                card: self.card(p, region),
            });
            reply.sources = source_links(&p.sources);
        }
        reply.choices = reply
            .related
            .iter()
            .map(|r| Choice::Show {
                id: r.id.clone(),
                title: r.title.clone(),
            })
            .collect();
        reply.choices.push(Choice::TalkToSomeone);
    }

    fn card(&self, p: &Programme, region: Option<&str>) -> ProgrammeCard {
        ProgrammeCard {
            id: p.id.clone(),
            name: p.name.clone(),
            provider: p.provider.clone(),
            summary: p.summary.clone(),
            how_to_join: p.how_to_join.clone(),
            url: p.contact.url.as_ref().map(|u| u.url.clone()),
            phone: p.contact.phone.clone(),
            email: p.contact.email.clone(),
            local: !p.is_national() && region.is_some_and(|r| p.regions.iter().any(|x| x == r)),
        }
    }
}

fn source_links(sources: &[crate::content::Source]) -> Vec<SourceLink> {
    sources
        .iter()
        .map(|s| SourceLink {
            title: s.title.clone(),
            url: s.url.clone(),
        })
        .collect()
}
