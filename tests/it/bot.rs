//! The Telegram bot end to end: `workhealth serve` as a child process, talking HTTP through
//! the real teloxide client to a fake Bot API on 127.0.0.1 that refuses what Telegram refuses.

use crate::common;

use std::time::Duration;

use common::fake_telegram::{FakeTelegram, Fault, Sent};
use common::serve::{Serve, T};
use workhealth::log::{Feedback, Filter, ReadStore};

fn plain(s: &Sent) -> String {
    s.plain.clone().unwrap_or_default()
}

fn all_data(msgs: &[Sent]) -> Vec<String> {
    msgs.iter()
        .flat_map(|m| m.buttons.iter().flatten())
        .filter_map(|b| b.callback_data.clone())
        .collect()
}

fn button<'a>(msgs: &'a [Sent], label: &str) -> (&'a Sent, String) {
    for m in msgs {
        for b in m.buttons.iter().flatten() {
            if b.text.contains(label) {
                return (m, b.callback_data.clone().expect("a callback button"));
            }
        }
    }
    panic!("no button {label:?} in {msgs:#?}");
}

fn assert_clean(s: &Serve) {
    assert!(
        s.fake.rejected().is_empty(),
        "Telegram would refuse: {:#?}",
        s.fake.rejected()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_are_registered_and_each_answers() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let names: Vec<String> = s.fake.commands().into_iter().map(|(c, _)| c).collect();
    for c in [
        "start",
        "help",
        "topics",
        "programmes",
        "region",
        "privacy",
        "forget",
    ] {
        assert!(
            names.iter().any(|n| n == c),
            "{c} not registered: {names:?}"
        );
    }
    let chat = 700_100_200;
    let start = s.ask(chat, "/start").await;
    let text: String = start.iter().map(plain).collect();
    assert!(text.contains("workhealth"), "{text}");
    assert!(text.contains("Privacy"), "{text}");
    assert!(text.contains("not legal or medical advice"), "{text}");
    let (_, ne) = button(&start, "North East");
    assert_eq!(ne, "r:north-east");

    let help = s.ask(chat, "/help").await;
    assert!(plain(&help[0]).contains("/topics"));
    let privacy = s.ask(chat, "/privacy").await;
    assert!(plain(&privacy[0]).contains("never store your name"));

    let topics = s.ask(chat, "/topics").await;
    let (menu, data) = button(&topics, "Sickness absence");
    let entries = s.press(chat, menu.message_id, &data).await;
    let (menu, data) = button(&entries, "Fit notes");
    let shown = s.press(chat, menu.message_id, &data).await;
    assert!(
        plain(&shown[0]).contains("Fit notes"),
        "{:?}",
        plain(&shown[0])
    );

    // Region: chosen by button, remembered for /programmes.
    let region = s.ask(chat, "/region").await;
    let (menu, data) = button(&region, "North East");
    let saved = s.press(chat, menu.message_id, &data).await;
    assert!(plain(&saved[0]).contains("North East England"));
    let progs = s.ask(chat, "/programmes").await;
    let text: String = progs.iter().map(plain).collect();
    assert!(text.contains("for North East England"), "{text}");
    let award = text
        .find("Better Health at Work")
        .expect("the North East award");
    let acas = text.find("Acas").expect("national programmes too");
    assert!(award < acas, "local first");
    assert!(
        !text.contains("Working Well"),
        "another region's programme: {text}"
    );

    let unknown = s.ask(chat, "/frobnicate").await;
    assert!(plain(&unknown[0]).contains("/help"));
    assert_clean(&s);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_question_is_answered_escaped_with_buttons_and_feedback_is_logged() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_300;
    let reply = s
        .ask(chat, "<b>is SSP paid</b> to part timers & how much is it?")
        .await;
    assert!(!reply.is_empty());
    for m in &reply {
        assert_eq!(m.parse_mode.as_deref(), Some("HTML"));
        assert!(plain(m).chars().count() <= 4096);
    }
    let text: String = reply.iter().map(plain).collect();
    assert!(
        text.contains("Statutory Sick Pay") || text.contains("SSP"),
        "{text}"
    );
    // A first message that fits a phone; the sources behind "Read more".
    assert!(!text.contains("Sources"), "{text}");
    assert!(reply[0].plain.as_deref().unwrap_or("").chars().count() <= 1000);
    let (m, more) = button(&reply, "Read more");
    assert!(more.starts_with("m:"), "{more}");
    let rest: String = s
        .press(chat, m.message_id, &more)
        .await
        .iter()
        .map(plain)
        .collect();
    assert!(rest.contains("Sources"), "{rest}");
    let data = all_data(&reply);
    assert!(data.iter().all(|d| d.len() <= 64));
    assert!(
        data.iter()
            .any(|d| d.starts_with("f:") && d.split(':').nth(2) == Some("1"))
    );
    assert!(data.iter().any(|d| d == "h"), "talk to someone: {data:?}");
    assert!(
        data.iter().filter(|d| d.starts_with("s:")).count() >= 1,
        "related: {data:?}"
    );

    let (m, up) = button(&reply, "👍");
    let before = s.fake.answered_callbacks().len();
    s.press(chat, m.message_id, &up).await;
    assert_eq!(s.fake.answered_callbacks().len(), before + 1);

    let (m, talk) = button(&reply, "Talk to someone");
    let talk = s.press(chat, m.message_id, &talk).await;
    assert!(talk.iter().map(plain).collect::<String>().contains("Acas"));
    assert_clean(&s);
    s.stop().await;

    let mut db = s.db();
    let qs = db.questions(&Filter::default(), 10, 0).unwrap();
    assert_eq!(qs.len(), 1, "one row per question");
    let q = &qs[0];
    assert_eq!(q.outcome, "answer");
    assert_eq!(q.channel, "telegram");
    assert!(q.shown_id.is_some());
    assert!(!q.results.is_empty());
    assert_eq!(q.feedback, Some(Feedback::Helpful));
    assert!(
        q.content_digest.len() == 64 && q.content_digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        q.content_digest
    );
    let id = up.split(':').nth(1).unwrap().parse::<i64>().unwrap();
    assert_eq!(q.id, id, "feedback attached to the right row");
}

#[tokio::test(flavor = "multi_thread")]
async fn clarify_offers_choices_and_a_choice_shows_the_entry() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_400;
    let reply = s.ask(chat, "how much is statutory sick pay").await;
    let text: String = reply.iter().map(plain).collect();
    assert!(text.contains("not sure which"), "{text}");
    let shows: Vec<String> = all_data(&reply)
        .into_iter()
        .filter(|d| d.starts_with("s:"))
        .collect();
    assert!(shows.len() >= 2, "{shows:?}");
    let m = reply.last().unwrap();
    let shown = s.press(chat, m.message_id, &shows[0]).await;
    let text: String = shown.iter().map(plain).collect();
    assert!(text.contains("Sick Pay") || text.contains("SSP"), "{text}");
    // A choice made from a clarify carries feedback buttons for the original question.
    assert!(all_data(&shown).iter().any(|d| d.starts_with("f:")));
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crisis_message_comes_first() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_500;
    let reply = s
        .ask(chat, "one of my staff told me she wants to end her life")
        .await;
    assert!(reply.len() >= 2, "{reply:#?}");
    let first = plain(&reply[0]);
    assert!(first.contains("999"), "{first}");
    assert!(first.contains("116 123"), "{first}");
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn non_text_updates_get_a_polite_reply() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_600;
    // A sticker is small talk (its own test below); other media are not text.
    for (i, send) in [
        FakeTelegram::send_photo as fn(&FakeTelegram, i64) -> i64,
        FakeTelegram::send_voice,
        FakeTelegram::send_document,
        FakeTelegram::send_location,
    ]
    .into_iter()
    .enumerate()
    {
        send(&s.fake, chat);
        let got = s.fake.wait_sent_to(chat, i + 1, T).await;
        assert!(
            plain(&got[i]).contains("only read text"),
            "{:?}",
            plain(&got[i])
        );
    }
    // Its reply first (however slow), so the next message counted is the edit's.
    s.ask(chat, "a question to edit").await;
    let n = s.fake.sent().iter().filter(|m| m.chat_id == chat).count();
    s.fake.send_edited_text(chat, "an edited question");
    let got = s.fake.wait_sent_to(chat, n + 1, T).await;
    assert!(
        plain(&got[n]).contains("new message"),
        "{:?}",
        plain(&got[n])
    );
    let long = "my worker is off sick with a bad back, what do I pay? ".repeat(100);
    assert!(long.len() > 4096);
    let reply = s.ask(chat, &long).await;
    assert!(!reply.is_empty(), "an over-long question is answered");
    let odd = s
        .ask(
            chat,
            "\"quotes\" (brackets) AND OR: -not ~x *y [z] 😀 \u{7}",
        )
        .await;
    assert!(!odd.is_empty());
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn small_talk_gets_a_friendly_word_and_is_not_an_unanswered_question() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_650;
    for text in ["hello", "thanks!", "ok", "?", "👍"] {
        let reply = s.ask(chat, text).await;
        let all: String = reply.iter().map(plain).collect();
        assert!(
            !all.contains("don't have guidance"),
            "{text:?} was treated as a question: {all}"
        );
        assert!(
            all_data(&reply).iter().any(|d| d == "T"),
            "{text:?}: no topics button: {reply:#?}"
        );
        assert!(all.chars().count() < 300, "{text:?}: a short word: {all}");
    }
    s.fake.send_sticker(chat);
    let n = s.fake.sent().iter().filter(|m| m.chat_id == chat).count();
    let got = s.fake.wait_sent_to(chat, n + 1, T).await;
    assert!(
        all_data(&got[n..]).iter().any(|d| d == "T"),
        "a sticker gets the topics button: {got:#?}"
    );
    // A real question still gets an answer, and a crisis in few words is still a crisis.
    let answer: String = s
        .ask(chat, "how long can someone self-certify")
        .await
        .iter()
        .map(plain)
        .collect();
    assert!(
        answer.contains("self-cert") || answer.contains("Self-cert"),
        "{answer}"
    );
    let crisis = s.ask(chat, "suicidal").await;
    assert!(plain(&crisis[0]).contains("999"), "{crisis:#?}");
    assert_clean(&s);
    s.stop().await;

    let mut db = s.db();
    let qs = db.questions(&Filter::default(), 20, 0).unwrap();
    let small: Vec<&str> = qs
        .iter()
        .filter(|q| q.outcome == "smalltalk")
        .map(|q| q.text.as_str())
        .collect();
    assert_eq!(small.len(), 6, "five texts and a sticker: {small:?}");
    assert!(qs.iter().all(|q| q.outcome != "no_answer"), "{qs:#?}");
    let stats = db.stats(None).unwrap();
    assert_eq!(stats.questions, 2, "small talk is not counted: {stats:?}");
    assert_eq!(stats.unanswered, 0);
    let days = db
        .days(chrono::Utc::now() - chrono::Duration::days(1))
        .unwrap();
    assert_eq!(days.iter().map(|d| d.questions).sum::<u64>(), 2, "{days:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_crisis_talk_to_someone_lists_the_crisis_lines_first() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_660;
    let reply = s
        .ask(chat, "one of my staff told me she wants to end her life")
        .await;
    let talk: Vec<String> = reply
        .iter()
        .flat_map(|m| m.buttons.iter().flatten())
        .filter(|b| b.text.contains("Talk to someone"))
        .map(|b| b.text.clone())
        .collect();
    assert_eq!(talk.len(), 1, "once per reply: {reply:#?}");
    let text: String = reply.iter().map(plain).collect::<Vec<_>>().join("\n");
    // The crisis entry's nested list (in its Read more): each item on a line of its own.
    let (m, more) = button(&reply, "Read more");
    let more: String = s
        .press(chat, m.message_id, &more)
        .await
        .iter()
        .map(plain)
        .collect();
    let text = format!("{text}\n{more}");
    let nested: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start_matches('\u{a0}').starts_with("◦ "))
        .collect();
    assert!(
        nested.iter().any(|l| l.contains("Samaritans"))
            && nested.iter().any(|l| l.contains("SHOUT")),
        "the nested list's items on lines of their own: {text}"
    );
    let (m, data) = button(&reply, "Talk to someone");
    let people = s.press(chat, m.message_id, &data).await;
    let text: String = people.iter().map(plain).collect();
    let samaritans = text
        .find("Samaritans")
        .expect("the crisis lines are listed");
    let acas = text.find("Acas").expect("and the usual ones after");
    assert!(samaritans < acas, "crisis lines first: {text}");
    // Without a crisis, "Talk to someone" is the usual list.
    let answer = s.ask(chat, "how long can someone self-certify").await;
    let (m, data) = button(&answer, "Talk to someone");
    assert_eq!(data, "h");
    let usual: String = s
        .press(chat, m.message_id, &data)
        .await
        .iter()
        .map(plain)
        .collect();
    assert!(!usual.contains("Samaritans"), "{usual}");
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_stale_buttons_get_a_polite_reply() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_700;
    let reply = s.ask(chat, "/help").await;
    let mid = reply[0].message_id;
    for data in [
        "s:no-such-entry",
        "zz:top",
        "f:abc:1",
        "t:nonsense",
        "s:<b>",
    ] {
        let before = s.fake.answered_callbacks().len();
        let got = s.press(chat, mid, data).await;
        assert_eq!(s.fake.answered_callbacks().len(), before + 1, "{data}");
        assert!(
            got.iter().any(|m| plain(m).contains("out of date")),
            "{data}: {got:#?}"
        );
    }
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_groups_only_commands_mentions_and_replies_are_answered() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let group = -100_200_300;
    s.fake.send_group_text(
        group,
        11,
        "is SSP paid to part timers and how much is it",
        false,
    );
    s.fake.send_sticker(group);
    // Both handled (confirmed to Telegram), so a reply would have been sent by now.
    s.fake.wait_all_confirmed(T).await;
    assert_eq!(
        s.fake.sent().iter().filter(|m| m.chat_id == group).count(),
        0,
        "a group message without a mention is ignored"
    );
    let mention = format!(
        "@{} is SSP paid to part timers and how much is it",
        s.fake.bot_username()
    );
    let asked = s.fake.send_group_text(group, 11, &mention, false);
    let got = s.fake.wait_sent_to(group, 1, T).await;
    assert!(plain(&got[0]).contains("Sick Pay") || plain(&got[0]).contains("SSP"));
    s.fake.wait_confirmed(asked, T).await;
    let n = s.fake.sent().iter().filter(|m| m.chat_id == group).count();
    let asked = s
        .fake
        .send_group_text(group, 12, "and what about fit notes", true);
    s.fake.wait_sent_to(group, n + 1, T).await;
    s.fake.wait_confirmed(asked, T).await;
    let n = s.fake.sent().iter().filter(|m| m.chat_id == group).count();
    let help = format!("/help@{}", s.fake.bot_username());
    s.fake.send_group_text(group, 12, &help, false);
    let got = s.fake.wait_sent_to(group, n + 1, T).await;
    assert!(plain(&got[n]).contains("/topics"));
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried_until_delivered() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_800;
    s.fake.send_text(chat, "/help");
    s.fake.wait_sent_to(chat, 1, T).await;
    s.fake
        .fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 });
    let got = s.ask(chat, "/privacy").await;
    assert!(
        plain(&got[0]).contains("never store"),
        "delivered after the 429"
    );
    s.fake.fail_next("sendMessage", Fault::Drop);
    let got = s.ask(chat, "/help").await;
    assert!(
        plain(&got[0]).contains("/topics"),
        "delivered after a dropped connection"
    );
    s.fake.fail_next("sendMessage", Fault::Status(502));
    let before = s.fake.calls("sendMessage");
    s.fake.send_text(chat, "/privacy");
    let n = s.fake.sent().iter().filter(|m| m.chat_id == chat).count();
    let got = s
        .fake
        .wait_sent_to(chat, n + 1, Duration::from_secs(40))
        .await;
    assert!(
        plain(&got[n]).contains("never store"),
        "delivered after the 502"
    );
    assert!(s.fake.calls("sendMessage") >= before + 2, "it was retried");
    assert_clean(&s);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_throttling_on_a_429_is_waited_out_and_delivered() {
    let s = Serve::start(&[]).await;
    let chat = 700_100_850;
    s.fake
        .fail_next("sendMessage", Fault::TooManyRequests { retry_after: 1 });
    let got = s.ask(chat, "/help").await;
    assert!(plain(&got[0]).contains("/topics"));
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_6000_character_reply_is_split_at_paragraphs_under_the_limit() {
    // Content whose entry has a long answer and long programme cards.
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo().join("content"), dir.path());
    let path = dir.path().join("guidance/absence/fit-notes.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("answer: |").unwrap();
    let end = text[start..].find("\nprogrammes:").unwrap() + start;
    let para =
        "This paragraph is long on purpose so that the answer reaches the limit of its length. ";
    let mut answer = String::from("answer: |\n");
    for i in 0..8 {
        answer.push_str(&format!("  Part {i}. {}\n\n", para.repeat(4).trim()));
    }
    text.replace_range(start..end, answer.trim_end());
    std::fs::write(&path, text).unwrap();
    let s = Serve::start_with(&["--throttle", "off"], dir.path()).await;
    let chat = 700_100_900;
    let topics = s.ask(chat, "/topics").await;
    let (menu, data) = button(&topics, "Sickness absence");
    let entries = s.press(chat, menu.message_id, &data).await;
    let (menu, data) = button(&entries, "Fit notes");
    let first = s.press(chat, menu.message_id, &data).await;
    assert_eq!(first.len(), 1, "one short first message: {first:#?}");
    let (m, more) = button(&first, "Read more");
    let reply = s.press(chat, m.message_id, &more).await;
    let total: usize = reply.iter().map(|m| plain(m).chars().count()).sum();
    // The first message fits a phone; nothing is lost: every part is in it or in "Read more".
    assert!(plain(&first[0]).chars().count() <= 1000, "{first:#?}");
    let all: String = first.iter().chain(&reply).map(plain).collect();
    for i in 0..8 {
        assert!(all.contains(&format!("Part {i}.")), "part {i} lost: {all}");
    }
    assert!(
        total > 2000,
        "{total} characters in {} message(s)",
        reply.len()
    );
    for m in &reply {
        let p = plain(m);
        assert!(p.encode_utf16().count() <= 4096);
        assert!(
            !p.starts_with(' ') && !p.ends_with(' '),
            "cut at a boundary: {p:?}"
        );
    }
    assert!(
        reply[..reply.len() - 1]
            .iter()
            .all(|m| m.buttons.is_empty())
    );
    assert!(
        !reply.last().unwrap().buttons.is_empty(),
        "buttons on the last part"
    );
    assert_clean(&s);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_chat_id_or_personal_detail_reaches_the_data_folder() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_123_456;
    let other = 700_654_321;
    s.ask(chat, "is SSP paid to part timers and how much is it")
        .await;
    s.ask(chat, "my email is sam.smith@example.org and phone 07700 900456, can I phone her when she's off sick").await;
    s.ask(other, "what is a fit note").await;
    let region = s.ask(chat, "/region").await;
    let (m, ne) = button(&region, "North East");
    s.press(chat, m.message_id, &ne).await;
    s.stop().await;
    let bytes: Vec<u8> = std::fs::read_dir(s.db_path())
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    for secret in [
        "700123456",
        "700654321",
        "sam.smith",
        "example.org",
        "07700 900456",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the data folder"
        );
    }
    let mut db = s.db();
    assert_eq!(
        db.count(&Filter::default()).unwrap(),
        3,
        "one row per question"
    );
    let texts: Vec<String> = db
        .questions(&Filter::default(), 10, 0)
        .unwrap()
        .into_iter()
        .map(|q| q.text)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("[email]") && t.contains("[phone]")),
        "{texts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_asks_first_then_deletes() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_222_333;
    let other = 700_222_444;
    s.ask(chat, "is SSP paid to part timers and how much is it")
        .await;
    s.ask(chat, "what is a fit note").await;
    s.ask(other, "what is a fit note").await;
    let ask = s.ask(chat, "/forget").await;
    assert!(plain(&ask[0]).contains("can't be undone"));
    let (m, no) = button(&ask, "No");
    s.press(chat, m.message_id, &no).await;
    let (m, yes) = button(&ask, "Yes");
    let done = s.press(chat, m.message_id, &yes).await;
    assert!(
        plain(&done[0]).contains("deleted 2 question(s)"),
        "{:?}",
        plain(&done[0])
    );
    assert_clean(&s);
    s.stop().await;
    let mut db = s.db();
    let left = db.questions(&Filter::default(), 10, 0).unwrap();
    assert_eq!(left.len(), 1, "only the other chat's question is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_and_a_missing_token_is_a_clear_error() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let body = reqwest::get(format!("{}/healthz", s.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.trim(), "ok");
    s.stop().await;

    let r = common::bin()
        .args(["serve"])
        .env_remove("TELOXIDE_TOKEN")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("TELOXIDE_TOKEN") && err.contains("chat"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_replies_in_flight_and_keeps_every_logged_question() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    for i in 0..20 {
        s.fake.send_text(
            710_000_000 + i,
            "is SSP paid to part timers and how much is it",
        );
    }
    // Stop while replies are going out.
    s.fake.wait_sent(1, T).await;
    s.stop().await;
    let answered: std::collections::HashSet<i64> =
        s.fake.sent().iter().map(|m| m.chat_id).collect();
    let logged = s.db().count(&Filter::default()).unwrap();
    assert!(
        logged as usize >= answered.len(),
        "{logged} logged, {} answered",
        answered.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_key_rotation_forget_still_finds_the_old_rows() {
    let data = tempfile::tempdir().unwrap();
    let content = common::repo().join("content");
    let launch = |fake| common::serve::Launch {
        args: &["--throttle", "off"],
        content: &content,
        data: Some(data.path()),
        fake,
    };
    let chat = 700_333_444;
    let mut s = Serve::launch(launch(None)).await;
    s.ask(chat, "is SSP paid to part timers and how much is it")
        .await;
    s.ask(chat, "what is a fit note").await;
    let fake = s.fake.clone();
    s.stop().await;
    drop(s);
    // Rotate: the old key becomes the previous one; a new key is made at the next start.
    std::fs::rename(
        data.path().join("pseudonym.key"),
        data.path().join("pseudonym.key.previous"),
    )
    .unwrap();
    let mut s = Serve::launch(launch(Some(fake))).await;
    s.ask(chat, "can I phone someone who is off sick").await;
    let ask = s.ask(chat, "/forget").await;
    let (m, yes) = button(&ask, "Yes");
    let done = s.press(chat, m.message_id, &yes).await;
    assert!(
        plain(&done[0]).contains("deleted 3 question(s)"),
        "{:?}",
        plain(&done[0])
    );
    s.stop().await;
    assert_eq!(s.db().count(&Filter::default()).unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_chats_updates_are_answered_in_order() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_444_555;
    let asks = ["/help", "/privacy", "/help", "/privacy", "/help"];
    for a in asks {
        s.fake.send_text(chat, a);
    }
    let got = s.fake.wait_sent_to(chat, asks.len(), T).await;
    for (a, m) in asks.iter().zip(&got) {
        let want = if *a == "/help" {
            "/topics"
        } else {
            "never store"
        };
        assert!(plain(m).contains(want), "{a}: {:?}", plain(m));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_that_fails_does_not_stop_other_chats() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let (a, b) = (700_555_666, 700_555_777);
    s.fake.send_text(a, "/help");
    s.fake.wait_sent_to(a, 1, T).await;
    // The user blocked the bot: Telegram refuses, and that is not retried.
    s.fake.fail_next("sendMessage", Fault::Status(403));
    let before = s.fake.calls("sendMessage");
    s.fake.send_text(a, "/privacy");
    let t0 = std::time::Instant::now();
    while s.fake.calls("sendMessage") == before {
        assert!(t0.elapsed() < T);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = s.ask(b, "/help").await;
    assert!(
        plain(&got[0]).contains("/topics"),
        "the other chat is answered"
    );
    let got = s.ask(a, "/help").await;
    assert!(
        plain(&got[0]).contains("/topics"),
        "and so is the first, later"
    );
    assert!(
        s.log_text().contains("could not be delivered"),
        "the failure is logged"
    );
}

async fn get(url: String) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Issue 14 item 5: one update no JSON parser accepts (a lone UTF-16 surrogate; nesting deeper
/// than serde_json's 128 levels) is skipped and confirmed, counted, logged without its content,
/// and the next question is answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_poisoned_update_is_skipped_and_the_next_question_answered() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let poisoned = 700_666_001i64;
    let who = format!(
        r#""chat":{{"id":{poisoned},"type":"private","first_name":"Poppy"}},"from":{{"id":{poisoned},"is_bot":false,"first_name":"Poppy"}}"#
    );
    s.fake.push_raw(
        "message",
        &format!(
            r#""message":{{"message_id":9,"date":0,{who},"text":"\ud800 private words about sick pay"}}"#
        ),
    );
    s.fake.push_raw(
        "message",
        &format!(
            r#""message":{{"message_id":10,"date":0,{who},"text":"private words","x":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        ),
    );
    let chat = 700_666_002;
    let got = s
        .ask(chat, "is SSP paid to part timers and how much is it")
        .await;
    assert!(
        plain(&got[0]).contains("Statutory Sick Pay"),
        "{:?}",
        plain(&got[0])
    );
    assert!(s.fake.sent().iter().all(|m| m.chat_id != poisoned));
    // Telegram is told to move past them: nothing stays unconfirmed.
    let t0 = std::time::Instant::now();
    while s.fake.unconfirmed() > 0 {
        assert!(
            t0.elapsed() < T,
            "updates left unconfirmed: {}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, m) = get(format!("{}/metrics", s.http)).await;
    assert_eq!(code, 200);
    for want in [
        "workhealth_updates_total{kind=\"unparseable\"} 2",
        "workhealth_telegram_updates_skipped 2",
        "workhealth_telegram_polling_ok 1",
    ] {
        assert!(m.lines().any(|l| l == want), "{want} missing from:\n{m}");
    }
    let (code, ready) = get(format!("{}/readyz", s.http)).await;
    assert_eq!(code, 200, "{ready}");
    assert!(
        ready.contains("2 unparseable updates skipped"),
        "polling health on /readyz: {ready}"
    );
    let log = s.log_text();
    assert_eq!(
        log.matches("skipped an update that could not be read")
            .count(),
        2,
        "{log}"
    );
    for secret in ["Poppy", "private words", &poisoned.to_string()] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

/// Issue 12 item 2: a reply stuck in Telegram's retries does not hold back a crisis reply
/// in the same chat.
#[tokio::test(flavor = "multi_thread")]
async fn a_crisis_reply_jumps_a_reply_stuck_in_retries() {
    // Throttled, as in production: the crisis reply must not queue behind the throttle either.
    let s = Serve::start(&[]).await;
    let chat = 700_777_001;
    s.ask(chat, "/help").await;
    s.fake.fail_next("sendMessage", Fault::Status(502));
    let before = s.fake.calls("sendMessage");
    s.fake
        .send_text(chat, "is SSP paid to part timers and how much is it");
    let t0 = std::time::Instant::now();
    while s.fake.calls("sendMessage") == before {
        assert!(t0.elapsed() < T, "the reply was never tried");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The 502 has been served: that reply is now waiting to be retried.
    let n = s.fake.sent().iter().filter(|m| m.chat_id == chat).count();
    // Telegram refuses the crisis reply's first attempt too: it is retried at once.
    s.fake.fail_next("sendMessage", Fault::Status(502));
    let asked = std::time::Instant::now();
    s.fake
        .send_text(chat, "he says he is going to kill himself tonight");
    let got = s.fake.wait_sent_to(chat, n + 1, T).await;
    let took = got[n].at.duration_since(asked);
    let first = plain(&got[n]);
    println!("the crisis reply left {took:?} after the update, its first attempt refused");
    assert!(
        first.contains("999"),
        "the crisis reply comes first: {first}"
    );
    assert!(
        took < Duration::from_secs(1),
        "the crisis reply took {took:?} behind a stuck reply"
    );
    // The stuck reply is still delivered, after its retry.
    let t0 = std::time::Instant::now();
    while !s
        .fake
        .sent()
        .iter()
        .any(|m| m.chat_id == chat && plain(m).contains("Statutory Sick Pay"))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "the stuck reply never came"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = s.log_text();
    assert!(log.contains("crisis message is answered at once"), "{log}");
    assert!(
        log.contains("Telegram refused a crisis reply; retrying it ahead of everything else"),
        "{log}"
    );
    assert_clean(&s);
}

/// The burst's questions: an answer, and a crisis.
const BURST: [&str; 2] = [
    "is SSP paid to part timers and how much is it",
    "one of my staff told me she wants to end her life",
];

/// Issue 14 item 4: kill -9 during a burst, then a restart on the same data folder. The fake
/// Bot API keeps unconfirmed updates and delivers them again, as Telegram does. Checked:
/// every question that reached the bot is answered, has exactly one log row, and no message
/// is sent twice except one Telegram accepted in the last round trip before the kill, before
/// the bot could record it (Telegram offers no way to ask what was sent, so that moment
/// cannot be closed). So: every message Telegram accepted had its sending recorded first;
/// a chat gets at most the messages in flight for it at the kill twice; and all chats
/// together at most the sends the bot lets be on the wire at once. Printed per run.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_burst_loses_no_question_and_answers_none_twice() {
    let content = common::repo().join("content");
    let runs: [(&[&str], usize); 5] = [
        (&["--throttle", "off"], 5),
        (&["--throttle", "off"], 30),
        (&["--throttle", "off"], 55),
        (&[], 15),
        (&[], 45),
    ];
    let mut resent_total = 0;
    for (run, (args, kill_after)) in runs.into_iter().enumerate() {
        let data = tempfile::tempdir().unwrap();
        let fake = FakeTelegram::start().await;
        let launch = |fake: &FakeTelegram| common::serve::Launch {
            args,
            content: &content,
            data: Some(data.path()),
            fake: Some(fake.clone()),
        };
        let mut s = Serve::launch(launch(&fake)).await;
        let base = 760_000_000 + 1000 * run as i64;
        let n = 40i64;
        // Half answers (one message each, now that an answer's first message fits a phone),
        // half crisis replies (two messages: the crisis message, then the crisis entry), so a
        // reply can be cut in the middle.
        let chats: Vec<(i64, i64)> = (0..n)
            .map(|i| {
                let text = format!("question {i}: {}", BURST[i as usize % 2]);
                (base + i, fake.send_text(base + i, &text))
            })
            .collect();
        let ours = |m: &Sent| m.chat_id >= base && m.chat_id < base + n;
        let t0 = std::time::Instant::now();
        while fake.count_sent(ours) < kill_after {
            assert!(t0.elapsed() < T, "run {run}: no replies: {}", s.log_text());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        s.child.kill().unwrap();
        let killed = std::time::Instant::now();
        s.child.wait().unwrap();
        // Requests already on the wire still reach the fake: let them land. A fixed wait, as
        // no event marks the last of a killed process's requests.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let at_kill: Vec<usize> = chats
            .iter()
            .map(|(c, _)| fake.count_sent(|m| m.chat_id == *c))
            .collect();
        // What the bot had recorded as delivered when it died.
        let recorded: Vec<workhealth::log::UpdateState> = {
            let mut db = s.db();
            let since = chrono::Utc::now() - chrono::TimeDelta::hours(1);
            chats
                .iter()
                .map(|(_, u)| db.update_state(*u, since).unwrap().unwrap_or_default())
                .collect()
        };
        let unconfirmed = fake.unconfirmed();
        // How long before the kill Telegram accepted the messages the bot had not recorded.
        let mut oldest_unrecorded = Duration::ZERO;
        let sent = fake.sent();
        for (i, (chat, _)) in chats.iter().enumerate() {
            let unrecorded = sent
                .iter()
                .filter(|m| m.chat_id == *chat)
                .skip(recorded[i].sent as usize);
            for m in unrecorded {
                oldest_unrecorded = oldest_unrecorded.max(killed.saturating_duration_since(m.at));
            }
        }
        drop(s);
        let mut s = Serve::launch(launch(&fake)).await;
        // Control questions, asked with no crash, say how many messages one reply of each
        // kind is.
        let mut wholes = [0usize; 2];
        for (k, text) in BURST.iter().enumerate() {
            let c = base + 998 + k as i64;
            let asked = fake.send_text(c, &format!("question 99{}: {text}", 8 + k));
            fake.wait_sent_to(c, 1, T).await;
            fake.wait_confirmed(asked, T).await;
            wholes[k] = fake.count_sent(|m| m.chat_id == c);
        }
        assert!(wholes[1] >= 2, "a crisis reply is two messages: {wholes:?}");
        let mut want = Vec::new();
        let mut in_flight = 0;
        for (i, (chat, _)) in chats.iter().enumerate() {
            let whole = wholes[i % 2];
            let r = recorded[i];
            assert!(
                r.sent as usize <= at_kill[i],
                "run {run}: recorded more than sent"
            );
            // Nothing reaches Telegram before its sending is recorded.
            assert!(
                r.done || at_kill[i] <= r.sending as usize,
                "run {run}: chat {i}: {} messages accepted, only {r:?} recorded",
                at_kill[i]
            );
            if !r.done {
                in_flight += (r.sending - r.sent) as usize;
            }
            let w = if r.done {
                at_kill[i]
            } else {
                at_kill[i] + whole - r.sent as usize
            };
            fake.wait_sent_to(*chat, w, T).await;
            want.push(w);
        }
        // Every update handled (confirmed): nothing more will be sent.
        fake.wait_all_confirmed(T).await;
        s.stop().await;
        let mut resent = 0;
        for (i, (chat, _)) in chats.iter().enumerate() {
            let whole = wholes[i % 2];
            let got = fake.count_sent(|m| m.chat_id == *chat);
            assert_eq!(
                got,
                want[i],
                "run {run}: chat {i}: {got} messages; {} before the kill, {:?} recorded, {whole} a reply: {:#?}",
                at_kill[i],
                recorded[i],
                fake.sent()
                    .iter()
                    .filter(|m| m.chat_id == *chat)
                    .map(|m| (
                        m.method.clone(),
                        plain(m).chars().take(80).collect::<String>()
                    ))
                    .collect::<Vec<_>>()
            );
            assert!(got >= whole, "run {run}: chat {i} not answered in full");
            let twice = got - whole;
            // At most what was in flight for this chat at the kill.
            let r = recorded[i];
            assert!(
                twice <= (r.sending - r.sent) as usize,
                "run {run}: chat {i}: {twice} sent twice, {r:?} recorded"
            );
            resent += twice;
        }
        // And at most what the bot lets be on the wire at once.
        let slots =
            workhealth::bot::send::SENDS_IN_FLIGHT + workhealth::bot::send::URGENT_IN_FLIGHT;
        assert!(
            resent <= slots,
            "run {run}: {resent} messages sent twice, more than the {slots} sends ever in flight"
        );
        let rows: Vec<String> = s
            .db()
            .questions(&Filter::default(), 1000, 0)
            .unwrap()
            .into_iter()
            .map(|q| q.text)
            .collect();
        for i in 0..n {
            let prefix = format!("question {i}: ");
            let k = rows.iter().filter(|t| t.starts_with(&prefix)).count();
            assert_eq!(k, 1, "run {run}: question {i} has {k} log rows");
        }
        assert_eq!(rows.len() as i64, n + 2, "run {run}: {rows:?}");
        println!(
            "run {run} ({args:?}): killed after {} of {} messages, {unconfirmed} updates unconfirmed; \
             {in_flight} messages recorded as being sent but not delivered; \
             after the restart all {n} answered in full, {} log rows, {resent} messages sent twice \
             (accepted by Telegram but not yet recorded at the kill, the oldest {oldest_unrecorded:?} before it)",
            at_kill.iter().sum::<usize>(),
            n as usize / 2 * (wholes[0] + wholes[1]),
            rows.len(),
        );
        resent_total += resent;
    }
    println!("messages sent twice over all runs: {resent_total}");
}

/// Issue 17 item 2: under an answer, close runners-up lead the buttons, said as "Or did you
/// mean…"; picking one records it on the question's row.
#[tokio::test(flavor = "multi_thread")]
async fn close_runners_up_lead_the_buttons_under_an_answer() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_670;
    let reply = s.ask(chat, RUNNER_UP_QUESTION).await;
    let text: String = reply.iter().map(plain).collect();
    assert!(text.contains("Or did you mean"), "{text}");
    assert!(
        !text.contains("not sure which"),
        "an answer, not a clarify: {text}"
    );
    let shows: Vec<String> = all_data(&reply)
        .into_iter()
        .filter(|d| d.starts_with("s:"))
        .collect();
    // The first entry button is a runner-up named in the "Or did you mean" line.
    let first = shows.first().expect("entry buttons");
    let label = reply
        .iter()
        .flat_map(|m| m.buttons.iter().flatten())
        .find(|b| b.callback_data.as_deref() == Some(first.as_str()))
        .unwrap()
        .text
        .clone();
    let line = text
        .lines()
        .find(|l| l.contains("Or did you mean"))
        .unwrap()
        .to_string();
    assert!(
        line.contains(label.trim_end_matches('…')),
        "{label:?} not in {line:?}"
    );
    let m = reply.last().unwrap();
    let picked = s.press(chat, m.message_id, first).await;
    let (pm, up) = button(&picked, "👍");
    s.press(chat, pm.message_id, &up).await;
    assert_clean(&s);
    s.stop().await;
    let q = &s.db().questions(&Filter::default(), 10, 0).unwrap()[0];
    let id = first.split(':').nth(1).unwrap();
    assert_eq!(q.shown_id.as_deref(), Some(id), "the pick is recorded");
    assert_eq!(q.feedback, Some(Feedback::Helpful));
}

/// A question whose answer has a close runner-up on the real content (cancer, with Macmillan
/// at 0.84 of its score in int8 and f32; "or did you mean" needs `RUNNER_UP_RATIO`, 0.80, to
/// the clarify ratio, 0.88). Ranking changes can move a question across those lines:
/// `ask --json` shows the scores.
const RUNNER_UP_QUESTION: &str =
    "my supervisor has breast cancer and wants to keep working through treatment, what can I do";

/// Issue 17 item 7: after "which did you mean", the entry picked is recorded on the question's
/// row with what was sent (Telegram's text, not a terminal rendering), and 👍/👎 attach to the
/// entry they were under.
#[tokio::test(flavor = "multi_thread")]
async fn a_clarify_pick_is_recorded_with_its_feedback() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_680;
    let reply = s.ask(chat, "how much is statutory sick pay").await;
    assert!(
        reply
            .iter()
            .map(plain)
            .collect::<String>()
            .contains("not sure which")
    );
    let shows: Vec<String> = all_data(&reply)
        .into_iter()
        .filter(|d| d.starts_with("s:"))
        .collect();
    let m = reply.last().unwrap();
    let second = shows[1].clone();
    let picked = s.press(chat, m.message_id, &second).await;
    let (pm, down) = button(&picked, "👎");
    let entry = second.split(':').nth(1).unwrap().to_string();
    assert!(down.ends_with(&format!(":0:{entry}")), "{down}");
    s.press(chat, pm.message_id, &down).await;
    // Then the first choice, and 👍 on it: the row follows the entry the feedback was under.
    let first = shows[0].clone();
    let picked_first = s.press(chat, m.message_id, &first).await;
    s.stop().await;
    let q = &s.db().questions(&Filter::default(), 10, 0).unwrap()[0];
    let first_entry = first.split(':').nth(1).unwrap();
    assert_eq!(q.outcome, "clarify");
    assert_eq!(q.shown_id.as_deref(), Some(first_entry));
    assert_eq!(q.feedback, Some(Feedback::Unhelpful));
    let text = q.reply_text.as_deref().unwrap();
    // The text as sent: the clarify, its buttons, then each pick's message, with no HTML.
    assert!(text.contains("not sure which"), "{text}");
    assert!(text.contains("[👍 Helpful]"), "{text}");
    assert!(!text.contains("<b>") && !text.contains("&amp;"), "{text}");
    assert!(text.contains(picked[0].plain.as_deref().unwrap().lines().next().unwrap()));
    assert!(
        text.contains(
            picked_first[0]
                .plain
                .as_deref()
                .unwrap()
                .lines()
                .next()
                .unwrap()
        )
    );

    // 👍 under the second pick, pressed after the first was picked: it goes with the second.
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let reply = s.ask(chat, "how much is statutory sick pay").await;
    let m = reply.last().unwrap();
    // (The buttons carry this run's question id.)
    let shows: Vec<String> = all_data(&reply)
        .into_iter()
        .filter(|d| d.starts_with("s:"))
        .collect();
    assert_eq!(shows[1].split(':').nth(1), Some(entry.as_str()));
    let picked = s.press(chat, m.message_id, &shows[1]).await;
    s.press(chat, m.message_id, &shows[0]).await;
    let (pm, up) = button(&picked, "👍");
    s.press(chat, pm.message_id, &up).await;
    s.stop().await;
    let q = &s.db().questions(&Filter::default(), 10, 0).unwrap()[0];
    assert_eq!(q.shown_id.as_deref(), Some(entry.as_str()));
    assert_eq!(q.feedback, Some(Feedback::Helpful));
}

/// Issue 17 item 3: a short follow-up is answered in the light of the previous question, per
/// chat, and not after /forget.
#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_is_answered_from_context_until_forget() {
    let mut s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_690;
    let other = 700_100_691;
    s.ask(chat, "is SSP paid to part timers and how much is it")
        .await;
    let then = "what do I pay her then";
    let follow: String = s.ask(chat, then).await.iter().map(plain).collect();
    assert!(
        follow.contains("Following on from your last question"),
        "{follow}"
    );
    assert!(follow.contains("Statutory Sick Pay"), "{follow}");
    // Another chat has no context: the same words on their own.
    let alone: String = s.ask(other, then).await.iter().map(plain).collect();
    assert!(alone.contains("don't have guidance"), "{alone}");
    // /forget drops the context with everything else.
    let ask = s.ask(chat, "/forget").await;
    let (m, yes) = button(&ask, "Yes");
    s.press(chat, m.message_id, &yes).await;
    let after: String = s.ask(chat, then).await.iter().map(plain).collect();
    assert!(after.contains("don't have guidance"), "{after}");
    // The other chat's own follow-up is logged as one, led by the entry it followed.
    s.ask(other, "is SSP paid to part timers and how much is it")
        .await;
    s.ask(other, then).await;
    assert_clean(&s);
    s.stop().await;
    let qs = s.db().questions(&Filter::default(), 10, 0).unwrap();
    // Led by: the first result after any `crisis:` lead (a crisis near-miss is logged first,
    // and "what do I pay her then" sits 0.47 from a crisis example about someone's wages).
    let led_by = |results: &[(String, f64)]| {
        results
            .iter()
            .map(|(id, _)| id.as_str())
            .find(|id| !id.starts_with("crisis:"))
            .unwrap_or("")
            .to_string()
    };
    let followed: Vec<_> = qs
        .iter()
        .filter(|q| led_by(&q.results).starts_with("follow_up:"))
        .collect();
    assert_eq!(followed.len(), 1, "{qs:#?}");
    assert_eq!(led_by(&followed[0].results), "follow_up:ssp-eligibility");
    assert_eq!(followed[0].text, then);
    assert_eq!(followed[0].outcome, "answer");
}

/// Issue 17 item 6: a 502 storm at start on getMe, deleteWebhook and setMyCommands does not
/// keep the bot deaf: polling starts at once, /start is answered within 2 s, and the menu is
/// registered once Telegram recovers, retried with short backoff.
#[tokio::test(flavor = "multi_thread")]
async fn a_502_storm_at_start_does_not_delay_the_first_answer() {
    let fake = FakeTelegram::start().await;
    for method in ["getMe", "deleteWebhook", "setMyCommands"] {
        for _ in 0..3 {
            fake.fail_next(method, Fault::Status(502));
        }
    }
    let content = common::repo().join("content");
    // Timed from here: wait for the answering tests first (Serve::launch would, inside t0).
    let _room = tokio::task::spawn_blocking(|| common::Room::Timed.enter())
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    let mut s = Serve::launch(common::serve::Launch {
        args: &["--throttle", "off"],
        content: &content,
        data: None,
        fake: Some(fake.clone()),
    })
    .await;
    let chat = 700_100_700;
    let sent = std::time::Instant::now();
    fake.send_text(chat, "/start");
    let got = fake.wait_sent_to(chat, 1, T).await;
    let took = got[0].at.duration_since(sent);
    println!(
        "/start answered {took:?} after it was sent, {:?} after the start",
        got[0].at.duration_since(t0)
    );
    assert!(
        took < Duration::from_secs(2),
        "/start answered after {took:?} (started {:?} ago)",
        t0.elapsed()
    );
    assert!(
        fake.calls("getMe") >= 1 && fake.calls("deleteWebhook") >= 1,
        "both were asked"
    );
    // Three 502s and then the menu, with 0.5 s and 1 s and 2 s between: seconds, not the
    // 30 s teloxide's own waits would take.
    while fake.commands().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "menu not registered: {}",
            s.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fake.calls("setMyCommands") >= 4);
    s.stop().await;
}

/// Issue 17 item 6: a message sent while Telegram fails every send is answered within about
/// 2 s of its recovery (retries wait 0.5 s, doubling to 2 s at most), not after teloxide's
/// 10 s wait per server error.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_during_a_5xx_storm_is_answered_soon_after_recovery() {
    let s = Serve::start(&["--throttle", "off"]).await;
    let chat = 700_100_900;
    s.ask(chat, "/help").await;
    let storm = 5;
    for code in [502, 500, 503, 502, 504].into_iter().take(storm) {
        s.fake.fail_next("sendMessage", Fault::Status(code));
    }
    let before = s.fake.calls("sendMessage");
    let asked = std::time::Instant::now();
    s.fake.send_text(chat, "/privacy");
    // The storm is over once its last failure has been served.
    while s.fake.calls("sendMessage") < before + storm {
        assert!(asked.elapsed() < T, "{}", s.log_text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recovered = std::time::Instant::now();
    let got = s.fake.wait_sent_to(chat, 2, T).await;
    assert!(plain(&got[1]).contains("never store"));
    let after = got[1].at.saturating_duration_since(recovered);
    println!(
        "answered {after:?} after the storm of {storm} server errors ended, {:?} after it was sent",
        got[1].at.duration_since(asked)
    );
    assert!(
        after < Duration::from_millis(2500),
        "answered {after:?} after Telegram recovered"
    );
    assert_eq!(s.fake.calls("sendMessage"), before + storm + 1);
    assert_clean(&s);
}

/// Issue 17 item 6: a refused connection and an answer that is not the Bot API's get
/// different, accurate errors (neither blames the token).
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_and_a_malformed_answer_get_different_errors() {
    let serve = |api: String| {
        let data = tempfile::tempdir().unwrap();
        let index = tempfile::tempdir().unwrap();
        let out = common::bin()
            .args([
                "--content",
                common::repo().join("content").to_str().unwrap(),
            ])
            .args(["--index", index.path().join("i").to_str().unwrap()])
            .args(["--data", data.path().to_str().unwrap()])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("TELOXIDE_TOKEN", "123456:TEST")
            .env("TELOXIDE_API_URL", api)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = tokio::task::spawn_blocking(move || serve(format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap();
    let last = refused.lines().last().unwrap_or_default().to_string();
    assert!(last.contains("cannot connect to the Bot API"), "{refused}");
    assert!(!last.contains("TELOXIDE_TOKEN"), "{last}");
    // A server that answers, but not like the Bot API.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut c, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf).await;
            let body = "<html>hello</html>";
            let _ = c
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let malformed = tokio::task::spawn_blocking(move || serve(format!("http://{addr}/")))
        .await
        .unwrap();
    let last = malformed.lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains("did not answer like the Bot API"),
        "{malformed}"
    );
    assert!(last.contains("<html>"), "what it answered: {last}");
    assert!(
        !last.contains("TELOXIDE_TOKEN") && !last.contains("123456"),
        "{last}"
    );
}
