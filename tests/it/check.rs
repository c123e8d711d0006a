//! `workhealth check`: the real content passes, and each class of error is caught on a small
//! broken copy of the fixture content, at the right file and line.

use crate::common;

use common::*;
use std::fs;

const FIT: &str = "guidance/absence/fit-notes.yaml";
const SELF: &str = "guidance/absence/self-certification.yaml";
const ACAS: &str = "programmes/acas.yaml";

/// Asserts that `check` fails and that one output line starts with `file:line:` and contains `needle`.
fn assert_error(dir: &tempfile::TempDir, file: &str, line: u64, needle: &str) -> String {
    let r = check(dir.path());
    assert_eq!(
        r.code, 1,
        "check should fail; output:\n{}{}",
        r.stdout, r.stderr
    );
    let prefix = format!("{}:{line}:", dir.path().join(file).display());
    let hit = r
        .stdout
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(needle));
    assert!(
        hit.is_some(),
        "no line starting {prefix:?} containing {needle:?} in:\n{}",
        r.stdout
    );
    hit.unwrap().to_string()
}

#[test]
fn the_real_content_passes() {
    let r = check(&repo().join("content"));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(" 0 error(s)"), "{}", r.stdout);
}

#[test]
fn the_fixture_passes_with_a_summary_line() {
    let dir = fixture();
    let r = check(dir.path());
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("checked 2 guidance entries and 1 programmes"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 error(s), 0 warning(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "topic: absence\n",
        "topic: absence\n  bad: indent\n: oops\n",
    );
    let line = assert_error(&dir, FIT, 4, "error:");
    assert!(line.contains(":4:"), "{line}");
}

#[test]
fn unknown_field_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "reviewed: 2026-11-01\n",
        "reviewed: 2026-11-01\nauthor: someone\n",
    );
    assert_error(&dir, FIT, 21, "unknown field `author`");
    // A file that fails to parse still counts as existing: no cascade of dangling references.
    assert!(
        !check(dir.path())
            .stdout
            .contains("unknown guidance entry `fit-notes`")
    );
}

/// An unknown field no longer hides the file's other errors: a mistyped id in the same file
/// is reported too, with the id it was probably meant to be.
#[test]
fn an_unknown_field_and_a_mistyped_id_are_both_reported() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "reviewed: 2026-11-01\n",
        "reviewed: 2026-11-01\nauthor: someone\n",
    );
    edit(
        &dir,
        FIT,
        "related: [self-certification]",
        "related: [self-certifcation]",
    );
    assert_error(&dir, FIT, 21, "unknown field `author`");
    let line = assert_error(&dir, FIT, 16, "unknown guidance entry `self-certifcation`");
    assert!(
        line.ends_with("did you mean `self-certification`?"),
        "{line}"
    );
    assert!(
        check(dir.path()).stdout.contains("2 error(s)"),
        "exactly the two errors"
    );
}

#[test]
fn near_misses_get_a_suggestion() {
    let dir = fixture();
    edit(&dir, FIT, "programmes: [acas]", "programmes: [acsa]");
    edit(&dir, FIT, "title: Fit notes", "titel: Fit notes");
    edit(
        &dir,
        FIT,
        "    url: https://www.gov.uk/fit-note",
        "    urls: https://www.gov.uk/fit-note",
    );
    edit(&dir, SELF, "topic: absence", "topic: absense");
    edit(&dir, ACAS, "regions: [national]", "regions: [nationall]");
    let line = assert_error(&dir, FIT, 15, "unknown programme `acsa`");
    assert!(line.ends_with("did you mean `acas`?"), "{line}");
    let line = assert_error(&dir, FIT, 2, "unknown field `titel`");
    assert!(line.ends_with("did you mean `title`?"), "{line}");
    let line = assert_error(&dir, FIT, 19, "unknown field `urls`");
    assert!(line.ends_with("did you mean `url`?"), "{line}");
    let line = assert_error(&dir, SELF, 3, "unknown topic `absense`");
    assert!(line.ends_with("did you mean `absence`?"), "{line}");
    let line = assert_error(&dir, ACAS, 4, "unknown region `nationall`");
    assert!(line.ends_with("did you mean `national`?"), "{line}");
    // Nothing near: the known fields are listed instead of a guess.
    edit(
        &dir,
        SELF,
        "reviewed: 2026-11-01",
        "reviewed: 2026-11-01\nwhatever: 1",
    );
    let line = assert_error(&dir, SELF, 15, "unknown field `whatever`");
    assert!(!line.contains("did you mean"), "{line}");
    assert!(line.contains("id, title, topic"), "{line}");
}

