//! Regions: which region a question is about, from the asker's setting or a place it names.

use crate::content::Region;
use crate::search::analyse::normalise;

#[derive(Debug, Clone, Default)]
pub struct RegionMatcher {
    /// (place words, region id), longest places first.
    places: Vec<(Vec<String>, String)>,
}

/// Words that say the asker wants something near them.
const LOCAL: &[&[&str]] = &[
    &["local"],
    &["locally"],
    &["round", "here"],
    &["around", "here"],
    &["near", "me"],
    &["nearby"],
    &["in", "my", "area"],
    &["in", "the", "area"],
    &["regional"],
    &["region"],
    &["in", "our", "area"],
    &["round", "ere"],
    &["near", "us"],
    &["where", "i", "am"],
];

impl RegionMatcher {
    pub fn new(regions: &[Region]) -> RegionMatcher {
        let mut places: Vec<(Vec<String>, String)> = regions
            .iter()
            .filter(|r| r.id != crate::content::NATIONAL)
            .flat_map(|r| {
                let names = r.places.iter().chain(std::iter::once(&r.name));
                names
                    .map(|p| {
                        (
                            normalise(p)
                                .split_whitespace()
                                .map(str::to_string)
                                .collect::<Vec<_>>(),
                            r.id.clone(),
                        )
                    })
                    .filter(|(w, _)| !w.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        places.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        RegionMatcher { places }
    }

    /// The region of the longest place name the question mentions.
    pub fn find(&self, question: &str) -> Option<&str> {
        let norm = normalise(question);
        let words: Vec<&str> = norm.split_whitespace().collect();
        self.places
            .iter()
            .find(|(place, _)| {
                words
                    .windows(place.len())
                    .any(|w| w.iter().zip(place).all(|(a, b)| *a == b))
            })
            .map(|(_, id)| id.as_str())
    }
}

/// Whether the question asks for something local ("round here", "locally").
pub fn wants_local(question: &str) -> bool {
    let norm = normalise(question);
    let words: Vec<&str> = norm.split_whitespace().collect();
    LOCAL
        .iter()
        .any(|phrase| words.windows(phrase.len()).any(|w| w == *phrase))
}
