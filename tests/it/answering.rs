//! The answering engine on the real content: retrieval quality on the editors' and the dev
//! set's questions, hostile input, regions, crisis, `ask` batch mode, `chat` through a pipe,
//! and the on-disk index's rebuild when content changes.

use crate::common;

use std::io::Write;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};

use common::*;
use workhealth::assistant::{Assistant, Context, Outcome};
use workhealth::eval;

fn assistant() -> &'static Assistant {
    static A: OnceLock<Assistant> = OnceLock::new();
    A.get_or_init(|| {
        let content = workhealth::content::load_valid(
            &repo().join("content"),
            chrono::Utc::now().date_naive(),
        )
        .unwrap();
        // The product answers with the embedding model; without it this panics with the fix.
        workhealth::run::assistant_in_memory(
            Arc::new(content),
            &model_dir(),
            Some(&repo().join("target/test-vectors")),
        )
        .expect("the embedding model: run `cargo run -- model fetch` (bash scripts/test.sh does)")
    })
}

fn ask(q: &str) -> workhealth::assistant::Reply {
    assistant().reply(&Context::default(), q)
}

/// The dev set (content/tests/dev.yaml): the targets DESIGN.md sets, kept as a floor so a
/// regression fails CI. The failures are printed to help whoever broke it.
#[test]
fn dev_set_meets_the_targets() {
    let _heavy = common::Room::Heavy.enter();
    let cases = eval::read_cases(&repo().join("content/tests/dev.yaml")).unwrap();
    let m = eval::evaluate(assistant(), &cases);
    let report = eval::table(&m);
    assert!(m.cases >= 138, "{report}");
    assert!(m.top1 >= 0.93, "top1 {}\n{report}", m.top1);
    assert!(m.top3 >= 0.98, "top3 {}\n{report}", m.top3);
    assert!(m.helped >= 0.95, "helped {}\n{report}", m.helped);
    assert!(
        m.wrong_answer <= 0.02,
        "wrong_answer {}\n{report}",
        m.wrong_answer
    );
    assert!(
        m.declined_correctly >= 0.85,
        "declined_correctly {}\n{report}",
        m.declined_correctly
    );
    assert!(
        m.declined_wrongly <= 0.05,
        "declined_wrongly {}\n{report}",
        m.declined_wrongly
    );
    assert_eq!(m.crisis_recall, 1.0, "{report}");
}

/// Every other file in content/tests: the editors' own questions, in other words than the
/// entries'. A floor below the dev set's, since these are the harder, held-out-like cases.
#[test]
fn editors_tests_do_not_regress() {
    let _heavy = common::Room::Heavy.enter();
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(repo().join("content/tests")).unwrap() {
        let path = entry.unwrap().path();
        // The dev set, the real questions and the crisis sets have tests of their own.
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let own = [
            "dev.yaml",
            "real-dev.yaml",
            "crisis.yaml",
            "crisis-dev.yaml",
        ];
        if path.is_file() && !own.contains(&name.as_str()) {
            cases.extend(eval::read_cases(&path).unwrap());
        }
    }
    assert!(cases.len() >= 240, "{} cases", cases.len());
    let m = eval::evaluate(assistant(), &cases);
    let report = eval::table(&m);
    assert!(m.top1 >= 0.78, "top1 {}\n{report}", m.top1);
    assert!(m.top3 >= 0.95, "top3 {}\n{report}", m.top3);
    assert!(m.helped >= 0.88, "helped {}\n{report}", m.helped);
    assert!(
        m.wrong_answer <= 0.04,
        "wrong_answer {}\n{report}",
        m.wrong_answer
    );
    assert!(
        m.declined_wrongly <= 0.03,
        "declined_wrongly {}\n{report}",
        m.declined_wrongly
    );
}

