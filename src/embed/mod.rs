//! Sentence embeddings in process: all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions), run by
//! our own encoder forward pass (the `minilm` crate, crates/minilm) over the model's weights,
//! tokenised with the `tokenizers` crate; mean pooling over each text's tokens, then L2
//! normalisation, as sentence-transformers does. No Python and no network at run time.
//!
//! The encoder's linear layers run in 8-bit integers where the processor has AVX-512 VNNI, in
//! f32 elsewhere; [`precision`] says which (`WORKHEALTH_EMBED_PRECISION=f32` forces f32), and
//! the cached vectors' key ([`files::fingerprint`]) names it, so vectors of one precision are
//! never compared with queries of the other.
//!
//! The shipped `tokenizer.json` pads every input to 128 tokens; padding is switched off here:
//! the texts of a batch are packed one after another with no padding at all (attention runs
//! per text), so a short query costs only its own tokens. The tests check the f32 vectors
//! against candle's `BertModel` run with padding and a mask, and the int8 ones against f32.

pub mod files;

use std::path::Path;

pub use minilm::Precision;
use tokenizers::{Tokenizer, TruncationParams};

pub use files::ModelError;

/// Dimensions of every vector.
pub const DIM: usize = 384;
/// Word pieces kept of one text (the model was trained on up to 256).
pub const MAX_TOKENS: usize = 256;
/// Texts embedded in one forward pass when embedding many.
const BATCH: usize = 32;

/// A normalised sentence vector.
pub type Vector = Vec<f32>;

/// Names the environment variable that can force the f32 encoder (`f32`); unset, or `i8`,
/// means the fastest this processor runs.
pub const PRECISION_VAR: &str = "WORKHEALTH_EMBED_PRECISION";

/// The precision [`Embedder::load`] uses here: int8 where the processor has AVX-512 VNNI,
/// unless [`PRECISION_VAR`] is `f32`.
pub fn precision() -> Precision {
    match std::env::var(PRECISION_VAR).as_deref() {
        Ok("f32") => Precision::F32,
        _ => Precision::best(),
    }
}

pub struct Embedder {
    encoder: minilm::Encoder,
    tokenizer: Tokenizer,
}

impl Embedder {
    /// Loads the model from a folder whose files have been checked (see [`files::verify`]), in
    /// this machine's [`precision`].
    pub fn load(dir: &Path) -> Result<Embedder, ModelError> {
        Embedder::load_with(dir, precision())
    }

    /// Loads the model with its linear layers in `precision` (an error if this processor
    /// cannot run it).
    pub fn load_with(dir: &Path, precision: Precision) -> Result<Embedder, ModelError> {
        files::verify(dir)?;
        let fail = |message: String| ModelError::Load {
            dir: dir.to_path_buf(),
            message,
        };
        let config: minilm::Config = serde_json::from_slice(
            &std::fs::read(dir.join("config.json")).map_err(|e| fail(e.to_string()))?,
        )
        .map_err(|e| fail(format!("config.json: {e}")))?;
        if config.hidden_size != DIM {
            return Err(fail(format!(
                "config.json: hidden_size is {}, expected {DIM}",
                config.hidden_size
            )));
        }
        let tokenizer = tokenizer(dir).map_err(fail)?;
        let weights = std::fs::read(dir.join("model.safetensors"))
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        let encoder = minilm::Encoder::new(&config, &weights, precision).map_err(fail)?;
        Ok(Embedder { encoder, tokenizer })
    }

    /// How its encoder's linear layers compute.
    pub fn precision(&self) -> Precision {
        self.encoder.precision()
    }

    /// One text's vector.
    pub fn embed(&self, text: &str) -> Vector {
        self.embed_many(&[text])
            .pop()
            .unwrap_or_else(|| vec![0.0; DIM])
    }

