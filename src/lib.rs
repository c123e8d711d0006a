//! workhealth: answers small employers' questions about work and health from a curated,
//! sourced guidance base. See ARCHITECTURE.md for the map of modules.

pub mod cli;
pub mod content;
pub mod run;
