//! How failed logins slow down: per account name and per client address ([`BackOff`]), a
//! few failures free, then a wait that doubles (30 s up to 15 minutes), one failure forgiven
//! for every 5 quiet minutes so the back-off decays instead of locking for good. A reviewer's
//! count lives in the store (compare and set, in [`super::auth`]); names that are not
//! accounts and client addresses are counted in memory ([`Table`]), so they back off alike.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{LazyLock, Mutex};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use chrono::{DateTime, Utc};

/// The failure, in a row, from which an account must wait before its next try.
pub const LOCK_AFTER: u32 = 5;

/// Failures counted (decayed), and when the next attempt may be made.
pub type Failures = (u32, Option<DateTime<Utc>>);

/// How failed logins slow down one key (an account, or a client address).
#[derive(Debug, Clone, Copy)]
pub struct BackOff {
    /// Failures in a row that cost no wait.
    pub free: u32,
    /// The wait after the first failure beyond `free`; each further one doubles it.
    pub base_secs: i64,
    pub max_secs: i64,
    /// One failure is forgiven for every this many seconds without one.
    pub forgive_secs: i64,
}

/// Per account name (known or not).
pub const ACCOUNT: BackOff = BackOff {
    free: LOCK_AFTER - 1,
    base_secs: 30,
    max_secs: 15 * 60,
    forgive_secs: 5 * 60,
};
/// Per client address, over every name it tries.
pub const ADDRESS: BackOff = BackOff {
    free: 10,
    base_secs: 30,
    max_secs: 15 * 60,
    forgive_secs: 5 * 60,
};

impl BackOff {
    /// The wait after `failures` in a row.
    pub fn wait(&self, failures: u32) -> chrono::Duration {
        if failures <= self.free {
            return chrono::Duration::zero();
        }
        let doublings = (failures - self.free - 1).min(30);
        chrono::Duration::seconds(
            self.base_secs
                .saturating_mul(1i64 << doublings)
                .min(self.max_secs),
        )
    }

    /// Counts an attempt at `now` before its password is checked: the new state, or how long
    /// to wait when the key is still backing off (nothing is counted then). Failures decay: one
    /// is forgiven for each `forgive_secs` since the last.
    pub fn reserve(
        &self,
        state: Failures,
        now: DateTime<Utc>,
    ) -> Result<Failures, chrono::Duration> {
        let (failures, next) = state;
        if let Some(n) = next
            && n > now
        {
            return Err(n - now);
        }
        let forgiven = match next {
            Some(n) => {
                let last = n - self.wait(failures);
                ((now - last).num_seconds().max(0) / self.forgive_secs.max(1)).min(u32::MAX as i64)
                    as u32
            }
            None => u32::MAX,
        };
        let failures = failures.saturating_sub(forgiven).saturating_add(1);
        Ok((failures, Some(now + self.wait(failures))))
    }

    /// True when a state has fully decayed (nothing left to remember).
    fn forgotten(&self, state: Failures, now: DateTime<Utc>) -> bool {
        match state.1 {
            None => true,
            Some(n) => {
                n <= now
                    && (now - (n - self.wait(state.0))).num_seconds()
                        >= self.forgive_secs * i64::from(state.0)
            }
        }
    }
}

/// An in-memory back-off table (unknown names, client addresses). When full, decayed entries go
/// first; a table still full after that is cleared.
pub(super) struct Table<K>(Mutex<HashMap<K, Failures>>);

const TABLE_MAX: usize = 10_000;

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    /// Counts an attempt (see [`BackOff::reserve`]): the state before and after.
    pub(super) fn reserve(
        &self,
        p: &BackOff,
        key: &K,
        now: DateTime<Utc>,
    ) -> Result<(Failures, Failures), chrono::Duration> {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() >= TABLE_MAX && !t.contains_key(key) {
            t.retain(|_, s| !p.forgotten(*s, now));
            if t.len() >= TABLE_MAX {
                t.clear();
            }
        }
        let before = t.get(key).copied().unwrap_or((0, None));
        let after = p.reserve(before, now)?;
        t.insert(key.clone(), after);
        Ok((before, after))
    }

    /// Takes back one counted attempt (it succeeded, or was never checked).
    pub(super) fn release(&self, key: &K) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = t.get_mut(key) {
            s.0 = s.0.saturating_sub(1);
        }
    }
}

