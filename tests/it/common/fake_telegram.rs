//! A fake Telegram Bot API server, so tests run the real teloxide client over HTTP.
//!
//! It serves `/bot<TOKEN>/<method>` on 127.0.0.1 and refuses what Telegram refuses (HTML that does
//! not parse, empty or over-long text, bad inline buttons, unknown chats, messages and callback
//! queries, unchanged edits, bad commands) with Telegram's HTTP status, `error_code` and
//! description, so a test fails the way production would. Faults (429, 5xx, dropped
//! connections) can be queued per method.
//!
//! Updates can also be pushed as raw JSON text ([`FakeTelegram::push_raw`]), which may be JSON
//! that no parser accepts (a lone UTF-16 surrogate, nesting too deep), as a broken or hostile
//! Bot API could send; getUpdates then splices that text into its answer as it is.
//!
//! Chats become known when an update from them is pushed, as Telegram only lets a bot write to
//! chats it has heard from. Message ids are counted per chat, shared by users and the bot.
//!
//! Deliberate differences from Telegram, all stricter or simpler:
//! - in HTML text a `&` that starts no supported entity (`Tom & Jerry`, `&nbsp;`) is refused;
//!   Telegram shows it literally;
//! - `Markdown`/`MarkdownV2` are refused (the fake checks only HTML);
//! - `allowed_updates` filters updates when they are delivered, not when they are created.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::any;
use axum::serve::{IncomingStream, Listener};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

const BOT_ID: i64 = 4242;
/// In a queued update: the raw JSON text of its fields, and its kind (see `push_raw`).
const RAW: &str = "__raw__";
const RAW_KIND: &str = "__kind__";
const BOT_USERNAME: &str = "workhealth_test_bot";
/// Who presses buttons in group chats (in private chats it is the chat's user).
const GROUP_PRESSER: i64 = 1000;
/// Telegram's limit on message text after entity parsing, in UTF-16 code units.
const MAX_TEXT: usize = 4096;
const TAGS: &str =
    "a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote";
/// The methods served; a request may spell them in any case (teloxide sends `SendMessage`).
const METHODS: &str = "getMe getUpdates sendMessage editMessageText editMessageReplyMarkup \
    answerCallbackQuery setMyCommands getMyCommands deleteMyCommands setWebhook deleteWebhook \
    getWebhookInfo sendChatAction";
/// Inline button kinds besides `url` and `callback_data`, accepted as they are.
const OTHER_BUTTONS: &str = "login_url switch_inline_query switch_inline_query_current_chat \
    switch_inline_query_chosen_chat copy_text web_app callback_game pay";
const ACTIONS: &str = "typing upload_photo record_video upload_video record_voice upload_voice \
    upload_document choose_sticker find_location record_video_note upload_video_note";
/// Update kinds Telegram sends only when `allowed_updates` names them.
const OPT_IN_UPDATES: &str = "chat_member message_reaction message_reaction_count";
const TEXT_BUTTON: &str =
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard";
const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply \
    markup are exactly the same as a current content and reply markup of the message";
const BAD_QUERY: &str = "query is too old and response timeout expired or query ID is invalid";
const CONFLICT: &str = "Conflict: terminated by other getUpdates request; make sure that only one \
    bot instance is running";
const WEBHOOK_ACTIVE: &str = "Conflict: can't use getUpdates method while webhook is active; use \
    deleteWebhook to delete the webhook first";

/// What the next matching request gets instead of (or before) its normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 429 with `parameters.retry_after`, as Telegram's flood control answers.
    TooManyRequests { retry_after: u32 },
    /// This HTTP status with Telegram's body for it, e.g. 502 `Bad Gateway`, 403 `Forbidden: bot
    /// was blocked by the user`.
    Status(u16),
    /// The connection is closed without any response.
    Drop,
}

/// An accepted `sendMessage`, `editMessageText` or `editMessageReplyMarkup`.
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "the whole record is printed when a test fails; tests read parts"
)]
pub struct Sent {
    pub method: String,
    pub chat_id: i64,
    pub message_id: i64,
    /// The text as the bot sent it (None for `editMessageReplyMarkup`).
    pub text: Option<String>,
    /// The text as the user sees it: HTML parsed, trimmed.
    pub plain: Option<String>,
    pub parse_mode: Option<String>,
    /// The inline keyboard, row by row (empty if none).
    pub buttons: Vec<Vec<Button>>,
    pub disable_preview: bool,
    /// When the fake accepted it (for latency measurements).
    pub at: std::time::Instant,
}

#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "the whole record is printed when a test fails; tests read parts"
)]
pub struct Button {
    pub text: String,
    pub callback_data: Option<String>,
    pub url: Option<String>,
}

/// A request answered 400: its method as Telegram spells it (`sendMessage`, whatever the case
/// requested), Telegram's description, and its parameters.
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "the whole record is printed when a test fails; tests read parts"
)]
pub struct Rejected {
    pub method: String,
    pub description: String,
    pub body: Value,
}

/// A handle on one running fake server; clones share it.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Woken on every change: long polls and `wait_sent` look again then.
    changed: Notify,
    url: String,
}

#[derive(Default)]
struct State {
    last_update_id: i64,
    /// Updates not yet confirmed by a getUpdates offset.
    queue: VecDeque<Value>,
    /// The last `allowed_updates` given; empty means Telegram's default.
    allowed: Vec<String>,
    /// Counts getUpdates calls: a poll that is no longer the newest answers 409.
    poller: u64,
    chats: HashMap<i64, Chat>,
    /// Callback query ids issued, and whether answered.
    queries: HashMap<String, bool>,
    last_query: u64,
    sent: Vec<Sent>,
    rejected: Vec<Rejected>,
    answered: Vec<String>,
    commands: Vec<(String, String)>,
    calls: HashMap<String, usize>,
    faults: HashMap<String, VecDeque<Fault>>,
    webhook: Option<(String, Option<String>)>,
}

