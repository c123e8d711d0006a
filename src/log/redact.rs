//! Redaction of personal details from a question before the log stores it.
//!
//! [`redact`] replaces personal details with placeholders and copies everything else
//! byte-for-byte. What it looks for, in order of precedence where two kinds overlap (the first
//! kind that claims a stretch of text keeps it):
//!
//! | kind | placeholder | examples |
//! | --- | --- | --- |
//! | URL with a query string | `[url]` | `https://x.com/a?b=c`, `www.x.co.uk/p?id=3` |
//! | email address | `[email]` | `jane.doe@example.com`, `siân@enghraifft.cymru` |
//! | card-like digit run | `[card]` | `4111 1111 1111 1111`, `5500-0000-0000-0004` |
//! | National Insurance number | `[ni number]` | `AB123456C`, `ab 12 34 56 c` |
//! | UK phone number | `[phone]` | `07700 900123`, `+44 (0)191 123 4567`, `0800 123 456` |
//! | full UK postcode | `[postcode]` | `NE1 4XF`, `ne14xf`, `EC1A 1BB`, `GIR 0AA` |
//! | full date of birth after "born", "dob", "d.o.b." or "date of birth" | `[date of birth]` | `born 12/03/1985` |
//!
//! Decisions on edge cases:
//!
//! - **URLs**: only a URL with a non-empty query string is replaced (`?` followed by at least
//!   one character that is not trailing punctuation), so `gov.uk/statutory-sick-pay` and "is it
//!   gov.uk/ssp?" are kept. A URL starting `http://`, `https://` or `www.` needs any query; a bare
//!   domain (`portal.example.co.uk/login?user=js`) needs a query with `=` in it, so prose such as
//!   "Mr.Smith?" cannot pass for one. Trailing `.,;:!?'"` and an unbalanced `)` are not part of a
//!   URL. A URL without a query is *not* shielded: a phone number or postcode inside its path is
//!   still redacted (a phone number is a phone number wherever it is).
//! - **Emails**: `local@domain.tld` with letters of any script; the domain needs a dot and a
//!   final label of two or more letters. Spelt-out forms ("jane at example dot com") are not
//!   recognised.
//! - **Cards**: 13 to 19 digits, first digit 1–9 (no card number starts with 0, so UK phone
//!   numbers such as `0044 7700 900123`, 14 digits, are never taken for cards), written as one
//!   run or as a group of four or more digits then groups of three or more, split by single
//!   spaces or dashes (so a list such as "100 200 300 400 500" is not a card). If more groups
//!   follow, the longest leading run of 13–19 digits is taken (`4111 1111 1111 1111 2027` →
//!   `[card] 2027`). There is no Luhn check: "card-like" is enough, a mistyped card number is
//!   still a card number, and any other 13–19 digit reference ("order 123456789012345") is
//!   redacted too, which is the safe side. A digit run glued to a `+`, a letter or a decimal
//!   point ("3.14159265358979") is not a card. Where a card-like run and a phone number touch
//!   ("1234 5678 9012 07700 900123") the card, first in precedence, takes what it can.
//! - **NI numbers**: two letters, six digits, suffix A–D, any case, an optional single space
//!   after the letters, between the digit pairs and before the suffix. Prefix rules as HMRC's:
//!   first letter not D F I Q U V, second not D F I O Q U V, and not BG GB KN NK NT TN ZZ. So
//!   HMRC's own example `QQ 12 34 56 C` is kept. The suffix is required: six digits after two
//!   letters without it are too often something else. One English exception: a lowercase "a"
//!   set apart after six unbroken digits is the article ("he's on 120000 a year" is kept), while
//!   `AB 123456 A`, `ab123456a` and `ab 12 34 56 a` are still NI numbers.
//! - **Phones**: UK numbers written nationally (`07700 900123`, `0191 123 4567`, `(0191) 123 4567`,
//!   `020 7946 0958`, `0300 123 1100`, `0800 123 456`, `0845 600 4321`) or internationally (`+44 7700
//!   900123`, `+447700900123`, `0044 7700 900 123`, `+44 (0)191 123 4567`, `(+44) …`), with single
//!   spaces, dashes or dots between groups. After `+44`/`0044` and an optional `(0)` the number
//!   must come to 11 digits with its leading 0 (10 for some `01` numbers and for `0800 xxx xxx`),
//!   and start `01`, `02`, `03`, `05`, `07`, `08` or `09`. When more digits follow (`07700 900123
//!   2 days`) the longest leading run of groups that makes a valid number is taken. Helplines in
//!   full-length form (`0300 123 1100`, `0800 …`) are redacted like any other number: there is no
//!   allow-list. **Short codes are kept**: `999`, `NHS 111`, `112`, `101` and the six-digit
//!   `116 123` (Samaritans) are not subscriber numbers, identify nobody, never have the shape of a
//!   UK phone number, and tell a reviewer that someone was pointed to crisis help.
//! - **Postcodes**: full postcodes only (outward and inward code, with or without one space, any
//!   case), with the Royal Mail letter rules (`Q V X` never first, `I J Z` never second, inward
//!   letters never `C I K M O V`), plus `GIR 0AA`. An outward code alone (`NE1`) is kept: it names
//!   an area, not a person, and gives reviewers the region.
//! - **Dates of birth**: only a full date (day, month and year) that follows "born", "dob",
//!   "d.o.b." or "date of birth", optionally with "on", "is", "was", "the", "of", `:` or `-`
//!   between: `12/03/1985`, `12-03-85`, `1985-03-12`, `3rd March 1985`, `3 Mar 1985`,
//!   `March 3, 1985`. The trigger word is kept ("born [date of birth]"). A year or a month and
//!   year alone ("born in 1985") is kept, and so is any date without a trigger ("from 6 April
//!   2026", "on 01/12/2026").
//! - **Boundaries**: a detail glued to a letter or digit on either side (`x07700900123`,
//!   `AB123456CD`) is not taken; punctuation, brackets, emoji and other non-letters are fine
//!   boundaries. A stretch already claimed counts as a boundary, as its placeholder will.
//! - **Idempotent**: `redact(redact(x)) == redact(x)`. No pattern takes `[` or `]` and no
//!   placeholder has a digit, so nothing matches a placeholder. Because a placeholder can free a
//!   detail that was glued to the text it replaced ("NE14XF+447700900123"), [`redact`] repeats
//!   its pass until nothing changes; with ordinary spacing one pass is enough in practice.
//!
//! Every pattern is compiled once ([`LazyLock`]); matching is linear in the text (the regex crate
//! guarantees it and each candidate is short), so a long question costs microseconds.

