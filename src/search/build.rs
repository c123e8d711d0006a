//! Building the index from content, in memory or on disk, and opening it again.
//!
//! On disk, `--index` holds one complete index per build in its own folder and a `CURRENT`
//! file naming the live one. A build writes a new folder beside the live one, then replaces
//! `CURRENT` with a rename (atomic), then removes the old folders: a reader always finds a
//! whole index, never a half-built one. Each build records the digest of the content it was
//! built from, so a stale index is noticed and rebuilt.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use pulldown_cmark::{Event, Parser};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, doc};

use super::analyse::{ANALYSER, analyser, normalise};
use super::schema::Fields;
use crate::content::Content;

/// Bumped whenever the schema or analyser changes, so old indexes are rebuilt.
/// Version 2: "I'll" analysed as "i will", "ill" no longer a stop word, "thats"/"whos" are.
pub const SCHEMA_VERSION: u32 = 2;

const CURRENT: &str = "CURRENT";
/// The folder of cached vectors beside the builds (see `search::semantic`), kept across builds.
pub const VECTORS: &str = "vectors";
const BUILT_FROM: &str = "BUILT_FROM";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open index with a reader; cheap to share behind an `Arc`.
pub struct SearchIndex {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    /// What the index was built from: schema version and content digest.
    pub built_from: String,
}

/// The stamp an index carries: schema version and the content digest.
pub fn stamp(content: &Content) -> String {
    format!("v{SCHEMA_VERSION}:{}", content.digest)
}

impl SearchIndex {
    /// Builds the index in memory (tests, benchmarks, and live reloads).
    pub fn build_in_ram(content: &Content) -> Result<SearchIndex, IndexError> {
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        Self::fill(index, fields, content)
    }

    fn fill(index: Index, fields: Fields, content: &Content) -> Result<SearchIndex, IndexError> {
        index.tokenizers().register(ANALYSER, analyser());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
        for e in &content.entries {
            let mut d = doc!(
                fields.id => e.id.as_str(),
                fields.kind => "guidance",
                fields.title => normalise(&e.title),
                fields.summary => normalise(&e.summary),
                fields.body => normalise(&markdown_text(&e.answer)),
                fields.topic => e.topic.as_str(),
            );
            for q in &e.questions {
                d.add_text(fields.questions, normalise(q));
            }
            writer.add_document(d)?;
        }
        for p in &content.programmes {
            let mut d = doc!(
                fields.id => p.id.as_str(),
                fields.kind => "programme",
                fields.title => normalise(&p.name),
                fields.summary => normalise(&p.summary),
                fields.body => normalise(&format!("{}\n{}", p.provider, p.how_to_join)),
            );
            for q in &p.questions {
                d.add_text(fields.questions, normalise(q));
            }
            for r in &p.regions {
                d.add_text(fields.regions, r);
            }
            writer.add_document(d)?;
        }
        let built_from = stamp(content);
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&built_from);
        prepared.commit()?;
        let reader = manual_reader(&index)?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            built_from,
        })
    }

    /// Builds into a new folder under `root` and makes it the live one atomically.
    pub fn build_on_disk(root: &Path, content: &Content) -> Result<SearchIndex, IndexError> {
        fs::create_dir_all(root).map_err(io(root))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "{}-{nanos}",
            &content.digest[..content.digest.len().min(12)]
        );
        let tmp = root.join(format!(".building-{name}"));
        let dir = root.join(&name);
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        {
            let (schema, fields) = Fields::schema();
            let index = Index::create_in_dir(&tmp, schema)?;
            let built = Self::fill(index, fields, content)?;
            fs::write(tmp.join(BUILT_FROM), &built.built_from).map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &dir).map_err(io(&dir))?;
        let current_tmp = root.join(format!(".{CURRENT}-{nanos}"));
        fs::write(&current_tmp, &name).map_err(io(&current_tmp))?;
        fs::rename(&current_tmp, root.join(CURRENT)).map_err(io(root))?;
        // The old builds are no longer named by CURRENT; readers that still have them open
        // keep their mapped files until they drop them.
        if let Ok(listing) = fs::read_dir(root) {
            for entry in listing.flatten() {
                let path = entry.path();
                if path.is_dir() && path != dir && !path.ends_with(VECTORS) {
                    let _ = fs::remove_dir_all(&path);
                }
            }
        }
        Self::open_dir(&dir)
    }

    /// Opens the live index under `root`, if there is one.
    pub fn open(root: &Path) -> Result<Option<SearchIndex>, IndexError> {
        let current = root.join(CURRENT);
        let name = match fs::read_to_string(&current) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(IndexError::Io {
                    path: current,
                    source: e,
                });
            }
        };
        let dir = root.join(name.trim());
        if !dir.is_dir() {
            return Ok(None);
        }
        Self::open_dir(&dir).map(Some)
    }

    fn open_dir(dir: &Path) -> Result<SearchIndex, IndexError> {
        let built_from = fs::read_to_string(dir.join(BUILT_FROM)).map_err(io(dir))?;
        let directory = MmapDirectory::open(dir).map_err(|e| IndexError::Tantivy(e.into()))?;
        let index = Index::open(directory)?;
        // Tokenizers are not stored in the index: register ours again on every open.
        index.tokenizers().register(ANALYSER, analyser());
        let fields = Fields::from_schema(&index.schema())?;
        let reader = manual_reader(&index)?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            built_from: built_from.trim().to_string(),
        })
    }

    /// Opens the index under `root`, building it first if it is missing or was built from
    /// other content. Returns the index and whether it was (re)built.
    pub fn open_or_build(
        root: &Path,
        content: &Content,
    ) -> Result<(SearchIndex, bool), IndexError> {
        let want = stamp(content);
        match Self::open(root) {
            Ok(Some(idx)) if idx.built_from == want => return Ok((idx, false)),
            // Expected after every content edit: information, not a warning.
            Ok(Some(idx)) => tracing::info!(
                index = %root.display(), built_from = %idx.built_from, content = %want,
                "the content has changed, so the search index is stale: rebuilding it"
            ),
            Ok(None) => tracing::info!(index = %root.display(), "no search index: building it"),
            Err(e) => {
                tracing::warn!(index = %root.display(), error = %e, "the search index cannot be opened: rebuilding it")
            }
        }
        Ok((Self::build_on_disk(root, content)?, true))
    }

    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn stored_id(&self, doc: &TantivyDocument) -> Option<String> {
        use tantivy::schema::Value;
        doc.get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

/// One reader per index, reloaded only by us (never by a background watcher).
fn manual_reader(index: &Index) -> tantivy::Result<IndexReader> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

/// The words of a Markdown answer, without its syntax or link targets.
pub fn markdown_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for ev in Parser::new(md) {
        match ev {
            Event::Text(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out
}
