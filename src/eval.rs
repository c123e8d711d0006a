//! `workhealth eval`: retrieval metrics over a test file, exactly as `content/tests/` and the
//! shared evaluation format define them.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::assistant::{Assistant, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub q: String,
    pub expect: Expect,
    #[serde(default)]
    pub crisis: bool,
    #[serde(default)]
    pub region: Option<String>,
    /// Where a real question was posted (real-dev.yaml); not used by the metrics.
    #[serde(default)]
    pub source: Option<String>,
}

impl Case {
    /// The entry ids this case expects; empty when it is out of scope (`expect: none`,
    /// `expect: []` or `expect: [none]`, the way test writers write it).
    pub fn expected(&self) -> Vec<String> {
        match &self.expect {
            Expect::Ids(ids) if ids.len() == 1 && ids[0].eq_ignore_ascii_case("none") => Vec::new(),
            Expect::Ids(ids) => ids.clone(),
            Expect::None(_) => Vec::new(),
        }
    }
}

/// Every expected id that no entry or programme has, with the question expecting it:
/// a misspelt id would otherwise count as a wrong answer for ever.
pub fn unknown_ids(cases: &[Case], known: impl Fn(&str) -> bool) -> Vec<(&str, String)> {
    cases
        .iter()
        .flat_map(|c| {
            c.expected()
                .into_iter()
                .filter(|id| !known(id))
                .map(move |id| (c.q.as_str(), id))
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    Ids(Vec<String>),
    None(NoneWord),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoneWord {
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub q: String,
    pub expect: Vec<String>,
    pub region: Option<String>,
    pub outcome: Outcome,
    pub got: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub cases: usize,
    pub answerable: usize,
    pub none: usize,
    pub crisis: usize,
    pub top1: f64,
    pub top3: f64,
    pub mrr: f64,
    pub declined_correctly: f64,
    pub declined_wrongly: f64,
    /// Answerable cases answered with an expected entry, or offered one among the first
    /// three choices of a clarify (or a crisis reply leading with it).
    pub helped: f64,
    /// Answerable cases answered outright with an entry that is not expected.
    pub wrong_answer: f64,
    /// Answerable cases that got a choice (clarify) rather than an answer.
    pub clarified: f64,
    pub crisis_recall: f64,
    /// Share of cases not marked crisis that got the crisis reply.
    pub false_alarm: f64,
    pub failures: Vec<Failure>,
}

pub fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    use anyhow::Context as _;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let (l, c) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let message = serde_saphyr::MessageFormatter::format_message(
            &serde_saphyr::DefaultMessageFormatter,
            &e,
        );
        anyhow::anyhow!("{}:{l}:{c}: {}", path.display(), message.escape_debug())
    })
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        ((n as f64 / d as f64) * 10_000.0).round() / 10_000.0
    }
}

