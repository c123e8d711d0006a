//! Long polling, done here rather than by teloxide so that a crash loses nothing and a bad
//! update stops nothing.
//!
//! - **Confirmed only once handled.** Telegram forgets every update below the `offset` of a
//!   `getUpdates` call. The offset sent is the oldest update still being handled (see
//!   [`InFlight`]), so after a crash Telegram delivers again whatever was not finished, and
//!   the question log's record of how far each update was handled
//!   ([`crate::log::Log::update_state`]) keeps those that were from being answered twice. An update stuck for longer than [`STUCK`]
//!   (a reply waiting out long rate limits) is confirmed anyway, so that it cannot hold back
//!   everyone else's; it is still answered, but a crash in that time would lose it.
//! - **One bad update costs only itself.** The response is split into its updates before any
//!   of them is parsed ([`split_batch`]); one that does not parse (a lone UTF-16 surrogate,
//!   nesting deeper than the parser allows, a shape teloxide cannot model) is skipped and
//!   counted, and logged by its update id only: never its text, names or chat ids.
//! - **Starts at once.** Any webhook is deleted with one quick try before the first poll,
//!   and again whenever Telegram refuses a poll because one is set; nothing else is waited
//!   for.
//! - **Health** ([`PollHealth`]) is kept for `/readyz` and `/metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::types::UpdateKind;
use tokio::sync::{Notify, watch};

use super::lanes::Lanes;
use crate::metrics::Metrics;

/// How long one long poll waits for an update when nothing is being handled.
const LONG_POLL: Duration = Duration::from_secs(10);
/// While updates are being handled, Telegram answers at once (with those updates again), so
/// the next poll waits for one to finish, or this long at most, before asking again.
const BUSY_POLL: Duration = Duration::from_millis(150);
/// An update handled for longer than this is confirmed to Telegram anyway.
pub const STUCK: Duration = Duration::from_secs(60);
/// Failed polls in a row (or this long without a successful one) make `/readyz` say so.
pub const UNHEALTHY_FAILURES: u64 = 3;
pub const UNHEALTHY_SILENCE: Duration = Duration::from_secs(60);
/// The longest wait between failed polls: short, so that a message sent while Telegram is
/// failing is answered within seconds of its recovery.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(5);
/// The update kinds the bot asks for.
pub const ALLOWED: [&str; 3] = ["message", "edited_message", "callback_query"];

/// Updates handed to handlers and not yet handled, with when each was handed over.
#[derive(Default)]
pub struct InFlight {
    ids: Mutex<BTreeMap<i64, Instant>>,
    changed: Notify,
}

impl InFlight {
    pub fn start(&self, id: i64) {
        self.lock().insert(id, Instant::now());
    }

