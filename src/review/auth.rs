//! Login, logout and sessions.
//!
//! - A session is 32 random bytes, hex, in the `wh_session` cookie (HttpOnly, SameSite=Strict,
//!   8 hours); the store keeps only its SHA-256, with the expiry and the session's CSRF token.
//! - The login form carries a token the server signed ([`csrf::login_token`]), both as the
//!   `wh_login` cookie and in the form; a pair the client made up is refused.
//! - Every attempt is counted as a failure *before* its password is checked (compare and set
//!   in the store for a reviewer, a locked table in memory for a name that is not one), so
//!   parallel guesses cannot slip past the count. Failures back off per account name and per
//!   client address ([`super::backoff`]): a few are free, then each needs a wait that doubles (30 s up
//!   to 15 minutes), and one failure is forgiven for every 5 quiet minutes, so the back-off
//!   decays instead of locking for good. A success clears the account's count; `reviewers
//!   unlock NAME` does too. A failed attempt also sleeps 250 ms per failure (at most 2 s).
//! - Only a few argon2 checks run at once ([`login_slots`]); a login that cannot get a slot
//!   within 5 s is told to come back. Their 19 MiB work buffers are reused
//!   ([`password::verify_password`]), so a login flood cannot grow memory.
//! - Unknown names are counted the same way and verified against a dummy hash, and every
//!   refusal takes at least [`REFUSAL_FLOOR`], so neither timing nor the back-off reveals which
//!   names exist.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use axum::Form;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::backoff::{ACCOUNT, ADDRESS, ADDRESSES, Failures, UNKNOWN, client_addr};
use super::{AppError, Nav, PUBLIC, csrf, layout, page, password, short_page, with_accounts};
use crate::log::store::Session;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "wh_session";
pub const LOGIN_COOKIE: &str = "wh_login";
pub const SESSION_HOURS: i64 = 8;
const SLOWDOWN_STEP: Duration = Duration::from_millis(250);
const SLOWDOWN_MAX: Duration = Duration::from_secs(2);
/// Largest form body a POST may carry.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The logged-in reviewer, put in the request by [`require_session`].
#[derive(Debug, Clone)]
pub struct Authed {
    pub reviewer: String,
    pub csrf: String,
    pub token_hash: String,
}

fn is_read(m: &Method) -> bool {
    m == Method::GET || m == Method::HEAD
}

/// The value of one cookie in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Authed>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| is_token(t)) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let now = Utc::now();
    let found = {
        let hash = hash.clone();
        with_accounts(state, move |s| {
            let found = s.session(&hash)?;
            if found.as_ref().is_some_and(|x| x.expires_at <= now) {
                s.remove_session(&hash)?;
                return Ok(None);
            }
            Ok(found)
        })
        .await?
    };
    Ok(found.map(|s| Authed {
        reviewer: s.reviewer,
        csrf: s.csrf,
        token_hash: hash,
    }))
}

/// The guard around every route: public paths pass; others need a live session (a GET is
/// sent to `/login`, anything else refused), and every POST its session's CSRF token.
pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if PUBLIC.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let authed = match session_of(&state, req.headers()).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let Some(authed) = authed else {
        if is_read(req.method()) {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
        }
        return short_page(
            StatusCode::FORBIDDEN,
            "Not logged in",
            "Log in first: this needs a reviewer's session.",
        );
    };
    let mut req = req;
    if !is_read(req.method()) {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return short_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    "The form is too large.",
                );
            }
        };
        let given = csrf::form_field(&bytes, csrf::FIELD);
        if !csrf::matches(given.as_deref(), &authed.csrf) {
            tracing::warn!(path = %parts.uri.path(), "review app: a POST without its CSRF token refused");
            return short_page(
                StatusCode::FORBIDDEN,
                "Refused",
                "This form's security token is missing or out of date. Go back, reload the page and try again.",
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(authed);
    next.run(req).await
}

fn login_page(status: StatusCode, token: &str, name: &str, message: Option<&str>) -> Response {
    page(
        status,
        layout(
            "Log in",
            None,
            Nav::None,
            html! {
                h1 { "Log in" }
                @if let Some(m) = message {
                    p.notice.error role="alert" { (m) }
                }
                form.login method="post" action="/login" {
                    input type="hidden" name="csrf" value=(token);
                    label { "Name" input type="text" name="name" value=(name) autocomplete="username" required autofocus; }
                    label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { "Log in" }
                }
            },
        ),
    )
}

fn set_cookie(res: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The secret login tokens are signed with (derived from the pseudonymisation key, so
/// replicas sharing that key accept each other's forms).
fn login_key(state: &AppState) -> [u8; 32] {
    state.log.derived_secret("review app login form")
}

fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// The login form. A signed `wh_login` token the browser already has is kept while it has
/// more than half its life left, so a second load (another tab, or the browser's own favicon
/// request redirected here) does not invalidate a form already open.
pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let key = login_key(&state);
    let now = unix_now();
    let kept = cookie(&headers, LOGIN_COOKIE).filter(|t| {
        csrf::login_token_age(&key, t, now).is_some_and(|a| a < csrf::LOGIN_TOKEN_SECS / 2)
    });
    let token = match kept {
        Some(t) => t.to_string(),
        None => match csrf::login_token(&key, now) {
            Ok(t) => t,
            Err(e) => return AppError::Random(e).into_response(),
        },
    };
    let mut res = login_page(StatusCode::OK, &token, "", None);
    set_cookie(
        &mut res,
        format!(
            "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age={}",
            csrf::LOGIN_TOKEN_SECS
        ),
    );
    res
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// Password checks allowed to run at once: each takes 19 MiB and a core for tens of
/// milliseconds.
pub fn login_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4)
}
static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(login_slots()));
/// How long a login waits for a slot before it is told to come back later.
const SLOT_WAIT: Duration = Duration::from_secs(5);
/// Every refusal (back-off, busy) takes at least this long, whatever was looked up, so the
/// time of a refusal says nothing about whether the name exists.
const REFUSAL_FLOOR: Duration = Duration::from_millis(300);

