//! Semantic retrieval: every item's title, summary and `questions:` lines embedded once, and a
//! question compared with them by cosine similarity.
//!
//! Vectors are cached beside the tantivy index (`<index>/vectors/<model fingerprint>.bin`),
//! keyed by the SHA-256 of the text, so a content reload embeds only what changed and a start
//! with the cache present embeds nothing but the question. Scoring is a dot product over a
//! few thousand rows: microseconds.

use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::classify::{self, Classifier, Gram};
use crate::content::{Content, Kind};
use crate::embed::{DIM, Embedder, Vector, dot, files, normalise};

const MAGIC: &[u8; 8] = b"WHVEC01\n";

/// One item's semantic signals for one question.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SemScore {
    /// How near the item's nearest texts are: the mean of the cosines of its two nearest texts
    /// ([`SECOND_NEAREST`]) with the question's vector.
    pub best: f32,
    /// The cosine with the item's centroid (the mean of its texts): the whole entry.
    pub whole: f32,
    /// The content-trained classifier's output for the item ([`Classifier`]).
    pub class: f32,
}

/// How much an item's second-nearest text counts in [`SemScore::best`] (0: the nearest alone).
///
/// One text of an entry can sit near a question by accident (a shared word such as "holiday" or
/// "company"); two sitting near it rarely do. With the mean of the two nearest, the
/// cross-validated real-questions fold ranked the right entry first more often (top1 0.667 →
/// 0.740 with one fold split, 0.719 → 0.760 with another) and more out-of-scope questions were
/// declined (0.378 → 0.459), the other figures within a fold split's noise:
/// `docs/calibration.md`.
pub const SECOND_NEAREST: f32 = 0.5;

/// Each item's [`SemScore::best`] from the cosines of its texts (`(item, cosine)` pairs): the
/// nearest text's, mixed with the second-nearest's by [`SECOND_NEAREST`]; an item with one text
/// has its nearest alone, and an item with none -1.
fn nearest(cosines: impl Iterator<Item = (usize, f32)>, items: usize) -> Vec<f32> {
    let mut first = vec![-1.0f32; items];
    let mut second = vec![f32::NEG_INFINITY; items];
    for (item, s) in cosines {
        if s > first[item] {
            second[item] = first[item];
            first[item] = s;
        } else if s > second[item] {
            second[item] = s;
        }
    }
    first
        .into_iter()
        .zip(second)
        .map(|(one, two)| {
            if two > -1.0 {
                (1.0 - SECOND_NEAREST) * one + SECOND_NEAREST * two
            } else {
                one
            }
        })
        .collect()
}

/// The embedded content, ready to score questions against.
pub struct Semantic {
    embedder: Arc<Embedder>,
    /// Item ids and kinds, in content order.
    pub items: Vec<(String, Kind)>,
    /// The item each row of `matrix` belongs to.
    rows: Vec<u32>,
    matrix: Vec<f32>,
    centroids: Vec<f32>,
    classifier: Classifier,
    /// Which rows of `matrix` are on the crisis check's calm side (every item's but the crisis
    /// entry's and its programmes'): their cosines come from [`Semantic::text_cosines`], which
    /// the ranking computes anyway, instead of a second pass over the same vectors.
    calm_rows: Vec<bool>,
    /// The crisis examples of `crisis.yaml`, embedded, and the calm side besides the item texts
    /// (`calm_rows`): its calm contrasts and the out-of-scope examples.
    crisis: Vec<f32>,
    crisis_texts: Vec<String>,
    calm: Vec<f32>,
    /// A linear classifier fitted on the crisis examples against the whole calm side: which
    /// directions of meaning tell a risk to life from an ordinary message, where no single
    /// example is near (`None` without examples or calm texts). See [`CrisisSim::class`].
    crisis_classifier: Option<Classifier>,
    /// The out-of-scope examples of `out-of-scope.yaml`, embedded.
    off_topic: Vec<f32>,
    /// How many texts had to be embedded (not found in the cache) when this was built.
    pub embedded: usize,
}

/// How close a message is to the crisis examples and to the calm contrasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrisisSim {
    pub crisis: f32,
    /// Index of the closest crisis example.
    pub example: usize,
    pub calm: f32,
    /// The crisis classifier's output for the crisis side minus the calm side: above 0, the
    /// message reads more like the crisis examples than the calm texts, taken all together
    /// (`-inf` without the classifier).
    pub class: f32,
}

/// An item's id and kind, with the texts embedded for it.
type ItemTexts = (String, Kind, Vec<String>);