use std::sync::LazyLock;

use regex::Regex;

/// A stretch of the input to replace: byte range and placeholder.
type Span = (usize, usize, &'static str);

/// Replaces personal details with placeholders; leaves everything else byte-for-byte.
pub fn redact(text: &str) -> String {
    let Some(mut out) = redact_once(text) else {
        return text.to_string();
    };
    // A placeholder is a clean boundary where the text it replaced may not have been (in
    // "NE14XF+447700900123" the postcode's F is glued to the phone number until the postcode
    // is gone), so run again until nothing changes: that makes `redact` idempotent by
    // construction. Each pass that changes the text replaces some of what is left of it
    // (placeholders never match), so this ends; in practice the second pass finds nothing.
    while let Some(next) = redact_once(&out) {
        out = next;
    }
    out
}

/// One pass over the text; `None` when it has nothing to redact. The patterns run on a folded
/// copy ([`fold`]) and what they find is replaced in the original.
fn redact_once(text: &str) -> Option<String> {
    let mut spans = match fold(text) {
        None => find(text),
        Some(f) => {
            let mut mapped: Vec<Span> = Vec::new();
            for (s, e, p) in find(&f.text) {
                let (s, e) = (f.starts[s], f.ends[e - 1]);
                if !mapped.iter().any(|&(a, b, _)| s < b && a < e) {
                    mapped.push((s, e, p));
                }
            }
            mapped
        }
    };
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable_by_key(|s| s.0);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, placeholder) in spans {
        out.push_str(&text[last..start]);
        out.push_str(placeholder);
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// Every stretch to replace in `text`.
fn find(text: &str) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    // Order is precedence: an earlier kind claims its text first.
    for kind in &KINDS {
        scan(text, &mut spans, kind);
    }
    scan_dates_of_birth(text, &mut spans);
    spans
}

// ---------------------------------------------------------------------------------------------
// Folding: what the patterns see.

/// The text as the patterns see it, with, for each of its bytes, the original bytes it came
/// from.
struct Folded {
    text: String,
    starts: Vec<usize>,
    ends: Vec<usize>,
}

/// Folds disguise away so that a detail written unusually is still found: characters that
/// show nothing (zero-width spaces and joiners, soft hyphens, direction marks, variation
/// selectors) are dropped, digits of any script become ASCII digits (`٠٧٧٠٠` → `07700`),
/// dashes and the fraction and division slashes become `-` and `/`, and everything else goes
/// through Unicode NFKC, which turns full-width and other compatibility forms into plain ones
/// (`０７７００`, `＠`, `ＮＥ１`, the non-breaking and other spaces). `None` when nothing
/// changes (all ASCII, the usual case).
fn fold(text: &str) -> Option<Folded> {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return None;
    }
    let mut f = Folded {
        text: String::with_capacity(text.len()),
        starts: Vec::with_capacity(text.len()),
        ends: Vec::with_capacity(text.len()),
    };
    let push = |f: &mut Folded, c: char, start: usize, end: usize| {
        f.text.push(c);
        for _ in 0..c.len_utf8() {
            f.starts.push(start);
            f.ends.push(end);
        }
    };
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if c.is_ascii() {
            push(&mut f, c, i, end);
        } else if invisible(c) {
            continue;
        } else if let Some(d) = digit_of(c) {
            push(&mut f, d, i, end);
        } else if matches!(
            c,
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' | '\u{ff0d}'
        ) {
            push(&mut f, '-', i, end);
        } else if matches!(c, '\u{2044}' | '\u{2215}') {
            push(&mut f, '/', i, end);
        } else {
            for n in std::iter::once(c).nfkc() {
                if !invisible(n) {
                    push(&mut f, digit_of(n).unwrap_or(n), i, end);
                }
            }
        }
    }
    (f.text != text).then_some(f)
}

/// Characters that show nothing (Unicode's default-ignorable code points).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
        | '\u{ffa0}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e0fff}')
}

/// The zero of each run of ten decimal digits outside ASCII that people may type (Arabic-Indic,
/// Persian, Devanagari and the other Indic scripts, Thai, Lao, Tibetan, Myanmar, Khmer,
/// Mongolian, full-width, mathematical).
const ZEROS: &[u32] = &[
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6,
    0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
    0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e950, 0x1fbf0,
];

/// The ASCII digit for a decimal digit of another script.
fn digit_of(c: char) -> Option<char> {
    if c.is_ascii() || !c.is_numeric() {
        return None;
    }
    let u = c as u32;
    ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&u))
        .and_then(|z| char::from_digit(u - z, 10))
}

// ---------------------------------------------------------------------------------------------
// Patterns. Digits are written `[0-9]` (never `\d`, which takes any script's digits); a pattern
// with `(?i)` may match the Kelvin sign or long s for k/s, which the checks reject.

/// A URL: scheme or `www.`, or a bare domain directly followed by a path or query.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:https?://|www\.)[^\s<>"\[\]{}|\\^`]+|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?::[0-9]{1,5})?[/?][^\s<>"\[\]{}|\\^`]*"#,
    )
    .expect("URL pattern")
});

