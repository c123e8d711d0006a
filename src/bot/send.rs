//! Sending to Telegram: the client (throttled or not), bounded retries with backoff, and the
//! one place that turns rendered messages into Bot API requests. Crisis replies go by
//! [`send_urgent`]: unthrottled, and retried ahead of everything else.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::adaptors::Throttle;
use teloxide::prelude::*;
use teloxide::types::{
    ChatId, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ParseMode,
};

use super::callback::Callback;
use crate::metrics::Metrics;
use crate::render::telegram::{ButtonKind, Message as Out};

/// The Bot API client: throttled to Telegram's rate limits (the Throttle adaptor innermost),
/// or not, for load tests on loopback.
#[derive(Clone)]
pub enum Tg {
    Plain(Bot),
    Throttled(Throttle<Bot>),
}

/// Runs `$e` with `$b` bound to the inner requester, whichever it is.
macro_rules! with_bot {
    ($tg:expr, $b:ident => $e:expr) => {
        match $tg {
            Tg::Plain($b) => $e,
            Tg::Throttled($b) => $e,
        }
    };
}

/// How far one update's handling has got, while it runs under [`super::lanes::Lanes`]:
/// each message delivered is counted and recorded in the question log, and when an update is
/// handled again (delivered again after a crash), the messages delivered before are skipped.
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

/// Called before each message: true if an earlier run delivered it already.
fn delivered_before() -> bool {
    PROGRESS
        .try_with(|p| p.count.fetch_add(1, Ordering::SeqCst) < p.skip)
        .unwrap_or(false)
}

/// Called after each message is delivered: recorded at once, so a crash right after does not
/// send it again.
fn delivered() {
    let _ = PROGRESS.try_with(|p| {
        let n = p.count.load(Ordering::SeqCst);
        p.log.update_progress(p.update_id, n, false);
    });
}

/// How many times one request is tried before it is reported as undelivered.
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

/// Runs a request, retrying with backoff (and honouring `retry_after`) up to [`ATTEMPTS`].
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

/// Buttons from callbacks directly (menus the bot builds itself).
pub fn menu(rows: Vec<Vec<(String, Callback)>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        rows.into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|(text, cb)| {
                        cb.encode().map(|d| InlineKeyboardButton::callback(text, d))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>(),
    )
}

/// Sends one HTML message (with retries). Falls back to plain text once if Telegram refuses
/// the markup, so a rendering slip costs formatting, not the answer.
pub async fn send_html(
    tg: &Tg,
    metrics: &Metrics,
    chat: ChatId,
    html: &str,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    if delivered_before() {
        return Ok(());
    }
    let r = send_html_retried(tg, metrics, chat, html, markup).await;
    if r.is_ok() {
        delivered();
    }
    r
}

async fn send_html_retried(
    tg: &Tg,
    metrics: &Metrics,
    chat: ChatId,
    html: &str,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<(), RequestError> {
    let no_preview = LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    };
    let r = with_retry(metrics, "sendMessage", || {
        let markup = markup.clone();
        let no_preview = no_preview.clone();
        async move {
            with_bot!(tg, b => {
                let mut req = b
                    .send_message(chat, html)
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview);
                if let Some(m) = markup {
                    req = req.reply_markup(m);
                }
                req.await.map(|_| ())
            })
        }
    })
    .await;
    match r {
        Err(RequestError::Api(teloxide::ApiError::CantParseEntities(why))) => {
            tracing::error!(why, "Telegram refused our HTML; sending as plain text");
            let plain = crate::render::telegram::unescape_plain(html);
            with_retry(metrics, "sendMessage", || {
                let markup = markup.clone();
                let plain = plain.clone();
                async move {
                    with_bot!(tg, b => {
                        let mut req = b.send_message(chat, plain);
                        if let Some(m) = markup {
                            req = req.reply_markup(m);
                        }
                        req.await.map(|_| ())
                    })
                }
            })
            .await
        }
        other => other,
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
    for m in messages {
        let markup = keyboard(&m.buttons, question);
        if let Err(e) = send_html(tg, metrics, chat, &m.html, markup).await {
            metrics.undelivered.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, kind = error_kind(&e), "a reply could not be delivered");
            return false;
        }
    }
    true
}

/// Most attempts at one crisis message.
const URGENT_ATTEMPTS: u32 = 10;
/// Each crisis attempt is cut short after this: teloxide waits 10 s after a 5xx before it
/// reports one, and a crisis reply must not wait with it.
const URGENT_ATTEMPT: Duration = Duration::from_secs(3);
/// The longest `retry_after` a crisis reply honours before trying again.
const URGENT_MAX_WAIT: Duration = Duration::from_secs(30);

/// Why one direct `sendMessage` failed.
enum Refusal {
    /// Worth trying again: after this long, or after the usual backoff when zero.
    Retry(Duration, String),
    /// Telegram refused our HTML: send it as plain text.
    Markup(String),
    /// Trying again will not help (blocked by the user, chat gone...).
    Final(String),
}

