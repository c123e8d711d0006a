//! The Telegram bot: the only module that knows Telegram. It turns updates into questions for
//! the [`Assistant`](crate::assistant::Assistant), renders replies as Telegram HTML, records
//! what was asked in the question log, and sends with retries. [`poll`] fetches updates
//! (confirming them only once handled, skipping unreadable ones) and [`lanes`] hands them to
//! handlers, one lane per chat, with crisis messages answered ahead of the lane. Its words
//! come from [`crate::words`] and its menus from [`crate::assistant::menu`], shared with the
//! terminal `chat`.

pub mod callback;
pub mod lanes;
pub mod pace;
pub mod poll;
pub mod send;
pub mod start;

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures_util::FutureExt;
use teloxide::prelude::*;
use teloxide::types::{ChatId, MaybeInaccessibleMessage, Message, UpdateKind, UserId};
use teloxide::utils::command::BotCommands;

use crate::assistant::{Context, FOLLOW_UP_WINDOW, Menu, Outcome, Previous, Reply, menu};
use crate::live::Live;
use crate::log::{Feedback, Log, NewQuestion, UserKey};
use crate::metrics::Metrics;
use crate::render::telegram as tgr;
use crate::words;
use callback::Callback;
use send::{Tg, answer_callback, send_all, send_urgent};

/// In a group: the text addressed to the bot called `username` with id `bot_id` (a command,
/// a mention, or a reply to one of its messages), with the mention removed; `None` when the
/// message is not for the bot.
fn addressed(m: &Message, text: &str, username: &str, bot_id: UserId) -> Option<String> {
    if m.chat.is_private() {
        return Some(text.to_string());
    }
    if text.starts_with('/') {
        return Some(text.to_string());
    }
    let mention = format!("@{}", username.to_lowercase());
    let lower = text.to_lowercase();
    if let Some(at) = lower.find(&mention)
        && !username.is_empty()
    {
        let mut t = String::with_capacity(text.len());
        t.push_str(&text[..at]);
        t.push_str(&text[at + mention.len()..]);
        return Some(t.trim().to_string());
    }
    let replied_to_bot = m
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| u.id == bot_id);
    replied_to_bot.then(|| text.to_string())
}

/// The log's channel name for this bot.
pub const CHANNEL: &str = "telegram";

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    #[command(description = "welcome, and what I can do")]
    Start,
    #[command(description = "how to use workhealth")]
    Help,
    #[command(description = "browse the guidance by topic")]
    Topics,
    #[command(description = "free programmes and helplines for your area")]
    Programmes,
    #[command(description = "set your region for local help")]
    Region,
    #[command(description = "what I keep and why")]
    Privacy,
    #[command(description = "delete your questions and settings")]
    Forget,
}

/// Everything a handler needs; shared by all chats.
pub struct BotState {
    pub live: Arc<Live>,
    pub log: Arc<Log>,
    /// The client for every reply (crisis replies too, by [`send_urgent`]: never paced).
    pub tg: Tg,
    pub metrics: Arc<Metrics>,
    /// The bot's own username and id, once getMe has answered (in the background, so that
    /// answering never waits for it: only group messages need it).
    pub me: Identity,
    /// Each chat's last question, for follow-ups: in memory only, for
    /// [`FOLLOW_UP_WINDOW`], and dropped by `/forget`.
    pub recent: Recent,
}

/// The bot's username and user id, known once getMe answers.
pub struct Identity(tokio::sync::watch::Sender<Option<(String, UserId)>>);

impl Default for Identity {
    fn default() -> Self {
        Identity(tokio::sync::watch::Sender::new(None))
    }
}

impl Identity {
    pub fn set(&self, username: String, id: UserId) {
        self.0.send_replace(Some((username, id)));
    }

    /// The username and id, if known yet.
    pub fn get(&self) -> Option<(String, UserId)> {
        self.0.borrow().clone()
    }