/// Failed logins of names that are not accounts, so they back off like real ones.
pub(super) static UNKNOWN: LazyLock<Table<String>> =
    LazyLock::new(|| Table(Mutex::new(HashMap::new())));
/// Failed logins per client address.
pub(super) static ADDRESSES: LazyLock<Table<IpAddr>> =
    LazyLock::new(|| Table(Mutex::new(HashMap::new())));

/// The client's address: the peer's, or, when the peer is on this machine (a reverse proxy),
/// the last address in `X-Forwarded-For` (the one the proxy added). IPv6 addresses count by
/// their /64, which one client usually has whole.
pub(super) fn client_addr(headers: &HeaderMap, ext: &Extensions) -> Option<IpAddr> {
    let peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    };
    let ip = match peer {
        Some(p) if !p.is_loopback() => Some(p),
        Some(p) => forwarded().or(Some(p)),
        None => forwarded(),
    }?;
    Some(match ip {
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(
                seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0,
            ))
        }
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn the_wait_grows_from_the_fifth_failure_and_is_capped() {
        let secs = |f| ACCOUNT.wait(f).num_seconds();
        assert_eq!((secs(0), secs(1), secs(4)), (0, 0, 0));
        assert_eq!((secs(5), secs(6), secs(7)), (30, 60, 120));
        assert_eq!(secs(10), 15 * 60);
        assert_eq!(secs(u32::MAX), 15 * 60);
        assert_eq!(ADDRESS.wait(10).num_seconds(), 0);
        assert_eq!(ADDRESS.wait(11).num_seconds(), 30);
    }

    #[test]
    fn a_burst_gets_five_guesses_then_waits() {
        // Forty attempts at the same moment: each is counted before the next is looked at.
        let mut state: Failures = (0, None);
        let mut let_through = 0;
        for _ in 0..40 {
            match ACCOUNT.reserve(state, at(0)) {
                Ok(next) => {
                    state = next;
                    let_through += 1;
                }
                Err(wait) => assert_eq!(wait.num_seconds(), 30),
            }
        }
        assert_eq!(let_through, LOCK_AFTER);
        assert_eq!(state, (5, Some(at(30))));
        // After the wait, one more try doubles it.
        let state = ACCOUNT.reserve(state, at(30)).unwrap();
        assert_eq!(state, (6, Some(at(90))));
        assert!(ACCOUNT.reserve(state, at(89)).is_err());
    }

    #[test]
    fn the_count_decays_so_a_slow_attacker_cannot_keep_an_account_paused() {
        // Five quick failures, then one try every 15 minutes (the old lock's length).
        let mut state: Failures = (0, None);
        for _ in 0..5 {
            state = ACCOUNT.reserve(state, at(0)).unwrap();
        }
        for round in 1..=20 {
            let t = at(round * 15 * 60);
            state = ACCOUNT
                .reserve(state, t)
                .expect("never refused at this pace");
            // The account is free again at once: the reviewer is never shut out.
            assert_eq!(state.1, Some(t), "round {round}: {state:?}");
        }
        assert_eq!(state.0, 1);
        // Quiet for long enough, everything is forgiven.
        let s = (7, Some(at(0)));
        assert_eq!(ACCOUNT.reserve(s, at(3600)).unwrap().0, 1);
        assert!(ACCOUNT.forgotten((3, Some(at(0))), at(15 * 60)));
        assert!(!ACCOUNT.forgotten((3, Some(at(0))), at(14 * 60)));
    }

    #[test]
    fn client_addresses_come_from_the_peer_or_a_local_proxy() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        let mut local = Extensions::new();
        local.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        let mut remote = Extensions::new();
        remote.insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 5000))));
        // Behind a local proxy, the address the proxy added (the last); a remote peer's own
        // address, whatever it claims.
        assert_eq!(client_addr(&h, &local), "203.0.113.9".parse().ok());
        assert_eq!(client_addr(&h, &remote), "198.51.100.7".parse().ok());
        assert_eq!(
            client_addr(&HeaderMap::new(), &local),
            "127.0.0.1".parse().ok()
        );
        // IPv6 clients count by their /64.
        let mut v6 = Extensions::new();
        v6.insert(ConnectInfo(
            "[2001:db8:1:2:3:4:5:6]:443".parse::<SocketAddr>().unwrap(),
        ));
        assert_eq!(
            client_addr(&HeaderMap::new(), &v6),
            "2001:db8:1:2::".parse().ok()
        );
    }
}