#[test]
fn a_question_folded_by_mis_indentation_is_a_warning_at_its_line() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "  - do I need a sick note\n",
        "  - do I need a sick note\n  - who writes fit notes\n   - can a nurse sign one\n",
    );
    let r = check(dir.path());
    assert_eq!(r.code, 0, "a warning only:\n{}", r.stdout);
    let prefix = format!("{}:7:4: warning:", dir.path().join(FIT).display());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains("part of the item above")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 error(s), 1 warning(s)"),
        "{}",
        r.stdout
    );
    // Indented like the others, the two are two questions and nothing is reported.
    edit(&dir, FIT, "   - can a nurse", "  - can a nurse");
    assert!(
        check(dir.path())
            .stdout
            .contains("0 error(s), 0 warning(s)")
    );
}

#[test]
fn a_tab_in_the_indentation_is_reported_at_its_own_line() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "    url: https://www.gov.uk/fit-note",
        "\turl: https://www.gov.uk/fit-note",
    );
    let line = assert_error(&dir, FIT, 19, "a tab in the indentation");
    assert!(line.contains(":19:1:"), "{line}");
    let r = check(dir.path());
    assert_eq!(
        r.stdout.lines().filter(|l| l.contains(": error:")).count(),
        1,
        "only the tab, not the parser's error on another line:\n{}",
        r.stdout
    );
}

#[test]
fn the_same_question_under_two_entries_names_both() {
    let dir = fixture();
    edit(
        &dir,
        SELF,
        "  - what is self certification\n",
        "  - what is self certification\n  - Do I need a sick note?\n",
    );
    let r = check(dir.path());
    assert_eq!(r.code, 0, "a warning only:\n{}", r.stdout);
    let fit = format!("{}:5:5", dir.path().join(FIT).display());
    let selfc = format!("{}:6:5", dir.path().join(SELF).display());
    let warnings: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", r.stdout);
    assert!(
        warnings.iter().any(|l| l.starts_with(&fit)
            && l.contains(&selfc)
            && l.contains("`self-certification`")),
        "{}",
        r.stdout
    );
    assert!(
        warnings
            .iter()
            .any(|l| l.starts_with(&selfc) && l.contains(&fit) && l.contains("`fit-notes`")),
        "{}",
        r.stdout
    );
}

#[test]
fn missing_field_is_an_error() {
    let dir = fixture();
    edit(&dir, SELF, "title: The first seven days\n", "");
    let r = check(dir.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("self-certification.yaml:") && l.contains("missing field `title`")),
        "{}",
        r.stdout
    );
}

#[test]
fn wrong_type_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "questions:\n  - do I need a sick note\n",
        "questions: {a: b}\n",
    );
    assert_error(&dir, FIT, 4, "error:");
}

#[test]
fn duplicate_ids_name_both_places() {
    let dir = fixture();
    fs::copy(
        dir.path().join(SELF),
        dir.path().join("guidance/absence/copy.yaml"),
    )
    .unwrap();
    edit(
        &dir,
        "guidance/absence/copy.yaml",
        "id: self-certification",
        "id: acas",
    );
    let line = assert_error(&dir, "guidance/absence/copy.yaml", 1, "duplicate id `acas`");
    assert!(
        line.contains(&format!("{}:1:5", dir.path().join(ACAS).display())),
        "{line}"
    );
    assert_error(&dir, ACAS, 1, "duplicate id `acas`");
}

#[test]
fn id_must_match_file_name() {
    let dir = fixture();
    edit(&dir, SELF, "id: self-certification", "id: self-cert");
    assert_error(&dir, SELF, 1, "does not match the file name");
}

#[test]
fn dangling_references_are_errors() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "programmes: [acas]",
        "programmes: [acas, no-such-programme]",
    );
    edit(
        &dir,
        FIT,
        "related: [self-certification]",
        "related: [self-certification, nowhere]",
    );
    edit(&dir, SELF, "topic: absence", "topic: holidays");
    edit(
        &dir,
        ACAS,
        "regions: [national]",
        "regions: [national, atlantis]",
    );
    assert_error(&dir, FIT, 15, "unknown programme `no-such-programme`");
    assert_error(&dir, FIT, 16, "unknown guidance entry `nowhere`");
    assert_error(&dir, SELF, 3, "unknown topic `holidays`");
    assert_error(&dir, ACAS, 4, "unknown region `atlantis`");
}

