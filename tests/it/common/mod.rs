//! Shared test helpers: fixture content in a temp folder, and running the binary.

pub mod fake_telegram;
pub mod serve;
pub mod webdriver;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Condvar, Mutex};

/// What a test does to the machine, for [`Room::enter`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Room {
    /// Loads every core for minutes: the answering tests (the embedding model, in a debug
    /// build; `ask --batch` on many threads).
    Heavy,
    /// Times the bot: `serve` with deadlines of seconds (a reload, a reply after a kill).
    Timed,
}

static ROOM: Mutex<(Option<Room>, usize)> = Mutex::new((None, 0));
static ROOM_FREED: Condvar = Condvar::new();

impl Room {
    /// Waits until no test of the other kind runs, then holds this kind until the guard is
    /// dropped. In one test binary libtest runs tests of every module side by side, so without
    /// this an answering test could starve a bot test past its deadlines; tests of one kind
    /// still run together.
    pub fn enter(self) -> InRoom {
        let mut room = ROOM.lock().unwrap_or_else(|p| p.into_inner());
        while room.0.is_some_and(|r| r != self) {
            room = ROOM_FREED.wait(room).unwrap_or_else(|p| p.into_inner());
        }
        room.0 = Some(self);
        room.1 += 1;
        InRoom(())
    }
}

/// Held while a test of one [`Room`] runs.
pub struct InRoom(());

impl Drop for InRoom {
    fn drop(&mut self) {
        let mut room = ROOM.lock().unwrap_or_else(|p| p.into_inner());
        room.1 -= 1;
        if room.1 == 0 {
            room.0 = None;
            ROOM_FREED.notify_all();
        }
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_workhealth"));
    model_env(&mut c);
    c
}

/// The embedding model every test run of the binary uses (fetched by `bash scripts/test.sh`,
/// or `workhealth model fetch`), and one vector cache shared by the tests' many indexes.
pub fn model_env(c: &mut Command) {
    c.env("WORKHEALTH_MODEL", model_dir())
        .env("WORKHEALTH_VECTORS", repo().join("target/test-vectors"));
}

pub fn model_dir() -> PathBuf {
    repo().join("models/all-MiniLM-L6-v2")
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temp copy of the small valid fixture content.
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/fixtures/content-ok"), dir.path());
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn run(args: &[&str]) -> Run {
    bin().args(args).output().unwrap().into()
}

/// Runs the binary with `stdin` piped in (as a password, say).
pub fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap().into()
}

pub fn check(content: &Path) -> Run {
    run(&["--content", content.to_str().unwrap(), "check"])
}

/// Replaces `from` with `to` in a file under `dir`, failing if `from` is not there.
pub fn edit(dir: &impl AsRef<Path>, file: &str, from: &str, to: &str) {
    let path = dir.as_ref().join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} does not contain {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// A throwaway PostgreSQL database on the server `WORKHEALTH_TEST_DATABASE_URL` names (whose
/// user may create databases), dropped when this is dropped; `None` when no server is set.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    pub fn fresh() -> Option<PgDb> {
        let admin = std::env::var("WORKHEALTH_TEST_DATABASE_URL").ok()?;
        // The sync client must not run on a tokio thread: use one of its own.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
                panic!("WORKHEALTH_TEST_DATABASE_URL is set but unreachable: {e}")
            });
            let name = format!("wh_test_{}", workhealth::log::new_question_id());
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let mut url = reqwest::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            PgDb {
                url: url.to_string(),
                admin,
                name,
            }
        })
        .join()
        .ok()
    }
}

impl PgDb {
    /// The same, for tests marked `#[ignore = "needs PostgreSQL…"]`: panics, saying what to set,
    /// when no server is named, so an asked-for PostgreSQL test never passes without one.
    pub fn required() -> PgDb {
        PgDb::fresh().unwrap_or_else(|| {
            panic!(
                "needs PostgreSQL: set WORKHEALTH_TEST_DATABASE_URL to a server whose user may \
                 create databases (bash scripts/test.sh installs and starts one)"
            )
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}
