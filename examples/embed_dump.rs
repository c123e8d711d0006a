//! Calibration aid: reads texts, one per line, on stdin and prints, per text, a JSON line with
//! the vectors the assistant would compute for it (the whole message, then each sentence).
//! With `--texts`, each JSON line is `{texts, vectors}`. With `--raw`, each line is embedded as it is (one vector), as content texts are.
//! Run: `cargo run --release --example embed_dump [-- --raw] < texts.txt > vectors.jsonl`.
use std::io::BufRead;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    let e = workhealth::embed::Embedder::load(&dir).expect("run `workhealth model fetch` first");
    let raw = std::env::args().any(|a| a == "--raw");
    let with_texts = std::env::args().any(|a| a == "--texts");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let texts: Vec<String> = if raw {
            vec![line.clone()]
        } else {
            let m = workhealth::assistant::message::read(&line);
            std::iter::once(m.core).chain(m.sentences).collect()
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vs = e.embed_many(&refs);
        let rounded: Vec<Vec<f32>> = vs
            .into_iter()
            .map(|v| v.into_iter().map(|x| (x * 1e5).round() / 1e5).collect())
            .collect();
        let out = if with_texts {
            serde_json::json!({ "texts": texts, "vectors": rounded })
        } else {
            serde_json::json!(rounded)
        };
        println!("{out}");
    }
}
