//! Filling a reply from the content: its ranked results, the item shown (text, sources,
//! related entries, programmes) and the programme cards for the asker's region.

use super::*;

impl Assistant {
    pub(super) fn empty(
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

    pub(super) fn results(&self, hits: &[Hit]) -> Vec<Ranked> {
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

    pub(super) fn title(&self, id: &str) -> String {
        if let Some(e) = self.content.entry(id) {
            e.title.clone()
        } else if let Some(p) = self.content.programme(id) {
            p.name.clone()
        } else {
            id.to_string()
        }
    }

    /// Puts one item's full text, programmes, related entries, sources and buttons on a reply.
    pub(super) fn fill_item(&self, reply: &mut Reply, id: &str) {
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

    pub(super) fn card(&self, p: &Programme, region: Option<&str>) -> ProgrammeCard {
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
