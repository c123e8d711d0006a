//! The element-wise parts of the encoder, written to vectorise: LayerNorm, GELU (exact erf
//! form, as the model was trained with) and row softmax, with AVX-512 or AVX2 versions chosen
//! at run time and a plain one elsewhere.

/// Sum of a slice, in 16 lanes so that it vectorises.
#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// LayerNorm of each row of `x` (rows of `width`), in place, with scale `gamma` and shift `beta`.
pub fn layer_norm(x: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(width) {
        let mean = sum(row) / width as f32;
        row.iter_mut().for_each(|v| *v -= mean);
        let mut lanes = [0.0f32; 16];
        let mut chunks = row.chunks_exact(16);
        for c in &mut chunks {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l += v * v;
            }
        }
        let squares =
            lanes.iter().sum::<f32>() + chunks.remainder().iter().map(|v| v * v).sum::<f32>();
        let inv = 1.0 / (squares / width as f32 + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = *v * inv * g + b;
        }
    }
}

/// erf, to within 2e-7 absolute: the rational approximation of Eigen and XLA over [-4, 4]
/// (beyond which erf is ±1 in f32).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, as published
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    let mut q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    x * p / q
}

/// GELU with erf: x · ½ · (1 + erf(x / √2)).
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn gelu_loop(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = gelu_one(*x));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn gelu_avx512(v: &mut [f32]) {
    gelu_loop(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(v: &mut [f32]) {
    gelu_loop(v)
}

/// GELU (exact erf form, as the model was trained with) of every element, in place.
pub fn gelu_in_place(v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            return unsafe { gelu_avx512(v) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            return unsafe { gelu_avx2(v) };
        }
    }
    gelu_loop(v)
}

/// e^x for x ≤ 0 (softmax's shifted scores), to about 2e-7 relative: Cephes' expf, branch-free
/// so that it vectorises. Underflows to 0 below -87.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, as published
fn exp_nonpositive(x: f32) -> f32 {
    let small = x < -87.0;
    let x = x.max(-87.0);
    // Round x·log2(e) to the nearest whole number (exact for |x| < 2²²).
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let r = x - n * 0.693359375 - n * -2.12194440e-4;
    let mut p = 1.9875691500e-4f32;
    p = p * r + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    let y = p * r * r + r + 1.0;
    let y = y * f32::from_bits(((n as i32 + 127) as u32) << 23);
    if small { 0.0 } else { y }
}

#[inline(always)]
fn softmax_loop(rows: &mut [f32], width: usize) {
    for row in rows.chunks_exact_mut(width) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.iter_mut().for_each(|v| *v = exp_nonpositive(*v - max));
        let total = sum(row);
        row.iter_mut().for_each(|v| *v /= total);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn softmax_avx512(rows: &mut [f32], width: usize) {
    softmax_loop(rows, width)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_avx2(rows: &mut [f32], width: usize) {
    softmax_loop(rows, width)
}

/// Softmax of each row (of `width`) of a matrix of scores, in place.
pub fn softmax_rows(rows: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            return unsafe { softmax_avx512(rows, width) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the processor has AVX2 and FMA (checked just above).
            return unsafe { softmax_avx2(rows, width) };
        }
    }
    softmax_loop(rows, width)
}

/// A symmetric rank-one update of the upper triangle (BLAS `dsyr`): `a[i][j] += sign·x[i]·x[j]`
/// for `j ≥ i`, with `a` row-major `n × n` and `n = x.len()`. Not part of the encoder: the
/// ridge classifiers in the main crate sum one of these per content text at every index build,
/// and this crate is built optimised even in test builds, where the same loop in the main crate
/// cost seconds per reload.
pub fn add_outer_upper(a: &mut [f64], x: &[f64], sign: f64) {
    let n = x.len();
    assert_eq!(a.len(), n * n, "a must be n × n for an x of n");
    for (i, &xi) in x.iter().enumerate() {
        let s = sign * xi;
        let row = &mut a[i * n + i..(i + 1) * n];
        for (r, &xj) in row.iter_mut().zip(&x[i..]) {
            *r += s * xj;
        }
    }
}

#[cfg(test)]
mod outer_tests {
    use super::add_outer_upper;

    #[test]
    fn adds_and_takes_out_the_upper_triangle_only() {
        let x = [1.0, 2.0, 3.0];
        let mut a = vec![0.0; 9];
        add_outer_upper(&mut a, &x, 1.0);
        assert_eq!(a, vec![1.0, 2.0, 3.0, 0.0, 4.0, 6.0, 0.0, 0.0, 9.0]);
        add_outer_upper(&mut a, &x, -1.0);
        assert!(a.iter().all(|v| *v == 0.0), "{a:?}");
    }
}
