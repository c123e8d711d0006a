//! The menus the bot offers of its own accord, as channel-neutral values: /topics, a topic's
//! entries, /region, /forget's question and what to try after 👎 — each a heading and rows of
//! [`Choice`]s, which Telegram draws as a message with buttons
//! ([`render::telegram::menu`](crate::render::telegram::menu)) and the terminal as numbered
//! choices. /programmes and "Talk to someone" are replies with a heading
//! ([`Assistant::programmes`], [`Assistant::talk_to_someone`]). Every word comes from
//! [`crate::words`]; every name from the content.

use crate::content::{Content, NATIONAL};
use crate::words;

use super::{Assistant, Choice, Context, Reply};

/// A heading (markup) over rows of choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub heading: String,
    pub rows: Vec<Vec<Choice>>,
}

impl Menu {
    /// Every choice, row by row (the order the terminal numbers them in).
    pub fn choices(&self) -> impl Iterator<Item = &Choice> {
        self.rows.iter().flatten()
    }
}

/// /topics: every topic, in `topics.yaml` order.
pub fn topics(content: &Content) -> Menu {
    Menu {
        heading: words::TOPICS.to_string(),
        rows: content
            .topics
            .iter()
            .map(|t| {
                vec![Choice::Topic {
                    id: t.id.clone(),
                    title: t.title.clone(),
                }]
            })
            .collect(),
    }
}

/// A topic's entries (in id order), then back to all topics; `None` for an unknown topic.
pub fn topic(content: &Content, id: &str) -> Option<Menu> {
    let topic = content.topic(id)?;
    let mut rows: Vec<Vec<Choice>> = content
        .entries_in(id)
        .map(|e| {
            vec![Choice::Show {
                id: e.id.clone(),
                title: e.title.clone(),
            }]
        })
        .collect();
    rows.push(vec![Choice::AllTopics]);
    Some(Menu {
        heading: words::topic_heading(&topic.title),
        rows,
    })
}

/// /region: every region one can choose (not `national`), then "somewhere else".
pub fn regions(content: &Content) -> Menu {
    let mut rows: Vec<Vec<Choice>> = content
        .regions
        .iter()
        .filter(|r| r.id != NATIONAL)
        .map(|r| {
            vec![Choice::Region {
                id: Some(r.id.clone()),
                name: r.name.clone(),
            }]
        })
        .collect();
    rows.push(vec![Choice::Region {
        id: None,
        name: words::ELSEWHERE.to_string(),
    }]);
    Menu {
        heading: words::ASK_REGION.to_string(),
        rows,
    }
}

/// /forget asks first: delete or keep, side by side.
pub fn forget() -> Menu {
    Menu {
        heading: words::FORGET_ASK.to_string(),
        rows: vec![vec![
            Choice::Forget { delete: true },
            Choice::Forget { delete: false },
        ]],
    }
}

/// After 👎: ask in other words, browse the topics, or talk to someone.
pub fn unhelpful() -> Menu {
    Menu {
        heading: words::UNHELPFUL_FOLLOW_UP.to_string(),
        rows: vec![vec![Choice::Topics], vec![Choice::TalkToSomeone]],
    }
}

impl Assistant {
    /// /programmes: every programme for the asker's region, local ones first, under a heading
    /// naming the region.
    pub fn programmes(&self, cx: &Context) -> Reply {
        let region = cx.region.as_deref();
        let name = region.and_then(|r| self.content.region(r)).map(|r| &r.name);
        Reply {
            heading: Some(words::programmes_heading(name.map(String::as_str))),
            programmes: self.programmes_for(region),
            ..self.talk_to_someone(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> Content {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        crate::content::load_valid(&root, chrono::Utc::now().date_naive()).expect("content")
    }

    #[test]
    fn menus_are_built_from_the_content_with_the_shared_words() {
        let c = content();
        let t = topics(&c);
        assert_eq!(t.heading, words::TOPICS);
        assert_eq!(t.choices().count(), c.topics.len());
        assert_eq!(t.rows[0][0].label(), c.topics[0].title);

        let first = &c.topics[0];
        let m = topic(&c, &first.id).expect("a known topic");
        assert!(m.heading.contains(&words::escape(&first.title)));
        assert_eq!(
            m.choices().count(),
            c.entries_in(&first.id).count() + 1,
            "its entries and the way back"
        );
        assert_eq!(m.choices().last(), Some(&Choice::AllTopics));
        assert_eq!(topic(&c, "no-such-topic"), None);

        let r = regions(&c);
        assert!(r.choices().all(|c| !matches!(c,
            Choice::Region { id: Some(id), .. } if id == NATIONAL)));
        assert_eq!(r.choices().last().unwrap().label(), words::ELSEWHERE);

        let f = forget();
        assert_eq!(f.rows.len(), 1, "yes and no side by side");
        assert_eq!(
            f.choices().map(Choice::label).collect::<Vec<_>>(),
            [words::YES_DELETE, words::NO_KEEP]
        );
    }
}