/// A hash to verify against when the name is unknown, so the reply takes as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password::hash_password("no reviewer has this password").unwrap_or_default());

/// Computes the dummy hash in the background at start, so the first unknown name does not
/// take longer than the others.
pub fn warm_up() {
    std::thread::spawn(|| {
        LazyLock::force(&DUMMY_HASH);
    });
}

fn slowdown(failures: u32) -> Duration {
    (SLOWDOWN_STEP * failures).min(SLOWDOWN_MAX)
}

/// An attempt counted against its account before the password is checked.
enum Reserved {
    /// The account is backing off: wait this long.
    Refused(chrono::Duration),
    Known {
        hash: String,
        before: Failures,
        after: Failures,
    },
    Unknown {
        after: Failures,
    },
}

/// Counts the attempt against the account: atomically in the store for a reviewer (compare
/// and set, retried), in memory for a name that is not one.
fn reserve_account(
    log: &crate::log::Log,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Reserved, crate::log::LogError> {
    if password::valid_name(name) {
        // One closure holds the accounts handle's lock (one count at a time in this
        // process); the compare and set covers other processes sharing the store.
        let known = log.accounts().with(|s| {
            for _ in 0..20 {
                let Some(r) = s.reviewer(name)? else {
                    return Ok(None);
                };
                let before = (r.failed_logins, r.locked_until);
                let after = match ACCOUNT.reserve(before, now) {
                    Ok(a) => a,
                    Err(wait) => return Ok(Some(Reserved::Refused(wait))),
                };
                if s.swap_login_failures(name, before, after)? {
                    return Ok(Some(Reserved::Known {
                        hash: r.password_hash,
                        before,
                        after,
                    }));
                }
            }
            // Others keep changing the count: this many at once is an attack anyway.
            Ok(Some(Reserved::Refused(chrono::Duration::seconds(1))))
        })?;
        if let Some(k) = known {
            return Ok(k);
        }
    }
    match UNKNOWN.reserve(&ACCOUNT, &name.to_string(), now) {
        Ok((_, after)) => Ok(Reserved::Unknown { after }),
        Err(wait) => Ok(Reserved::Refused(wait)),
    }
}

/// "2 minutes", "45 seconds".
fn how_long(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(1);
    if s >= 90 {
        format!("{} minutes", (s + 59) / 60)
    } else {
        format!("{s} seconds")
    }
}

/// A refusal, sent no sooner than [`REFUSAL_FLOOR`] after the request arrived.
async fn refuse(
    started: Instant,
    token: &str,
    name: &str,
    wait: chrono::Duration,
    msg: String,
) -> Response {
    let floor = started + REFUSAL_FLOOR;
    tokio::time::sleep_until(floor).await;
    let mut res = login_page(StatusCode::TOO_MANY_REQUESTS, token, name, Some(&msg));
    if let Ok(v) = HeaderValue::from_str(&wait.num_seconds().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ext: Extensions,
    form: Form<LoginForm>,
) -> Response {
    let started = Instant::now();
    let form = form.0;
    let key = login_key(&state);
    let signed = csrf::login_token_age(&key, &form.csrf, unix_now()).is_some();
    if !signed
        || !csrf::matches(
            Some(&form.csrf),
            cookie(&headers, LOGIN_COOKIE).unwrap_or(""),
        )
    {
        return short_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "The login form has expired. Open the login page again and retry.",
        );
    }
    let name: String = form.name.trim().chars().take(64).collect();
    let password = form.password;
    let now = Utc::now();

    // 1. The client address backs off over every name it tries.
    let addr = client_addr(&headers, &ext);
    if let Some(a) = addr
        && let Err(wait) = ADDRESSES.reserve(&ADDRESS, &a, now)
    {
        tracing::warn!(reviewer = %name, "review app: login refused: too many failures from this address");
        return refuse(
            started,
            &form.csrf,
            &name,
            wait,
            format!(
                "Too many failed logins from here. Try again in {}.",
                how_long(wait)
            ),
        )
        .await;
    }
    let release_addr = || {
        if let Some(a) = addr {
            ADDRESSES.release(&a);
        }
    };

    // 2. The account: counted as a failure before the password is checked.
    let reserved = {
        let (log, name) = (state.log.clone(), name.clone());
        tokio::task::spawn_blocking(move || reserve_account(&log, &name, now)).await
    };
    let reserved = match reserved {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            release_addr();
            return AppError::Store(e).into_response();
        }
        Err(e) => {
            release_addr();
            return AppError::task("the login task")(e).into_response();
        }
    };
    let (hash, failures) = match &reserved {
        Reserved::Refused(wait) => {
            release_addr();
            tracing::warn!(reviewer = %name, "review app: login refused: the account is backing off");
            return refuse(
                started,
                &form.csrf,
                &name,
                *wait,
                format!(
                    "Too many failed logins: this account is paused. Try again in {}.",
                    how_long(*wait)
                ),
            )
            .await;
        }
        Reserved::Known { hash, after, .. } => (Some(hash.clone()), after.0),
        Reserved::Unknown { after, .. } => (None, after.0),
    };

    // 3. A slot: only a few password checks run at once.
    let permit = match tokio::time::timeout(SLOT_WAIT, SLOTS.acquire()).await {
        Ok(Ok(p)) => p,
        _ => {
            release_addr();
            unreserve(&state, &name, reserved, now).await;
            tracing::warn!("review app: login refused: too many logins at once");
            return refuse(
                started,
                &form.csrf,
                &name,
                chrono::Duration::seconds(5),
                "Too many logins at once. Try again in a few seconds.".into(),
            )
            .await;
        }
    };
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match hash {
            Some(h) => password::verify_password(&password, &h),
            None => {
                let _ = password::verify_password(&password, &DUMMY_HASH);
                false
            }
        }
    })
    .await
    .unwrap_or(false);

    if !ok {
        tracing::warn!(reviewer = %name, failures, "review app: failed login");
        tokio::time::sleep(slowdown(failures)).await;
        let wait = ACCOUNT.wait(failures);
        let msg = if wait > chrono::Duration::zero() {
            format!(
                "Wrong name or password. Too many failed logins: this account is paused for {}.",
                how_long(wait)
            )
        } else {
            "Wrong name or password.".to_string()
        };
        return login_page(StatusCode::UNAUTHORIZED, &form.csrf, &name, Some(&msg));
    }
    release_addr();
    match start_session(&state, &name, now).await {
        Ok(token) => {
            tracing::info!(reviewer = %name, "review app: logged in");
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            set_cookie(
                &mut res,
                format!(
                    "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                    SESSION_HOURS * 3600
                ),
            );
            set_cookie(
                &mut res,
                format!("{LOGIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0"),
            );
            res
        }
        Err(e) => e.into_response(),
    }
}