/// Real questions employers posted in public (content/tests/real-dev.yaml): a floor at what the
/// engine measured when it was calibrated (issue 13's targets are higher: top1 0.75, helped
/// 0.85); a regression fails.
#[test]
fn real_questions_hold_their_floor() {
    let _heavy = common::Room::Heavy.enter();
    let cases = eval::read_cases(&repo().join("content/tests/real-dev.yaml")).unwrap();
    assert!(cases.len() >= 100);
    let m = eval::evaluate(assistant(), &cases);
    let report = eval::table(&m);
    // Measured 0.719 and 0.917, int8 and f32 alike, with the out-of-scope examples and the
    // weights re-fitted for them (2026-12-07; 0.760 and 0.885 before, with a wrong answer in
    // 3 of 96 where now none: docs/calibration.md).
    assert!(m.top1 >= 0.66, "top1 {}\n{report}", m.top1);
    assert!(m.helped >= 0.85, "helped {}\n{report}", m.helped);
    assert!(
        m.wrong_answer <= 0.05,
        "wrong_answer {}\n{report}",
        m.wrong_answer
    );
    assert!(
        m.declined_wrongly <= 0.05,
        "declined_wrongly {}\n{report}",
        m.declined_wrongly
    );
    // Long real messages give the crisis check many sentences to misread.
    assert!(
        m.false_alarm <= 0.05,
        "false_alarm {}\n{report}",
        m.false_alarm
    );
}

/// The crisis set (content/tests/crisis.yaml: 126 crisis messages and 124 near-misses written
/// fresh, apart from crisis.yaml's examples): issue 12's target, every crisis caught and false
/// alarms at most 5%. The cases moved to crisis-dev.yaml after the word lists were fixed on
/// them must all be caught too.
#[test]
fn crisis_set_recall_and_false_alarms() {
    let _heavy = common::Room::Heavy.enter();
    let dev = eval::read_cases(&repo().join("content/tests/crisis-dev.yaml")).unwrap();
    let m = eval::evaluate(assistant(), &dev);
    assert_eq!(m.crisis_recall, 1.0, "{}", eval::table(&m));
    let cases = eval::read_cases(&repo().join("content/tests/crisis.yaml")).unwrap();
    let m = eval::evaluate(assistant(), &cases);
    let report = eval::table(&m);
    assert!(m.crisis >= 100, "{report}");
    assert!(
        m.crisis_recall == 1.0,
        "crisis_recall {}\n{report}",
        m.crisis_recall
    );
    assert!(
        m.false_alarm <= 0.05,
        "false_alarm {}\n{report}",
        m.false_alarm
    );
}

/// Sessions 11 and 12's blind crisis sets (content/tests/heldout/crisis20.yaml to crisis29.yaml):
/// each was first measured blind, then its misses were covered in general words. Their crisis
/// messages stay caught, so a later change to the word lists, the examples or the entries cannot
/// quietly lose them. One miss in all of them is allowed, and named: the meaning layer's scores
/// differ by a few thousandths from one CPU to another (session 12's machine missed three
/// messages in crisis21 and crisis22 that session 11's caught by a hair; the word lists now catch
/// them), so a message on the edge may flip on a machine the sets were not checked on.
#[test]
fn blind_crisis_sets_stay_caught() {
    let _heavy = common::Room::Heavy.enter();
    let mut missed = Vec::new();
    for name in [
        "crisis20", "crisis21", "crisis22", "crisis23", "crisis24", "crisis25", "crisis26",
        "crisis27", "crisis28", "crisis29",
    ] {
        let path = repo().join(format!("content/tests/heldout/{name}.yaml"));
        let cases = eval::read_cases(&path).unwrap();
        let crises: Vec<_> = cases.iter().filter(|c| c.crisis).collect();
        assert!(crises.len() >= 60, "{name}: {}", crises.len());
        for c in crises {
            let r = assistant().reply(&Context::default(), &c.q);
            if r.outcome != Outcome::Crisis {
                missed.push(format!("{name}: {}", c.q));
            }
        }
    }
    assert!(missed.len() <= 1, "{missed:#?}");
}

