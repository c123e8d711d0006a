//! Pseudonymous user keys: HMAC-SHA256 of a channel's user id under a secret key kept in the
//! data folder. The same chat always gets the same key, so settings and `/forget` work, but the
//! chat id itself is never stored and cannot be recovered from the key without the secret.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::LogError;

/// File name of the secret key inside `--data`.
pub const KEY_FILE: &str = "pseudonym.key";
/// After a key rotation, the old key: only used so that `/forget` still finds rows written
/// under it, until retention has deleted them all (then remove the file).
pub const PREVIOUS_KEY_FILE: &str = "pseudonym.key.previous";

/// A pseudonymous user key: 32 hex characters (128 bits of the HMAC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey(String);

impl UserKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key read back from storage (already pseudonymous).
    pub fn from_stored(s: String) -> UserKey {
        UserKey(s)
    }
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone)]
pub struct Pseudonymiser {
    secret: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(..)")
    }
}

impl Pseudonymiser {
    pub fn from_secret(secret: [u8; 32]) -> Pseudonymiser {
        Pseudonymiser {
            secret,
            previous: None,
        }
    }

    /// Reads the key from `dir`, creating a random one (mode 0600) on first start, and the
    /// previous key if a rotation left one.
    pub fn load_or_create(dir: &Path) -> Result<Pseudonymiser, LogError> {
        let path = dir.join(KEY_FILE);
        let mut p = match fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(&path),
            Err(e) => Err(LogError::io(&path, e)),
        }?;
        let prev = dir.join(PREVIOUS_KEY_FILE);
        match fs::read_to_string(&prev) {
            Ok(text) => p.previous = Some(Self::parse(&prev, &text)?.secret),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(&prev, e)),
        }
        Ok(p)
    }

    fn parse(path: &Path, text: &str) -> Result<Pseudonymiser, LogError> {
        let bytes = hex::decode(text.trim()).map_err(|_| LogError::BadKey(path.to_path_buf()))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| LogError::BadKey(path.to_path_buf()))?;
        Ok(Pseudonymiser::from_secret(secret))
    }

    fn create(path: &PathBuf) -> Result<Pseudonymiser, LogError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| LogError::Random(e.to_string()))?;
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(hex::encode(secret).as_bytes())
                    .and_then(|_| f.write_all(b"\n"))
                    .and_then(|_| f.sync_all())
                    .map_err(|e| LogError::io(path, e))?;
                tracing::info!(path = %path.display(), "created a new pseudonymisation key");
                Ok(Pseudonymiser::from_secret(secret))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(path).map_err(|e| LogError::io(path, e))?;
                Self::parse(path, &text)
            }
            Err(e) => Err(LogError::io(path, e)),
        }
    }

    /// The key for a user of `channel` ("telegram") with the channel's numeric id.
    pub fn key(&self, channel: &str, id: i64) -> UserKey {
        Self::key_under(&self.secret, channel, id)
    }

    /// The user's key under the previous secret, after a rotation.
    pub fn previous_key(&self, channel: &str, id: i64) -> Option<UserKey> {
        self.previous
            .as_ref()
            .map(|s| Self::key_under(s, channel, id))
    }

    /// A secret for another purpose (the review app's login tokens), derived from this key
    /// with HMAC-SHA256 so that it differs for every `purpose` and reveals nothing of the key.
    /// Replicas sharing the key file share these too.
    pub fn derived_secret(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(b"workhealth derived secret:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn key_under(secret: &[u8; 32], channel: &str, id: i64) -> UserKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(channel.as_bytes());
        mac.update(b":");
        mac.update(id.to_string().as_bytes());
        let out = mac.finalize().into_bytes();
        UserKey(hex::encode(&out[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_distinct_and_hide_the_id() {
        let p = Pseudonymiser::from_secret([7; 32]);
        let a = p.key("telegram", 123456789);
        assert_ne!(p.derived_secret("login"), p.derived_secret("other"));
        assert_eq!(p.derived_secret("login"), p.derived_secret("login"));
        assert_eq!(a, p.key("telegram", 123456789));
        assert_ne!(a, p.key("telegram", 123456788));
        assert_ne!(a, p.key("terminal", 123456789));
        assert_eq!(a.as_str().len(), 32);
        assert!(!a.as_str().contains("123456789"));
        let q = Pseudonymiser::from_secret([8; 32]);
        assert_ne!(a, q.key("telegram", 123456789));
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p1 = Pseudonymiser::load_or_create(dir.path()).unwrap();
        let p2 = Pseudonymiser::load_or_create(dir.path()).unwrap();
        assert_eq!(p1.key("telegram", 1), p2.key("telegram", 1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn after_a_rotation_the_previous_key_is_known() {
        let dir = tempfile::tempdir().unwrap();
        let old = Pseudonymiser::load_or_create(dir.path()).unwrap();
        fs::rename(
            dir.path().join(KEY_FILE),
            dir.path().join(PREVIOUS_KEY_FILE),
        )
        .unwrap();
        let new = Pseudonymiser::load_or_create(dir.path()).unwrap();
        assert_ne!(new.key("telegram", 9), old.key("telegram", 9));
        assert_eq!(
            new.previous_key("telegram", 9),
            Some(old.key("telegram", 9))
        );
        assert_eq!(old.previous_key("telegram", 9), None);
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "not hex").unwrap();
        let err = Pseudonymiser::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }
}
