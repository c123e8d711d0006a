//! Renderers: pure functions from a [`Reply`](crate::assistant::Reply) to what a channel shows.

pub mod json;
pub mod markdown;
pub mod telegram;
pub mod terminal;
