//! One end-to-end test of the review app in real headless Chromium, driven over WebDriver
//! (`chromedriver`): log in, open the queue, open a question, tag it "content gap" with the
//! entry that should have answered it, and see it among the suggestions.
//!
//! Needs Debian's `chromium` and `chromium-driver`, so it is ignored unless asked for
//! (`--ignored`; `bash scripts/test.sh` installs both and runs it): without them it would fail,
//! and a pass without a browser would be unearned. With `WORKHEALTH_SCREENSHOTS=1` it also
//! saves `docs/screenshots/overview.png` and `docs/screenshots/queue.png`:
//!
//! ```text
//! WORKHEALTH_SCREENSHOTS=1 cargo test --locked --test it browser:: -- --ignored
//! ```

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::webdriver::{Driver, Session, base64_decode};
use workhealth::assistant::{Assistant, Context, Outcome};
use workhealth::log::{Feedback, Log, LogOptions, NewQuestion};

const PASSWORD: &str = "a browser test password";
const GAP: &str = "Do I have to pay an employee while they are on jury service?";
const SCRIPT_Q: &str = "<script>alert(1)</script> can I see the log?";

/// Questions a small employer might ask: most answered, some not.
const ASKED: &[&str] = &[
    "what is a fit note",
    "how much is statutory sick pay",
    "can I phone an employee who is off sick",
    "my employee has been off with stress for three weeks",
    "what reasonable adjustments should I make for someone with dyslexia",
    "do I have to report an accident at work",
    "how do I do a stress risk assessment",
    "can I ask about health in a job interview",
    "phased return after an operation",
    "what is access to work",
    "someone keeps phoning in sick on mondays",
    "can I dismiss someone who is always off sick",
    "staff member has long covid",
    "does holiday build up while off sick",
    "menopause support at work",
    "how do I pay staff for jury service",
    "jury service pay for part time staff",
    "maximum temperature in an office",
    "office too hot in summer what can I do",
    "is there a minimum wage for apprentices",
    "can I make staff work on bank holidays",
    "an employee with cancer wants to keep working",
    "how do I get occupational health for a small business",
    "self certification for a week off",
    CONTACT_Q,
];

/// A question whose contact details the log redacted to `[email]`.
const CONTACT_Q: &str = "contact details [email] please call me";

fn new_question(
    a: &Assistant,
    text: &str,
    days_ago: i64,
    user: &workhealth::log::UserKey,
) -> NewQuestion {
    let r = a.reply(&Context::default(), text);
    NewQuestion {
        id: 0,
        asked_at: Utc::now() - chrono::Duration::hours(days_ago * 24 + 1),
        user: user.clone(),
        region: r.region.clone().or(Some("north-east".into())),
        channel: "telegram".into(),
        text: text.into(),
        outcome: workhealth::log::Outcome::parse(r.outcome.as_str()).expect("a logged outcome"),
        results: r.results.iter().map(|x| (x.id.clone(), x.score)).collect(),
        shown_id: match r.outcome {
            Outcome::Answer | Outcome::Crisis => r.shown.as_ref().map(|s| s.id().to_string()),
            _ => None,
        },
        content_digest: r.content_digest.clone(),
        reply_text: Some(workhealth::render::terminal::reply(&r)),
    }
}

