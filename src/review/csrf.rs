//! CSRF tokens: a random token per session (and, before login, a double-submit cookie), put in
//! every form's hidden `csrf` field and compared in constant time on every POST.

/// The name of the hidden form field.
pub const FIELD: &str = "csrf";

/// 32 random bytes as 64 hex characters.
pub fn random_token() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("cannot get random bytes: {e}"))?;
    Ok(hex::encode(b))
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