/// An email address; the local part may run over leading punctuation, trimmed by the check.
/// The domain may be a single name (`@localhost`, an office mail host).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[\p{L}\p{M}\p{N}._%+'\-]+@(?:[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}\-]*[\p{L}\p{M}\p{N}])?\.)*[\p{L}\p{M}]{2,}",
    )
    .expect("email pattern")
});

/// An email address spelt out: `jane.doe at example dot com`, `jane (at) example (dot) com`.
static SPELT_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[\p{L}\p{N}._%+\-]+[ \t]*(?:\(at\)|\[at\]|(?-u:\b)at(?-u:\b))[ \t]*[\p{L}\p{N}\-]+(?:[ \t]*(?:\(dot\)|\[dot\]|(?-u:\b)dot(?-u:\b))[ \t]*[\p{L}\p{N}\-]+)+",
    )
    .expect("spelt email pattern")
});

/// The last label of an email's domain, as [`EMAIL`] has it.
static TOP_LEVEL_DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{M}]{2,}$").expect("top-level domain pattern"));

/// A group of four or more digits, then up to six more groups of three or more, split by one
/// space or dash; the check picks the cut.
static CARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[1-9][0-9]{3,18}(?:[ \u{a0}\-][0-9]{3,18}){0,6}").expect("card pattern")
});

/// Two letters, six digits, a suffix; the check applies the prefix rules.
static NI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z]{2}[ \u{a0}]?[0-9]{2}[ \u{a0}]?[0-9]{2}[ \u{a0}]?[0-9]{2}[ \u{a0}]?[a-d]")
        .expect("NI pattern")
});

/// A phone number's start (UK international prefix, another country's `+`, bracketed area
/// code, 0, or a mobile's 7 without its 0) and up to 13 more digits with single separators
/// (space, dash, dot, slash); the check counts digits and picks the cut.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:(?:\+[ \u{a0}]?44|0044|\(\+44\))[ \u{a0}./\-]?(?:\(0\)[ \u{a0}./\-]?)?[1-9]|\+[ \u{a0}]?[1-9]|\(0[0-9]{2,5}\)[ \u{a0}./\-]?[0-9]|0[ \u{a0}./\-]?[0-9]|7[0-9])(?:[ \u{a0}./\-]?[0-9]){0,13}",
    )
    .expect("phone pattern")
});

/// A full UK postcode with the Royal Mail letter rules, or GIR 0AA.
static POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)GIR[ \u{a0}]?0AA|[A-PR-UWYZ](?:[0-9][A-HJKPSTUW0-9]?|[A-HK-Y][0-9][ABEHMNPRV-Y0-9]?)[ \u{a0}]?[0-9][ABD-HJLNP-UW-Z]{2}",
    )
    .expect("postcode pattern")
});

/// A trigger ("born", "dob", "d.o.b.", "date of birth"), filler, and a full date in `date`.
static DATE_OF_BIRTH: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
    let year = r"(?:[0-9]{4}|'?[0-9]{2})";
    let ordinal = r"(?:st|nd|rd|th)?";
    let date = format!(
        r"[0-9]{{1,2}}[/.\-][0-9]{{1,2}}[/.\-](?:[0-9]{{4}}|[0-9]{{2}})|[0-9]{{4}}[/.\-][0-9]{{1,2}}[/.\-][0-9]{{1,2}}|[0-9]{{1,2}}{ordinal}(?:\s+of)?[\s\-/.]+{month},?[\s\-/.]+{year}|{month}\s+[0-9]{{1,2}}{ordinal},?\s+{year}"
    );
    let pattern = format!(
        r"(?i)(?-u:\b)(?:born|d\.?o\.?b\.?|date\s+of\s+birth)(?:[\s:=,\-–]+(?:is|was|on|the|of)(?-u:\b))*[\s:=,\-–]*(?P<date>{date})"
    );
    Regex::new(&pattern).expect("date of birth pattern")
});

// ---------------------------------------------------------------------------------------------
// Scanning.

/// Takes a candidate's byte range; returns the range to replace, if any.
type Check = fn(&str, &[Span], usize, usize) -> Option<(usize, usize)>;

/// One kind of detail: its pattern, placeholder and check.
struct Kind {
    placeholder: &'static str,
    pattern: &'static LazyLock<Regex>,
    check: Check,
    retry: Retry,
}

/// The kinds found by one pattern and a check, in order of precedence (dates of birth, which
/// need a capture group, come last, in [`scan_dates_of_birth`]).
static KINDS: [Kind; 7] = [
    Kind {
        placeholder: "[url]",
        pattern: &URL,
        check: check_url,
        retry: Retry::AfterMatch,
    },
    Kind {
        placeholder: "[email]",
        pattern: &EMAIL,
        check: check_email,
        retry: Retry::AfterMatch,
    },
    Kind {
        placeholder: "[email]",
        pattern: &SPELT_EMAIL,
        check: check_spelt_email,
        retry: Retry::NextChar,
    },
    Kind {
        placeholder: "[card]",
        pattern: &CARD,
        check: check_card,
        retry: Retry::NextChar,
    },
    Kind {
        placeholder: "[ni number]",
        pattern: &NI,
        check: check_ni,
        retry: Retry::NextChar,
    },
    Kind {
        placeholder: "[phone]",
        pattern: &PHONE,
        check: check_phone,
        retry: Retry::NextChar,
    },
    Kind {
        placeholder: "[postcode]",
        pattern: &POSTCODE,
        check: check_postcode,
        retry: Retry::NextChar,
    },
];

