//! Deciding the outcome from the ranked hits: answer, clarify, or no answer.
//!
//! BM25 scores are not normalised, so the decision uses two signals: the best hit's score,
//! and its *coverage* — the share of the question's weight (each word weighted by how rare
//! it is in the corpus, words the corpus never uses weighing most) that the hit's text
//! contains. An out-of-scope question ("how do I register for VAT") scores low on both: its
//! key words are not in the guidance at all. How the values were chosen is in
//! `docs/calibration.md`; `workhealth eval` shows their effect.

use crate::search::Hit;
use crate::search::semantic::CrisisSim;

use super::reply::Outcome;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Below this best score, nothing matched well enough.
    pub min_score: f32,
    /// Below this coverage, the best hit does not cover what was asked — unless its meaning is
    /// at least `min_semantic` close (fused scores only; infinite for BM25 alone).
    pub min_coverage: f32,
    pub min_semantic: f32,
    /// A runner-up scoring at least this share of the best makes the reply a clarify.
    pub clarify_ratio: f32,
    /// A best hit that contains (nearly) every word asked about needs only `min_score_full`:
    /// short, precise questions ("riddor", "how much is ssp") score low in BM25.
    pub full_coverage: f32,
    pub min_score_full: f32,
    /// A message nearer the out-of-scope examples (`out-of-scope.yaml`) than any item by more
    /// than this is off topic, however its words score.
    pub off_topic_margin: f32,
    /// The `min_coverage` / `min_semantic` rule counts only for a message of fewer words than
    /// this: in a long post (background, names, two worries) only a small share of the words is
    /// ever in one entry, so little coverage says nothing about being off topic, and a long
    /// in-scope post was turned away with a flat "sorry". The out-of-scope examples and
    /// `min_score` still decline a long message.
    pub little_words: usize,
}

impl Thresholds {
    /// The thresholds for BM25 scores alone, when the embedding model is not there.
    pub fn lexical() -> Thresholds {
        Thresholds {
            min_score: 11.0,
            min_coverage: 0.25,
            min_semantic: f32::INFINITY,
            clarify_ratio: 0.95,
            full_coverage: 0.95,
            min_score_full: 6.0,
            off_topic_margin: f32::INFINITY,
            little_words: usize::MAX,
        }
    }
}

impl Default for Thresholds {
    /// The thresholds for fused scores (see [`Weights`]); chosen by cross-validation.
    fn default() -> Self {
        Thresholds {
            min_score: 0.35,
            min_coverage: 0.25,
            min_semantic: 0.50,
            clarify_ratio: 0.88,
            full_coverage: 2.0,
            min_score_full: 0.0,
            off_topic_margin: -0.02,
            little_words: 40,
        }
    }
}

/// How lexical and semantic scores are fused into one score per item, and when a sentence
/// counts as a worry of its own. Chosen by cross-validation: `docs/calibration.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Weight of the best cosine between the question (or a sentence) and any of the item's texts.
    pub best: f32,
    /// Weight of the cosine with the item as a whole (the centroid of its texts).
    pub whole: f32,
    /// Weight of the BM25 score, squashed to 0..1 as `s / (s + lexical_half)`.
    pub lexical: f32,
    pub lexical_half: f32,
    /// Weight of the content-trained classifier's output (`search::classify`), for messages of
    /// more than `class_words` words. On shorter ones it ranked no better and answered wrongly
    /// a little more often (docs/calibration.md), so there it counts for nothing.
    pub class: f32,
    pub class_words: usize,
    /// A sentence whose best item scores at least this is a worry of its own.
    pub worry: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            best: 0.3,
            whole: 0.1,
            lexical: 0.5,
            lexical_half: 15.0,
            class: 0.4,
            class_words: 20,
            worry: 0.6,
        }
    }
}

impl Weights {
    /// The fused score of a hit, for a message of `words` words.
    pub fn fuse(&self, h: &Hit, words: usize) -> f32 {
        let lex = if h.lexical > 0.0 {
            h.lexical / (h.lexical + self.lexical_half)
        } else {
            0.0
        };
        let class = if words > self.class_words {
            self.class * h.sem_class
        } else {
            0.0
        };
        self.best * h.sem_best + self.whole * h.sem_whole + self.lexical * lex + class
    }
}

