//! Configuration: every flag also reads a `WORKHEALTH_*` variable, and an optional YAML file
//! (`--config FILE` or `WORKHEALTH_CONFIG`) supplies values for what neither sets. Precedence:
//! flag > environment > file > built-in default. The file's values are checked here, each bad
//! one reported in one line naming the file, its line and the setting; then they become clap's
//! defaults, so clap applies the precedence and every later check in one place.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use crate::cli::Cli;

/// Settings a file may hold: name, whether it belongs to `serve` (and `config show`), and
/// whether it is secret (masked by `config show`).
const SETTINGS: &[(&str, bool, Secret)] = &[
    ("content", false, Secret::No),
    ("index", false, Secret::No),
    ("model", false, Secret::No),
    ("vectors", false, Secret::No),
    ("data", false, Secret::No),
    ("log_format", false, Secret::No),
    ("listen", true, Secret::No),
    ("no_telegram", true, Secret::No),
    ("throttle", true, Secret::No),
    ("watch", true, Secret::No),
    ("retention_days", true, Secret::No),
    ("webhook", true, Secret::No),
    ("webhook_secret", true, Secret::Yes),
    ("database_url", false, Secret::Url),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Secret {
    No,
    Yes,
    Url,
}

/// Where each setting's value came from, for `config show`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub of: BTreeMap<String, String>,
}

pub use crate::log::mask_url;

/// The `--config` file named on the command line or in `WORKHEALTH_CONFIG`.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("WORKHEALTH_CONFIG").map(PathBuf::from)
}

/// Reads and checks a config file: a YAML mapping of setting names to scalars.
pub fn read_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the config file: {e}", path.display()))?;
    let raw: BTreeMap<String, serde_saphyr::Spanned<serde_json::Value>> =
        match serde_saphyr::from_str(&text) {
            Ok(v) => v,
            Err(err) => {
                let (line, col) = err
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((1, 1));
                bail!(
                    "{}:{line}:{col}: {}",
                    path.display(),
                    DefaultMessageFormatter.format_message(&err)
                );
            }
        };
    let mut out = BTreeMap::new();
    for (key, v) in raw {
        let name = key.replace('-', "_");
        let at = format!(
            "{}:{}:{}",
            path.display(),
            v.referenced.line(),
            v.referenced.column()
        );
        if !SETTINGS.iter().any(|(n, ..)| *n == name) {
            let known: Vec<&str> = SETTINGS.iter().map(|(n, ..)| *n).collect();
            bail!(
                "{at}: unknown setting `{key}` (known: {})",
                known.join(", ")
            );
        }
        let value = match &v.value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            // YAML reads a bare `on`/`off` as a boolean.
            serde_json::Value::Bool(b) if matches!(name.as_str(), "throttle" | "watch") => {
                if *b { "on" } else { "off" }.to_string()
            }
            serde_json::Value::Bool(b) => b.to_string(),
            _ => bail!("{at}: {name}: expected a single value"),
        };
        check(&name, &value).map_err(|why| anyhow::anyhow!("{at}: {name}: {why}"))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// The checks clap would make, with messages that name the file's setting.
fn check(name: &str, v: &str) -> std::result::Result<(), String> {
    let on_off = || match v {
        "on" | "off" => Ok(()),
        _ => Err(format!("`{v}` must be on or off")),
    };
    match name {
        "listen" => v
            .parse::<std::net::SocketAddr>()
            .map(|_| ())
            .map_err(|_| format!("`{v}` is not an address like 127.0.0.1:8080")),
        "retention_days" => match v.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!("`{v}` is not a whole number of days (1 or more)")),
        },
        "throttle" | "watch" => on_off(),
        "log_format" => match v {
            "human" | "json" => Ok(()),
            _ => Err(format!("`{v}` must be human or json")),
        },
        "no_telegram" => match v {
            "true" | "false" => Ok(()),
            _ => Err(format!("`{v}` must be true or false")),
        },
        "webhook" => match reqwest::Url::parse(v) {
            Ok(u) if u.scheme() == "https" => Ok(()),
            Ok(_) => Err("Telegram needs an https:// URL".to_string()),
            Err(e) => Err(format!("not a URL ({e})")),
        },
        "database_url" => match reqwest::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => Ok(()),
            Ok(_) => Err("expected postgres://... (or no URL for SQLite in --data)".to_string()),
            Err(e) => Err(format!("not a URL ({e})")),
        },
        "webhook_secret" => {
            let ok = (1..=256).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if ok {
                Ok(())
            } else {
                Err("1 to 256 characters of A-Z a-z 0-9 _ - (Telegram's rule)".to_string())
            }
        }
        _ => Ok(()),
    }
}

