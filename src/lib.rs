//! workhealth: answers small employers' questions about work and health from a curated,
//! sourced guidance base. See ARCHITECTURE.md for the map of modules.

pub mod assistant;
pub mod bot;
pub mod chat;
pub mod cli;
pub mod config;
pub mod content;
pub mod embed;
pub mod eval;
pub mod live;
pub mod log;
pub mod metrics;
pub mod outcome;
pub mod readiness;
pub mod render;
pub mod review;
pub mod run;
pub mod search;
pub mod serve;
pub mod state;
pub mod words;
