//! Sending to Telegram: the client, retries with short backoff, and the one place that turns
//! rendered messages into Bot API requests.
//!
//! - **Straight over HTTP.** Replies, callback answers and the command menu go over the bot's
//!   HTTP client ([`call`]), not teloxide's request path, which waits 10 s after every server
//!   error before it reports one: a 5xx is retried after 0.5 s, doubling to 2 s at most, for
//!   up to [`PATIENCE`], so a message sent while Telegram is failing is answered within
//!   seconds of its recovery. `retry_after` is honoured. Pacing to Telegram's limits is
//!   [`super::pace`]'s (unless `--throttle off`).
//! - **Each delivery recorded before the next send.** Under [`super::lanes`], a message's
//!   sending is recorded in the question log before its request goes out, and its delivery
//!   as soon as Telegram accepts it, each committed before the handler goes on (unless the
//!   log's disk is failing: then queued). After a crash, an update delivered again skips the
//!   messages recorded as delivered; only a message Telegram took in the last round trip
//!   before the crash can go twice (Telegram offers no way to ask what was sent), and
//!   [`SENDS_IN_FLIGHT`] and [`URGENT_IN_FLIGHT`] bound how many those can be.
//! - Crisis replies go by [`send_urgent`]: never paced, their own slots, quicker retries.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup};
use tokio::sync::Semaphore;

use super::callback::Callback;
use super::pace::Pace;
use crate::log::store::WriteOp;
use crate::metrics::Metrics;
use crate::render::telegram::{ButtonKind, Message as Out};

/// Ordinary sends on the wire at once, from every chat together. Each one Telegram takes but
/// whose delivery is not yet recorded is a message a crash would send twice, so this bounds
/// those; at Telegram's 30 messages a second, four are enough while a round trip is under
/// about 130 ms.
pub const SENDS_IN_FLIGHT: usize = 4;
/// Crisis sends on the wire at once; their own, so they never wait for ordinary ones.
pub const URGENT_IN_FLIGHT: usize = 4;

/// The Bot API client for replies, paced to Telegram's limits or not (load tests on
/// loopback), with the slots that bound sends in flight.
#[derive(Clone)]
pub struct Tg {
    pub bot: Bot,
    pace: Option<Arc<Pace>>,
    slots: Arc<Semaphore>,
    urgent_slots: Arc<Semaphore>,
}

impl Tg {
    pub fn new(bot: Bot, paced: bool) -> Tg {
        Tg {
            bot,
            pace: paced.then(|| Arc::new(Pace::default())),
            slots: Arc::new(Semaphore::new(SENDS_IN_FLIGHT)),
            urgent_slots: Arc::new(Semaphore::new(URGENT_IN_FLIGHT)),
        }
    }
}

/// How far one update's handling has got, while it runs under [`super::lanes::Lanes`]:
/// each message's sending and delivery are recorded in the question log, and when an update
/// is handled again (delivered again after a crash), the messages delivered before are
/// skipped.
pub struct Progress {
    pub update_id: i64,
    /// Messages delivered before, by an earlier run.
    pub skip: u32,
    /// Messages this run has reached so far (delivered or skipped).
    pub count: std::sync::atomic::AtomicU32,
    pub log: Arc<crate::log::Log>,
}

tokio::task_local! {
    /// The update being handled on this task, if any.
    pub static PROGRESS: Arc<Progress>;
}

/// What to do about the next message of the update being handled.
enum Next {
    /// An earlier run delivered it already.
    DeliveredBefore,
    /// Send it: its number among the update's messages (from 1), when under [`PROGRESS`].
    Send(Option<u32>),
}

/// Called before each message.
fn next_message() -> Next {
    PROGRESS
        .try_with(|p| {
            let before = p.count.fetch_add(1, Ordering::SeqCst);
            if before < p.skip {
                Next::DeliveredBefore
            } else {
                Next::Send(Some(before + 1))
            }
        })
        .unwrap_or(Next::Send(None))
}

/// How long a progress record is waited for before the handler goes on without it.
const RECORD_WAIT: Duration = Duration::from_secs(2);

/// Records, and waits until committed, that `sent` messages of the current update are
/// delivered and `sending` have been handed to Telegram. On a failing disk it is queued
/// instead: answering matters more than the record.
async fn record(sent: u32, sending: u32) {
    let Ok(p) = PROGRESS.try_with(|p| p.clone()) else {
        return;
    };
    if p.log.health().failing.load(Ordering::Relaxed) {
        if sent == sending {
            p.log.update_progress(p.update_id, sent, false);
        }
        return;
    }
    let op = WriteOp::UpdateProgress {
        update_id: p.update_id,
        sent,
        sending,
        done: false,
        at: chrono::Utc::now(),
    };
    match tokio::time::timeout(RECORD_WAIT, p.log.write(op)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not record a message's delivery"),
        Err(_) => tracing::warn!("recording a message's delivery is slow; going on"),
    }
}

