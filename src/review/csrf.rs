//! CSRF tokens: a random token per session, put in every form's hidden `csrf` field and
//! compared in constant time on every POST. Before login there is no session, so the login
//! form carries a token the server signed ([`login_token`]): its issue time, a random nonce and
//! an HMAC-SHA256 of both under a server secret, sent both as a cookie and in the form. A pair
//! the client made up does not verify.

/// The name of the hidden form field.
pub const FIELD: &str = "csrf";

/// 32 random bytes as 64 hex characters.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(hex::encode(b))
}

/// How long a login token stays valid, in seconds.
pub const LOGIN_TOKEN_SECS: i64 = 3600;

fn login_mac(key: &[u8; 32], issued: &str, nonce: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(b"login:");
    mac.update(issued.as_bytes());
    mac.update(b".");
    mac.update(nonce.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new login token issued at `now` (Unix seconds): `ISSUED.NONCE.MAC`, all hex.
pub fn login_token(key: &[u8; 32], now: i64) -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    let issued = format!("{:x}", now.max(0));
    let nonce = hex::encode(b);
    let mac = login_mac(key, &issued, &nonce);
    Ok(format!("{issued}.{nonce}.{mac}"))
}

/// The age in seconds of a login token this server signed, if it is one and still valid at
/// `now` (issued at most [`LOGIN_TOKEN_SECS`] ago, and not in the future beyond a minute).
pub fn login_token_age(key: &[u8; 32], token: &str, now: i64) -> Option<i64> {
    if token.len() > 128 {
        return None;
    }
    let mut parts = token.split('.');
    let (issued, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || nonce.len() != 32 || issued.is_empty() || issued.len() > 12 {
        return None;
    }
    if !matches(Some(mac), &login_mac(key, issued, nonce)) {
        return None;
    }
    let at = i64::from_str_radix(issued, 16).ok()?;
    let age = now - at;
    (-60..=LOGIN_TOKEN_SECS)
        .contains(&age)
        .then_some(age.max(0))
}

/// Compares two tokens without stopping at the first difference. An empty token never
/// matches.
pub fn matches(given: Option<&str>, expected: &str) -> bool {
    let Some(given) = given else {
        return false;
    };
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let mut kv = pair.splitn(2, |&b| b == b'=');
        let k = decode(kv.next()?);
        (k == name).then(|| decode(kv.next().unwrap_or_default()))
    })
}

/// Decodes one form component: `+` is a space, `%XX` a byte; invalid UTF-8 is replaced.
fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_token().unwrap());
    }

    #[test]
    fn login_tokens_are_signed_and_expire() {
        let key = [7u8; 32];
        let now = 1_800_000_000;
        let t = login_token(&key, now).unwrap();
        assert_eq!(login_token_age(&key, &t, now), Some(0));
        assert_eq!(login_token_age(&key, &t, now + 600), Some(600));
        assert_eq!(login_token_age(&key, &t, now + LOGIN_TOKEN_SECS + 1), None);
        assert_eq!(login_token_age(&key, &t, now - 3600), None);
        assert_ne!(
            t,
            login_token(&key, now).unwrap(),
            "a fresh nonce each time"
        );
        // Another server's key, a changed character, or a made-up token do not verify.
        assert_eq!(login_token_age(&[8u8; 32], &t, now), None);
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(login_token_age(&key, &forged, now), None);
        for made_up in ["", "x", &"a".repeat(64), "1.2.3", &format!("{t}.x")] {
            assert_eq!(login_token_age(&key, made_up, now), None, "{made_up}");
        }
        // Moving the issue time forward breaks the MAC.
        let (_, rest) = t.split_once('.').unwrap();
        let later = format!("{:x}.{rest}", now + 100);
        assert_eq!(login_token_age(&key, &later, now + 100), None);
    }

    #[test]
    fn compare() {
        assert!(matches(Some("abc"), "abc"));
        assert!(!matches(Some("abd"), "abc"));
        assert!(!matches(Some("ab"), "abc"));
        assert!(!matches(None, "abc"));
        assert!(!matches(Some(""), ""));
    }

    #[test]
    fn fields() {
        let body = b"note=a+b%26c&csrf=12%41f&csrf=second&x";
        assert_eq!(form_field(body, "csrf").as_deref(), Some("12Af"));
        assert_eq!(form_field(body, "note").as_deref(), Some("a b&c"));
        assert_eq!(form_field(body, "x").as_deref(), Some(""));
        assert_eq!(form_field(body, "y"), None);
        assert_eq!(form_field(b"a=%4", "a").as_deref(), Some("%4"));
        assert_eq!(form_field(b"a=%zz", "a").as_deref(), Some("%zz"));
    }
}