    pub fn done(&self, id: i64) {
        self.lock().remove(&id);
        self.changed.notify_waiters();
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The oldest update in flight for less than [`STUCK`].
    fn oldest_fresh(&self) -> Option<i64> {
        self.lock()
            .iter()
            .find(|(_, at)| at.elapsed() < STUCK)
            .map(|(id, _)| *id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Instant>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How polling is going, for `/readyz` and `/metrics`.
#[derive(Debug, Default)]
pub struct PollHealth {
    /// When `getUpdates` last answered well (None before the first time).
    pub last_ok: Mutex<Option<Instant>>,
    /// Failed `getUpdates` calls since the last good one.
    pub failures: AtomicU64,
    /// The last failure, in a few words (no update content).
    pub last_error: Mutex<Option<String>>,
    /// Updates skipped because they could not be parsed.
    pub skipped: AtomicU64,
    /// Updates confirmed to Telegram while still being handled (stuck for [`STUCK`]), now.
    pub confirmed_early: AtomicU64,
}

/// Polling is not healthy: too many failed `getUpdates` in a row, or none succeeded lately.
#[derive(Debug, thiserror::Error)]
#[error("polling failing: {failures} failed getUpdates in a row, last success {ago}: {last}")]
pub struct PollUnhealthy {
    pub failures: u64,
    /// When the last call succeeded ("12 s ago", "never").
    pub ago: String,
    /// The last failure, as said.
    pub last: String,
}

impl PollHealth {
    /// `Err` with the reason when polling is not healthy.
    pub fn check(&self) -> Result<(), PollUnhealthy> {
        let failures = self.failures.load(Ordering::Relaxed);
        let last_ok = *self.last_ok.lock().unwrap_or_else(|p| p.into_inner());
        let silent = last_ok.is_some_and(|t| t.elapsed() > UNHEALTHY_SILENCE);
        if failures >= UNHEALTHY_FAILURES || silent {
            let e = self
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .unwrap_or_default();
            let ago = last_ok.map_or("never".to_string(), |t| {
                format!("{} s ago", t.elapsed().as_secs())
            });
            return Err(PollUnhealthy {
                failures,
                ago,
                last: e,
            });
        }
        Ok(())
    }

    /// One line for `/readyz`.
    pub fn summary(&self) -> String {
        let last_ok = *self.last_ok.lock().unwrap_or_else(|p| p.into_inner());
        format!(
            "telegram polling: last getUpdates {}, {} unparseable updates skipped",
            last_ok.map_or("not yet".to_string(), |t| format!(
                "{:.1} s ago",
                t.elapsed().as_secs_f64()
            )),
            self.skipped.load(Ordering::Relaxed)
        )
    }

    fn ok(&self) {
        *self.last_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.failures.store(0, Ordering::Relaxed);
    }

    fn failed(&self, why: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }
}

/// One element of a `getUpdates` result.
#[derive(Debug)]
pub enum Item {
    Update(Box<Update>),
    /// An update that could not be read: its id, if that much could be found, and why.
    Bad {
        id: Option<i64>,
        why: &'static str,
    },
}

/// What a `getUpdates` response said.
#[derive(Debug)]
pub enum Batch {
    Updates(Vec<Item>),
    /// `ok: false`: Telegram's code, description and `retry_after`, if any.
    Refused {
        code: i64,
        description: String,
        retry_after: Option<u64>,
    },
}

/// The raw text of each member of the JSON object or array `s` (an object's members as
/// `"key": value`), found without parsing them, so nothing inside can make this fail;
/// `None` when `s` is not one well-bracketed object or array. Never recurses.
pub fn split_container(s: &str) -> Option<Vec<&str>> {
    let b = s.as_bytes();
    let start = b.iter().position(|c| !c.is_ascii_whitespace())?;
    let close = match b[start] {
        b'{' => b'}',
        b'[' => b']',
        _ => return None,
    };
    let mut members = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut member_start = None;
    for (i, &c) in b.iter().enumerate().skip(start) {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b'"' => {
                in_string = true;
                if depth == 1 && member_start.is_none() {
                    member_start = Some(i);
                }
            }
            b'{' | b'[' => {
                if depth == 1 && member_start.is_none() {
                    member_start = Some(i);
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    if c != close {
                        return None;
                    }
                    if let Some(m) = member_start.take() {
                        members.push(s[m..i].trim_end());
                    }
                    let rest = &s[i + 1..];
                    return rest.trim().is_empty().then_some(members);
                }
            }
            b',' if depth == 1 => match member_start.take() {
                Some(m) => members.push(s[m..i].trim_end()),
                None => return None,
            },
            c if depth == 1 && member_start.is_none() && !c.is_ascii_whitespace() => {
                member_start = Some(i);
            }
            _ => {}
        }
    }
    None
}

/// An object member `"key": value` as its key and raw value.
fn member(m: &str) -> Option<(String, &str)> {
    // The key is a string: its closing quote is the first unescaped one after the opening.
    let b = m.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut escaped = false;
    let mut end = None;
    for (i, &c) in b.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            end = Some(i);
            break;
        }
    }
    let end = end?;
    let key: String = serde_json::from_str(&m[..=end]).ok()?;
    let rest = m[end + 1..].trim_start().strip_prefix(':')?;
    Some((key, rest.trim()))
}

/// The raw value of `key` in the JSON object `s`.
fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    split_container(s)?
        .into_iter()
        .filter_map(member)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Reads one update; never fails, and never keeps the content of one it cannot read.
pub fn read_update(raw: &str) -> Item {
    match serde_json::from_str::<Update>(raw) {
        Ok(u) if matches!(u.kind, UpdateKind::Error(_)) => Item::Bad {
            id: Some(i64::from(u.id.0)),
            why: "a kind or shape the bot cannot read",
        },
        Ok(u) => Item::Update(Box::new(u)),
        Err(e) => {
            let why = if e.to_string().contains("recursion limit") {
                "nested too deeply"
            } else if e.is_syntax() || e.is_eof() {
                "invalid JSON"
            } else {
                "a shape the bot cannot read"
            };
            let id = field(raw, "update_id").and_then(|v| v.parse::<i64>().ok());
            Item::Bad { id, why }
        }
    }
}

/// Reads a `getUpdates` response, update by update.
pub fn split_batch(body: &str) -> Result<Batch, &'static str> {
    let members: Vec<(String, &str)> = split_container(body)
        .ok_or("the response is not a JSON object")?
        .into_iter()
        .filter_map(member)
        .collect();
    let get = |k: &str| members.iter().find(|(key, _)| key == k).map(|(_, v)| *v);
    match get("ok") {
        Some("true") => {
            let result = get("result").ok_or("the response has no result")?;
            let items = split_container(result).ok_or("the result is not an array")?;
            Ok(Batch::Updates(items.into_iter().map(read_update).collect()))
        }
        Some("false") => {
            let code = get("error_code").and_then(|v| v.parse().ok()).unwrap_or(0);
            let description = get("description")
                .and_then(|v| serde_json::from_str::<String>(v).ok())
                .unwrap_or_default();
            let retry_after = get("parameters")
                .and_then(|p| field(p, "retry_after"))
                .and_then(|v| v.parse().ok());
            Ok(Batch::Refused {
                code,
                description,
                retry_after,
            })
        }
        _ => Err("the response has no ok field"),
    }
}

