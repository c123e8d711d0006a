//! Running it for real: live content reload (file changes, SIGHUP), the last good content kept
//! on errors, `/readyz` and `/metrics`, webhook mode, and two replicas sharing one log.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::fake_telegram::FakeTelegram;
use common::serve::{Launch, Serve, T};
use workhealth::log::{Filter, ReadStore};

const OLD_TITLE: &str = "Self-certifying sickness: the first seven days";
const NEW_TITLE: &str = "Self-certifying sickness: seven days without a note";
const QUESTION: &str = "how many days can someone self certify for";

fn content_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo().join("content"), dir.path());
    dir
}

fn entry(dir: &Path) -> std::path::PathBuf {
    dir.join("guidance/absence/self-certification.yaml")
}

async fn answer_text(s: &Serve, chat: i64, q: &str) -> String {
    s.ask(chat, q)
        .await
        .iter()
        .map(|m| m.plain.clone().unwrap_or_default())
        .collect()
}

async fn get(url: String) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Asks until the answer contains `want` or `limit` passes; returns how long it took.
async fn until_answer_has(s: &Serve, chat: i64, want: &str, limit: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let text = answer_text(s, chat, QUESTION).await;
        if text.contains(want) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "still not {want:?} after {limit:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_a_content_file_changes_the_answer_within_seconds() {
    let content = content_copy();
    let mut s = Serve::start_with(&["--throttle", "off"], content.path()).await;
    let chat = 720_000_001;
    assert!(answer_text(&s, chat, QUESTION).await.contains(OLD_TITLE));
    let (_, before) = get(format!("{}/readyz", s.http)).await;
    let text = std::fs::read_to_string(entry(content.path())).unwrap();
    std::fs::write(entry(content.path()), text.replace(OLD_TITLE, NEW_TITLE)).unwrap();
    let took = until_answer_has(&s, chat, NEW_TITLE, Duration::from_secs(5)).await;
    println!("reloaded and answering from the new content after {took:?}");
    let (_, after) = get(format!("{}/readyz", s.http)).await;
    assert_ne!(before, after, "the content digest changes with the reload");
    s.stop().await;
    // The log records which version of the content answered each question.
    let digests: std::collections::HashSet<String> = s
        .db()
        .questions(&Filter::default(), 100, 0)
        .unwrap()
        .into_iter()
        .map(|q| q.content_digest)
        .collect();
    assert!(digests.len() >= 2, "{digests:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_file_keeps_the_last_good_content_and_says_why() {
    let content = content_copy();
    let s = Serve::start_with(&["--throttle", "off"], content.path()).await;
    let chat = 720_000_002;
    assert!(answer_text(&s, chat, QUESTION).await.contains(OLD_TITLE));
    let text = std::fs::read_to_string(entry(content.path())).unwrap();
    let broken = text
        .replace(OLD_TITLE, NEW_TITLE)
        .replace("summary:", "summary: [unclosed\nsummary:");
    std::fs::write(entry(content.path()), broken).unwrap();
    let t0 = Instant::now();
    loop {
        let (_, m) = get(format!("{}/metrics", s.http)).await;
        if m.lines().any(|l| l == "workhealth_content_stale 1") {
            assert!(
                m.contains("workhealth_reloads_total{result=\"error\"}"),
                "{m}"
            );
            break;
        }
        assert!(t0.elapsed() < T, "no failed reload seen: {}", s.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = s.log_text();
    assert!(
        log.contains("self-certification.yaml:"),
        "the error names its file and line: {log}"
    );
    let now = answer_text(&s, chat, QUESTION).await;
    assert!(
        now.contains(OLD_TITLE),
        "still the last good content: {now}"
    );
    let (code, _) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "stale content still answers");
    // Mended: answers move on and the stale flag clears.
    std::fs::write(entry(content.path()), text.replace(OLD_TITLE, NEW_TITLE)).unwrap();
    until_answer_has(&s, chat, NEW_TITLE, Duration::from_secs(5)).await;
    let (_, m) = get(format!("{}/metrics", s.http)).await;
    assert!(m.lines().any(|l| l == "workhealth_content_stale 0"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads() {
    let content = content_copy();
    let s = Serve::start_with(&["--throttle", "off", "--watch", "off"], content.path()).await;
    let chat = 720_000_003;
    let text = std::fs::read_to_string(entry(content.path())).unwrap();
    std::fs::write(entry(content.path()), text.replace(OLD_TITLE, NEW_TITLE)).unwrap();
    // A fixed wait is right here: the test shows that nothing happens. 800 ms is more than a
    // watcher's 300 ms quiet window before it reloads, had watching been on.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        answer_text(&s, chat, QUESTION).await.contains(OLD_TITLE),
        "no reload without a signal when watching is off"
    );
    Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .status()
        .unwrap();
    until_answer_has(&s, chat, NEW_TITLE, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_and_metrics_answer_without_personal_data() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 720_000_004;
    s.ask(
        chat,
        "is SSP paid to part timers and how much is it, my email is kim@example.com",
    )
    .await;
    s.ask(chat, "how do I register for VAT").await;
    let (code, body) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("ready"), "{body}");
    let (code, m) = get(format!("{}/metrics", s.http)).await;
    assert_eq!(code, 200);
    for want in [
        "workhealth_questions_total{outcome=\"answer\"} 1",
        "workhealth_questions_total{outcome=\"no_answer\"} 1",
        "workhealth_reply_seconds_count 2",
        "workhealth_reply_seconds_bucket{le=\"+Inf\"} 2",
        "workhealth_log_queue_depth",
        "# TYPE workhealth_telegram_errors_total counter",
        "workhealth_telegram_retries_total 0",
        "# TYPE workhealth_reloads_total counter",
        "workhealth_telegram_reachable 1",
    ] {
        assert!(
            m.lines().any(|l| l.starts_with(want)),
            "{want} missing from:\n{m}"
        );
    }
    for secret in ["kim@example.com", "720000004", "sick pay", "VAT"] {
        assert!(!m.contains(secret), "{secret} in /metrics");
    }
}

fn message_update(update_id: i64, chat: i64, text: &str) -> serde_json::Value {
    serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_764_547_200,
            "chat": {"id": chat, "type": "private", "first_name": "Test"},
            "from": {"id": chat, "is_bot": false, "first_name": "Test"},
            "text": text
        }
    })
}

/// Posts an update to a replica's webhook as Telegram would.
async fn post_update(http: &str, path: &str, secret: &str, update: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{http}{path}"))
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .header("Content-Type", "application/json")
        .body(update.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_mode_checks_the_secret_and_two_replicas_share_one_sqlite_log() {
    let data = tempfile::tempdir().unwrap();
    two_replicas(data.path(), data.path(), None).await;
}

/// The same with the log in PostgreSQL and each replica with its own data folder (holding a
/// copy of the one pseudonymisation key), as on two machines. Ignored unless asked for: it
/// needs `WORKHEALTH_TEST_DATABASE_URL` to name a test server (`bash scripts/test.sh` starts
/// one and runs it).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs PostgreSQL: set WORKHEALTH_TEST_DATABASE_URL, run with --ignored (bash scripts/test.sh does)"]
async fn two_webhook_replicas_share_one_postgres_log() {
    let pg = tokio::task::spawn_blocking(common::PgDb::required)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    workhealth::log::Pseudonymiser::load_or_create(one.path()).unwrap();
    std::fs::copy(
        one.path().join("pseudonym.key"),
        two.path().join("pseudonym.key"),
    )
    .unwrap();
    two_replicas(one.path(), two.path(), Some(&pg.url)).await;
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
}

async fn two_replicas(data_a: &Path, data_b: &Path, database_url: Option<&str>) {
    let fake = FakeTelegram::start().await;
    let content = common::repo().join("content");
    let mut args = vec![
        "--throttle",
        "off",
        "--webhook",
        "https://bot.example.test/tg/hook",
        "--webhook-secret",
        "shared_secret-1",
    ];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    let mut a = Serve::launch(Launch {
        args: &args,
        content: &content,
        data: Some(data_a),
        fake: Some(fake.clone()),
    })
    .await;
    let mut b = Serve::launch(Launch {
        args: &args,
        content: &content,
        data: Some(data_b),
        fake: Some(fake.clone()),
    })
    .await;
    assert_eq!(
        fake.webhook(),
        Some((
            "https://bot.example.test/tg/hook".to_string(),
            Some("shared_secret-1".to_string())
        ))
    );
    assert_eq!(fake.calls("getUpdates"), 0, "no polling in webhook mode");

    // A forged update (wrong or no secret) is refused.
    let forged = message_update(1, 730_000_000, "hello");
    fake.push_update(forged.clone());
    assert_eq!(
        post_update(&a.http, "/tg/hook", "wrong", &forged).await,
        401
    );

    // An update no parser accepts is taken (200, so Telegram does not send it again) and
    // dropped, and logged without its content.
    let poisoned = r#"{"update_id":2,"message":{"message_id":2,"date":0,"chat":{"id":730000001,"type":"private","first_name":"Poppy"},"text":"\ud800 private words"}}"#;
    let r = reqwest::Client::new()
        .post(format!("{}/tg/hook", a.http))
        .header("X-Telegram-Bot-Api-Secret-Token", "shared_secret-1")
        .header("Content-Type", "application/json")
        .body(poisoned)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // Updates spread across both replicas are all answered and all logged in one database.
    for i in 0..10i64 {
        let chat = 730_000_100 + i;
        let u = message_update(
            100 + i,
            chat,
            "is SSP paid to part timers and how much is it",
        );
        fake.push_update(u.clone());
        let replica = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            post_update(&replica.http, "/tg/hook", "shared_secret-1", &u).await,
            200
        );
    }
    for i in 0..10i64 {
        fake.wait_sent_to(730_000_100 + i, 1, T).await;
    }
    a.stop().await;
    b.stop().await;
    assert!(
        fake.webhook().is_some(),
        "stopping a replica leaves the webhook for the others"
    );
    let logged = {
        let mut stats = common::bin();
        stats.args(["--data", data_a.to_str().unwrap(), "log", "stats"]);
        if let Some(url) = database_url {
            stats.args(["--database-url", url]);
        }
        String::from_utf8_lossy(&stats.output().unwrap().stdout).into_owned()
    };
    assert!(
        logged.contains("questions in the whole log: 10"),
        "one shared log: {logged}"
    );
    let log = a.log_text();
    assert!(
        log.contains("skipped a webhook update that could not be read"),
        "{log}"
    );
    for secret in ["Poppy", "private words", "730000001"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }

    // Switching back to polling deletes the webhook.
    let mut poll_args = vec!["--throttle", "off"];
    if let Some(url) = database_url {
        poll_args.extend(["--database-url", url]);
    }
    let mut c = Serve::launch(Launch {
        args: &poll_args,
        content: &content,
        data: Some(data_a),
        fake: Some(fake.clone()),
    })
    .await;
    assert_eq!(fake.webhook(), None);
    c.stop().await;
}

/// `serve` refuses a bad flag before it creates the data folder or the index, opens the log
/// or contacts Telegram (the Bot API named here would refuse every connection).
#[test]
fn serve_checks_every_flag_before_any_side_effect() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let content = common::repo().join("content");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--webhook", "http://bot.example.test/tg/hook"],
            "--webhook: Telegram needs an https:// URL",
        ),
        (&["--webhook", "not a url"], "--webhook: not a URL"),
        (
            &[
                "--webhook",
                "https://bot.example.test/tg/hook",
                "--webhook-secret",
                "has spaces!",
            ],
            "--webhook-secret:",
        ),
        (
            &["--database-url", "mysql://wh:hunter2@db/wh"],
            "--database-url:",
        ),
        (&["--listen", &busy_addr], "cannot listen on"),
        (
            &["--no-telegram", "--webhook", "ftp://bot.example.test/hook"],
            "--webhook: Telegram needs an https:// URL",
        ),
    ];
    for (flags, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (data, index) = (dir.path().join("data"), dir.path().join("index"));
        let mut args = vec![
            "--content",
            content.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
            "serve",
            "--throttle",
            "off",
        ];
        args.extend_from_slice(flags);
        let r: common::Run = common::bin()
            .args(&args)
            .env("TELOXIDE_TOKEN", "123456:TEST")
            .env("TELOXIDE_API_URL", "http://127.0.0.1:9/")
            .env_remove("WORKHEALTH_DATABASE_URL")
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 2, "{flags:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{flags:?}: {}", r.stderr);
        assert_eq!(
            r.stderr.trim().lines().count(),
            1,
            "{flags:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
        assert!(!data.exists(), "{flags:?}: the data folder was created");
        assert!(!index.exists(), "{flags:?}: the index was built");
    }
    drop(busy);
}

