//! The overview's charts: inline SVG drawn on the server with presentation attributes only
//! (the Content-Security-Policy allows no inline styles), each with a `<title>` per mark so a
//! hover shows the figure, and an `aria-label` summary.

use chrono::NaiveDate;
use maud::{Markup, html};

const W: f64 = 600.0;
const H: f64 = 170.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;
const BAR: &str = "#2f6f9f";
const LINE: &str = "#b5472c";
const GRID: &str = "#d9dde3";
const INK: &str = "#4a5058";

/// One day's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub date: NaiveDate,
    pub questions: u64,
    pub unanswered: u64,
}

fn plot_w() -> f64 {
    W - LEFT - RIGHT
}

fn plot_h() -> f64 {
    H - TOP - BOTTOM
}

/// A round maximum for the y axis (1, 2, 5 × 10^k), at least `v`.
fn nice_max(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

fn frame(label: &str, top_label: &str, points: &[Point], marks: Markup) -> Markup {
    let first = points.first().map(|p| p.date.format("%-d %b").to_string());
    let last = points.last().map(|p| p.date.format("%-d %b").to_string());
    html! {
        svg.chart viewBox={"0 0 " (W) " " (H)}
            role="img" aria-label=(label) preserveAspectRatio="xMidYMid meet" {
            title { (label) }
            line x1=(f(LEFT)) y1=(f(TOP)) x2=(f(W - RIGHT)) y2=(f(TOP)) stroke=(GRID) stroke-width="1" {}
            line x1=(f(LEFT)) y1=(f(TOP + plot_h() / 2.0)) x2=(f(W - RIGHT)) y2=(f(TOP + plot_h() / 2.0)) stroke=(GRID) stroke-width="1" {}
            line x1=(f(LEFT)) y1=(f(TOP + plot_h())) x2=(f(W - RIGHT)) y2=(f(TOP + plot_h())) stroke=(INK) stroke-width="1" {}
            text x=(f(LEFT - 4.0)) y=(f(TOP + 4.0)) text-anchor="end" font-size="11" fill=(INK) { (top_label) }
            text x=(f(LEFT - 4.0)) y=(f(TOP + plot_h() + 4.0)) text-anchor="end" font-size="11" fill=(INK) { "0" }
            (marks)
            @if let Some(first) = first {
                text x=(f(LEFT)) y=(f(H - 6.0)) font-size="11" fill=(INK) { (first) }
            }
            @if let Some(last) = last {
                text x=(f(W - RIGHT)) y=(f(H - 6.0)) text-anchor="end" font-size="11" fill=(INK) { (last) }
            }
        }
    }
}

/// Bars: questions a day.
pub fn questions(points: &[Point]) -> Markup {
    let total: u64 = points.iter().map(|p| p.questions).sum();
    let max = nice_max(points.iter().map(|p| p.questions).max().unwrap_or(0) as f64);
    let n = points.len().max(1) as f64;
    let step = plot_w() / n;
    let bar = (step * 0.8).max(1.0);
    let label = format!(
        "Questions a day over {} days: {total} in all, at most {} on one day",
        points.len(),
        points.iter().map(|p| p.questions).max().unwrap_or(0)
    );
    let marks = html! {
        @for (i, p) in points.iter().enumerate() {
            @let h = plot_h() * p.questions as f64 / max;
            @if p.questions > 0 {
                rect x=(f(LEFT + i as f64 * step + (step - bar) / 2.0)) y=(f(TOP + plot_h() - h))
                    width=(f(bar)) height=(f(h)) fill=(BAR) {
                    title { (p.date) ": " (p.questions) " question(s)" }
                }
            }
        }
    };
    frame(&label, &format!("{max}"), points, marks)
}

/// A line: the share of each day's questions left unanswered (days without questions are
/// gaps).
pub fn unanswered_rate(points: &[Point]) -> Markup {
    let n = points.len().max(1) as f64;
    let step = plot_w() / n;
    let xy = |i: usize, p: &Point| {
        let rate = p.unanswered as f64 / p.questions as f64;
        (
            LEFT + i as f64 * step + step / 2.0,
            TOP + plot_h() * (1.0 - rate),
            rate,
        )
    };
    // Runs of consecutive days that had questions, each drawn as one polyline.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for (i, p) in points.iter().enumerate() {
        if p.questions == 0 {
            open = false;
            continue;
        }
        let (x, y, _) = xy(i, p);
        if !open {
            runs.push(Vec::new());
            open = true;
        }
        if let Some(run) = runs.last_mut() {
            run.push((x, y));
        }
    }
    let asked: u64 = points.iter().map(|p| p.questions).sum();
    let unanswered: u64 = points.iter().map(|p| p.unanswered).sum();
    let overall = if asked > 0 {
        format!("{:.0}%", 100.0 * unanswered as f64 / asked as f64)
    } else {
        "no questions".to_string()
    };
    let label = format!(
        "Unanswered rate a day over {} days: {overall} overall",
        points.len()
    );
    let marks = html! {
        @for run in &runs {
            @if run.len() > 1 {
                polyline fill="none" stroke=(LINE) stroke-width="2"
                    points=(run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ")) {}
            }
        }
        @for (i, p) in points.iter().enumerate() {
            @if p.questions > 0 {
                @let (x, y, rate) = xy(i, p);
                circle cx=(f(x)) cy=(f(y)) r="2.5" fill=(LINE) {
                    title { (p.date) ": " (format!("{:.0}%", 100.0 * rate)) " unanswered (" (p.unanswered) " of " (p.questions) ")" }
                }
            }
        }
    };
    frame(&label, "100%", points, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts() -> Vec<Point> {
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        (0..5)
            .map(|i| Point {
                date: d + chrono::Duration::days(i),
                questions: [3, 0, 7, 1, 2][i as usize],
                unanswered: [1, 0, 7, 0, 1][i as usize],
            })
            .collect()
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(50.0), 50.0);
        assert_eq!(nice_max(51.0), 100.0);
    }

    #[test]
    fn charts_are_svg_without_styles() {
        let q = questions(&pts()).into_string();
        assert!(q.starts_with("<svg"), "{q}");
        assert_eq!(
            q.matches("<rect").count(),
            4,
            "a bar for each day with questions"
        );
        let r = unanswered_rate(&pts()).into_string();
        assert_eq!(r.matches("<circle").count(), 4);
        assert_eq!(r.matches("<polyline").count(), 1, "the gap splits the line");
        for s in [q, r] {
            assert!(!s.contains("style="), "{s}");
            assert!(!s.contains("<script"), "{s}");
        }
    }
}
