//! `workhealth serve`: the Telegram bot and the HTTP listener (health now; the review app and
//! metrics join it) in one process, with a graceful stop on SIGTERM or Ctrl-C: in-flight
//! replies finish and everything queued for the log is committed before exit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::routing::get;
use teloxide::dispatching::{Dispatcher, UpdateHandler};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::update_listeners::Polling;
use tokio::sync::watch;

use crate::bot::BotState;
use crate::bot::send::{Tg, set_commands, with_retry};
use crate::cli::{Global, OnOff, ServeArgs};
use crate::live::{Live, Reloader};
use crate::log::{Log, LogOptions};
use crate::metrics::Metrics;

/// A usage problem `serve` reports in one line (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeUsage(pub String);

/// What the HTTP side shares.
#[derive(Clone)]
pub struct AppState {
    pub live: Arc<Live>,
    pub log: Arc<Log>,
    pub metrics: Arc<Metrics>,
    pub reloader: Arc<Reloader>,
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(g, args, token))
}

async fn serve(g: &Global, args: &ServeArgs, token: Option<String>) -> Result<()> {
    let assistant = crate::run::assistant(g)?;
    let live = Arc::new(Live::new(assistant));
    let log = Arc::new(
        Log::open(&g.data, LogOptions::default())
            .with_context(|| format!("cannot open the question log in {}", g.data.display()))?,
    );
    let metrics = Arc::new(Metrics::default());

    // Retention: at start, then daily.
    let purged = log
        .purge(args.retention_days)
        .await
        .context("cannot apply the retention period to the question log")?;
    tracing::info!(purged, days = args.retention_days, "retention applied");
    {
        let log = log.clone();
        let days = args.retention_days;
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

    let (stop_tx, stop_rx) = watch::channel(false);
    let reloader = Arc::new(Reloader::new(
        g.content.clone(),
        g.index.clone(),
        live.clone(),
        metrics.clone(),
    ));
    let state = AppState {
        live: live.clone(),
        log: log.clone(),
        metrics: metrics.clone(),
        reloader,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| ServeUsage(format!("serve: cannot listen on {}: {e}", args.listen)))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "HTTP listener up");
    eprintln!("workhealth: listening on http://{bound}");
    let http = {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let r = axum::serve(listener, router(state))
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "HTTP listener failed");
            }
        })
    };

    match token {
        Some(token) => {
            run_bot(token, args, live, log.clone(), metrics, stop_tx.clone()).await?;
        }
        None => {
            wait_for_signal().await;
            tracing::info!("stopping");
        }
    }
    let _ = stop_tx.send(true);
    let _ = http.await;
    // Everything queued is committed before exit.
    log.flush().await;
    log.close();
    tracing::info!("stopped");
    Ok(())
}

/// The whole HTTP app: operators' endpoints and the review app.
pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(crate::review::routes());
    // Sessions, CSRF and security headers around everything (public paths pass).
    crate::review::guard(app, &state).with_state(state)
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

async fn run_bot(
    token: String,
    args: &ServeArgs,
    live: Arc<Live>,
    log: Arc<Log>,
    metrics: Arc<Metrics>,
    stop_tx: watch::Sender<bool>,
) -> Result<()> {
    let mut bot = Bot::new(token);
    if let Ok(url) = std::env::var("TELOXIDE_API_URL") {
        let url = reqwest::Url::parse(url.trim_end_matches('/'))
            .map_err(|e| ServeUsage(format!("TELOXIDE_API_URL: not a URL ({e})")))?;
        bot = bot.set_api_url(url);
    }
    let tg = match args.throttle {
        OnOff::On => Tg::Throttled(
            bot.clone()
                .throttle(teloxide::adaptors::throttle::Limits::default()),
        ),
        OnOff::Off => {
            tracing::warn!("Telegram rate limiting is off: for load tests on loopback only");
            Tg::Plain(bot.clone())
        }
    };
    let me = with_retry(&metrics, "getMe", || bot.get_me().send())
        .await
        .context("cannot reach Telegram (getMe); is TELOXIDE_TOKEN right?")?;
    let username = me.username.clone().unwrap_or_default();
    tracing::info!(bot = %username, "connected to Telegram");
    if let Err(e) = set_commands(&tg, &metrics).await {
        tracing::warn!(error = %e, "could not register the command menu (setMyCommands)");
    }
    let state = Arc::new(BotState {
        live,
        log,
        tg,
        metrics,
        username,
        bot_id: me.id,
    });
    let handler: UpdateHandler<std::convert::Infallible> =
        dptree::endpoint(|upd: Update, st: Arc<BotState>| async move {
            st.handle(upd).await;
            Ok(())
        });
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![state])
        .default_handler(|_| async {})
        .build();
    let shutdown = dispatcher.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: finishing replies in flight");
        let _ = stop_tx.send(true);
        // The dispatcher may not have started yet: try until it takes the request.
        loop {
            match shutdown.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let listener = Polling::builder(bot.clone())
        .timeout(Duration::from_secs(10))
        .delete_webhook()
        .await
        .build();
    dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("an error from the update listener"),
        )
        .await
        .context("cannot start the Telegram dispatcher")?;
    Ok(())
}
