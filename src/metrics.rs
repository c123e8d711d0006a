//! Operational counters, rendered in the Prometheus text format for `/metrics`. No labels carry
//! personal data: outcomes, error kinds and results only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the reply latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Counters keyed by one label value.
#[derive(Default)]
pub struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    pub fn inc(&self, label: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(label.to_string()).or_default() += 1;
    }

    pub fn get(&self, label: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(label).copied().unwrap_or(0)
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

#[derive(Default)]
pub struct Metrics {
    /// Questions answered, by outcome.
    pub questions: Family,
    pub reply_latency: Histogram,
    /// Telegram request failures, by kind (retry_after, server, network, api, ...).
    pub telegram_errors: Family,
    pub telegram_retries: AtomicU64,
    /// Replies that could not be delivered after all retries.
    pub undelivered: AtomicU64,
    /// Content reloads, by result (ok, error).
    pub reloads: Family,
    /// Updates the bot received, by kind.
    pub updates: Family,
}

impl Metrics {
    /// The Prometheus text exposition; `extra` adds gauges known elsewhere (queue depth...).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut s = String::new();
        family(
            &mut s,
            "workhealth_questions_total",
            "Questions answered, by outcome.",
            "outcome",
            &self.questions,
        );
        let _ = writeln!(
            s,
            "# HELP workhealth_reply_seconds Time from a question to its reply being built.\n# TYPE workhealth_reply_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "workhealth_reply_seconds_bucket{{le=\"{b}\"}} {}",
                self.reply_latency.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.reply_latency.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "workhealth_reply_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            s,
            "workhealth_reply_seconds_sum {}",
            self.reply_latency.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "workhealth_reply_seconds_count {count}");
        family(
            &mut s,
            "workhealth_telegram_errors_total",
            "Failed Telegram requests, by kind.",
            "kind",
            &self.telegram_errors,
        );
        counter(
            &mut s,
            "workhealth_telegram_retries_total",
            "Telegram requests retried.",
            self.telegram_retries.load(Ordering::Relaxed),
        );
        counter(
            &mut s,
            "workhealth_undelivered_total",
            "Replies not delivered after all retries.",
            self.undelivered.load(Ordering::Relaxed),
        );
        family(
            &mut s,
            "workhealth_reloads_total",
            "Content reloads, by result.",
            "result",
            &self.reloads,
        );
        family(
            &mut s,
            "workhealth_updates_total",
            "Telegram updates received, by kind.",
            "kind",
            &self.updates,
        );
        for (name, help, v) in gauges {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        s
    }
}

fn counter(s: &mut String, name: &str, help: &str, v: u64) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
}

fn family(s: &mut String, name: &str, help: &str, label: &str, f: &Family) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in f.snapshot() {
        let k = k.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(s, "{name}{{{label}=\"{k}\"}} {v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.questions.inc("answer");
        m.questions.inc("answer");
        m.reply_latency.observe(Duration::from_micros(1500));
        let text = m.render(&[("workhealth_log_queue_depth", "Queued log writes.", 3.0)]);
        assert!(text.contains("workhealth_questions_total{outcome=\"answer\"} 2"));
        assert!(text.contains("workhealth_reply_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("workhealth_reply_seconds_bucket{le=\"0.002\"} 1"));
        assert!(text.contains("workhealth_reply_seconds_count 1"));
        assert!(text.contains("workhealth_log_queue_depth 3"));
    }
}
