//! Calibration aid: reads texts, one per line, on stdin and prints, per text, a JSON line with
//! the vectors the assistant would compute for it (the whole message, then each sentence).
//! Run: `cargo run --release --example embed_dump < texts.txt > vectors.jsonl`.
use std::io::BufRead;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    let e = workhealth::embed::Embedder::load(&dir).expect("run `workhealth model fetch` first");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        let m = workhealth::assistant::message::read(&line);
        let mut texts: Vec<&str> = vec![m.core.as_str()];
        texts.extend(m.sentences.iter().map(String::as_str));
        let vs = e.embed_many(&texts);
        let rounded: Vec<Vec<f32>> = vs
            .into_iter()
            .map(|v| v.into_iter().map(|x| (x * 1e5).round() / 1e5).collect())
            .collect();
        println!("{}", serde_json::to_string(&rounded).expect("json"));
    }
}
