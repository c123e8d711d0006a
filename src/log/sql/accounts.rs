//! Reviewer accounts, sessions and login failures in SQL: the writes the review app and the
//! `reviewers` CLI make through [`crate::log::Accounts`] ([`AccountStore`]), apart from the
//! question log's writes, which only the writer thread makes.

use chrono::{DateTime, Utc};

use super::SqlStore;
use crate::log::LogError;
use crate::log::driver::Driver;
use crate::log::store::{AccountStore, Session};

impl<D: Driver> AccountStore for SqlStore<D> {
    fn put_reviewer(&mut self, name: &str, password_hash: &str) -> Result<(), LogError> {
        // A new password ends the reviewer's sessions.
        self.driver
            .execute("DELETE FROM sessions WHERE reviewer = ?1", &[name.into()])?;
        self.driver.execute(
            "INSERT INTO reviewers (name, password_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
                 failed_logins = 0, locked_until = NULL",
            &[name.into(), password_hash.into(), Utc::now().into()],
        )?;
        Ok(())
    }

    fn remove_reviewer(&mut self, name: &str) -> Result<bool, LogError> {
        self.driver
            .execute("DELETE FROM sessions WHERE reviewer = ?1", &[name.into()])?;
        let n = self
            .driver
            .execute("DELETE FROM reviewers WHERE name = ?1", &[name.into()])?;
        Ok(n > 0)
    }

    fn record_login_failure(
        &mut self,
        name: &str,
        locked_until: Option<DateTime<Utc>>,
    ) -> Result<(), LogError> {
        self.driver.execute(
            "UPDATE reviewers SET failed_logins = failed_logins + 1,
                 locked_until = coalesce(?2, locked_until) WHERE name = ?1",
            &[name.into(), locked_until.into()],
        )?;
        Ok(())
    }

    fn swap_login_failures(
        &mut self,
        name: &str,
        old: (u32, Option<DateTime<Utc>>),
        new: (u32, Option<DateTime<Utc>>),
    ) -> Result<bool, LogError> {
        let n = self.driver.execute(
            "UPDATE reviewers SET failed_logins = ?4, locked_until = ?5
             WHERE name = ?1 AND failed_logins = ?2 AND locked_until IS NOT DISTINCT FROM ?3",
            &[
                name.into(),
                old.0.into(),
                old.1.into(),
                new.0.into(),
                new.1.into(),
            ],
        )?;
        Ok(n > 0)
    }

    fn clear_login_failures(&mut self, name: &str) -> Result<(), LogError> {
        self.driver.execute(
            "UPDATE reviewers SET failed_logins = 0, locked_until = NULL WHERE name = ?1",
            &[name.into()],
        )?;
        Ok(())
    }

    fn put_session(&mut self, s: &Session) -> Result<(), LogError> {
        self.driver.execute(
            "INSERT INTO sessions (token_hash, reviewer, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            &[
                s.token_hash.as_str().into(),
                s.reviewer.as_str().into(),
                s.csrf.as_str().into(),
                s.expires_at.into(),
            ],
        )?;
        Ok(())
    }

    fn remove_session(&mut self, token_hash: &str) -> Result<(), LogError> {
        self.driver.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            &[token_hash.into()],
        )?;
        Ok(())
    }

    fn purge_sessions(&mut self, now: DateTime<Utc>) -> Result<(), LogError> {
        self.driver
            .execute("DELETE FROM sessions WHERE expires_at < ?1", &[now.into()])?;
        Ok(())
    }
}