/// Takes back an attempt counted against an account whose password was never checked.
async fn unreserve(state: &AppState, name: &str, reserved: Reserved, _now: DateTime<Utc>) {
    match reserved {
        Reserved::Known { before, after, .. } => {
            let (log, name) = (state.log.clone(), name.to_string());
            let _ = tokio::task::spawn_blocking(move || {
                log.accounts()
                    .with(|s| s.swap_login_failures(&name, after, before))
            })
            .await;
        }
        Reserved::Unknown { .. } => UNKNOWN.release(&name.to_string()),
        Reserved::Refused(_) => {}
    }
}

/// Clears the failures, stores a new session and returns its token (for the cookie only).
async fn start_session(
    state: &AppState,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = csrf::random_token()?;
    let session = Session {
        token_hash: token_hash(&token),
        reviewer: name.to_string(),
        csrf: csrf::random_token()?,
        expires_at: now + chrono::Duration::hours(SESSION_HOURS),
    };
    let name = name.to_string();
    with_accounts(state, move |s| {
        s.clear_login_failures(&name)?;
        s.purge_sessions(now)?;
        s.put_session(&session)
    })
    .await?;
    Ok(token)
}

pub async fn logout(
    State(state): State<AppState>,
    axum::Extension(who): axum::Extension<Authed>,
) -> Result<Response, AppError> {
    let hash = who.token_hash.clone();
    with_accounts(&state, move |s| s.remove_session(&hash)).await?;
    tracing::info!(reviewer = %who.reviewer, "review app: logged out");
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    set_cookie(
        &mut res,
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowdown_grows_and_is_capped() {
        assert_eq!(slowdown(1), Duration::from_millis(250));
        assert_eq!(slowdown(4), Duration::from_secs(1));
        assert_eq!(slowdown(8), Duration::from_secs(2));
        assert_eq!(slowdown(100), Duration::from_secs(2));
    }

    #[test]
    fn cookies_are_found() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; wh_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("wh_login=xyz"));
        assert_eq!(cookie(&h, "wh_session"), Some("abc"));
        assert_eq!(cookie(&h, "wh_login"), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
