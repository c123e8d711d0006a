//! `workhealth reviewers add/remove/list`: reviewer accounts, argon2id hashes in the log's store.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context as _, Result, bail};

use crate::log::Log;

/// Shortest password `reviewers add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest reviewer name.
pub const MAX_NAME_CHARS: usize = 64;

/// A reviewer name: 1–64 characters from `A-Z a-z 0-9 . _ -`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks a new password, with a one-line reason when it is refused.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        bail!(
            "reviewers add: the password is too short ({n} characters; at least {MIN_PASSWORD_CHARS} needed)"
        );
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// True when `password` matches the PHC string `hash` (false for a malformed hash too).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    use argon2::password_hash::phc::PasswordHash;
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

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
    log.reader().with(|s| s.put_reviewer(name, &hash))?;
    if existed {
        println!("updated reviewer {name} (new password)");
    } else {
        println!("added reviewer {name}");
    }
    Ok(())
}

pub fn remove(log: &Log, name: &str) -> Result<()> {
    if !log.reader().with(|s| s.remove_reviewer(name))? {
        bail!("reviewers remove: no reviewer called `{name}`");
    }
    println!("removed reviewer {name} (and ended their sessions)");
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
                format!("  locked until {}", t.format("%Y-%m-%d %H:%M UTC"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["alice", "a", "j.smith_2-x", &"x".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "has space", "é", "a/b", &"x".repeat(65), "<b>"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
        // A fresh salt each time.
        assert_ne!(h, hash_password("correct horse battery").unwrap());
    }
}