/// A question log like a month of use; returns the id of the question the test tags.
fn prefill(data: &Path) -> i64 {
    let content =
        workhealth::content::load_valid(&common::repo().join("content"), Utc::now().date_naive())
            .unwrap();
    let a = Assistant::in_memory(Arc::new(content)).unwrap();
    let log = Log::open(data, LogOptions::default()).unwrap();
    let mut n: i64 = 0;
    for day in 0..30i64 {
        // A few questions a day, more midweek, from the list in turn.
        let per_day = 1 + (day * 7 % 5);
        for _ in 0..per_day {
            let text = ASKED[(n as usize) % ASKED.len()];
            let user = log.user_key("telegram", 1000 + n);
            let q = new_question(&a, text, day, &user);
            let answered = q.outcome == "answer";
            let id = log.record(q);
            if answered && n % 3 == 0 {
                let fb = if n % 2 == 0 {
                    Feedback::Helpful
                } else {
                    Feedback::Unhelpful
                };
                log.feedback(&user, id, fb);
            }
            n += 1;
        }
    }
    let user = log.user_key("telegram", 1);
    log.record(new_question(&a, SCRIPT_Q, 0, &user));
    // Asked today too, unanswered, so it is in the queue whatever the content now makes of
    // it (the check below looks for its placeholder).
    let mut contact = new_question(&a, CONTACT_Q, 0, &user);
    contact.outcome = workhealth::log::Outcome::NoAnswer;
    contact.shown_id = None;
    log.record(contact);
    let mut gap = new_question(&a, GAP, 0, &user);
    gap.outcome = workhealth::log::Outcome::NoAnswer;
    gap.shown_id = None;
    gap.asked_at = Utc::now();
    let id = log.record(gap);
    log.flush_blocking();
    log.close();
    id
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `workhealth serve --no-telegram` on a free port (port 0; the bound one read from stderr).
fn serve(data: &Path, index: &Path) -> Server {
    let mut child = common::bin()
        .arg("--content")
        .arg(common::repo().join("content"))
        .arg("--index")
        .arg(index)
        .arg("--data")
        .arg(data)
        .args(["serve", "--no-telegram", "--listen", "127.0.0.1:0"])
        .env_remove("TELOXIDE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("workhealth: listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("serve did not start listening");
    Server { child, url }
}

fn add_reviewer(data: &Path, name: &str) {
    let r = common::run_with_stdin(
        &["--data", data.to_str().unwrap(), "reviewers", "add", name],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

async fn save_screenshot(s: &Session, name: &str) {
    let png = s.screenshot().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let dir = common::repo().join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), &png).unwrap();
    eprintln!("saved docs/screenshots/{name} ({} KB)", png.len() / 1024);
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
}

#[test]
#[ignore = "needs Chromium: install chromium and chromium-driver, run with --ignored (bash scripts/test.sh does)"]
fn a_reviewer_tags_a_question_in_a_real_browser_and_sees_it_in_the_suggestions() {
    let shots = std::env::var("WORKHEALTH_SCREENSHOTS").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gap = prefill(&data);
    add_reviewer(&data, "tuc-reviewer");
    let server = serve(&data, &dir.path().join("index"));
    let base = server.url.clone();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let driver = Driver::start().await;
        let s = Session::new(&driver, 1000, 800)
            .await
            .expect("a headless Chromium session");

        // Without a session the app sends the browser to the login form.
        s.goto(&format!("{base}/queue")).await.unwrap();
        s.wait_for_url("/login").await.unwrap();
        let name = s.find("input[name=name]").await.unwrap();
        s.send_keys(&name, "tuc-reviewer").await.unwrap();
        let pw = s.find("input[name=password]").await.unwrap();
        s.send_keys(&pw, PASSWORD).await.unwrap();
        s.click(&s.find("form.login button[type=submit]").await.unwrap())
            .await
            .unwrap();
        if let Err(e) = s.wait_for_url(&format!("{base}/")).await {
            panic!("login failed: {e}: {}", s.source().await.unwrap());
        }
        let h1 = s.text(&s.find("h1").await.unwrap()).await.unwrap();
        assert_eq!(h1, "Overview");
        assert_eq!(s.find_all("svg.chart").await.unwrap().len(), 2);
        if shots {
            save_screenshot(&s, "overview.png").await;
        }

        // The queue: the script is text, not code (an alert would break the next command).
        s.click(&s.find("nav a[href=\"/queue\"]").await.unwrap())
            .await
            .unwrap();
        s.wait_for_url("/queue").await.unwrap();
        let table = s.text(&s.find("table.queue").await.unwrap()).await.unwrap();
        assert!(table.contains("<script>alert(1)</script>"), "{table}");
        assert!(table.contains("[email]"), "{table}");
        let source = s.source().await.unwrap();
        assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        if shots {
            save_screenshot(&s, "queue.png").await;
        }

        // Open the question, tag it as a content gap with the entry that should answer it.
        s.click(
            &s.find(&format!("a[href=\"/questions/{gap}\"]"))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        s.wait_for_url(&format!("/questions/{gap}")).await.unwrap();
        let asked = s
            .text(&s.find("blockquote.question").await.unwrap())
            .await
            .unwrap();
        assert_eq!(asked, GAP);
        let gap_box = s.find("input[name=tag_content_gap]").await.unwrap();
        s.click(&gap_box).await.unwrap();
        assert!(s.is_selected(&gap_box).await.unwrap());
        s.click(
            &s.find("select[name=suggested] option[value=\"company-sick-pay\"]")
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        let note = s.find("textarea[name=note]").await.unwrap();
        s.send_keys(&note, "Nothing covers jury service.")
            .await
            .unwrap();
        s.click(&s.find("form.review button[type=submit]").await.unwrap())
            .await
            .unwrap();
        s.wait_for_url(&format!("/questions/{gap}?saved=1"))
            .await
            .unwrap();
        let notice = s.text(&s.find("p.notice").await.unwrap()).await.unwrap();
        assert_eq!(notice, "Saved.");
        assert!(
            s.is_selected(&s.find("input[name=tag_content_gap]").await.unwrap())
                .await
                .unwrap()
        );

        // The suggestions page proposes it as a `questions:` line for that entry.
        s.click(&s.find("nav a[href=\"/suggestions\"]").await.unwrap())
            .await
            .unwrap();
        s.wait_for_url("/suggestions").await.unwrap();
        let section = s
            .text(&s.find("section.suggestion").await.unwrap())
            .await
            .unwrap();
        assert!(section.contains("company-sick-pay"), "{section}");
        assert!(section.contains(&format!("- \"{GAP}\"")), "{section}");
        assert!(
            !s.find_all("a[href=\"/suggestions?format=yaml\"]")
                .await
                .unwrap()
                .is_empty()
        );

        // And it is in the queue filtered by its tag.
        s.goto(&format!("{base}/queue?tag=content%20gap"))
            .await
            .unwrap();
        assert_eq!(s.find_all("table.queue tbody tr").await.unwrap().len(), 1);

        // Log out: back to the login form, and the queue is closed again.
        s.click(&s.find("form.logout button").await.unwrap())
            .await
            .unwrap();
        s.wait_for_url("/login").await.unwrap();
        s.goto(&format!("{base}/queue")).await.unwrap();
        s.wait_for_url("/login").await.unwrap();
        s.delete().await.unwrap();
    });
    drop(server);
}