/// One `sendMessage` straight over the bot's HTTP client, without teloxide's request path,
/// which waits 10 s after a 5xx before reporting it: a crisis reply retries at once instead.
async fn send_direct(
    bot: &Bot,
    chat: ChatId,
    text: &str,
    html: bool,
    markup: Option<&InlineKeyboardMarkup>,
) -> Result<(), Refusal> {
    let url = bot
        .api_url()
        .join(&format!("/bot{}/sendMessage", bot.token()))
        .map_err(|e| Refusal::Final(format!("bad Bot API URL: {e}")))?;
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
    let resp = bot
        .client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Refusal::Retry(Duration::ZERO, e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    // Not JSON (an HTML error page from a proxy, say): null, and the status decides.
    let answer: serde_json::Value = match resp.text().await {
        Ok(t) => serde_json::from_str(&t).unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    if answer["ok"] == true {
        return Ok(());
    }
    let description = answer["description"].as_str().unwrap_or("").to_string();
    let why = format!("HTTP {status}: {description}");
    if let Some(after) = answer["parameters"]["retry_after"].as_u64() {
        return Err(Refusal::Retry(
            Duration::from_secs(after).min(URGENT_MAX_WAIT),
            why,
        ));
    }
    match status {
        400 if description.contains("can't parse entities") => Err(Refusal::Markup(why)),
        429 | 500.. => Err(Refusal::Retry(Duration::ZERO, why)),
        _ => Err(Refusal::Final(why)),
    }
}

/// Sends a crisis reply: straight to the Bot API on the unthrottled client, so it queues
/// behind nothing; each attempt cut short after a few seconds; a refusal logged as a crisis
/// reply and retried at once with short backoff, ahead of everything else. Stops at a message
/// that cannot be delivered.
pub async fn send_urgent(
    bot: &Bot,
    metrics: &Arc<Metrics>,
    chat: ChatId,
    messages: &[Out],
    question: Option<i64>,
) -> bool {
    for m in messages {
        if delivered_before() {
            continue;
        }
        let markup = keyboard(&m.buttons, question);
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 1;
        let mut html = true;
        loop {
            let text = if html {
                m.html.clone()
            } else {
                crate::render::telegram::unescape_plain(&m.html)
            };
            let r = tokio::time::timeout(
                URGENT_ATTEMPT,
                send_direct(bot, chat, &text, html, markup.as_ref()),
            )
            .await
            .unwrap_or_else(|_| Err(Refusal::Retry(Duration::ZERO, "no answer in time".into())));
            let (wait, why) = match r {
                Ok(()) => {
                    delivered();
                    break;
                }
                Err(Refusal::Markup(why)) if html => {
                    tracing::error!(
                        why,
                        "Telegram refused our HTML in a crisis reply; sending it as plain text"
                    );
                    metrics.telegram_errors.inc("api");
                    html = false;
                    continue;
                }
                Err(Refusal::Retry(wait, why)) => (Some(wait), why),
                Err(Refusal::Markup(why) | Refusal::Final(why)) => (None, why),
            };
            metrics.telegram_errors.inc("crisis_reply");
            match wait {
                Some(wait) if attempt < URGENT_ATTEMPTS => {
                    let wait = if wait.is_zero() { backoff } else { wait };
                    tracing::error!(
                        error = why,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "Telegram refused a crisis reply; retrying it ahead of everything else"
                    );
                    metrics.telegram_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    attempt += 1;
                }
                _ => {
                    metrics.undelivered.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        error = why,
                        attempt,
                        "a crisis reply could not be delivered"
                    );
                    return false;
                }
            }
        }
    }
    true
}

/// Sends a message with a menu of buttons.
pub async fn send_menu(
    tg: &Tg,
    metrics: &Arc<Metrics>,
    chat: ChatId,
    html: &str,
    markup: InlineKeyboardMarkup,
) -> bool {
    match send_html(tg, metrics, chat, html, Some(markup)).await {
        Ok(()) => true,
        Err(e) => {
            metrics.undelivered.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, kind = error_kind(&e), "a menu could not be delivered");
            false
        }
    }
}

/// Answers a callback query at once (so the button stops spinning), with an optional toast.
pub async fn answer_callback(
    tg: &Tg,
    metrics: &Metrics,
    id: teloxide::types::CallbackQueryId,
    text: Option<&str>,
) {
    // A callback query expires within seconds: one retry at most.
    let r = with_retry_n(metrics, "answerCallbackQuery", 2, || {
        let id = id.clone();
        async move {
            with_bot!(tg, b => {
                let mut req = b.answer_callback_query(id);
                if let Some(t) = text {
                    req = req.text(t);
                }
                req.await.map(|_| ())
            })
        }
    })
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not answer a callback query");
    }
}

/// Registers the command menu.
pub async fn set_commands(tg: &Tg, metrics: &Metrics) -> Result<(), RequestError> {
    use teloxide::utils::command::BotCommands;
    let cmds = super::Command::bot_commands();
    with_retry(metrics, "setMyCommands", || {
        let cmds = cmds.clone();
        async move { with_bot!(tg, b => b.set_my_commands(cmds).await.map(|_| ())) }
    })
    .await
}
