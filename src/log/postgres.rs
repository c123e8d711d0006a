//! The PostgreSQL driver, for several replicas sharing one log: the same schema and queries
//! as SQLite ([`super::sql`]), migrations counted in a `workhealth_schema` table under an
//! advisory lock. A lost connection is re-opened on the next use (never inside a
//! transaction).

use std::sync::mpsc;

use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};

use super::LogError;
use super::driver::{Driver, Row, Value};
use super::sql::SqlStore;

/// Migrations, in order; `workhealth_schema.version` is how many have run.
pub const MIGRATIONS: &[&str] = &super::schema::migrations!("BIGINT");

/// The question log in PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

/// The driver. The `postgres` crate's client runs its own small runtime and must not be used
/// from inside tokio, so every call is handed to a thread of its own that owns the
/// connection.
pub struct Postgres {
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// The connection, on its own thread.
struct Conn {
    url: String,
    client: Option<Client>,
    /// Inside a transaction a lost connection is an error, not a new connection.
    in_transaction: bool,
}

fn pg(url: &str, e: postgres::Error) -> LogError {
    LogError::Postgres {
        url: crate::log::mask_url(url),
        source: e,
    }
}

/// `?N` placeholders to PostgreSQL's `$N` (the queries hold no `?` in quoted text).
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl PgStore {
    /// Connects and runs pending migrations (under an advisory lock, so replicas starting
    /// together migrate once).
    pub fn open(url: &str) -> Result<PgStore, LogError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let mut conn = Conn {
            url: url.to_string(),
            client: None,
            in_transaction: false,
        };
        std::thread::Builder::new()
            .name("log-postgres".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|source| LogError::Thread {
                what: "PostgreSQL",
                source,
            })?;
        let driver = Postgres { jobs };
        driver.call(|c| c.migrate())?;
        Ok(SqlStore { driver })
    }

    pub fn schema_version(&mut self) -> Result<i64, LogError> {
        self.driver.call(|c| c.schema_version())
    }
}

impl Postgres {
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let (back, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |c: &mut Conn| {
                let _ = back.send(f(c));
            }))
            .map_err(|_| LogError::WriterGone)?;
        rx.recv().map_err(|_| LogError::WriterGone)?
    }
}

