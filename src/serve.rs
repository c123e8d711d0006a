//! `workhealth serve`: the Telegram bot (long polling by [`crate::bot::poll`], updates confirmed
//! only once handled; or a webhook on the same listener, unreadable updates screened out) and
//! the HTTP side (review app, `/healthz`, `/readyz`, `/metrics`) in one process. Content is
//! reloaded live when its files change, on SIGHUP and from the review app. SIGTERM or Ctrl-C
//! stops it gracefully: in-flight replies finish and everything queued for the log is
//! committed before exit. Every flag is checked, and the listener bound, before anything is
//! created, opened or contacted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::webhooks;
use tokio::sync::watch;

use crate::bot::BotState;
use crate::bot::lanes::Lanes;
use crate::bot::poll::{PollHealth, Poller};
use crate::bot::send::{Tg, set_commands, with_retry};
use crate::cli::{Global, OnOff, ServeArgs};
use crate::live::{Live, Reloader};
use crate::log::{Log, LogOptions};
use crate::metrics::Metrics;

/// A usage problem `serve` reports in one line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeUsage(pub String);

/// What `/readyz` knows about Telegram.
#[derive(Debug)]
pub struct Readiness {
    /// False until the first successful check (always true with `--no-telegram`).
    pub telegram_ok: AtomicBool,
    pub telegram_error: std::sync::Mutex<Option<String>>,
    /// Why the embedding model is not in use (answers are lexical only), if it is not.
    pub model_error: std::sync::Mutex<Option<String>>,
    /// True once long polling has started (not in webhook mode).
    pub polling: AtomicBool,
    pub poll: Arc<PollHealth>,
}

impl Readiness {
    pub fn new(telegram_needed: bool) -> Readiness {
        Readiness {
            telegram_ok: AtomicBool::new(!telegram_needed),
            telegram_error: std::sync::Mutex::new(None),
            model_error: std::sync::Mutex::new(None),
            polling: AtomicBool::new(false),
            poll: Arc::new(PollHealth::default()),
        }
    }

    fn set(&self, r: Result<(), String>) {
        self.telegram_ok.store(r.is_ok(), Ordering::Relaxed);
        *self
            .telegram_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = r.err();
    }
}

/// What the HTTP side shares.
#[derive(Clone)]
pub struct AppState {
    pub live: Arc<Live>,
    pub log: Arc<Log>,
    pub metrics: Arc<Metrics>,
    pub reloader: Arc<Reloader>,
    pub ready: Arc<Readiness>,
}

pub fn run(g: &Global, args: &ServeArgs) -> Result<()> {
    let token = if args.no_telegram {
        None
    } else {
        match std::env::var("TELOXIDE_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            _ => {
                return Err(ServeUsage(
                    "serve: no Telegram token: set TELOXIDE_TOKEN (from @BotFather), or use \
                     `serve --no-telegram` for the web app alone; `workhealth chat` needs no token"
                        .into(),
                )
                .into());
            }
        }
    };
    check_flags(g, args, token.as_deref())?;
    // Bound before the data folder is created, so a busy port leaves nothing behind.
    let listener = std::net::TcpListener::bind(args.listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| ServeUsage(format!("serve: cannot listen on {}: {e}", args.listen)))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(g, args, token, listener))
}

/// The checks clap cannot make, all before `serve` creates the data folder or the index,
/// opens the log or contacts Telegram: the webhook URL and secret, the database URL's
/// scheme, and `TELOXIDE_API_URL`.
fn check_flags(g: &Global, args: &ServeArgs, token: Option<&str>) -> Result<()> {
    if let Some(url) = &args.webhook {
        webhook_url(url)?;
    }
    if args.webhook_secret.is_some() {
        webhook_secret(args, token.unwrap_or_default())?;
    }
    if let Some(url) = &g.database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Err(ServeUsage(format!(
            "--database-url: {}: expected postgres://... (or no URL for SQLite in --data)",
            crate::config::mask_url(url)
        ))
        .into());
    }
    if token.is_some()
        && let Ok(url) = std::env::var("TELOXIDE_API_URL")
    {
        reqwest::Url::parse(url.trim_end_matches('/'))
            .map_err(|e| ServeUsage(format!("TELOXIDE_API_URL: not a URL ({e})")))?;
    }
    Ok(())
}

/// `--webhook`: an https:// URL, as Telegram requires.
fn webhook_url(url: &str) -> Result<reqwest::Url> {
    let url =
        reqwest::Url::parse(url).map_err(|e| ServeUsage(format!("--webhook: not a URL ({e})")))?;
    if url.scheme() != "https" {
        return Err(ServeUsage("--webhook: Telegram needs an https:// URL".into()).into());
    }
    Ok(url)
}