/// A question answered right stays answered right when wrapped in a greeting, background,
/// contact details and a sign-off: issue 13's target, 97%. 256 of 258 held when the sentence
/// that only introduces the business ("I run a small café in Gateshead.") started being taken
/// out (232 before).
#[test]
fn wrapping_does_not_lose_the_answer() {
    let _heavy = common::Room::Heavy.enter();
    let cases = eval::read_cases(&repo().join("content/tests/dev.yaml")).unwrap();
    let wraps = [
        (
            "Hi, hope you can help. ",
            " Reach me on 07700 900123. Thanks in advance!\nKind regards,\nDave",
        ),
        (
            "Hello there, I run a small café in Gateshead. ",
            " Any advice would be appreciated, cheers",
        ),
        (
            "Morning all, first time posting. ",
            " You can email me at sam@example.co.uk. Many thanks",
        ),
    ];
    let (mut kept, mut total) = (0, 0);
    let mut lost = Vec::new();
    for c in &cases {
        let ids = c.expected();
        if ids.is_empty() || c.crisis {
            continue;
        }
        let plain = ask(&c.q);
        let right = plain.outcome == Outcome::Answer && ids.contains(&plain.results[0].id);
        if !right {
            continue;
        }
        for (before, after) in wraps {
            let wrapped = ask(&format!("{before}{}{after}", c.q));
            total += 1;
            if wrapped.outcome == Outcome::Answer && ids.contains(&wrapped.results[0].id) {
                kept += 1;
            } else {
                lost.push(format!("{before}{}{after}", c.q));
            }
        }
    }
    let share = kept as f64 / total as f64;
    assert!(total >= 150, "{total}");
    assert!(share >= 0.97, "kept {kept} of {total}: {lost:#?}");
}

#[test]
fn every_expected_id_in_the_tests_exists() {
    let _heavy = common::Room::Heavy.enter();
    let c = assistant().content();
    for path in test_files(&repo().join("content/tests")) {
        let cases = eval::read_cases(&path).unwrap();
        let unknown = eval::unknown_ids(&cases, |id| c.kind_of(id).is_some());
        assert!(unknown.is_empty(), "{}: {unknown:?}", path.display());
    }
}

#[test]
fn hostile_input_answers_normally() {
    let _heavy = common::Room::Heavy.enter();
    let long = "my lad is off sick with stress ".repeat(400);
    let inputs = [
        "",
        " ",
        "\"",
        "sick pay: do I owe?",
        "what's \"SSP",
        "(risk assessment",
        "employee's rights",
        "AND",
        "OR OR AND NOT",
        "-",
        "title:fit",
        "*",
        "~2",
        "^3",
        "🙂🙃🤯",
        "\u{0000}\u{0007}\u{001b}[31m",
        "<script>alert(1)</script>",
        "SELECT * FROM log;",
        long.as_str(),
        "\u{202e}evil",
        "ssp\nfit note\r\n",
    ];
    for q in inputs {
        let r = ask(q);
        assert!(r.results.len() <= 5);
        if q.trim().is_empty() {
            // Nothing to answer: noise, a friendly word and the topics (never a crash).
            assert_eq!(r.outcome, Outcome::SmallTalk, "{q:?}");
        }
    }
    assert!(
        ask(&long)
            .results
            .iter()
            .take(3)
            .any(|r| r.id == "stress-absence")
    );
    assert!(
        ask("sick pay: (AND) \"how much\"")
            .results
            .iter()
            .any(|r| r.id == "ssp-eligibility")
    );
}

#[test]
fn crisis_is_checked_first_and_its_message_always_comes() {
    let _heavy = common::Room::Heavy.enter();
    for q in [
        "he says he wants to kill himself",
        "she texted me sorry for everything and goodbye, now not answering",
        "worker has taken a load of pills in the toilets",
        "one of my staff is self-harming",
    ] {
        let r = ask(q);
        assert_eq!(r.outcome, Outcome::Crisis, "{q}");
        let msg = r.crisis_message.as_deref().unwrap();
        for number in ["999", "111", "116 123", "85258"] {
            assert!(msg.contains(number), "crisis message lacks {number}");
        }
        assert_eq!(r.results[0].id, "crisis-support");
    }
    for q in [
        "my back is killing me",
        "first aid kit for a small cafe",
        "chef cut his hand, is it riddor",
    ] {
        assert_ne!(ask(q).outcome, Outcome::Crisis, "{q}");
    }
}

#[test]
fn a_crisis_reply_offers_what_else_was_asked_after_the_crisis_lines() {
    let _heavy = common::Room::Heavy.enter();
    use workhealth::assistant::Choice;
    let r = ask(
        "He said he'd rather be dead than do another month of this and he's got a plan. \
         Also, does his statutory sick pay stop when his fit note runs out?",
    );
    assert_eq!(r.outcome, Outcome::Crisis);
    // The crisis lines first, then the entries that answer the rest of the message.
    assert_eq!(r.choices[0], Choice::CrisisLines);
    let shown: Vec<&str> = r.choices.iter().filter_map(Choice::shown).collect();
    let asked = &shown[..2];
    assert!(
        asked
            .iter()
            .any(|id| id.starts_with("ssp") || *id == "fit-notes"),
        "{shown:?}"
    );
    assert!(!shown.contains(&"crisis-support"), "{shown:?}");
}

