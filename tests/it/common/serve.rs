//! `workhealth serve` as a child process against a fake Bot API, for the bot and ops tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::fake_telegram::{FakeTelegram, Sent};
use workhealth::log::DB_FILE;
use workhealth::log::sqlite::SqliteStore;

pub const T: Duration = Duration::from_secs(20);

pub struct Launch<'a> {
    pub args: &'a [&'a str],
    pub content: &'a Path,
    /// A data folder to share (default: a fresh temp one).
    pub data: Option<&'a Path>,
    /// A fake Bot API to share (default: a fresh one).
    pub fake: Option<FakeTelegram>,
}

pub struct Serve {
    pub child: Child,
    pub fake: FakeTelegram,
    pub data: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
    stderr: Arc<Mutex<Vec<String>>>,
    pub http: String,
    /// No answering test runs beside a running `serve` (see [`super::Room`]).
    _room: super::InRoom,
}

impl Serve {
    pub async fn start(args: &[&str]) -> Serve {
        Serve::start_with(args, &super::repo().join("content")).await
    }

    pub async fn start_with(args: &[&str], content: &Path) -> Serve {
        Serve::launch(Launch {
            args,
            content,
            data: None,
            fake: None,
        })
        .await
    }

    pub async fn launch(l: Launch<'_>) -> Serve {
        let room = tokio::task::spawn_blocking(|| super::Room::Timed.enter())
            .await
            .unwrap();
        let fake = match l.fake {
            Some(f) => f,
            None => FakeTelegram::start().await,
        };
        let mut dirs = Vec::new();
        let data = match l.data {
            Some(d) => d.to_path_buf(),
            None => {
                let d = tempfile::tempdir().unwrap();
                let p = d.path().to_path_buf();
                dirs.push(d);
                p
            }
        };
        let index = tempfile::tempdir().unwrap();
        let webhook = l.args.contains(&"--webhook");
        let (setup_calls, setup_method) = if webhook {
            (fake.calls("setWebhook"), "setWebhook")
        } else {
            (fake.calls("getUpdates"), "getUpdates")
        };
        let mut child = super::bin()
            .args(["--content", l.content.to_str().unwrap()])
            .args(["--index", index.path().join("idx").to_str().unwrap()])
            .args(["--data", data.to_str().unwrap()])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(l.args)
            .env("TELOXIDE_TOKEN", "123456:TEST")
            .env("TELOXIDE_API_URL", fake.api_url())
            .env("RUST_LOG", "workhealth=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        dirs.push(index);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let stderr = stderr.clone();
            let pipe = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(addr) = line.strip_prefix("workhealth: listening on ") {
                        let _ = tx.send(addr.to_string());
                    }
                    stderr.lock().unwrap().push(line);
                }
            });
        }
        let http = tokio::task::spawn_blocking(move || rx.recv_timeout(T))
            .await
            .unwrap()
            .expect("serve did not start listening");
        let s = Serve {
            child,
            fake,
            data,
            _dirs: dirs,
            stderr,
            http,
            _room: room,
        };
        // Ready when it polls for updates (or has set its webhook).
        let t0 = std::time::Instant::now();
        while s.fake.calls(setup_method) <= setup_calls {
            assert!(t0.elapsed() < T, "serve never started: {}", s.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        s
    }

    pub fn log_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGTERM, and wait for a clean exit.
    pub async fn stop(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let t0 = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "serve exited with {status}: {}",
                    self.log_text()
                );
                return;
            }
            assert!(t0.elapsed() < T, "serve did not stop: {}", self.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn db(&self) -> SqliteStore {
        SqliteStore::open(&self.data.join(DB_FILE)).unwrap()
    }

    pub fn db_path(&self) -> PathBuf {
        self.data.clone()
    }

    /// Every message the bot has sent to one chat, in order.
    fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.fake
            .sent()
            .into_iter()
            .filter(|s| s.chat_id == chat)
            .collect()
    }

    pub async fn ask(&self, chat: i64, text: &str) -> Vec<Sent> {
        let before = self.sent_to(chat).len();
        let update = self.fake.send_text(chat, text);
        self.fake.wait_sent_to(chat, before + 1, T).await;
        // A multi-part reply has finished once the bot confirms the update.
        self.fake.wait_confirmed(update, T).await;
        self.sent_to(chat).split_off(before)
    }

    pub async fn press(&self, chat: i64, message_id: i64, data: &str) -> Vec<Sent> {
        let before = self.sent_to(chat).len();
        let answered = self.fake.answered_callbacks().len();
        let update = self.fake.press_button(chat, message_id, data);
        let t0 = std::time::Instant::now();
        while self.fake.answered_callbacks().len() == answered {
            assert!(
                t0.elapsed() < T,
                "callback never answered: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.fake.wait_confirmed(update, T).await;
        self.sent_to(chat).split_off(before)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