/// The long-polling loop: runs until `stop` turns true, handing updates to `lanes`.
pub struct Poller {
    pub bot: Bot,
    pub lanes: std::sync::Arc<Lanes>,
    pub health: std::sync::Arc<PollHealth>,
    pub metrics: std::sync::Arc<Metrics>,
}

impl Poller {
    /// Returns the newest update id seen, for [`Poller::confirm`].
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Option<i64> {
        let inflight = self.lanes.inflight().clone();
        // Ids handed out at or above the offset: Telegram sends them again until confirmed.
        let mut seen: BTreeSet<i64> = BTreeSet::new();
        let mut last: Option<i64> = None;
        let mut backoff = Duration::from_secs(1);
        // Any webhook is deleted first (switching back from webhook mode): one quick try, so
        // a failing Telegram does not hold back the first poll; Telegram's refusal of a poll
        // while a webhook is set brings another.
        delete_webhook(&self.bot, &self.metrics).await;
        while !*stop.borrow() {
            let offset = self.offset(&inflight, last);
            if let Some(o) = offset {
                seen = seen.split_off(&o);
            }
            let busy = !inflight.is_empty();
            let timeout = if busy { Duration::ZERO } else { LONG_POLL };
            let r = tokio::select! {
                r = get_updates(&self.bot, offset, timeout) => r,
                _ = stop.wait_for(|s| *s) => break,
            };
            let mut fresh = 0usize;
            match r {
                Ok(Batch::Updates(items)) => {
                    self.health.ok();
                    backoff = Duration::from_secs(1);
                    let mut prev: Option<i64> = None;
                    for item in items {
                        let id = match &item {
                            Item::Update(u) => Some(i64::from(u.id.0)),
                            // With no readable id, Telegram's numbering is one up from the last.
                            Item::Bad { id, .. } => id.or(prev.map(|p| p + 1)),
                        };
                        prev = id.or(prev);
                        if let Some(id) = id {
                            if !seen.insert(id) {
                                continue;
                            }
                            last = Some(last.map_or(id, |l| l.max(id)));
                        }
                        fresh += 1;
                        match item {
                            Item::Update(u) => self.lanes.dispatch(*u),
                            Item::Bad { id, why } => {
                                self.health.skipped.fetch_add(1, Ordering::Relaxed);
                                self.metrics.updates.inc("unparseable");
                                tracing::warn!(
                                    update_id = id,
                                    why,
                                    "skipped an update that could not be read (content not logged)"
                                );
                            }
                        }
                    }
                }
                Ok(Batch::Refused {
                    code,
                    description,
                    retry_after,
                }) => {
                    if code == 409
                        && description.contains("webhook")
                        && delete_webhook(&self.bot, &self.metrics).await
                    {
                        continue;
                    }
                    let why = format!("Telegram refused getUpdates: {code} {description}");
                    tracing::warn!(
                        code,
                        description,
                        "Telegram refused getUpdates; polling again"
                    );
                    self.health.failed(why);
                    self.metrics.telegram_errors.inc("get_updates");
                    let wait = retry_after.map_or(backoff, Duration::from_secs);
                    backoff = (backoff * 2).min(MAX_POLL_BACKOFF);
                    if pause(&mut stop, wait).await {
                        break;
                    }
                    continue;
                }
                Err(why) => {
                    tracing::warn!(error = %why, "getUpdates failed; polling again");
                    self.health.failed(why.to_string());
                    self.metrics.telegram_errors.inc("get_updates");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_POLL_BACKOFF);
                    if pause(&mut stop, wait).await {
                        break;
                    }
                    continue;
                }
            }
            if busy && fresh == 0 {
                // Only updates already being handled came back: wait for one to finish.
                let finished = inflight.changed.notified();
                tokio::select! {
                    _ = finished => {}
                    _ = tokio::time::sleep(BUSY_POLL) => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        }
        last
    }

    /// The offset to send: the oldest update still being handled, else one past the last
    /// seen; `None` before any update (Telegram then sends all it has not had confirmed).
    fn offset(&self, inflight: &InFlight, last: Option<i64>) -> Option<i64> {
        let next = last.map(|l| l + 1);
        let oldest = inflight.oldest_fresh();
        let stuck = inflight
            .lock()
            .iter()
            .filter(|(id, at)| at.elapsed() >= STUCK && oldest.is_none_or(|o| **id < o))
            .count() as u64;
        let before = self.health.confirmed_early.swap(stuck, Ordering::Relaxed);
        if stuck > before {
            tracing::warn!(
                stuck,
                "confirming updates to Telegram that are still being handled after {} s",
                STUCK.as_secs()
            );
        }
        match (oldest, next) {
            (Some(o), Some(n)) => Some(o.min(n)),
            (o, n) => o.or(n),
        }
    }

    /// Confirms to Telegram every update handled (at a graceful stop).
    pub async fn confirm(&self, last_seen: Option<i64>) {
        if let Some(next) = self.offset(self.lanes.inflight(), last_seen) {
            let _ = get_updates_limit(&self.bot, Some(next), Duration::ZERO, 1).await;
        }
    }
}

/// Deletes the bot's webhook, once, quickly; true if Telegram took it.
async fn delete_webhook(bot: &Bot, metrics: &Metrics) -> bool {
    let body = serde_json::json!({});
    match super::send::call(bot, "deleteWebhook", &body, Duration::from_secs(5)).await {
        Ok(_) => true,
        Err(e) => {
            metrics.telegram_errors.inc(e.kind);
            tracing::warn!(error = e.why, "deleteWebhook failed; polling anyway");
            false
        }
    }
}

/// Sleeps `d` unless `stop` turns true first (then true).
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}

