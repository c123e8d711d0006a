//! Sentence embeddings in process: all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions) run with
//! candle, tokenised with the `tokenizers` crate; mean pooling over the attention mask, then
//! L2 normalisation, as sentence-transformers does. No Python and no network at run time.
//!
//! The shipped `tokenizer.json` pads every input to 128 tokens; padding is switched off here
//! (a batch is padded only to its longest member, and pooled with the mask), so a short query
//! costs only its own tokens.

pub mod files;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
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

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl Embedder {
    /// Loads the model from a folder whose files have been checked (see [`files::verify`]).
    pub fn load(dir: &Path) -> Result<Embedder, ModelError> {
        files::verify(dir)?;
        let fail = |message: String| ModelError::Load {
            dir: dir.to_path_buf(),
            message,
        };
        let config: Config = serde_json::from_slice(
            &std::fs::read(dir.join("config.json")).map_err(|e| fail(e.to_string()))?,
        )
        .map_err(|e| fail(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| fail(format!("tokenizer.json: {e}")))?;
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load(dir.join("model.safetensors"), &device)
            .map_err(|e| fail(format!("model.safetensors: {e}")))?;
        let vb =
            VarBuilder::from_tensors(weights_laid_out_for_matmul(tensors), DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(|e| fail(e.to_string()))?;
        Ok(Embedder {
            model,
            tokenizer,
            device,
        })
    }

    /// One text's vector.
    pub fn embed(&self, text: &str) -> Vector {
        self.embed_many(&[text])
            .pop()
            .unwrap_or_else(|| vec![0.0; DIM])
    }

    /// Many texts' vectors, in order. Texts are grouped by length so padding stays small.
    pub fn embed_many(&self, texts: &[&str]) -> Vec<Vector> {
        let mut out: Vec<Vector> = vec![Vec::new(); texts.len()];
        let encodings: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| {
                self.tokenizer
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .unwrap_or_default()
            })
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        for chunk in order.chunks(BATCH) {
            let ids: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].as_slice()).collect();
            match self.forward(&ids) {
                Ok(vectors) => {
                    for (&i, v) in chunk.iter().zip(vectors) {
                        out[i] = v;
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

    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vector>> {
        let len = batch.iter().map(|b| b.len()).max().unwrap_or(0).max(1);
        let n = batch.len();
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (r, b) in batch.iter().enumerate() {
            ids[r * len..r * len + b.len()].copy_from_slice(b);
            mask[r * len..r * len + b.len()].fill(1);
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (n, len, DIM)
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (n, DIM)
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?; // (n, 1)
        let pooled = summed.broadcast_div(&counts)?;
        let rows: Vec<Vec<f32>> = pooled.to_vec2()?;
        Ok(rows.into_iter().map(normalise).collect())
    }
}

/// Lays each linear layer's weight out as the matrix multiply reads it. candle's `Linear`
/// multiplies by the weight's transpose; stored as the file has it (out × in, row-major), that
/// transpose is strided, and the matrix multiply repacks the whole weight on every call — about
/// half of the time of a short query. Keeping the same shape over transposed memory makes the
/// transpose contiguous. Embedding tables are looked up by row and stay as they are.
fn weights_laid_out_for_matmul(
    tensors: std::collections::HashMap<String, Tensor>,
) -> std::collections::HashMap<String, Tensor> {
    tensors
        .into_iter()
        .map(|(name, t)| {
            let linear =
                name.ends_with(".weight") && !name.starts_with("embeddings.") && t.rank() == 2;
            let t = if linear {
                t.t()
                    .and_then(|w| w.contiguous())
                    .and_then(|w| w.t())
                    .unwrap_or(t)
            } else {
                t
            };
            (name, t)
        })
        .collect()
}

/// Scales a vector to length 1 (a zero vector stays zero).
pub fn normalise(mut v: Vector) -> Vector {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two normalised vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
