//! The review web app through its axum router (`tower::ServiceExt::oneshot`): every route,
//! sessions, lockout, CSRF, escaping and redaction, tagging, suggestions, groups, the CSV
//! export, reload, security headers, logout, and the `reviewers` commands.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use chrono::Utc;
use tower::ServiceExt;
use workhealth::assistant::Assistant;
use workhealth::live::{Live, Reloader};
use workhealth::log::store::Session;
use workhealth::log::{Feedback, Log, LogOptions, NewQuestion, report};
use workhealth::metrics::Metrics;
use workhealth::review::accounts;
use workhealth::serve::{AppState, router};

const PASSWORD: &str = "correct horse battery staple";
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const SCRIPT_Q: &str = "<script>alert(1)</script> is jury service paid?";
const EMAIL_Q: &str = "email jane.doe@example.com about jury service pay please";

struct App {
    router: Router,
    log: Arc<Log>,
    live: Arc<Live>,
    content: tempfile::TempDir,
    _data: tempfile::TempDir,
    _index: tempfile::TempDir,
}

fn app() -> App {
    app_on(|data| Log::open(data, LogOptions::default()).unwrap())
}

/// An app over the log `make_log` opens in the data folder.
fn app_on(make_log: impl FnOnce(&Path) -> Log) -> App {
    let content = tempfile::tempdir().unwrap();
    common::copy_dir(&common::repo().join("content"), content.path());
    let data = tempfile::tempdir().unwrap();
    let index = tempfile::tempdir().unwrap();
    let loaded = workhealth::content::load_valid(content.path(), Utc::now().date_naive()).unwrap();
    let live = Arc::new(Live::new(Assistant::in_memory(Arc::new(loaded)).unwrap()));
    let log = Arc::new(make_log(data.path()));
    let metrics = Arc::new(Metrics::default());
    let reloader = Arc::new(Reloader::new(
        content.path().to_path_buf(),
        index.path().join("index"),
        live.clone(),
        metrics.clone(),
    ));
    let state = AppState {
        live: live.clone(),
        log: log.clone(),
        metrics,
        reloader,
        ready: std::sync::Arc::new(workhealth::serve::Readiness::new(false)),
    };
    App {
        router: router(state),
        log,
        live,
        content,
        _data: data,
        _index: index,
    }
}

impl App {
    fn reviewer(&self, name: &str) {
        let hash = accounts::hash_password(PASSWORD).unwrap();
        self.log
            .accounts()
            .with(|s| s.put_reviewer(name, &hash))
            .unwrap();
    }

    /// Records a question; returns its id.
    fn ask(&self, text: &str, outcome: &str, shown: Option<&str>) -> i64 {
        self.ask_in(text, outcome, shown, Some("north-east"))
    }

    fn ask_in(&self, text: &str, outcome: &str, shown: Option<&str>, region: Option<&str>) -> i64 {
        let user = self.log.user_key("telegram", 42);
        let digest = self.live.get().content().digest.clone();
        self.log.record(NewQuestion {
            id: 0,
            asked_at: Utc::now(),
            user,
            region: region.map(str::to_string),
            channel: "telegram".into(),
            text: text.into(),
            outcome: workhealth::log::Outcome::parse(outcome).expect("a known outcome"),
            results: vec![("fit-notes".into(), 7.25), ("company-sick-pay".into(), 3.5)],
            shown_id: shown.map(str::to_string),
            content_digest: digest,
            reply_text: Some("Fit notes\n\nA <b>fit note</b> is...".into()),
        })
    }

    async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Response<Body> {
        let mut b = Request::builder().uri(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, form: &str) -> Response<Body> {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::from(form.to_string())).unwrap())
            .await
    }

    /// GET /login, then POST it: the response and the login cookie used.
    async fn try_login(&self, name: &str, password: &str) -> Response<Body> {
        let form = self.get("/login", None).await;
        assert_eq!(form.status(), StatusCode::OK);
        let cookie = set_cookie(&form, "wh_login").expect("a wh_login cookie");
        let html = text(form).await;
        let token = hidden_csrf(&html);
        assert_eq!(
            token, cookie,
            "double submit: the form carries the cookie's value"
        );
        self.post(
            "/login",
            Some(&format!("wh_login={cookie}")),
            &format!("csrf={token}&name={}&password={}", enc(name), enc(password)),
        )
        .await
    }

    /// Logs in; the session cookie header and the session's CSRF token.
    async fn login(&self, name: &str) -> Authed {
        let res = self.try_login(name, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/");
        let token = set_cookie(&res, "wh_session").expect("a session cookie");
        let cookie = format!("wh_session={token}");
        let home = self.get("/", Some(&cookie)).await;
        assert_eq!(home.status(), StatusCode::OK);
        let csrf = hidden_csrf(&text(home).await);
        Authed { cookie, csrf }
    }
}