/// Where to look again after a candidate is turned down.
#[derive(Clone, Copy)]
enum Retry {
    /// From the end of the candidate (no shorter match inside it could pass).
    AfterMatch,
    /// From the next character (a match starting inside it may still pass).
    NextChar,
}

/// Finds every candidate of one kind, lets `check` accept (and trim) or refuse it, and records
/// accepted stretches that no earlier kind has claimed.
fn scan(text: &str, spans: &mut Vec<Span>, kind: &Kind) {
    let mut pos = 0;
    while pos <= text.len() {
        let Some(m) = kind.pattern.find_at(text, pos) else {
            break;
        };
        match (kind.check)(text, spans, m.start(), m.end()) {
            Some((start, end)) if start < end && !overlaps(spans, start, end) => {
                spans.push((start, end, kind.placeholder));
                pos = end;
            }
            _ => {
                pos = match kind.retry {
                    Retry::AfterMatch if m.end() > m.start() => m.end(),
                    _ => next_boundary(text, m.start()),
                };
            }
        }
    }
}

/// Dates of birth: the span is the date alone, the trigger word stays.
fn scan_dates_of_birth(text: &str, spans: &mut Vec<Span>) {
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = DATE_OF_BIRTH.captures_at(text, pos) else {
            break;
        };
        let whole = caps.get(0).expect("group 0 always matches");
        if let Some(date) = caps.name("date") {
            let (start, end) = (date.start(), date.end());
            if end_ok(text, spans, end) && !overlaps(spans, start, end) {
                spans.push((start, end, "[date of birth]"));
                pos = end;
                continue;
            }
        }
        pos = next_boundary(text, whole.start());
    }
}

fn overlaps(spans: &[Span], start: usize, end: usize) -> bool {
    spans.iter().any(|&(s, e, _)| start < e && s < end)
}

/// The byte index just after the character at `i` (or `len + 1` at the end, to stop a scan).
fn next_boundary(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| i + c.len_utf8())
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The character before byte `i` as the redacted text will have it: a claimed stretch ending
/// there reads as its placeholder's closing bracket.
fn char_before(text: &str, spans: &[Span], i: usize) -> Option<char> {
    if spans.iter().any(|s| s.1 == i) {
        return Some(']');
    }
    text[..i].chars().next_back()
}

/// The character at byte `i` as the redacted text will have it (see [`char_before`]).
fn char_after(text: &str, spans: &[Span], i: usize) -> Option<char> {
    if spans.iter().any(|s| s.0 == i) {
        return Some('[');
    }
    text[i..].chars().next()
}

/// True when a detail starting at `i` is not glued to a word or a `+` before it.
fn start_ok(text: &str, spans: &[Span], i: usize) -> bool {
    !char_before(text, spans, i).is_some_and(|c| is_word(c) || c == '+')
}

/// True when a run of digits starting at `i` is a number of its own, not the decimals or
/// thousands of one before it ("3.14159…", "1,07700…").
fn digits_start_ok(text: &str, spans: &[Span], i: usize) -> bool {
    if !start_ok(text, spans, i) {
        return false;
    }
    match char_before(text, spans, i) {
        Some(c @ ('.' | ',')) => {
            !char_before(text, spans, i - c.len_utf8()).is_some_and(|d| d.is_ascii_digit())
        }
        _ => true,
    }
}

/// True when a detail ending at `i` is not glued to a word after it.
fn end_ok(text: &str, spans: &[Span], i: usize) -> bool {
    !char_after(text, spans, i).is_some_and(is_word)
}

// ---------------------------------------------------------------------------------------------
// Checks: each takes a candidate's byte range and returns the range to replace, if any.

fn check_url(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    let candidate = &text[start..end];
    let lower = candidate.get(..8).unwrap_or(candidate).to_ascii_lowercase();
    let with_scheme =
        lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.");
    match char_before(text, spans, start) {
        Some(c) if is_word(c) => return None,
        // A bare domain right after these is part of an email, a path or a longer name.
        Some('@' | '.' | '-' | '/' | ':') if !with_scheme => return None,
        _ => {}
    }
    // Trailing punctuation belongs to the sentence, and so does an unbalanced ')'.
    let mut url = candidate;
    loop {
        let last = url.chars().next_back()?;
        let trim = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            _ => false,
        };
        if !trim {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    let (_, query) = url.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    let is_query = if with_scheme {
        !query.is_empty()
    } else {
        query.contains('=')
    };
    is_query.then_some((start, start + url.len()))
}

fn check_email(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    let candidate = &text[start..end];
    let trimmed = candidate.trim_start_matches(['.', '\'', '-', '+']);
    let start = start + (candidate.len() - trimmed.len());
    if trimmed.starts_with('@') || char_before(text, spans, start).is_some_and(is_word) {
        return None;
    }
    // "jo@x.com.AB123456C": the pattern ran on to "x.com.AB"; fall back to a shorter domain
    // that ends cleanly, as the text would read once the rest is redacted.
    let at = start + trimmed.find('@')?;
    if at == start {
        return None;
    }
    let mut cut = end;
    loop {
        let domain = &text[at + 1..cut];
        let Some((head, tld)) = domain.rsplit_once('.') else {
            // A single name (`@localhost`): letters only.
            return (TOP_LEVEL_DOMAIN.is_match(domain) && end_ok(text, spans, cut))
                .then_some((start, cut));
        };
        if !head.is_empty() && TOP_LEVEL_DOMAIN.is_match(tld) && end_ok(text, spans, cut) {
            return Some((start, cut));
        }
        cut = at + 1 + head.len();
    }
}

fn check_spelt_email(
    text: &str,
    spans: &[Span],
    start: usize,
    end: usize,
) -> Option<(usize, usize)> {
    let candidate = &text[start..end];
    let trimmed = candidate.trim_start_matches(['.', '-', '+', '_', '%']);
    let start = start + (candidate.len() - trimmed.len());
    let before = char_before(text, spans, start);
    if trimmed.is_empty() || before.is_some_and(|c| is_word(c) || c == '[') {
        return None;
    }
    // The last label is the top-level domain: letters only.
    let tld = candidate
        .rsplit(|c: char| c.is_whitespace() || c == ')' || c == ']')
        .next()?;
    (TOP_LEVEL_DOMAIN.is_match(tld) && end_ok(text, spans, end)).then_some((start, end))
}

fn check_card(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    if !digits_start_ok(text, spans, start) {
        return None;
    }
    let mut digits = 0;
    let mut best = None;
    for (i, c) in text[start..end].char_indices() {
        if !c.is_ascii_digit() {
            continue;
        }
        digits += 1;
        let cut = start + i + 1;
        if (13..=19).contains(&digits)
            && !text[cut..].starts_with(|d: char| d.is_ascii_digit())
            && end_ok(text, spans, cut)
            && !overlaps(spans, start, cut)
        {
            best = Some(cut);
        }
    }
    best.map(|cut| (start, cut))
}

fn check_ni(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    let candidate = &text[start..end];
    let letters = candidate.get(..2)?.to_ascii_uppercase();
    let suffix = candidate.chars().next_back()?;
    let b = letters.as_bytes();
    if !b.iter().all(u8::is_ascii_alphabetic) || !suffix.is_ascii_alphabetic() {
        return None; // The Kelvin sign or long s, let in by case folding.
    }
    if b"DFIQUV".contains(&b[0])
        || b"DFIOQUV".contains(&b[1])
        || ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&letters.as_str())
    {
        return None;
    }
    // "he's on 120000 a year": a lone lowercase "a" after six unbroken digits is the article.
    let digits_unbroken = candidate[2..]
        .trim_start()
        .get(..6)
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if suffix == 'a'
        && candidate[..candidate.len() - 1].ends_with([' ', '\u{a0}'])
        && digits_unbroken
    {
        return None;
    }
    (start_ok(text, spans, start) && end_ok(text, spans, end)).then_some((start, end))
}