impl Conn {
    fn client(&mut self) -> Result<&mut Client, LogError> {
        let lost = self.client.as_ref().is_none_or(|c| c.is_closed());
        if lost && !self.in_transaction {
            let c = Client::connect(&self.url, NoTls).map_err(|e| pg(&self.url, e))?;
            self.client = Some(c);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(LogError::WriterGone),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), LogError> {
        let url = self.url.clone();
        self.client()?.batch_execute(sql).map_err(|e| pg(&url, e))
    }

    fn schema_version(&mut self) -> Result<i64, LogError> {
        let url = self.url.clone();
        let c = self.client()?;
        c.batch_execute("CREATE TABLE IF NOT EXISTS workhealth_schema (version BIGINT NOT NULL)")
            .map_err(|e| pg(&url, e))?;
        let row = c
            .query_opt("SELECT version FROM workhealth_schema", &[])
            .map_err(|e| pg(&url, e))?;
        Ok(row.map(|r| r.get::<_, i64>(0)).unwrap_or(0))
    }

    fn migrate(&mut self) -> Result<(), LogError> {
        let url = self.url.clone();
        let known = MIGRATIONS.len() as i64;
        let c = self.client()?;
        let mut tx = c.transaction().map_err(|e| pg(&url, e))?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7271820);
             CREATE TABLE IF NOT EXISTS workhealth_schema (version BIGINT NOT NULL);",
        )
        .map_err(|e| pg(&url, e))?;
        let found = tx
            .query_opt("SELECT version FROM workhealth_schema", &[])
            .map_err(|e| pg(&url, e))?
            .map(|r| r.get::<_, i64>(0));
        let v = found.unwrap_or(0);
        if v > known {
            return Err(LogError::SchemaTooNew {
                path: crate::log::mask_url(&url).into(),
                found: v,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            tx.batch_execute(sql).map_err(|e| pg(&url, e))?;
            tracing::info!(version = i + 1, "PostgreSQL log migrated");
        }
        if found.is_none() {
            tx.execute(
                "INSERT INTO workhealth_schema (version) VALUES ($1)",
                &[&known],
            )
        } else {
            tx.execute("UPDATE workhealth_schema SET version = $1", &[&known])
        }
        .map_err(|e| pg(&url, e))?;
        tx.commit().map_err(|e| pg(&url, e))
    }

    fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, LogError> {
        let url = self.url.clone();
        let typed = typed(params);
        let rows = self
            .client()?
            .query_typed(sql, &typed)
            .map_err(|e| pg(&url, e))?;
        rows.iter().map(|r| row_values(&url, r)).collect()
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, LogError> {
        let url = self.url.clone();
        let typed = typed(params);
        self.client()?
            .execute_typed(sql, &typed)
            .map_err(|e| pg(&url, e))
    }
}

/// Parameters typed from their values: whole numbers as `BIGINT`, everything else as `TEXT`
/// (PostgreSQL casts a `BIGINT` to an `INTEGER` column on assignment).
fn typed(params: &[Value]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    const NONE: &Option<String> = &None;
    params
        .iter()
        .map(|v| match v {
            Value::Null => (NONE as &(dyn ToSql + Sync), Type::TEXT),
            Value::Int(i) => (i as &(dyn ToSql + Sync), Type::INT8),
            Value::Text(s) => (s as &(dyn ToSql + Sync), Type::TEXT),
        })
        .collect()
}

/// A result row as [`Value`]s, by each column's type.
fn row_values(url: &str, r: &postgres::Row) -> Result<Row, LogError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        let v = if *t == Type::INT8 {
            r.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
        } else if *t == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)
                .map(|v| v.map(|v| Value::Int(v.into())))
        } else if *t == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)
                .map(|v| v.map(|v| Value::Int(v.into())))
        } else if *t == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)
                .map(|v| v.map(|v| Value::Int(v.into())))
        } else {
            r.try_get::<_, Option<String>>(i)
                .map(|v| v.map(Value::Text))
        };
        out.push(v.map_err(|e| pg(url, e))?.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

impl Driver for Postgres {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, LogError> {
        let (sql, params) = (dollar_placeholders(sql), params.to_vec());
        self.call(move |c| c.execute(&sql, &params))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, LogError> {
        let (sql, params) = (dollar_placeholders(sql), params.to_vec());
        self.call(move |c| c.rows(&sql, &params))
    }

    fn begin(&mut self) -> Result<(), LogError> {
        self.call(|c| {
            c.batch("BEGIN")?;
            c.in_transaction = true;
            Ok(())
        })
    }

    fn commit(&mut self) -> Result<(), LogError> {
        self.call(|c| {
            let done = c.batch("COMMIT");
            c.in_transaction = false;
            done
        })
    }

    fn rollback(&mut self) -> Result<(), LogError> {
        self.call(|c| {
            let lost = c.client.as_ref().is_none_or(|c| c.is_closed());
            let done = if lost { Ok(()) } else { c.batch("ROLLBACK") };
            c.in_transaction = false;
            done
        })
    }

    fn writable(&mut self) -> Result<(), LogError> {
        self.call(|c| {
            let rows = c.rows(
                "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')",
                &[],
            )?;
            let read_only = rows.first().is_none_or(|r| {
                r.0.first() != Some(&Value::Int(0)) || r.0.get(1) != Some(&Value::from("off"))
            });
            if read_only {
                return Err(LogError::ReadOnly(crate::log::mask_url(&c.url)));
            }
            Ok(())
        })
    }
}