#[test]
fn no_sources_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        SELF,
        "sources:\n  - title: Self-certification\n    url: https://www.gov.uk/self-cert\n",
        "sources: []\n",
    );
    assert_error(&dir, SELF, 11, "no sources");
}

#[test]
fn links_must_be_https() {
    let dir = fixture();
    edit(
        &dir,
        SELF,
        "url: https://www.gov.uk/self-cert",
        "url: http://www.gov.uk/self-cert",
    );
    edit(
        &dir,
        ACAS,
        "url: https://www.acas.org.uk\n  phone",
        "url: www.acas.org.uk\n  phone",
    );
    assert_error(&dir, SELF, 13, "must be an https:// URL");
    assert_error(&dir, ACAS, 10, "must be an https:// URL");
}

#[test]
fn over_long_summary_and_answer_are_errors() {
    let dir = fixture();
    let long_summary = "word ".repeat(81);
    edit(
        &dir,
        SELF,
        "Staff self-certify for the first seven days.",
        long_summary.trim(),
    );
    let long_answer = format!("  {}\n", "a".repeat(3001));
    edit(&dir, SELF, "  They fill in a form.\n", &long_answer);
    assert_error(&dir, SELF, 7, "summary is 404 characters; at most 400");
    assert_error(&dir, SELF, 9, "answer is 3001 characters; at most 3000");
}

#[test]
fn empty_questions_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        SELF,
        "questions:\n  - what is self certification\n",
        "questions: []\n",
    );
    assert_error(&dir, SELF, 4, "questions is empty");
}

#[test]
fn bad_date_is_an_error() {
    let dir = fixture();
    edit(&dir, SELF, "reviewed: 2026-11-01", "reviewed: 2026-13-45");
    assert_error(&dir, SELF, 14, "is not a date");
}

#[test]
fn markdown_beyond_the_subset_is_an_error_at_its_line() {
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "  **What the law says**\n",
        "  ## What the law says\n",
    );
    edit(&dir, FIT, "  - one\n", "  - one <b>x</b>\n");
    assert_error(&dir, FIT, 11, "Markdown: headings are not allowed");
    assert_error(&dir, FIT, 13, "Markdown: HTML is not allowed");
}

#[test]
fn old_and_future_review_dates_are_warnings_only() {
    let dir = fixture();
    edit(&dir, SELF, "reviewed: 2026-11-01", "reviewed: 2020-01-01");
    edit(&dir, ACAS, "reviewed: 2026-11-01", "reviewed: 2099-01-01");
    let r = check(dir.path());
    assert_eq!(
        r.code, 0,
        "warnings alone must not fail check:\n{}",
        r.stdout
    );
    let self_prefix = format!("{}:14:11: warning:", dir.path().join(SELF).display());
    let acas_prefix = format!("{}:17:11: warning:", dir.path().join(ACAS).display());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&self_prefix) && l.contains("more than 12 months")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&acas_prefix) && l.contains("in the future")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 error(s), 2 warning(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_passed_review_by_is_a_warning_at_its_line_and_check_still_succeeds() {
    let dir = fixture();
    // Past on any day these tests run, and after the entry's reviewed date.
    edit(
        &dir,
        FIT,
        "reviewed: 2026-11-01",
        "reviewed: 2026-11-01\nreview_by: 2026-11-02",
    );
    edit(
        &dir,
        SELF,
        "reviewed: 2026-11-01",
        "reviewed: 2026-11-01\nreview_by: 2999-04-01",
    );
    let r = check(dir.path());
    assert_eq!(r.code, 0, "a warning must not fail check:\n{}", r.stdout);
    let prefix = format!("{}:21:12: warning:", dir.path().join(FIT).display());
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains("review_by 2026-11-02 has passed")),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("self-certification.yaml:"),
        "a future review_by is no warning:\n{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0 error(s), 1 warning(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_review_by_that_is_not_a_date_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        SELF,
        "reviewed: 2026-11-01",
        "reviewed: 2026-11-01\nreview_by: next April",
    );
    assert_error(&dir, SELF, 15, "`next April` is not a date");
}