fn check_phone(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    if !digits_start_ok(text, spans, start) {
        return None;
    }
    let candidate = &text[start..end];
    let international =
        candidate.starts_with('+') || candidate.starts_with("(+") || candidate.starts_with("0044");
    let plus = candidate.starts_with('+');
    let mut digits = String::with_capacity(16);
    let mut best = None;
    for (i, c) in candidate.char_indices() {
        if !c.is_ascii_digit() {
            continue;
        }
        digits.push(c);
        let cut = start + i + 1;
        let number = is_uk_number(&digits, international)
            // Another country's number: `+`, a country code and 8 to 15 digits in all.
            || (plus && !digits.starts_with("44") && (8..=15).contains(&digits.len()))
            // A UK mobile without its leading 0.
            || (digits.len() == 10 && digits.starts_with('7'));
        if !text[cut..].starts_with(|d: char| d.is_ascii_digit())
            && number
            && phone_end_ok(text, spans, cut)
            && !overlaps(spans, start, cut)
        {
            best = Some(cut);
        }
    }
    best.map(|cut| (start, cut))
}

/// A phone number may also be glued to the extension after it (`07700 900123ext 4`).
fn phone_end_ok(text: &str, spans: &[Span], i: usize) -> bool {
    end_ok(text, spans, i)
        || text[i..]
            .get(..3)
            .is_some_and(|s| s.eq_ignore_ascii_case("ext"))
}

/// `digits` as written (with `44`/`0044` and any `(0)` when international) make a UK number.
fn is_uk_number(digits: &str, international: bool) -> bool {
    let national: String = if international {
        let Some(rest) = digits
            .strip_prefix("0044")
            .or_else(|| digits.strip_prefix("44"))
        else {
            return false;
        };
        format!("0{}", rest.strip_prefix('0').unwrap_or(rest))
    } else {
        digits.to_string()
    };
    let n = national.as_bytes();
    match n.len() {
        11 => n[0] == b'0' && b"1235789".contains(&n[1]),
        10 => national.starts_with("01") || national.starts_with("0800"),
        _ => false,
    }
}

