//! The `ask --json` object, in the shared evaluation format.

use serde_json::{Value, json};

use crate::assistant::Reply;

pub fn reply(r: &Reply) -> Value {
    json!({
        "question": r.question,
        "region": r.region,
        "outcome": r.outcome.as_str(),
        "results": r.results.iter().map(|x| json!({
            "id": x.id, "kind": x.kind.as_str(), "title": x.title, "score": x.score,
        })).collect::<Vec<_>>(),
    })
}