/// How many times a start-up request (getMe, setWebhook) is tried in one round.
pub const ATTEMPTS: u32 = 5;
/// The longest `retry_after` honoured; Telegram's are seconds to a minute.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A short name for a failure, for metrics and logs.
pub fn error_kind(e: &RequestError) -> &'static str {
    match e {
        RequestError::RetryAfter(_) => "retry_after",
        RequestError::Network(err) if err.is_timeout() => "timeout",
        RequestError::Network(_) => "network",
        RequestError::Io(_) => "io",
        RequestError::InvalidJson { .. } => "invalid_response",
        RequestError::MigrateToChatId(_) => "migrated",
        RequestError::Api(teloxide::ApiError::Unknown(_)) => "server",
        RequestError::Api(_) => "api",
    }
}

/// Whether trying again may help: rate limits, server errors, timeouts, dropped connections.
pub fn retryable(e: &RequestError) -> Option<Duration> {
    match e {
        RequestError::RetryAfter(s) => Some(s.duration().min(MAX_RETRY_AFTER)),
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Some(Duration::ZERO)
        }
        // teloxide reports server errors (5xx) as unknown API errors; a refusal it doesn't
        // know (a 400 or 403 with new wording) is also "unknown" and retrying won't help.
        RequestError::Api(teloxide::ApiError::Unknown(text))
            if ![
                "Bad Request",
                "Forbidden",
                "Unauthorized",
                "Not Found",
                "Conflict",
            ]
            .iter()
            .any(|p| text.starts_with(p)) =>
        {
            Some(Duration::ZERO)
        }
        _ => None,
    }
}

/// Runs a teloxide request (the start-up calls whose answers teloxide reads for us), retrying
/// with backoff (and honouring `retry_after`) up to [`ATTEMPTS`].
pub async fn with_retry<T, F, Fut>(
    metrics: &Metrics,
    what: &str,
    request: F,
) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    with_retry_n(metrics, what, ATTEMPTS, request).await
}

/// [`with_retry`] with its own number of attempts.
pub async fn with_retry_n<T, F, Fut>(
    metrics: &Metrics,
    what: &str,
    attempts: u32,
    mut request: F,
) -> Result<T, RequestError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RequestError>>,
{
    let mut backoff = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                metrics.telegram_errors.inc(error_kind(&e));
                match retryable(&e) {
                    Some(wait) if attempt < attempts => {
                        let wait = if wait.is_zero() { backoff } else { wait };
                        tracing::warn!(error = %e, attempt, wait_ms = wait.as_millis() as u64, what, "Telegram request failed; retrying");
                        metrics.telegram_retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(wait).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        attempt += 1;
                    }
                    _ => return Err(e),
                }
            }
        }
    }
}

