//! What each subcommand does, called from `main` with parsed flags.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use crate::assistant::{Assistant, Context};
use crate::cli::{AskArgs, CheckArgs, Cli, Command, EvalArgs, Global, LogCommand};
use crate::content::{self, links};
use crate::search::SearchIndex;
use crate::{chat, eval, render};

/// Exit codes: 0 success, 1 content or check failure, 2 usage or configuration error.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<content::InvalidContent>().is_some() {
        1
    } else {
        2
    }
}

/// Logs to stderr: human-readable, or JSON lines with `--log-format json`; level from
/// `RUST_LOG` (default: warnings, and `serve`'s own info lines). Colour only on a terminal,
/// and never when `NO_COLOR` is set.
pub fn init_tracing(cli: &Cli) {
    let default = match cli.command {
        Command::Serve(_) => "warn,workhealth=info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    let _ = match cli.global.log_format {
        crate::cli::LogFormat::Json => builder.json().try_init(),
        crate::cli::LogFormat::Human => builder.try_init(),
    };
}

/// Whether log lines get ANSI colour: only on a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
pub fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

pub fn run(cli: Cli, sources: &crate::config::Sources) -> Result<ExitCode> {
    if let Command::Config(crate::cli::ConfigCommand::Show(_)) = &cli.command {
        print!("{}", crate::config::show(sources));
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        Command::Config(_) => unreachable!("handled above"),
        Command::Model(cmd) => model_cmd(&cli.global, &cmd),
        Command::Check(args) => check(&cli.global.content, &args),
        Command::Index => index(&cli.global),
        Command::Ask(args) => ask(&cli.global, &args),
        Command::Chat => {
            let a = assistant(&cli.global)?;
            chat::run(&a, std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(args) => eval_cmd(&cli.global, &args),
        Command::Serve(args) => {
            crate::serve::run(&cli.global, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Log(cmd) => log_cmd(&cli.global, &cmd),
        Command::Reviewers(cmd) => {
            use crate::cli::ReviewersCommand as R;
            let log = crate::log::Log::open_at(
                &cli.global.data,
                cli.global.database_url.as_deref(),
                crate::log::LogOptions::default(),
            )
            .context("cannot open the question log")?;
            let r = match &cmd {
                R::Add { name } => crate::review::accounts::add(&log, name),
                R::Remove { name } => crate::review::accounts::remove(&log, name),
                R::Unlock { name } => crate::review::accounts::unlock(&log, name),
                R::List => crate::review::accounts::list(&log),
            };
            log.close();
            r?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads valid content, opens its index (rebuilding a missing or stale one first) and the
/// embedding model (fetching it on first use). Without the model the command stops with one
/// line saying how to get it.
pub fn assistant(g: &Global) -> Result<Assistant> {
    let (a, model) = assistant_or_lexical(g)?;
    if let Err(e) = model {
        return Err(anyhow::Error::new(e));
    }
    Ok(a)
}

pub use crate::live::assistant_or_lexical;

/// An assistant over an index built in memory, with the model in `model` (tests, benchmarks).
pub fn assistant_in_memory(
    content: Arc<content::Content>,
    model: &Path,
    vectors: Option<&Path>,
) -> Result<Assistant> {
    let index = SearchIndex::build_in_ram(&content)?;
    let embedder = crate::embed::Embedder::load(model)?;
    let semantic = crate::search::semantic::Semantic::build(&content, Arc::new(embedder), vectors);
    Ok(Assistant::new(content, index, Some(semantic)))
}

fn model_cmd(g: &Global, cmd: &crate::cli::ModelCommand) -> Result<ExitCode> {
    use crate::cli::ModelCommand as M;
    use crate::embed::files;
    match cmd {
        M::Fetch => files::ensure(&g.model, &mut |line| eprintln!("{line}"))?,
        M::Check => files::verify(&g.model)?,
    }
    println!(
        "the embedding model in {} is ready ({})",
        g.model.display(),
        files::fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}

fn index(g: &Global) -> Result<ExitCode> {
    let content = content::load_valid(&g.content, today())?;
    let started = std::time::Instant::now();
    let idx = SearchIndex::build_on_disk(&g.index, &content)
        .with_context(|| format!("cannot build the search index in {}", g.index.display()))?;
    println!(
        "indexed {} items from {} into {} in {} ms ({})",
        idx.doc_count(),
        g.content.display(),
        g.index.display(),
        started.elapsed().as_millis(),
        idx.built_from
    );
    Ok(ExitCode::SUCCESS)
}

fn ask(g: &Global, args: &AskArgs) -> Result<ExitCode> {
    let a = assistant(g)?;
    if let Some(r) = &args.region
        && a.content().region(r).is_none()
    {
        anyhow::bail!("--region {r}: no such region in regions.yaml");
    }
    let cx = Context {
        region: args.region.clone(),
    };
    if args.question.len() == 1 && args.question[0] == "-" {
        let stdin = std::io::stdin().lock();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        batch(&a, &cx, stdin, &mut out, args.json)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let question = args.question.join(" ");
    let reply = a.reply(&cx, &question);
    if args.json {
        println!("{}", render::json::reply(&reply));
    } else {
        print!("{}", render::terminal::reply(&reply));
    }
    Ok(ExitCode::SUCCESS)
}

/// Batch mode: one question a line (bare text or `{"q": ..., "region": ...}`), one JSON object
/// a line out, in input order; an unusable line gets `{"error": ...}` and the batch goes on.
/// Lines are answered in chunks across the machine's cores.
pub fn batch(
    a: &Assistant,
    cx: &Context,
    input: impl BufRead,
    out: &mut impl Write,
    json: bool,
) -> Result<()> {
    const CHUNK: usize = 512;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let answer = |line: &[u8]| -> serde_json::Value {
        match std::str::from_utf8(line) {
            Err(_) => serde_json::json!({"error": "the line is not valid UTF-8"}),
            Ok(text) => match parse_line(a, cx, text.strip_suffix('\r').unwrap_or(text)) {
                Ok((cx, q)) => {
                    let reply = a.reply(&cx, &q);
                    if json {
                        render::json::reply(&reply)
                    } else {
                        serde_json::Value::String(render::terminal::reply(&reply))
                    }
                }
                Err(e) => serde_json::json!({"error": e.to_string()}),
            },
        }
    };
    let mut lines = input.split(b'\n').peekable();
    while lines.peek().is_some() {
        let chunk: Vec<Vec<u8>> = lines.by_ref().take(CHUNK).collect::<std::io::Result<_>>()?;
        let per = chunk.len().div_ceil(workers).max(1);
        let answers: Vec<Vec<serde_json::Value>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .chunks(per)
                .map(|part| s.spawn(move || part.iter().map(|l| answer(l)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a batch worker panicked"))
                .collect()
        });
        for value in answers.into_iter().flatten() {
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Why a line of `ask --batch` input is not a question: written, as it is, in the line's
/// `{"error": ...}` answer.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not a question object: {0}")]
    NotAQuestion(serde_json::Error),
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
}

fn parse_line(
    a: &Assistant,
    cx: &Context,
    text: &str,
) -> std::result::Result<(Context, String), LineError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            q: String,
            #[serde(default)]
            region: Option<String>,
        }
        let line: Line = serde_json::from_str(trimmed).map_err(LineError::NotAQuestion)?;
        if let Some(r) = &line.region
            && a.content().region(r).is_none()
        {
            return Err(LineError::UnknownRegion(r.clone()));
        }
        let cx = Context {
            region: line.region.or_else(|| cx.region.clone()),
        };
        return Ok((cx, line.q));
    }
    Ok((cx.clone(), text.to_string()))
}

fn eval_cmd(g: &Global, args: &EvalArgs) -> Result<ExitCode> {
    let files = read_case_files_each(&args.file)?;
    let a = assistant(g)?;
    for (file, cases) in &files {
        let unknown = eval::unknown_ids(cases, |id| a.content().kind_of(id).is_some());
        if let Some((q, id)) = unknown.first() {
            anyhow::bail!(
                "{}: {} case(s) expect an id no entry or programme has, first `{id}` for {q:?} \
                 (use `expect: []` for a question no entry answers)",
                file.display(),
                unknown.len()
            );
        }
    }
    if args.signals {
        // One JSON line a case with every item's signals, for calibrating the fusion weights
        // and thresholds by cross-validation (docs/calibration.md).
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (file, cases) in &files {
            for c in cases {
                let ranking = a.signals(
                    &Context {
                        region: c.region.clone(),
                    },
                    &c.q,
                );
                let hits = ranking.hits;
                let expect = c.expected();
                let hits: Vec<serde_json::Value> = hits
                    .iter()
                    .map(|h| {
                        serde_json::json!([
                            h.id,
                            h.kind.as_str(),
                            h.lexical,
                            h.coverage,
                            h.sem_best,
                            h.sem_whole,
                            h.score,
                            h.sem_class
                        ])
                    })
                    .collect();
                let (rule, sims) = a.crisis_signals(&c.q, false);
                let line = serde_json::json!({
                    "file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                    "q": c.q, "expect": expect, "crisis": c.crisis, "hits": hits,
                    "words": crate::assistant::message::read(&c.q).words(),
                    "crisis_rule": rule, "crisis_sims": sims, "off_topic": ranking.off_topic,
                });
                writeln!(out, "{line}")?;
            }
        }
        // The crisis examples and calm contrasts themselves, each left out of its own list.
        let crisis = &a.content().crisis;
        for (list, texts) in [
            ("examples", &crisis.examples),
            ("not_crisis", &crisis.not_crisis),
        ] {
            for t in texts.iter() {
                let (rule, sims) = a.crisis_signals(t, true);
                let line = serde_json::json!({
                    "file": format!("crisis.yaml#{list}"), "q": t, "expect": [],
                    "crisis": list == "examples", "hits": [],
                    "crisis_rule": rule, "crisis_sims": sims,
                });
                writeln!(out, "{line}")?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let all: Vec<eval::Case> = files.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    let total = eval::evaluate(&a, &all);
    if files.len() == 1 {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&total)?);
        } else {
            print!("{}", eval::table(&total));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let each: Vec<(String, eval::Metrics)> = files
        .iter()
        .map(|(f, cases)| {
            (
                f.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                eval::evaluate(&a, cases),
            )
        })
        .collect();
    if args.json {
        let files: serde_json::Map<String, serde_json::Value> = each
            .iter()
            .map(|(f, m)| Ok((f.clone(), serde_json::to_value(m)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"files": files, "total": total}))?
        );
    } else {
        for (f, m) in &each {
            println!("== {f}");
            print!("{}", eval::summary(m));
        }
        println!("== total");
        print!("{}", eval::table(&total));
    }
    Ok(ExitCode::SUCCESS)
}

/// The cases of a test file, or of each file in a folder (sorted by name).
pub fn read_case_files_each(path: &Path) -> Result<Vec<(std::path::PathBuf, Vec<eval::Case>)>> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|f| Ok((f.clone(), eval::read_cases(&f)?)))
            .collect()
    } else {
        Ok(vec![(path.to_path_buf(), eval::read_cases(path)?)])
    }
}

fn log_cmd(g: &Global, cmd: &LogCommand) -> Result<ExitCode> {
    use crate::log::{self as qlog, Filter, Log, LogOptions, report};
    let db = g.data.join(qlog::DB_FILE);
    if g.database_url.is_none() && !db.exists() {
        anyhow::bail!(
            "no question log at {} yet (it is created when `serve` first runs; --data sets the folder)",
            db.display()
        );
    }
    let log = Log::open_at(&g.data, g.database_url.as_deref(), LogOptions::default())
        .context("cannot open the question log")?;
    let since =
        |days: Option<u32>| days.map(|d| chrono::Utc::now() - chrono::Duration::days(i64::from(d)));
    match cmd {
        LogCommand::Stats { since: days } => {
            let s = log.reader().with(|s| s.stats(since(*days)))?;
            print!("{}", report::stats_text(&s, *days));
        }
        LogCommand::Export { since: days, .. } => {
            let filter = Filter {
                since: since(*days),
                ..Default::default()
            };
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            let n = log.reader().with(|s| report::export_csv(s, &filter, out))?;
            tracing::info!(rows = n, "exported");
        }
        LogCommand::Purge { older_than } => {
            let n = log.purge_blocking(*older_than)?;
            println!("deleted {n} question(s) older than {older_than} day(s)");
        }
    }
    log.close();
    Ok(ExitCode::SUCCESS)
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
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}
