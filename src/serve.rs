//! `workhealth serve`: the Telegram bot (long polling by [`crate::bot::poll`], updates confirmed
//! only once handled; or a webhook on the same listener, unreadable updates screened out) and
//! the HTTP side (review app, `/healthz`, `/readyz`, `/metrics`) in one process. Content is
//! reloaded live when its files change, on SIGHUP and from the review app. SIGTERM or Ctrl-C
//! stops it gracefully: in-flight replies finish and everything queued for the log is
//! committed before exit. Every flag is checked, and the listener bound, before anything is
//! created, opened or contacted.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;

use crate::cli::{Global, OnOff, ServeArgs};
use crate::live::{Live, Reloader};
use crate::log::{Log, LogOptions};
use crate::metrics::Metrics;
pub use crate::readiness::Readiness;
pub use crate::state::AppState;

/// A usage problem `serve` reports in one line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeUsage(pub String);

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
            crate::log::mask_url(url)
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
    let (assistant, model) = crate::live::assistant_or_lexical(g)?;
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
        Some(t) => Some(crate::bot::start::client(t)?),
        None => None,
    };
    // Webhook mode serves updates on the same listener as the review app.
    let mut app = router(state);
    let mut webhook_listener = None;
    if let (Some(token), Some(url)) = (&token, &args.webhook) {
        let url = webhook_url(url)?;
        let secret = webhook_secret(args, token)?;
        let (hook, updates) = crate::bot::start::webhook(args.listen, url, secret, metrics.clone());
        app = app.merge(hook);
        webhook_listener = Some(updates);
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
            let cx = crate::bot::start::Start {
                signal: || Box::pin(wait_for_signal()),
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