fn keyboard(
    rows: &[Vec<crate::render::telegram::Button>],
    question: Option<i64>,
) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|b| match &b.kind {
                    ButtonKind::Action(a) => Callback::from_action(a, question)
                        .encode()
                        .map(|data| InlineKeyboardButton::callback(b.text.clone(), data)),
                    ButtonKind::Url(u) => reqwest::Url::parse(u)
                        .ok()
                        .map(|url| InlineKeyboardButton::url(b.text.clone(), url)),
                })
                .collect::<Vec<_>>()
        })
        .filter(|r| !r.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// How long an ordinary reply keeps being retried while Telegram fails (server errors, no
/// connection, rate limits) before it is reported as undelivered.
pub const PATIENCE: Duration = Duration::from_secs(120);
/// The first wait after a server error; it doubles each time, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest wait for one ordinary request's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// A crisis reply's first wait after a failure, and its longest.
const URGENT_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const URGENT_MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Each crisis attempt is cut short after this, so a hung connection cannot hold it.
const URGENT_ATTEMPT: Duration = Duration::from_secs(3);
/// The longest `retry_after` a crisis reply honours before trying again.
const URGENT_MAX_WAIT: Duration = Duration::from_secs(30);

/// How a request sent straight over HTTP can go wrong.
#[derive(Debug)]
pub enum Retry {
    /// Telegram said when to try again.
    After(Duration),
    /// A server error, no answer, or no connection: try again after the backoff.
    Backoff,
    /// Telegram refused our HTML: send it as plain text.
    Markup,
    /// Trying again will not help (blocked by the user, chat gone, a bad request...).
    Final,
}

/// Why one request sent by [`call`] failed: what to do, a kind for metrics, and a
/// description (never the token).
#[derive(Debug)]
pub struct Refusal {
    pub retry: Retry,
    pub kind: &'static str,
    pub why: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

impl Refusal {
    fn backoff(kind: &'static str, why: impl Into<String>) -> Refusal {
        Refusal {
            retry: Retry::Backoff,
            kind,
            why: why.into(),
        }
    }
}

/// One Bot API request straight over the bot's HTTP client, its JSON `result` on success.
/// Telegram's answers are read whatever the HTTP status, at once (teloxide's path waits 10 s
/// after a 5xx before it reports it).
pub async fn call(
    bot: &Bot,
    method: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<serde_json::Value, Refusal> {
    let url = bot
        .api_url()
        .join(&format!("/bot{}/{method}", bot.token()))
        .map_err(|e| Refusal {
            retry: Retry::Final,
            kind: "api",
            why: format!("bad Bot API URL: {e}"),
        })?;
    let resp = bot
        .client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(timeout)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() { "timeout" } else { "network" };
            Refusal::backoff(kind, format!("{method}: {}", e.without_url()))
        })?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| {
        Refusal::backoff(
            "network",
            format!("{method}: reading the answer: {}", e.without_url()),
        )
    })?;
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(&text) else {
        // Not JSON (an HTML error page from a proxy, say).
        return Err(Refusal::backoff(
            if status >= 500 {
                "server"
            } else {
                "invalid_response"
            },
            format!("{method}: HTTP {status}, not a Bot API answer"),
        ));
    };
    if answer["ok"] == true {
        return Ok(answer["result"].clone());
    }
    let description = answer["description"].as_str().unwrap_or("").to_string();
    let why = format!("{method}: HTTP {status}: {description}");
    if let Some(after) = answer["parameters"]["retry_after"].as_u64() {
        return Err(Refusal {
            retry: Retry::After(Duration::from_secs(after)),
            kind: "retry_after",
            why,
        });
    }
    let (retry, kind) = match status {
        400 if description.contains("can't parse entities") => (Retry::Markup, "api"),
        429 => (Retry::Backoff, "retry_after"),
        500.. => (Retry::Backoff, "server"),
        _ => (Retry::Final, "api"),
    };
    Err(Refusal { retry, kind, why })
}

fn message_body(
    chat: ChatId,
    text: &str,
    html: bool,
    markup: Option<&InlineKeyboardMarkup>,
) -> serde_json::Value {
    let mut body = serde_json::json!({
        "chat_id": chat.0,
        "text": text,
        "link_preview_options": {"is_disabled": true},
    });
    if html {
        body["parse_mode"] = "HTML".into();
    }
    if let Some(m) = markup {
        body["reply_markup"] = serde_json::to_value(m).unwrap_or_default();
    }
    body
}

