//! The live assistant: swapped atomically when content is reloaded, so every question is
//! answered entirely by one version of the content.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use arc_swap::ArcSwap;

use crate::assistant::Assistant;

pub struct Live {
    current: ArcSwap<Assistant>,
    /// Why the live content is stale: the errors of the last failed reload, if any.
    problem: Mutex<Option<String>>,
}

impl Live {
    pub fn new(a: Assistant) -> Live {
        Live {
            current: ArcSwap::from_pointee(a),
            problem: Mutex::new(None),
        }
    }

    /// The assistant to answer one question with (hold it for the whole question).
    pub fn get(&self) -> Arc<Assistant> {
        self.current.load_full()
    }

    pub fn swap(&self, a: Assistant) {
        self.current.store(Arc::new(a));
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn clear_problem(&self) {
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn set_problem(&self, why: String) {
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Reloads content into a [`Live`] assistant: validate, build a fresh index beside the live
/// one, swap. On errors the live assistant keeps answering from its last good content and the
/// errors are kept for the review app's overview.
pub struct Reloader {
    pub content: std::path::PathBuf,
    pub index: std::path::PathBuf,
    pub live: Arc<Live>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `--vectors`: where the vector cache lives, if not beside the index.
    pub vectors: Option<std::path::PathBuf>,
    /// One reload at a time.
    lock: Mutex<()>,
}

/// Why a reload changed nothing (the live assistant keeps answering).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The content has errors: each one `path:line:col: ...`, for the editors.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("{}: cannot build the search index: {source}", path.display())]
    Index {
        path: std::path::PathBuf,
        source: crate::search::build::IndexError,
    },
}

impl Reloader {
    pub fn new(
        content: std::path::PathBuf,
        index: std::path::PathBuf,
        live: Arc<Live>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Reloader {
        Reloader {
            content,
            index,
            live,
            metrics,
            vectors: None,
            lock: Mutex::new(()),
        }
    }

    /// Caches vectors in this folder instead of beside the index (`--vectors`).
    pub fn with_vectors(mut self, vectors: Option<std::path::PathBuf>) -> Reloader {
        self.vectors = vectors;
        self
    }

    /// Returns the new content digest, or why nothing changed.
    pub fn reload(&self, why: &str) -> Result<String, ReloadError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let today = chrono::Utc::now().date_naive();
        let loaded = crate::content::load(&self.content, today);
        if loaded.diagnostics.errors() > 0 {
            let errors: Vec<String> = loaded
                .diagnostics
                .items
                .iter()
                .filter(|d| d.severity == crate::content::diag::Severity::Error)
                .map(|d| d.to_string())
                .collect();
            for e in &errors {
                tracing::error!(reload = why, "{e}");
            }
            let e = ReloadError::Invalid(errors);
            self.live.set_problem(e.to_string());
            self.metrics.reloads.inc("error");
            return Err(e);
        }
        let content = Arc::new(loaded.content);
        if content.digest == self.live.get().content().digest {
            self.live.clear_problem();
            self.metrics.reloads.inc("unchanged");
            return Ok(content.digest.clone());
        }
        let index = match crate::search::SearchIndex::open_or_build(&self.index, &content) {
            Ok((index, _)) => index,
            Err(source) => {
                let e = ReloadError::Index {
                    path: self.index.clone(),
                    source,
                };
                tracing::error!(reload = why, "{e}");
                self.live.set_problem(e.to_string());
                self.metrics.reloads.inc("error");
                return Err(e);
            }
        };
        // The model stays loaded across reloads; only texts that changed are embedded again.
        let semantic = self.live.get().semantic().map(|s| {
            let cache = crate::search::semantic::cache_dir(&self.index, self.vectors.as_deref());
            crate::search::semantic::Semantic::build(&content, s.embedder().clone(), Some(&cache))
        });
        let digest = content.digest.clone();
        self.live.swap(Assistant::new(content, index, semantic));
        self.metrics.reloads.inc("ok");
        tracing::info!(reload = why, %digest, "content reloaded");
        Ok(digest)
    }
}

/// The assistant `serve` and `ask` answer with (as [`crate::run::assistant`]), but answers lexically when the model cannot be had, and says why.
pub fn assistant_or_lexical(
    g: &crate::cli::Global,
) -> anyhow::Result<(Assistant, Result<(), crate::embed::ModelError>)> {
    let content = Arc::new(crate::content::load_valid(
        &g.content,
        chrono::Utc::now().date_naive(),
    )?);
    // A rebuild is logged (once) by `open_or_build`.
    let (index, _rebuilt) = crate::search::SearchIndex::open_or_build(&g.index, &content)
        .with_context(|| {
            format!(
                "cannot open or build the search index in {}",
                g.index.display()
            )
        })?;
    let embedder = crate::embed::files::ensure(&g.model, &mut |line| eprintln!("{line}"))
        .and_then(|()| crate::embed::Embedder::load(&g.model));
    match embedder {
        Ok(e) => {
            let cache = crate::search::semantic::cache_dir(&g.index, g.vectors.as_deref());
            let semantic =
                crate::search::semantic::Semantic::build(&content, Arc::new(e), Some(&cache));
            if semantic.embedded > 0 {
                tracing::info!(texts = semantic.embedded, "content embedded");
            }
            Ok((Assistant::new(content, index, Some(semantic)), Ok(())))
        }
        Err(e) => Ok((Assistant::new(content, index, None), Err(e))),
    }
}
