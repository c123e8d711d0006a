//! Diagnostics: one problem in one file, printed as `path:line:col: error: message`, and the
//! "did you mean …?" suggestions messages carry.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A position in a content file, 1-based, as the YAML parser reported it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub path: PathBuf,
    pub line: u64,
    pub col: u64,
}

impl Pos {
    pub fn new(path: &Path, line: u64, col: u64) -> Self {
        Pos {
            path: path.to_path_buf(),
            line: line.max(1),
            col: col.max(1),
        }
    }

    pub fn of<T>(path: &Path, spanned: &serde_saphyr::Spanned<T>) -> Self {
        Pos::new(path, spanned.referenced.line(), spanned.referenced.column())
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {level}: {}", self.pos, self.message)
    }
}

/// Collects diagnostics while content loads; loading never stops at the first problem.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.items.push(Diagnostic {
            pos,
            severity: Severity::Error,
            message: message.into(),
        });
    }

    pub fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.items.push(Diagnostic {
            pos,
            severity: Severity::Warning,
            message: message.into(),
        });
    }

    pub fn errors(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    pub fn sort(&mut self) {
        self.items
            .sort_by(|a, b| a.pos.cmp(&b.pos).then(a.severity.cmp(&b.severity)));
    }
}

/// The candidate nearest to `word` within a small edit distance (one edit for short words, up
/// to three for long ones), for "did you mean …?". Ties go to the first in sorted order.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lc = word.to_lowercase();
    let limit = (word.chars().count() / 4).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = strsim::osa_distance(&word_lc, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `: did you mean `x`?` when a candidate is near `word`, else nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|c| format!(": did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_small_typos_only() {
        let ids = ["fit-notes", "self-certification", "acas", "absence"];
        assert_eq!(nearest("fit-note", ids), Some("fit-notes"));
        assert_eq!(
            nearest("self-certifcation", ids),
            Some("self-certification")
        );
        assert_eq!(nearest("acsa", ids), Some("acas"));
        assert_eq!(nearest("Absence", ids), Some("absence"));
        assert_eq!(nearest("holidays", ids), None);
        assert_eq!(nearest("abc", ids), None);
        assert_eq!(
            nearest("acas", ids),
            None,
            "an exact match is no suggestion"
        );
        assert_eq!(
            did_you_mean("titel", ["title", "topic"]),
            ": did you mean `title`?"
        );
        assert_eq!(did_you_mean("author", ["title", "topic"]), "");
    }
}