/// Why one `getUpdates` call failed, said without any of the response's content (the token is
/// in the URL, so reqwest's errors are shown without it).
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("bad Bot API URL: {0}")]
    BadUrl(String),
    #[error("getUpdates: {0}")]
    Request(reqwest::Error),
    #[error("getUpdates: reading the response: {0}")]
    Read(reqwest::Error),
    #[error("getUpdates: HTTP {status}: {reason}")]
    Unreadable { status: u16, reason: &'static str },
}

async fn get_updates(
    bot: &Bot,
    offset: Option<i64>,
    timeout: Duration,
) -> Result<Batch, PollError> {
    get_updates_limit(bot, offset, timeout, 100).await
}

/// One `getUpdates` call over the bot's own HTTP client; errors are described without any
/// of the response's content.
async fn get_updates_limit(
    bot: &Bot,
    offset: Option<i64>,
    timeout: Duration,
    limit: u32,
) -> Result<Batch, PollError> {
    let url = bot
        .api_url()
        .join(&format!("/bot{}/getUpdates", bot.token()))
        .map_err(|e| PollError::BadUrl(e.to_string()))?;
    let mut body = serde_json::json!({
        "timeout": timeout.as_secs(),
        "limit": limit,
        "allowed_updates": ALLOWED,
    });
    if let Some(o) = offset {
        body["offset"] = o.into();
    }
    let resp = bot
        .client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(timeout + Duration::from_secs(15))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| PollError::Request(e.without_url()))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| PollError::Read(e.without_url()))?;
    split_batch(&text).map_err(|reason| PollError::Unreadable {
        status: status.as_u16(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_polling_is_said_as_before() {
        let e = PollUnhealthy {
            failures: 5,
            ago: "never".into(),
            last: "getUpdates: timed out".into(),
        };
        assert_eq!(
            e.to_string(),
            "polling failing: 5 failed getUpdates in a row, last success never: getUpdates: timed out"
        );
    }

    #[test]
    fn a_failed_get_updates_is_said_as_before() {
        let e = PollError::Unreadable {
            status: 502,
            reason: "the response is not a JSON object",
        };
        assert_eq!(
            e.to_string(),
            "getUpdates: HTTP 502: the response is not a JSON object"
        );
        assert_eq!(
            PollError::BadUrl("relative URL without a base".into()).to_string(),
            "bad Bot API URL: relative URL without a base"
        );
    }

    fn update(id: i64, text: &str) -> String {
        format!(
            r#"{{"update_id":{id},"message":{{"message_id":1,"date":0,"chat":{{"id":5,"type":"private","first_name":"Kim"}},"from":{{"id":5,"is_bot":false,"first_name":"Kim"}},"text":"{text}"}}}}"#
        )
    }

    #[test]
    fn one_bad_update_costs_only_itself() {
        let deep = format!(
            r#"{{"update_id":11,"message":{{"message_id":2,"date":0,"chat":{{"id":6,"type":"private","first_name":"x"}},"x":{}1{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let body = format!(
            r#"{{"ok":true,"result":[{},{},{deep},{}]}}"#,
            update(9, "hello"),
            update(10, r"\ud800 sick pay"),
            update(12, "how much is sick pay"),
        );
        // serde_json refuses the whole batch, as teloxide would.
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        let Ok(Batch::Updates(items)) = split_batch(&body) else {
            panic!("not read")
        };
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[0], Item::Update(u) if u.id.0 == 9));
        assert!(matches!(
            items[1],
            Item::Bad {
                id: Some(10),
                why: "invalid JSON"
            }
        ));
        assert!(matches!(
            items[2],
            Item::Bad {
                id: Some(11),
                why: "nested too deeply"
            }
        ));
        assert!(matches!(&items[3], Item::Update(u) if u.id.0 == 12));
        // What is kept of a bad update says nothing of its content.
        let kept = format!("{:?}", items[1]);
        assert!(!kept.contains("sick") && !kept.contains("Kim"), "{kept}");
    }

    #[test]
    fn refusals_and_garbage_are_told_apart() {
        let r = split_batch(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#,
        );
        assert!(matches!(
            r,
            Ok(Batch::Refused {
                code: 429,
                retry_after: Some(3),
                ..
            })
        ));
        for bad in [
            "",
            "[",
            "{\"ok\":true}",
            "<html>",
            "{\"ok\":true,\"result\":[}",
            "}{",
        ] {
            assert!(split_batch(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            split_batch(r#"{"ok":true,"result":[]}"#),
            Ok(Batch::Updates(v)) if v.is_empty()
        ));
    }

    #[test]
    fn splitting_respects_strings_and_nesting() {
        let parts = split_container(r#"[ {"a":"],\"}"}, [1,[2]] , "x,y", 3 ]"#).unwrap();
        assert_eq!(parts, vec![r#"{"a":"],\"}"}"#, "[1,[2]]", r#""x,y""#, "3"]);
        assert_eq!(split_container("[]").unwrap(), Vec::<&str>::new());
        assert!(split_container("[1,,2]").is_none());
        assert!(split_container("[1]]").is_none());
        assert_eq!(
            field(r#"{"update_id": 42, "x": {}}"#, "update_id"),
            Some("42")
        );
    }
}