#[test]
fn short_precise_questions_are_answered() {
    let _heavy = common::Room::Heavy.enter();
    for (q, id) in [
        ("how much is ssp", "ssp-eligibility"),
        ("riddor", "riddor"),
        ("menopause", "menopause"),
    ] {
        let r = ask(q);
        assert_ne!(r.outcome, Outcome::NoAnswer, "{q}");
        assert_eq!(r.results[0].id, id, "{q}");
    }
}

#[test]
fn out_of_scope_is_declined() {
    let _heavy = common::Room::Heavy.enter();
    for q in ["how do I register for VAT", "asdf jkl"] {
        let r = ask(q);
        assert_eq!(r.outcome, Outcome::NoAnswer, "{q}: {:?}", r.results);
        assert!(r.shown.is_none());
    }
    // A greeting is small talk: no answer shown, and not an unanswered question.
    for q in ["hiya", "thanks pet that's helped", "👍"] {
        let r = ask(q);
        assert_eq!(r.outcome, Outcome::SmallTalk, "{q}: {:?}", r.results);
        assert!(r.shown.is_none() && r.smalltalk.is_some());
        assert_eq!(r.choices, vec![workhealth::assistant::Choice::Topics]);
    }
}

#[test]
fn a_place_name_sets_the_region_and_hides_other_regions() {
    let _heavy = common::Room::Heavy.enter();
    let a = assistant();
    let r = a.reply(
        &Context::default(),
        "we run a cafe in Sunderland, is there an award for looking after staff health",
    );
    assert_eq!(r.region.as_deref(), Some("north-east"));
    assert_eq!(r.results[0].id, "better-health-at-work-award");
    let wm = a.reply(
        &Context::in_region(Some("west-midlands")),
        "is there a workplace wellbeing award or commitment we can sign up to",
    );
    assert!(
        wm.results
            .iter()
            .all(|x| x.id != "better-health-at-work-award"),
        "{:?}",
        wm.results
    );
    let ne = a.reply(
        &Context::in_region(Some("north-east")),
        "is there a workplace wellbeing award or commitment we can sign up to",
    );
    assert!(
        ne.results.iter().all(|x| x.id != "thrive-at-work"),
        "{:?}",
        ne.results
    );
}

#[test]
fn an_answer_carries_programmes_related_sources_and_buttons() {
    let _heavy = common::Room::Heavy.enter();
    let r = assistant().reply(
        &Context::in_region(Some("north-east")),
        "one of my lads has been signed off with stress for a month",
    );
    assert_eq!(r.outcome, Outcome::Answer);
    let shown = r.shown.as_ref().unwrap();
    assert_eq!(shown.id(), "stress-absence");
    assert!(!r.sources.is_empty() && r.sources.iter().all(|s| s.url.starts_with("https://")));
    assert!(!r.related.is_empty() && r.related.len() <= 3);
    assert!(
        r.choices
            .iter()
            .any(|c| matches!(c, workhealth::assistant::Choice::TalkToSomeone))
    );
    assert_eq!(r.content_digest, assistant().content().digest);
}

