//! Content: the YAML guidance base, its typed model, and the checks editors run.
//!
//! This module reads files under `content/` and nothing else; it knows nothing of search,
//! Telegram or the log.

pub mod diag;
pub mod helplines;
pub mod links;
pub mod load;
pub mod markdown;
pub mod model;
mod raw;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use helplines::{Helplines, NoAnswerLine};
pub use load::{InvalidContent, Loaded, load, load_valid};
pub use model::*;