#[test]
fn an_answer_past_its_review_by_says_when_its_figures_were_checked() {
    use workhealth::assistant::{Assistant, Context, Shown};
    let dir = fixture();
    edit(
        &dir,
        FIT,
        "reviewed: 2026-11-01",
        "reviewed: 2026-11-01\nreview_by: 2026-11-02",
    );
    let today = chrono::Utc::now().date_naive();
    let content = workhealth::content::load_valid(dir.path(), today).unwrap();
    assert_eq!(
        content
            .due_for_review(today)
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        ["fit-notes"]
    );
    let a = Assistant::in_memory(std::sync::Arc::new(content)).unwrap();
    let checked = |id: &str| match a.show(&Context::default(), id).unwrap().shown {
        Some(Shown::Guidance {
            figures_checked, ..
        }) => figures_checked,
        other => panic!("{id} shown as {other:?}"),
    };
    assert_eq!(checked("fit-notes").as_deref(), Some("1 November 2026"));
    assert_eq!(checked("self-certification"), None, "no review_by, no line");
    let text =
        workhealth::render::terminal::reply(&a.show(&Context::default(), "fit-notes").unwrap());
    assert!(text.contains("last checked on 1 November 2026"), "{text}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = fixture();
    fs::copy(
        dir.path().join(SELF),
        dir.path().join("guidance/absence/copy.yaml"),
    )
    .unwrap();
    edit(
        &dir,
        "guidance/absence/copy.yaml",
        "id: self-certification",
        "id: acas",
    );
    edit(
        &dir,
        FIT,
        "reviewed: 2026-11-01\n",
        "reviewed: 2026-11-01\nauthor: someone\n",
    );
    edit(
        &dir,
        SELF,
        "related: [fit-notes]",
        "related: [fit-notes, gone]",
    );
    let r = check(dir.path());
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("duplicate id `acas`"), "{}", r.stdout);
    assert!(r.stdout.contains("unknown field `author`"), "{}", r.stdout);
    assert!(
        r.stdout.contains("unknown guidance entry `gone`"),
        "{}",
        r.stdout
    );
    let summary = r.stdout.lines().last().unwrap();
    assert!(
        summary.starts_with("checked ") && summary.contains("error(s)"),
        "{summary}"
    );
}

#[test]
fn a_guidance_file_outside_a_topic_folder_is_an_error() {
    let dir = fixture();
    fs::rename(
        dir.path().join(SELF),
        dir.path().join("guidance/self-certification.yaml"),
    )
    .unwrap();
    let r = check(dir.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("belong in a topic folder"),
        "{}",
        r.stdout
    );
}

#[test]
fn topic_must_match_its_folder() {
    let dir = fixture();
    edit(
        &dir,
        "topics.yaml",
        "topics:\n",
        "topics:\n  - id: safety\n    title: Safety\n",
    );
    edit(&dir, SELF, "topic: absence", "topic: safety");
    assert_error(&dir, SELF, 3, "does not match the folder `absence`");
}

/// Every id in the catalogue (a copy kept in tests/fixtures) exists in the real content.
#[test]
fn every_catalogue_id_exists() {
    let catalogue =
        fs::read_to_string(repo().join("tests/fixtures/content-catalogue.yaml")).unwrap();
    let loaded =
        workhealth::content::load(&repo().join("content"), chrono::Utc::now().date_naive());
    let c = &loaded.content;
    let mut missing = Vec::new();
    let mut count = 0;
    for line in catalogue.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("- {id: ") else {
            continue;
        };
        let id = rest.split(',').next().unwrap().trim();
        count += 1;
        let (kind, found) = if line.contains("title:") {
            ("topic", c.topic(id).is_some())
        } else if line.contains("regions:") {
            ("programme", c.programme(id).is_some())
        } else {
            ("guidance", c.entry(id).is_some())
        };
        if !found {
            missing.push(format!("{kind} {id}"));
        }
    }
    assert_eq!(
        count,
        63 + 20 + 8,
        "catalogue copy should list 63 entries, 20 programmes, 8 topics"
    );
    assert!(missing.is_empty(), "missing from content/: {missing:?}");
}

const CRISIS: &str = "crisis.yaml";

