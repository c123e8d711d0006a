//! Tidy: the architecture's invariants (ARCHITECTURE.md), checked over the source text so
//! they stay true. It fails when Telegram (`teloxide`) appears outside `src/bot/`, SQL or a
//! database crate outside `src/log/`, file, network or terminal I/O in `src/assistant/`, a
//! sentence for users is written in the channels or the reply types instead of
//! `src/words.rs`, a source file opens without its `//!` doc comment, the log's read path
//! holds a write (`INSERT`, `UPDATE`, `DELETE`), a module reaches up the layers (`review` into
//! `serve` or `run`, `serve` into `run`, `log` into anything but itself and the shared
//! `outcome`), the bot reads the log in a way that blocks a tokio worker, or a source file
//! holds more than [`MAX_CODE_LINES`] lines of code before its test module (one concept per
//! file). Exceptions are listed by path below, each with its reason; remove one once its file
//! complies.

use std::path::{Path, PathBuf};

/// Files outside `src/bot/` allowed to name `teloxide`, and why.
const TELOXIDE_ALLOWED: &[(&str, &str)] = &[];

/// Files outside `src/log/` allowed to hold SQL or name a database crate, and why.
const DATABASE_ALLOWED: &[(&str, &str)] = &[];

/// Files in `src/assistant/` allowed to do I/O, and why.
const ASSISTANT_IO_ALLOWED: &[(&str, &str)] = &[];

/// Most lines of code (blank lines and comments aside) a source file may hold before its
/// `#[cfg(test)]` module: past this, a file usually holds more than one concept.
const MAX_CODE_LINES: usize = 600;

/// Files allowed more than [`MAX_CODE_LINES`], and why.
const LONG_ALLOWED: &[(&str, &str)] = &[];

/// The log's read path: the read handle and the SQL behind it. Nothing here may write.
const READ_PATH: &[&str] = &["src/log/reader.rs", "src/log/sql/read.rs"];

/// SQL that writes.
const SQL_WRITES: &[&str] = &["INSERT ", "UPDATE ", "DELETE ", "REPLACE ", ".apply("];

/// Which modules may not name which (a path prefix, then what it must not name, and why), so
/// the modules stay layered without a cycle.
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "src/review/",
        &["crate::serve", "crate::run"],
        "serve and run use the review app, not the other way round",
    ),
    (
        "src/serve.rs",
        &["crate::run"],
        "run starts serve, not the other way round",
    ),
    (
        "src/state.rs",
        &["crate::serve", "crate::review"],
        "the shared state is below both",
    ),
    (
        "src/log/",
        &[
            "crate::config",
            "crate::serve",
            "crate::review",
            "crate::bot",
            "crate::run",
            "crate::assistant",
            "crate::live",
        ],
        "the log is the lowest layer: it depends on nothing above it",
    ),
];

/// Calls that read the log on the calling thread: the bot (async) uses their async forms.
const BOT_BLOCKING_READS: &[&str] = &["log.region(", ".reader()", ".accounts()"];

/// Where a sentence for users may not be written: the channels and the reply types take their
/// words from `src/words.rs`.
const WORDS_CHECKED: &[&str] = &[
    "src/bot/",
    "src/render/",
    "src/chat.rs",
    "src/assistant/reply.rs",
    "src/assistant/menu.rs",
];

/// Files in [`WORDS_CHECKED`] allowed to write their own sentences, and why.
const WORDS_ALLOWED: &[(&str, &str)] = &[
    (
        "src/bot/start.rs",
        "start-up errors for the operator, worded by cause; says nothing to users",
    ),
    (
        "src/bot/poll.rs",
        "polling health and errors for the operator and /readyz; says nothing to users",
    ),
    (
        "src/bot/send.rs",
        "matches Telegram's own error texts and words delivery errors for the log; says nothing to users",
    ),
];

/// A string literal with this many words or more is a sentence (or a label) for users.
const SENTENCE_WORDS: usize = 2;

/// Calls whose strings are for operators or programmers, not users: logs, panics, errors,
/// assertions (macros by name, methods by name).
const QUIET_MACROS: &[&str] = &[
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "event",
    "span",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "anyhow",
    "bail",
    "ensure",
    "format_err",
];
const QUIET_METHODS: &[&str] = &["expect", "context", "with_context"];

/// Database crates: only the log may use them.
const DATABASE_CRATES: &[&str] = &[
    "rusqlite",
    "postgres::",
    "tokio_postgres",
    "sqlx",
    "diesel",
    "sea_orm",
];

/// SQL statements as they appear in query strings (upper case, as the log writes them).
const SQL_WORDS: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
    "PRAGMA ",
];