struct Chat {
    json: Value,
    next_id: i64,
    msgs: HashMap<i64, Msg>,
    last_user_msg: Option<i64>,
}

struct Msg {
    /// The Message object, as returned and as put in callback queries.
    json: Value,
    /// For the bot's messages: the raw text and parse mode, which an edit compares.
    source: Option<(String, Option<String>)>,
}

/// A message text that passed Telegram's checks.
struct Text {
    raw: String,
    plain: String,
    parse_mode: Option<String>,
}

/// A Bot API error: HTTP status (also `error_code`) and description.
struct ApiError {
    code: u16,
    description: String,
}

type Params = Map<String, Value>;
type Answer = Result<Value, ApiError>;

fn api_error(code: u16, description: &str) -> ApiError {
    let description = description.to_owned();
    ApiError { code, description }
}

fn bad(what: &str) -> ApiError {
    api_error(400, &format!("Bad Request: {what}"))
}

impl FakeTelegram {
    /// Binds 127.0.0.1 on a free port and serves in a tokio task (until the runtime ends).
    pub async fn start() -> FakeTelegram {
        let tcp = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", tcp.local_addr().expect("local address"));
        let inner = Inner {
            state: Mutex::default(),
            changed: Notify::new(),
            url,
        };
        let tg = FakeTelegram {
            inner: Arc::new(inner),
        };
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .fallback(|| async { error(404, "Not Found") })
            .with_state(tg.clone());
        let app = app.into_make_service_with_connect_info::<KillSwitch>();
        tokio::spawn(async move { axum::serve(Killable(tcp), app).await });
        tg
    }

    /// `http://127.0.0.1:PORT`, for `Bot::set_api_url`.
    pub fn api_url(&self) -> String {
        self.inner.url.clone()
    }

    /// The bot's username; its user id is 4242.
    pub fn bot_username(&self) -> &str {
        BOT_USERNAME
    }

