//! Linear layers in 8-bit integers with AVX-512 VNNI (`vpdpbusd`: 64 multiply-adds of an
//! unsigned and a signed byte per instruction, summed four at a time into 32-bit lanes).
//!
//! - Weights are quantised once, at load, per output column: `w ≈ sw[j] · qw` with `qw` in
//!   −127..=127 (symmetric, no zero point). The packed layout is what the kernel reads in
//!   order: blocks of 64 columns; within a block, for every four consecutive inputs, 64 columns
//!   × 4 bytes. Each column's sum of `qw` is kept for the zero-point correction.
//! - Activations are quantised per row (token) on every call: `x ≈ sa[i] · (qa − za[i])` with
//!   `qa` in 0..=255 over the row's range (0 included, so an all-zero row stays exact).
//! - Then `x·W ≈ sa[i] · sw[j] · (Σ qa·qw − za[i] · Σ qw)`, the integer sums exact in i32 (at
//!   most 255 · 127 · inputs, far inside i32 for these sizes).
//!
//! The kernel computes a tile of up to 6 rows × 64 columns in 24 vector accumulators, so each
//! weight load serves 6 rows and each activation broadcast serves 64 columns.

/// Columns per packed block (four vectors of 16 lanes).
const NR: usize = 64;
/// Rows per kernel tile.
const MR: usize = 6;

/// A weight matrix (`inputs × outputs`) quantised to signed bytes and packed for the kernel.
pub struct Packed {
    inputs: usize,
    outputs: usize,
    /// Groups of four inputs (the last padded with zero weights).
    quads: usize,
    /// `outputs / 64`, rounded up.
    blocks: usize,
    /// `blocks × quads × 64 columns × 4 inputs`.
    data: Vec<i8>,
    /// Per column (padded to `blocks × 64` with zeros).
    scale: Vec<f32>,
    /// Per column: the sum of its quantised weights (padded likewise).
    colsum: Vec<i32>,
}

impl Packed {
    /// Quantises a row-major `inputs × outputs` matrix.
    pub fn new(w: &[f32], inputs: usize, outputs: usize) -> Packed {
        assert_eq!(w.len(), inputs * outputs, "weight size");
        let quads = inputs.div_ceil(4);
        let blocks = outputs.div_ceil(NR);
        let mut data = vec![0i8; blocks * quads * NR * 4];
        let mut scale = vec![0.0f32; blocks * NR];
        let mut colsum = vec![0i32; blocks * NR];
        for j in 0..outputs {
            let amax = (0..inputs).fold(0.0f32, |m, i| m.max(w[i * outputs + j].abs()));
            let s = if amax > 0.0 { amax / 127.0 } else { 1.0 };
            scale[j] = s;
            let (block, c) = (j / NR, j % NR);
            let mut sum = 0i32;
            for i in 0..inputs {
                let q = (w[i * outputs + j] / s).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(q);
                data[((block * quads + i / 4) * NR + c) * 4 + i % 4] = q;
            }
            colsum[j] = sum;
        }
        Packed {
            inputs,
            outputs,
            quads,
            blocks,
            data,
            scale,
            colsum,
        }
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }
}

/// Whether this processor runs the kernel (AVX-512F and AVX-512 VNNI).
pub fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Activations of `rows` rows quantised to unsigned bytes, each row padded to `4 · quads`.
struct Quantised {
    width: usize,
    data: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
}

/// `out` (`rows × outputs`, row-major) += `x` (`rows × inputs`) · W, W as quantised in `p`.
/// Uses rayon over row chunks when `parallel`. Panics (a bug, not bad input) if the slices do
/// not have those sizes or the processor lacks the instructions (check [`supported`] first).
pub fn multiply_accumulate(p: &Packed, x: &[f32], rows: usize, out: &mut [f32], parallel: bool) {
    assert_eq!(x.len(), rows * p.inputs, "input size");
    assert_eq!(out.len(), rows * p.outputs, "output size");
    assert!(
        supported(),
        "int8 kernel on a processor without AVX-512 VNNI"
    );
    if rows == 0 || p.outputs == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let q = quantise(x, rows, p.inputs, p.quads * 4);
        if parallel && rows >= 2 * 8 * MR {
            use rayon::prelude::*;
            let chunk = 8 * MR;
            out.par_chunks_mut(chunk * p.outputs)
                .enumerate()
                .for_each(|(c, o)| {
                    let first = c * chunk;
                    rows_into(p, &q, first, o.len() / p.outputs, o);
                });
        } else {
            rows_into(p, &q, 0, rows, out);
        }
    }
}

