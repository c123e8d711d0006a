//! The SQLite driver: one file under `--data`, WAL mode, migrations counted in
//! `user_version`. The schema, queries and row mapping are [`super::sql`]'s, the schema [`super::schema`]'s.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, params_from_iter};

use super::LogError;
use super::driver::{Driver, Row, Value};
use super::sql::SqlStore;

/// Schema migrations, in order; the database's `user_version` is how many have run.
pub const MIGRATIONS: &[&str] = &super::schema::migrations!("INTEGER");

/// The question log in SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// A connection to the database file.
pub struct Sqlite {
    conn: Connection,
    path: PathBuf,
}

/// Creates the database file, if it is not there, readable by its owner only (0600, like the
/// pseudonymisation key): it holds the questions and the reviewers' password and session
/// hashes. SQLite gives its `-wal` and `-shm` files the database file's mode.
fn create_private(path: &Path) -> Result<(), LogError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

fn sql(path: &Path, e: rusqlite::Error) -> LogError {
    LogError::Sqlite {
        path: path.to_path_buf(),
        source: e,
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database and runs any pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, LogError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut driver = Sqlite {
            conn,
            path: path.to_path_buf(),
        };
        driver.configure()?;
        driver.migrate()?;
        Ok(SqlStore { driver })
    }

    pub fn schema_version(&self) -> Result<i64, LogError> {
        self.driver.pragma("user_version")
    }

    /// Test hook: caps the database size so writes fail as on a full disk (`None` lifts it).
    pub fn limit_pages(&mut self, pages: Option<u64>) -> Result<(), LogError> {
        let n = pages.unwrap_or(1 << 30);
        let d = &self.driver;
        d.conn
            .pragma_update(None, "max_page_count", n)
            .map_err(|e| d.err(e))
    }

    pub fn page_count(&self) -> Result<u64, LogError> {
        self.driver.pragma("page_count")
    }

    pub fn integrity_check(&self) -> Result<String, LogError> {
        self.driver.pragma("integrity_check")
    }
}

impl Sqlite {
    fn err(&self, e: rusqlite::Error) -> LogError {
        sql(&self.path, e)
    }

    fn pragma<T: rusqlite::types::FromSql>(&self, name: &str) -> Result<T, LogError> {
        self.conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn configure(&mut self) -> Result<(), LogError> {
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| self.err(e))?;
        // Room for every statement the store uses, so each is prepared once.
        self.conn.set_prepared_statement_cache_capacity(64);
        // NORMAL is durable across process crashes in WAL mode (only power loss can lose the
        // last transactions), and much faster than FULL.
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), LogError> {
        let known = MIGRATIONS.len() as i64;
        let found: i64 = self.pragma("user_version")?;
        if found > known {
            return Err(LogError::SchemaTooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        let path = self.path.clone();
        for (i, sql_text) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i64 + 1;
            let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
            // Re-check inside the write transaction: another process may have migrated.
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| sql(&path, e))?;
            if now >= version {
                continue;
            }
            tx.execute_batch(sql_text).map_err(|e| sql(&path, e))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(|e| sql(&path, e))?;
            tx.commit().map_err(|e| sql(&path, e))?;
            tracing::info!(path = %path.display(), version, "database migrated");
        }
        Ok(())
    }
}

impl Driver for Sqlite {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, LogError> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let n = st
            .execute(params_from_iter(params))
            .map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, LogError> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let columns = st.column_count();
        let mut rows = st
            .query(params_from_iter(params))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let mut row = Vec::with_capacity(columns);
            for i in 0..columns {
                row.push(match r.get_ref(i).map_err(|e| self.err(e))? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Real(_) => {
                        return Err(LogError::Corrupt(format!(
                            "{}: a fractional number where the log stores none",
                            self.path.display()
                        )));
                    }
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }

    fn begin(&mut self) -> Result<(), LogError> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))
    }

    fn commit(&mut self) -> Result<(), LogError> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))
    }

    fn rollback(&mut self) -> Result<(), LogError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(|e| self.err(e))
    }

    fn writable(&mut self) -> Result<(), LogError> {
        // A write transaction that changes nothing: fails on a read-only or locked database.
        self.conn
            .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(|e| self.err(e))
    }
}
