//! The command line (clap derive). Every flag also reads a `WORKHEALTH_*` variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "workhealth",
    version,
    about = "Answers small employers' questions about work and health"
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
    /// The data folder: the question log database and the pseudonymisation key.
    #[arg(long, global = true, env = "WORKHEALTH_DATA", default_value = "data")]
    pub data: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate all content; every problem as path:line:col. Exit 1 on any error.
    Check(CheckArgs),
    /// Build the search index into --index, atomically.
    Index,
    /// Answer one question as the bot would (or, with `--json -`, one per line from stdin).
    Ask(AskArgs),
    /// The bot's conversation in the terminal; choices are numbered. Needs no token.
    Chat,
    /// Retrieval metrics over a test file (content/tests format).
    Eval(EvalArgs),
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
