//! Pacing sends to Telegram's rate limits, done here rather than by teloxide's `Throttle`
//! adaptor, because replies go straight over the bot's HTTP client ([`super::send`]):
//! teloxide's request path waits 10 s after every server error before it reports one.
//!
//! The limits are those `Throttle` keeps by default: at most [`OVERALL_PER_SEC`] messages a
//! second in all, one a second to any one chat, and [`GROUP_PER_MIN`] a minute to a group.
//! A slot is taken when it is granted, so waiting callers never exceed the limits together.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use std::time::Instant;

/// Messages a second to all chats together.
pub const OVERALL_PER_SEC: usize = 30;
/// Messages a second to one chat.
pub const CHAT_PER_SEC: usize = 1;
/// Messages a minute to one group (a chat with a negative id).
pub const GROUP_PER_MIN: usize = 20;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// Keeps sends within Telegram's limits; shared by every chat.
#[derive(Default)]
pub struct Pace {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When each message of the last second was granted.
    overall: VecDeque<Instant>,
    /// Per chat, when each message of the last minute was granted.
    chats: HashMap<i64, VecDeque<Instant>>,
}

impl State {
    /// When `chat` may next be sent to (`None`: now), after dropping what is too old.
    fn next_slot(&mut self, chat: i64, now: Instant) -> Option<Instant> {
        while self
            .overall
            .front()
            .is_some_and(|t| now.duration_since(*t) >= SECOND)
        {
            self.overall.pop_front();
        }
        let mut at: Option<Instant> = None;
        let mut later = |t: Instant| at = Some(at.map_or(t, |a| a.max(t)));
        if self.overall.len() >= OVERALL_PER_SEC {
            later(self.overall[self.overall.len() - OVERALL_PER_SEC] + SECOND);
        }
        if let Some(sent) = self.chats.get_mut(&chat) {
            while sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= MINUTE)
            {
                sent.pop_front();
            }
            let last_second = sent
                .iter()
                .filter(|t| now.duration_since(**t) < SECOND)
                .count();
            if last_second >= CHAT_PER_SEC {
                later(sent[sent.len() - CHAT_PER_SEC] + SECOND);
            }
            if chat < 0 && sent.len() >= GROUP_PER_MIN {
                later(sent[sent.len() - GROUP_PER_MIN] + MINUTE);
            }
        }
        at.filter(|t| *t > now)
    }

    fn take(&mut self, chat: i64, now: Instant) {
        self.overall.push_back(now);
        if self.chats.len() >= 10_000 {
            self.chats
                .retain(|_, s| s.back().is_some_and(|t| now.duration_since(*t) < MINUTE));
        }
        self.chats.entry(chat).or_default().push_back(now);
    }
}

impl Pace {
    /// Waits until a message may be sent to `chat`, and takes that slot.
    pub async fn wait(&self, chat: i64) {
        loop {
            let until = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match s.next_slot(chat, now) {
                    None => {
                        s.take(chat, now);
                        return;
                    }
                    Some(t) => t,
                }
            };
            tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When each of `chats` (in order, one message each) is first allowed, from `t0`, each
    /// sent as soon as allowed.
    fn grants(s: &mut State, t0: Instant, chats: &[i64]) -> Vec<Duration> {
        let mut now = t0;
        chats
            .iter()
            .map(|c| {
                if let Some(t) = s.next_slot(*c, now) {
                    now = t;
                }
                assert_eq!(s.next_slot(*c, now), None, "allowed when it said");
                s.take(*c, now);
                now - t0
            })
            .collect()
    }

    #[test]
    fn one_chat_gets_one_message_a_second() {
        let mut s = State::default();
        let t0 = Instant::now();
        let at = grants(&mut s, t0, &[7, 7, 7]);
        assert_eq!(at, vec![Duration::ZERO, SECOND, 2 * SECOND]);
        // Another chat is not held back by the first.
        assert_eq!(s.next_slot(8, t0 + 2 * SECOND), None);
    }

    #[test]
    fn all_chats_together_get_thirty_a_second() {
        let mut s = State::default();
        let chats: Vec<i64> = (1..=OVERALL_PER_SEC as i64 + 1).collect();
        let at = grants(&mut s, Instant::now(), &chats);
        assert!(at[..OVERALL_PER_SEC].iter().all(|d| d.is_zero()), "{at:?}");
        assert_eq!(at[OVERALL_PER_SEC], SECOND);
    }

    #[test]
    fn a_group_gets_twenty_a_minute() {
        let mut s = State::default();
        let at = grants(&mut s, Instant::now(), &[-5; GROUP_PER_MIN + 1]);
        assert_eq!(at[GROUP_PER_MIN - 1], (GROUP_PER_MIN as u32 - 1) * SECOND);
        assert_eq!(at[GROUP_PER_MIN], MINUTE);
    }

    #[tokio::test]
    async fn waiting_takes_the_slot() {
        let pace = Pace::default();
        let t0 = std::time::Instant::now();
        pace.wait(9).await;
        pace.wait(9).await;
        let took = t0.elapsed();
        assert!(took >= SECOND && took < 3 * SECOND, "{took:?}");
    }
}
