//! `workhealth reviewers add/remove/list/unlock`: reviewer accounts in the log's store. The
//! name and password rules and the hashing are [`super::password`]'s (re-exported here).

use std::io::{BufRead, IsTerminal};

use anyhow::{Context as _, Result, bail};

use crate::log::Log;

pub use super::password::{
    MAX_NAME_CHARS, MIN_PASSWORD_CHARS, check_password, hash_password, valid_name, verify_password,
};

/// Reads the new password: the first line of stdin when it is piped, else prompted twice.
fn read_password(name: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reviewers add: cannot read the password from stdin")?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok(line.to_string());
    }
    let first = rpassword::prompt_password(format!("New password for {name}: "))
        .context("reviewers add: cannot read the password")?;
    check_password(&first)?;
    let second =
        rpassword::prompt_password("Again: ").context("reviewers add: cannot read the password")?;
    if first != second {
        bail!("reviewers add: the two passwords differ; nothing changed");
    }
    Ok(first)
}

pub fn add(log: &Log, name: &str) -> Result<()> {
    if !valid_name(name) {
        bail!(
            "reviewers add: `{name}` is not a valid name (1 to {MAX_NAME_CHARS} characters: letters, digits, '.', '_', '-')"
        );
    }
    let password = read_password(name)?;
    check_password(&password)?;
    let hash = hash_password(&password)?;
    let existed = log.reader().with(|s| s.reviewer(name))?.is_some();
    log.accounts().with(|s| s.put_reviewer(name, &hash))?;
    if existed {
        println!("updated reviewer {name} (new password)");
    } else {
        println!("added reviewer {name}");
    }
    Ok(())
}

pub fn remove(log: &Log, name: &str) -> Result<()> {
    if !log.accounts().with(|s| s.remove_reviewer(name))? {
        bail!("reviewers remove: no reviewer called `{name}`");
    }
    println!("removed reviewer {name} (and ended their sessions)");
    Ok(())
}

/// Ends a reviewer's login back-off: the failure count goes to 0 and the wait ends at once.
pub fn unlock(log: &Log, name: &str) -> Result<()> {
    if log.reader().with(|s| s.reviewer(name))?.is_none() {
        bail!("reviewers unlock: no reviewer called `{name}`");
    }
    log.accounts().with(|s| s.clear_login_failures(name))?;
    println!("unlocked reviewer {name} (failed logins cleared)");
    Ok(())
}

pub fn list(log: &Log) -> Result<()> {
    let all = log.reader().with(|s| s.reviewers())?;
    if all.is_empty() {
        println!("no reviewers yet (add one with `workhealth reviewers add NAME`)");
    }
    for r in all {
        let lock = match r.locked_until {
            Some(t) if t > chrono::Utc::now() => {
                format!(
                    "  login paused until {} after {} failed logins",
                    t.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.failed_logins
                )
            }
            _ => String::new(),
        };
        println!(
            "{}\tadded {}{lock}",
            r.name,
            r.created_at.format("%Y-%m-%d")
        );
    }
    Ok(())
}
