//! Every read of the log in SQL: the questions and their filters, the numbers the overview
//! and `log stats` show, settings, how far a Telegram update was handled, reviewers and
//! sessions. This is all [`crate::log::Reader`] can reach ([`ReadStore`]): nothing here
//! writes (checked by `tests/it/tidy.rs`).

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    QUESTION_COLUMNS, REVIEWER_COLUMNS, SqlStore, reviewer_from_row, since_arg, where_clause,
};
use crate::log::driver::Driver;
use crate::log::store::{
    Day, Filter, ReadStore, Reviewer, Session, Stats, Suggestion, UpdateState,
};
use crate::log::{LogError, Outcome, Question, UserKey};

impl<D: Driver> ReadStore for SqlStore<D> {
    fn region(&mut self, user: &UserKey) -> Result<Option<String>, LogError> {
        let row = self.query_opt(
            "SELECT region FROM settings WHERE user_key = ?1",
            &[user.as_str().into()],
        )?;
        Ok(row.map(|r| r.opt_text(0)).transpose()?.flatten())
    }

    fn stats(&mut self, since: Option<DateTime<Utc>>) -> Result<Stats, LogError> {
        let since = [since_arg(since)];
        let mut s = Stats::default();
        for r in self.driver.query(
            "SELECT outcome, count(*) FROM questions WHERE asked_at >= ?1 GROUP BY outcome",
            &since,
        )? {
            let n = r.count(1)?;
            match Outcome::parse(&r.text(0)?) {
                Some(Outcome::Answer) => s.answered += n,
                Some(Outcome::Clarify) => s.clarified += n,
                Some(Outcome::NoAnswer) => s.unanswered += n,
                Some(Outcome::Crisis) => s.crisis += n,
                // Greetings, thanks and emoji are not questions.
                Some(Outcome::SmallTalk) => continue,
                None => {}
            }
            s.questions += n;
        }
        let r = self.query_one(
            "SELECT count(*) FILTER (WHERE feedback = 'helpful'),
                    count(*) FILTER (WHERE feedback = 'unhelpful')
             FROM questions WHERE asked_at >= ?1",
            &since,
        )?;
        s.helpful = r.count(0)?;
        s.unhelpful = r.count(1)?;
        s.top_entries = self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id LIMIT 10",
            &since,
        )?;
        s.top_unanswered = self.pairs(
            "SELECT lower(trim(text)) AS t, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND outcome = 'no_answer'
             GROUP BY t ORDER BY n DESC, t LIMIT 10",
            &since,
        )?;
        Ok(s)
    }

    fn questions(
        &mut self,
        filter: &Filter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Question>, LogError> {
        let (clause, args) = where_clause(filter);
        let rows = self.driver.query(
            &format!(
                "SELECT {QUESTION_COLUMNS} FROM questions q {clause}
                 ORDER BY q.asked_at DESC, q.id LIMIT {limit} OFFSET {offset}"
            ),
            &args,
        )?;
        self.with_tags(rows)
    }

    fn count(&mut self, filter: &Filter) -> Result<u64, LogError> {
        let (clause, args) = where_clause(filter);
        self.query_one(&format!("SELECT count(*) FROM questions q {clause}"), &args)?
            .count(0)
    }

    fn question(&mut self, id: i64) -> Result<Option<Question>, LogError> {
        let rows = self.driver.query(
            &format!("SELECT {QUESTION_COLUMNS} FROM questions q WHERE q.id = ?1"),
            &[id.into()],
        )?;
        Ok(self.with_tags(rows)?.into_iter().next())
    }

    fn days(&mut self, since: DateTime<Utc>) -> Result<Vec<Day>, LogError> {
        self.driver
            .query(
                "SELECT substr(asked_at, 1, 10) AS d,
                        count(*) FILTER (WHERE outcome <> 'smalltalk'),
                        count(*) FILTER (WHERE outcome = 'no_answer')
                 FROM questions WHERE asked_at >= ?1 GROUP BY d
                 HAVING count(*) FILTER (WHERE outcome <> 'smalltalk') > 0 ORDER BY d",
                &[since.into()],
            )?
            .iter()
            .map(|r| {
                Ok(Day {
                    date: NaiveDate::parse_from_str(&r.text(0)?, "%Y-%m-%d").unwrap_or_default(),
                    questions: r.count(1)?,
                    unanswered: r.count(2)?,
                })
            })
            .collect()
    }

    fn suggestions(&mut self) -> Result<Vec<Suggestion>, LogError> {
        self.driver
            .query(
                "SELECT suggested_entry, text, id FROM questions
                 WHERE suggested_entry IS NOT NULL ORDER BY suggested_entry, asked_at",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Suggestion {
                    entry: r.text(0)?,
                    question: r.text(1)?,
                    question_id: r.int(2)?,
                })
            })
            .collect()
    }

    fn shown_counts(
        &mut self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(String, u64)>, LogError> {
        self.pairs(
            "SELECT shown_id, count(*) AS n FROM questions
             WHERE asked_at >= ?1 AND shown_id IS NOT NULL AND outcome = 'answer'
             GROUP BY shown_id ORDER BY n DESC, shown_id",
            &[since_arg(since)],
        )
    }

    fn tags(&mut self) -> Result<Vec<(String, u64)>, LogError> {
        self.pairs(
            "SELECT tag, count(*) AS n FROM question_tags GROUP BY tag ORDER BY n DESC, tag",
            &[],
        )
    }

    fn user_questions(&mut self, user: &UserKey) -> Result<u64, LogError> {
        self.query_one(
            "SELECT count(*) FROM questions WHERE user_key = ?1",
            &[user.as_str().into()],
        )?
        .count(0)
    }

    fn writable(&mut self) -> Result<(), LogError> {
        self.driver.writable()
    }

    fn update_state(
        &mut self,
        update_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<UpdateState>, LogError> {
        let row = self.query_opt(
            "SELECT messages_sent, done, messages_sending FROM telegram_updates
             WHERE update_id = ?1 AND updated_at >= ?2",
            &[update_id.into(), since.into()],
        )?;
        row.map(|r| {
            let sent = u32::try_from(r.int(0)?.max(0)).unwrap_or(u32::MAX);
            Ok(UpdateState {
                sent,
                sending: u32::try_from(r.int(2)?.max(0))
                    .unwrap_or(u32::MAX)
                    .max(sent),
                done: r.int(1)? != 0,
            })
        })
        .transpose()
    }

    fn reviewer(&mut self, name: &str) -> Result<Option<Reviewer>, LogError> {
        self.query_opt(
            &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers WHERE name = ?1"),
            &[name.into()],
        )?
        .as_ref()
        .map(reviewer_from_row)
        .transpose()
    }

    fn reviewers(&mut self) -> Result<Vec<Reviewer>, LogError> {
        self.driver
            .query(
                &format!("SELECT {REVIEWER_COLUMNS} FROM reviewers ORDER BY name"),
                &[],
            )?
            .iter()
            .map(reviewer_from_row)
            .collect()
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<Session>, LogError> {
        self.query_opt(
            "SELECT token_hash, reviewer, csrf, expires_at FROM sessions WHERE token_hash = ?1",
            &[token_hash.into()],
        )?
        .map(|r| {
            Ok(Session {
                token_hash: r.text(0)?,
                reviewer: r.text(1)?,
                csrf: r.text(2)?,
                expires_at: r.time(3)?,
            })
        })
        .transpose()
    }
}
