//! The assistant: one question in, one channel-neutral [`Reply`] out.
//!
//! The crisis check runs first, before any search. Then the engine ranks guidance and
//! programmes, the asker's region filters and orders the programmes, and `decide` picks the
//! outcome. No I/O of its own: the content and index are handed in.

pub mod crisis;
pub mod decide;
pub mod region;
pub mod reply;

use std::sync::Arc;

use crate::content::{Content, Kind, Programme};
use crate::search::{Engine, Hit, IndexError, SearchIndex};
pub use decide::Thresholds;
pub use reply::*;

/// How far a programme for the asker's own region is lifted above national ones.
pub const REGION_BOOST: f32 = 1.15;
/// And further when the question asks for something local ("round here").
pub const LOCAL_BOOST: f32 = 1.6;
/// Results a reply carries.
pub const MAX_RESULTS: usize = 5;
/// Related entries offered under an answer.
pub const MAX_RELATED: usize = 3;

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
    pub thresholds: Thresholds,
}

impl Assistant {
    pub fn new(content: Arc<Content>, index: SearchIndex) -> Assistant {
        let engine = Engine::new(&content, index);
        let crisis = crisis::CrisisMatcher::new(&content.crisis);
        let regions = region::RegionMatcher::new(&content.regions);
        Assistant {
            content,
            engine,
            crisis,
            regions,
            thresholds: Thresholds::default(),
        }
    }

    /// An assistant over an index built in memory.
    pub fn in_memory(content: Arc<Content>) -> Result<Assistant, IndexError> {
        let index = SearchIndex::build_in_ram(&content)?;
        Ok(Assistant::new(content, index))
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
        let crisis = self.crisis.check(question).is_some();
        let hits = self.ranked(question, region.as_deref());
        if crisis {
            return self.crisis_reply(question, region, hits);
        }
        let (outcome, close) = decide::decide(&hits, &self.thresholds);
        let results = self.results(&hits);
        let mut reply = self.empty(question, region, outcome, results);
        match outcome {
            Outcome::Answer => {
                let top = &hits[0];
                self.fill_item(&mut reply, &top.id);
            }
            Outcome::Clarify => {
                reply.choices = hits
                    .iter()
                    .take(close)
                    .map(|h| Choice::Show {
                        id: h.id.clone(),
                        title: self.title(&h.id),
                    })
                    .collect();
                reply.choices.push(Choice::Topics);
            }
            Outcome::NoAnswer => {
                reply.choices = vec![Choice::Topics, Choice::TalkToSomeone];
            }
            Outcome::Crisis => unreachable!("crisis replies are built above"),
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

    /// The "Talk to someone" reply: Acas, then the asker's local programmes.
    pub fn talk_to_someone(&self, cx: &Context) -> Reply {
        let mut reply = self.empty(
            "Talk to someone",
            cx.region.clone(),
            Outcome::Answer,
            Vec::new(),
        );
        let region = cx.region.as_deref();
        let mut cards: Vec<ProgrammeCard> = ["acas", "hse", "access-to-work-programme"]
            .iter()
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

    /// The ranked hits with their decision signals (score and coverage), for calibration.
    pub fn signals(&self, cx: &Context, question: &str) -> Vec<Hit> {
        self.ranked(question, self.region_for(cx, question).as_deref())
    }

    /// The region a question is about: a place it names, else the asker's (known) region.
    fn region_for(&self, cx: &Context, question: &str) -> Option<String> {
        let named = self.regions.find(question).map(str::to_string);
        named
            .or_else(|| cx.region.clone())
            .filter(|r| self.content.region(r).is_some())
    }

    fn ranked(&self, question: &str, region: Option<&str>) -> Vec<Hit> {
        let found = match self.engine.search(question, 15) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "search failed");
                return Vec::new();
            }
        };
        let local = region::wants_local(question);
        let mut hits: Vec<Hit> = found
            .hits
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
                },
            );
        }
        let results = self.results(&hits);
        let mut reply = self.empty(question, region, Outcome::Crisis, results);
        reply.crisis_message = Some(crisis.message.clone());
        if let Some(entry) = &crisis.entry {
            self.fill_item(&mut reply, entry);
        }
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
        reply.choices.insert(0, Choice::TalkToSomeone);
        reply.choices.retain(|c| !matches!(c, Choice::Topics));
        reply
    }

    fn empty(
        &self,
        question: &str,
        region: Option<String>,
        outcome: Outcome,
        results: Vec<Ranked>,
    ) -> Reply {
        Reply {
            question: question.to_string(),
            region,
            outcome,
            results,
            crisis_message: None,
            shown: None,
            programmes: Vec::new(),
            related: Vec::new(),
            sources: Vec::new(),
            choices: Vec::new(),
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