fn check_postcode(text: &str, spans: &[Span], start: usize, end: usize) -> Option<(usize, usize)> {
    let candidate = &text[start..end];
    if !candidate.chars().all(|c| c.is_ascii() || c == '\u{a0}') {
        return None; // The Kelvin sign or long s, let in by case folding.
    }
    (start_ok(text, spans, start) && end_ok(text, spans, end)).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::redact;
    use std::time::{Duration, Instant};

    /// (input, expected output). Non-cases have the output equal to the input.
    const CASES: &[(&str, &str)] = &[
        // URLs with a query string are replaced; without one they are kept.
        (
            "See https://x.com/a?b=c for details",
            "See [url] for details",
        ),
        (
            "The form is at www.x.co.uk/p?id=3.",
            "The form is at [url].",
        ),
        (
            "(link: https://forms.example.org/ssp?employee=J.Smith&ref=22)",
            "(link: [url])",
        ),
        (
            "Clicked HTTP://Example.com/track?u=123&e=jo%40x.com yesterday",
            "Clicked [url] yesterday",
        ),
        (
            "Unsubscribe: https://mail.example.com/u?email=jane@x.com",
            "Unsubscribe: [url]",
        ),
        (
            "He sent portal.example.co.uk/login?user=jsmith to everyone",
            "He sent [url] to everyone",
        ),
        (
            "Guidance: gov.uk/statutory-sick-pay",
            "Guidance: gov.uk/statutory-sick-pay",
        ),
        (
            "https://www.gov.uk/statutory-sick-pay says 28 weeks",
            "https://www.gov.uk/statutory-sick-pay says 28 weeks",
        ),
        ("Is it on gov.uk/ssp?", "Is it on gov.uk/ssp?"),
        // Emails.
        (
            "Email me at jane.doe@example.com please",
            "Email me at [email] please",
        ),
        (
            "Contact: J.O'Neil+hr@North-East.Example.co.uk.",
            "Contact: [email].",
        ),
        (
            "Anfonwch at siân@enghraifft.cymru — diolch",
            "Anfonwch at [email] — diolch",
        ),
        ("<payroll_team@acme-ltd.uk>", "<[email]>"),
        ("'zoë.o@example.org'", "'[email]'"),
        // Cards.
        (
            "Paid with 4111 1111 1111 1111 yesterday",
            "Paid with [card] yesterday",
        ),
        (
            "card 5500-0000-0000-0004 exp 12/27",
            "card [card] exp 12/27",
        ),
        ("Amex 3782 822463 10005.", "Amex [card]."),
        ("number 4111111111111111", "number [card]"),
        ("ref 4222222222222 (13 digits)", "ref [card] (13 digits)"),
        ("4111 1111 1111 1111 2027", "[card] 2027"),
        ("scores 100 200 300 400 500", "scores 100 200 300 400 500"),
        // NI numbers.
        ("NI number AB123456C", "NI number [ni number]"),
        ("her NI is ab 12 34 56 c.", "her NI is [ni number]."),
        ("NINO: JG 103759 A", "NINO: [ni number]"),
        ("Ni: Ce123456d", "Ni: [ni number]"),
        (
            "QQ 12 34 56 C is HMRC's example",
            "QQ 12 34 56 C is HMRC's example",
        ),
        (
            "GB123456A, BG123456B, NT123456D",
            "GB123456A, BG123456B, NT123456D",
        ),
        ("AO123456B and DA123456A", "AO123456B and DA123456A"),
        ("AB123456E has a bad suffix", "AB123456E has a bad suffix"),
        ("his NI is AB 123456 A", "his NI is [ni number]"),
        ("he's on 120000 a year", "he's on 120000 a year"),
        // Phones.
        ("Call me on 07700 900123.", "Call me on [phone]."),
        ("mob: +44 7700 900123", "mob: [phone]"),
        ("0044 7700 900 123 after 6pm", "[phone] after 6pm"),
        (
            "text +447700900123 or 07700900123",
            "text [phone] or [phone]",
        ),
        ("Office (0191) 123 4567, ext 2", "Office [phone], ext 2"),
        ("Switchboard +44 (0)191 123 4567", "Switchboard [phone]"),
        (
            "London 020 7946 0958 or 0207 946 0958",
            "London [phone] or [phone]",
        ),
        ("Acas helpline 0300 123 1100", "Acas helpline [phone]"),
        (
            "Freephone 0800 123 456 / 0845 600 4321",
            "Freephone [phone] / [phone]",
        ),
        (
            "tel 07700-900-123 or 01632.960.123",
            "tel [phone] or [phone]",
        ),
        ("on 07700 900123 2 days a week", "on [phone] 2 days a week"),
        ("(+44) 191 498 0000", "[phone]"),
        // Postcodes.
        ("The site is NE1 4XF.", "The site is [postcode]."),
        ("postcode ne14xf", "postcode [postcode]"),
        (
            "SR2 7JD, DH1 3LE and TS1 1AA",
            "[postcode], [postcode] and [postcode]",
        ),
        (
            "EC1A 1BB / GIR 0AA / sw1a1aa",
            "[postcode] / [postcode] / [postcode]",
        ),
        (
            "Sunderland SR1 3AA? or SR13AA.",
            "Sunderland [postcode]? or [postcode].",
        ),
        ("postcode NE1 4XFX is a typo", "postcode NE1 4XFX is a typo"),
        // Dates of birth.
        ("born 12/03/1985", "born [date of birth]"),
        (
            "DOB: 3rd March 1985, started 2019",
            "DOB: [date of birth], started 2019",
        ),
        (
            "date of birth is 1985-03-12",
            "date of birth is [date of birth]",
        ),
        (
            "She was born on March 3, 1985 in Sunderland",
            "She was born on [date of birth] in Sunderland",
        ),
        ("d.o.b. 12.03.85", "d.o.b. [date of birth]"),
        (
            "Born on the 3rd of Sept 1990",
            "Born on the [date of birth]",
        ),
        ("born in 1985, so 41 now", "born in 1985, so 41 now"),
        (
            "DOB 12-Mar-1985, started on 01/12/2026",
            "DOB [date of birth], started on 01/12/2026",
        ),
        ("reborn 12/03/1985", "reborn 12/03/1985"),
        // Two kinds at once, and text in other scripts around them.
        (
            "Jane (jane@x.com, 07700 900123) lives at SR2 7JD",
            "Jane ([email], [phone]) lives at [postcode]",
        ),
        (
            "NI AB123456C, born 01/02/1990 — ça va? 🙂",
            "NI [ni number], born [date of birth] — ça va? 🙂",
        ),
        (
            "Tél. +44 20 7946 0958 · Straße NE1 4XF",
            "Tél. [phone] · Straße [postcode]",
        ),
        (
            "员工电话 07700900123，邮编 DH1 3LE。",
            "员工电话 [phone]，邮编 [postcode]。",
        ),
        (
            "email jo@ne.uk or ring 0191 498 0000, NE1 office",
            "email [email] or ring [phone], NE1 office",
        ),
        (
            "Paid 4111-1111-1111-1111 via https://pay.example.com/c?id=77 🚀",
            "Paid [card] via [url] 🚀",
        ),
        // Non-cases: left exactly as they are.
        ("SSP 28 weeks", "SSP 28 weeks"),
        (
            "section 60 of the Equality Act",
            "section 60 of the Equality Act",
        ),
        ("£123.25 a week", "£123.25 a week"),
        ("from 6 April 2026", "from 6 April 2026"),
        ("on 01/12/2026", "on 01/12/2026"),
        ("since 2022", "since 2022"),
        ("3 days", "3 days"),
        ("he works 37.5 hours", "he works 37.5 hours"),
        ("Form SSP1", "Form SSP1"),
        ("RIDDOR F2508", "RIDDOR F2508"),
        ("ISO 45001", "ISO 45001"),
        ("NHS 111", "NHS 111"),
        ("999", "999"),
        ("call 116 123", "call 116 123"),
        ("top 10", "top 10"),
        ("Access to Work", "Access to Work"),
        ("NE1", "NE1"),
        ("based in NE1 and DH1", "based in NE1 and DH1"),
        ("A1 road", "A1 road"),
        ("Covid-19", "Covid-19"),
        ("24/7", "24/7"),
        ("1 in 4", "1 in 4"),
        ("9:30", "9:30"),
        ("2024/25", "2024/25"),
        (
            "Ring 999 or NHS 111, or call 116 123 any time",
            "Ring 999 or NHS 111, or call 116 123 any time",
        ),
        (
            "meeting on 01/12/2026 at 9:30, 24/7 cover, 1 in 4 staff",
            "meeting on 01/12/2026 at 9:30, 24/7 cover, 1 in 4 staff",
        ),
        ("x07700900123 and AB123456CD", "x07700900123 and AB123456CD"),
        ("pi is 3.14159265358979323", "pi is 3.14159265358979323"),
    ];

    /// The security probe's 30 ways of writing an email or phone number (2026-12): the 12 that
    /// used to get through in clear (separators, missing leading 0, spaced digits, zero-width
    /// characters, Arabic-Indic and full-width digits, a glued "ext", a full-width @, spelt out,
    /// a one-name domain, a foreign number) and the 18 ordinary ones.
    const DISGUISED: &[(&str, &str)] = &[
        ("ring 07700/900123 today", "ring [phone] today"),
        ("my number is 7700 900123", "my number is [phone]"),
        ("0 7 7 0 0 9 0 0 1 2 3", "[phone]"),
        ("call 07700\u{200b}900123 now", "call [phone] now"),
        ("رقم ٠٧٧٠٠٩٠٠١٢٣ شكرا", "رقم [phone] شكرا"),
        ("tel ０７７００ ９００１２３", "tel [phone]"),
        ("call 07700 900123ext", "call [phone]ext"),
        ("dana.khan＠example.org", "[email]"),
        ("dana.khan@exa\u{200b}mple.org", "[email]"),
        ("write to dana.khan at example dot org", "write to [email]"),
        ("dana.khan@localhost", "[email]"),
        ("US office +1 415 555 0100", "US office [phone]"),
        ("DANA.KHAN@EXAMPLE.ORG", "[email]"),
        ("<dana.khan@example.org>", "<[email]>"),
        ("mailto:dana.khan@example.org", "mailto:[email]"),
        ("dana.khan+hr@example.org", "[email]"),
        ("dana.khan@example.org", "[email]"),
        ("tel:+447700900123", "tel:[phone]"),
        ("+447700900123", "[phone]"),
        ("+44 7700 900123", "[phone]"),
        ("07700 900123", "[phone]"),
        ("07700-900-123", "[phone]"),
        ("(07700) 900123", "[phone]"),
        ("07700.900.123", "[phone]"),
        ("NI JH123456C", "NI [ni number]"),
        ("ni jh 12 34 56 c", "ni [ni number]"),
        ("at NE1 4ST", "at [postcode]"),
        ("at ne14st", "at [postcode]"),
        ("card 4111 1111 1111 1111", "card [card]"),
        ("form https://example.org/f?name=dana", "form [url]"),
    ];

    #[test]
    fn disguised_details_are_found() {
        assert_eq!(DISGUISED.len(), 30);
        let failures: Vec<String> = DISGUISED
            .iter()
            .filter(|(input, expected)| redact(input) != *expected)
            .map(|(input, expected)| {
                format!("{input:?}\n   got {:?}\n  want {expected:?}", redact(input))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // Still kept: HMRC's example NI number, and ordinary text in other scripts.
        for kept in [
            "QQ 12 34 56 C",
            "Straße, ça va? 员工 🙂",
            "meeting at 9:30 at the office",
            "look at it",
        ] {
            assert_eq!(redact(kept), kept);
        }
        // What is not part of a detail is left exactly as it was, disguise included.
        assert_eq!(
            redact("ａｂｃ\u{200b} ０７７００ ９００１２３ ｘｙｚ"),
            "ａｂｃ\u{200b} [phone] ｘｙｚ"
        );
        for (input, _) in DISGUISED {
            let once = redact(input);
            assert_eq!(redact(&once), once, "{input:?}");
        }
    }

    #[test]
    fn folding_keeps_the_original_offsets() {
        let text = "a\u{200b}٠٧＠ｘ—y";
        let f = super::fold(text).unwrap();
        assert_eq!(f.text, "a07@x-y");
        assert_eq!(f.starts.len(), f.text.len());
        for (i, c) in f.text.char_indices() {
            let orig = &text[f.starts[i]..f.ends[i]];
            assert!(!orig.is_empty(), "{c}");
        }
        assert_eq!(&text[f.starts[1]..f.ends[1]], "٠");
        assert_eq!(&text[f.starts[3]..f.ends[3]], "＠");
        assert!(super::fold("plain ascii 07700 900123").is_none());
    }

    #[test]
    fn table() {
        assert!(CASES.len() >= 45);
        let mut failures = Vec::new();
        for &(input, expected) in CASES {
            let got = redact(input);
            if got != expected {
                failures.push(format!("{input:?}\n   got {got:?}\n  want {expected:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn idempotent_on_the_table() {
        for &(input, expected) in CASES {
            let once = redact(input);
            assert_eq!(redact(&once), once, "input {input:?}");
            assert_eq!(redact(expected), expected, "expected {expected:?}");
        }
    }

    /// A small deterministic generator (xorshift), to glue fragments together every which way.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    const FRAGMENTS: &[&str] = &[
        "07700 900123",
        "+44 7700 900123",
        "0044",
        "(0191) 123 4567",
        "0800 123 456",
        "4111 1111 1111 1111",
        "4111",
        "AB123456C",
        "ab 12 34",
        "NE1 4XF",
        "NE1",
        "4XF",
        "jane@x.com",
        "@",
        "x.com",
        "https://x.com/a?b=c",
        "www.x.co.uk/p",
        "?id=3",
        "born",
        "12/03/1985",
        "3rd March 1985",
        "date of birth",
        "116 123",
        "999",
        "2026",
        "12",
        "0",
        "+",
        "-",
        ".",
        "(",
        ")",
        "/",
        ":",
        "[phone]",
        "é",
        "🙂",
        "word",
        "",
    ];

    const GLUE: &[&str] = &[" ", "", "", ", ", "-", ".", "\u{a0}", "\n"];

    #[test]
    fn idempotent_on_glued_fragments() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..4000 {
            let mut text = String::new();
            for _ in 0..(1 + rng.next() % 6) {
                text.push_str(rng.pick(FRAGMENTS));
                text.push_str(rng.pick(GLUE));
            }
            let once = redact(&text);
            assert_eq!(redact(&once), once, "input {text:?}");
        }
    }

    /// Each kind in a few spellings, with what it must become.
    const DETAILS: &[(&str, &str)] = &[
        ("https://x.com/a?b=c", "[url]"),
        ("www.x.co.uk/p?id=3", "[url]"),
        ("jane.doe@example.com", "[email]"),
        ("siân@enghraifft.cymru", "[email]"),
        ("4111 1111 1111 1111", "[card]"),
        ("5500-0000-0000-0004", "[card]"),
        ("AB123456C", "[ni number]"),
        ("ab 12 34 56 c", "[ni number]"),
        ("07700 900123", "[phone]"),
        ("+44 (0)191 123 4567", "[phone]"),
        ("(0191) 123 4567", "[phone]"),
        ("0800 123 456", "[phone]"),
        ("NE1 4XF", "[postcode]"),
        ("ne14xf", "[postcode]"),
        ("GIR 0AA", "[postcode]"),
        ("born 12/03/1985", "born [date of birth]"),
        ("NHS 111", "NHS 111"),
        ("call 116 123", "call 116 123"),
        ("NE1", "NE1"),
    ];

    #[test]
    fn neighbours_do_not_change_each_other() {
        for &(a, want_a) in DETAILS {
            for &(b, want_b) in DETAILS {
                for sep in [", ", "; ", " — ", "\n", " / ", " (", " 🙂 ", " and "] {
                    let text = format!("{a}{sep}{b}");
                    assert_eq!(
                        redact(&text),
                        format!("{want_a}{sep}{want_b}"),
                        "input {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        assert_eq!(redact(""), "");
        let controls = "\0\u{1}\u{7}\u{8}\t\r\n\u{1b}[0m\u{7f}\u{85}\u{200b}\u{feff}\u{202e}";
        assert_eq!(redact(controls), controls);
        let emoji = "👩‍⚕️🏳️‍🌈🙂 e\u{301} 🇬🇧";
        assert_eq!(redact(emoji), emoji);
        for s in [
            "+",
            "(",
            "(0",
            "(+44",
            "@",
            "a@",
            "@b.c",
            "born",
            "dob:",
            "date of birth",
            "0",
            "00",
            "0044",
            "+44 (0)",
            "http://",
            "www.",
            "x.com/?",
            "?",
            "GIR",
            "K",
            "\u{212a}",
            "\u{212a}B123456C",
            "ſw1a 1aa",
            "٠٧٧٠٠٩٠٠١٢٣",
        ] {
            let once = redact(s);
            assert_eq!(redact(&once), once, "input {s:?}");
        }
        let long_digits = "7".repeat(10_000);
        assert_eq!(redact(&long_digits), long_digits);
        let zeros = "0 ".repeat(5_000);
        assert_eq!(redact(&zeros), zeros);
        let mixed: String = "07700 900123 é🙂AB123456C jane@x.com\u{0}NE1 4XF "
            .chars()
            .cycle()
            .take(10_000)
            .collect();
        let once = redact(&mixed);
        assert_eq!(redact(&once), once);
        let letters = "a".repeat(10_000) + "@x.com1";
        assert_eq!(redact(&letters), letters);
    }

    fn question_of_2000_chars() -> String {
        let paragraph = "Hi, one of my lads (Dave, 07700 900123, dave.smith@example.com) has been \
                         off with his back since 3 November and his fit note says 4 weeks. He \
                         works 37.5 hours over 5 days and earns about £480 a week. Do I pay SSP \
                         from day one now, and is it £123.25 a week? We're a café in NE1, full \
                         address NE1 4XF, and I saw gov.uk/statutory-sick-pay but it's confusing. ";
        paragraph.chars().cycle().take(2_000).collect()
    }

    #[test]
    fn a_long_question_is_fast() {
        let question = question_of_2000_chars();
        assert_eq!(question.chars().count(), 2_000);
        let first = redact(&question); // Compiles the patterns.
        assert!(
            first.contains("[phone]") && first.contains("[email]") && first.contains("[postcode]")
        );
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            let out = redact(&question);
            best = best.min(t.elapsed());
            assert_eq!(out, first);
        }
        assert!(best < Duration::from_millis(5), "took {best:?}");
    }
}
