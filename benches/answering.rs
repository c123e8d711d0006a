//! Speed of answering (DESIGN.md targets): one reply on the real content, one reply and the
//! index build on a generated 20,000-entry corpus, and the real index build. Prints p50, p99
//! and max per call, since the targets are p99. Run: `cargo bench --bench answering`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use workhealth::assistant::{Assistant, Context};
use workhealth::content::{self, Content, Entry, Source};
use workhealth::search::SearchIndex;

fn percentiles(mut v: Vec<Duration>) -> String {
    v.sort();
    let p = |q: f64| {
        v[((v.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(v.len() - 1)]
    };
    format!(
        "n={} p50={:?} p99={:?} max={:?}",
        v.len(),
        p(0.50),
        p(0.99),
        v[v.len() - 1]
    )
}

fn questions() -> Vec<String> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("content/tests/dev.yaml"),
    )
    .unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("- q: "))
        .map(|q| q.trim_matches('"').to_string())
        .collect()
}

fn time_replies(a: &Assistant, qs: &[String], rounds: usize) -> Vec<Duration> {
    let cx = Context::in_region(Some("north-east"));
    for q in qs {
        std::hint::black_box(a.reply(&cx, q)); // warm up
    }
    let mut out = Vec::with_capacity(qs.len() * rounds);
    for _ in 0..rounds {
        for q in qs {
            let t = Instant::now();
            std::hint::black_box(a.reply(&cx, q));
            out.push(t.elapsed());
        }
    }
    out
}

/// A corpus of `n` generated entries from the real content's words, deterministic.
fn synthetic(real: &Content, n: usize) -> Content {
    let words: Vec<String> = real
        .entries
        .iter()
        .flat_map(|e| {
            e.answer.split_whitespace().map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
        })
        .filter(|w| w.len() > 2)
        .collect();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut pick = |k: usize| -> String {
        (0..k)
            .map(|_| words[(next() as usize) % words.len()].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let template = &real.entries[0];
    let entries: Vec<Entry> = (0..n)
        .map(|i| Entry {
            id: format!("synthetic-{i}"),
            title: pick(5),
            topic: template.topic.clone(),
            questions: (0..6).map(|_| pick(9)).collect(),
            summary: pick(40),
            answer: pick(300),
            programmes: Vec::new(),
            related: Vec::new(),
            sources: vec![Source {
                title: "s".into(),
                url: "https://www.gov.uk".into(),
                pos: template.sources[0].pos.clone(),
            }],
            reviewed: template.reviewed,
            review_by: None,
            path: template.path.clone(),
        })
        .collect();
    Content::new(
        real.root.clone(),
        real.topics.clone(),
        real.regions.clone(),
        real.synonyms.clone(),
        real.crisis.clone(),
        entries,
        real.programmes.clone(),
        format!("synthetic-{n}"),
    )
}

fn tempfile_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("content");
    let real = Arc::new(content::load_valid(&root, chrono::Utc::now().date_naive()).unwrap());
    let qs = questions();

    let mut builds = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        std::hint::black_box(SearchIndex::build_in_ram(&real).unwrap());
        builds.push(t.elapsed());
    }
    println!(
        "index build, real content ({} items): {}",
        real.entries.len() + real.programmes.len(),
        percentiles(builds)
    );

    let a = Assistant::in_memory(real.clone()).unwrap();
    println!(
        "reply, real content, words alone (no model): {}",
        percentiles(time_replies(&a, &qs, 20))
    );

    // With the embedding model (fetched by `workhealth model fetch`).
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    let cache = tempfile_dir("bench-vectors");
    let _ = std::fs::remove_dir_all(&cache);
    let t = Instant::now();
    let hybrid = workhealth::run::assistant_in_memory(real.clone(), &model, Some(&cache))
        .expect("the embedding model: run `cargo run --release -- model fetch` first");
    println!(
        "index build with embeddings, real content, no vector cache: {:?} ({} texts embedded)",
        t.elapsed(),
        hybrid.semantic().map_or(0, |s| s.embedded)
    );
    let mut warm = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(
            workhealth::run::assistant_in_memory(real.clone(), &model, Some(&cache)).unwrap(),
        );
        warm.push(t.elapsed());
    }
    println!(
        "index build with embeddings, real content, vector cache present (model load included): {}",
        percentiles(warm)
    );
    let thirty: Vec<String> = qs
        .iter()
        .map(|q| {
            // Every question padded to 30 words with more of the dev set's words.
            let mut words: Vec<&str> = q.split_whitespace().collect();
            let filler: Vec<&str> = qs.iter().flat_map(|x| x.split_whitespace()).collect();
            let mut i = q.len();
            while words.len() < 30 {
                words.push(filler[i % filler.len()]);
                i += 7;
            }
            words.truncate(30);
            words.join(" ")
        })
        .collect();
    println!(
        "reply, real content, with the model, 30-word questions: {}",
        percentiles(time_replies(&hybrid, &thirty, 5))
    );
    println!(
        "reply, real content, with the model, dev questions as written: {}",
        percentiles(time_replies(&hybrid, &qs, 5))
    );

    let big = Arc::new(synthetic(&real, 20_000));
    let t = Instant::now();
    let index = SearchIndex::build_in_ram(&big).unwrap();
    println!("index build, 20,000 generated entries: {:?}", t.elapsed());
    let t = Instant::now();
    let a = Assistant::new(big, index, None);
    println!(
        "assistant start-up over 20,000 entries (term tables): {:?}",
        t.elapsed()
    );
    println!(
        "reply, 20,000 generated entries: {}",
        percentiles(time_replies(&a, &qs, 3))
    );
}