    /// The username and id, waiting for getMe if need be.
    pub async fn wait(&self) -> (String, UserId) {
        let mut rx = self.0.subscribe();
        match rx.wait_for(|m| m.is_some()).await {
            Ok(m) => m.clone().unwrap_or_else(|| (String::new(), UserId(0))),
            // The sender lives as long as `self`: cannot happen.
            Err(_) => (String::new(), UserId(0)),
        }
    }
}

/// Each chat's previous question and when it was asked (never written anywhere).
#[derive(Default)]
pub struct Recent(std::sync::Mutex<std::collections::HashMap<i64, (Instant, Previous)>>);

impl Recent {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, (Instant, Previous)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chat's previous question, if asked within [`FOLLOW_UP_WINDOW`].
    pub fn get(&self, chat: i64) -> Option<Previous> {
        let mut m = self.lock();
        match m.get(&chat) {
            Some((at, p)) if at.elapsed() < FOLLOW_UP_WINDOW => Some(p.clone()),
            Some(_) => {
                m.remove(&chat);
                None
            }
            None => None,
        }
    }

    pub fn set(&self, chat: i64, p: Previous) {
        let mut m = self.lock();
        if m.len() >= 10_000 {
            m.retain(|_, (at, _)| at.elapsed() < FOLLOW_UP_WINDOW);
        }
        m.insert(chat, (Instant::now(), p));
    }

    /// After a reply: remember it, or forget the chat's context after a crisis.
    pub fn after(&self, chat: i64, reply: &Reply) {
        match Previous::of(reply) {
            Some(p) => self.set(chat, p),
            None if reply.outcome == Outcome::Crisis => self.forget(chat),
            None => {}
        }
    }

    /// A pick from the choices: the entry now shown for the previous question.
    pub fn picked(&self, chat: i64, entry: &str) {
        if let Some((_, p)) = self.lock().get_mut(&chat) {
            p.entry = Some(entry.to_string());
        }
    }

    pub fn forget(&self, chat: i64) {
        self.lock().remove(&chat);
    }
}

impl BotState {
    fn key(&self, chat: ChatId) -> UserKey {
        self.log.user_key(CHANNEL, chat.0)
    }

    /// Handles one update. Never panics outward: a panic in handling is caught, logged, and
    /// the chat gets an apology, so one odd update cannot take down the dispatcher.
    pub async fn handle(self: Arc<Self>, update: Update) {
        let chat = update.chat().map(|c| c.id);
        let r = std::panic::AssertUnwindSafe(self.clone().dispatch(update))
            .catch_unwind()
            .await;
        if r.is_err() {
            tracing::error!("handling an update panicked; the bot carries on");
            if let Some(chat) = chat {
                self.say(chat, words::SOMETHING_WENT_WRONG).await;
            }
        }
    }

    /// Whether this update is a message whose reply would be the crisis reply.
    pub fn is_crisis(&self, update: &Update) -> bool {
        let UpdateKind::Message(m) = &update.kind else {
            return false;
        };
        // In a group before getMe has answered, the bot cannot tell it is addressed: the
        // message waits in its lane instead.
        let me = self.me.get();
        if me.is_none() && !m.chat.is_private() {
            return false;
        }
        let (name, id) = me.unwrap_or_else(|| (String::new(), UserId(0)));
        let Some(text) = m.text().and_then(|t| addressed(m, t, &name, id)) else {
            return false;
        };
        !text.starts_with('/')
            && self.live.get().reply(&Context::default(), &text).outcome == Outcome::Crisis
    }

    /// The question id for an update: the same each time that update is handled (so one
    /// delivered again after a crash finds its row, not a second one), and like a random id
    /// to anyone without the pseudonymisation key.
    fn question_id(&self, update: u32) -> i64 {
        let k = self.log.user_key("telegram-update", i64::from(update));
        let n = u64::from_str_radix(&k.as_str()[..14], 16).unwrap_or(0);
        (n & ((1 << 53) - 1)).max(1) as i64
    }

