//! Configuration: flag > environment > file > default, one-line errors, secrets masked.

use crate::common;

fn show(args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut c = common::bin();
    c.args(args)
        .envs(env.iter().copied())
        .env_remove("TELOXIDE_TOKEN");
    c.output().unwrap().into()
}

fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workhealth.yaml");
    std::fs::write(
        &file,
        "listen: 127.0.0.1:9100\nretention_days: 30\nthrottle: off\ndata: /srv/wh\n\
         database_url: \"postgres://wh:hunter2@db:5432/wh\"\nwebhook_secret: s3cret_token\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let r = show(
        &[
            "--config",
            f,
            "config",
            "show",
            "--listen",
            "127.0.0.1:9200",
        ],
        &[
            ("WORKHEALTH_RETENTION_DAYS", "60"),
            ("WORKHEALTH_LISTEN", "127.0.0.1:9300"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = &r.stdout;
    assert!(
        line(o, "listen").contains("127.0.0.1:9200") && line(o, "listen").contains("flag"),
        "{o}"
    );
    assert!(
        line(o, "retention_days").contains("60") && line(o, "retention_days").contains("env"),
        "{o}"
    );
    assert!(
        line(o, "throttle").contains("off") && line(o, "throttle").contains("file"),
        "{o}"
    );
    assert!(
        line(o, "data").contains("/srv/wh") && line(o, "data").contains("file"),
        "{o}"
    );
    assert!(
        line(o, "watch").contains("on") && line(o, "watch").contains("default"),
        "{o}"
    );
    assert!(
        !o.contains("hunter2") && !o.contains("s3cret_token"),
        "secrets masked: {o}"
    );
    assert!(
        line(o, "database_url").contains("postgres://wh:***@db:5432/wh"),
        "{o}"
    );
    // The file can also come from WORKHEALTH_CONFIG.
    let r = show(&["config", "show"], &[("WORKHEALTH_CONFIG", f)]);
    assert!(
        line(&r.stdout, "retention_days").contains("30"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_bad_value_is_one_clear_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workhealth.yaml");
    std::fs::write(&file, "listen: 127.0.0.1:9100\nthrottle: sometimes\n").unwrap();
    let r = show(&["--config", file.to_str().unwrap(), "config", "show"], &[]);
    assert_eq!(r.code, 2);
    let err = r.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("workhealth.yaml:2:") && err.contains("throttle"),
        "{err}"
    );
    std::fs::write(&file, "listne: 1\n").unwrap();
    let r = show(&["--config", file.to_str().unwrap(), "config", "show"], &[]);
    assert!(
        r.stderr.contains("unknown setting `listne`"),
        "{}",
        r.stderr
    );
    let r = show(
        &["config", "show"],
        &[("WORKHEALTH_RETENTION_DAYS", "soon")],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .lines()
            .next()
            .unwrap()
            .contains("--retention-days"),
        "{}",
        r.stderr
    );
}

/// Variables named by another convention: teloxide reads these itself, should they ever become
/// flags too.
const OTHER_NAMES: &[&str] = &["TELOXIDE_TOKEN", "TELOXIDE_API_URL"];

/// Every flag with a variable, in any command, is a setting `config show` prints (the config
/// file's own `--config` aside), and its variable is `WORKHEALTH_` and the flag in upper snake
/// case.
#[test]
fn every_flag_with_a_variable_is_shown_and_named_by_the_rule() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, String, String)>) {
        for a in cmd.get_arguments() {
            if let (Some(long), Some(env)) = (a.get_long(), a.get_env()) {
                let env = env.to_string_lossy().into_owned();
                out.push((path.to_string(), long.to_string(), env));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut flags = Vec::new();
    walk(&workhealth::cli::Cli::command(), "workhealth", &mut flags);
    assert!(flags.len() >= 10, "{flags:?}");
    let r = show(&["config", "show"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut wrong = Vec::new();
    for (path, long, env) in &flags {
        let name = long.replace('-', "_");
        let rule = format!("WORKHEALTH_{}", name.to_uppercase());
        if env != &rule && !OTHER_NAMES.contains(&env.as_str()) {
            wrong.push(format!("`{path} --{long}` reads {env}, not {rule}"));
        }
        let shown = r
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{name}: ")));
        if long != "config" && !shown {
            wrong.push(format!(
                "`{path} --{long}` has a variable but no line in config show"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{}", r.stdout);
}
