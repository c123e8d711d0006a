//! Load tests of the whole bot path against the fake Bot API. Ignored by default: run them with
//! the README's benchmark command
//! (`cargo test --release --locked --test it load:: -- --ignored --nocapture`).
//! They print what they measured; the targets are asserted so a regression fails.

use crate::common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fake_telegram::FakeTelegram;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(fake: &FakeTelegram, data: &std::path::Path, throttle: &str) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_workhealth"))
        .args([
            "--content",
            common::repo().join("content").to_str().unwrap(),
        ])
        .args(["--index", data.join("index").to_str().unwrap()])
        .args(["--data", data.join("data").to_str().unwrap()])
        .args(["serve", "--listen", "127.0.0.1:0", "--throttle", throttle])
        .env("TELOXIDE_TOKEN", "123456:LOAD")
        .env("TELOXIDE_API_URL", fake.api_url())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while fake.calls("getUpdates") == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "serve never polled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Proc(child)
}

/// Peak resident memory of a process, in MB (Linux).
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

const QUESTIONS: [&str; 6] = [
    "how much is statutory sick pay",
    "can I ring someone who is off sick",
    "what is a fit note",
    "how do I do a return to work meeting",
    "can I claim VAT back on a van",
    "my worker is stressed out, what should I do",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run with --ignored (see README)"]
async fn whole_path_throughput_latency_and_memory_without_throttling() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let proc = serve(&fake, dir.path(), "off").await;
    // Warm up.
    for i in 0..50 {
        fake.send_text(800_000_000 + i, QUESTIONS[i as usize % QUESTIONS.len()]);
    }
    fake.wait_sent(50, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warm = fake.sent().len();
    let warm_done = fake.count_sent(|s| !s.buttons.is_empty());

    // 5,000 updates from 1,000 chats, offered at a steady rate (default 1,100 a second).
    const N: usize = 5000;
    let per_sec: u64 = std::env::var("WORKHEALTH_LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1100);
    let mut pushed: HashMap<i64, Vec<Instant>> = HashMap::new();
    let started = Instant::now();
    for i in 0..N {
        let chat = 810_000_000 + (i % 1000) as i64;
        pushed.entry(chat).or_default().push(Instant::now());
        fake.send_text(chat, QUESTIONS[i % QUESTIONS.len()]);
        // Evenly spread, as steady traffic arrives (the timer's 1 ms tick groups a few).
        let due = started + Duration::from_micros((i as u64 + 1) * 1_000_000 / per_sec);
        tokio::time::sleep_until(due.into()).await;
    }
    // Every question's reply ends with its buttons: count the last parts.
    let t0 = Instant::now();
    loop {
        let done = fake.count_sent(|s| !s.buttons.is_empty()) - warm_done;
        if done >= N {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "only {done} of {N} answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    // Latency: each update to the first sendMessage that answers it (per chat, in order).
    let mut firsts: HashMap<i64, Vec<Instant>> = HashMap::new();
    let mut open: HashMap<i64, bool> = HashMap::new();
    for s in &fake.sent()[warm..] {
        let starts_reply = !open.get(&s.chat_id).copied().unwrap_or(false);
        if starts_reply {
            firsts.entry(s.chat_id).or_default().push(s.at);
        }
        // A reply is open until its last part (the one with buttons) is sent.
        open.insert(s.chat_id, s.buttons.is_empty());
    }
    let mut lat: Vec<Duration> = Vec::new();
    for (chat, ts) in &pushed {
        let got = &firsts[chat];
        assert_eq!(got.len(), ts.len(), "chat {chat}");
        lat.extend(
            ts.iter()
                .zip(got)
                .map(|(p, s)| s.saturating_duration_since(*p)),
        );
    }
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let rate = N as f64 / elapsed.as_secs_f64();
    let rss = peak_rss_mb(proc.0.id());
    println!(
        "load: {N} updates in {:.2} s = {rate:.0} updates/s; update->sendMessage p50={:?} p99={:?} max={:?}; peak RSS {rss:.1} MB",
        elapsed.as_secs_f64(),
        p(0.50),
        p(0.99),
        lat.last().unwrap()
    );
    assert!(fake.rejected().is_empty(), "{:?}", fake.rejected().first());
    // DESIGN.md's targets for the whole bot path, model included. Offered faster than that,
    // the queue grows, so the latency printed above is a queue's, not a target.
    assert!(rate >= 300.0, "{rate:.0} updates/s (target 300)");
    assert!(rss <= 250.0, "peak RSS {rss:.1} MB (target 250)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test: run with --ignored (see README)"]
async fn with_throttling_200_chats_by_5_questions_are_all_answered() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _proc = serve(&fake, dir.path(), "on").await;
    let started = Instant::now();
    for round in 0..5 {
        for c in 0..200 {
            fake.send_text(
                820_000_000 + c,
                QUESTIONS[(c as usize + round) % QUESTIONS.len()],
            );
        }
    }
    let t0 = Instant::now();
    loop {
        if fake.count_sent(|s| !s.buttons.is_empty()) < 1000 {
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "after 300 s only {} answered",
                fake.count_sent(|s| !s.buttons.is_empty())
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        let mut per_chat: HashMap<i64, usize> = HashMap::new();
        for s in fake.sent().iter().filter(|s| !s.buttons.is_empty()) {
            *per_chat.entry(s.chat_id).or_default() += 1;
        }
        if per_chat.len() == 200 && per_chat.values().all(|n| *n == 5) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "after 300 s: {} chats answered, {} replies",
            per_chat.len(),
            per_chat.values().sum::<usize>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "throttled: 1000 questions from 200 chats all answered in {:.1} s ({} messages sent, none refused)",
        started.elapsed().as_secs_f64(),
        fake.sent().len()
    );
    assert!(fake.rejected().is_empty());
}
