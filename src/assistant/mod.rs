//! The assistant: one question in, one channel-neutral [`Reply`] out.
//!
//! The crisis check runs first, before any search. Small talk ("hello", "thanks", "?", emoji)
//! the crisis check let through gets a friendly word ([`smalltalk`]). Then the engine ranks guidance and
//! programmes, the asker's region filters and orders the programmes, and `decide` picks the
//! outcome. No I/O of its own: the content and index are handed in.

pub mod crisis;
pub mod decide;
mod fill;
mod follow_up;
pub mod menu;
pub mod message;
mod rank;
pub mod region;
pub mod reply;
pub mod smalltalk;

use std::sync::Arc;

use crate::content::{Content, Kind, Programme};
use crate::search::semantic::Semantic;
use crate::search::{Engine, Hit, IndexError, SearchIndex};
pub use crisis::{CrisisLayer, CrisisSignal};
pub use decide::{CrisisThresholds, Thresholds, Weights};
pub use follow_up::Previous;
use follow_up::{continues, ordinal};
pub use menu::Menu;
pub use rank::{LOCAL_BOOST, REGION_BOOST, Ranking};
pub use reply::*;

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

/// How many of the ranked entries a crisis reply offers after the crisis lines.
pub const ASKED_WITH_A_CRISIS: usize = 2;

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
        let embedded = self.embed_message(&message);
        // The crisis check comes before any search: phrases, structure, then meaning.
        let words = message.words();
        let (meaning, near) = self.crisis_meaning(&embedded, words, false);
        let talk = smalltalk::detect(question);
        // A greeting, thanks or goodbye ("cheers bye") is small talk by construction: only the
        // word lists can make it a crisis, not its nearness to a farewell example.
        let meaning = meaning.filter(|_| talk.is_none());
        let signal = self.crisis.check(question).or(meaning);
        if signal.is_none()
            && let Some(kind) = talk
        {
            let mut reply = self.empty(question, region, Outcome::SmallTalk, Vec::new());
            reply.smalltalk = Some(smalltalk::answer(kind).to_string());
            reply.crisis_similarity = near;
            reply.choices = vec![Choice::Topics];
            return reply;
        }
        let mut ranking = self.rank_message(message, embedded, region.as_deref());
        let mut hits = std::mem::take(&mut ranking.hits);
        hits.truncate(RANKED_DEPTH);
        if let Some(signal) = signal {
            // Meaning alone is the least certain layer: the crisis message still comes first,
            // but a question with an answer or choices keeps them under it, so a false alarm
            // costs the manager seconds, not the answer.
            let keep = signal.layer == CrisisLayer::Meaning
                && decide::decide(&hits, ranking.off_topic, ranking.words, &self.thresholds).0
                    != Outcome::NoAnswer;
            let mut reply = if keep {
                let mut r = self.ordinary(question, region, hits, &ranking);
                self.put_crisis_first(&mut r);
                r
            } else {
                self.crisis_reply(question, region, hits)
            };
            reply.crisis = Some(signal);
            reply.crisis_similarity = near;
            return reply;
        }
        let mut reply = self.ordinary(question, region, hits, &ranking);
        reply.crisis_similarity = near;
        reply
    }

    /// Answers a message in the light of the chat's previous question, when it is a
    /// follow-up: a short message ([`FOLLOW_UP_WORDS`] words at most, no word the guidance
    /// never uses) that on its own gets no answer or only choices ("what do I pay her then"),
    /// or that opens like a continuation ("and if he's part time?"). Then "the previous
    /// question + this message" is ranked, with the previous entry and its neighbours (its
    /// related entries, its topic) lifted by [`FOLLOW_UP_BOOST`] and the previous entry by it
    /// once more, and its answer kept if it is
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
        let mut ranking = self.rank(&combined, region.as_deref());
        let near = self.neighbourhood(prev.entry.as_deref());
        let mut hits = std::mem::take(&mut ranking.hits);
        for h in &mut hits {
            if near.contains(&h.id) {
                h.score *= FOLLOW_UP_BOOST;
            }
            // The previous entry itself once more: "and if he's part time?" is about what was
            // just shown, not about the neighbour that sits as near the two messages together.
            if prev.entry.as_deref() == Some(h.id.as_str()) {
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
        let mut reply = self.ordinary(question, region, hits, &ranking);
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
        ranking: &rank::Ranking,
    ) -> Reply {
        let (outcome, close) =
            decide::decide(&hits, ranking.off_topic, ranking.words, &self.thresholds);
        let results = self.results(&hits);
        let mut reply = self.empty(question, region, outcome, results);
        // A second worry in the message, besides the entry shown first.
        let other_worry = ranking
            .worries
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
        // The entries that answer what else the message asked, right after the crisis lines:
        // a crisis message is often a question too ("…and does his SSP stop?"), and when the
        // check was wrong the manager is one tap from the answer instead of losing it.
        let asked: Vec<Choice> = hits
            .iter()
            .filter(|h| crisis.entry.as_ref() != Some(&h.id) && !crisis.programmes.contains(&h.id))
            .filter(|h| !reply.choices.iter().any(|c| c.shown() == Some(&h.id)))
            .take(ASKED_WITH_A_CRISIS)
            .map(|h| Choice::Show {
                title: self.title(&h.id),
                id: h.id.clone(),
            })
            .collect();
        let at = reply.choices.len().min(1);
        reply.choices.splice(at..at, asked);
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
}
