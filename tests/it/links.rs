//! `check --links` against a local HTTP server on 127.0.0.1 that serves 200, 404, a redirect,
//! a HEAD-refusing page and a hang. Nothing here leaves the loopback interface.

use crate::common;

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::Redirect;
use axum::routing::{any, get};
use common::*;
use workhealth::content::links::{LinkOptions, check_urls};

async fn serve() -> String {
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/moved", get(|| async { Redirect::permanent("/ok") }))
        .route(
            "/no-head",
            any(|m: Method| async move {
                if m == Method::HEAD {
                    StatusCode::METHOD_NOT_ALLOWED
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn dead_links_are_found_and_live_ones_pass() {
    let base = serve().await;
    let urls: Vec<String> = ["/ok", "/missing", "/moved", "/no-head", "/hang"]
        .iter()
        .map(|p| format!("{base}{p}"))
        .collect();
    let opts = LinkOptions {
        timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let started = Instant::now();
    let dead = check_urls(urls, &opts).await;
    let dead: Vec<(&str, &str)> = dead
        .iter()
        .map(|(u, r)| (u.trim_start_matches(&base), r.as_str()))
        .collect();
    assert_eq!(
        dead,
        vec![("/hang", "timed out"), ("/missing", "HTTP 404 Not Found")]
    );
    // The hang is given up on: two tries of HEAD then GET, each bounded by the timeout.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn at_most_the_concurrency_limit_is_in_flight() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let app = Router::new().route(
        "/{i}",
        get(move || {
            let (n, p) = (n.clone(), p.clone());
            async move {
                let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(cur, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let urls: Vec<String> = (0..40).map(|i| format!("http://{addr}/{i}")).collect();
    let dead = check_urls(urls, &LinkOptions::default()).await;
    assert!(dead.is_empty(), "{dead:?}");
    let peak = peak.load(Ordering::SeqCst);
    assert!((2..=8).contains(&peak), "peak concurrency {peak}");
}

/// The command line names the file and line that cite a dead link and exits 1. The local
/// server speaks plain HTTP, so the https:// link the content must use cannot be fetched.
#[test]
fn check_links_names_the_citing_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = rt.block_on(serve());
    let port = base.rsplit(':').next().unwrap().to_string();
    let dir = fixture();
    edit(
        &dir,
        "guidance/absence/self-certification.yaml",
        "url: https://www.gov.uk/self-cert",
        &format!("url: https://127.0.0.1:{port}/ok"),
    );
    edit(
        &dir,
        "programmes/acas.yaml",
        "url: https://www.acas.org.uk\n  phone",
        &format!("url: https://127.0.0.1:{port}/hang\n  phone"),
    );
    // Every other link points at a closed port on loopback, so nothing leaves the machine.
    for file in ["guidance/absence/fit-notes.yaml", "programmes/acas.yaml"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let text = text
            .replace("https://www.gov.uk", "https://127.0.0.1:9")
            .replace("https://www.acas.org.uk", "https://127.0.0.1:9");
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let r = run(&[
        "--content",
        dir.path().to_str().unwrap(),
        "check",
        "--links",
        "--link-timeout",
        "1",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let file = dir.path().join("guidance/absence/self-certification.yaml");
    let expected = format!(
        "{}:13:10: error: dead link https://127.0.0.1:{port}/ok",
        file.display()
    );
    assert!(
        r.stdout.lines().any(|l| l.starts_with(&expected)),
        "want {expected}\n{}",
        r.stdout
    );
    let acas = dir.path().join("programmes/acas.yaml");
    assert!(
        r.stdout.contains(&format!(
            "{}:10:8: error: dead link https://127.0.0.1:{port}/hang",
            acas.display()
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("links checked"), "{}", r.stdout);
}