    /// Many texts' vectors, in order. Texts are grouped by length into batches.
    pub fn embed_many(&self, texts: &[&str]) -> Vec<Vector> {
        let mut out: Vec<Vector> = vec![Vec::new(); texts.len()];
        let encodings = self.ids(texts);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        for chunk in order.chunks(BATCH) {
            let ids: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].as_slice()).collect();
            match self.encoder.pooled(&ids) {
                Ok(vectors) => {
                    for (&i, v) in chunk.iter().zip(vectors) {
                        out[i] = normalise(v);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "embedding failed");
                    for &i in chunk {
                        out[i] = vec![0.0; DIM];
                    }
                }
            }
        }
        out
    }

    /// Each text's word-piece ids (none for a text the tokeniser refuses).
    fn ids(&self, texts: &[&str]) -> Vec<Vec<u32>> {
        texts
            .iter()
            .map(|t| {
                self.tokenizer
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// The model's tokeniser, without its padding and truncated to [`MAX_TOKENS`].
fn tokenizer(dir: &Path) -> Result<Tokenizer, String> {
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| format!("tokenizer.json: {e}"))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(|e| format!("tokenizer.json: {e}"))?;
    Ok(tokenizer)
}

/// Scales a vector to length 1 (a zero vector stays zero).
pub fn normalise(mut v: Vector) -> Vector {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two normalised vectors (over the shorter's length).
///
/// Sixteen running sums instead of one: a single sum is one long chain of dependent additions
/// (the compiler may not reorder float additions), so it cannot use the vector units. Every
/// question is scored against a few thousand content and crisis vectors, and the one-sum
/// version took a fifth of a reply's time.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut sums = [0.0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_at_every_length() {
        for n in [0, 1, 15, 16, 17, 383, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 10.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 10.0).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-4, "length {n}");
        }
        // Unequal lengths: over the shorter.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
    }
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use candle_transformers::models::bert::{BertModel, Config};

    fn model_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2")
    }

    /// candle's `BertModel`: the texts padded to the longest and masked, mean-pooled over the
    /// mask, normalised (how the vectors were computed before our own encoder).
    struct Reference {
        model: BertModel,
    }

    impl Reference {
        fn load(dir: &Path) -> Reference {
            let config: Config =
                serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
            let vb = unsafe {
                VarBuilder::from_mmaped_safetensors(
                    &[dir.join("model.safetensors")],
                    DType::F32,
                    &Device::Cpu,
                )
                .unwrap()
            };
            Reference {
                model: BertModel::load(vb, &config).unwrap(),
            }
        }

        fn vectors(&self, batch: &[&[u32]]) -> Vec<Vector> {
            let len = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
            let n = batch.len();
            let mut ids = vec![0u32; n * len];
            let mut mask = vec![0u32; n * len];
            for (r, b) in batch.iter().enumerate() {
                ids[r * len..r * len + b.len()].copy_from_slice(b);
                mask[r * len..r * len + b.len()].fill(1);
            }
            let ids = Tensor::from_vec(ids, (n, len), &Device::Cpu).unwrap();
            let mask = Tensor::from_vec(mask, (n, len), &Device::Cpu).unwrap();
            let types = ids.zeros_like().unwrap();
            let hidden = self.model.forward(&ids, &types, Some(&mask)).unwrap();
            let m = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
            let summed = hidden.broadcast_mul(&m).unwrap().sum(1).unwrap();
            let counts = m.sum(1).unwrap().clamp(1e-9, f64::MAX).unwrap();
            let pooled = summed.broadcast_div(&counts).unwrap();
            let rows: Vec<Vec<f32>> = pooled.to_vec2().unwrap();
            rows.into_iter().map(normalise).collect()
        }
    }

    const TEXTS: [&str; 20] = [
        "one of my lads has been signed off with stress for three weeks and I do not know \
         whether I should ring him or leave him alone, and what do I pay him meanwhile please",
        "SSP",
        "",
        "fit note",
        "What is statutory sick pay and who qualifies for it?",
        "Can I ask for a fit note after 3 days off sick?",
        "my employee keeps phoning in sick on Mondays",
        "back pain!!! lifting boxes in the warehouse :(",
        "Is menopause covered under the Equality Act 2010 as a disability?",
        "reasonable adjustments for someone with ADHD in a small café — costs £££?",
        "How do I run a return-to-work meeting after long-term sickness absence, what should I \
         say, what should I write down, and should HR be in the room or is it better one to one?",
        "Access to Work grant",
        "burnout",
        "She's pregnant and feeling faint at work; do I need a new risk assessment?",
        "occupational health referral — how, when, and who pays (NHS or private)?",
        "Zeitarbeit Krankheit Lohnfortzahlung",
        "1 2 3 4 5 6 7 8 9 10 11 12",
        "drink and drugs at work, zero tolerance policy or support first?",
        "He says his anxiety is getting worse because of the new manager and the night shifts \
         and he wants to go part time for a while; we are a team of nine in Sunderland.",
        "thank you",
    ];

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let na = dot(a, a).sqrt();
        let nb = dot(b, b).sqrt();
        dot(a, b) / (na * nb)
    }

    /// A few dozen real texts: the development questions and, from the guidance entries, their
    /// titles, summaries and answers (long ones among them), all from content/.
    fn real_texts() -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct Guidance {
            title: String,
            summary: String,
            answer: String,
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let dev = std::fs::read_to_string(root.join("tests/dev.yaml")).unwrap();
        let mut texts: Vec<String> = dev
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- q: "))
            .map(|q| q.trim_matches('"').to_string())
            .step_by(5)
            .take(24)
            .collect();
        let mut files: Vec<_> = std::fs::read_dir(root.join("guidance/absence"))
            .unwrap()
            .chain(std::fs::read_dir(root.join("guidance/mental-health")).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for path in files.iter().take(6) {
            let g: Guidance =
                serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            texts.extend([g.title, g.summary, g.answer]);
        }
        texts
    }

    #[test]
    fn our_f32_encoder_agrees_with_candle_bert_single_and_padded() {
        let dir = model_dir();
        let ours = Embedder::load_with(&dir, Precision::F32)
            .expect("the model (run `workhealth model fetch`)");
        assert_eq!(ours.precision(), Precision::F32);
        let reference = Reference::load(&dir);
        let ids = ours.ids(&TEXTS);
        assert!(ids.iter().all(|i| !i.is_empty()));
        // Lengths vary (so the padded batch really pads).
        let lengths: Vec<usize> = ids.iter().map(|i| i.len()).collect();
        assert!(lengths.iter().min() < lengths.iter().max());

        let all: Vec<&[u32]> = ids.iter().map(|i| i.as_slice()).collect();
        let padded = reference.vectors(&all); // one batch, padded to the longest, masked
        let batched = ours.embed_many(&TEXTS);
        let mut worst = 1.0f32;
        for (i, text) in TEXTS.iter().enumerate() {
            let single_ref = reference.vectors(&[ids[i].as_slice()]).remove(0);
            let single = ours.embed(text);
            assert_eq!(single.len(), DIM);
            for (what, a, b) in [
                ("single", &single, &single_ref),
                ("batched vs padded", &batched[i], &padded[i]),
                ("batched vs single", &batched[i], &single_ref),
            ] {
                let c = cosine(a, b);
                worst = worst.min(c);
                assert!(c >= 0.99999, "{what}: text {i} {text:?}: cosine {c}");
            }
            assert!((dot(&single, &single) - 1.0).abs() < 1e-5);
        }
        // Also a batch of the raw encoder with padding-free packing vs the reference, per text.
        let pooled = ours.encoder.pooled(&all).unwrap();
        for (i, v) in pooled.into_iter().enumerate() {
            let c = cosine(&normalise(v), &padded[i]);
            assert!(c >= 0.99999, "packed: text {i}: cosine {c}");
        }
        eprintln!("f32 against candle: worst cosine {worst}");
    }

    #[test]
    fn int8_vectors_stay_close_to_f32_on_real_texts() {
        if !Precision::Int8.supported() {
            eprintln!("skipped: this processor has no AVX-512 VNNI");
            return;
        }
        let dir = model_dir();
        let exact = Embedder::load_with(&dir, Precision::F32).expect("the model");
        let fast = Embedder::load_with(&dir, Precision::Int8).expect("the model");
        assert_eq!(fast.precision(), Precision::Int8);
        let reference = Reference::load(&dir);
        let texts = real_texts();
        assert!(texts.len() >= 40, "{} texts", texts.len());
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let ids = exact.ids(&texts);
        assert!(ids.iter().any(|i| i.len() > 150), "some long texts");
        let want = exact.embed_many(&texts);
        let got = fast.embed_many(&texts);
        let (mut worst, mut worst_candle, mut total) = (1.0f32, 1.0f32, 0.0f32);
        for (i, text) in texts.iter().enumerate() {
            let c = cosine(&got[i], &want[i]);
            let candle = reference.vectors(&[ids[i].as_slice()]).remove(0);
            worst_candle = worst_candle.min(cosine(&got[i], &candle));
            // One at a time gives the same as in a batch (quantisation is per token).
            let single = fast.embed(text);
            assert!(cosine(&single, &got[i]) > 0.99999, "text {i}");
            worst = worst.min(c);
            total += c;
            assert!(c >= 0.99, "text {i} {text:?}: cosine {c} against f32");
        }
        assert!(worst_candle >= 0.99, "against candle: {worst_candle}");
        eprintln!(
            "int8 against f32 on {} real texts: worst cosine {worst}, mean {}; against candle: worst {worst_candle}",
            texts.len(),
            total / texts.len() as f32
        );
    }

    #[test]
    fn erf_and_gelu_agree_with_the_exact_ones() {
        let mut worst_erf = 0.0f64;
        let mut xs: Vec<f32> = (-12_000..=12_000).map(|i| i as f32 * 1e-3).collect();
        xs.extend([f32::MAX, -f32::MAX, 1e-30, -1e-30, 0.0, 50.0, -50.0]);
        for &x in &xs {
            let exact = candle_core::cpu::erf::erf_f64(x as f64);
            worst_erf = worst_erf.max((minilm::erf(x) as f64 - exact).abs());
        }
        assert!(worst_erf < 1e-6, "erf off by {worst_erf}");
        // GELU against candle's exact-erf GELU on the same inputs.
        let finite: Vec<f32> = xs[..24_001].to_vec();
        let want: Vec<f32> = Tensor::new(finite.as_slice(), &Device::Cpu)
            .unwrap()
            .gelu_erf()
            .unwrap()
            .to_vec1()
            .unwrap();
        let mut got = finite.clone();
        minilm::math::gelu_in_place(&mut got);
        for ((x, g), w) in finite.iter().zip(&got).zip(&want) {
            assert!(
                (g - w).abs() <= 1e-6 * x.abs().max(1.0),
                "gelu({x}) = {g}, candle {w}"
            );
        }
    }

    #[test]
    fn softmax_agrees_with_the_exact_one() {
        let rows: Vec<Vec<f32>> = vec![
            vec![0.0],
            vec![1.0, 2.0, 3.0],
            (0..77).map(|i| (i as f32 * 0.37).sin() * 9.0).collect(),
            vec![-1e30, 0.0, 5.0, -100.0, 80.0, 79.5],
        ];
        for row in rows {
            let max = row
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, |m, v| m.max(v as f64));
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
            let total: f64 = e.iter().sum();
            let mut got = row.clone();
            minilm::math::softmax_rows(&mut got, row.len());
            for (g, e) in got.iter().zip(&e) {
                let want = e / total;
                assert!(
                    ((*g as f64) - want).abs() <= 1e-6 * want.max(1e-3),
                    "{row:?}: {g} vs {want}"
                );
            }
        }
    }
}