async fn serve(
    g: &Global,
    args: &ServeArgs,
    token: Option<String>,
    listener: std::net::TcpListener,
) -> Result<()> {
    let (assistant, model) = crate::run::assistant_or_lexical(g)?;
    let model_error = model.err().map(|e| {
        tracing::error!("{e}; answering with words alone until it is there");
        e.to_string()
    });
    let live = Arc::new(Live::new(assistant));
    let log = Arc::new(
        Log::open_at(&g.data, g.database_url.as_deref(), LogOptions::default())
            .context("cannot open the question log")?,
    );
    let metrics = Arc::new(Metrics::default());

    // Retention: at start, then daily.
    let purged = log
        .purge(args.retention_days)
        .await
        .context("cannot apply the retention period to the question log")?;
    tracing::info!(purged, days = args.retention_days, "retention applied");
    spawn_daily_retention(log.clone(), args.retention_days);

    let reloader = Arc::new(
        Reloader::new(
            g.content.clone(),
            g.index.clone(),
            live.clone(),
            metrics.clone(),
        )
        .with_vectors(g.vectors.clone()),
    );
    let _watcher = if args.watch == OnOff::On {
        watch_content(&g.content, &g.index, reloader.clone())
            .map_err(|e| tracing::warn!(error = %e, "cannot watch the content folder; reload with SIGHUP or the review app"))
            .ok()
    } else {
        None
    };
    spawn_sighup_reload(reloader.clone());

    let ready = Arc::new(Readiness::new(token.is_some()));
    *ready.model_error.lock().unwrap_or_else(|p| p.into_inner()) = model_error;
    let state = AppState {
        live: live.clone(),
        log: log.clone(),
        metrics: metrics.clone(),
        reloader,
        ready: ready.clone(),
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let bot = match &token {
        Some(t) => Some(make_bot(t)?),
        None => None,
    };
    // Webhook mode serves updates on the same listener as the review app.
    let mut app = router(state);
    let mut webhook_listener = None;
    if let (Some(token), Some(url)) = (&token, &args.webhook) {
        let url = webhook_url(url)?;
        let secret = webhook_secret(args, token)?;
        let opts = webhooks::Options::new(args.listen, url.clone()).secret_token(secret.clone());
        let (listener, _stop, hook) = webhooks::axum_no_setup(opts);
        let (m, sec) = (metrics.clone(), secret.clone());
        let hook = hook.layer(axum::middleware::from_fn(move |req, next| {
            screen_update(m.clone(), sec.clone(), req, next)
        }));
        app = app.merge(hook);
        webhook_listener = Some((listener, url, secret));
    }

    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| ServeUsage(format!("serve: cannot listen on {}: {e}", args.listen)))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "HTTP listener up");
    eprintln!("workhealth: listening on http://{bound}");
    let http = {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let r = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "HTTP listener failed");
            }
        })
    };

    match bot {
        Some(bot) => {
            let cx = BotRun {
                bot,
                args,
                live,
                log: log.clone(),
                metrics,
                ready,
                stop_tx: stop_tx.clone(),
            };
            cx.run(webhook_listener).await?;
            tracing::info!("dispatcher stopped");
        }
        None => {
            wait_for_signal().await;
            tracing::info!("stopping");
        }
    }
    let _ = stop_tx.send(true);
    let _ = http.await;
    tracing::info!("HTTP listener stopped");
    // Everything queued is committed before exit.
    log.flush().await;
    log.close();
    tracing::info!("stopped");
    Ok(())
}

/// The webhook's secret: configured (shared by every replica), or derived from the bot token
/// so that replicas with the same token agree without configuration.
fn webhook_secret(args: &ServeArgs, token: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    match &args.webhook_secret {
        Some(s) => {
            let ok = (1..=256).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(ServeUsage(
                    "--webhook-secret: 1 to 256 characters of A-Z a-z 0-9 _ - (Telegram's rule)"
                        .into(),
                )
                .into());
            }
            Ok(s.clone())
        }
        None => {
            let d = Sha256::digest(format!("workhealth-webhook:{token}").as_bytes());
            Ok(hex::encode(&d[..24]))
        }
    }
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

fn make_bot(token: &str) -> Result<Bot> {
    let mut bot = Bot::new(token);
    if let Ok(url) = std::env::var("TELOXIDE_API_URL") {
        let url = reqwest::Url::parse(url.trim_end_matches('/'))
            .map_err(|e| ServeUsage(format!("TELOXIDE_API_URL: not a URL ({e})")))?;
        bot = bot.set_api_url(url);
    }
    Ok(bot)
}

