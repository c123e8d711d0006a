//! What each [`WriteOp`] does in SQL: the inserts, updates and deletes the writer thread
//! applies inside one transaction per batch (a question, 👍/👎, the entry shown, a region,
//! `/forget`, the retention purge, a review, a Telegram update's progress).

use chrono::{DateTime, Utc};

use crate::log::LogError;
use crate::log::ReviewState;
use crate::log::driver::Driver;
use crate::log::store::{ReviewUpdate, WriteOp};

pub(super) fn apply_one(d: &mut impl Driver, op: &WriteOp) -> Result<u64, LogError> {
    match op {
        WriteOp::Insert(q) => {
            let results = serde_json::to_string(&q.results).unwrap_or_else(|_| "[]".into());
            d.execute(
                "INSERT INTO questions (id, asked_at, user_key, region, channel, text, outcome,
                     results, shown_id, content_digest, reply_text)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    q.id.into(),
                    q.asked_at.into(),
                    q.user.as_str().into(),
                    q.region.clone().into(),
                    q.channel.as_str().into(),
                    q.text.as_str().into(),
                    q.outcome.as_str().into(),
                    results.into(),
                    q.shown_id.clone().into(),
                    q.content_digest.as_str().into(),
                    q.reply_text.clone().into(),
                ],
            )
        }
        WriteOp::Feedback {
            id,
            user,
            feedback,
            at,
        } => d.execute(
            "UPDATE questions SET feedback = ?1, feedback_at = ?2 WHERE id = ?3 AND user_key = ?4",
            &[
                feedback.as_str().into(),
                (*at).into(),
                (*id).into(),
                user.as_str().into(),
            ],
        ),
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent: None,
        } => d.execute(
            "UPDATE questions SET shown_id = ?1 WHERE id = ?2 AND user_key = ?3",
            &[shown_id.as_str().into(), (*id).into(), user.as_str().into()],
        ),
        WriteOp::Shown {
            id,
            user,
            shown_id,
            sent: Some(sent),
        } => d.execute(
            // What was sent is added after what the row already holds, a blank line between.
            "UPDATE questions SET shown_id = ?1,
                 reply_text = COALESCE(reply_text || ?2, '') || ?3
             WHERE id = ?4 AND user_key = ?5",
            &[
                shown_id.as_str().into(),
                "\n\n".into(),
                sent.as_str().into(),
                (*id).into(),
                user.as_str().into(),
            ],
        ),
        WriteOp::SetRegion { user, region, at } => d.execute(
            "INSERT INTO settings (user_key, region, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_key) DO UPDATE SET region = excluded.region,
                 updated_at = excluded.updated_at",
            &[user.as_str().into(), region.clone().into(), (*at).into()],
        ),
        WriteOp::Forget { user } => {
            let n = d.execute(
                "DELETE FROM questions WHERE user_key = ?1",
                &[user.as_str().into()],
            )?;
            d.execute(
                "DELETE FROM settings WHERE user_key = ?1",
                &[user.as_str().into()],
            )?;
            Ok(n)
        }
        WriteOp::Purge { before } => d.execute(
            "DELETE FROM questions WHERE asked_at < ?1",
            &[(*before).into()],
        ),
        WriteOp::Review { id, update, by, at } => review(d, *id, update, by, *at),
        WriteOp::UpdateProgress {
            update_id,
            sent,
            sending,
            done,
            at,
        } => {
            d.execute(
                "DELETE FROM telegram_updates WHERE updated_at < ?1",
                &[(*at - crate::log::store::UPDATES_KEPT).into()],
            )?;
            // Never backwards: each count only grows (CASE, as SQLite has no GREATEST).
            d.execute(
                "INSERT INTO telegram_updates
                     (update_id, messages_sent, messages_sending, done, updated_at)
                 VALUES (?1, ?2, ?5, ?3, ?4)
                 ON CONFLICT (update_id) DO UPDATE SET
                     messages_sent = CASE WHEN excluded.messages_sent > telegram_updates.messages_sent
                         THEN excluded.messages_sent ELSE telegram_updates.messages_sent END,
                     messages_sending = CASE
                         WHEN excluded.messages_sending > telegram_updates.messages_sending
                         THEN excluded.messages_sending ELSE telegram_updates.messages_sending END,
                     done = CASE WHEN excluded.done > telegram_updates.done
                         THEN excluded.done ELSE telegram_updates.done END,
                     updated_at = excluded.updated_at",
                &[
                    (*update_id).into(),
                    (*sent).into(),
                    i64::from(*done).into(),
                    (*at).into(),
                    (*sending.max(sent)).into(),
                ],
            )
        }
    }
}

fn review(
    d: &mut impl Driver,
    id: i64,
    u: &ReviewUpdate,
    by: &str,
    at: DateTime<Utc>,
) -> Result<u64, LogError> {
    let n = d.execute(
        "UPDATE questions SET reviewed_at = ?1, reviewed_by = ?2 WHERE id = ?3",
        &[at.into(), by.into(), id.into()],
    )?;
    if n == 0 {
        return Ok(0);
    }
    if let Some(r) = u.reviewed {
        let state = if r {
            ReviewState::Reviewed
        } else {
            ReviewState::New
        };
        d.execute(
            "UPDATE questions SET review_state = ?1 WHERE id = ?2",
            &[state.as_str().into(), id.into()],
        )?;
    }
    let trimmed = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    if let Some(note) = &u.note {
        d.execute(
            "UPDATE questions SET note = ?1 WHERE id = ?2",
            &[trimmed(note).into(), id.into()],
        )?;
    }
    if let Some(s) = &u.suggested_entry {
        d.execute(
            "UPDATE questions SET suggested_entry = ?1 WHERE id = ?2",
            &[trimmed(s).into(), id.into()],
        )?;
    }
    if let Some(tags) = &u.tags {
        d.execute(
            "DELETE FROM question_tags WHERE question_id = ?1",
            &[id.into()],
        )?;
        for t in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            d.execute(
                "INSERT INTO question_tags (question_id, tag) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                &[id.into(), t.into()],
            )?;
        }
    }
    Ok(n)
}
