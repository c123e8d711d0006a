//! Reviewer credentials, for the `reviewers` CLI and the web login alike: the name rule, the
//! password policy, argon2id hashing, and verification.
//!
//! Verifying a password runs argon2id, which needs 19 MiB of work memory. Those buffers come
//! from a small pool ([`verify_password`]) and go back to it, so memory stays flat however many
//! logins arrive (the review app also lets only a few verifications run at once).

use anyhow::{Result, bail};

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

/// Work memory buffers kept for reuse: at most this many are kept; more may exist briefly
/// if more verifications run at once (the review app allows fewer).
const POOL_MAX: usize = 4;
/// Largest argon2 memory cost (KiB) a stored hash may ask for: 256 MiB.
const MAX_M_COST: u32 = 256 * 1024;

static POOL: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// Runs `f` with a zeroed buffer of `blocks` argon2 blocks from the pool, then returns it.
fn with_blocks<T>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    let taken = {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .position(|b| b.len() == blocks)
            .map(|i| pool.swap_remove(i))
    };
    let mut buf = match taken {
        Some(mut b) => {
            // argon2 writes every block before reading it, but start clean all the same.
            b.iter_mut().for_each(|x| *x = argon2::Block::new());
            b
        }
        None => vec![argon2::Block::new(); blocks],
    };
    let out = f(&mut buf);
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < POOL_MAX {
        pool.push(buf);
    }
    out
}

/// True when `password` matches the PHC string `hash` (false for a malformed hash too). The
/// work memory comes from a pool of reused buffers.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::phc::PasswordHash;
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed.params) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST {
        return false;
    }
    let expected = expected.as_bytes();
    let ctx = argon2::Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let ok = with_blocks(params.block_count(), |blocks| {
        ctx.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, blocks)
            .is_ok()
    });
    // Constant time: look at every byte.
    ok && out.iter().zip(expected).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
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
        // The pooled verifier agrees with argon2's own, for other parameters too.
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let small = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(64, 3, 1, None).unwrap(),
        );
        let h2 = small
            .hash_password(b"another password")
            .unwrap()
            .to_string();
        assert!(verify_password("another password", &h2));
        assert!(!verify_password("another passwore", &h2));
        let parsed = argon2::password_hash::phc::PasswordHash::new(&h2).unwrap();
        assert!(small.verify_password(b"another password", &parsed).is_ok());
        // A truncated hash output never verifies.
        assert!(!verify_password("correct horse battery", &h[..h.len() - 8]));
        // A fresh salt each time.
        assert_ne!(h, hash_password("correct horse battery").unwrap());
    }
}
