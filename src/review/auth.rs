//! Login, logout and sessions.
//!
//! - A session is 32 random bytes, hex, in the `wh_session` cookie (HttpOnly, SameSite=Strict,
//!   8 hours); the store keeps only its SHA-256, with the expiry and the session's CSRF token.
//! - The login form is protected by a double-submit token: `GET /login` sets a random
//!   `wh_login` cookie and puts the same value in the form.
//! - A failed login sleeps 250 ms per consecutive failure (at most 2 s); the fifth in a row
//!   locks the account for 15 minutes, during which even the right password is refused.
//!   Unknown names get the same treatment from an in-memory table, and a dummy argon2
//!   verification, so neither timing nor the lockout reveals which names exist.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::Form;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AppError, Nav, PUBLIC, accounts, csrf, layout, page, short_page, with_store};
use crate::log::store::Session;
use crate::serve::AppState;

pub const SESSION_COOKIE: &str = "wh_session";
pub const LOGIN_COOKIE: &str = "wh_login";
pub const SESSION_HOURS: i64 = 8;
/// Failed logins in a row that lock an account.
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_MINUTES: i64 = 15;
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
        with_store(state, move |s| {
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

/// The login form. The browser's `wh_login` token is kept when it has one, so a second load
/// (another tab, or the browser's own favicon request redirected here) does not invalidate a
/// form already open.
pub async fn login_form(headers: HeaderMap) -> Response {
    let token = match cookie(&headers, LOGIN_COOKIE).filter(|t| is_token(t)) {
        Some(t) => t.to_string(),
        None => match csrf::random_token() {
            Ok(t) => t,
            Err(e) => return AppError::Internal(e).into_response(),
        },
    };
    let mut res = login_page(StatusCode::OK, &token, "", None);
    set_cookie(
        &mut res,
        format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"),
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

/// Consecutive failures, and the end of a lock.
type Failures = (u32, Option<DateTime<Utc>>);

/// Failed logins of names that are not accounts, so they lock out like real ones.
static UNKNOWN: LazyLock<Mutex<HashMap<String, Failures>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const UNKNOWN_MAX: usize = 10_000;

/// A hash to verify against when the name is unknown, so the reply takes as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| accounts::hash_password("no reviewer has this password").unwrap_or_default());

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

enum Verdict {
    Ok,
    Wrong { failures: u32 },
    Locked,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Form<LoginForm>,
) -> Response {
    let form = form.0;
    if !csrf::matches(
        Some(&form.csrf),
        cookie(&headers, LOGIN_COOKIE).unwrap_or(""),
    ) {
        return short_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "The login form has expired. Open the login page again and retry.",
        );
    }
    let name: String = form.name.trim().chars().take(64).collect();
    let password = form.password;
    let now = Utc::now();
    let verdict = {
        let name = name.clone();
        let log = state.log.clone();
        tokio::task::spawn_blocking(move || -> Result<Verdict, crate::log::LogError> {
            let known = if accounts::valid_name(&name) {
                log.reader().with(|s| s.reviewer(&name))?
            } else {
                None
            };
            match known {
                Some(r) => {
                    if r.locked_until.is_some_and(|t| t > now) {
                        return Ok(Verdict::Locked);
                    }
                    if accounts::verify_password(&password, &r.password_hash) {
                        return Ok(Verdict::Ok);
                    }
                    let failures = r.failed_logins + 1;
                    let lock = (failures >= LOCK_AFTER)
                        .then(|| now + chrono::Duration::minutes(LOCK_MINUTES));
                    log.reader().with(|s| s.record_login_failure(&name, lock))?;
                    Ok(Verdict::Wrong { failures })
                }
                None => {
                    let _ = accounts::verify_password(&password, &DUMMY_HASH);
                    let mut table = UNKNOWN.lock().unwrap_or_else(|p| p.into_inner());
                    if table.len() >= UNKNOWN_MAX {
                        table.clear();
                    }
                    let entry = table.entry(name).or_insert((0, None));
                    if entry.1.is_some_and(|t| t > now) {
                        return Ok(Verdict::Locked);
                    }
                    entry.0 += 1;
                    if entry.0 >= LOCK_AFTER {
                        entry.1 = Some(now + chrono::Duration::minutes(LOCK_MINUTES));
                    }
                    Ok(Verdict::Wrong { failures: entry.0 })
                }
            }
        })
        .await
    };
    let verdict = match verdict {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return AppError::Store(e).into_response(),
        Err(e) => return AppError::Internal(format!("login task failed: {e}")).into_response(),
    };
    match verdict {
        Verdict::Locked => {
            tracing::warn!(reviewer = %name, "review app: login to a locked account refused");
            login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &form.csrf,
                &name,
                Some(&format!(
                    "Too many failed logins: this account is locked for a while (up to {LOCK_MINUTES} minutes). Try again later."
                )),
            )
        }
        Verdict::Wrong { failures } => {
            tracing::warn!(reviewer = %name, failures, "review app: failed login");
            tokio::time::sleep(slowdown(failures)).await;
            let msg = if failures >= LOCK_AFTER {
                format!(
                    "Wrong name or password. Too many failed logins: this account is now locked for {LOCK_MINUTES} minutes."
                )
            } else {
                "Wrong name or password.".to_string()
            };
            login_page(StatusCode::UNAUTHORIZED, &form.csrf, &name, Some(&msg))
        }
        Verdict::Ok => match start_session(&state, &name, now).await {
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
        },
    }
}

/// Clears the failures, stores a new session and returns its token (for the cookie only).
async fn start_session(
    state: &AppState,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = csrf::random_token().map_err(AppError::Internal)?;
    let session = Session {
        token_hash: token_hash(&token),
        reviewer: name.to_string(),
        csrf: csrf::random_token().map_err(AppError::Internal)?,
        expires_at: now + chrono::Duration::hours(SESSION_HOURS),
    };
    let name = name.to_string();
    with_store(state, move |s| {
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
    with_store(&state, move |s| s.remove_session(&hash)).await?;
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
