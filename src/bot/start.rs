//! The Telegram start-up for `serve`: the Bot API client, the webhook route (unreadable
//! updates screened out before teloxide sees them), the update loop (webhook or long
//! polling, handed to [`super::lanes`]), started at once while getMe and the command menu
//! are retried in the background (nothing Telegram is slow to answer delays the first
//! answer), and the check every minute that Telegram answers, for `/readyz`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Result, anyhow};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::{UpdateListener, webhooks};
use tokio::sync::watch;

use super::BotState;
use super::lanes::Lanes;
use super::poll::Poller;
use super::send::{Tg, set_commands, with_retry};
use crate::cli::{OnOff, ServeArgs};
use crate::live::Live;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::readiness::Readiness;

/// Updates from Telegram's webhook, served on `serve`'s listener.
pub struct Webhook<L> {
    listener: L,
    url: reqwest::Url,
    secret: String,
}

/// The webhook's route (to merge into the HTTP app) and its updates, for `serve --webhook`:
/// Telegram posts to `url` with `secret` in its header; `listen` is the local address.
pub fn webhook(
    listen: std::net::SocketAddr,
    url: reqwest::Url,
    secret: String,
    metrics: Arc<Metrics>,
) -> (
    axum::Router,
    Webhook<impl UpdateListener<Err = std::convert::Infallible> + Send>,
) {
    let opts = webhooks::Options::new(listen, url.clone()).secret_token(secret.clone());
    let (listener, _stop, hook) = webhooks::axum_no_setup(opts);
    let sec = secret.clone();
    let hook = hook.layer(axum::middleware::from_fn(move |req, next| {
        screen_update(metrics.clone(), sec.clone(), req, next)
    }));
    (
        hook,
        Webhook {
            listener,
            url,
            secret,
        },
    )
}