#[test]
fn crisis_examples_and_contrasts_load_and_an_empty_or_repeated_one_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        CRISIS,
        "phrases: [kill myself]\n",
        "phrases: [kill myself]\nexamples:\n  - he is on the bridge\n  - \"  \"\n\
         not_crisis:\n  - dying for a brew\n  - He is on  the bridge\n",
    );
    assert_error(&dir, CRISIS, 4, "crisis example is empty");
    // Compared without case or extra spaces, across both lists, naming the first place.
    let line = assert_error(&dir, CRISIS, 7, "duplicate not_crisis example");
    let first = format!("also at {}:3:5", dir.path().join(CRISIS).display());
    assert!(line.contains(&first), "{line}");
    assert!(line.contains(":7:5:"), "{line}");
    // Exactly those two: the other example and contrast are fine.
    let r = check(dir.path());
    assert!(r.stdout.contains(" 2 error(s)"), "{}", r.stdout);
}

#[test]
fn crisis_structure_words_are_checked() {
    let dir = fixture();
    edit(
        &dir,
        CRISIS,
        "phrases: [kill myself]\n",
        "phrases: [kill myself]\nsafe_phrases: [\"\"]\nstructure:\n  people: [he, \"\"]\n  means: [rope, Rope]\n",
    );
    assert_error(&dir, CRISIS, 2, "safe phrase is empty");
    assert_error(&dir, CRISIS, 4, "structure people word is empty");
    assert_error(&dir, CRISIS, 5, "duplicate structure means word `Rope`");
}

#[test]
fn an_unknown_crisis_structure_list_is_an_error() {
    let dir = fixture();
    edit(
        &dir,
        CRISIS,
        "phrases: [kill myself]\n",
        "phrases: [kill myself]\nstructure:\n  people: [he]\n  peple: [she]\n",
    );
    assert_error(&dir, CRISIS, 4, "unknown field `peple`");
}

const HELPLINES: &str = "helplines.yaml";

/// The helpline a reply with no answer names and the "Talk to someone" list come from
/// `helplines.yaml` (the number from the programme it names): editing the files changes the
/// reply on both channels, with no release.
#[test]
fn changing_helplines_yaml_changes_the_reply() {
    use workhealth::assistant::{Assistant, Context, Outcome};
    use workhealth::render::{telegram, terminal};
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("content"), dir.path());
    let said = |dir: &std::path::Path| -> (String, String, Vec<String>) {
        let content =
            workhealth::content::load_valid(dir, chrono::Utc::now().date_naive()).expect("valid");
        let a = Assistant::in_memory(std::sync::Arc::new(content)).unwrap();
        let cx = Context::default();
        let r = a.reply(&cx, "asdf jkl");
        assert_eq!(r.outcome, Outcome::NoAnswer);
        let tg = telegram::as_sent(&telegram::reply(&r, None));
        let talk = a.talk_to_someone(&cx).programmes;
        (
            tg,
            terminal::reply(&r),
            talk.into_iter().map(|p| p.id).collect(),
        )
    };

    let (tg, term, talk) = said(dir.path());
    let acas = "talk to someone: Acas gives free, confidential employment advice on 0300 123 1100.";
    assert!(tg.contains(acas), "{tg}");
    assert!(term.contains(acas), "{term}");
    assert_eq!(talk, ["acas", "hse", "access-to-work-programme"]);

    edit(
        &dir,
        HELPLINES,
        "gives: free, confidential employment advice",
        "gives: free advice on the law",
    );
    edit(&dir, HELPLINES, "  - acas\n  - hse\n", "  - hse\n");
    edit(
        &dir,
        ACAS,
        "  phone: 0300 123 1100",
        "  phone: 0300 123 4567",
    );
    let (tg, term, talk) = said(dir.path());
    let changed = "talk to someone: Acas gives free advice on the law on 0300 123 4567.";
    assert!(tg.contains(changed), "{tg}");
    assert!(term.contains(changed), "{term}");
    assert!(!tg.contains("0300 123 1100"), "{tg}");
    assert_eq!(talk, ["hse", "access-to-work-programme"]);
}