pub fn evaluate(assistant: &Assistant, cases: &[Case]) -> Metrics {
    let (mut answerable, mut none, mut crisis) = (0, 0, 0);
    let (mut top1, mut top3, mut rr) = (0, 0, 0.0);
    let (mut declined_ok, mut declined_wrong, mut crisis_ok) = (0, 0, 0);
    let (mut helped, mut wrong, mut clarified, mut alarms) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let reply = assistant.reply(
            &Context {
                region: case.region.clone(),
            },
            &case.q,
        );
        let got: Vec<String> = reply.results.iter().map(|r| r.id.clone()).collect();
        let mut failed = false;
        let expect = case.expected();
        if case.crisis {
            crisis += 1;
            if reply.outcome == Outcome::Crisis {
                crisis_ok += 1;
            } else {
                failed = true;
            }
        } else if reply.outcome == Outcome::Crisis {
            alarms += 1;
            failed = true;
        }
        if expect.is_empty() {
            none += 1;
            // Small talk ("hiya", "thanks") is declined too: a friendly word, no answer.
            if matches!(reply.outcome, Outcome::NoAnswer | Outcome::SmallTalk) {
                declined_ok += 1;
            } else {
                failed = true;
            }
        } else {
            answerable += 1;
            let rank = got.iter().position(|id| expect.contains(id));
            if matches!(reply.outcome, Outcome::NoAnswer | Outcome::SmallTalk) {
                declined_wrong += 1;
                failed = true;
            } else if rank == Some(0) {
                top1 += 1;
            } else {
                failed = true;
            }
            if rank.is_some_and(|r| r < 3) {
                top3 += 1;
            }
            match reply.outcome {
                Outcome::Answer | Outcome::Crisis if rank == Some(0) => helped += 1,
                Outcome::Answer => wrong += 1,
                Outcome::Clarify => {
                    clarified += 1;
                    let offered = reply.choices.iter().take(3).any(|c| {
                        matches!(c, crate::assistant::Choice::Show { id, .. } if expect.contains(id))
                    });
                    if offered {
                        helped += 1;
                    } else {
                        failed = true;
                    }
                }
                _ => {}
            }
            if let Some(r) = rank {
                rr += 1.0 / (r as f64 + 1.0);
            }
        }
        if failed {
            failures.push(Failure {
                q: case.q.clone(),
                expect,
                region: case.region.clone(),
                outcome: reply.outcome,
                got,
            });
        }
    }
    Metrics {
        cases: cases.len(),
        answerable,
        none,
        crisis,
        top1: ratio(top1, answerable),
        top3: ratio(top3, answerable),
        mrr: if answerable == 0 {
            0.0
        } else {
            (rr / answerable as f64 * 10_000.0).round() / 10_000.0
        },
        declined_correctly: ratio(declined_ok, none),
        declined_wrongly: ratio(declined_wrong, answerable),
        helped: ratio(helped, answerable),
        wrong_answer: ratio(wrong, answerable),
        clarified: ratio(clarified, answerable),
        crisis_recall: ratio(crisis_ok, crisis),
        false_alarm: ratio(alarms, cases.len() - crisis),
        failures,
    }
}

/// The metrics without the failures (one file of several).
pub fn summary(m: &Metrics) -> String {
    table(&Metrics {
        failures: Vec::new(),
        ..m.clone()
    })
}

/// The short table `eval` prints without `--json`.
pub fn table(m: &Metrics) -> String {
    let mut s = format!(
        "cases {}  answerable {}  none {}  crisis {}\n\
         top1 {:.3}  top3 {:.3}  mrr {:.3}\n\
         helped {:.3}  wrong_answer {:.3}  clarified {:.3}\n\
         declined_correctly {:.3}  declined_wrongly {:.3}\n\
         crisis_recall {:.3}  false_alarm {:.3}\n",
        m.cases,
        m.answerable,
        m.none,
        m.crisis,
        m.top1,
        m.top3,
        m.mrr,
        m.helped,
        m.wrong_answer,
        m.clarified,
        m.declined_correctly,
        m.declined_wrongly,
        m.crisis_recall,
        m.false_alarm
    );
    if !m.failures.is_empty() {
        s.push_str(&format!("\n{} failure(s):\n", m.failures.len()));
        for f in &m.failures {
            let expect = if f.expect.is_empty() {
                "none".to_string()
            } else {
                f.expect.join(",")
            };
            let region = f
                .region
                .as_deref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default();
            s.push_str(&format!(
                "- {:?}{region}\n    expect {expect}; got {} {}\n",
                f.q,
                f.outcome.as_str(),
                f.got.iter().take(3).cloned().collect::<Vec<_>>().join(",")
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(yaml: &str) -> Case {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn none_is_out_of_scope_however_it_is_written() {
        for y in [
            "q: a\nexpect: none",
            "q: a\nexpect: []",
            "q: a\nexpect: [none]",
            "q: a\nexpect: [None]",
        ] {
            assert!(case(y).expected().is_empty(), "{y}");
        }
        assert_eq!(case("q: a\nexpect: [fit-notes]").expected(), ["fit-notes"]);
        // `none` beside a real id is not the out-of-scope word: it stays, to be reported.
        assert_eq!(
            case("q: a\nexpect: [fit-notes, none]").expected(),
            ["fit-notes", "none"]
        );
    }

    #[test]
    fn unknown_ids_are_named_with_their_question() {
        let cases = [
            case("q: one\nexpect: [fit-notes]"),
            case("q: two\nexpect: [fit-note]"),
            case("q: three\nexpect: [none]"),
        ];
        let known = |id: &str| id == "fit-notes";
        assert_eq!(
            unknown_ids(&cases, known),
            [("two", "fit-note".to_string())]
        );
    }
}