/// Before teloxide's webhook handler (which logs an update it cannot parse in full, names and
/// text included): an update with the right secret that cannot be read is answered 200 (so
/// Telegram does not send it again), counted, and logged without its content.
async fn screen_update(
    metrics: Arc<Metrics>,
    secret: String,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let ours = req
        .headers()
        .get("X-Telegram-Bot-Api-Secret-Token")
        .is_some_and(|v| v.as_bytes() == secret.as_bytes());
    if !ours {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // axum's default limit for a body read whole, as teloxide's handler has.
    let Ok(bytes) = axum::body::to_bytes(body, 2 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let why = match std::str::from_utf8(&bytes).map(crate::bot::poll::read_update) {
        Ok(crate::bot::poll::Item::Update(_)) => None,
        Ok(crate::bot::poll::Item::Bad { why, .. }) => Some(why),
        Err(_) => Some("not UTF-8"),
    };
    if let Some(why) = why {
        metrics.updates.inc("unparseable");
        tracing::warn!(
            why,
            "skipped a webhook update that could not be read (content not logged)"
        );
        return StatusCode::OK.into_response();
    }
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    next.run(req).await
}

/// The Bot API client, at `TELOXIDE_API_URL` when it is set (the tests' fake Telegram).
pub fn client(token: &str) -> Result<Bot> {
    let mut bot = Bot::new(token);
    if let Ok(url) = std::env::var("TELOXIDE_API_URL") {
        let url = reqwest::Url::parse(url.trim_end_matches('/'))
            .map_err(|e| anyhow!("TELOXIDE_API_URL: not a URL ({e})"))?;
        bot = bot.set_api_url(url);
    }
    Ok(bot)
}

/// What the bot needs to start: the client from [`client`], and `serve`'s shared parts.
pub struct Start<'a> {
    /// Waits for SIGTERM or Ctrl-C; once it returns, the bot stops taking updates and the
    /// HTTP side is told to stop (replies in flight finish).
    pub signal: fn() -> BoxFuture<'static, ()>,
    pub bot: Bot,
    pub args: &'a ServeArgs,
    pub live: Arc<Live>,
    pub log: Arc<Log>,
    pub metrics: Arc<Metrics>,
    pub ready: Arc<Readiness>,
    pub stop_tx: watch::Sender<bool>,
}

impl Start<'_> {
    /// Takes updates from the webhook, if one is given, or by long polling (at once), until
    /// the signal; then finishes what is in flight. getMe and the command menu go on in the
    /// background meanwhile; a getMe answer that shows the bot cannot work stops it with
    /// that error.
    pub async fn run<L>(self, webhook: Option<Webhook<L>>) -> Result<()>
    where
        L: teloxide::update_listeners::UpdateListener<Err = std::convert::Infallible> + Send,
    {
        let bot = self.bot.clone();
        let paced = matches!(self.args.throttle, OnOff::On);
        if !paced {
            tracing::warn!("Telegram rate limiting is off: for load tests on loopback only");
        }
        let tg = Tg::new(bot.clone(), paced);
        let state = Arc::new(BotState {
            live: self.live,
            log: self.log,
            tg: tg.clone(),
            metrics: self.metrics.clone(),
            me: Default::default(),
            recent: Default::default(),
        });
        // Nothing Telegram is slow to answer at start holds back the first answer: getMe
        // and the command menu are retried in the background while updates are taken.
        let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
        // Resolves with a reason the bot cannot work; pending for ever once getMe answered.
        let mut fatal = Box::pin(async move {
            match fatal_rx.await {
                Ok(why) => why,
                Err(_) => std::future::pending().await,
            }
        });
        spawn_get_me(
            bot.clone(),
            state.clone(),
            self.ready.clone(),
            self.metrics.clone(),
            fatal_tx,
        );
        spawn_set_commands(tg.clone(), self.metrics.clone());
        spawn_telegram_check(bot.clone(), self.ready.clone());
        let lanes = Lanes::new(state);
        let stop_tx = self.stop_tx;
        let signal = self.signal;
        // On a signal: stop taking updates (and the HTTP side); replies in flight finish below.
        let (bot_stop_tx, bot_stop_rx) = watch::channel(false);
        let on_signal = |listener_stop: Option<teloxide::stop::StopToken>| async move {
            signal().await;
            tracing::info!("stopping: finishing replies in flight");
            let _ = stop_tx.send(true);
            let _ = bot_stop_tx.send(true);
            if let Some(t) = listener_stop {
                t.stop();
            }
        };
        match webhook {
            Some(Webhook {
                mut listener,
                url,
                secret,
            }) => {
                tokio::spawn(on_signal(Some(listener.stop_token())));
                // Set here rather than by teloxide, and never deleted at stop: with several
                // replicas behind a load balancer, one stopping must not cut off the others.
                with_retry(&self.metrics, "setWebhook", || {
                    bot.set_webhook(url.clone())
                        .secret_token(secret.clone())
                        .allowed_updates(vec![
                            AllowedUpdate::Message,
                            AllowedUpdate::EditedMessage,
                            AllowedUpdate::CallbackQuery,
                        ])
                        .send()
                })
                .await
                .map_err(|e| anyhow!(start_error("setWebhook", &e, bot.api_url().as_str())))?;
                tracing::info!(%url, "webhook set");
                let mut stop = bot_stop_rx;
                let stream = listener.as_stream();
                let mut stream = std::pin::pin!(stream);
                let mut failed = None;
                loop {
                    let next = tokio::select! {
                        u = stream.next() => u,
                        _ = stop.wait_for(|s| *s) => None,
                        why = &mut fatal => {
                            failed = Some(why);
                            None
                        }
                    };
                    match next {
                        Some(Ok(update)) => lanes.dispatch(update),
                        Some(Err(never)) => match never {},
                        None => break,
                    }
                }
                lanes.drain().await;
                if let Some(why) = failed {
                    return Err(anyhow!(why));
                }
            }
            None => {
                // Polling starts at once; it deletes any webhook itself (switching back from
                // webhook mode), first thing and whenever Telegram says one is set.
                tokio::spawn(on_signal(None));
                self.ready.polling.store(true, Ordering::Relaxed);
                let poller = Poller {
                    bot: bot.clone(),
                    lanes: lanes.clone(),
                    health: self.ready.poll.clone(),
                    metrics: self.metrics.clone(),
                };
                let (last, failed) = tokio::select! {
                    last = poller.run(bot_stop_rx) => (last, None),
                    why = &mut fatal => (None, Some(why)),
                };
                lanes.drain().await;
                if let Some(why) = failed {
                    return Err(anyhow!(why));
                }
                // Everything handed over is handled: tell Telegram.
                poller.confirm(last).await;
            }
        }
        Ok(())
    }
}

/// Checks every minute that Telegram answers, for `/readyz`.
fn spawn_telegram_check(bot: Bot, ready: Arc<Readiness>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.tick().await;
        loop {
            every.tick().await;
            let r = bot
                .get_me()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
            if let Err(e) = &r {
                tracing::warn!(error = %e, "Telegram check failed");
            }
            ready.set(r);
        }
    });
}