/// Rebuilding the index after an edit is one INFO line, and log lines carry no colour codes
/// when stderr is not a terminal.
#[test]
fn an_index_rebuild_is_one_plain_info_line() {
    let content = content_copy();
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let ask = || -> common::Run {
        common::bin()
            .args([
                "--content",
                content.path().to_str().unwrap(),
                "--index",
                index.to_str().unwrap(),
                "ask",
                QUESTION,
            ])
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .output()
            .unwrap()
            .into()
    };
    let first = ask();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let text = std::fs::read_to_string(entry(content.path())).unwrap();
    std::fs::write(entry(content.path()), text.replace(OLD_TITLE, NEW_TITLE)).unwrap();
    let after_edit = ask();
    assert_eq!(after_edit.code, 0, "{}", after_edit.stderr);
    assert!(
        after_edit.stdout.contains(NEW_TITLE),
        "{}",
        after_edit.stdout
    );
    for r in [&first, &after_edit] {
        assert!(!r.stderr.contains('\u{1b}'), "colour codes: {:?}", r.stderr);
        assert!(!r.stderr.contains("WARN"), "{}", r.stderr);
    }
    let index_lines: Vec<&str> = after_edit
        .stderr
        .lines()
        .filter(|l| l.contains("index"))
        .collect();
    assert_eq!(index_lines.len(), 1, "{}", after_edit.stderr);
    assert!(
        index_lines[0].contains("INFO") && index_lines[0].contains("stale: rebuilding it"),
        "{}",
        after_edit.stderr
    );
    // Unchanged content: nothing is rebuilt, nothing said about the index.
    let again = ask();
    assert!(!again.stderr.contains("index"), "{}", again.stderr);
}