/// I/O the answering core must not do itself: files, network, processes, the terminal, the
/// environment.
const IO_MARKERS: &[&str] = &[
    "std::fs",
    "tokio::fs",
    "File::",
    "std::net",
    "tokio::net",
    "reqwest",
    "std::process",
    "std::env",
    "std::io::stdin",
    "std::io::stdout",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
];

/// Every `.rs` file under `dir`, as paths relative to the crate root with `/` separators.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}

/// The lines that are code: line comments and doc comments dropped (prose may name
/// anything).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let t = line.trim_start();
        (!t.starts_with("//")).then_some((i + 1, line))
    })
}

/// A string literal in the code, its line, and whether it sits in a call for users (not in a
/// log, panic, error or attribute).
#[derive(Debug)]
struct Literal {
    line: usize,
    text: String,
    for_users: bool,
}

/// The string literals of a file's code: comments, char literals and the `#[cfg(test)]`
/// module left out.
fn literals(text: &str) -> Vec<Literal> {
    let code = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    let c: Vec<char> = code.chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut out = Vec::new();
    // One entry per open bracket: whether strings inside it are quiet.
    let mut quiet: Vec<bool> = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
                i += 2;
            }
            open @ ('(' | '[' | '{') => {
                let inherited = quiet.last().copied().unwrap_or(false);
                let mut j = i;
                while j > 0 && c[j - 1].is_whitespace() {
                    j -= 1;
                }
                let end = j;
                while j > 0 && (ident(c[j - 1]) || c[j - 1] == '!') {
                    j -= 1;
                }
                let callee: String = c[j..end].iter().collect();
                let this = if open == '[' && end > 0 && c[end - 1] == '#' {
                    true // an attribute
                } else if let Some(name) = callee.strip_suffix('!') {
                    QUIET_MACROS.contains(&name)
                } else {
                    open == '(' && QUIET_METHODS.contains(&callee.as_str())
                };
                quiet.push(inherited || this);
                i += 1;
            }
            ')' | ']' | '}' => {
                quiet.pop();
                i += 1;
            }
            '\'' => {
                // A char literal ('x', '\n', '\u{a0}', '"'), or a lifetime.
                if c.get(i + 1) == Some(&'\\') {
                    i += 3;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            'r' if (i == 0 || !ident(c[i - 1])) && matches!(c.get(i + 1), Some('"' | '#')) => {
                let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
                if c.get(i + 1 + hashes) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let mut j = start;
                while j < c.len()
                    && !(c[j] == '"' && c[j + 1..].iter().take(hashes).all(|&h| h == '#'))
                {
                    j += 1;
                }
                out.push(Literal {
                    line,
                    text: c[start..j.min(c.len())].iter().collect(),
                    for_users: !quiet.last().copied().unwrap_or(false),
                });
                line += c[start..j.min(c.len())]
                    .iter()
                    .filter(|&&x| x == '\n')
                    .count();
                i = j + 1 + hashes;
            }
            '"' => {
                let start = i + 1;
                let mut j = start;
                while j < c.len() && c[j] != '"' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                let end = j.min(c.len());
                out.push(Literal {
                    line,
                    text: c[start..end].iter().collect(),
                    for_users: !quiet.last().copied().unwrap_or(false),
                });
                line += c[start..end].iter().filter(|&&x| x == '\n').count();
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The words of a literal as written in the source: escapes, `{…}` placeholders, markup
/// tags and entities are not words.
fn words(literal: &str) -> usize {
    let mut plain = String::new();
    let mut chars = literal.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if chars.next() == Some('u') {
                    for x in chars.by_ref() {
                        if x == '}' {
                            break;
                        }
                    }
                }
                plain.push(' ');
            }
            '{' | '<' | '&' => {
                let close = match ch {
                    '{' => '}',
                    '<' => '>',
                    _ => ';',
                };
                for x in chars.by_ref() {
                    if x == close {
                        break;
                    }
                }
                plain.push(' ');
            }
            ch => plain.push(ch),
        }
    }
    plain
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count()
}

fn allowed(list: &[(&str, &str)], path: &str) -> bool {
    list.iter().any(|(p, _)| *p == path)
}

