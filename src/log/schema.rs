//! The question log's schema: its migrations, written once for both databases (only the id
//! column type differs), in order.

/// The schema migrations, in order, for an id column type (`INTEGER` in SQLite, where
/// `INTEGER PRIMARY KEY` is the row id; `BIGINT` in PostgreSQL). Never edit one that has
/// shipped: add a new one.
macro_rules! migrations {
    ($id:tt) => {
        [
            // 1: questions, their tags, and per-user settings.
            concat!(
                "CREATE TABLE questions (
        id ",
                $id,
                " PRIMARY KEY,
        asked_at TEXT NOT NULL,
        user_key TEXT NOT NULL,
        region TEXT,
        channel TEXT NOT NULL,
        text TEXT NOT NULL,
        outcome TEXT NOT NULL,
        results TEXT NOT NULL,
        shown_id TEXT,
        content_digest TEXT NOT NULL,
        feedback TEXT CHECK (feedback IN ('helpful', 'unhelpful')),
        feedback_at TEXT,
        review_state TEXT NOT NULL DEFAULT 'new',
        note TEXT,
        suggested_entry TEXT,
        reviewed_at TEXT
    );
    CREATE INDEX questions_asked_at ON questions (asked_at);
    CREATE INDEX questions_user_key ON questions (user_key);
    CREATE TABLE question_tags (
        question_id ",
                $id,
                " NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (question_id, tag)
    );
    CREATE TABLE settings (
        user_key TEXT PRIMARY KEY,
        region TEXT,
        updated_at TEXT NOT NULL
    );"
            ),
            // 2: the reply as sent, who reviewed, and reviewer accounts for the review app.
            "ALTER TABLE questions ADD COLUMN reply_text TEXT;
    ALTER TABLE questions ADD COLUMN reviewed_by TEXT;
    CREATE TABLE reviewers (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        reviewer TEXT NOT NULL REFERENCES reviewers (name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );",
            // 3: how far each recent Telegram update was handled, so none is answered twice
            // or lost after a crash.
            concat!(
                "CREATE TABLE telegram_updates (
        update_id ",
                $id,
                " PRIMARY KEY,
        messages_sent INTEGER NOT NULL,
        done INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX telegram_updates_updated_at ON telegram_updates (updated_at);"
            ),
            // 4: the message of each update whose sending began, so a crash shows which
            // messages were in flight (sent, perhaps, but not recorded as delivered).
            "ALTER TABLE telegram_updates ADD COLUMN messages_sending INTEGER NOT NULL DEFAULT 0;",
        ]
    };
}
pub(super) use migrations;
