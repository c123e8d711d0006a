//! The `ask --json` object, in the shared evaluation format.
//!
//! That format knows four outcomes: `answer`, `clarify`, `no_answer` and `crisis`. Small talk
//! ("hiya", "thanks", an emoji) gets a friendly word and no guidance, so here it is `no_answer`,
//! with `"smalltalk": true` beside it; the log and the review app keep it as `smalltalk`.

use serde_json::{Value, json};

use crate::assistant::Reply;
use crate::outcome::Outcome;

pub fn reply(r: &Reply) -> Value {
    let outcome = match r.outcome {
        Outcome::SmallTalk => Outcome::NoAnswer,
        o => o,
    };
    let mut v = json!({
        "question": r.question,
        "region": r.region,
        "outcome": outcome.as_str(),
        "results": r.results.iter().map(|x| json!({
            "id": x.id, "kind": x.kind.as_str(), "title": x.title, "score": x.score,
        })).collect::<Vec<_>>(),
    });
    if r.outcome == Outcome::SmallTalk {
        v["smalltalk"] = Value::Bool(true);
    }
    v
}
