//! The BERT encoder forward pass of all-MiniLM-L6-v2 (6 layers, 384 hidden), written out for
//! one CPU core: token, position and type embeddings with LayerNorm, then per layer
//! self-attention and the feed-forward block, each followed by a residual LayerNorm; the same
//! maths as candle's (and Hugging Face's) `BertModel`, exact erf GELU included. Only the
//! weights file (safetensors, f32) is read here; tokenising and the final normalisation are the
//! caller's.
//!
//! What makes it cheaper than running `BertModel`:
//! - The texts of a batch are packed one after another (no padding rows): the linear layers run
//!   over only the real tokens, and attention runs per text over its own tokens. That is what a
//!   padding mask computes (masked keys get a weight of exactly 0), without the wasted rows.
//! - The linear layers (all but 1% of the work) run in 8-bit integers with AVX-512 VNNI where
//!   the processor has it ([`Precision::Int8`], see [`int8`]): weights quantised per output
//!   column at load, activations per token on each call. Elsewhere, or when asked
//!   ([`Precision::F32`]), each is one f32 matrix multiply (`gemm`). Either way the bias (and
//!   the residual) is written into the output first and accumulated onto, no separate passes;
//!   the weight is stored as the multiply reads it, never repacked; query, key and value are
//!   one multiply of width 3 × hidden. Attention's own products stay in f32.
//! - GELU's erf and softmax's exp are branch-free polynomials that the compiler vectorises
//!   (AVX-512 or AVX2 when the processor has them), instead of a libm call per element. The erf
//!   is Eigen's and XLA's rational approximation (absolute error under 2e-7); the exp is
//!   Cephes' (relative error about 2e-7). See [`math`].
//! - Buffers are allocated once per forward pass, not once per operation.

pub mod int8;
pub mod math;

use gemm::Parallelism;
use math::{gelu_in_place, layer_norm, softmax_rows};
use safetensors::SafeTensors;

pub use math::erf;

/// How the linear layers compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout (any processor).
    F32,
    /// 8-bit integer linear layers (needs AVX-512 VNNI).
    Int8,
}

impl Precision {
    /// The fastest this processor supports.
    pub fn best() -> Precision {
        if int8::supported() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// Whether this processor can run it.
    pub fn supported(self) -> bool {
        match self {
            Precision::F32 => true,
            Precision::Int8 => int8::supported(),
        }
    }

    /// A short name: `f32` or `i8` (part of cache keys, so never changed lightly).
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "i8",
        }
    }
}

/// The settings of `config.json` the encoder reads.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Config {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub max_position_embeddings: usize,
    pub layer_norm_eps: f64,
    #[serde(default = "gelu")]
    pub hidden_act: String,
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
    #[serde(default = "two")]
    pub type_vocab_size: usize,
}

fn gelu() -> String {
    "gelu".into()
}

fn two() -> usize {
    2
}