/// Asks Telegram who the bot is (getMe) in the background, for [`BotState::me`]: answering
/// private chats never waits for it. While Telegram fails (server errors, rate limits, no
/// answer in time) it asks again, up to every 30 s; an answer that shows the bot cannot work
/// at all (no connection after a round of retries, a server that is not the Bot API, a
/// refused token) goes to `fatal`, which stops `serve` with that error.
fn spawn_get_me(
    bot: Bot,
    state: Arc<BotState>,
    ready: Arc<Readiness>,
    metrics: Arc<Metrics>,
    fatal: tokio::sync::oneshot::Sender<String>,
) {
    tokio::spawn(async move {
        let mut wait = Duration::from_secs(1);
        loop {
            match with_retry(&metrics, "getMe", || bot.get_me().send()).await {
                Ok(me) => {
                    let username = me.username.clone().unwrap_or_default();
                    tracing::info!(bot = %username, "connected to Telegram");
                    state.me.set(username, me.id);
                    ready.set(Ok(()));
                    return;
                }
                Err(e) => {
                    let why = start_error("getMe", &e, bot.api_url().as_str());
                    if cannot_work(&e) {
                        let _ = fatal.send(why);
                        return;
                    }
                    tracing::warn!(
                        error = why,
                        "getMe failed; asking again (answering meanwhile)"
                    );
                    ready.set(Err(why));
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
}

/// Whether a failed start-up call shows the bot cannot work at all, rather than that
/// Telegram is failing for now.
fn cannot_work(e: &teloxide::RequestError) -> bool {
    use teloxide::{ApiError, RequestError};
    match e {
        RequestError::Network(n) => n.is_connect(),
        RequestError::InvalidJson { .. } | RequestError::Api(ApiError::InvalidToken) => true,
        RequestError::Api(ApiError::Unknown(text)) => {
            text.starts_with("Unauthorized") || text.starts_with("Not Found")
        }
        _ => false,
    }
}

/// Registers the command menu, retrying in the background (every round of [`set_commands`]
/// retries with short backoff; after a failed round it waits a minute and tries again) until
/// Telegram takes it or refuses it for good.
fn spawn_set_commands(tg: Tg, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut round = 1u32;
        loop {
            match set_commands(&tg, &metrics).await {
                Ok(()) => {
                    if round > 1 {
                        tracing::info!(round, "command menu registered (setMyCommands)");
                    }
                    return;
                }
                Err(e)
                    if matches!(
                        e.retry,
                        crate::bot::send::Retry::Backoff | crate::bot::send::Retry::After(_)
                    ) && round < 30 =>
                {
                    tracing::warn!(error = %e, round, "could not register the command menu (setMyCommands); trying again in a minute");
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    round += 1;
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not register the command menu (setMyCommands); the bot works without it");
                    return;
                }
            }
        }
    });
}

/// What a failed start-up call means, accurately: a refused connection, an answer that is not
/// the Bot API's, a refused token and a failing server each say so (the token is never shown).
pub fn start_error(what: &str, e: &teloxide::RequestError, api_url: &str) -> String {
    use teloxide::{ApiError, RequestError};
    // The API URL without any path (a token never appears in it, but be sure).
    let api = reqwest::Url::parse(api_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "the Bot API".to_string());
    match e {
        RequestError::Network(n) if n.is_connect() => format!(
            "cannot connect to the Bot API at {api} ({what}: {}); is the network up, and TELOXIDE_API_URL right if set?",
            root_cause(n)
        ),
        RequestError::Network(n) if n.is_timeout() => {
            format!("the Bot API at {api} did not answer in time ({what}); is the network up?")
        }
        RequestError::Network(n) => format!(
            "the connection to the Bot API at {api} failed ({what}: {})",
            root_cause(n)
        ),
        RequestError::Io(io) => format!("reading the Bot API's answer failed ({what}: {io})"),
        RequestError::InvalidJson { source, raw } => {
            let start: String = raw.chars().take(60).collect();
            format!(
                "the server at {api} did not answer like the Bot API ({what}: {source}; it began {start:?}); is TELOXIDE_API_URL a Bot API server?"
            )
        }
        RequestError::Api(ApiError::InvalidToken) => {
            format!("Telegram refused the bot token ({what}: {e}); is TELOXIDE_TOKEN right?")
        }
        RequestError::Api(ApiError::Unknown(text))
            if text.starts_with("Unauthorized") || text.starts_with("Not Found") =>
        {
            format!("Telegram refused the bot token ({what}: {text}); is TELOXIDE_TOKEN right?")
        }
        RequestError::Api(ApiError::Unknown(text)) => {
            format!("the Bot API at {api} kept failing ({what}: {text}); try again later")
        }
        other => format!("Telegram refused {what}: {other}"),
    }
}

/// The innermost cause of a network error ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
