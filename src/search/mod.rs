//! Search: the tantivy index over guidance and programmes, and the query built from a question.
//!
//! No Telegram, no SQL, and no I/O beyond the index folder.

pub mod analyse;
pub mod build;
pub mod classify;
pub mod query;
pub mod schema;
pub mod semantic;
pub mod synonyms;

pub use build::{IndexError, SearchIndex};
pub use query::{Engine, Found, Hit};