struct Authed {
    cookie: String,
    csrf: String,
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text as maud escapes it.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn set_cookies(res: &Response<Body>) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value a Set-Cookie header gives `name`, if any (non-empty).
fn set_cookie(res: &Response<Body>, name: &str) -> Option<String> {
    set_cookies(res).into_iter().find_map(|c| {
        let first = c.split(';').next()?.trim().to_string();
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn hidden_csrf(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f.]{64,})""#).unwrap();
    re.captures(html)
        .unwrap_or_else(|| panic!("no csrf field in {html}"))[1]
        .to_string()
}

fn question_links(html: &str) -> usize {
    html.matches("href=\"/questions/").count()
}

async fn links(a: &App, cookie: &str, path: &str) -> usize {
    question_links(&text(a.get(path, Some(cookie)).await).await)
}

/// Posts a question's review form (`form` without the CSRF token) and checks it redirects.
async fn review_form(a: &App, s: &Authed, id: i64, form: &str) {
    let res = a
        .post(
            &format!("/questions/{id}"),
            Some(&s.cookie),
            &format!("csrf={}&{form}", s.csrf),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{form}");
}

/// Gets a YAML download, checks it is one (status, file name, content type) and returns it.
async fn yaml_download(a: &App, s: &Authed, path: &str, filename: &str) -> String {
    let res = a.get(path, Some(&s.cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"{filename}\"").as_str()
    );
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
    );
    text(res).await
}

fn assert_redirects_to_login(res: &Response<Body>, what: &str) {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{what}");
    assert_eq!(res.headers()[header::LOCATION], "/login", "{what}");
}

const GET_ROUTES: &[&str] = &[
    "/",
    "/?days=90",
    "/queue",
    "/queue?all=1&outcome=answer",
    "/questions/1",
    "/groups",
    "/suggestions",
    "/suggestions?format=yaml",
    "/suggestions?format=decline-yaml",
    "/export.csv",
    "/no-such-page",
];

#[tokio::test]
async fn without_a_session_every_page_redirects_to_login() {
    let a = app();
    a.reviewer("alice");
    let id = a.ask(SCRIPT_Q, "no_answer", None);
    a.log.flush().await;
    let question = format!("/questions/{id}");
    for path in GET_ROUTES.iter().copied().chain([question.as_str()]) {
        assert_redirects_to_login(&a.get(path, None).await, path);
        // A made-up or malformed session is no session.
        let fake = format!("wh_session={}", "ab".repeat(32));
        assert_redirects_to_login(&a.get(path, Some(&fake)).await, path);
        assert_redirects_to_login(&a.get(path, Some("wh_session=<x>")).await, path);
    }
    for path in ["/reload", "/logout", question.as_str()] {
        let res = a.post(path, None, "csrf=x&reviewed=1").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing was changed by the refused POST.
    let q = a.log.reader().with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.review.state, "new");
    // The public routes.
    assert_eq!(a.get("/login", None).await.status(), StatusCode::OK);
    assert_eq!(a.get("/healthz", None).await.status(), StatusCode::OK);
    let css = a.get("/style.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
}

#[tokio::test]
async fn a_wrong_password_fails_and_the_right_one_starts_a_session() {
    let a = app();
    a.reviewer("alice");
    let res = a.try_login("alice", "not the password at all").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res, "wh_session").is_none());
    assert!(text(res).await.contains("Wrong name or password."));
    // An unknown name gets the same answer.
    let res = a.try_login("nobody-here", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(text(res).await.contains("Wrong name or password."));

    let res = a.try_login("alice", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("wh_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let token = set_cookie(&res, "wh_session").unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    // Only the token's hash is stored; it expires in 8 hours.
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let s = a.log.reader().with(|s| s.session(&hash)).unwrap().unwrap();
    assert_eq!(s.reviewer, "alice");
    let left = s.expires_at - Utc::now();
    assert!(left > chrono::Duration::minutes(479) && left <= chrono::Duration::hours(8));
    assert!(
        a.log
            .reader()
            .with(|s| s.session(&token))
            .unwrap()
            .is_none()
    );
    // The login cookie is cleared; the session works.
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("wh_login=;"))
    );
    let home = a.get("/", Some(&format!("wh_session={token}"))).await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(text(home).await.contains("Log out alice"));
}

/// Moves a reviewer's stored back-off back in time, as if `secs` had passed.
fn age_failures(a: &App, name: &str, secs: i64) {
    let r = a.log.reader().with(|s| s.reviewer(name)).unwrap().unwrap();
    let before = (r.failed_logins, r.locked_until);
    let after = (
        r.failed_logins,
        r.locked_until.map(|t| t - chrono::Duration::seconds(secs)),
    );
    assert!(
        a.log
            .accounts()
            .with(|s| s.swap_login_failures(name, before, after))
            .unwrap()
    );
}

#[tokio::test]
async fn five_failures_pause_the_account_even_for_the_right_password() {
    let a = app();
    a.reviewer("bob");
    let started = Instant::now();
    for i in 1..=5 {
        let res = a.try_login("bob", "wrong password number").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
        let html = text(res).await;
        assert_eq!(html.contains("paused"), i == 5, "attempt {i}: {html}");
    }
    // 250 + 500 + 750 + 1000 + 1250 ms of slowdown.
    assert!(
        started.elapsed() >= Duration::from_millis(3700),
        "{:?}",
        started.elapsed()
    );
    let res = a.try_login("bob", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(set_cookie(&res, "wh_session").is_none());
    assert!(text(res).await.contains("Try again in"));
    let r = a.log.reader().with(|s| s.reviewer("bob")).unwrap().unwrap();
    assert_eq!(r.failed_logins, 5, "the refused try was not counted");
    let until = r.locked_until.unwrap() - Utc::now();
    assert!(until > chrono::Duration::seconds(20) && until <= chrono::Duration::seconds(30));

    // When the wait has run out, the right password works and clears the count.
    age_failures(&a, "bob", 31);
    let res = a.try_login("bob", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let r = a.log.reader().with(|s| s.reviewer("bob")).unwrap().unwrap();
    assert_eq!((r.failed_logins, r.locked_until), (0, None));
}

#[tokio::test]
async fn one_try_every_fifteen_minutes_does_not_keep_a_reviewer_out() {
    let a = app();
    a.reviewer("dora");
    for i in 0..5 {
        let res = a.try_login("dora", "wrong password number").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Fifteen minutes later (the old lock's length) an attacker tries once more: the count has
    // decayed, so that try does not pause the account, and the reviewer gets in.
    age_failures(&a, "dora", 15 * 60);
    let res = a.try_login("dora", "wrong password again").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(!text(res).await.contains("paused"));
    let r = a
        .log
        .reader()
        .with(|s| s.reviewer("dora"))
        .unwrap()
        .unwrap();
    assert_eq!(r.failed_logins, 3, "5 failures, 3 forgiven, 1 more");
    let res = a.try_login("dora", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_slip_past_the_count() {
    let a = Arc::new(app());
    a.reviewer("bob");
    // 39 wrong passwords and then the right one, all at once (the probe's F2).
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let a = a.clone();
            tokio::spawn(async move {
                let pw = if i == 39 {
                    PASSWORD.to_string()
                } else {
                    format!("wrong guess {i}")
                };
                a.try_login("bob", &pw).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED || **s == StatusCode::SEE_OTHER)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert_eq!(checked + refused, 40, "{statuses:?}");
    // Unless the right one was among the first five, the account is now paused for it too.
    if !statuses.contains(&StatusCode::SEE_OTHER) {
        let res = a.try_login("bob", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let r = a.log.reader().with(|s| s.reviewer("bob")).unwrap().unwrap();
        assert_eq!(r.failed_logins, 5);
    }
}

#[tokio::test]
async fn unknown_names_lock_out_like_real_ones() {
    let a = app();
    for i in 1..=5 {
        let res = a.try_login("ghost-reviewer", "some password here").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(text(res).await.contains("paused"), i == 5);
    }
    let res = a.try_login("ghost-reviewer", "some password here").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_paused_unknown_name_costs_the_same_as_a_paused_reviewer() {
    let a = app();
    a.reviewer("erin");
    for name in ["erin", "no-such-erin"] {
        for _ in 0..5 {
            a.try_login(name, "wrong password number").await;
        }
    }
    let mut times = BTreeMap::new();
    for name in [
        "erin",
        "no-such-erin",
        "erin",
        "no-such-erin",
        "erin",
        "no-such-erin",
    ] {
        let t = Instant::now();
        let res = a.try_login(name, "wrong password number").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
        let body = text(res).await;
        assert!(body.contains("paused"), "{body}");
        times.entry(name).or_insert_with(Vec::new).push(t.elapsed());
    }
    let known = *times["erin"].iter().min().unwrap();
    let unknown = *times["no-such-erin"].iter().min().unwrap();
    // Both are held to the same floor (300 ms), far above what either lookup costs.
    assert!(known >= Duration::from_millis(300), "{known:?}");
    assert!(unknown >= Duration::from_millis(300), "{unknown:?}");
    let gap = known.abs_diff(unknown);
    assert!(gap < Duration::from_millis(60), "{known:?} vs {unknown:?}");
}

#[tokio::test]
async fn failures_from_one_address_back_off_over_every_name() {
    let a = app();
    a.reviewer("frank");
    let from = |addr: &str, name: &str, password: &str| {
        let (addr, name, password) = (addr.to_string(), name.to_string(), password.to_string());
        let a = &a;
        async move {
            let form = a.get("/login", None).await;
            let token = set_cookie(&form, "wh_login").unwrap();
            let req = Request::builder()
                .method(Method::POST)
                .uri("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("wh_login={token}"))
                .header("x-forwarded-for", addr)
                .body(Body::from(format!(
                    "csrf={token}&name={}&password={}",
                    enc(&name),
                    enc(&password)
                )))
                .unwrap();
            a.send(req).await.status()
        }
    };
    // Ten different names from one address: each a first failure, so none is paused...
    for i in 0..11 {
        let st = from("203.0.113.5", &format!("sprayed-{i}"), "guess one").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "name {i}");
    }
    // ...but the address is now backing off, even for a real name and the right password.
    let st = from("203.0.113.5", "frank", PASSWORD).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let st = from("198.51.100.20", "frank", PASSWORD).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_login_form_needs_a_token_the_server_signed() {
    let a = app();
    a.reviewer("carol");
    let body = |t: &str| format!("csrf={t}&name=carol&password={}", enc(PASSWORD));
    // No cookie, a mismatched cookie, and a made-up equal pair (the probe's F10): refused.
    let made_up = "a".repeat(64);
    let res = a.post("/login", None, &body(&made_up)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = a
        .post(
            "/login",
            Some(&format!("wh_login={}", "b".repeat(64))),
            &body(&made_up),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = a
        .post(
            "/login",
            Some(&format!("wh_login={made_up}")),
            &body(&made_up),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a made-up pair");
    assert!(set_cookie(&res, "wh_session").is_none());
    // A signed token, but not the browser's cookie: refused.
    let form = a.get("/login", None).await;
    let signed = set_cookie(&form, "wh_login").unwrap();
    assert_eq!(hidden_csrf(&text(form).await), signed);
    let res = a
        .post(
            "/login",
            Some(&format!("wh_login={made_up}")),
            &body(&signed),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A signed token with one character changed: refused.
    let mut forged = signed.clone().into_bytes();
    forged[0] = if forged[0] == b'1' { b'2' } else { b'1' };
    let forged = String::from_utf8(forged).unwrap();
    let res = a
        .post(
            "/login",
            Some(&format!("wh_login={forged}")),
            &body(&forged),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A second load of the form (another tab, a favicon request sent here) keeps the
    // browser's signed token, so the first form still works; a made-up one is replaced.
    let again = a.get("/login", Some(&format!("wh_login={signed}"))).await;
    assert_eq!(
        set_cookie(&again, "wh_login").as_deref(),
        Some(signed.as_str())
    );
    assert_eq!(hidden_csrf(&text(again).await), signed);
    let again = a.get("/login", Some(&format!("wh_login={made_up}"))).await;
    assert_ne!(set_cookie(&again, "wh_login").unwrap(), made_up);
    // The signed token and its cookie: logged in.
    let res = a
        .post(
            "/login",
            Some(&format!("wh_login={signed}")),
            &body(&signed),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused() {
    let a = app();
    a.reviewer("dave");
    let id = a.ask("jury service pay?", "no_answer", None);
    a.log.flush().await;
    let s = a.login("dave").await;
    let path = format!("/questions/{id}");
    let wrong = "f".repeat(64);
    for body in [
        "reviewed=1&tag_content_gap=1".to_string(),
        format!("csrf={wrong}&reviewed=1"),
        "csrf=&reviewed=1".to_string(),
    ] {
        for p in [path.as_str(), "/reload", "/logout"] {
            let res = a.post(p, Some(&s.cookie), &body).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{p} {body}");
            assert!(text(res).await.contains("security token"));
        }
    }
    let q = a.log.reader().with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.review.state, "new");
    assert!(q.review.tags.is_empty());
    // Still logged in (the refused logout did nothing); another session's token fails too.
    assert_eq!(a.get("/", Some(&s.cookie)).await.status(), StatusCode::OK);
    let other = a.login("dave").await;
    assert_ne!(other.csrf, s.csrf, "a CSRF token per session");
    let res = a
        .post(
            &path,
            Some(&s.cookie),
            &format!("csrf={}&reviewed=1", other.csrf),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = a
        .post(
            &path,
            Some(&s.cookie),
            &format!("csrf={}&reviewed=1", s.csrf),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_queue_shows_questions_escaped_and_redacted() {
    let a = app();
    a.reviewer("erin");
    let script = a.ask(SCRIPT_Q, "no_answer", None);
    let email = a.ask(EMAIL_Q, "clarify", None);
    let answered = a.ask("how do fit notes work", "answer", Some("fit-notes"));
    let thumbs_down = a.ask("company sick pay rules", "answer", Some("company-sick-pay"));
    let crisis = a.ask_in("crisis words", "crisis", None, Some("west-midlands"));
    a.log.flush().await;
    let user = a.log.user_key("telegram", 42);
    a.log.feedback(&user, thumbs_down, Feedback::Unhelpful);
    a.log.flush().await;
    let s = a.login("erin").await;

    let html = text(a.get("/queue", Some(&s.cookie)).await).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("email [email] about jury service"), "{html}");
    assert!(!html.contains("jane.doe"), "{html}");
    for id in [script, email, thumbs_down] {
        assert!(
            html.contains(&format!("/questions/{id}\"")),
            "{id} in the queue"
        );
    }
    for id in [answered, crisis] {
        assert!(
            !html.contains(&format!("/questions/{id}\"")),
            "{id} not in the queue"
        );
    }
    assert_eq!(question_links(&html), 3);

    let c = s.cookie.as_str();
    assert_eq!(links(&a, c, "/queue?all=1").await, 5);
    assert_eq!(links(&a, c, "/queue?outcome=clarify").await, 1);
    assert_eq!(links(&a, c, "/queue?outcome=unhelpful").await, 1);
    assert_eq!(links(&a, c, "/queue?all=1&outcome=crisis").await, 1);
    assert_eq!(links(&a, c, "/queue?all=1&region=west-midlands").await, 1);
    assert_eq!(links(&a, c, "/queue?q=JURY").await, 2);
    assert_eq!(
        links(&a, c, "/queue?q=%25").await,
        0,
        "LIKE wildcards are literal"
    );
    assert_eq!(links(&a, c, "/queue?all=1&to=2000-01-01").await, 0);
    let today = Utc::now().date_naive().to_string();
    let q = format!("/queue?all=1&from={today}&to={today}");
    assert_eq!(links(&a, c, &q).await, 5);
    let bad = a.get("/queue?from=yesterday", Some(&s.cookie)).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(text(bad).await.contains("not a date"));

    // A question's page: escaped, with the reply as sent, scores and the digest.
    let page = text(
        a.get(&format!("/questions/{script}"), Some(&s.cookie))
            .await,
    )
    .await;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script"));
    assert!(
        page.contains(
            "<pre class=\"reply\">Fit notes\n\nA &lt;b&gt;fit note&lt;/b&gt; is...</pre>"
        ),
        "{page}"
    );
    assert!(page.contains("7.250") && page.contains("3.500"));
    let digest = a.live.get().content().digest.clone();
    assert!(page.contains(&digest) && page.contains("(the live version)"));
    let title = a
        .live
        .get()
        .content()
        .entry("fit-notes")
        .unwrap()
        .title
        .clone();
    assert!(page.contains(&esc(&title)), "results carry titles");
    assert!(
        page.contains("<option value=\"fit-notes\""),
        "the entry select"
    );
    for missing in ["/questions/12345", "/questions/not-a-number"] {
        let res = a.get(missing, Some(&s.cookie)).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    assert_eq!(
        a.get("/no-such-page", Some(&s.cookie)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_queue_is_paginated() {
    let a = app();
    a.reviewer("finn");
    for i in 0..120 {
        a.ask(
            &format!("unanswered question number {i}"),
            "no_answer",
            None,
        );
    }
    a.log.flush().await;
    let s = a.login("finn").await;
    let first = text(a.get("/queue", Some(&s.cookie)).await).await;
    assert_eq!(question_links(&first), 50);
    assert!(first.contains("120 question(s), page 1 of 3"));
    assert!(first.contains("href=\"/queue?page=2\""), "{first}");
    let last = text(a.get("/queue?page=3", Some(&s.cookie)).await).await;
    assert_eq!(question_links(&last), 20);
    // Page numbers beyond any integer (the probe's F8) are a page, never a 500 with a path.
    for page in ["9223372036854775807", "18446744073709551615", "1e99", "-1"] {
        let res = a.get(&format!("/queue?page={page}"), Some(&s.cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "page {page}");
        let html = text(res).await;
        assert!(
            !html.contains("sqlite3") && !html.contains("/tmp"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn tagging_works_and_a_reviewed_question_leaves_the_queue() {
    let a = app();
    a.reviewer("gail");
    let id = a.ask("do I pay staff on jury service", "no_answer", None);
    a.log.flush().await;
    let s = a.login("gail").await;
    let path = format!("/questions/{id}");
    let body = format!(
        "csrf={}&tag_content_gap=1&tags={}&note={}&suggested=company-sick-pay",
        s.csrf,
        enc("pay, jury service , pay"),
        enc("no entry covers <jury> service")
    );
    let res = a.post(&path, Some(&s.cookie), &body).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], format!("{path}?saved=1"));
    let q = a.log.reader().with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.review.tags, vec!["content gap", "jury service", "pay"]);
    assert_eq!(
        q.review.note.as_deref(),
        Some("no entry covers <jury> service")
    );
    assert_eq!(
        q.review.suggested_entry.as_deref(),
        Some("company-sick-pay")
    );
    assert_eq!(q.review.reviewed_by.as_deref(), Some("gail"));
    assert_eq!(q.review.state, "new", "tagged, not yet reviewed");

    let page = text(a.get(&format!("{path}?saved=1"), Some(&s.cookie)).await).await;
    assert!(page.contains("Saved."));
    assert!(page.contains("no entry covers &lt;jury&gt; service"));
    assert!(
        page.contains(r#"name="tag_content_gap" value="1" checked"#),
        "{page}"
    );
    assert!(page.contains(r#"value="jury service, pay""#), "{page}");
    assert!(page.contains(r#"<option value="company-sick-pay" selected"#));

    let tagged = text(a.get("/queue?tag=content%20gap", Some(&s.cookie)).await).await;
    assert!(tagged.contains(&format!("{path}\"")));
    assert!(tagged.contains("<span class=\"tag\">content gap</span>"));
    let other = text(a.get("/queue?tag=wrong%20answer", Some(&s.cookie)).await).await;
    assert_eq!(question_links(&other), 0);

    // Reviewed: out of the queue, still among all questions.
    let body = format!(
        "csrf={}&reviewed=1&tag_content_gap=1&suggested=company-sick-pay",
        s.csrf
    );
    assert_eq!(
        a.post(&path, Some(&s.cookie), &body).await.status(),
        StatusCode::SEE_OTHER
    );
    let queue = text(a.get("/queue", Some(&s.cookie)).await).await;
    assert!(!queue.contains(&format!("{path}\"")));
    assert!(queue.contains("The queue is empty."));
    let all = text(a.get("/queue?all=1", Some(&s.cookie)).await).await;
    assert!(all.contains(&format!("{path}\"")));
    let q = a.log.reader().with(|s| s.question(id)).unwrap().unwrap();
    assert_eq!(q.review.state, "reviewed");
    assert_eq!(q.review.tags, vec!["content gap"]);
    assert_eq!(q.review.note, None, "an empty note clears it");

    // Refusals: an entry that does not exist, a question that does not exist.
    let res = a
        .post(
            &path,
            Some(&s.cookie),
            &format!("csrf={}&suggested=no-such-entry", s.csrf),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = a
        .post(
            "/questions/999",
            Some(&s.cookie),
            &format!("csrf={}&reviewed=1", s.csrf),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn suggestions_become_a_yaml_snippet() {
    let a = app();
    a.reviewer("hana");
    let ids = [
        a.ask(SCRIPT_Q, "no_answer", None),
        a.ask("jury service and \"pay\": rules?", "no_answer", None),
        a.ask("sick note from a chiropractor?", "clarify", None),
        a.ask(CONTROL_Q, "no_answer", None),
    ];
    a.log.flush().await;
    let s = a.login("hana").await;
    let empty = text(a.get("/suggestions", Some(&s.cookie)).await).await;
    assert!(empty.contains("No suggestions yet"));
    for (id, entry) in ids.iter().zip([
        "company-sick-pay",
        "company-sick-pay",
        "fit-notes",
        "fit-notes",
    ]) {
        review_form(&a, &s, *id, &format!("suggested={entry}")).await;
    }
    let html = text(a.get("/suggestions", Some(&s.cookie)).await).await;
    let content = a.live.get().content().clone();
    assert!(html.contains(&esc(&content.entry("company-sick-pay").unwrap().title)));
    assert!(html.contains(&esc(&content.entry("fit-notes").unwrap().title)));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    assert!(html.contains("href=\"/suggestions?format=yaml\""));
    for id in ids {
        assert!(html.contains(&format!("/questions/{id}\"")));
    }

    let yaml = yaml_download(
        &a,
        &s,
        "/suggestions?format=yaml",
        "workhealth-suggestions.yaml",
    )
    .await;
    assert!(yaml.contains("company-sick-pay:\n  - \""), "{yaml}");
    let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed.len(), 2);
    let mut lines = parsed["company-sick-pay"].clone();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            SCRIPT_Q.to_string(),
            "jury service and \"pay\": rules?".into()
        ]
    );
    assert_eq!(
        parsed["fit-notes"],
        vec!["sick note from a chiropractor?", CONTROL_Q]
    );
    // No character YAML forbids is written raw (the probe's F9: DEL and C1 controls).
    assert!(
        !yaml
            .chars()
            .any(|c| c != '\n' && (c.is_control() || c == '\u{feff}')),
        "{yaml:?}"
    );
}

#[tokio::test]
async fn out_of_scope_marks_on_answered_questions_become_decline_only_examples() {
    let a = app();
    a.reviewer("ines");
    let answered = a.ask(
        "which till is best for a \"small\" café?",
        "answer",
        Some("fit-notes"),
    );
    let same = a.ask(
        "Which till  is best for a \"SMALL\" café?",
        "answer",
        Some("fit-notes"),
    );
    let clarified = a.ask("van lease or buy: what's cheaper", "clarify", None);
    let declined = a.ask("how do i register for vat", "no_answer", None);
    let untagged = a.ask("is jury service paid", "answer", Some("fit-notes"));
    let listed_text = a.live.get().content().off_topic[0].clone();
    let listed = a.ask(&listed_text, "answer", Some("fit-notes"));
    a.log.flush().await;
    let s = a.login("ines").await;
    let empty = text(a.get("/suggestions", Some(&s.cookie)).await).await;
    assert!(empty.contains("Should have been declined"), "{empty}");
    assert!(!empty.contains("format=decline-yaml"), "{empty}");
    for (id, tags) in [
        (answered, "tag_out_of_scope=1"),
        (same, "tag_out_of_scope=1"),
        (clarified, "tags=Out%20of%20Scope"),
        (declined, "tag_out_of_scope=1"),
        (untagged, "tag_content_gap=1"),
        (listed, "tag_out_of_scope=1"),
    ] {
        review_form(&a, &s, id, tags).await;
    }

    let html = text(a.get("/suggestions", Some(&s.cookie)).await).await;
    assert!(
        html.contains("href=\"/suggestions?format=decline-yaml\""),
        "{html}"
    );
    for id in [answered, same, clarified, listed] {
        assert!(html.contains(&format!("/questions/{id}\"")), "{id}: {html}");
    }
    for id in [declined, untagged] {
        assert!(
            !html.contains(&format!("/questions/{id}\"")),
            "{id}: {html}"
        );
    }
    assert!(html.contains("already in out-of-scope.yaml"), "{html}");
    // Nothing here is a `questions:` suggestion.
    assert!(html.contains("No suggestions yet"));

    let yaml = yaml_download(
        &a,
        &s,
        "/suggestions?format=decline-yaml",
        "workhealth-decline-only.yaml",
    )
    .await;
    assert!(yaml.contains("\ndecline_only:\n  - \""), "{yaml}");
    let parsed: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(
        parsed["decline_only"],
        vec![
            "which till is best for a \"small\" café?".to_string(),
            "van lease or buy: what's cheaper".into(),
        ],
        "{yaml}"
    );
    assert!(!yaml.contains("vat") && !yaml.contains("jury"), "{yaml}");

    // The `questions:` download is unchanged: no `decline_only:` in it.
    let yaml = text(a.get("/suggestions?format=yaml", Some(&s.cookie)).await).await;
    assert!(!yaml.contains("decline_only"), "{yaml}");
}

/// A question with DEL, a C1 control, a byte-order mark and a C0 control in it.
const CONTROL_Q: &str = "fit note\u{7f} from a \u{9b}physio\u{feff}\u{1}?";

#[tokio::test]
async fn the_groups_page_groups_similar_unanswered_questions() {
    let a = app();
    a.reviewer("ivan");
    let jury = [
        a.ask(
            "Do I have to pay an employee while they are on jury service?",
            "no_answer",
            None,
        ),
        a.ask(
            "Jury service - do I need to pay staff for the days they are away?",
            "clarify",
            None,
        ),
        a.ask(
            "email [email] about pay for jury service",
            "no_answer",
            None,
        ),
        a.ask(EMAIL_Q, "no_answer", None),
    ];
    let heat = [
        a.ask(
            "Is there a maximum temperature for working in an office?",
            "no_answer",
            None,
        ),
        a.ask(
            "office too hot in summer, what temperature is too hot to work?",
            "no_answer",
            None,
        ),
    ];
    // Other unanswered questions, sharing common words ("pay", "staff", "work") but not a
    // subject; they also give the term weights a realistic background.
    let mut lone: Vec<i64> = [
        "how much holiday does a part-time worker get",
        "Do I need a first aider?",
        "how do I pay staff who work nights",
        "an employee wants to work from home, do I have to agree",
        "can I pay staff less during a probation period",
        "my staff want to start a union",
        "what is the minimum wage for an apprentice",
        "how many toilets does a small workplace need",
        "can I ask staff to work on sunday",
        "is it legal to monitor staff emails",
        "how do I give an employee a written warning",
        "can an employee refuse to work overtime",
    ]
    .iter()
    .map(|q| a.ask(q, "no_answer", None))
    .collect();
    lone.push(a.ask("jury service answered already", "answer", Some("fit-notes")));
    a.log.flush().await;
    let s = a.login("ivan").await;
    let html = text(a.get("/groups", Some(&s.cookie)).await).await;
    let sections: Vec<&str> = html.split("<section class=\"group\">").skip(1).collect();
    assert_eq!(sections.len(), 2, "{html}");
    assert!(
        sections[0].starts_with("<h2>4 questions: "),
        "biggest first: {}",
        sections[0]
    );
    assert!(sections[0].contains("<span class=\"term\">jury</span>"));
    for id in jury {
        assert!(sections[0].contains(&format!("/questions/{id}\"")), "{id}");
    }
    for id in heat {
        assert!(sections[1].contains(&format!("/questions/{id}\"")), "{id}");
    }
    for id in lone {
        assert!(
            !html.contains(&format!("/questions/{id}\"")),
            "{id} is alone or answered"
        );
    }
    assert!(!html.contains("jane.doe"));
    let short = text(a.get("/groups?days=0", Some(&s.cookie)).await).await;
    assert!(
        short.contains("last 90 days"),
        "an out-of-range period falls back"
    );
}

#[tokio::test]
async fn the_csv_export_downloads_with_its_header() {
    let a = app();
    a.reviewer("jo");
    a.ask("=HYPERLINK(\"http://evil\")", "no_answer", None);
    a.ask(EMAIL_Q, "clarify", None);
    a.ask("fit notes", "answer", Some("fit-notes"));
    a.log.flush().await;
    let s = a.login("jo").await;
    let res = a.get("/export.csv?all=1", Some(&s.cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        res.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"workhealth-questions.csv\""
    );
    let csv = text(res).await;
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next().unwrap(), report::CSV_HEADER.join(","));
    assert_eq!(csv.trim_end().split("\r\n").count(), 4);
    assert!(csv.contains("'=HYPERLINK"), "formulas defused: {csv}");
    assert!(csv.contains("[email]") && !csv.contains("jane.doe"));
    // The queue's filters apply.
    let queue = text(a.get("/export.csv", Some(&s.cookie)).await).await;
    assert_eq!(queue.trim_end().split("\r\n").count(), 3, "{queue}");
    let clarify = text(a.get("/export.csv?outcome=clarify", Some(&s.cookie)).await).await;
    assert_eq!(clarify.trim_end().split("\r\n").count(), 2, "{clarify}");
    // The queue page links to the export of what it shows.
    let page = text(a.get("/queue?outcome=clarify", Some(&s.cookie)).await).await;
    assert!(
        page.contains("href=\"/export.csv?outcome=clarify\""),
        "{page}"
    );
}

#[tokio::test]
async fn reload_reports_the_new_digest_or_the_errors_and_keeps_good_content() {
    let a = app();
    a.reviewer("kim");
    let s = a.login("kim").await;
    let before = a.live.get().content().digest.clone();
    let res = a
        .post("/reload", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = text(res).await;
    assert!(
        html.contains("Content reloaded") && html.contains(&before),
        "{html}"
    );

    // Break the content copy: the reload fails, the overview says so, the old content stays.
    let file = a.content.path().join("guidance/absence/fit-notes.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, good.replacen("id: fit-notes", "id: [unclosed", 1)).unwrap();
    let res = a
        .post("/reload", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(res).await;
    assert!(
        html.contains("Reload failed") && html.contains("fit-notes.yaml"),
        "{html}"
    );
    assert_eq!(
        a.live.get().content().digest,
        before,
        "old content still live"
    );
    assert!(a.live.get().content().entry("fit-notes").is_some());
    let overview = text(a.get("/", Some(&s.cookie)).await).await;
    assert!(
        overview.contains("Live content is stale: the last reload failed."),
        "{overview}"
    );
    assert!(overview.contains("fit-notes.yaml"));

    // A real change reloads, and clears the banner.
    std::fs::write(&file, good.replacen("title: ", "title: Changed ", 1)).unwrap();
    let res = a
        .post("/reload", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let after = a.live.get().content().digest.clone();
    assert_ne!(after, before);
    assert!(text(res).await.contains(&after));
    let overview = text(a.get("/", Some(&s.cookie)).await).await;
    assert!(!overview.contains("Live content is stale"));
    assert!(overview.contains(&after));
}

#[tokio::test]
async fn the_overview_shows_figures_charts_and_tops() {
    let a = app();
    a.reviewer("lee");
    for _ in 0..3 {
        a.ask("fit notes?", "answer", Some("fit-notes"));
    }
    a.ask("company sick pay?", "answer", Some("company-sick-pay"));
    a.ask("nothing matches this", "no_answer", None);
    a.log.flush().await;
    let s = a.login("lee").await;
    let html = text(a.get("/", Some(&s.cookie)).await).await;
    assert!(html.contains("The last 30 days"));
    assert_eq!(html.matches("<svg").count(), 2, "two charts");
    assert!(html.contains("<rect"), "bars");
    assert!(html.contains("<circle"), "rate points");
    assert!(html.contains("<span class=\"n\">5</span>"), "{html}");
    assert!(
        html.contains("<span class=\"n\">20.0%</span>"),
        "unanswered share"
    );
    let content = a.live.get().content().clone();
    let fit = content.entry("fit-notes").unwrap();
    assert!(html.contains(&esc(&fit.title)));
    let topic = content.topic(&fit.topic).unwrap();
    assert!(
        html.contains(&format!(
            "<td>{}</td><td class=\"num\">4</td>",
            esc(&topic.title)
        )),
        "{html}"
    );
    assert!(html.contains("action=\"/reload\""));
    let ninety = text(a.get("/?days=90", Some(&s.cookie)).await).await;
    assert!(ninety.contains("The last 90 days"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let a = app();
    a.reviewer("mo");
    let id = a.ask(SCRIPT_Q, "no_answer", None);
    a.log.flush().await;
    let s = a.login("mo").await;
    let question = format!("/questions/{id}");
    let mut responses = vec![
        ("login".to_string(), a.get("/login", None).await),
        ("redirect".into(), a.get("/", None).await),
        ("healthz".into(), a.get("/healthz", None).await),
        ("css".into(), a.get("/style.css", None).await),
        (
            "refused".into(),
            a.post("/reload", Some(&s.cookie), "").await,
        ),
    ];
    for path in GET_ROUTES.iter().copied().chain([question.as_str()]) {
        responses.push((path.to_string(), a.get(path, Some(&s.cookie)).await));
    }
    for (what, res) in responses {
        let h = res.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CSP, "{what}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{what}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{what}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
        let is_css = what == "css";
        if !is_css {
            assert_eq!(h[header::CACHE_CONTROL], "no-store", "{what}");
        }
        let html = h
            .get(header::CONTENT_TYPE)
            .is_some_and(|c| c.to_str().unwrap().starts_with("text/html"));
        let body = text(res).await;
        if html {
            assert!(!body.contains("<script"), "{what}: no scripts");
            assert!(!body.contains("style="), "{what}: no inline styles");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{what}: no outside assets"
            );
            assert!(body.contains("<meta name=\"viewport\""), "{what}");
        }
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    let a = app();
    a.reviewer("nia");
    let s = a.login("nia").await;
    let res = a
        .post("/logout", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/login");
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("wh_session=;") && c.contains("Max-Age=0"))
    );
    assert_redirects_to_login(&a.get("/", Some(&s.cookie)).await, "after logout");
    let res = a
        .post("/reload", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_or_removed_session_is_refused() {
    let a = app();
    a.reviewer("oli");
    let token = "c".repeat(64);
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    a.log
        .accounts()
        .with(|s| {
            s.put_session(&Session {
                token_hash: hash.clone(),
                reviewer: "oli".into(),
                csrf: "d".repeat(64),
                expires_at: Utc::now() - chrono::Duration::seconds(1),
            })
        })
        .unwrap();
    assert_redirects_to_login(
        &a.get("/", Some(&format!("wh_session={token}"))).await,
        "expired",
    );
    assert!(
        a.log.reader().with(|s| s.session(&hash)).unwrap().is_none(),
        "and removed"
    );
    // Removing a reviewer ends their sessions.
    let s = a.login("oli").await;
    assert!(a.log.accounts().with(|s| s.remove_reviewer("oli")).unwrap());
    assert_redirects_to_login(&a.get("/", Some(&s.cookie)).await, "reviewer removed");
}

fn reviewers(data: &Path, args: &[&str], stdin: &str) -> common::Run {
    let data = data.to_str().unwrap();
    let mut all = vec!["--data", data, "reviewers"];
    all.extend_from_slice(args);
    common::run_with_stdin(&all, stdin)
}

#[test]
fn the_reviewers_commands_add_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let r = reviewers(data, &["add", "alice"], &format!("{PASSWORD}\n"));
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "added reviewer alice\n"),
        "{}",
        r.stderr
    );
    let r = reviewers(data, &["add", "alice"], "another long password\r\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("updated reviewer alice"),
        "{}",
        r.stdout
    );
    let r = reviewers(data, &["add", "bob"], "short\n");
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("too short") && r.stderr.contains("at least 12"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    let r = reviewers(data, &["add", "bad name"], &format!("{PASSWORD}\n"));
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not a valid name"), "{}", r.stderr);

    let r = reviewers(data, &["list"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let today = Utc::now().date_naive().to_string();
    assert_eq!(r.stdout, format!("alice\tadded {today}\n"));
    assert!(!r.stdout.contains("argon2"));

    // The hash in the store is argon2id and matches the piped password.
    {
        let log = Log::open(data, LogOptions::default()).unwrap();
        let a = log.reader().with(|s| s.reviewer("alice")).unwrap().unwrap();
        assert!(a.password_hash.starts_with("$argon2id$"));
        assert!(accounts::verify_password(
            "another long password",
            &a.password_hash
        ));
        assert!(!accounts::verify_password(PASSWORD, &a.password_hash));
        log.close();
    }

    // `unlock` ends a login back-off; `list` shows it first.
    {
        let log = Log::open(data, LogOptions::default()).unwrap();
        let until = Utc::now() + chrono::Duration::minutes(10);
        assert!(
            log.accounts()
                .with(|s| s.swap_login_failures("alice", (0, None), (7, Some(until))))
                .unwrap()
        );
        log.close();
    }
    let r = reviewers(data, &["list"], "");
    assert!(
        r.stdout.contains("login paused until") && r.stdout.contains("after 7 failed logins"),
        "{}",
        r.stdout
    );
    let r = reviewers(data, &["unlock", "alice"], "");
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "unlocked reviewer alice (failed logins cleared)\n"),
        "{}",
        r.stderr
    );
    let r = reviewers(data, &["list"], "");
    assert_eq!(r.stdout, format!("alice\tadded {today}\n"));
    let r = reviewers(data, &["unlock", "nobody"], "");
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("no reviewer called `nobody`"),
        "{}",
        r.stderr
    );

    let r = reviewers(data, &["remove", "alice"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = reviewers(data, &["remove", "alice"], "");
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("no reviewer called `alice`"),
        "{}",
        r.stderr
    );
    let r = reviewers(data, &["list"], "");
    assert!(r.stdout.contains("no reviewers yet"), "{}", r.stdout);
}

#[tokio::test]
async fn the_overview_lists_entries_past_their_review_by_date() {
    let a = app();
    a.reviewer("kim");
    let s = a.login("kim").await;
    let overview = text(a.get("/", Some(&s.cookie)).await).await;
    assert!(overview.contains("Due for review"), "{overview}");
    let due_before = a
        .live
        .get()
        .content()
        .due_for_review(Utc::now().date_naive())
        .len();

    let file = a.content.path().join("guidance/absence/fit-notes.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let yaml = match yaml.find("\nreview_by:") {
        Some(i) => {
            let end = yaml[i + 1..].find('\n').map_or(yaml.len(), |j| i + 1 + j);
            format!("{}\nreview_by: 2020-01-01{}", &yaml[..i], &yaml[end..])
        }
        None => yaml.replacen("\nreviewed:", "\nreview_by: 2020-01-01\nreviewed:", 1),
    };
    std::fs::write(&file, yaml).unwrap();
    let res = a
        .post("/reload", Some(&s.cookie), &format!("csrf={}", s.csrf))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", text(res).await);
    let content = a.live.get().content().clone();
    let due = content.due_for_review(Utc::now().date_naive());
    assert_eq!(due.len(), due_before + 1);
    let overview = text(a.get("/", Some(&s.cookie)).await).await;
    let section = &overview[overview.find("Due for review").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("fit-notes"), "{section}");
    assert!(section.contains("2020-01-01"), "{section}");
    assert!(
        section.contains(&esc(&content.entry("fit-notes").unwrap().title)),
        "{section}"
    );
}

#[tokio::test]
async fn a_review_save_on_a_full_disk_answers_within_seconds() {
    use workhealth::log::sqlite::SqliteStore;
    use workhealth::log::store::{Store, WriteOp};
    let pseudonym = || workhealth::log::Pseudonymiser::from_secret([3; 32]);
    // The question is there already (written before the disk filled).
    let q = NewQuestion {
        id: 77,
        asked_at: Utc::now(),
        user: pseudonym().key("telegram", 5),
        region: None,
        channel: "telegram".into(),
        text: "is jury service paid?".into(),
        outcome: workhealth::log::Outcome::NoAnswer,
        results: vec![],
        shown_id: None,
        content_digest: "d".into(),
        reply_text: None,
    };
    let a = app_on(move |data| {
        let db = data.join(workhealth::log::DB_FILE);
        let mut writer = SqliteStore::open(&db).unwrap();
        let mut reader = SqliteStore::open(&db).unwrap();
        reader.apply(&[WriteOp::Insert(Box::new(q))]).unwrap();
        // The writer's connection cannot grow the file: the disk is full.
        writer
            .limit_pages(Some(writer.page_count().unwrap()))
            .unwrap();
        Log::with_stores(
            Box::new(writer),
            Box::new(reader),
            pseudonym(),
            LogOptions {
                close_deadline: Duration::from_secs(1),
                ..Default::default()
            },
        )
    });
    a.reviewer("gail");
    let s = a.login("gail").await;
    // Questions keep arriving and cannot be written: the writer is retrying.
    for i in 0..20 {
        a.ask(&format!("{} {i}", "z".repeat(3000)), "no_answer", None);
    }
    let t = Instant::now();
    while a
        .log
        .health()
        .write_errors
        .load(std::sync::atomic::Ordering::SeqCst)
        < 1
    {
        assert!(t.elapsed() < Duration::from_secs(10), "no write error seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    let res = a
        .post(
            "/questions/77",
            Some(&s.cookie),
            &format!("csrf={}&reviewed=1&note={}", s.csrf, "x".repeat(3000)),
        )
        .await;
    let took = t.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(took < Duration::from_secs(8), "{took:?}");
    let html = text(res).await;
    assert!(html.contains("cannot be written just now"), "{html}");
    assert!(
        !html.contains("sqlite3") && !html.contains("/tmp"),
        "{html}"
    );
}

/// The probe's F1: 50 connections posting to /login for 20 s, with the bot answering a question
/// every half second meanwhile. Run with
/// `cargo test --release --locked --test it -- --ignored --nocapture login_flood`. By default every
/// request uses a new name and a new forwarded address, so neither back-off refuses it and each
/// one that gets a slot runs argon2: the worst case for memory. `WORKHEALTH_FLOOD=same` sends
/// the probe's own flood instead (one name, one address). Prints the serve process's peak
/// resident memory (VmHWM) and the bot's reply times, and fails above 250 MB or if the bot
/// stops answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn login_flood_keeps_memory_flat() {
    let seconds: u64 = std::env::var("WORKHEALTH_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let same = std::env::var("WORKHEALTH_FLOOD").is_ok_and(|v| v == "same");
    let s = common::serve::Serve::start(&["--throttle", "off"]).await;
    let pid = s.child.id();
    let base = s.http.clone();
    let status = |field: &str| -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    };
    let idle = status("VmRSS:");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(seconds);
    let counts = Arc::new(std::sync::Mutex::new(BTreeMap::<u16, u64>::new()));
    let workers: Vec<_> = (0..50u32)
        .map(|w| {
            let (client, base, counts) = (client.clone(), base.clone(), counts.clone());
            tokio::spawn(async move {
                let mut n = 0u32;
                while Instant::now() < end {
                    n += 1;
                    let form = client.get(format!("{base}/login")).send().await.unwrap();
                    let token = form
                        .headers()
                        .get_all(header::SET_COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .find_map(|c| c.strip_prefix("wh_login="))
                        .and_then(|c| c.split(';').next())
                        .unwrap()
                        .to_string();
                    let mut req = client
                        .post(format!("{base}/login"))
                        .header(header::COOKIE, format!("wh_login={token}"))
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                    let name = if same {
                        "mallory".to_string()
                    } else {
                        req = req.header(
                            "x-forwarded-for",
                            format!("10.{}.{}.{}", w, n / 250, n % 250),
                        );
                        format!("flood-{w}-{n}")
                    };
                    let res = req
                        .body(format!("csrf={token}&name={name}&password=guess"))
                        .send()
                        .await;
                    let code = res.map(|r| r.status().as_u16()).unwrap_or(0);
                    *counts.lock().unwrap().entry(code).or_default() += 1;
                }
            })
        })
        .collect();
    // The bot, meanwhile: a question from a new chat every half second.
    let mut peak_during = 0;
    let mut replies = Vec::new();
    let mut chat = 7_000_000;
    while Instant::now() < end {
        chat += 1;
        let t = Instant::now();
        s.fake.send_text(chat, "how do I pay statutory sick pay");
        s.fake.wait_sent_to(chat, 1, Duration::from_secs(10)).await;
        replies.push(t.elapsed());
        peak_during = peak_during.max(status("VmRSS:"));
        tokio::time::sleep(Duration::from_millis(500).saturating_sub(t.elapsed())).await;
    }
    for w in workers {
        w.await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hwm = status("VmHWM:");
    let after = status("VmRSS:");
    replies.sort();
    println!(
        "login flood ({}): 50 connections, {seconds} s, responses {:?}; RSS idle {} MB, peak sampled {} MB, VmHWM {} MB, 2 s after {} MB; bot answered {} of {} questions, reply p50 {:?} max {:?}",
        if same {
            "one name, one address"
        } else {
            "a new name and address each"
        },
        counts.lock().unwrap(),
        idle / 1024,
        peak_during / 1024,
        hwm / 1024,
        after / 1024,
        replies.len(),
        replies.len(),
        replies[replies.len() / 2],
        replies[replies.len() - 1],
    );
    assert!(hwm < 250 * 1024, "peak RSS {} MB", hwm / 1024);
}