/// Issue 14 item 5: `/readyz` reports long polling's health, not only `getMe`: failing
/// `getUpdates` calls turn it to 503 with the reason, and it recovers by itself.
#[tokio::test(flavor = "multi_thread")]
async fn readyz_says_when_polling_fails_and_when_it_recovers() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let (code, body) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("telegram polling: last getUpdates"), "{body}");
    for _ in 0..3 {
        s.fake
            .fail_next("getUpdates", common::fake_telegram::Fault::Status(502));
    }
    // End the long poll in progress, so the next calls meet the faults.
    let chat = 720_000_009;
    s.fake.send_text(chat, "/help");
    let t0 = Instant::now();
    let body = loop {
        let (code, body) = get(format!("{}/readyz", s.http)).await;
        if code == 503 {
            break body;
        }
        assert!(t0.elapsed() < T, "/readyz never said polling fails: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(body.contains("polling failing"), "{body}");
    let (_, m) = get(format!("{}/metrics", s.http)).await;
    assert!(
        m.lines().any(|l| l == "workhealth_telegram_polling_ok 0"),
        "{m}"
    );
    // The faults run out: polling recovers, the waiting question is answered, ready again.
    s.fake.wait_sent_to(chat, 1, T).await;
    let t0 = Instant::now();
    loop {
        let (code, body) = get(format!("{}/readyz", s.http)).await;
        if code == 200 {
            break;
        }
        assert!(t0.elapsed() < T, "/readyz never recovered: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 13: without a usable embedding model `serve` still answers (from words alone) and
/// says so on `/readyz`; the model folder here holds the right names with the wrong bytes, so
/// nothing is fetched.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_model_serve_answers_from_words_and_readyz_says_so() {
    let model = tempfile::tempdir().unwrap();
    for f in ["model.safetensors", "tokenizer.json", "config.json"] {
        std::fs::write(model.path().join(f), "not the model").unwrap();
    }
    let mut s = Serve::start(&[
        "--throttle",
        "off",
        "--model",
        model.path().to_str().unwrap(),
    ])
    .await;
    let (code, body) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("degraded: model:"), "{body}");
    assert!(body.contains("SHA-256"), "{body}");
    let sent = s.ask(720_000_077, "how much is statutory sick pay").await;
    assert!(
        sent.iter().any(|m| m
            .plain
            .as_deref()
            .is_some_and(|t| t.contains("Statutory Sick Pay"))),
        "{sent:?}"
    );
    s.stop().await;
}