    async fn dispatch(self: Arc<Self>, update: Update) {
        let update_id = update.id.0;
        match update.kind {
            UpdateKind::Message(m) => {
                self.metrics.updates.inc("message");
                self.on_message(m, update_id).await
            }
            UpdateKind::EditedMessage(m) => {
                self.metrics.updates.inc("edited_message");
                if m.chat.is_private() {
                    self.say(m.chat.id, words::EDITED).await;
                }
            }
            UpdateKind::CallbackQuery(q) => {
                self.metrics.updates.inc("callback_query");
                self.on_callback(q).await
            }
            _ => self.metrics.updates.inc("other"),
        }
    }

    async fn say(&self, chat: ChatId, html: &str) {
        let msgs = tgr::text(&[html.to_string()], Vec::new());
        send_all(&self.tg, &self.metrics, chat, &msgs, None).await;
    }

    /// Sends one of the bot's menus.
    async fn menu(&self, chat: ChatId, m: &Menu) {
        send_all(&self.tg, &self.metrics, chat, &tgr::menu(m), None).await;
    }

    /// Sends a reply with no question behind it ("Talk to someone", /programmes).
    async fn show(&self, chat: ChatId, r: &Reply) {
        send_all(&self.tg, &self.metrics, chat, &tgr::reply(r, None), None).await;
    }

    async fn on_message(self: Arc<Self>, m: Message, update_id: u32) {
        let chat = m.chat.id;
        if m.sticker().is_some() && m.chat.is_private() {
            // A sticker is small talk: a friendly word, logged as such.
            self.on_question(chat, crate::assistant::smalltalk::STICKER, update_id)
                .await;
            return;
        }
        let Some(text) = m.text() else {
            // Photos, voice, documents, locations...: a polite word in private
            // chats; silence in groups, where they are not for the bot.
            if m.chat.is_private() {
                self.say(chat, words::NOT_TEXT).await;
            }
            return;
        };
        // Who the bot is matters in groups, and for a command naming a bot: only then is
        // getMe waited for.
        let named = text
            .split_whitespace()
            .next()
            .is_some_and(|w| w.starts_with('/') && w.contains('@'));
        let (username, bot_id) = if m.chat.is_private() && !named {
            self.me.get().unwrap_or_else(|| (String::new(), UserId(0)))
        } else {
            self.me.wait().await
        };
        let Some(text) = addressed(&m, text, &username, bot_id) else {
            return;
        };
        if text.trim().is_empty() {
            self.say(chat, words::NOT_TEXT).await;
            return;
        }
        if text.starts_with('/') {
            match Command::parse(&text, &username) {
                Ok(cmd) => self.on_command(chat, cmd).await,
                Err(_) => {
                    // A command for another bot in a group is not ours to answer.
                    let for_other_bot = text
                        .split_whitespace()
                        .next()
                        .and_then(|c| c.split_once('@'))
                        .is_some_and(|(_, bot)| !bot.eq_ignore_ascii_case(&username));
                    if !for_other_bot {
                        self.say(chat, words::UNKNOWN_COMMAND).await;
                    }
                }
            }
            return;
        }
        self.on_question(chat, &text, update_id).await;
    }

    async fn on_question(&self, chat: ChatId, text: &str, update_id: u32) {
        let started = Instant::now();
        let key = self.key(chat);
        let cx = Context {
            region: self.log.region_async(&key).await,
        };
        let assistant = self.live.get();
        let previous = self.recent.get(chat.0);
        let reply = assistant.reply_after(&cx, text, previous.as_ref());
        self.recent.after(chat.0, &reply);
        let id = self.question_id(update_id);
        let messages = tgr::reply(&reply, Some(id));
        self.metrics.questions.inc(reply.outcome.as_str());
        self.metrics.reply_latency.observe(started.elapsed());
        self.log
            .record(new_question(id, key, text, &reply, tgr::as_sent(&messages)));
        if reply.outcome == Outcome::Crisis {
            send_urgent(&self.tg, &self.metrics, chat, &messages, Some(id)).await;
        } else {
            send_all(&self.tg, &self.metrics, chat, &messages, Some(id)).await;
        }
    }

