//! Reading the content files: the `.yaml` files of a folder (sorted), each file read once
//! as text (hashed into the content digest), checked as a generic tree for tabs in the
//! indentation and unknown fields (with "did you mean …?", and the misspelt key read as the
//! field it meant), then deserialised into its raw type, with the parser's own position on
//! a failure.

use std::fs;
use std::path::{Path, PathBuf};

use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};
use sha2::Digest;

use super::Loader;
use crate::content::diag::{Pos, nearest};
use crate::content::raw::*;

impl Loader {
    /// The `.yaml` files in `dir` (sorted), or one level down in topic folders when `nested`.
    /// Returns each path with the folder it sits in when nested.
    pub(super) fn yaml_files(
        &mut self,
        dir: &Path,
        nested: bool,
    ) -> Vec<(PathBuf, Option<String>)> {
        let mut out = Vec::new();
        let listing = match read_dir_sorted(dir) {
            Ok(l) => l,
            Err(e) => {
                self.d
                    .error(Pos::new(dir, 1, 1), format!("cannot read folder: {e}"));
                return out;
            }
        };
        for path in listing {
            if nested && path.is_dir() {
                let folder = path.file_name().map(|f| f.to_string_lossy().into_owned());
                match read_dir_sorted(&path) {
                    Ok(files) => out.extend(
                        files
                            .into_iter()
                            .filter(|p| is_yaml(p))
                            .map(|p| (p, folder.clone())),
                    ),
                    Err(e) => self
                        .d
                        .error(Pos::new(&path, 1, 1), format!("cannot read folder: {e}")),
                }
            } else if is_yaml(&path) {
                if nested {
                    self.d.error(
                        Pos::new(&path, 1, 1),
                        "guidance files belong in a topic folder: guidance/<topic>/<id>.yaml",
                    );
                } else {
                    out.push((path, None));
                }
            }
        }
        out
    }

    /// Reads and deserialises one file, reporting tabs in the indentation and every unknown
    /// field first; on a parse failure records the parser's own position.
    pub(super) fn parse<T: Shaped>(&mut self, path: &Path) -> Option<T> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.d
                    .error(Pos::new(path, 1, 1), format!("cannot read file: {e}"));
                return None;
            }
        };
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        self.hasher.update(rel.to_string_lossy().as_bytes());
        self.hasher.update([0u8]);
        self.hasher.update(text.as_bytes());
        self.hasher.update([0u8]);
        let tabs = self.tabs(path, &text);
        let mut renames = Vec::new();
        let parsed = serde_saphyr::from_str::<S<Node>>(&text).and_then(|tree| {
            self.unknown_fields(path, &tree, &T::shape(), true, &mut renames);
            let text = respell(&text, renames);
            let parsed = serde_saphyr::from_str::<T>(&text);
            self.texts.insert(path.to_path_buf(), text);
            parsed
        });
        self.texts.entry(path.to_path_buf()).or_insert(text);
        match parsed {
            Ok(v) => Some(v),
            // A tab in the indentation derails the parser, which then reports some later line.
            Err(_) if tabs > 0 => None,
            Err(err) => {
                let (line, col) = err
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((1, 1));
                let message = DefaultMessageFormatter
                    .format_message(&err)
                    .escape_debug()
                    .to_string();
                self.d.error(Pos::new(path, line, col), message);
                None
            }
        }
    }

    /// Reports every tab in a line's indentation (YAML indents with spaces only), at its own
    /// line and column; returns how many lines have one.
    fn tabs(&mut self, path: &Path, text: &str) -> usize {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            if let Some(col) = line[..indent].find('\t') {
                n += 1;
                self.d.error(
                    Pos::new(path, i as u64 + 1, col as u64 + 1),
                    "a tab in the indentation: YAML indents with spaces only",
                );
            }
        }
        n
    }

    /// Reports every key in `tree` that `shape` does not know, at the key, with the nearest
    /// known field as a suggestion; descends into the fields whose shape it knows. A value of
    /// the wrong kind is left for serde to report. A misspelt key whose suggestion is not in
    /// the same mapping is added to `renames`, so that the file is then read as if spelt
    /// right: one typo is one error, not also a missing field that hides every other check.
    fn unknown_fields(
        &mut self,
        path: &Path,
        tree: &S<Node>,
        shape: &Shape,
        top: bool,
        renames: &mut Vec<Rename>,
    ) {
        match &tree.value {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let name = key.value.as_str();
                    if !shape.fields.contains(&name) {
                        let near = nearest(name, shape.fields.iter().copied());
                        let message = match near {
                            Some(field) => {
                                format!("unknown field `{name}`: did you mean `{field}`?")
                            }
                            None => format!(
                                "unknown field `{name}` (known: {})",
                                shape.fields.join(", ")
                            ),
                        };
                        self.d.error(Pos::of(path, key), message);
                        let span = key.referenced.span();
                        if let (Some(field), Some(at), Some(len)) =
                            (near, span.byte_offset(), span.byte_len())
                            && !entries.iter().any(|(k, _)| k.value == field)
                        {
                            renames.push(Rename {
                                at: at as usize,
                                len: len as usize,
                                from: key.value.clone(),
                                to: field,
                            });
                        }
                    } else if let Some((_, inner)) = shape.nested.iter().find(|(f, _)| *f == name) {
                        self.unknown_fields(path, value, inner, false, renames);
                    }
                }
            }
            Node::Seq(items) if !top => {
                for item in items {
                    self.unknown_fields(path, item, shape, true, renames);
                }
            }
            _ => {}
        }
    }
}

/// A misspelt key (at byte `at`, `len` bytes, reading `from`) and the field it meant.
struct Rename {
    at: usize,
    len: usize,
    from: String,
    to: &'static str,
}

/// `text` with each misspelt key replaced by its field, padded with spaces when shorter so
/// that later positions on its line stay put (a longer field moves them right by the
/// difference). A rename whose span does not hold the key as written (a quoted key, say) is
/// skipped.
fn respell(text: &str, mut renames: Vec<Rename>) -> String {
    renames.sort_by_key(|r| std::cmp::Reverse(r.at));
    let mut out = text.to_string();
    for r in renames {
        if out.get(r.at..r.at + r.len) != Some(r.from.as_str()) {
            continue;
        }
        let mut with = r.to.to_string();
        while with.len() < r.len {
            with.push(' ');
        }
        out.replace_range(r.at..r.at + r.len, &with);
    }
    out
}

pub(super) fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_yaml(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}