/// `check` reports every problem in `helplines.yaml` at its line and column.
#[test]
fn helplines_yaml_is_checked_at_each_line() {
    let dir = fixture();
    fs::write(
        dir.path().join(HELPLINES),
        "no_answer:\n  programme: acass\n  gives: \"\"\n  phone: 123\n\
         talk_to_someone:\n  - acas\n  - acas\n  - nobody\n\
         sources:\n  - title: Acas\n    url: http://www.acas.org.uk\nreviewed: 2026-13-01\n",
    )
    .unwrap();
    let line = assert_error(&dir, HELPLINES, 2, "unknown programme `acass`");
    assert!(line.contains(":2:14: error:"), "{line}");
    assert!(line.ends_with("did you mean `acas`?"), "{line}");
    assert_error(&dir, HELPLINES, 3, "gives is empty");
    assert_error(&dir, HELPLINES, 4, "unknown field `phone`");
    assert_error(&dir, HELPLINES, 7, "programme `acas` is listed twice");
    assert_error(&dir, HELPLINES, 8, "unknown programme `nobody`");
    assert_error(&dir, HELPLINES, 11, "must be an https:// URL");
    assert_error(&dir, HELPLINES, 12, "is not a date");
    assert!(
        check(dir.path()).stdout.contains(" 7 error(s)"),
        "exactly those seven"
    );

    // The helpline named must have a number to give.
    let dir = fixture();
    edit(&dir, ACAS, "  phone: 0300 123 1100\n", "");
    assert_error(&dir, HELPLINES, 2, "programme `acas` has no phone");

    // The file is required, like crisis.yaml.
    let dir = fixture();
    fs::remove_file(dir.path().join(HELPLINES)).unwrap();
    assert_error(&dir, HELPLINES, 1, "cannot read file");
}

const OFF_TOPIC: &str = "out-of-scope.yaml";

#[test]
fn out_of_scope_examples_load_and_one_that_an_entry_asks_is_an_error() {
    let dir = fixture();
    // Optional: the fixture has none, and checks clean without it.
    assert!(!dir.path().join(OFF_TOPIC).exists());
    assert_eq!(check(dir.path()).code, 0);
    std::fs::write(
        dir.path().join(OFF_TOPIC),
        "examples:\n  - how do I register for VAT\n  - \"  \"\n  - How do I  register for vat\n  - What is self  certification\n",
    )
    .unwrap();
    assert_error(&dir, OFF_TOPIC, 3, "out-of-scope example is empty");
    assert_error(&dir, OFF_TOPIC, 4, "duplicate out-of-scope example");
    let line = assert_error(
        &dir,
        OFF_TOPIC,
        5,
        "is also a question of `self-certification`",
    );
    assert!(line.contains(":5:5:"), "{line}");
    let r = check(dir.path());
    assert!(r.stdout.contains(" 3 error(s)"), "{}", r.stdout);
    // The good example loads.
    std::fs::write(
        dir.path().join(OFF_TOPIC),
        "examples:\n  - how do I register for VAT\n",
    )
    .unwrap();
    let loaded = workhealth::content::load(dir.path(), chrono::Utc::now().date_naive());
    assert_eq!(check(dir.path()).code, 0);
    assert_eq!(
        loaded.content.off_topic,
        vec!["how do I register for VAT".to_string()]
    );
    assert_eq!(loaded.content.off_topic_calm, 1);
}

#[test]
fn decline_only_examples_decline_but_stay_off_the_crisis_calm_side() {
    let dir = fixture();
    std::fs::write(
        dir.path().join(OFF_TOPIC),
        "examples:\n  - how do I register for VAT\ndecline_only:\n  - can I put CCTV in the shop\n  - How do I register for  VAT\n",
    )
    .unwrap();
    // A duplicate across the two lists is a duplicate.
    assert_error(&dir, OFF_TOPIC, 5, "duplicate out-of-scope example");
    std::fs::write(
        dir.path().join(OFF_TOPIC),
        "examples:\n  - how do I register for VAT\ndecline_only:\n  - can I put CCTV in the shop\n",
    )
    .unwrap();
    assert_eq!(check(dir.path()).code, 0);
    let loaded = workhealth::content::load(dir.path(), chrono::Utc::now().date_naive());
    // Both decline; only the first (`examples:`) is calm for the crisis check.
    assert_eq!(
        loaded.content.off_topic,
        vec![
            "how do I register for VAT".to_string(),
            "can I put CCTV in the shop".to_string()
        ]
    );
    assert_eq!(loaded.content.off_topic_calm, 1);
}
