//! The integration tests: one test binary, so the stack (teloxide, axum, tantivy, rusqlite,
//! postgres) is compiled into test code and linked once, not once per file. Each module is one
//! area of the product, with the shared harness in [`common`].
//!
//! Run one area by its module path: `cargo test --locked --test it bot::`, or one test by
//! name. The ignored tests (PostgreSQL, Chromium, the load tests, the login flood) are listed
//! by `cargo test --locked --test it -- --list --ignored`.
//!
//! `load` is here too, although it runs only in release mode and only when asked for
//! (`cargo test --release --locked --test it load:: -- --ignored --nocapture`): as a target of
//! its own it would cost every `cargo test` one more link of the whole stack, for tests that
//! are always ignored there.

mod common;

mod answering;
mod bot;
mod browser;
mod check;
mod config;
mod links;
mod load;
mod log;
mod ops;
mod review;
mod tidy;