/// Rows `first..first + count` of the product, added into `out` (those rows only).
#[cfg(target_arch = "x86_64")]
fn rows_into(p: &Packed, q: &Quantised, first: usize, count: usize, out: &mut [f32]) {
    assert!(first + count <= q.scale.len());
    assert_eq!(out.len(), count * p.outputs);
    for block in 0..p.blocks {
        let mut r = 0;
        while r < count {
            let tile = (count - r).min(MR);
            let o = &mut out[r * p.outputs..(r + tile) * p.outputs];
            let row = first + r;
            // SAFETY: `supported()` was asserted by the caller (multiply_accumulate); the
            // tile's rows lie inside `q` (asserted above) and `o` holds exactly `tile` rows.
            unsafe {
                match tile {
                    1 => tile_avx512::<1>(p, q, row, block, o),
                    2 => tile_avx512::<2>(p, q, row, block, o),
                    3 => tile_avx512::<3>(p, q, row, block, o),
                    4 => tile_avx512::<4>(p, q, row, block, o),
                    5 => tile_avx512::<5>(p, q, row, block, o),
                    _ => tile_avx512::<MR>(p, q, row, block, o),
                }
            }
            r += tile;
        }
    }
}

/// Quantises each row of `x` (`rows × inputs`) to bytes, rows padded with zeros to `width`.
#[cfg(target_arch = "x86_64")]
fn quantise(x: &[f32], rows: usize, inputs: usize, width: usize) -> Quantised {
    let mut q = Quantised {
        width,
        data: vec![0u8; rows * width],
        scale: vec![1.0; rows],
        zero: vec![0; rows],
    };
    for (r, (src, dst)) in x
        .chunks_exact(inputs)
        .zip(q.data.chunks_exact_mut(width))
        .enumerate()
    {
        // SAFETY: the caller (multiply_accumulate) asserted `supported()`, which includes
        // AVX-512F, all this function needs.
        let (scale, zero) = unsafe { quantise_row(src, &mut dst[..inputs]) };
        q.scale[r] = scale;
        q.zero[r] = zero;
    }
    q
}

