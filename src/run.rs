//! What each subcommand does, called from `main` with parsed flags.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::cli::{CheckArgs, Cli, Command};
use crate::content::{self, links};

/// Exit codes: 0 success, 1 content or check failure, 2 usage or configuration error.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<content::InvalidContent>().is_some() { 1 } else { 2 }
}

pub fn init_tracing(_cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(&cli.global.content, &args),
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn check(root: &std::path::Path, args: &CheckArgs) -> Result<ExitCode> {
    let loaded = content::load(root, today());
    for d in &loaded.diagnostics.items {
        println!("{d}");
    }
    let mut errors = loaded.diagnostics.errors();
    let warnings = loaded.diagnostics.warnings();
    let mut link_note = String::new();
    if args.links {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let opts = links::LinkOptions {
            concurrency: args.link_concurrency,
            timeout: Duration::from_secs(args.link_timeout),
            ..Default::default()
        };
        let (dead, checked) = rt.block_on(links::check_links(&loaded.content, &opts));
        for d in &dead {
            for pos in &d.cited_at {
                println!("{pos}: error: dead link {} ({})", d.url, d.reason);
            }
            errors += d.cited_at.len();
        }
        link_note = format!(", {checked} links checked, {} dead", dead.len());
    }
    let c = &loaded.content;
    println!(
        "checked {} guidance entries and {} programmes in {}: {errors} error(s), {warnings} warning(s){link_note}",
        c.entries.len(),
        c.programmes.len(),
        root.display()
    );
    Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
