//! Times the embedder alone on one question, to separate its cost from the rest of a reply.
//! Run: `cargo run --release --example embed_time` (set RAYON_NUM_THREADS=1 for one core;
//! WORKHEALTH_EMBED_PRECISION=f32 to time the f32 encoder where int8 would be chosen).
//!
//! Prints the encoder's precision, the wall-clock p50 and p99 of 200 calls and, on Linux, the
//! same of the time the thread was actually on a processor (from /proc/thread-self/schedstat),
//! which stays meaningful when the machine is busy with other work and the thread waits its
//! turn. That counter is brought up to date only at scheduler events (ticks of a few
//! milliseconds), so for calls of a few milliseconds it is coarse: trust its p99 more than its p50.
use std::time::{Duration, Instant};

/// Nanoseconds this thread has run on a processor, where the system says.
fn on_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    let e = workhealth::embed::Embedder::load(&dir).expect("run `workhealth model fetch` first");
    let q = "one of my lads has been signed off with stress for three weeks and I do not know \
             whether I should ring him or leave him alone, and what do I pay him meanwhile please";
    for _ in 0..5 {
        e.embed(q);
    }
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..200 {
        let c = on_cpu();
        let t = Instant::now();
        std::hint::black_box(e.embed(q));
        wall.push(t.elapsed());
        if let (Some(before), Some(after)) = (c, on_cpu()) {
            cpu.push(after.saturating_sub(before));
        }
    }
    wall.sort();
    println!("encoder precision: {}", e.precision().name());
    println!(
        "embed one 30-word question: p50={:?} p99={:?}",
        wall[100], wall[197]
    );
    if cpu.len() == wall.len() {
        cpu.sort();
        println!("  on a processor: p50={:?} p99={:?}", cpu[100], cpu[197]);
    }
}