/// The whole HTTP app: operators' endpoints and the review app.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::review::routes());
    // Sessions, CSRF and security headers around everything (public paths pass).
    crate::review::guard(app, &state).with_state(state)
}

/// Ready: content loaded, the log writable, Telegram reachable at the last check.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let log = st.log.clone();
    let writable = tokio::task::spawn_blocking(move || log.reader().with(|s| s.writable()))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let mut problems = Vec::new();
    if let Err(e) = writable {
        problems.push(format!("log: not writable: {e}"));
    }
    if st.log.health().failing.load(Ordering::Relaxed) {
        let e = st
            .log
            .health()
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        problems.push(format!("log: writes failing: {}", e.unwrap_or_default()));
    }
    if !st.ready.telegram_ok.load(Ordering::Relaxed) {
        let e = st
            .ready
            .telegram_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        problems.push(format!(
            "telegram: not reachable at the last check{}",
            e.map(|e| format!(": {e}")).unwrap_or_default()
        ));
    }
    let polling = st.ready.polling.load(Ordering::Relaxed);
    if polling && let Err(e) = st.ready.poll.check() {
        problems.push(format!("telegram: {e}"));
    }
    let digest = st.live.get().content().digest.clone();
    let degraded = st
        .ready
        .model_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|e| format!("degraded: model: {e} (answering with words alone)\n"))
        .unwrap_or_default();
    if problems.is_empty() {
        let poll = if polling {
            format!("{}\n", st.ready.poll.summary())
        } else {
            String::new()
        };
        (
            StatusCode::OK,
            format!("ready\ncontent {digest}\n{poll}{degraded}"),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{}\n", problems.join("\n")),
        )
    }
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let h = st.log.health();
    let gauges = [
        (
            "workhealth_log_queue_depth",
            "Question log writes queued and not yet committed.",
            h.depth.load(Ordering::Relaxed) as f64,
        ),
        (
            "workhealth_log_write_errors",
            "Failed attempts to commit to the question log (each retried).",
            h.write_errors.load(Ordering::Relaxed) as f64,
        ),
        (
            "workhealth_log_lost",
            "Question log entries that could not be written.",
            h.lost.load(Ordering::Relaxed) as f64,
        ),
        (
            "workhealth_content_stale",
            "Whether older content is live because the last reload failed (1) or not (0).",
            if st.live.problem().is_some() {
                1.0
            } else {
                0.0
            },
        ),
        (
            "workhealth_telegram_reachable",
            "Whether Telegram answered the last check (1) or not (0).",
            if st.ready.telegram_ok.load(Ordering::Relaxed) {
                1.0
            } else {
                0.0
            },
        ),
        (
            "workhealth_telegram_polling_ok",
            "Whether long polling is healthy (1), failing (0), or not in use (-1).",
            if !st.ready.polling.load(Ordering::Relaxed) {
                -1.0
            } else if st.ready.poll.check().is_ok() {
                1.0
            } else {
                0.0
            },
        ),
        (
            "workhealth_telegram_updates_skipped",
            "Updates skipped because they could not be parsed (their content is not logged).",
            st.ready.poll.skipped.load(Ordering::Relaxed) as f64,
        ),
        (
            "workhealth_telegram_updates_confirmed_early",
            "Updates being handled for over a minute, confirmed to Telegram before they were done.",
            st.ready.poll.confirmed_early.load(Ordering::Relaxed) as f64,
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(&gauges),
    )
}

fn spawn_daily_retention(log: Arc<Log>, days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(24 * 3600));
        every.tick().await;
        loop {
            every.tick().await;
            match log.purge(days).await {
                Ok(n) => tracing::info!(purged = n, days, "daily retention"),
                Err(e) => tracing::error!(error = %e, "daily retention failed"),
            }
        }
    });
}

async fn reload_now(reloader: &Arc<Reloader>, why: &'static str) {
    let r = reloader.clone();
    match tokio::task::spawn_blocking(move || r.reload(why)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => tracing::error!(
            reload = why,
            "content has errors; still answering from the last good content"
        ),
        Err(e) => tracing::error!(error = %e, "content reload panicked"),
    }
}

/// Watches the content folder; a burst of changes (an editor saving several files) becomes
/// one reload once the folder has been quiet for a moment.
fn watch_content(
    content: &std::path::Path,
    index: &std::path::Path,
    reloader: Arc<Reloader>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let index = std::fs::canonicalize(index).unwrap_or_else(|_| index.to_path_buf());
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && matches!(
                ev.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
            && !ev.paths.iter().all(|p| p.starts_with(&index))
        {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(content, RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            while let Ok(Some(())) =
                tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
            {}
            reload_now(&reloader, "file change").await;
        }
    });
    Ok(watcher)
}