/// The outcome for ranked hits, and how many of the top hits are close enough to offer.
/// `off_topic` is how near the message is to the out-of-scope examples, measured as the hits'
/// `sem_best` is (`None` without them).
pub fn decide(
    hits: &[Hit],
    off_topic: Option<f32>,
    words: usize,
    t: &Thresholds,
) -> (Outcome, usize) {
    let Some(best) = hits.first() else {
        return (Outcome::NoAnswer, 0);
    };
    let full = best.coverage >= t.full_coverage && best.score >= t.min_score_full;
    let nearest_item = hits
        .iter()
        .map(|h| h.sem_best)
        .fold(f32::NEG_INFINITY, f32::max);
    let little =
        words < t.little_words && best.coverage < t.min_coverage && best.sem_best < t.min_semantic;
    let off_topic = little || off_topic.is_some_and(|o| o - nearest_item > t.off_topic_margin);
    if (best.score < t.min_score && !full) || off_topic {
        return (Outcome::NoAnswer, 0);
    }
    let close = hits
        .iter()
        .take(3)
        .filter(|h| h.score >= best.score * t.clarify_ratio)
        .count();
    if close >= 2 {
        (Outcome::Clarify, close)
    } else {
        (Outcome::Answer, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Kind;

    fn hit(score: f32, coverage: f32) -> Hit {
        Hit {
            id: format!("e{score}"),
            kind: Kind::Guidance,
            score,
            coverage,
            lexical: score,
            sem_best: 0.0,
            sem_whole: 0.0,
            sem_class: 0.0,
        }
    }

    #[test]
    fn outcomes() {
        let t = Thresholds::lexical();
        assert_eq!(decide(&[], None, 10, &t).0, Outcome::NoAnswer);
        assert_eq!(
            decide(&[hit(20.0, 0.9), hit(5.0, 0.5)], None, 10, &t),
            (Outcome::Answer, 1)
        );
        assert_eq!(
            decide(
                &[hit(20.0, 0.9), hit(19.5, 0.9), hit(19.0, 0.9)],
                None,
                10,
                &t
            ),
            (Outcome::Clarify, 3)
        );
        assert_eq!(
            decide(&[hit(20.0, 0.9), hit(18.0, 0.9)], None, 10, &t),
            (Outcome::Answer, 1)
        );
        assert_eq!(decide(&[hit(20.0, 0.1)], None, 10, &t).0, Outcome::NoAnswer);
        assert_eq!(decide(&[hit(1.0, 1.0)], None, 10, &t).0, Outcome::NoAnswer);
        assert_eq!(decide(&[hit(12.0, 0.3)], None, 10, &t).0, Outcome::Answer);
        assert_eq!(decide(&[hit(8.0, 1.0)], None, 10, &t).0, Outcome::Answer);
        assert_eq!(decide(&[hit(8.0, 0.8)], None, 10, &t).0, Outcome::NoAnswer);
    }

    #[test]
    fn off_topic_needs_little_coverage_and_little_meaning() {
        let t = Thresholds::default();
        let with = |score, coverage, sem_best| Hit {
            sem_best,
            ..hit(score, coverage)
        };
        assert_eq!(
            decide(&[with(0.5, 0.1, 0.4)], None, 10, &t).0,
            Outcome::NoAnswer
        );
        // The words are there, or the meaning is: in scope.
        assert_eq!(
            decide(&[with(0.5, 0.3, 0.4)], None, 10, &t).0,
            Outcome::Answer
        );
        assert_eq!(
            decide(&[with(0.5, 0.1, 0.5)], None, 10, &t).0,
            Outcome::Answer
        );
        // In scope but too weak a match overall.
        assert_eq!(
            decide(&[with(0.3, 0.3, 0.5)], None, 10, &t).0,
            Outcome::NoAnswer
        );
        // A long post covers little of any entry whatever it asks: the rule is off there, and
        // a weak score still declines.
        let long = t.little_words;
        assert_eq!(
            decide(&[with(0.5, 0.1, 0.4)], None, long - 1, &t).0,
            Outcome::NoAnswer
        );
        assert_eq!(
            decide(&[with(0.5, 0.1, 0.4)], None, long, &t).0,
            Outcome::Answer
        );
        assert_eq!(
            decide(&[with(0.3, 0.1, 0.4)], None, long, &t).0,
            Outcome::NoAnswer
        );
    }

    #[test]
    fn nearer_the_out_of_scope_examples_than_any_item_is_off_topic() {
        let t = Thresholds::default();
        let with = |score, coverage, sem_best| Hit {
            sem_best,
            ..hit(score, coverage)
        };
        // Well covered and a fair score: an answer, unless the message is nearer the
        // out-of-scope examples than any item by more than the margin.
        let hits = [with(0.6, 0.6, 0.55), with(0.3, 0.2, 0.58)];
        assert_eq!(decide(&hits, None, 10, &t).0, Outcome::Answer);
        assert_eq!(decide(&hits, Some(0.5), 10, &t).0, Outcome::Answer);
        // Measured against the nearest item (0.58), not the best-scored one (0.55).
        let tie = 0.58 + t.off_topic_margin;
        assert_eq!(decide(&hits, Some(tie - 0.005), 10, &t).0, Outcome::Answer);
        assert_eq!(
            decide(&hits, Some(tie + 0.005), 10, &t).0,
            Outcome::NoAnswer
        );
        // Without the model the rule is off.
        let lexical = Thresholds::lexical();
        let strong = [with(20.0, 0.9, 0.0)];
        assert_eq!(decide(&strong, Some(0.9), 10, &lexical).0, Outcome::Answer);
    }

    #[test]
    fn the_crisis_classifier_fires_on_its_own_and_more_strictly_in_a_sentence() {
        let t = CrisisThresholds::default();
        // Far from every example, no nearer the crisis side than the calm side: only the
        // classifier can fire.
        let sim = |class| CrisisSim {
            crisis: 0.30,
            example: 0,
            calm: 0.50,
            class,
        };
        let whole = |words| Span::Whole {
            words,
            split: false,
        };
        assert!(
            !t.fires(&sim(f32::NEG_INFINITY), whole(12)),
            "no classifier"
        );
        assert!(!t.fires(&sim(t.class - 0.01), whole(12)));
        assert!(
            t.fires(&sim(t.class), whole(12)),
            "a whole message at the threshold"
        );
        let between = (t.class + t.sentence_class) / 2.0;
        assert!(t.fires(&sim(between), whole(12)));
        assert!(
            !t.fires(&sim(between), Span::Sentence),
            "a sentence needs more"
        );
        assert!(t.fires(&sim(t.sentence_class), Span::Sentence));
        assert!(
            !t.fires(&sim(t.sentence_class), whole(t.class_words - 1)),
            "too few words for the classifier"
        );
    }

    #[test]
    fn a_long_message_and_a_calm_sentence_are_not_judged_by_their_nearest_example() {
        let t = CrisisThresholds::default();
        // Near an example and no nearer the calm side: the nearest-example rule alone.
        let near = CrisisSim {
            crisis: t.min + 0.1,
            example: 0,
            calm: t.min,
            class: -0.2,
        };
        let whole = |words, split| Span::Whole { words, split };
        assert!(t.fires(&near, whole(t.long_words - 1, true)));
        assert!(
            !t.fires(&near, whole(t.long_words, true)),
            "a long message is judged by its sentences"
        );
        assert!(
            t.fires(&near, whole(t.long_words, false)),
            "unless it has none"
        );
        assert!(t.fires(&near, Span::Sentence));
        let calm = CrisisSim {
            class: t.sentence_class_floor - 0.01,
            ..near
        };
        assert!(
            !t.fires(&calm, Span::Sentence),
            "the classifier reads it calm"
        );
        let very_near = CrisisSim {
            crisis: t.sure,
            ..calm
        };
        assert!(!t.fires(&very_near, Span::Sentence));
        assert!(
            t.fires(&very_near, whole(t.long_words, true)),
            "a whole message that close fires whatever its length"
        );
    }

    #[test]
    fn the_classifier_counts_only_in_long_messages() {
        let w = Weights::default();
        let h = Hit {
            sem_best: 0.6,
            sem_class: 0.5,
            ..hit(0.0, 0.0)
        };
        let short = w.fuse(&h, w.class_words);
        let long = w.fuse(&h, w.class_words + 1);
        assert!(
            (long - short - w.class * 0.5).abs() < 1e-6,
            "{short} {long}"
        );
    }
}

/// When the meaning layer of the crisis check fires: the message (or a sentence of it) is at
/// least `sure` similar to a crisis example, or at least `min` similar and no more than
/// `-margin` further from the crisis examples than from the calm side (the calm contrasts and
/// every ordinary entry's texts). The margin is negative: a near tie counts as a crisis. Set for
/// recall: `docs/calibration.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrisisThresholds {
    pub sure: f32,
    pub min: f32,
    pub margin: f32,
    /// The margin for a sentence of a longer message, scored on its own: stricter, since a
    /// long message has many sentences and each is a chance of a false alarm.
    pub sentence_margin: f32,
    /// The margin for a whole message of at most `short_words` words ("what do I pay him"):
    /// a few ordinary words sit about as near a crisis example as a calm text, so a near tie
    /// there is not enough. Short crisis messages ("hes jumped", "help he's got a knife") sit
    /// clearly nearer the examples, or are caught by the word lists.
    pub short_margin: f32,
    pub short_words: usize,
    /// The crisis classifier ([`crate::search::semantic::CrisisSim::class`]) at or above this
    /// fires on the whole message: it catches warning signs in words no single example is
    /// near ("took the lot. sorry", a pension question from someone who says they won't be
    /// around).
    pub class: f32,
    /// And on a sentence of a longer message: stricter, as for the margin.
    pub sentence_class: f32,
    /// The classifier counts only for a whole message of at least this many words: on "ok",
    /// "AND" or a lone space it reads noise (0.36 for "ok"). Sentences scored on their own have
    /// four words or more anyway.
    pub class_words: usize,
    /// A whole message of at least this many words that is also scored sentence by sentence
    /// is judged by its sentences and the classifier, not by its nearest example: the vector
    /// of a long message blurs its sentences together, and a long ordinary question ("a
    /// customer put back a big job… reduce their hours") sits as near a crisis example as a
    /// calm text. Every crisis in the development sets this long was caught by another rule.
    pub long_words: usize,
    /// A sentence's nearest-example rules (`sure`, `min` with the margin) count only when the
    /// classifier does not read that sentence as firmly calm (below this): one ordinary
    /// sentence of a long post can sit near an example while the classifier, which has seen
    /// the whole calm side, reads it as plainly calm.
    pub sentence_class_floor: f32,
}

/// What a crisis similarity was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The whole message, of `words` words; `split` when it is also scored sentence by
    /// sentence.
    Whole { words: usize, split: bool },
    /// One sentence of a longer message.
    Sentence,
}

