//! Configuration: every flag also reads a `WORKHEALTH_*` variable, and an optional YAML file
//! (`--config FILE` or `WORKHEALTH_CONFIG`) supplies values for what neither sets. Precedence:
//! flag > environment > file > built-in default. The file's values are checked here, each bad
//! one reported in one line naming the file, its line and the setting; then they become clap's
//! defaults, so clap applies the precedence and every later check in one place.
//!
//! The settings are read from clap's definitions in `cli.rs`, not listed here: each global or
//! `serve` flag with a variable is one (`--config` aside), named by its id, secret when it has
//! `hide_env_values`. Adding such a flag in `cli.rs` puts it in the file and in `config show`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use crate::cli::Cli;

/// The one flag with a variable that is not a setting: it names the file of settings.
const CONFIG_FILE: &str = "config";

/// A setting: a flag with an environment variable, read from its clap definition in `cli.rs`
/// (so adding the flag there is the only step).
#[derive(Debug, Clone)]
struct Setting {
    /// The flag's id: its key in the config file and its name in `config show`.
    name: String,
    /// Its environment variable.
    env: String,
    /// Defined on `serve` (and so on `config show`, which takes the same arguments), not global.
    serve: bool,
    secret: Secret,
    /// Its values are `on` and `off`, which YAML reads as booleans when bare.
    on_off: bool,
}

/// How `config show` masks a value: secrets are the flags with `hide_env_values`, and a
/// secret URL (`value_name = "URL"`) keeps all but its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secret {
    No,
    Yes,
    Url,
}

/// Every setting, in the order `cli.rs` defines them: the global flags, then `serve`'s.
fn settings() -> Vec<Setting> {
    let cli = Cli::command();
    let global = cli
        .get_arguments()
        .filter(|a| a.get_id() != CONFIG_FILE)
        .map(|a| (a, false));
    let serve = cli
        .find_subcommand("serve")
        .into_iter()
        .flat_map(|s| s.get_arguments())
        .map(|a| (a, true));
    global
        .chain(serve)
        .filter_map(|(a, serve)| {
            let env = a.get_env()?.to_str()?.to_string();
            let url = a
                .get_value_names()
                .is_some_and(|n| n.iter().any(|n| n.as_str() == "URL"));
            let secret = match (a.is_hide_env_values_set(), url) {
                (false, _) => Secret::No,
                (true, false) => Secret::Yes,
                (true, true) => Secret::Url,
            };
            let values = a.get_possible_values();
            let on_off = values.iter().map(|p| p.get_name()).eq(["on", "off"]);
            Some(Setting {
                name: a.get_id().to_string(),
                env,
                serve,
                secret,
                on_off,
            })
        })
        .collect()
}

/// One line of `config show`: a setting's effective value and where it came from.
#[derive(Debug, Clone)]
pub struct Effective {
    pub name: String,
    /// As parsed (`060` days shows as 60); `None` when unset.
    pub value: Option<String>,
    /// `flag`, `env WORKHEALTH_...`, `file PATH`, `default` or `unset`.
    pub source: String,
    secret: Secret,
}