fn absolute() -> String {
    "absolute".into()
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// A linear layer's weight, laid out for its multiply.
enum Weight {
    /// `in × out`, row-major (the transpose of the file's `out × in`).
    F32(Vec<f32>),
    Int8(int8::Packed),
}

struct Linear {
    weight: Weight,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Layer {
    /// Query, key and value side by side: `hidden × 3·hidden`.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

pub struct Encoder {
    word: Vec<f32>,
    vocab: usize,
    position: Vec<f32>,
    max_positions: usize,
    /// The token-type-0 row (every input here is one segment).
    type0: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    intermediate: usize,
    heads: usize,
    eps: f32,
    precision: Precision,
}

/// The tensors of a safetensors file.
struct Tensors<'a>(SafeTensors<'a>);

impl Tensors<'_> {
    /// A tensor's shape, if it is there.
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.0.tensor(name).ok().map(|t| t.shape().to_vec())
    }

    /// Copies a tensor's values out, checking its shape and type (f32, as the model ships).
    fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let t = self
            .0
            .tensor(name)
            .map_err(|_| format!("model.safetensors has no tensor {name}"))?;
        if t.shape() != shape {
            return Err(format!(
                "model.safetensors: {name} has shape {:?}, expected {shape:?}",
                t.shape()
            ));
        }
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(format!(
                "model.safetensors: {name} is {:?}, expected F32",
                t.dtype()
            ));
        }
        Ok(t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// Transposes a row-major `rows × cols` matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

fn linear(
    tensors: &Tensors,
    names: &[&str],
    inputs: usize,
    outputs: usize,
    precision: Precision,
) -> Result<Linear, String> {
    // Several layers of the same input side by side make one wider layer.
    let mut weight = vec![0.0; inputs * outputs * names.len()];
    let mut bias = Vec::with_capacity(outputs * names.len());
    let width = outputs * names.len();
    for (j, name) in names.iter().enumerate() {
        let w = tensors.values(&format!("{name}.weight"), &[outputs, inputs])?;
        let t = transpose(&w, outputs, inputs); // inputs × outputs
        for i in 0..inputs {
            weight[i * width + j * outputs..i * width + (j + 1) * outputs]
                .copy_from_slice(&t[i * outputs..(i + 1) * outputs]);
        }
        bias.extend(tensors.values(&format!("{name}.bias"), &[outputs])?);
    }
    let weight = match precision {
        Precision::F32 => Weight::F32(weight),
        Precision::Int8 => Weight::Int8(int8::Packed::new(&weight, inputs, width)),
    };
    Ok(Linear {
        weight,
        bias,
        inputs,
        outputs: width,
    })
}

fn norm(tensors: &Tensors, name: &str, size: usize) -> Result<Norm, String> {
    Ok(Norm {
        gamma: tensors.values(&format!("{name}.weight"), &[size])?,
        beta: tensors.values(&format!("{name}.bias"), &[size])?,
    })
}

impl Encoder {
    /// Builds the encoder from the bytes of the model's safetensors file (tensor names as in
    /// the all-MiniLM-L6-v2 file), its linear layers in `precision` (an error if this processor
    /// cannot run it; see [`Precision::supported`]).
    pub fn new(
        config: &Config,
        safetensors: &[u8],
        precision: Precision,
    ) -> Result<Encoder, String> {
        if !precision.supported() {
            return Err(format!(
                "this processor cannot run the {} encoder",
                precision.name()
            ));
        }
        let tensors = &Tensors(
            SafeTensors::deserialize(safetensors).map_err(|e| format!("model.safetensors: {e}"))?,
        );
        if config.hidden_act != "gelu" {
            return Err(format!(
                "config.json: hidden_act {:?} is not supported (only \"gelu\")",
                config.hidden_act
            ));
        }
        if config.position_embedding_type != "absolute" {
            return Err(format!(
                "config.json: position_embedding_type {:?} is not supported (only \"absolute\")",
                config.position_embedding_type
            ));
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || hidden == 0 || !hidden.is_multiple_of(heads) {
            return Err(format!(
                "config.json: hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
            ));
        }
        let inter = config.intermediate_size;
        let vocab = tensors
            .shape("embeddings.word_embeddings.weight")
            .ok_or("model.safetensors has no tensor embeddings.word_embeddings.weight")?
            .first()
            .copied()
            .unwrap_or(0);
        let word = tensors.values("embeddings.word_embeddings.weight", &[vocab, hidden])?;
        let max_positions = config.max_position_embeddings;
        let position = tensors.values(
            "embeddings.position_embeddings.weight",
            &[max_positions, hidden],
        )?;
        let types = config.type_vocab_size.max(1);
        let mut type0 =
            tensors.values("embeddings.token_type_embeddings.weight", &[types, hidden])?;
        type0.truncate(hidden);
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                qkv: linear(
                    tensors,
                    &[
                        &format!("{p}.attention.self.query"),
                        &format!("{p}.attention.self.key"),
                        &format!("{p}.attention.self.value"),
                    ],
                    hidden,
                    hidden,
                    precision,
                )?,
                attn_out: linear(
                    tensors,
                    &[&format!("{p}.attention.output.dense")],
                    hidden,
                    hidden,
                    precision,
                )?,
                attn_norm: norm(tensors, &format!("{p}.attention.output.LayerNorm"), hidden)?,
                up: linear(
                    tensors,
                    &[&format!("{p}.intermediate.dense")],
                    hidden,
                    inter,
                    precision,
                )?,
                down: linear(
                    tensors,
                    &[&format!("{p}.output.dense")],
                    inter,
                    hidden,
                    precision,
                )?,
                out_norm: norm(tensors, &format!("{p}.output.LayerNorm"), hidden)?,
            });
        }
        Ok(Encoder {
            word,
            vocab,
            position,
            max_positions,
            type0,
            norm: norm(tensors, "embeddings.LayerNorm", hidden)?,
            layers,
            hidden,
            intermediate: inter,
            heads,
            eps: config.layer_norm_eps as f32,
            precision,
        })
    }

    /// How its linear layers compute.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The mean-pooled (not yet normalised) last hidden state of each text, given as word-piece
    /// ids. An empty text gives a zero vector.
    pub fn pooled(&self, texts: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let h = self.hidden;
        for ids in texts {
            if ids.len() > self.max_positions {
                return Err(format!(
                    "a text of {} word pieces is longer than the model's {} positions",
                    ids.len(),
                    self.max_positions
                ));
            }
            if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
                return Err(format!("word piece {bad} is outside the vocabulary"));
            }
        }
        let starts: Vec<usize> = texts
            .iter()
            .scan(0, |at, ids| {
                let s = *at;
                *at += ids.len();
                Some(s)
            })
            .collect();
        let n: usize = texts.iter().map(|t| t.len()).sum();
        if n == 0 {
            return Ok(vec![vec![0.0; h]; texts.len()]);
        }
        let longest = texts.iter().map(|t| t.len()).max().unwrap_or(0);
        let parallelism = parallelism(n);

        // Embeddings, then LayerNorm.
        let mut x = vec![0.0f32; n * h];
        for (ids, &start) in texts.iter().zip(&starts) {
            for (p, &id) in ids.iter().enumerate() {
                let row = &mut x[(start + p) * h..(start + p + 1) * h];
                let w = &self.word[id as usize * h..(id as usize + 1) * h];
                let pos = &self.position[p * h..(p + 1) * h];
                for (((o, a), b), c) in row.iter_mut().zip(w).zip(pos).zip(&self.type0) {
                    *o = a + b + c;
                }
            }
        }
        layer_norm(&mut x, h, &self.norm.gamma, &self.norm.beta, self.eps);

        let head = h / self.heads;
        let scale = 1.0 / (head as f32).sqrt();
        let mut qkv = vec![0.0f32; n * 3 * h];
        let mut context = vec![0.0f32; n * h];
        let mut attended = vec![0.0f32; n * h];
        let mut inter = vec![0.0f32; n * self.intermediate];
        let mut scores = vec![0.0f32; longest * longest];
        for layer in &self.layers {
            // Query, key and value of every token.
            apply(&layer.qkv, &x, &mut qkv, None, n, parallelism);
            // Attention, per text and head, over the text's own tokens.
            for (ids, &start) in texts.iter().zip(&starts) {
                let len = ids.len();
                if len == 0 {
                    continue;
                }
                let s = &mut scores[..len * len];
                for hd in 0..self.heads {
                    let q = &qkv[start * 3 * h + hd * head..];
                    let k = &qkv[start * 3 * h + h + hd * head..];
                    let v = &qkv[start * 3 * h + 2 * h + hd * head..];
                    // scores (len × len) = scale · Q·Kᵀ
                    matmul(
                        (len, len, head),
                        Out {
                            data: s,
                            rs: len,
                            cs: 1,
                            accumulate: false,
                        },
                        (q, 3 * h, 1),
                        (k, 1, 3 * h),
                        scale,
                        Parallelism::None,
                    );
                    softmax_rows(s, len);
                    // context (len × head) = softmax · V
                    matmul(
                        (len, head, len),
                        Out {
                            data: &mut context[start * h + hd * head..],
                            rs: h,
                            cs: 1,
                            accumulate: false,
                        },
                        (s, len, 1),
                        (v, 3 * h, 1),
                        1.0,
                        Parallelism::None,
                    );
                }
            }
            // Output projection plus the residual, then LayerNorm.
            apply(
                &layer.attn_out,
                &context,
                &mut attended,
                Some(&x),
                n,
                parallelism,
            );
            layer_norm(
                &mut attended,
                h,
                &layer.attn_norm.gamma,
                &layer.attn_norm.beta,
                self.eps,
            );
            // Feed-forward: up, GELU, down plus the residual, then LayerNorm.
            apply(&layer.up, &attended, &mut inter, None, n, parallelism);
            gelu_in_place(&mut inter);
            apply(&layer.down, &inter, &mut x, Some(&attended), n, parallelism);
            layer_norm(
                &mut x,
                h,
                &layer.out_norm.gamma,
                &layer.out_norm.beta,
                self.eps,
            );
        }

        // Mean over each text's tokens.
        Ok(texts
            .iter()
            .zip(&starts)
            .map(|(ids, &start)| {
                let mut sum = vec![0.0f32; h];
                for row in x[start * h..(start + ids.len()) * h].chunks_exact(h) {
                    sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
                }
                let count = ids.len().max(1) as f32;
                sum.iter_mut().for_each(|s| *s /= count);
                sum
            })
            .collect())
    }
}