    async fn on_command(&self, chat: ChatId, cmd: Command) {
        let a = self.live.get();
        match cmd {
            Command::Start => {
                self.say(
                    chat,
                    &format!("{}\n\n{}", words::WELCOME, words::PRIVACY_SHORT),
                )
                .await;
                self.menu(chat, &menu::regions(a.content())).await;
            }
            Command::Help => self.say(chat, words::HELP).await,
            Command::Privacy => self.say(chat, words::PRIVACY).await,
            Command::Topics => self.menu(chat, &menu::topics(a.content())).await,
            Command::Region => self.menu(chat, &menu::regions(a.content())).await,
            Command::Programmes => self.programmes(chat).await,
            Command::Forget => self.menu(chat, &menu::forget()).await,
        }
    }

    async fn programmes(&self, chat: ChatId) {
        let cx = Context {
            region: self.log.region_async(&self.key(chat)).await,
        };
        self.show(chat, &self.live.get().programmes(&cx)).await;
    }

    async fn on_callback(&self, q: CallbackQuery) {
        let data = q.data.clone().unwrap_or_default();
        let chat = q
            .message
            .as_ref()
            .map(|m: &MaybeInaccessibleMessage| m.chat().id);
        let parsed = Callback::decode(&data);
        let Some(chat) = chat else {
            answer_callback(
                &self.tg,
                &self.metrics,
                q.id,
                Some(words::NOTICE_OUT_OF_DATE),
            )
            .await;
            return;
        };
        let a = self.live.get();
        let key = self.key(chat);
        let Some(cb) = parsed else {
            answer_callback(&self.tg, &self.metrics, q.id, None).await;
            self.say(chat, words::STALE).await;
            return;
        };
        match cb {
            Callback::Feedback {
                question,
                helpful,
                entry,
            } => {
                answer_callback(&self.tg, &self.metrics, q.id, Some(words::NOTICE_THANKS)).await;
                let fb = if helpful {
                    Feedback::Helpful
                } else {
                    Feedback::Unhelpful
                };
                // Attached to the entry the buttons were under (it may not be the one the
                // row shows, if another was picked since).
                if let Some(e) = entry.filter(|e| a.content().kind_of(e).is_some()) {
                    self.log.shown(&key, question, &e, None);
                }
                self.log.feedback(&key, question, fb);
                if !helpful {
                    self.menu(chat, &menu::unhelpful()).await;
                }
            }
            Callback::Show { id, question } => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                let cx = Context {
                    region: self.log.region_async(&key).await,
                };
                match a.show(&cx, &id) {
                    Some(reply) => {
                        let msgs = tgr::reply(&reply, question);
                        if let Some(q) = question {
                            // A pick for a question ("which did you mean", a runner-up):
                            // its row records the entry and what was sent.
                            self.log.shown(&key, q, &id, Some(tgr::as_sent(&msgs)));
                            self.recent.picked(chat.0, &id);
                        }
                        send_all(&self.tg, &self.metrics, chat, &msgs, question).await;
                    }
                    None => self.say(chat, words::STALE).await,
                }
            }
            Callback::ReadMore(id) => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                let cx = Context {
                    region: self.log.region_async(&key).await,
                };
                match a.show(&cx, &id) {
                    Some(reply) => {
                        let msgs = tgr::more(&reply);
                        send_all(&self.tg, &self.metrics, chat, &msgs, None).await;
                    }
                    None => self.say(chat, words::STALE).await,
                }
            }
            Callback::Topics => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                self.menu(chat, &menu::topics(a.content())).await;
            }
            Callback::Topic(t) => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                match menu::topic(a.content(), &t) {
                    Some(m) => self.menu(chat, &m).await,
                    None => self.say(chat, words::STALE).await,
                }
            }
            cb @ (Callback::TalkToSomeone | Callback::CrisisLines) => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                let cx = Context {
                    region: self.log.region_async(&key).await,
                };
                let reply = if cb == Callback::CrisisLines {
                    a.crisis_lines(&cx)
                } else {
                    a.talk_to_someone(&cx)
                };
                self.show(chat, &reply).await;
            }
            Callback::Programmes => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                self.programmes(chat).await;
            }
            Callback::Region(r) => {
                let region = r.and_then(|r| a.content().region(&r));
                answer_callback(&self.tg, &self.metrics, q.id, Some(words::NOTICE_SAVED)).await;
                self.log.set_region(&key, region.map(|r| r.id.clone()));
                let html = words::region_saved(region.map(|r| r.name.as_str()));
                self.say(chat, &html).await;
            }
            Callback::Forget(false) => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                self.say(chat, words::NOTHING_DELETED).await;
            }
            Callback::Forget(true) => {
                answer_callback(&self.tg, &self.metrics, q.id, None).await;
                self.recent.forget(chat.0);
                // After a key rotation, rows written under the previous key are theirs too.
                let mut result = self.log.forget(&key).await;
                if let (Ok(n), Some(old)) = (&result, self.log.previous_user_key(CHANNEL, chat.0)) {
                    result = self.log.forget(&old).await.map(|m| n + m);
                }
                let html = match result {
                    Ok(n) => words::forgotten(n),
                    Err(e) => {
                        tracing::error!(error = %e, "/forget failed");
                        words::FORGET_FAILED.to_string()
                    }
                };
                self.say(chat, &html).await;
            }
        }
    }
}