/// One row to bytes: returns its scale and zero point.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn quantise_row(src: &[f32], dst: &mut [u8]) -> (f32, i32) {
    use std::arch::x86_64::*;
    debug_assert_eq!(src.len(), dst.len());
    let (mut lo, mut hi) = (0.0f32, 0.0f32);
    let chunks = src.chunks_exact(16);
    let tail = chunks.remainder();
    let mut vlo = _mm512_setzero_ps();
    let mut vhi = _mm512_setzero_ps();
    for c in chunks {
        // SAFETY: `c` is 16 f32s.
        let v = unsafe { _mm512_loadu_ps(c.as_ptr()) };
        vlo = _mm512_min_ps(vlo, v);
        vhi = _mm512_max_ps(vhi, v);
    }
    lo = lo.min(_mm512_reduce_min_ps(vlo));
    hi = hi.max(_mm512_reduce_max_ps(vhi));
    for &v in tail {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let range = hi - lo;
    if !(range > 0.0 && range.is_finite()) {
        // All zeros (or not finite, which no real input is): bytes 0 with zero point 0.
        dst.fill(0);
        return (1.0, 0);
    }
    let scale = range / 255.0;
    let inv = 1.0 / scale;
    let zero = (-lo * inv).round().clamp(0.0, 255.0);
    let vinv = _mm512_set1_ps(inv);
    let vzero = _mm512_set1_ps(zero);
    let floor = _mm512_setzero_si512();
    let n = src.len() / 16 * 16;
    for (c, d) in src[..n].chunks_exact(16).zip(dst[..n].chunks_exact_mut(16)) {
        // SAFETY: `c` is 16 f32s and `d` 16 bytes.
        unsafe {
            let v = _mm512_fmadd_ps(_mm512_loadu_ps(c.as_ptr()), vinv, vzero);
            // Round to nearest (the default rounding mode), at least 0, at most 255.
            let i = _mm512_max_epi32(_mm512_cvtps_epi32(v), floor);
            _mm_storeu_si128(d.as_mut_ptr().cast(), _mm512_cvtusepi32_epi8(i));
        }
    }
    for (s, d) in src[n..].iter().zip(&mut dst[n..]) {
        *d = (s * inv + zero).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    (scale, zero as i32)
}

/// Rows `row..row + R` × columns of `block`: `out` (those R rows, full width) += the product.
///
/// # Safety
/// The processor must have AVX-512F and AVX-512 VNNI; `row + R` must not exceed `q`'s rows and
/// `out` must hold exactly R rows of `p.outputs`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_avx512<const R: usize>(
    p: &Packed,
    q: &Quantised,
    row: usize,
    block: usize,
    out: &mut [f32],
) {
    use std::arch::x86_64::*;
    debug_assert!(row + R <= q.scale.len() && out.len() == R * p.outputs);
    debug_assert!(block < p.blocks && q.width == p.quads * 4);
    let mut acc = [[_mm512_setzero_si512(); 4]; R];
    // SAFETY (whole block): the weight panel of `block` is `quads × 256` bytes starting at
    // `block · quads · 256`, inside `p.data` (its length is `blocks · quads · 256`); row `row + r`
    // of `q` is `width = 4 · quads` bytes, read 4 at a time for `quads` steps; `scale` and
    // `colsum` are padded to `blocks · 64`, so 16 lanes from any column of the block are in
    // bounds; the output is touched only at columns below `p.outputs` (masked) of its R rows.
    unsafe {
        let mut w = p.data.as_ptr().add(block * p.quads * NR * 4);
        let a: [*const u8; R] = std::array::from_fn(|r| q.data.as_ptr().add((row + r) * q.width));
        for t in 0..p.quads {
            let w0 = _mm512_loadu_si512(w.cast());
            let w1 = _mm512_loadu_si512(w.add(64).cast());
            let w2 = _mm512_loadu_si512(w.add(128).cast());
            let w3 = _mm512_loadu_si512(w.add(192).cast());
            for r in 0..R {
                let x = _mm512_set1_epi32(a[r].add(4 * t).cast::<i32>().read_unaligned());
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
                acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], x, w2);
                acc[r][3] = _mm512_dpbusd_epi32(acc[r][3], x, w3);
            }
            w = w.add(NR * 4);
        }
        for v in 0..4 {
            let col = block * NR + v * 16;
            if col >= p.outputs {
                break;
            }
            let valid = (p.outputs - col).min(16);
            let mask: __mmask16 = if valid == 16 {
                0xffff
            } else {
                (1u16 << valid) - 1
            };
            let ws = _mm512_loadu_ps(p.scale.as_ptr().add(col));
            let cs = _mm512_loadu_si512(p.colsum.as_ptr().add(col).cast());
            for (r, acc) in acc.iter().enumerate() {
                let corrected = _mm512_sub_epi32(
                    acc[v],
                    _mm512_mullo_epi32(_mm512_set1_epi32(q.zero[row + r]), cs),
                );
                let scale = _mm512_mul_ps(ws, _mm512_set1_ps(q.scale[row + r]));
                let o = out.as_mut_ptr().add(r * p.outputs + col);
                let before = _mm512_maskz_loadu_ps(mask, o);
                let after = _mm512_fmadd_ps(_mm512_cvtepi32_ps(corrected), scale, before);
                _mm512_mask_storeu_ps(o, mask, after);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random number in [-1, 1).
    fn noise(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn naive(x: &[f32], w: &[f32], rows: usize, inputs: usize, outputs: usize) -> Vec<f64> {
        let mut out = vec![0.0f64; rows * outputs];
        for i in 0..rows {
            for j in 0..outputs {
                out[i * outputs + j] = (0..inputs)
                    .map(|k| f64::from(x[i * inputs + k]) * f64::from(w[k * outputs + j]))
                    .sum();
            }
        }
        out
    }

    #[test]
    fn int8_multiply_matches_a_naive_one_on_odd_sizes() {
        if !supported() {
            eprintln!("skipped: this processor has no AVX-512 VNNI");
            return;
        }
        let mut seed = 7u64;
        // (rows, inputs, outputs): rows not a multiple of the 6-row tile, inputs not a multiple
        // of 4 or 16, outputs not a multiple of 16 or 64, and the model's own sizes.
        for (rows, inputs, outputs) in [
            (1, 4, 1),
            (5, 7, 13),
            (7, 384, 70),
            (13, 33, 129),
            (40, 384, 1152),
            (41, 1536, 384),
            (100, 20, 64),
        ] {
            let x: Vec<f32> = (0..rows * inputs).map(|_| noise(&mut seed) * 3.0).collect();
            let w: Vec<f32> = (0..inputs * outputs)
                .map(|_| noise(&mut seed) * 0.1)
                .collect();
            let p = Packed::new(&w, inputs, outputs);
            let start: Vec<f32> = (0..rows * outputs).map(|_| noise(&mut seed)).collect();
            for parallel in [false, true] {
                let mut out = start.clone();
                multiply_accumulate(&p, &x, rows, &mut out, parallel);
                let want = naive(&x, &w, rows, inputs, outputs);
                // Error bound of the two roundings: half a step of each operand, summed.
                for i in 0..rows {
                    let row = &x[i * inputs..(i + 1) * inputs];
                    let (lo, hi) = row
                        .iter()
                        .fold((0.0f32, 0.0f32), |(l, h), &v| (l.min(v), h.max(v)));
                    let step_x = f64::from(hi - lo) / 255.0;
                    for j in 0..outputs {
                        let col: Vec<f32> = (0..inputs).map(|k| w[k * outputs + j]).collect();
                        let step_w =
                            f64::from(col.iter().fold(0.0f32, |m, v| m.max(v.abs()))) / 127.0;
                        let bound: f64 = (0..inputs)
                            .map(|k| {
                                0.5 * step_x * f64::from(col[k].abs())
                                    + 0.5 * step_w * f64::from(row[k].abs())
                                    + 0.25 * step_x * step_w
                            })
                            .sum::<f64>()
                            + 1e-4;
                        let got = f64::from(out[i * outputs + j] - start[i * outputs + j]);
                        let diff = (got - want[i * outputs + j]).abs();
                        assert!(
                            diff <= bound,
                            "{rows}×{inputs}×{outputs} ({i},{j}): {got} vs {} (bound {bound})",
                            want[i * outputs + j]
                        );
                    }
                }
                // And close overall: relative Frobenius error of a few per cent at most.
                let (mut err, mut norm) = (0.0f64, 0.0f64);
                for (k, w) in want.iter().enumerate() {
                    err += (f64::from(out[k] - start[k]) - w).powi(2);
                    norm += w * w;
                }
                assert!(
                    (err / norm).sqrt() < 0.03,
                    "{rows}×{inputs}×{outputs}: relative error {}",
                    (err / norm).sqrt()
                );
            }
        }
    }

    #[test]
    fn a_zero_row_and_a_constant_row_come_out_exact_enough() {
        if !supported() {
            return;
        }
        let (inputs, outputs) = (20, 17);
        let w: Vec<f32> = (0..inputs * outputs)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let p = Packed::new(&w, inputs, outputs);
        let mut x = vec![0.0f32; 2 * inputs];
        x[inputs..].fill(0.5);
        let mut out = vec![0.0f32; 2 * outputs];
        multiply_accumulate(&p, &x, 2, &mut out, false);
        assert!(out[..outputs].iter().all(|&v| v == 0.0));
        let want = naive(&x, &w, 2, inputs, outputs);
        for j in 0..outputs {
            let diff = (f64::from(out[outputs + j]) - want[outputs + j]).abs();
            assert!(
                diff < 0.05,
                "column {j}: {} vs {}",
                out[outputs + j],
                want[outputs + j]
            );
        }
    }
}