#[test]
fn ask_batch_answers_ten_thousand_mixed_lines() {
    let _heavy = common::Room::Heavy.enter();
    let dir = tempfile::tempdir().unwrap();
    let mut input: Vec<u8> = Vec::new();
    let lines = [
        "how much is ssp".as_bytes().to_vec(),
        br#"{"q": "is there an award round here", "region": "north-east"}"#.to_vec(),
        br#"{"q": "x", "region": "atlantis"}"#.to_vec(),
        br#"{"nope": 1}"#.to_vec(),
        b"\xff\xfe not utf8".to_vec(),
        b"sick pay: (AND) \"OR\" ~ ^ * \x07".to_vec(),
        "🙂 emoji only 🙂".as_bytes().to_vec(),
        b"".to_vec(),
        "stress ".repeat(1500).into_bytes(),
        b"{not json".to_vec(),
    ];
    for i in 0..10_000 {
        input.extend_from_slice(&lines[i % lines.len()]);
        input.push(b'\n');
    }
    let mut child = bin()
        .args([
            "--content",
            repo().join("content").to_str().unwrap(),
            "--index",
            dir.path().join("index").to_str().unwrap(),
            "ask",
            "--json",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 10_000);
    let errors = objects.iter().filter(|o| o.get("error").is_some()).count();
    assert_eq!(
        errors, 4_000,
        "unknown region, unknown field, bad UTF-8 and bad JSON lines are errors"
    );
    assert_eq!(objects[0]["results"][0]["id"], "ssp-eligibility");
    assert_eq!(objects[1]["region"], "north-east");
    for o in objects.iter().filter(|o| o.get("error").is_none()) {
        assert!(
            // The shared evaluation format's four (small talk is `no_answer` there).
            ["answer", "clarify", "no_answer", "crisis"].contains(&o["outcome"].as_str().unwrap())
        );
        assert!(o["results"].as_array().unwrap().len() <= 5);
    }
}

/// `chat` is the Telegram conversation: the same first message, "Or did you mean…", buttons
/// as numbered choices ("Read more" among them), and follow-ups from context.
#[test]
fn chat_through_a_pipe_answers_and_follows_a_choice() {
    let _heavy = common::Room::Heavy.enter();
    let text = chat_through_a_pipe(
        "one of my lads has been signed off with stress for a month\n1\n9\nwhat do I pay him\n/topics\n1\n/quit\n",
    );
    let a = assistant();
    let q = "one of my lads has been signed off with stress for a month";
    let reply = ask(q);
    // The first message exactly as Telegram's, as plain text, and its buttons numbered.
    let msgs = workhealth::render::telegram::reply(&reply, None);
    let first = workhealth::render::telegram::as_sent(&[workhealth::render::telegram::Message {
        html: msgs[0].html.clone(),
        buttons: Vec::new(),
    }]);
    assert!(text.contains(&first), "{text}");
    assert!(text.contains("[1] Read more"), "{text}");
    let entry = a.content().entry("stress-absence").unwrap();
    assert!(
        text.contains(&format!("{} (continued)", entry.title)),
        "choice 1 is Read more:\n{text}"
    );
    assert!(text.contains("Sources"), "{text}");
    assert!(text.contains("There is no choice 9"), "{text}");
    assert!(
        text.contains("Following on from your last question"),
        "a follow-up: {text}"
    );
    assert!(text.contains(&a.content().topics[0].title), "{text}");
}

/// Every Telegram command works in `chat`, with the bot's texts; small talk gets its word.
#[test]
fn chat_handles_every_telegram_command_with_the_same_texts() {
    let _heavy = common::Room::Heavy.enter();
    let text = chat_through_a_pipe(
        "/start\n1\n/help\n/privacy\n/programmes\n/forget\n1\n/programmes\n/nonsense\nhello\n/quit\n",
    );
    let plain = |html: &str| workhealth::render::telegram::unescape_plain(html);
    use workhealth::words as texts;
    for (name, t) in [
        ("welcome", texts::WELCOME),
        ("privacy in short", texts::PRIVACY_SHORT),
        ("help", texts::HELP),
        ("privacy", texts::PRIVACY),
        ("forget", texts::FORGET_ASK),
        ("unknown command", texts::UNKNOWN_COMMAND),
    ] {
        assert!(text.contains(&plain(t)), "{name} missing:\n{text}");
    }
    let region = &assistant()
        .content()
        .regions
        .iter()
        .find(|r| r.id != workhealth::content::NATIONAL)
        .unwrap()
        .name;
    // The region chosen after /start heads /programmes; after /forget it is gone.
    assert!(
        text.contains(&format!("Programmes and helplines for {region}")),
        "{text}"
    );
    assert!(text.contains("Done: I deleted"), "{text}");
    assert!(
        text.contains("Programmes and helplines across the UK"),
        "{text}"
    );
    assert!(text.contains("Acas"), "{text}");
    assert!(
        !text.contains("don't have guidance"),
        "hello is small talk: {text}"
    );
}

#[test]
fn the_index_is_built_atomically_and_rebuilt_when_content_changes() {
    let _heavy = common::Room::Heavy.enter();
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    copy_dir(&repo().join("content"), &content);
    let index = dir.path().join("index");
    let args = |cmd: &[&str]| {
        let mut v = vec![
            "--content".to_string(),
            content.display().to_string(),
            "--index".to_string(),
            index.display().to_string(),
        ];
        v.extend(cmd.iter().map(|s| s.to_string()));
        v
    };
    let r = bin().args(args(&["index"])).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let items = assistant().content().entries.len() + assistant().content().programmes.len();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains(&format!("indexed {items} items")), "{out}");
    let current = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    // A second ask with the same content does not rebuild.
    let r = bin()
        .args(args(&["ask", "how much is ssp"]))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&r.stderr).contains("rebuilding"));
    assert_eq!(
        std::fs::read_to_string(index.join("CURRENT")).unwrap(),
        current
    );
    // Change the content: the next answer notices, rebuilds once, and says so.
    edit(
        &content,
        "guidance/absence/fit-notes.yaml",
        "questions:\n",
        "questions:\n  - what about a zebra crossing permit\n",
    );
    let r = bin()
        .args(args(&["ask", "--json", "zebra crossing permit"]))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("stale") && stderr.contains("rebuilding"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["results"][0]["id"], "fit-notes");
    let new_current = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    assert_ne!(new_current, current);
    // The old build is gone; only the live one and CURRENT remain.
    let dirs: Vec<_> = std::fs::read_dir(&index)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name() != "vectors")
        .collect();
    assert_eq!(dirs.len(), 1);
    assert_eq!(dirs[0].file_name().to_string_lossy(), new_current.trim());
}

