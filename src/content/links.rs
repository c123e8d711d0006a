//! `check --links`: fetch every cited URL and report the dead ones.
//!
//! At most [`LinkOptions::concurrency`] requests at once; each URL is tried with HEAD, then
//! GET when HEAD is refused or fails (some sites answer HEAD with 405 or not at all); a
//! failed try is retried once. Redirects are followed. Each URL is fetched once however many
//! files cite it, and every citing file is reported.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::diag::Pos;
use super::model::Content;

#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub concurrency: usize,
    pub timeout: Duration,
    pub retries: u32,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            concurrency: 8,
            timeout: Duration::from_secs(10),
            retries: 1,
        }
    }
}

/// One URL that did not answer with success, and every place that cites it.
#[derive(Debug, Clone)]
pub struct DeadLink {
    pub url: String,
    pub reason: String,
    pub cited_at: Vec<Pos>,
}

/// Checks every link in `content`; returns the dead ones sorted by URL, and how many were checked.
pub async fn check_links(content: &Content, opts: &LinkOptions) -> (Vec<DeadLink>, usize) {
    let mut by_url: BTreeMap<String, Vec<Pos>> = BTreeMap::new();
    for s in content.links() {
        by_url.entry(s.url.clone()).or_default().push(s.pos.clone());
    }
    let urls: Vec<String> = by_url.keys().cloned().collect();
    let checked = urls.len();
    let dead = check_urls(urls, opts).await;
    let dead = dead
        .into_iter()
        .map(|(url, reason)| DeadLink {
            cited_at: by_url.remove(&url).unwrap_or_default(),
            url,
            reason,
        })
        .collect();
    (dead, checked)
}

/// Fetches each URL; returns `(url, reason)` for every one that is dead, sorted by URL.
pub async fn check_urls(urls: Vec<String>, opts: &LinkOptions) -> Vec<(String, String)> {
    let client = match reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::limited(10))
        .user_agent(concat!("workhealth-linkcheck/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return urls
                .into_iter()
                .map(|u| (u, format!("cannot build HTTP client: {e}")))
                .collect();
        }
    };
    let mut dead: Vec<(String, String)> = stream::iter(urls)
        .map(|url| {
            let client = client.clone();
            async move {
                let result = probe(&client, &url, opts.retries).await;
                result.err().map(|reason| (url, reason.to_string()))
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .filter_map(|x| async move { x })
        .collect()
        .await;
    dead.sort();
    dead
}

/// Why a link is dead.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("timed out")]
    TimedOut,
    /// The request failed: reqwest's error with every cause it wraps.
    #[error("{0}")]
    Failed(String),
}

async fn probe(client: &reqwest::Client, url: &str, retries: u32) -> Result<(), LinkError> {
    let mut last = LinkError::TimedOut;
    for _attempt in 0..=retries {
        match try_once(client, url).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn try_once(client: &reqwest::Client, url: &str) -> Result<(), LinkError> {
    let head = client.head(url).send().await;
    if let Ok(r) = &head
        && r.status().is_success()
    {
        return Ok(());
    }
    // HEAD refused, failed or not implemented: ask with GET before calling the link dead.
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(LinkError::Status(r.status())),
        Err(e) if e.is_timeout() => Err(LinkError::TimedOut),
        Err(e) => Err(LinkError::Failed(describe(&e))),
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_link_is_said_as_before() {
        assert_eq!(
            LinkError::Status(reqwest::StatusCode::NOT_FOUND).to_string(),
            "HTTP 404 Not Found"
        );
        assert_eq!(LinkError::TimedOut.to_string(), "timed out");
    }
}