/// Threads for a multiply over `tokens` rows: rayon's (RAYON_NUM_THREADS, else the cores),
/// but one thread for a short query, where splitting costs more than it saves.
fn parallelism(tokens: usize) -> Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && tokens >= 128 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// `out` (`n × outputs`) = `input` (`n × inputs`) · weight + bias [+ `residual`].
fn apply(
    layer: &Linear,
    input: &[f32],
    out: &mut [f32],
    residual: Option<&[f32]>,
    n: usize,
    parallelism: Parallelism,
) {
    let width = layer.outputs;
    let out = &mut out[..n * width];
    match residual {
        Some(r) => {
            for (row, res) in out.chunks_exact_mut(width).zip(r.chunks_exact(width)) {
                for ((o, b), x) in row.iter_mut().zip(&layer.bias).zip(res) {
                    *o = b + x;
                }
            }
        }
        None => {
            for row in out.chunks_exact_mut(width) {
                row.copy_from_slice(&layer.bias);
            }
        }
    }
    let input = &input[..n * layer.inputs];
    match &layer.weight {
        Weight::F32(weight) => matmul(
            (n, width, layer.inputs),
            Out {
                data: out,
                rs: width,
                cs: 1,
                accumulate: true,
            },
            (input, layer.inputs, 1),
            (weight, width, 1),
            1.0,
            parallelism,
        ),
        Weight::Int8(packed) => int8::multiply_accumulate(
            packed,
            input,
            n,
            out,
            !matches!(parallelism, Parallelism::None),
        ),
    }
}

/// The destination of a multiply: element (i, j) at `data[i·rs + j·cs]`.
struct Out<'a> {
    data: &'a mut [f32],
    rs: usize,
    cs: usize,
    /// Add to what is there rather than overwrite it.
    accumulate: bool,
}

/// `out` (m × n) [+]= scale · a (m × k) · b (k × n); each of `a` and `b` is (slice, row stride,
/// column stride). Panics (a bug, not bad input) if a matrix does not fit its slice.
fn matmul(
    (m, n, k): (usize, usize, usize),
    out: Out<'_>,
    (a, a_rs, a_cs): (&[f32], usize, usize),
    (b, b_rs, b_cs): (&[f32], usize, usize),
    scale: f32,
    parallelism: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    let extent = |rows: usize, cols: usize, rs: usize, cs: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        }
    };
    assert!(extent(m, n, out.rs, out.cs) <= out.data.len());
    assert!(extent(m, k, a_rs, a_cs) <= a.len());
    assert!(extent(k, n, b_rs, b_cs) <= b.len());
    // SAFETY: the asserts above keep every element gemm reads or writes inside its slice, and
    // `out.data` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.data.as_mut_ptr(),
            out.cs as isize,
            out.rs as isize,
            out.accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            if out.accumulate { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}