fn spawn_sighup_reload(reloader: Arc<Reloader>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP");
            return;
        };
        while hup.recv().await.is_some() {
            reload_now(&reloader, "SIGHUP").await;
        }
    });
    #[cfg(not(unix))]
    let _ = reloader;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

struct BotRun<'a> {
    bot: Bot,
    args: &'a ServeArgs,
    live: Arc<Live>,
    log: Arc<Log>,
    metrics: Arc<Metrics>,
    ready: Arc<Readiness>,
    stop_tx: watch::Sender<bool>,
}

impl BotRun<'_> {
    async fn run<L>(self, webhook: Option<(L, reqwest::Url, String)>) -> Result<()>
    where
        L: teloxide::update_listeners::UpdateListener<Err = std::convert::Infallible> + Send,
    {
        let bot = self.bot.clone();
        let tg = match self.args.throttle {
            OnOff::On => Tg::Throttled(
                bot.clone()
                    .throttle(teloxide::adaptors::throttle::Limits::default()),
            ),
            OnOff::Off => {
                tracing::warn!("Telegram rate limiting is off: for load tests on loopback only");
                Tg::Plain(bot.clone())
            }
        };
        let me = with_retry(&self.metrics, "getMe", || bot.get_me().send())
            .await
            .map_err(|e| anyhow::anyhow!(start_error("getMe", &e, bot.api_url().as_str())))?;
        self.ready.set(Ok(()));
        let username = me.username.clone().unwrap_or_default();
        tracing::info!(bot = %username, "connected to Telegram");
        // The command menu is registered in the background, retried until it is: polling
        // must not wait for it (teloxide alone sleeps 10 s on every server error).
        spawn_set_commands(tg.clone(), self.metrics.clone());
        spawn_telegram_check(bot.clone(), self.ready.clone());
        let state = Arc::new(BotState {
            live: self.live,
            log: self.log,
            tg,
            urgent: bot.clone(),
            metrics: self.metrics.clone(),
            username,
            bot_id: me.id,
            recent: Default::default(),
        });
        let lanes = Lanes::new(state);
        let stop_tx = self.stop_tx;
        // On a signal: stop taking updates (and the HTTP side); replies in flight finish below.
        let (bot_stop_tx, bot_stop_rx) = watch::channel(false);
        let on_signal = |listener_stop: Option<teloxide::stop::StopToken>| async move {
            wait_for_signal().await;
            tracing::info!("stopping: finishing replies in flight");
            let _ = stop_tx.send(true);
            let _ = bot_stop_tx.send(true);
            if let Some(t) = listener_stop {
                t.stop();
            }
        };
        match webhook {
            Some((mut listener, url, secret)) => {
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
                .map_err(|e| {
                    anyhow::anyhow!(start_error("setWebhook", &e, bot.api_url().as_str()))
                })?;
                tracing::info!(%url, "webhook set");
                let mut stop = bot_stop_rx;
                let stream = listener.as_stream();
                let mut stream = std::pin::pin!(stream);
                loop {
                    let next = tokio::select! {
                        u = stream.next() => u,
                        _ = stop.wait_for(|s| *s) => None,
                    };
                    match next {
                        Some(Ok(update)) => lanes.dispatch(update),
                        Some(Err(never)) => match never {},
                        None => break,
                    }
                }
                lanes.drain().await;
            }
            None => {
                // Polling deletes any webhook first (switching back from webhook mode).
                with_retry(&self.metrics, "deleteWebhook", || {
                    bot.delete_webhook().send()
                })
                .await
                .map_err(|e| {
                    anyhow::anyhow!(start_error("deleteWebhook", &e, bot.api_url().as_str()))
                })?;
                tokio::spawn(on_signal(None));
                self.ready.polling.store(true, Ordering::Relaxed);
                let poller = Poller {
                    bot: bot.clone(),
                    lanes: lanes.clone(),
                    health: self.ready.poll.clone(),
                    metrics: self.metrics.clone(),
                };
                let last = poller.run(bot_stop_rx).await;
                lanes.drain().await;
                // Everything handed over is handled: tell Telegram.
                poller.confirm(last).await;
            }
        }
        Ok(())
    }
}

/// Registers the command menu, retrying in the background (every attempt of
/// [`set_commands`] retries with backoff; after a failed round it waits a minute and tries
/// again) until Telegram takes it or refuses it for good.
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
                Err(e) if crate::bot::send::retryable(&e).is_some() && round < 30 => {
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