    /// Queues an update (a JSON object) for getUpdates, numbering it; returns its update_id.
    /// Chats, messages and callback query ids in it become known.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut s = self.lock();
            s.last_update_id += 1;
            update["update_id"] = json!(s.last_update_id);
            s.learn(&update);
            s.queue.push_back(update);
            s.last_update_id
        };
        self.inner.changed.notify_waiters();
        id
    }

    /// Queues an update given as raw JSON text: `fields` is what follows `"update_id":N,` in
    /// the object (e.g. `"message":{...}`), sent exactly as given, valid JSON or not; `kind`
    /// is its update kind, for `allowed_updates`. Returns its update_id. Nothing in it is
    /// learnt (its chat does not become known).
    pub fn push_raw(&self, kind: &str, fields: &str) -> i64 {
        let id = {
            let mut s = self.lock();
            s.last_update_id += 1;
            let id = s.last_update_id;
            s.queue
                .push_back(json!({"update_id": id, RAW: fields, RAW_KIND: kind}));
            id
        };
        self.inner.changed.notify_waiters();
        id
    }

    /// Updates not yet confirmed by a getUpdates offset.
    pub fn unconfirmed(&self) -> usize {
        self.lock().queue.len()
    }

    /// Waits until update `id` is confirmed by a getUpdates offset (the bot confirms an update
    /// only once it has handled it, every reply to it sent); panics if it is not in `timeout`.
    pub async fn wait_confirmed(&self, id: i64, timeout: Duration) {
        self.wait_until_confirmed(|u| u == id, timeout, &format!("update {id}"))
            .await
    }

    /// Waits until no update is left unconfirmed: every one pushed so far was handled.
    pub async fn wait_all_confirmed(&self, timeout: Duration) {
        self.wait_until_confirmed(|_| true, timeout, "every update")
            .await
    }

    async fn wait_until_confirmed(&self, of: impl Fn(i64) -> bool, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            let left: Vec<i64> = self
                .lock()
                .queue
                .iter()
                .filter_map(|u| u["update_id"].as_i64())
                .filter(|u| of(*u))
                .collect();
            if left.is_empty() {
                return;
            }
            if timeout_at(deadline, changed).await.is_err() {
                panic!("waited {timeout:?} for {what} to be confirmed; unconfirmed: {left:?}");
            }
        }
    }

    /// A text message in the private chat of user `chat_id`.
    pub fn send_text(&self, chat_id: i64, text: &str) -> i64 {
        self.send_content(chat_id, text_content(text))
    }

    /// A text message from `user_id` in group `chat_id` (negative), replying to the bot's last
    /// message there if `reply_to_bot` (made up if the bot sent none).
    pub fn send_group_text(
        &self,
        chat_id: i64,
        user_id: i64,
        text: &str,
        reply_to_bot: bool,
    ) -> i64 {
        assert!(chat_id < 0, "group chat ids are negative, got {chat_id}");
        let chat = json!({"id": chat_id, "type": "group", "title": "Test group"});
        let mut content = text_content(text);
        if reply_to_bot {
            content["reply_to_message"] = self.lock().last_bot_message(&chat);
        }
        self.push_message("message", chat, user(user_id), content)
    }

    pub fn send_sticker(&self, chat_id: i64) -> i64 {
        let sticker = json!({"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular",
            "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "👍"});
        self.send_content(chat_id, json!({ "sticker": sticker }))
    }

    pub fn send_photo(&self, chat_id: i64) -> i64 {
        let size = json!({"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90});
        self.send_content(chat_id, json!({ "photo": [size] }))
    }

    pub fn send_voice(&self, chat_id: i64) -> i64 {
        let voice = json!({"file_id": "voice-1", "file_unique_id": "v1", "duration": 3,
            "mime_type": "audio/ogg"});
        self.send_content(chat_id, json!({ "voice": voice }))
    }

    pub fn send_document(&self, chat_id: i64) -> i64 {
        let document = json!({"file_id": "doc-1", "file_unique_id": "d1",
            "file_name": "note.pdf", "mime_type": "application/pdf"});
        self.send_content(chat_id, json!({ "document": document }))
    }

    pub fn send_location(&self, chat_id: i64) -> i64 {
        self.send_content(
            chat_id,
            json!({"location": {"latitude": 51.5, "longitude": -0.12}}),
        )
    }

    /// An `edited_message` update: the user's last message in that chat, now saying `text`.
    pub fn send_edited_text(&self, chat_id: i64, text: &str) -> i64 {
        let (chat, from) = (private_chat(chat_id), user(chat_id));
        self.push_message("edited_message", chat, from, text_content(text))
    }

    /// A callback query: the user presses a button with `data` on bot message `message_id`
    /// (the data is not checked against the keyboard: clients can send any). Panics if the bot
    /// never sent that message to that chat.
    pub fn press_button(&self, chat_id: i64, message_id: i64, data: &str) -> i64 {
        let query = self.lock().new_query(chat_id, message_id, data);
        let query = query.unwrap_or_else(|| {
            panic!("press_button: the bot never sent message {message_id} to chat {chat_id}")
        });
        self.push_update(json!({ "callback_query": query }))
    }

    /// Every accepted send or edit, in arrival order.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// How many accepted sends match `f`, without copying them (for polling in load tests).
    pub fn count_sent(&self, f: impl Fn(&Sent) -> bool) -> usize {
        self.lock().sent.iter().filter(|s| f(s)).count()
    }

    /// Every request answered 400.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.lock().rejected.clone()
    }

    /// The ids accepted by answerCallbackQuery.
    pub fn answered_callbacks(&self) -> Vec<String> {
        self.lock().answered.clone()
    }

    /// The last setMyCommands list (commands without a leading `/`), empty after deleteMyCommands.
    pub fn commands(&self) -> Vec<(String, String)> {
        self.lock().commands.clone()
    }

    /// The webhook set by setWebhook: its url and secret token.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.lock().webhook.clone()
    }

    /// How many requests of that method arrived, faulted ones included (case-insensitive).
    pub fn calls(&self, method: &str) -> usize {
        let s = self.lock();
        s.calls
            .get(&method.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Waits for at least `n` accepted sends in all; panics with what arrived if they don't.
    pub async fn wait_sent(&self, n: usize, timeout: Duration) -> Vec<Sent> {
        self.wait(None, n, timeout).await
    }

    /// Waits for at least `n` accepted sends to one chat; panics with what arrived if they don't.
    pub async fn wait_sent_to(&self, chat_id: i64, n: usize, timeout: Duration) -> Vec<Sent> {
        self.wait(Some(chat_id), n, timeout).await
    }

    /// Queues a fault for the next request of `method` (case-insensitive); several apply in order.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        let mut s = self.lock();
        s.faults
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back(fault);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn send_content(&self, chat_id: i64, content: Value) -> i64 {
        self.push_message("message", private_chat(chat_id), user(chat_id), content)
    }

    /// Pushes a `kind` update holding a message with `content`'s fields, numbered in its chat.
    fn push_message(&self, kind: &str, chat: Value, from: Value, content: Value) -> i64 {
        let mut msg = {
            let mut s = self.lock();
            let c = s.chat_entry(&chat);
            let id = match c.last_user_msg {
                Some(id) if kind == "edited_message" => id,
                _ => c.alloc(),
            };
            json!({"message_id": id, "date": now(), "chat": chat, "from": from})
        };
        if let (Some(msg), Value::Object(content)) = (msg.as_object_mut(), content) {
            msg.extend(content);
        }
        if kind == "edited_message" {
            msg["edit_date"] = json!(now());
        }
        self.push_update(json!({ kind: msg }))
    }

    async fn wait(&self, chat: Option<i64>, n: usize, timeout: Duration) -> Vec<Sent> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            let mut sent = self.sent();
            sent.retain(|s| chat.is_none_or(|c| s.chat_id == c));
            if sent.len() >= n {
                return sent;
            }
            if timeout_at(deadline, changed).await.is_err() {
                let to = chat.map(|c| format!(" to chat {c}")).unwrap_or_default();
                let rejected = self.rejected();
                panic!(
                    "waited {timeout:?} for {n} sends{to}, got {sent:#?}\nrejected: {rejected:#?}"
                );
            }
        }
    }

    async fn answer(&self, method: &str, p: &Params) -> Answer {
        if method == "getupdates" {
            return self.get_updates(p).await;
        }
        let answer = self.lock().call(method, p);
        self.inner.changed.notify_waiters();
        answer
    }

    /// getUpdates: confirms below `offset`, then holds until an update or min(timeout, 1 s).
    async fn get_updates(&self, p: &Params) -> Answer {
        let limit = int(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
        let wait = Duration::from_secs(int(p, "timeout").unwrap_or(0).clamp(0, 1) as u64);
        let deadline = Instant::now() + wait;
        let me = self.lock().start_poll(p)?;
        self.inner.changed.notify_waiters();
        loop {
            let mut changed = pin!(self.inner.changed.notified());
            changed.as_mut().enable();
            {
                let mut s = self.lock();
                if s.poller != me {
                    return Err(api_error(409, CONFLICT));
                }
                let batch = s.deliverable(limit);
                if !batch.is_empty() || Instant::now() >= deadline {
                    return Ok(Value::Array(batch));
                }
            }
            let _ = timeout_at(deadline, changed).await;
        }
    }
}

async fn handle(
    Shared(tg): Shared<FakeTelegram>,
    ConnectInfo(kill): ConnectInfo<KillSwitch>,
    Path((bot, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !bot.starts_with("bot") {
        return error(404, "Not Found");
    }
    let key = method.to_ascii_lowercase();
    let fault = {
        let mut s = tg.lock();
        *s.calls.entry(key.clone()).or_default() += 1;
        s.faults.get_mut(&key).and_then(VecDeque::pop_front)
    };
    let p = params(&uri, &headers, &body);
    let answer = match fault {
        Some(Fault::TooManyRequests { retry_after: n }) => {
            let d = format!("Too Many Requests: retry after {n}");
            let body = json!({"ok": false, "error_code": 429, "description": d,
                "parameters": {"retry_after": n}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        }
        Some(Fault::Drop) => {
            // The connection refuses hyper's first write, so not one byte of this goes out.
            kill.0.store(true, Ordering::SeqCst);
            return StatusCode::OK.into_response();
        }
        Some(Fault::Status(code)) => Err(api_error(code, status_text(code))),
        None => tg.answer(&key, &p).await,
    };
    match answer {
        Ok(Value::Array(updates)) if updates.iter().any(|u| u.get(RAW).is_some()) => {
            let parts: Vec<String> = updates
                .iter()
                .map(|u| match u[RAW].as_str() {
                    Some(raw) => format!("{{\"update_id\":{},{raw}}}", u["update_id"]),
                    None => u.to_string(),
                })
                .collect();
            let body = format!("{{\"ok\":true,\"result\":[{}]}}", parts.join(","));
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(result) => Json(json!({"ok": true, "result": result})).into_response(),
        Err(ApiError { code, description }) => {
            let response = error(code, &description);
            if code == 400 {
                let known = METHODS
                    .split_whitespace()
                    .find(|m| m.eq_ignore_ascii_case(&method));
                let method = known.map_or(method, String::from);
                let body = Value::Object(p);
                tg.lock().rejected.push(Rejected {
                    method,
                    description,
                    body,
                });
            }
            response
        }
    }
}

impl State {
    /// Every method but getUpdates.
    fn call(&mut self, method: &str, p: &Params) -> Answer {
        match method {
            "getme" => Ok(me()),
            "sendmessage" => self.send_message(p),
            "editmessagetext" => self.edit(p, true),
            "editmessagereplymarkup" => self.edit(p, false),
            "answercallbackquery" => self.answer_callback(p),
            "setmycommands" => self.set_commands(p),
            "getmycommands" => Ok(self.commands.iter().map(|(c, d)| command(c, d)).collect()),
            "deletemycommands" => {
                self.commands.clear();
                Ok(json!(true))
            }
            "setwebhook" => self.set_webhook(p),
            "deletewebhook" => {
                self.webhook = None;
                if flag(p, "drop_pending_updates") {
                    self.queue.clear();
                }
                Ok(json!(true))
            }
            "getwebhookinfo" => {
                let url = self.webhook.as_ref().map_or("", |w| w.0.as_str());
                let pending = self.queue.len();
                Ok(json!({"url": url, "has_custom_certificate": false,
                    "pending_update_count": pending}))
            }
            "sendchataction" => {
                self.chat(p)?;
                match string(p, "action") {
                    Some(a) if ACTIONS.split_whitespace().any(|x| x == a) => Ok(json!(true)),
                    _ => Err(bad("wrong parameter action in request")),
                }
            }
            _ => Err(api_error(404, "Not Found")),
        }
    }

    fn chat_entry(&mut self, chat: &Value) -> &mut Chat {
        let id = chat["id"].as_i64().unwrap_or(0);
        let (json, msgs) = (chat.clone(), HashMap::new());
        let new = || Chat {
            json,
            next_id: 1,
            msgs,
            last_user_msg: None,
        };
        self.chats.entry(id).or_insert_with(new)
    }

    /// The chat named by `chat_id`, if an update came from it.
    fn chat(&mut self, p: &Params) -> Result<&mut Chat, ApiError> {
        let id = int(p, "chat_id").ok_or_else(|| match p.get("chat_id") {
            None | Some(Value::Null) => bad("chat_id is empty"),
            Some(_) => bad("chat not found"),
        })?;
        self.chats.get_mut(&id).ok_or_else(|| bad("chat not found"))
    }

    /// Registers the chats, messages and callback queries in a pushed update.
    fn learn(&mut self, update: &Value) {
        if let Some(id) = update["callback_query"]["id"].as_str() {
            self.queries.entry(id.to_owned()).or_insert(false);
        }
        for v in update.as_object().into_iter().flat_map(Map::values) {
            let msg = if v.get("chat").is_some() {
                v
            } else {
                &v["message"]
            };
            let Some(chat) = msg.get("chat") else {
                continue;
            };
            let c = self.chat_entry(chat);
            let Some(id) = msg["message_id"].as_i64() else {
                continue;
            };
            c.next_id = c.next_id.max(id.saturating_add(1));
            let json = msg.clone();
            if msg["from"]["id"].as_i64() == Some(BOT_ID) {
                let source = Some((msg["text"].as_str().unwrap_or_default().to_owned(), None));
                c.msgs.entry(id).or_insert(Msg { json, source });
            } else {
                c.msgs.insert(id, Msg { json, source: None });
                c.last_user_msg = Some(id);
            }
        }
    }

    /// The bot's last message in `chat`, or a made-up earlier one.
    fn last_bot_message(&mut self, chat: &Value) -> Value {
        let c = self.chat_entry(chat);
        let bot_msgs = c.msgs.iter().filter(|(_, m)| m.source.is_some());
        let last = bot_msgs
            .max_by_key(|(id, _)| **id)
            .map(|(_, m)| m.json.clone());
        last.unwrap_or_else(|| {
            json!({"message_id": c.alloc(), "date": now(), "chat": chat, "from": bot_user(),
                "text": "An earlier message"})
        })
    }

    /// A callback query from a press on bot message `message_id`, if the bot sent it.
    fn new_query(&mut self, chat_id: i64, message_id: i64, data: &str) -> Option<Value> {
        let msg = self.chats.get(&chat_id)?.msgs.get(&message_id)?;
        let msg = msg.source.as_ref().map(|_| msg.json.clone())?;
        self.last_query += 1;
        let id = (5_000_000_000 + self.last_query).to_string();
        self.queries.insert(id.clone(), false);
        let from = user(if chat_id > 0 { chat_id } else { GROUP_PRESSER });
        Some(
            json!({"id": id, "from": from, "message": msg, "chat_instance": format!("c{chat_id}"),
            "data": data}),
        )
    }

    /// Starts a getUpdates call: confirms updates below `offset`; returns this poll's number.
    fn start_poll(&mut self, p: &Params) -> Result<u64, ApiError> {
        if self.webhook.is_some() {
            return Err(api_error(409, WEBHOOK_ACTIVE));
        }
        if let Some(Value::Array(kinds)) = object(p, "allowed_updates") {
            self.allowed = kinds
                .iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect();
        }
        match int(p, "offset") {
            // A negative offset keeps only that many of the newest updates.
            Some(o) if o < 0 => {
                let drop = self.queue.len().saturating_sub(o.unsigned_abs() as usize);
                self.queue.drain(..drop);
            }
            Some(o) => self.queue.retain(|u| u["update_id"].as_i64() >= Some(o)),
            None => {}
        }
        self.poller += 1;
        Ok(self.poller)
    }

    /// Drops queued updates of kinds not allowed, then returns up to `limit`.
    fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        let State { queue, allowed, .. } = self;
        queue.retain(|u| {
            let kind = match u[RAW_KIND].as_str() {
                Some(k) => Some(k),
                None => u
                    .as_object()
                    .and_then(|o| o.keys().find(|k| *k != "update_id"))
                    .map(String::as_str),
            };
            let kind = kind.unwrap_or("");
            if allowed.is_empty() {
                !OPT_IN_UPDATES.split(' ').any(|k| k == kind)
            } else {
                allowed.iter().any(|a| a == kind)
            }
        });
        queue.iter().take(limit).cloned().collect()
    }

    fn send_message(&mut self, p: &Params) -> Answer {
        let text = checked_text(p, "message is too long")?;
        let (markup, buttons) = checked_markup(p)?;
        let chat = self.chat(p)?;
        let reply = object(p, "reply_parameters").unwrap_or_default();
        let reply_to = reply["message_id"]
            .as_i64()
            .or_else(|| int(p, "reply_to_message_id"));
        let may_miss = reply["allow_sending_without_reply"].as_bool() == Some(true)
            || flag(p, "allow_sending_without_reply");
        let replied = reply_to
            .and_then(|r| chat.msgs.get(&r))
            .map(|m| m.json.clone());
        if reply_to.is_some() && replied.is_none() && !may_miss {
            return Err(bad("message to be replied not found"));
        }
        let id = chat.alloc();
        let mut json = json!({"message_id": id, "date": now(), "chat": chat.json,
            "from": bot_user(), "text": text.plain});
        if let Some(mut replied) = replied {
            // Telegram nests replies one level deep only.
            replied
                .as_object_mut()
                .and_then(|r| r.remove("reply_to_message"));
            json["reply_to_message"] = replied;
        }
        if !markup.is_null() {
            json["reply_markup"] = markup;
        }
        let source = Some((text.raw.clone(), text.parse_mode.clone()));
        chat.msgs.insert(
            id,
            Msg {
                json: json.clone(),
                source,
            },
        );
        let chat_id = chat.json["id"].as_i64().unwrap_or(0);
        self.record("sendMessage", (chat_id, id), Some(text), buttons, p);
        Ok(json)
    }

    /// editMessageText (`with_text`) or editMessageReplyMarkup.
    fn edit(&mut self, p: &Params, with_text: bool) -> Answer {
        let text = with_text
            .then(|| checked_text(p, "MESSAGE_TOO_LONG"))
            .transpose()?;
        let (markup, buttons) = checked_markup(p)?;
        if p.contains_key("inline_message_id") {
            return Err(bad("MESSAGE_ID_INVALID"));
        }
        let chat = self.chat(p)?;
        let chat_id = chat.json["id"].as_i64().unwrap_or(0);
        let id = int(p, "message_id").ok_or_else(|| bad("message identifier is not specified"))?;
        let msg = chat
            .msgs
            .get_mut(&id)
            .ok_or_else(|| bad("message to edit not found"))?;
        let old = msg
            .source
            .clone()
            .ok_or_else(|| bad("message can't be edited"))?;
        let new = match &text {
            Some(t) => (t.raw.clone(), t.parse_mode.clone()),
            None => old.clone(),
        };
        if new == old && msg.json.get("reply_markup").unwrap_or(&Value::Null) == &markup {
            return Err(bad(NOT_MODIFIED));
        }
        if let Some(t) = &text {
            msg.json["text"] = json!(t.plain);
        }
        if !markup.is_null() {
            msg.json["reply_markup"] = markup;
        } else if let Some(m) = msg.json.as_object_mut() {
            // An edit without a keyboard removes the old one.
            m.remove("reply_markup");
        }
        msg.json["edit_date"] = json!(now());
        msg.source = Some(new);
        let json = msg.json.clone();
        let method = if with_text {
            "editMessageText"
        } else {
            "editMessageReplyMarkup"
        };
        self.record(method, (chat_id, id), text, buttons, p);
        Ok(json)
    }

    fn record(
        &mut self,
        method: &str,
        at: (i64, i64),
        text: Option<Text>,
        buttons: Vec<Vec<Button>>,
        p: &Params,
    ) {
        let preview = object(p, "link_preview_options").unwrap_or_default();
        let disable_preview =
            preview["is_disabled"] == json!(true) || flag(p, "disable_web_page_preview");
        let (text, plain, parse_mode) = match text {
            Some(t) => (Some(t.raw), Some(t.plain), t.parse_mode),
            None => (None, None, None),
        };
        let (method, chat_id, message_id) = (method.to_owned(), at.0, at.1);
        let sent = Sent {
            method,
            chat_id,
            message_id,
            text,
            plain,
            parse_mode,
            buttons,
            disable_preview,
            at: std::time::Instant::now(),
        };
        self.sent.push(sent);
    }

    fn answer_callback(&mut self, p: &Params) -> Answer {
        let id = string(p, "callback_query_id").unwrap_or_default();
        match self.queries.get_mut(&id) {
            Some(answered) if !*answered => {
                *answered = true;
                self.answered.push(id);
                Ok(json!(true))
            }
            _ => Err(bad(BAD_QUERY)),
        }
    }

    fn set_commands(&mut self, p: &Params) -> Answer {
        let Some(Value::Array(list)) = object(p, "commands") else {
            return Err(bad("parameter \"commands\" is required"));
        };
        let mut commands = Vec::new();
        for c in &list {
            let name = c["command"].as_str().unwrap_or_default();
            // Telegram drops a leading '/', which teloxide's `bot_commands()` sends.
            let name = name.strip_prefix('/').unwrap_or(name);
            let ok = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_';
            if name.is_empty() || name.len() > 32 || !name.chars().all(ok) {
                return Err(bad("BOT_COMMAND_INVALID"));
            }
            let description = c["description"].as_str().unwrap_or_default().trim();
            if description.is_empty() {
                return Err(bad("command description must be non-empty"));
            }
            commands.push((name.to_owned(), description.to_owned()));
        }
        self.commands = commands;
        Ok(json!(true))
    }

    fn set_webhook(&mut self, p: &Params) -> Answer {
        let url = string(p, "url").unwrap_or_default();
        if url.is_empty() {
            self.webhook = None;
        } else if !url.to_ascii_lowercase().starts_with("https://") {
            return Err(bad("bad webhook: HTTPS url must be provided for webhook"));
        } else {
            self.webhook = Some((url, string(p, "secret_token")));
        }
        Ok(json!(true))
    }
}

impl Chat {
    fn alloc(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id - 1
    }
}

/// Checks `text` and `parse_mode` as Telegram does.
fn checked_text(p: &Params, too_long: &str) -> Result<Text, ApiError> {
    let raw = string(p, "text").unwrap_or_default();
    let parse_mode = string(p, "parse_mode").filter(|m| !m.is_empty());
    let plain = match parse_mode
        .as_ref()
        .map(|m| m.to_ascii_lowercase())
        .as_deref()
    {
        None => raw.clone(),
        Some("html") => parse_telegram_html(&raw).map_err(|description| ApiError {
            code: 400,
            description,
        })?,
        Some("markdown" | "markdownv2") => {
            return Err(bad(
                "can't parse entities: the fake Telegram checks only HTML",
            ));
        }
        Some(_) => return Err(bad("unsupported parse_mode")),
    };
    let plain = plain.trim().to_owned();
    if plain.is_empty() {
        return Err(bad("message text is empty"));
    }
    if plain.encode_utf16().count() > MAX_TEXT {
        return Err(bad(too_long));
    }
    Ok(Text {
        raw,
        plain,
        parse_mode,
    })
}

/// Checks `reply_markup`: returns the inline keyboard to echo (Null if none) and its buttons.
fn checked_markup(p: &Params) -> Result<(Value, Vec<Vec<Button>>), ApiError> {
    let markup = object(p, "reply_markup").unwrap_or_default();
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok((Value::Null, vec![]));
    };
    let invalid = || bad("can't parse reply keyboard markup JSON object");
    let mut buttons = Vec::new();
    for row in rows.as_array().ok_or_else(invalid)? {
        let mut line = Vec::new();
        for b in row.as_array().ok_or_else(invalid)? {
            let get = |k: &str| b.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
            let (text, data, url) = (get("text"), get("callback_data"), get("url"));
            let other = OTHER_BUTTONS.split_whitespace().any(|k| !b[k].is_null());
            if text.is_none() || (data.is_none() && url.is_none() && !other) {
                return Err(bad(TEXT_BUTTON));
            }
            if data.is_some_and(|d| d.len() > 64) {
                return Err(bad("BUTTON_DATA_INVALID"));
            }
            if url.is_some_and(|u| !valid_url(u)) {
                return Err(bad("BUTTON_URL_INVALID"));
            }
            let [text, callback_data, url] = [text, data, url].map(|v| v.map(String::from));
            line.push(Button {
                text: text.unwrap_or_default(),
                callback_data,
                url,
            });
        }
        buttons.push(line);
    }
    Ok((markup, buttons))
}

/// An http(s) URL with a host, or a tg:// link.
fn valid_url(u: &str) -> bool {
    let has_host = |rest: &str| !rest.starts_with(['/', '?', '#']) && !rest.is_empty();
    match u.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("tg") => !rest.is_empty(),
        Some((scheme, rest)) => {
            matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") && has_host(rest)
        }
        None => false,
    }
}

/// Returns from the enclosing function with a Bot API "can't parse entities" error.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err(format!("Bad Request: can't parse entities: {}", format_args!($($arg)*)))
    };
}

/// Telegram's HTML parse mode, as TDLib parses it: the plain text, or the Bot API's description
/// of the error (`Bad Request: can't parse entities: ...`, byte offsets into `s`). Stricter in
/// one way: a `&` that starts no supported entity is refused (Telegram would show it literally).
pub fn parse_telegram_html(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    // Moves past the bytes `go` accepts; past the end reads NUL, as TDLib's C string does.
    let scan = |mut i: usize, go: &dyn Fn(u8) -> bool| {
        while go(at(i)) {
            i += 1;
        }
        i
    };
    let spaces = |c: u8| c != 0 && is_space(c);
    let word = |c: u8| !is_space(c) && c != b'>';
    let mut out = String::new();
    // Open tags: name, argument, and where their content starts in `out`.
    let mut open: Vec<(String, String, usize)> = Vec::new();
    let mut surrogate = false;
    let mut i = 0;
    while i < b.len() {
        let begin = i;
        if b[i] == b'&' {
            let Some((code, next)) = decode_entity(b, i) else {
                fail!("Unsupported HTML entity at byte offset {i}: write \"&\" as \"&amp;\"")
            };
            match char::from_u32(code) {
                Some(c) => out.push(c),
                None => surrogate = true,
            }
            i = next;
        } else if b[i] != b'<' {
            let c = s[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        } else if at(i + 1) == b'/' {
            let Some((tag, arg, start)) = open.pop() else {
                fail!("Unexpected end tag at byte offset {begin}")
            };
            i = scan(i + 1, &word);
            let end_tag = s[begin + 2..i].to_ascii_lowercase();
            i = scan(i, &spaces);
            if at(i) != b'>' {
                fail!("Unclosed end tag at byte offset {begin}");
            }
            if !end_tag.is_empty() && end_tag != tag {
                fail!(
                    "Unmatched end tag at byte offset {begin}, expected \"</{tag}>\", found \
                     \"</{end_tag}>\""
                );
            }
            let emoji_id =
                arg.bytes().all(|c| c.is_ascii_digit()) && arg.parse::<i64>().is_ok_and(|v| v > 0);
            if tag == "tg-emoji" && out.len() > start && !emoji_id {
                fail!("Invalid custom emoji identifier specified");
            }
            i += 1;
        } else {
            i = scan(i + 1, &word);
            if at(i) == 0 {
                fail!("Unclosed start tag at byte offset {begin}");
            }
            let tag = s[begin + 1..i].to_ascii_lowercase();
            if !TAGS.split(' ').any(|t| t == tag) {
                fail!("Unsupported start tag \"{tag}\" at byte offset {begin}");
            }
            let mut arg = String::new();
            loop {
                i = scan(i, &spaces);
                if at(i) == b'>' {
                    break;
                }
                let name_start = i;
                i = scan(i, &|c| !is_space(c) && !b"=>/\"'".contains(&c));
                let name = &s[name_start..i];
                if name.is_empty() {
                    fail!("Empty attribute name in the tag \"{tag}\" at byte offset {begin}");
                }
                i = scan(i, &spaces);
                if at(i) == 0 {
                    fail!("Unclosed start tag \"{tag}\" at byte offset {begin}");
                }
                if at(i) != b'=' {
                    continue; // an attribute without a value, like `expandable`
                }
                i = scan(i + 1, &spaces);
                if at(i) == 0 {
                    fail!("Unclosed start tag \"{tag}\" at byte offset {begin}");
                }
                let value;
                if at(i) == b'"' || at(i) == b'\'' {
                    (value, i) = quoted(s, i);
                } else {
                    // A name token: letters, digits, '.' and '-', case-insensitive.
                    let end = scan(i, &|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
                    if word(at(end)) {
                        fail!("Unexpected end of name token at byte offset {i}");
                    }
                    (value, i) = (s[i..end].to_ascii_lowercase(), end);
                }
                if at(i) == 0 {
                    fail!("Unclosed start tag at byte offset {begin}");
                }
                match (tag.as_str(), name) {
                    ("tg-emoji", "emoji-id") => arg = value,
                    ("span", "class") => arg = value.strip_prefix("tg-").unwrap_or_default().into(),
                    _ => {}
                }
            }
            if tag == "span" && arg != "spoiler" {
                fail!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}");
            }
            open.push((tag, arg, out.len()));
            i += 1;
        }
    }
    if let Some((tag, ..)) = open.last() {
        fail!("Can't find end tag corresponding to start tag \"{tag}\"");
    }
    if surrogate {
        fail!(
            "Text contains invalid Unicode characters after decoding HTML entities, check for \
             unmatched surrogate code units"
        );
    }
    Ok(out)
}

/// A quoted attribute value at `s[i]`, entities decoded and anything else kept; returns it and
/// the offset after its closing quote.
fn quoted(s: &str, mut i: usize) -> (String, usize) {
    let b = s.as_bytes();
    let quote = b[i];
    let mut value = String::new();
    i += 1;
    while i < b.len() && b[i] != quote {
        if b[i] == b'&'
            && let Some((code, next)) = decode_entity(b, i)
        {
            value.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            i = next;
        } else {
            let c = s[i..].chars().next().unwrap_or_default();
            value.push(c);
            i += c.len_utf8();
        }
    }
    (value, (i + 1).min(b.len()))
}

/// TDLib's `decode_html_entity` at `b[pos] == '&'`: `&lt; &gt; &amp; &quot;` or a numeric
/// reference, the `;` optional. Returns the code point and the offset after it.
fn decode_entity(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut end = pos + 1;
    let code = if at(end) == b'#' {
        let radix = if at(end + 1) == b'x' { 16 } else { 10 };
        end += 1 + usize::from(radix == 16);
        let mut code: u32 = 0;
        while let Some(digit) = char::from(at(end)).to_digit(radix) {
            code = code.saturating_mul(radix).saturating_add(digit);
            end += 1;
        }
        if code == 0 || code >= 0x10ffff || end - pos >= 10 {
            return None;
        }
        code
    } else {
        while at(end).is_ascii_alphabetic() {
            end += 1;
        }
        let named = [("lt", '<'), ("gt", '>'), ("amp", '&'), ("quot", '"')];
        let name = &b[pos + 1..end];
        named.iter().find(|(n, _)| n.as_bytes() == name)?.1.into()
    };
    Some((code, if at(end) == b';' { end + 1 } else { end }))
}

/// TDLib's `is_space`, NUL included.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0 | 0x0b | 0x0c)
}

/// The request's parameters: query string, then a url-encoded, multipart or JSON body. Form and
/// multipart values are strings; the readers below accept both.
fn params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Params {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body_text = String::from_utf8_lossy(body);
    let mut pairs = form(uri.query().unwrap_or_default());
    if kind.starts_with("application/x-www-form-urlencoded") {
        pairs.extend(form(&body_text));
    } else if let Some(boundary) = kind.split("boundary=").nth(1) {
        pairs.extend(multipart(&body_text, boundary.trim_matches('"')));
    }
    let mut p: Params = pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if let Ok(Value::Object(json)) = serde_json::from_slice(body) {
        p.extend(json);
    }
    p
}

fn form(query: &str) -> Vec<(String, String)> {
    let uri = format!("/?{query}").parse().unwrap_or_default();
    Query::try_from_uri(&uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default()
}

/// The fields of a multipart/form-data body (teloxide uses it for setWebhook and uploads).
fn multipart(body: &str, boundary: &str) -> Vec<(String, String)> {
    let delimiter = format!("--{boundary}");
    let fields = body.split(delimiter.as_str()).filter_map(|part| {
        let (head, value) = part.split_once("\r\n\r\n")?;
        let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
        Some((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()))
    });
    fields.collect()
}

/// A text parameter (other JSON scalars are read as text).
fn string(p: &Params, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        v => Some(v.to_string()),
    }
}

fn int(p: &Params, key: &str) -> Option<i64> {
    string(p, key)?.trim().parse().ok()
}

fn flag(p: &Params, key: &str) -> bool {
    string(p, key).as_deref() == Some("true")
}

/// A JSON parameter, given as JSON or (in forms) as a JSON-encoded string.
fn object(p: &Params, key: &str) -> Option<Value> {
    match p.get(key)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()).filter(|v| !v.is_null()),
    }
}