/// Parses the command line with the config file's values as defaults.
pub fn parse() -> Result<(Cli, Sources), clap::Error> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let path = config_path(&args);
    let file = match &path {
        Some(p) => match read_file(p) {
            Ok(f) => f,
            Err(e) => {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!("{e:#}\n"),
                ));
            }
        },
        None => BTreeMap::new(),
    };
    let mut cmd = Cli::command();
    for (name, value) in &file {
        let serve = SETTINGS.iter().any(|(n, s, _)| n == name && *s);
        let default = |a: clap::Arg| a.default_value(value.clone());
        cmd = if serve {
            // `serve`'s settings are also `config show`'s (it flattens the same arguments).
            cmd.mut_subcommand("serve", |s| s.mut_arg(name, default))
                .mut_subcommand("config", |c| {
                    c.mut_subcommand("show", |s| s.mut_arg(name, default))
                })
        } else {
            cmd.mut_arg(name, default)
        };
    }
    let matches = cmd.try_get_matches_from(&args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    let mut sources = Sources {
        file: path.clone(),
        of: BTreeMap::new(),
    };
    let sub = matches
        .subcommand_matches("config")
        .and_then(|m| m.subcommand_matches("show"))
        .or_else(|| matches.subcommand_matches("serve"));
    for (name, serve, _) in SETTINGS {
        let m = if *serve { sub } else { Some(&matches) };
        let Some(m) = m else { continue };
        let src = match m.value_source(name) {
            Some(ValueSource::CommandLine) => "flag".to_string(),
            Some(ValueSource::EnvVariable) => {
                format!("env WORKHEALTH_{}", name.to_uppercase())
            }
            Some(ValueSource::DefaultValue) if file.contains_key(*name) => {
                format!(
                    "file {}",
                    path.as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )
            }
            Some(_) => "default".to_string(),
            None => "unset".to_string(),
        };
        sources.of.insert(name.to_string(), src);
    }
    Ok((cli, sources))
}

/// `config show`: the effective settings, secrets masked, each with where it came from.
pub fn show(cli: &Cli, serve: &crate::cli::ServeArgs, sources: &Sources) -> String {
    use std::fmt::Write as _;
    let g = &cli.global;
    let on_off = |o: crate::cli::OnOff| match o {
        crate::cli::OnOff::On => "on",
        crate::cli::OnOff::Off => "off",
    };
    let values: Vec<(&str, String)> = vec![
        ("content", g.content.display().to_string()),
        ("index", g.index.display().to_string()),
        ("model", g.model.display().to_string()),
        (
            "vectors",
            g.vectors
                .as_ref()
                .map(|v| v.display().to_string())
                .unwrap_or_default(),
        ),
        ("data", g.data.display().to_string()),
        ("log_format", g.log_format.as_str().to_string()),
        ("listen", serve.listen.to_string()),
        ("no_telegram", serve.no_telegram.to_string()),
        ("throttle", on_off(serve.throttle).to_string()),
        ("watch", on_off(serve.watch).to_string()),
        ("retention_days", serve.retention_days.to_string()),
        ("webhook", serve.webhook.clone().unwrap_or_default()),
        (
            "webhook_secret",
            serve.webhook_secret.clone().unwrap_or_default(),
        ),
        ("database_url", g.database_url.clone().unwrap_or_default()),
    ];
    let mut out = String::new();
    if let Some(f) = &sources.file {
        let _ = writeln!(out, "# config file: {}", f.display());
    }
    for (name, value) in values {
        let secret = SETTINGS
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, _, s)| *s)
            .unwrap_or(Secret::No);
        let shown = if value.is_empty() {
            "(not set)".to_string()
        } else {
            match secret {
                Secret::No => value,
                Secret::Yes => "***".to_string(),
                Secret::Url => mask_url(&value),
            }
        };
        let src = sources
            .of
            .get(name)
            .map(String::as_str)
            .unwrap_or("default");
        let _ = writeln!(out, "{name}: {shown}    # {src}");
    }
    let token = match std::env::var("TELOXIDE_TOKEN") {
        Ok(t) if !t.trim().is_empty() => "*** (set)",
        _ => "(not set)",
    };
    let _ = writeln!(out, "telegram_token: {token}    # env TELOXIDE_TOKEN");
    let api = std::env::var("TELOXIDE_API_URL").unwrap_or_default();
    let _ = writeln!(
        out,
        "telegram_api_url: {}    # env TELOXIDE_API_URL",
        if api.is_empty() {
            "(Telegram)".to_string()
        } else {
            mask_url(&api)
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_a_bad_value_names_the_setting_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("workhealth.yaml");
        std::fs::write(&p, "listen: 127.0.0.1:9000\nretention_days: soon\n").unwrap();
        let e = read_file(&p).unwrap_err().to_string();
        assert!(e.contains("workhealth.yaml:2:"), "{e}");
        assert!(e.contains("retention_days"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        for (bad, why) in [
            ("webhook: http://bot.example.org/hook\n", "https://"),
            ("database_url: mysql://db/wh\n", "postgres://"),
            ("webhook_secret: has spaces\n", "A-Z a-z 0-9"),
        ] {
            std::fs::write(&p, format!("listen: 127.0.0.1:9000\n{bad}")).unwrap();
            let e = read_file(&p).unwrap_err().to_string();
            assert!(e.contains("workhealth.yaml:2:") && e.contains(why), "{e}");
        }
        std::fs::write(&p, "listn: 1\n").unwrap();
        let e = read_file(&p).unwrap_err().to_string();
        assert!(e.contains("unknown setting `listn`"), "{e}");
        std::fs::write(&p, "throttle: off\nretention-days: 30\nno_telegram: true\n").unwrap();
        let f = read_file(&p).unwrap();
        assert_eq!(f["retention_days"], "30");
        assert_eq!(f["no_telegram"], "true");
    }

    #[test]
    fn urls_are_masked() {
        assert_eq!(
            mask_url("postgres://wh:hunter2@db.local:5432/wh"),
            "postgres://wh:***@db.local:5432/wh"
        );
        assert!(!mask_url("postgres://wh:hunter2@db/wh").contains("hunter2"));
    }
}
