//! `workhealth reviewers add/remove/list`: reviewer accounts, argon2id hashes in the log's store.

use anyhow::Result;

use crate::log::Log;

pub fn add(_log: &Log, _name: &str) -> Result<()> {
    anyhow::bail!("reviewers add: not built yet")
}

pub fn remove(_log: &Log, _name: &str) -> Result<()> {
    anyhow::bail!("reviewers remove: not built yet")
}

pub fn list(_log: &Log) -> Result<()> {
    anyhow::bail!("reviewers list: not built yet")
}