fn error(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"ok": false, "error_code": code, "description": description});
    (status, Json(body)).into_response()
}

/// Telegram's description for an HTTP status used as a fault.
fn status_text(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden: bot was blocked by the user",
        404 => "Not Found",
        409 => CONFLICT,
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Workhealth Test", "username": BOT_USERNAME})
}

/// getMe's `Me`: teloxide's dispatcher needs every one of these flags.
fn me() -> Value {
    let mut me = bot_user();
    let flags = json!({"can_join_groups": true, "can_read_all_group_messages": false,
        "supports_inline_queries": false, "can_connect_to_business": false,
        "has_main_web_app": false});
    if let (Some(me), Value::Object(flags)) = (me.as_object_mut(), flags) {
        me.extend(flags);
    }
    me
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Test", "username": format!("user{id}"),
        "language_code": "en"})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Test", "username": format!("user{id}")})
}

fn command(name: &str, description: &str) -> Value {
    json!({"command": name, "description": description})
}

/// A message's text, with Telegram's entities for a leading /command and @mentions.
fn text_content(text: &str) -> Value {
    let mut entities = Vec::new();
    let mut offset = 0;
    for (n, word) in text.split([' ', '\n']).enumerate() {
        let kind = match word.chars().next() {
            Some('/') if n == 0 => "bot_command",
            Some('@') => "mention",
            _ => "",
        };
        // ASCII letters, digits and '_' (and "@botname" after a command).
        let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || (c == '@' && n == 0);
        let name = word
            .get(1..)
            .unwrap_or_default()
            .split(|c| !name_char(c))
            .next();
        if let Some(name) = name.filter(|name| !kind.is_empty() && !name.is_empty()) {
            entities.push(json!({"type": kind, "offset": offset, "length": 1 + name.len()}));
        }
        offset += word.encode_utf16().count() + 1;
    }
    if entities.is_empty() {
        json!({ "text": text })
    } else {
        json!({ "text": text, "entities": entities })
    }
}

/// A TCP listener whose connections a handler can cut, for [`Fault::Drop`].
struct Killable(TcpListener);

/// Shared by a connection and its requests' handlers: once set, the connection fails its writes.
#[derive(Clone)]
struct KillSwitch(Arc<AtomicBool>);

struct KillableStream {
    tcp: TcpStream,
    kill: KillSwitch,
}

impl Listener for Killable {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((tcp, addr)) => {
                    // As any real server: no Nagle delay on small responses.
                    let _ = tcp.set_nodelay(true);
                    let kill = KillSwitch(Arc::default());
                    return (KillableStream { tcp, kill }, addr);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, Killable>> for KillSwitch {
    fn connect_info(stream: IncomingStream<'_, Killable>) -> Self {
        stream.io().kill.clone()
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context,
        buf: &mut ReadBuf,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.0.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