fn new_question(id: i64, user: UserKey, text: &str, r: &Reply, sent: String) -> NewQuestion {
    NewQuestion {
        id,
        asked_at: Utc::now(),
        user,
        region: r.region.clone(),
        channel: CHANNEL.to_string(),
        text: text.chars().take(4096).collect(),
        outcome: r.outcome,
        results: logged_results(r),
        shown_id: match r.outcome {
            Outcome::Answer | Outcome::Crisis => r.shown.as_ref().map(|s| s.id().to_string()),
            _ => None,
        },
        content_digest: r.content_digest.clone(),
        reply_text: Some(sent),
    }
}

/// The results a question's row keeps: the ranked ids with their scores, led by
/// `follow_up:<entry>` when the message was taken as a follow-up, and — when the crisis
/// check fired, or its meaning layer came near — by `crisis:<layer>` (`phrase`, `structure`,
/// `meaning`, or `near` for a message that came close without firing) with the closest crisis
/// example's similarity, so reviewers can see which layer fired and the near-misses.
fn logged_results(r: &Reply) -> Vec<(String, f64)> {
    let sim = r.crisis_similarity.map(f64::from);
    let lead = match &r.crisis {
        Some(signal) => Some((
            format!("crisis:{}", signal.layer.as_str()),
            sim.unwrap_or(1.0),
        )),
        None => sim
            .filter(|s| *s >= CRISIS_NEAR)
            .map(|s| ("crisis:near".to_string(), s)),
    };
    // A follow-up says so, with the previous entry it was taken with.
    let follow_up = r.follow_up.as_ref().map(|f| {
        let entry = f.entry.as_deref().unwrap_or("-");
        (format!("follow_up:{entry}"), 1.0)
    });
    lead.into_iter()
        .chain(follow_up)
        .chain(r.results.iter().map(|x| (x.id.clone(), x.score)))
        .collect()
}

/// A message at least this similar to a crisis example is logged as a near-miss.
const CRISIS_NEAR: f64 = 0.45;
