//! The crisis check: phrases from `content/crisis.yaml`, matched before any search.
//!
//! A phrase is a sequence of words; `*` in a phrase stands for up to three other words.
//! Both sides are normalised the same way (lower case, apostrophes dropped, punctuation as
//! spaces), and the whole question is checked however long it is.

use crate::search::analyse::normalise_all;

const GAP: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Word(String),
    Gap,
}

#[derive(Debug, Clone, Default)]
pub struct CrisisMatcher {
    phrases: Vec<(String, Vec<Part>)>,
}

impl CrisisMatcher {
    pub fn new(phrases: &[String]) -> CrisisMatcher {
        let phrases = phrases
            .iter()
            .filter_map(|p| {
                let parts: Vec<Part> = p
                    .split_whitespace()
                    .flat_map(|w| {
                        if w == "*" {
                            vec![Part::Gap]
                        } else {
                            normalise_all(w)
                                .split_whitespace()
                                .map(|x| Part::Word(x.to_string()))
                                .collect()
                        }
                    })
                    .collect();
                parts
                    .iter()
                    .any(|p| matches!(p, Part::Word(_)))
                    .then(|| (p.clone(), parts))
            })
            .collect();
        CrisisMatcher { phrases }
    }

    /// The first crisis phrase the text contains, if any.
    pub fn matches(&self, text: &str) -> Option<&str> {
        let norm = normalise_all(text);
        let words: Vec<&str> = norm.split_whitespace().collect();
        self.phrases
            .iter()
            .find(|(_, parts)| (0..words.len()).any(|i| match_at(&words, i, parts)))
            .map(|(p, _)| p.as_str())
    }
}

fn match_at(words: &[&str], i: usize, parts: &[Part]) -> bool {
    match parts.split_first() {
        None => true,
        Some((Part::Word(w), rest)) => {
            words.get(i) == Some(&w.as_str()) && match_at(words, i + 1, rest)
        }
        Some((Part::Gap, rest)) => {
            (0..=GAP).any(|skip| i + skip <= words.len() && match_at(words, i + skip, rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(phrases: &[&str]) -> CrisisMatcher {
        CrisisMatcher::new(&phrases.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn whole_words_in_order() {
        let c = m(&["kill himself", "doesnt want to be alive"]);
        assert!(c.matches("He said he'd KILL himself!").is_some());
        assert!(c.matches("she doesn't want to be alive").is_some());
        assert!(c.matches("skill himself up").is_none());
        assert!(c.matches("my back is killing me").is_none());
    }

    #[test]
    fn gaps_allow_a_few_words() {
        let c = m(&["taken * tablets"]);
        assert!(c.matches("he's taken a load of tablets").is_some());
        assert!(c.matches("he's taken tablets").is_some());
        assert!(
            c.matches("taken his blood pressure and the rest of his tablets")
                .is_none()
        );
    }

    #[test]
    fn the_end_of_a_long_message_is_checked() {
        let c = m(&["end it all"]);
        let text = format!(
            "{} and now he says he will end it all",
            "words ".repeat(3000)
        );
        assert!(c.matches(&text).is_some());
    }
}