/// Every test file under a folder, its subfolders included.
fn test_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(test_files(&path));
        } else if path.extension().is_some_and(|x| x == "yaml") {
            out.push(path);
        }
    }
    out
}

/// Issue 17 item 2: under an answer, close runners-up lead the buttons ("Or did you mean…").
/// Over the dev and real-dev sets: every answer given outright with a wrong entry offers a
/// right one among its first buttons, while most right answers carry no runner-up at all.
#[test]
fn close_runners_up_are_offered_first_under_an_answer() {
    let _heavy = common::Room::Heavy.enter();
    use workhealth::assistant::Choice;
    let (mut answers, mut with_runners, mut wrong, mut rescued) = (0, 0, 0, 0);
    for f in ["dev.yaml", "real-dev.yaml"] {
        let cases = eval::read_cases(&repo().join("content/tests").join(f)).unwrap();
        for c in &cases {
            let expect = c.expected();
            if expect.is_empty() {
                continue;
            }
            let r = assistant().reply(
                &Context {
                    region: c.region.clone(),
                },
                &c.q,
            );
            if r.outcome != Outcome::Answer {
                continue;
            }
            answers += 1;
            let shown = r.shown.as_ref().unwrap().id().to_string();
            let first: Vec<&str> = r.choices.iter().filter_map(Choice::shown).collect();
            // The runners-up are the first buttons (after a second worry), in rank order.
            for (k, ru) in r.runners_up.iter().enumerate() {
                assert!(
                    first[..first.len().min(k + 2)].contains(&ru.id.as_str()),
                    "{}",
                    c.q
                );
                assert_ne!(ru.id, shown);
            }
            if !r.runners_up.is_empty() {
                with_runners += 1;
            }
            if !expect.contains(&shown) {
                wrong += 1;
                if r.runners_up.iter().any(|x| expect.contains(&x.id)) {
                    rescued += 1;
                }
            }
        }
    }
    println!(
        "answers {answers}: {with_runners} with runners-up; wrong answers {wrong}, {rescued} offering a right entry first"
    );
    assert!(answers >= 80, "{answers}");
    // Over dev and real-dev, at most three wrong answers may come without the right entry
    // among their runners-up. On 2026-12-07 there were 3 wrong answers, 2 rescued; after the
    // content-trained classifier (same day), 4 wrong answers, 1 rescued: real questions that
    // got a flat "sorry" before are answered now (real-dev declined wrongly 0.042 -> 0, wrong
    // answers 0.021 -> 0.031), and two of them with an entry whose runners-up miss the right one.
    assert!(
        wrong - rescued <= 3,
        "{} wrong answers without the right runner-up",
        wrong - rescued
    );
    assert!(with_runners * 2 < answers, "{with_runners} of {answers}");
}