/// The effective settings of the command that ran (for `config show`: `serve`'s), in the
/// order `cli.rs` defines them, and the config file read, if any.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub settings: Vec<Effective>,
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
    let settings = settings();
    let mut out = BTreeMap::new();
    for (key, v) in raw {
        let name = key.replace('-', "_");
        let at = format!(
            "{}:{}:{}",
            path.display(),
            v.referenced.line(),
            v.referenced.column()
        );
        let Some(setting) = settings.iter().find(|s| s.name == name) else {
            let known: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
            bail!(
                "{at}: unknown setting `{key}` (known: {})",
                known.join(", ")
            );
        };
        let value = match &v.value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            // YAML reads a bare `on`/`off` as a boolean.
            serde_json::Value::Bool(b) if setting.on_off => {
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

/// Why a URL does not parse (the `url` crate's error, as `reqwest` gives it).
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// Why a config file's value is refused: the reason, after the file, line and setting name.
#[derive(Debug, thiserror::Error)]
pub enum BadValue {
    #[error("`{0}` is not an address like 127.0.0.1:8080")]
    Address(String),
    #[error("`{0}` is not a whole number of days (1 or more)")]
    Days(String),
    #[error("`{0}` must be on or off")]
    OnOff(String),
    #[error("`{0}` must be human or json")]
    LogFormat(String),
    #[error("`{0}` must be true or false")]
    TrueFalse(String),
    #[error("not a URL ({0})")]
    Url(UrlError),
    #[error("Telegram needs an https:// URL")]
    NotHttps,
    #[error("expected postgres://... (or no URL for SQLite in --data)")]
    NotPostgres,
    #[error("1 to 256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")]
    WebhookSecret,
}

/// The checks clap would make, with messages that name the file's setting.
fn check(name: &str, v: &str) -> std::result::Result<(), BadValue> {
    let on_off = || match v {
        "on" | "off" => Ok(()),
        _ => Err(BadValue::OnOff(v.to_string())),
    };
    match name {
        "listen" => v
            .parse::<std::net::SocketAddr>()
            .map(|_| ())
            .map_err(|_| BadValue::Address(v.to_string())),
        "retention_days" => match v.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(BadValue::Days(v.to_string())),
        },
        "throttle" | "watch" => on_off(),
        "log_format" => match v {
            "human" | "json" => Ok(()),
            _ => Err(BadValue::LogFormat(v.to_string())),
        },
        "no_telegram" => match v {
            "true" | "false" => Ok(()),
            _ => Err(BadValue::TrueFalse(v.to_string())),
        },
        "webhook" => match reqwest::Url::parse(v) {
            Ok(u) if u.scheme() == "https" => Ok(()),
            Ok(_) => Err(BadValue::NotHttps),
            Err(e) => Err(BadValue::Url(e)),
        },
        "database_url" => match reqwest::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => Ok(()),
            Ok(_) => Err(BadValue::NotPostgres),
            Err(e) => Err(BadValue::Url(e)),
        },
        "webhook_secret" => {
            let ok = (1..=256).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if ok {
                Ok(())
            } else {
                Err(BadValue::WebhookSecret)
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
    let settings = settings();
    let mut cmd = Cli::command();
    for (name, value) in &file {
        let serve = settings.iter().any(|s| &s.name == name && s.serve);
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
        settings: Vec::new(),
    };
    let sub = matches
        .subcommand_matches("config")
        .and_then(|m| m.subcommand_matches("show"))
        .or_else(|| matches.subcommand_matches("serve"));
    for s in settings {
        let m = if s.serve { sub } else { Some(&matches) };
        let Some(m) = m else { continue };
        let source = match m.value_source(&s.name) {
            Some(ValueSource::CommandLine) => "flag".to_string(),
            Some(ValueSource::EnvVariable) => format!("env {}", s.env),
            Some(ValueSource::DefaultValue) if file.contains_key(&s.name) => {
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
        sources.settings.push(Effective {
            value: value_of(m, &s.name),
            name: s.name,
            source,
            secret: s.secret,
        });
    }
    Ok((cli, sources))
}

/// A setting's value as clap parsed it: as text where the parsed value can read differently
/// from what was typed (a number, an address, a switch), else as given.
fn value_of(m: &clap::ArgMatches, name: &str) -> Option<String> {
    if let Ok(Some(n)) = m.try_get_one::<u32>(name) {
        return Some(n.to_string());
    }
    if let Ok(Some(a)) = m.try_get_one::<std::net::SocketAddr>(name) {
        return Some(a.to_string());
    }
    if let Ok(Some(b)) = m.try_get_one::<bool>(name) {
        return Some(b.to_string());
    }
    let raw = m.try_get_raw(name).ok()??.next()?;
    Some(raw.to_string_lossy().into_owned())
}

/// `config show`: the effective settings, secrets masked, each with where it came from.
pub fn show(sources: &Sources) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(f) = &sources.file {
        let _ = writeln!(out, "# config file: {}", f.display());
    }
    for s in &sources.settings {
        let shown = match s.value.as_deref() {
            None | Some("") => "(not set)".to_string(),
            Some(v) => match s.secret {
                Secret::No => v.to_string(),
                Secret::Yes => "***".to_string(),
                Secret::Url => mask_url(v),
            },
        };
        let _ = writeln!(out, "{}: {shown}    # {}", s.name, s.source);
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
    fn each_bad_value_says_why_in_the_same_words() {
        for (name, v, why) in [
            (
                "listen",
                "here",
                "`here` is not an address like 127.0.0.1:8080",
            ),
            (
                "retention_days",
                "0",
                "`0` is not a whole number of days (1 or more)",
            ),
            ("throttle", "maybe", "`maybe` must be on or off"),
            ("watch", "yes", "`yes` must be on or off"),
            ("log_format", "xml", "`xml` must be human or json"),
            ("no_telegram", "on", "`on` must be true or false"),
            (
                "webhook",
                "http://bot.example.org/hook",
                "Telegram needs an https:// URL",
            ),
            ("webhook", "bot", "not a URL (relative URL without a base)"),
            (
                "database_url",
                "mysql://db/wh",
                "expected postgres://... (or no URL for SQLite in --data)",
            ),
            (
                "webhook_secret",
                "has spaces",
                "1 to 256 characters of A-Z a-z 0-9 _ - (Telegram's rule)",
            ),
        ] {
            assert_eq!(check(name, v).unwrap_err().to_string(), why, "{name}: {v}");
        }
        for (name, v) in [
            ("listen", "127.0.0.1:8080"),
            ("retention_days", "30"),
            ("throttle", "off"),
            ("webhook", "https://bot.example.org/hook"),
            ("database_url", "postgresql://db/wh"),
            ("webhook_secret", "s3cret_token-1"),
        ] {
            assert!(check(name, v).is_ok(), "{name}: {v}");
        }
    }

    /// Secrets are the flags with `hide_env_values`, wherever they are defined, and `config show`
    /// masks exactly those.
    #[test]
    fn the_flags_that_hide_their_values_are_masked_and_only_they() {
        fn hidden(cmd: &clap::Command, out: &mut Vec<String>) {
            out.extend(
                cmd.get_arguments()
                    .filter(|a| a.is_hide_env_values_set())
                    .map(|a| a.get_id().to_string()),
            );
            cmd.get_subcommands().for_each(|s| hidden(s, out));
        }
        let mut secret = Vec::new();
        hidden(&Cli::command(), &mut secret);
        for name in ["database_url", "webhook_secret"] {
            assert!(secret.iter().any(|s| s == name), "{name} not secret");
        }
        let sources = Sources {
            file: None,
            settings: settings()
                .into_iter()
                .map(|s| Effective {
                    value: Some(format!("postgres://wh:hunter2@db/{}", s.name)),
                    name: s.name,
                    source: "flag".to_string(),
                    secret: s.secret,
                })
                .collect(),
        };
        let out = show(&sources);
        for s in &sources.settings {
            let line = out
                .lines()
                .find(|l| l.starts_with(&format!("{}: ", s.name)))
                .unwrap_or_else(|| panic!("no {} in {out}", s.name));
            let masked = secret.contains(&s.name);
            assert_eq!(!line.contains("hunter2"), masked, "{line}");
        }
        assert!(
            out.contains("database_url: postgres://wh:***@db/database_url"),
            "{out}"
        );
        assert!(out.contains("webhook_secret: ***    # flag"), "{out}");
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