/// Texts of every item, in content order.
fn item_texts(content: &Content) -> Vec<ItemTexts> {
    let entries = content.entries.iter().map(|e| {
        let texts = [&e.title, &e.summary].into_iter().chain(&e.questions);
        (e.id.clone(), Kind::Guidance, texts.cloned().collect())
    });
    let programmes = content.programmes.iter().map(|p| {
        let texts = [&p.name, &p.summary].into_iter().chain(&p.questions);
        (p.id.clone(), Kind::Programme, texts.cloned().collect())
    });
    entries.chain(programmes).collect()
}

impl Semantic {
    /// Embeds the content, reusing and refreshing the vector cache in `cache_dir` if given
    /// (by default `<index>/vectors`, see [`cache_dir`]).
    pub fn build(
        content: &Content,
        embedder: Arc<Embedder>,
        cache_root: Option<&Path>,
    ) -> Semantic {
        let items = item_texts(content);
        let mut cache = VectorCache::new(embedder.clone(), cache_root);
        let mut all: Vec<&str> = items
            .iter()
            .flat_map(|(_, _, t)| t.iter().map(String::as_str))
            .collect();
        let n_items = all.len();
        let crisis = &content.crisis;
        all.extend(crisis.examples.iter().map(String::as_str));
        all.extend(crisis.not_crisis.iter().map(String::as_str));
        all.extend(content.off_topic.iter().map(String::as_str));
        let mut vectors = cache.get_many(&all);
        cache.save();
        let off_topic_vectors =
            vectors.split_off(n_items + crisis.examples.len() + crisis.not_crisis.len());
        let calm_vectors = vectors.split_off(n_items + crisis.examples.len());
        let crisis_vectors = vectors.split_off(n_items);
        let mut rows = Vec::with_capacity(all.len());
        let mut matrix = Vec::with_capacity(all.len() * DIM);
        let mut centroids = Vec::with_capacity(items.len() * DIM);
        let mut k = 0;
        for (i, (_, _, texts)) in items.iter().enumerate() {
            let mut sum = vec![0.0f32; DIM];
            for _ in texts {
                let v = &vectors[k];
                k += 1;
                rows.push(i as u32);
                matrix.extend_from_slice(v);
                sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            }
            centroids.extend(normalise(sum));
        }
        // The calm side of the crisis check: the calm contrasts, and every text of every item
        // but the crisis entry and its programmes. An ordinary question is far closer to the
        // entry that answers it than to any crisis example; without these, a long message
        // about sick pay and depression sits nearer a crisis example than a calm contrast.
        // The out-of-scope examples are calm too ("my dog was sick all night"), but only those
        // under `examples:`: the ones under `decline_only:` teach declining alone. Blind crisis
        // sets showed a batch of new calm texts moving crisis messages to the calm side.
        let off_topic = off_topic_vectors.concat();
        let calm_off_topic =
            &off_topic_vectors[..content.off_topic_calm.min(off_topic_vectors.len())];
        // The contrasts and out-of-scope examples are kept here; the item texts are read
        // through `calm_rows` from the cosines the ranking computes anyway.
        let mut calm = calm_vectors.concat();
        calm.extend_from_slice(&off_topic[..calm_off_topic.len() * DIM]);
        let gram = Gram::of(&matrix);
        // The crisis classifier's rows: the crisis examples, then the whole calm side. Its Gram
        // matrix starts from the items' and takes out the crisis entry's and its programmes'.
        let mut crisis_rows = crisis_vectors.concat();
        crisis_rows.extend_from_slice(&calm);
        let mut crisis_gram = gram.clone();
        for v in crisis_vectors
            .iter()
            .chain(&calm_vectors)
            .chain(calm_off_topic)
        {
            crisis_gram.add(v);
        }
        let mut calm_rows = vec![false; rows.len()];
        for (r, &item) in rows.iter().enumerate() {
            let id = &items[item as usize].0;
            let row = &matrix[r * DIM..(r + 1) * DIM];
            if crisis.entry.as_ref() != Some(id) && !crisis.programmes.contains(id) {
                crisis_rows.extend_from_slice(row);
                calm_rows[r] = true;
            } else {
                crisis_gram.remove(row);
            }
        }
        let classifier = Classifier::fit_gram(&gram, &matrix, &rows, items.len(), classify::LAMBDA);
        let n_crisis = crisis_vectors.len();
        let n_rows = crisis_rows.len() / DIM;
        let crisis_classifier = (n_crisis > 0 && n_rows > n_crisis).then(|| {
            let labels: Vec<u32> = (0..n_rows).map(|r| u32::from(r >= n_crisis)).collect();
            Classifier::fit_gram(&crisis_gram, &crisis_rows, &labels, 2, classify::LAMBDA)
        });
        Semantic {
            embedder,
            items: items.into_iter().map(|(id, kind, _)| (id, kind)).collect(),
            rows,
            matrix,
            centroids,
            classifier,
            crisis: crisis_vectors.concat(),
            crisis_texts: crisis.examples.clone(),
            calm,
            calm_rows,
            crisis_classifier,
            off_topic,
            embedded: cache.embedded,
        }
    }

