//! Diagnostics: one problem in one file, printed as `path:line:col: error: message`.

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
