//! Times the embedder alone on one question, to separate its cost from the rest of a reply.
//! Run: `cargo run --release --example embed_time` (set RAYON_NUM_THREADS=1 for one core).
use std::time::Instant;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    let e = workhealth::embed::Embedder::load(&dir).expect("run `workhealth model fetch` first");
    let q = "one of my lads has been signed off with stress for three weeks and I do not know \
             whether I should ring him or leave him alone, and what do I pay him meanwhile please";
    for _ in 0..5 {
        e.embed(q);
    }
    let mut v = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        std::hint::black_box(e.embed(q));
        v.push(t.elapsed());
    }
    v.sort();
    println!(
        "embed one 30-word question: p50={:?} p99={:?}",
        v[100], v[197]
    );
}