/// Lines of code before the file's `#[cfg(test)]` module: neither blank nor a comment.
fn code_lines_before_tests(text: &str) -> usize {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

/// What is wrong with one source file, each problem as `path:line: what`.
fn problems(path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if !first.starts_with("//!") {
        out.push(format!(
            "{path}:1: no `//!` doc comment saying what the module is"
        ));
    }
    let code = code_lines_before_tests(text);
    if code > MAX_CODE_LINES && !allowed(LONG_ALLOWED, path) {
        out.push(format!(
            "{path}:1: {code} lines of code before its tests (at most {MAX_CODE_LINES}): split it \
             by concern"
        ));
    }
    let in_bot = path.starts_with("src/bot/");
    let in_log = path.starts_with("src/log/");
    let in_assistant = path.starts_with("src/assistant/");
    let read_path = READ_PATH.contains(&path);
    let words_checked = WORDS_CHECKED.iter().any(|p| path.starts_with(p));
    if words_checked && !allowed(WORDS_ALLOWED, path) {
        for l in literals(text) {
            if l.for_users && words(&l.text) >= SENTENCE_WORDS {
                out.push(format!(
                    "{}:{}: words for users belong in src/words.rs: \"{}\"",
                    path, l.line, l.text
                ));
            }
        }
    }
    for (n, line) in code_lines(text) {
        if read_path {
            for word in SQL_WRITES {
                if line.contains(word) {
                    out.push(format!(
                        "{path}:{n}: a write (`{}`) in the log's read path: {}",
                        word.trim(),
                        line.trim()
                    ));
                }
            }
        }
        for (prefix, banned, why) in LAYERS {
            if path.starts_with(prefix) {
                for word in banned.iter() {
                    if line.contains(word) {
                        out.push(format!(
                            "{path}:{n}: names `{word}` ({why}): {}",
                            line.trim()
                        ));
                    }
                }
            }
        }
        if in_bot {
            for word in BOT_BLOCKING_READS {
                if line.contains(word) {
                    out.push(format!(
                        "{path}:{n}: a blocking read of the log (`{word}`) in the bot: {}",
                        line.trim()
                    ));
                }
            }
        }
        if !in_bot && !allowed(TELOXIDE_ALLOWED, path) && line.contains("teloxide") {
            out.push(format!(
                "{path}:{n}: Telegram (`teloxide`) outside src/bot/: {}",
                line.trim()
            ));
        }
        if !in_log && !allowed(DATABASE_ALLOWED, path) {
            for word in DATABASE_CRATES.iter().chain(SQL_WORDS) {
                if line.contains(word) {
                    out.push(format!(
                        "{path}:{n}: SQL or a database crate (`{}`) outside src/log/: {}",
                        word.trim(),
                        line.trim()
                    ));
                }
            }
        }
        if in_assistant && !allowed(ASSISTANT_IO_ALLOWED, path) {
            for word in IO_MARKERS {
                if line.contains(word) {
                    out.push(format!(
                        "{path}:{n}: I/O (`{word}`) in src/assistant/: {}",
                        line.trim()
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn the_sources_keep_the_architectures_invariants() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &root.join("src"), &mut files);
    assert!(
        files.len() > 40,
        "found only {} source files under src/",
        files.len()
    );
    // The workspace's own crates (the embedding encoder) keep the same rules.
    let crates = root.join("crates");
    let before = files.len();
    for entry in std::fs::read_dir(&crates).unwrap_or_else(|e| panic!("{}: {e}", crates.display()))
    {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(root, &src, &mut files);
        }
    }
    assert!(
        files.len() > before,
        "found no source files under crates/*/src"
    );
    let mut all = Vec::new();
    for (rel, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        all.extend(problems(rel, &text));
    }
    // Every exception still names a file that exists (and so still needs its exception).
    for (path, why) in TELOXIDE_ALLOWED
        .iter()
        .chain(DATABASE_ALLOWED)
        .chain(ASSISTANT_IO_ALLOWED)
        .chain(LONG_ALLOWED)
        .chain(WORDS_ALLOWED)
    {
        assert!(
            files.iter().any(|(rel, _)| rel == path),
            "{path} is allowed an exception ({why}) but does not exist"
        );
    }
    assert!(
        all.is_empty(),
        "ARCHITECTURE.md's invariants are broken:\n{}",
        all.join("\n")
    );
}

#[test]
fn tidy_finds_each_kind_of_breach() {
    let ok = "//! A module.\n\nfn f() {}\n";
    assert_eq!(problems("src/content/model.rs", ok), Vec::<String>::new());

    let undocumented = problems("src/chat.rs", "use std::fmt;\n");
    assert_eq!(undocumented.len(), 1, "{undocumented:?}");
    assert!(undocumented[0].starts_with("src/chat.rs:1: no `//!`"));

    let telegram = "//! Doc.\nuse teloxide::prelude::*;\n";
    assert_eq!(problems("src/bot/send.rs", telegram), Vec::<String>::new());
    let found = problems("src/review/mod.rs", telegram);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/review/mod.rs:2: Telegram"));

    let sql = "//! Doc.\nconst Q: &str = \"SELECT text FROM questions\";\n";
    assert_eq!(problems("src/log/sql.rs", sql), Vec::<String>::new());
    assert!(problems("src/review/pages.rs", sql)[0].contains("SQL or a database crate"));
    let krate = "//! Doc.\nfn f(e: rusqlite::Error) {}\n";
    assert!(problems("src/serve.rs", krate)[0].contains("`rusqlite`"));

    let io = "//! Doc.\nfn f() { let _ = std::fs::read(\"x\"); }\n";
    assert_eq!(problems("src/content/load.rs", io), Vec::<String>::new());
    assert!(problems("src/assistant/mod.rs", io)[0].contains("I/O (`std::fs`)"));

    // The log's read path does not write; layers are not crossed upwards; the bot does not
    // block on the log.
    let write = "//! Doc.\nconst Q: &str = \"UPDATE questions SET note = ?1\";\n";
    assert_eq!(
        problems("src/log/sql/accounts.rs", write),
        Vec::<String>::new()
    );
    assert!(problems("src/log/sql/read.rs", write)[0].contains("a write (`UPDATE`)"));
    let up = "//! Doc.\nuse crate::serve::AppState;\n";
    assert_eq!(problems("src/bot/start.rs", up), Vec::<String>::new());
    assert!(problems("src/review/auth.rs", up)[0].contains("names `crate::serve`"));
    let config = "//! Doc.\nfn f() { crate::config::mask_url(\"x\"); }\n";
    assert!(problems("src/log/postgres.rs", config)[0].contains("the lowest layer"));
    let blocking = "//! Doc.\nfn f() { let r = self.log.region(&key); }\n";
    assert!(problems("src/bot/mod.rs", blocking)[0].contains("blocking read"));
    let not_blocking = "//! Doc.\nasync fn f() { let r = self.log.region_async(&key).await; }\n";
    assert_eq!(
        problems("src/bot/mod.rs", not_blocking),
        Vec::<String>::new()
    );

    // Length counts code before the tests, not blank lines, comments or the tests.
    let mut long = String::from("//! Doc.\n");
    for i in 0..MAX_CODE_LINES {
        long.push_str(&format!("// note {i}\n\nconst C{i}: u8 = 0;\n"));
    }
    assert_eq!(code_lines_before_tests(&long), MAX_CODE_LINES);
    assert_eq!(problems("src/log/sql/mod.rs", &long), Vec::<String>::new());
    let tested = format!("{long}#[cfg(test)]\nmod tests {{\n    const T: u8 = 0;\n}}\n");
    assert_eq!(
        problems("src/log/sql/mod.rs", &tested),
        Vec::<String>::new()
    );
    let too_long = format!("{long}const ONE_MORE: u8 = 0;\n");
    let found = problems("src/log/sql/mod.rs", &too_long);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("601 lines of code"), "{found:?}");
    // No file is allowed past the limit any more: the answering engine's was the last.
    assert_eq!(
        problems("src/assistant/mod.rs", &too_long).len(),
        1,
        "no file is exempt"
    );

    // A sentence (or a two-word label) in a channel is found, at its line; the same in
    // src/words.rs, or in a log, a panic, an attribute or a test, is not.
    let said =
        "//! Doc.\nfn f() {\n    say(\"Sorry, that went wrong\");\n    b(\"Read more\");\n}\n";
    let found = problems("src/bot/mod.rs", said);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("src/bot/mod.rs:3: words for users belong in src/words.rs"));
    assert!(found[1].starts_with("src/bot/mod.rs:4: "), "{found:?}");
    assert_eq!(problems("src/words.rs", said), Vec::<String>::new());
    assert_eq!(problems("src/log/sql.rs", said), Vec::<String>::new());
    let quiet = "//! Doc.\n#[command(description = \"how to use it\")]\nfn f() {\n    \
        tracing::error!(\n        error = %e,\n        \"a reply could not be delivered\"\n    );\n    \
        x.expect(&format!(\"the index is built {}\", y));\n    let q = '\"';\n    \
        let ids = [\"sendMessage\", \"{title}\\n{}\"];\n    s.replace('\\'', \"x\");\n}\n\
        #[cfg(test)]\nmod tests { const T: &str = \"a test may say anything\"; }\n";
    assert_eq!(problems("src/bot/mod.rs", quiet), Vec::<String>::new());
    let after_quiet = format!("{quiet}fn g() {{ say(\"words after a char literal\"); }}\n")
        .replace("#[cfg(test)]", "#[cfg(any())]");
    let found = problems("src/chat.rs", &after_quiet);
    assert!(
        found
            .iter()
            .any(|p| p.contains("words after a char literal")),
        "{found:?}"
    );

    // Prose may name anything.
    let prose = "//! Doc.\n// teloxide, SELECT, std::fs\nfn f() {}\n";
    assert_eq!(
        problems("src/assistant/mod.rs", prose),
        Vec::<String>::new()
    );
}