impl Default for CrisisThresholds {
    fn default() -> Self {
        CrisisThresholds {
            sure: 0.74,
            min: 0.40,
            margin: -0.02,
            sentence_margin: 0.06,
            short_margin: 0.04,
            short_words: 6,
            class: 0.3,
            sentence_class: 0.4,
            class_words: 3,
            long_words: 40,
            sentence_class_floor: -0.5,
        }
    }
}

impl CrisisThresholds {
    /// Whether the layer fires for one vector: the whole message or one of its sentences.
    pub fn fires(&self, sim: &CrisisSim, span: Span) -> bool {
        let CrisisSim {
            crisis,
            calm,
            class,
            ..
        } = *sim;
        // Which rules count here: the nearest example being very close (`sure`), close and
        // nearer than the calm side (`near`), and the classifier.
        let (sure, near, margin, class_min, class_counts) = match span {
            Span::Sentence => {
                let calm_for_certain = class < self.sentence_class_floor;
                (
                    !calm_for_certain,
                    !calm_for_certain,
                    self.sentence_margin,
                    self.sentence_class,
                    true,
                )
            }
            Span::Whole { words, split } => (
                true,
                !(split && words >= self.long_words),
                if words <= self.short_words {
                    self.short_margin
                } else {
                    self.margin
                },
                self.class,
                words >= self.class_words,
            ),
        };
        (sure && crisis >= self.sure)
            || (near && crisis >= self.min && crisis - calm > margin)
            || (class_counts && class >= class_min)
    }
}
