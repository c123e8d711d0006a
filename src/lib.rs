//! workhealth: answers small employers' questions about work and health from a curated,
//! sourced guidance base. See ARCHITECTURE.md for the map of modules.

pub mod assistant;
pub mod chat;
pub mod cli;
pub mod content;
pub mod eval;
pub mod render;
pub mod run;
pub mod search;