/// Sends one HTML message: paced (unless `urgent`), its sending and delivery recorded (see
/// the module's doc), retried while Telegram fails, and sent once as plain text if Telegram
/// refuses the markup, so a rendering slip costs formatting, not the answer.
async fn deliver(
    tg: &Tg,
    metrics: &Metrics,
    chat: ChatId,
    html: &str,
    markup: Option<&InlineKeyboardMarkup>,
    urgent: bool,
) -> Result<(), Refusal> {
    let number = match next_message() {
        Next::DeliveredBefore => return Ok(()),
        Next::Send(n) => n,
    };
    if !urgent && let Some(pace) = &tg.pace {
        pace.wait(chat.0).await;
    }
    if let Some(n) = number {
        record(n - 1, n).await;
    }
    let (slots, mut backoff, max_backoff, timeout) = if urgent {
        (
            &tg.urgent_slots,
            URGENT_FIRST_BACKOFF,
            URGENT_MAX_BACKOFF,
            URGENT_ATTEMPT,
        )
    } else {
        (&tg.slots, FIRST_BACKOFF, MAX_BACKOFF, ATTEMPT_TIMEOUT)
    };
    let started = Instant::now();
    let mut as_html = true;
    let mut attempt = 1u32;
    loop {
        let text = if as_html {
            html.to_string()
        } else {
            crate::render::telegram::unescape_plain(html)
        };
        let body = message_body(chat, &text, as_html, markup);
        let r = {
            let _slot = slots.acquire().await;
            let r = tokio::time::timeout(timeout, call(&tg.bot, "sendMessage", &body, timeout))
                .await
                .unwrap_or_else(|_| {
                    Err(Refusal::backoff(
                        "timeout",
                        "sendMessage: no answer in time",
                    ))
                });
            if r.is_ok()
                && let Some(n) = number
            {
                // Recorded before the slot is given back: the slots bound what a crash can
                // send twice.
                record(n, n).await;
            }
            r
        };
        let e = match r {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        metrics.telegram_errors.inc(e.kind);
        if urgent {
            metrics.telegram_errors.inc("crisis_reply");
        }
        let wait = match e.retry {
            Retry::Markup if as_html => {
                tracing::error!(
                    why = e.why,
                    urgent,
                    "Telegram refused our HTML; sending it as plain text"
                );
                as_html = false;
                continue;
            }
            Retry::After(d) => d.min(if urgent {
                URGENT_MAX_WAIT
            } else {
                MAX_RETRY_AFTER
            }),
            Retry::Backoff => backoff,
            Retry::Markup | Retry::Final => return Err(e),
        };
        if started.elapsed() + wait > PATIENCE {
            return Err(e);
        }
        if urgent {
            tracing::error!(
                error = e.why,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "Telegram refused a crisis reply; retrying it ahead of everything else"
            );
        } else {
            tracing::warn!(
                error = e.why,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "Telegram refused a message; retrying"
            );
        }
        metrics.telegram_retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        if matches!(e.retry, Retry::Backoff) {
            backoff = (backoff * 2).min(max_backoff);
        }
        attempt += 1;
    }
}

/// Sends rendered messages in order; stops at the first that cannot be delivered, and logs it.
pub async fn send_all(
    tg: &Tg,
    metrics: &Arc<Metrics>,
    chat: ChatId,
    messages: &[Out],
    question: Option<i64>,
) -> bool {
    send_each(tg, metrics, chat, messages, question, false).await
}

/// Sends a crisis reply: never paced, on slots of its own so it queues behind nothing, each
/// attempt cut short after a few seconds, and a refusal logged as a crisis reply and retried
/// with short backoff. Stops at a message that cannot be delivered.
pub async fn send_urgent(
    tg: &Tg,
    metrics: &Arc<Metrics>,
    chat: ChatId,
    messages: &[Out],
    question: Option<i64>,
) -> bool {
    send_each(tg, metrics, chat, messages, question, true).await
}

async fn send_each(
    tg: &Tg,
    metrics: &Arc<Metrics>,
    chat: ChatId,
    messages: &[Out],
    question: Option<i64>,
    urgent: bool,
) -> bool {
    for m in messages {
        let markup = keyboard(&m.buttons, question);
        if let Err(e) = deliver(tg, metrics, chat, &m.html, markup.as_ref(), urgent).await {
            metrics.undelivered.fetch_add(1, Ordering::Relaxed);
            if urgent {
                tracing::error!(
                    error = e.why,
                    kind = e.kind,
                    "a crisis reply could not be delivered"
                );
            } else {
                tracing::error!(
                    error = e.why,
                    kind = e.kind,
                    "a reply could not be delivered"
                );
            }
            return false;
        }
    }
    true
}

/// Answers a callback query at once (so the button stops spinning), with an optional toast.
pub async fn answer_callback(
    tg: &Tg,
    metrics: &Metrics,
    id: teloxide::types::CallbackQueryId,
    text: Option<&str>,
) {
    let mut body = serde_json::json!({ "callback_query_id": id.0 });
    if let Some(t) = text {
        body["text"] = t.into();
    }
    // A callback query expires within seconds: one retry at most.
    for attempt in 1..=2 {
        match call(
            &tg.bot,
            "answerCallbackQuery",
            &body,
            Duration::from_secs(5),
        )
        .await
        {
            Ok(_) => return,
            Err(e) => {
                metrics.telegram_errors.inc(e.kind);
                if attempt == 2 || !matches!(e.retry, Retry::Backoff) {
                    tracing::warn!(error = e.why, "could not answer a callback query");
                    return;
                }
                metrics.telegram_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(URGENT_FIRST_BACKOFF * 2).await;
            }
        }
    }
}

/// Registers the command menu: one round of attempts with the short backoff, for
/// [`super::start`] to repeat in the background.
pub async fn set_commands(tg: &Tg, metrics: &Metrics) -> Result<(), Refusal> {
    use teloxide::utils::command::BotCommands;
    let body = serde_json::json!({ "commands": super::Command::bot_commands() });
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match call(&tg.bot, "setMyCommands", &body, ATTEMPT_TIMEOUT).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                metrics.telegram_errors.inc(e.kind);
                let wait = match e.retry {
                    Retry::After(d) => d.min(MAX_RETRY_AFTER),
                    Retry::Backoff => backoff,
                    _ => return Err(e),
                };
                if attempt >= ATTEMPTS {
                    return Err(e);
                }
                tracing::warn!(error = e.why, attempt, "setMyCommands failed; retrying");
                metrics.telegram_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
        }
    }
}