/// Issue 17 item 3: a short message that only makes sense after the previous question is
/// answered in its light; one about something new is not.
#[test]
fn a_follow_up_is_answered_in_the_light_of_the_previous_question() {
    let _heavy = common::Room::Heavy.enter();
    use workhealth::assistant::{Choice, Previous};
    let cx = Context::default();
    let after = |first: &str, then: &str| {
        let prev = Previous::of(&ask(first)).expect("something to follow up");
        assistant().reply_after(&cx, then, Some(&prev))
    };
    let shown = |r: &workhealth::assistant::Reply| r.shown.as_ref().map(|s| s.id().to_string());
    let ssp = "is SSP paid to part timers and how much is it";
    assert_eq!(shown(&ask(ssp)).as_deref(), Some("ssp-eligibility"));
    // No answer on its own; after the SSP question, the SSP entry again, said to follow on.
    let pay = "what do I pay her then";
    assert_eq!(ask(pay).outcome, Outcome::NoAnswer);
    let r = after(ssp, pay);
    assert_eq!(
        (r.outcome, shown(&r).as_deref()),
        (Outcome::Answer, Some("ssp-eligibility"))
    );
    let f = r.follow_up.as_ref().expect("marked as a follow-up");
    assert_eq!(f.entry.as_deref(), Some("ssp-eligibility"));
    assert_eq!(r.question, pay, "the row keeps the message itself");
    // "and if…" opens a follow-up even when the message alone finds something else.
    let stress = "one of my lads has been signed off with stress for a month";
    let part_time = "and if he's part time?";
    assert_ne!(shown(&ask(part_time)).as_deref(), Some("stress-absence"));
    let r = after(stress, part_time);
    assert_eq!(shown(&r).as_deref(), Some("stress-absence"));
    assert!(r.follow_up.is_some());
    // Something new is not taken with the last question.
    let r = after(ssp, "how do I register for VAT");
    assert_eq!(r.outcome, Outcome::NoAnswer);
    assert!(r.follow_up.is_none());
    let long = "what are the rules on reporting an injury at work under riddor for a small firm";
    let r = after(ssp, long);
    assert!(r.follow_up.is_none());
    assert_eq!(r, ask(long));
    // "The second one" after a list of choices shows the second choice.
    let clarify = ask("how much is statutory sick pay");
    assert_eq!(clarify.outcome, Outcome::Clarify);
    let second = clarify
        .choices
        .iter()
        .filter_map(Choice::shown)
        .nth(1)
        .unwrap()
        .to_string();
    let r = after(
        "how much is statutory sick pay",
        "what about the second one",
    );
    assert_eq!(shown(&r), Some(second));
    // Without a previous question, a message is answered on its own.
    assert_eq!(assistant().reply_after(&cx, pay, None), ask(pay));
}

/// Runs `chat` on the real content (its own index) with `input` piped in; its output.
fn chat_through_a_pipe(input: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        &[
            "--content",
            repo().join("content").to_str().unwrap(),
            "--index",
            dir.path().join("index").to_str().unwrap(),
            "chat",
        ],
        input,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// A test question copied into the content only measures itself: no `questions:` line, crisis
/// example or contrast, or out-of-scope example may be, word for word, a case of any test
/// file (held-out sets included). Case, apostrophes and punctuation are ignored.
#[test]
fn no_test_question_is_copied_into_the_content() {
    fn key(text: &str) -> String {
        let kept: String = text
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, '\'' | '’'))
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        kept.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(&repo().join("content/tests"), &mut paths);
    let mut tests = std::collections::HashMap::new();
    for path in &paths {
        for case in eval::read_cases(path).unwrap() {
            tests.insert(key(&case.q), path.clone());
        }
    }
    assert!(tests.len() > 2000, "{} test questions", tests.len());
    let c =
        workhealth::content::load_valid(&repo().join("content"), chrono::Utc::now().date_naive())
            .unwrap();
    let lines = c
        .entries
        .iter()
        .flat_map(|e| e.questions.iter())
        .chain(c.programmes.iter().flat_map(|p| p.questions.iter()))
        .chain(c.crisis.examples.iter())
        .chain(c.crisis.not_crisis.iter())
        .chain(c.off_topic.iter());
    let copied: Vec<String> = lines
        .filter_map(|l| {
            tests
                .get(&key(l))
                .map(|p| format!("{l:?} is in {}", p.display()))
        })
        .collect();
    assert!(copied.is_empty(), "{}", copied.join("\n"));
}