    /// The closest crisis example and calm text to a vector, and the crisis classifier's
    /// output, given the vector's [`Semantic::text_cosines`] (the ranking reads them too);
    /// `skip_self` ignores exact matches (for leave-one-out calibration over the examples).
    pub fn crisis_similarity(
        &self,
        v: &[f32],
        text_cosines: &[f32],
        skip_self: bool,
    ) -> Option<CrisisSim> {
        let keep = |s: &f32| !(skip_self && *s > 0.9999);
        let best = |m: &[f32]| {
            m.chunks_exact(DIM)
                .map(|row| dot(v, row))
                .enumerate()
                .filter(|(_, s)| keep(s))
                .max_by(|a, b| a.1.total_cmp(&b.1))
        };
        let (example, crisis) = best(&self.crisis)?;
        let items = text_cosines
            .iter()
            .zip(&self.calm_rows)
            .filter(|(s, calm)| **calm && keep(s))
            .map(|(s, _)| *s);
        let calm = best(&self.calm)
            .map(|(_, s)| s)
            .into_iter()
            .chain(items)
            .fold(-1.0f32, f32::max);
        let class = self
            .crisis_classifier
            .as_ref()
            .map_or(f32::NEG_INFINITY, |c| {
                let mut s = c.scores(v);
                let crisis = s.next().unwrap_or(0.0);
                crisis - s.next().unwrap_or(0.0)
            });
        Some(CrisisSim {
            crisis,
            example,
            calm,
            class,
        })
    }

    /// How near a vector is to the out-of-scope examples, measured as an item's
    /// [`SemScore::best`] is (its two nearest, mixed by [`SECOND_NEAREST`]), so the two compare;
    /// `None` without examples.
    pub fn off_topic(&self, v: &[f32]) -> Option<f32> {
        if self.off_topic.is_empty() {
            return None;
        }
        let cosines = self.off_topic.chunks_exact(DIM).map(|row| (0, dot(v, row)));
        nearest(cosines, 1).first().copied()
    }

    pub fn crisis_example(&self, i: usize) -> &str {
        self.crisis_texts.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    /// A vector's cosine with every item text (title, summary, `questions:` line), in row
    /// order: what [`Semantic::score_each`] and [`Semantic::crisis_similarity`] read.
    pub fn text_cosines(&self, q: &[f32]) -> Vec<f32> {
        self.matrix
            .chunks_exact(DIM)
            .map(|row| dot(q, row))
            .collect()
    }

    /// Each item's scores against each of the question's vectors (the whole message, then
    /// its sentences), given each vector's [`Semantic::text_cosines`]: one list per vector,
    /// items in `items` order.
    pub fn score_each(&self, queries: &[Vector], cosines: &[Vec<f32>]) -> Vec<Vec<SemScore>> {
        queries
            .iter()
            .zip(cosines)
            .map(|(q, cos)| {
                let mut out = vec![
                    SemScore {
                        best: -1.0,
                        whole: -1.0,
                        class: 0.0,
                    };
                    self.items.len()
                ];
                let by_item = self
                    .rows
                    .iter()
                    .zip(cos)
                    .map(|(&item, &c)| (item as usize, c));
                for (o, near) in out.iter_mut().zip(nearest(by_item, self.items.len())) {
                    o.best = near;
                }
                for (i, o) in out.iter_mut().enumerate() {
                    o.whole = dot(q, &self.centroids[i * DIM..(i + 1) * DIM]);
                }
                for (o, c) in out.iter_mut().zip(self.classifier.scores(q)) {
                    o.class = c;
                }
                out
            })
            .collect()
    }
}

/// The vector cache's folder: `--vectors` if given, else `vectors/` beside the index builds.
pub fn cache_dir(index: &Path, vectors: Option<&Path>) -> PathBuf {
    vectors
        .map(Path::to_path_buf)
        .unwrap_or_else(|| index.join(super::build::VECTORS))
}

/// Vectors by the SHA-256 of their text, for one model.
pub struct VectorCache {
    embedder: Arc<Embedder>,
    path: Option<PathBuf>,
    known: HashMap<[u8; 32], Vector>,
    used: Vec<([u8; 32], Vector)>,
    dirty: bool,
    pub embedded: usize,
}

fn key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl VectorCache {
    pub fn new(embedder: Arc<Embedder>, root: Option<&Path>) -> VectorCache {
        // Keyed by the precision this embedder actually runs in, which a caller may have
        // chosen (`Embedder::load_with`) apart from the environment's default.
        let name = files::fingerprint_for(embedder.precision());
        let path = root.map(|r| r.join(format!("{name}.bin")));
        let known = path.as_deref().map(read_cache).unwrap_or_default();
        VectorCache {
            embedder,
            path,
            known,
            used: Vec::new(),
            dirty: false,
            embedded: 0,
        }
    }

    /// The vectors of these texts, embedding those the cache does not hold.
    pub fn get_many(&mut self, texts: &[&str]) -> Vec<Vector> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| key(t)).collect();
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !self.known.contains_key(k) && seen.insert(*k) {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let vectors = self.embedder.embed_many(&batch);
            self.embedded += batch.len();
            for (&i, v) in missing.iter().zip(vectors) {
                self.known.insert(keys[i], v);
            }
            self.dirty = true;
        }
        let mut used_now = std::collections::HashSet::new();
        let out: Vec<Vector> = keys.iter().map(|k| self.known[k].clone()).collect();
        for (k, v) in keys.iter().zip(&out) {
            if used_now.insert(*k) {
                self.used.push((*k, v.clone()));
            }
        }
        if self.used.len() != self.known.len() && self.known.len() > CACHE_MAX {
            self.dirty = true; // over the cap: the file is trimmed
        }
        out
    }

    /// Writes the cache if anything changed: the vectors this build used, and the others it
    /// found there while the file stays under [`CACHE_MAX`] vectors (so indexes of different
    /// content sharing one folder do not undo each other's work). A cache that cannot be
    /// written is logged and costs only time at the next start.
    pub fn save(&mut self) {
        let Some(path) = self.path.clone() else {
            return;
        };
        if !self.dirty {
            return;
        }
        let mut rows = std::mem::take(&mut self.used);
        let used: std::collections::HashSet<[u8; 32]> = rows.iter().map(|(k, _)| *k).collect();
        for (k, v) in &self.known {
            if rows.len() >= CACHE_MAX {
                break;
            }
            if !used.contains(k) {
                rows.push((*k, v.clone()));
            }
        }
        if let Err(e) = write_cache(&path, &rows) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the vector cache");
        }
        self.dirty = false;
    }
}

/// At most this many vectors are kept in a cache file (about 15 MB).
pub const CACHE_MAX: usize = 10_000;

fn read_cache(path: &Path) -> HashMap<[u8; 32], Vector> {
    let mut out = HashMap::new();
    let Ok(mut f) = fs::File::open(path) else {
        return out;
    };
    let mut bytes = Vec::new();
    if f.read_to_end(&mut bytes).is_err() || !bytes.starts_with(MAGIC) {
        return out;
    }
    let record = 32 + DIM * 4;
    let body = &bytes[MAGIC.len()..];
    if body.len() % record != 0 {
        tracing::warn!(path = %path.display(), "the vector cache is damaged: embedding again");
        return out;
    }
    for rec in body.chunks_exact(record) {
        let mut k = [0u8; 32];
        k.copy_from_slice(&rec[..32]);
        let v: Vector = rec[32..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.insert(k, v);
    }
    out
}

fn write_cache(path: &Path, rows: &[([u8; 32], Vector)]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".vectors-{}.tmp", std::process::id()));
    {
        let mut w = BufWriter::new(fs::File::create(&tmp)?);
        w.write_all(MAGIC)?;
        for (k, v) in rows {
            w.write_all(k)?;
            for x in v {
                w.write_all(&x.to_le_bytes())?;
            }
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_named_for_the_precision_the_embedder_runs_in() {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
        // The model is fetched by `scripts/test.sh` before the tests run.
        let embedder = Embedder::load_with(&model, crate::embed::Precision::F32)
            .expect("the embedding model (run `workhealth model fetch`)");
        let dir = tempfile::tempdir().unwrap();
        let mut cache = VectorCache::new(Arc::new(embedder), Some(dir.path()));
        cache.get_many(&["is ssp paid from day one"]);
        cache.save();
        let name = format!(
            "{}.bin",
            files::fingerprint_for(crate::embed::Precision::F32)
        );
        assert!(dir.path().join(&name).is_file(), "no {name}");
    }

    #[test]
    fn an_item_is_as_near_as_its_two_nearest_texts() {
        let cosines = [(0, 0.9), (0, 0.1), (0, 0.4), (1, 0.7), (1, 0.7), (2, 0.6)];
        let near = nearest(cosines.into_iter(), 4);
        let mixed = |a: f32, b: f32| (1.0 - SECOND_NEAREST) * a + SECOND_NEAREST * b;
        assert!((near[0] - mixed(0.9, 0.4)).abs() < 1e-6, "{near:?}");
        assert!((near[1] - 0.7).abs() < 1e-6, "{near:?}");
        // One text: the nearest alone; none: -1.
        assert!((near[2] - 0.6).abs() < 1e-6, "{near:?}");
        assert_eq!(near[3], -1.0);
        // One lucky text no longer outranks an item with two near ones.
        assert!(near[1] > near[0], "{near:?}");
    }
}
