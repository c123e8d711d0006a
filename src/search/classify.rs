//! A linear classifier over the content's own texts: which item does a question's vector
//! belong to?
//!
//! Every title, summary and `questions:` line is a labelled example of its item. A ridge
//! regression from those vectors to a one-hot label per item (`W = (XᵀX + λI)⁻¹ XᵀY`, with a
//! bias column) learns which directions of the embedding space tell the items apart, instead of
//! only how near a question is to one line. It is fitted on the content alone (never on test
//! questions), at every index build: about 1,100 texts by 385 features is a 385 × 385 solve,
//! a few tens of milliseconds. Its output for an item is one more signal in the fused score
//! (`decide::Weights::class`); why it helps long, real questions is in `docs/calibration.md`.
//! The crisis check fits a second one, the crisis examples against the calm side
//! (`semantic::CrisisSim::class`), starting from the first one's [`Gram`] matrix.
//!
//! The solve is a plain Cholesky factorisation: the matrix is small, symmetric and positive
//! definite by construction (λ > 0), and a linear-algebra crate would cost more build time
//! than these forty lines.

use crate::embed::{DIM, dot};

/// Ridge penalty, chosen by cross-validation (docs/calibration.md).
pub const LAMBDA: f64 = 1.0;

/// Row-major weights: for each item, `DIM` weights then a bias.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    weights: Vec<f32>,
    items: usize,
}

const COLS: usize = DIM + 1;

/// `XᵀX` of a set of vectors with a bias column (the upper triangle): what a ridge fit needs.
/// Two fits over mostly the same rows share it: the crisis classifier's calm side is nearly all
/// the item texts the item classifier was fitted on, so it starts from that sum, takes out the
/// few rows it leaves out and adds its own, rather than summing two thousand rows again.
#[derive(Debug, Clone)]
pub struct Gram {
    a: Vec<f64>,
    rows: usize,
}

impl Default for Gram {
    fn default() -> Self {
        Gram {
            a: vec![0.0; COLS * COLS],
            rows: 0,
        }
    }
}

impl Gram {
    /// The Gram matrix of every `DIM`-vector in `matrix`.
    pub fn of(matrix: &[f32]) -> Gram {
        let mut g = Gram::default();
        for row in matrix.chunks_exact(DIM) {
            g.add(row);
        }
        g
    }

    /// Adds one vector's outer product.
    pub fn add(&mut self, v: &[f32]) {
        self.accumulate(v, 1.0);
        self.rows += 1;
    }

    /// Takes out a vector added before.
    pub fn remove(&mut self, v: &[f32]) {
        self.accumulate(v, -1.0);
        self.rows = self.rows.saturating_sub(1);
    }

    fn accumulate(&mut self, v: &[f32], sign: f64) {
        let mut x = [0.0f64; COLS];
        for (xi, &f) in x.iter_mut().zip(v) {
            *xi = f64::from(f);
        }
        x[DIM] = 1.0;
        // The encoder crate's kernel: built optimised even in test builds, where this loop
        // here took seconds per content reload.
        minilm::math::add_outer_upper(&mut self.a, &x, sign);
    }
}

impl Classifier {
    /// Fits the classifier to `matrix` (one `DIM`-vector per row) labelled by `rows` (the item of
    /// each row, below `items`). No rows gives a classifier that scores everything 0.
    pub fn fit(matrix: &[f32], rows: &[u32], items: usize, lambda: f64) -> Classifier {
        Classifier::fit_gram(&Gram::of(matrix), matrix, rows, items, lambda)
    }

    /// As [`Classifier::fit`], with `gram` already summed: it must be [`Gram::of`] `matrix`
    /// (in any row order).
    pub fn fit_gram(
        gram: &Gram,
        matrix: &[f32],
        rows: &[u32],
        items: usize,
        lambda: f64,
    ) -> Classifier {
        if rows.is_empty() || items == 0 {
            return Classifier {
                weights: vec![0.0; items * COLS],
                items,
            };
        }
        debug_assert_eq!(gram.rows, rows.len(), "the Gram matrix is of other rows");
        // A = XᵀX + λI (mirrored from the upper triangle), B = XᵀY.
        let mut a = gram.a.clone();
        let mut b = vec![0.0f64; COLS * items];
        for (r, &item) in rows.iter().enumerate() {
            for (i, &v) in matrix[r * DIM..(r + 1) * DIM].iter().enumerate() {
                b[i * items + item as usize] += f64::from(v);
            }
            b[DIM * items + item as usize] += 1.0;
        }
        for i in 0..COLS {
            a[i * COLS + i] += lambda;
            for j in 0..i {
                a[i * COLS + j] = a[j * COLS + i];
            }
        }
        let l = cholesky(&a, COLS);
        let w = solve(&l, COLS, &b, items);
        let mut weights = vec![0.0f32; items * COLS];
        for i in 0..COLS {
            for k in 0..items {
                weights[k * COLS + i] = w[i * items + k] as f32;
            }
        }
        Classifier { weights, items }
    }

    /// The classifier's output for each item, for one question vector.
    pub fn scores<'a>(&'a self, q: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
        (0..self.items).map(move |k| {
            let w = &self.weights[k * COLS..(k + 1) * COLS];
            dot(q, &w[..DIM]) + w[DIM]
        })
    }
}

/// The lower-triangular `L` with `L Lᵀ = a` (`a` symmetric positive definite, `n × n`).
fn cholesky(a: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0f64; n * n];
    for j in 0..n {
        let s: f64 = (0..j).map(|k| l[j * n + k] * l[j * n + k]).sum();
        // Positive by construction (λ > 0); the floor only guards against rounding.
        let d = (a[j * n + j] - s).max(1e-12).sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            l[i * n + j] = (a[i * n + j] - s) / d;
        }
    }
    l
}

/// Solves `L Lᵀ X = B` for `X` (`B` is `n × m`, row-major).
fn solve(l: &[f64], n: usize, b: &[f64], m: usize) -> Vec<f64> {
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            let lik = l[i * n + k];
            if lik != 0.0 {
                for c in 0..m {
                    y[i * m + c] -= lik * y[k * m + c];
                }
            }
        }
        let d = l[i * n + i];
        y[i * m..(i + 1) * m].iter_mut().for_each(|v| *v /= d);
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            let lki = l[k * n + i];
            if lki != 0.0 {
                for c in 0..m {
                    y[i * m + c] -= lki * y[k * m + c];
                }
            }
        }
        let d = l[i * n + i];
        y[i * m..(i + 1) * m].iter_mut().for_each(|v| *v /= d);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize, j: usize, mix: f32) -> Vec<f32> {
        let mut v = vec![0.0f32; DIM];
        v[i] = 1.0;
        v[j] = mix;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // a = [[4, 2], [2, 3]], b = [[2], [5]] → x = [[-0.5], [2]].
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2);
        let x = solve(&l, 2, &[2.0, 5.0], 1);
        assert!(
            (x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
    }

    #[test]
    fn separates_items_by_their_direction() {
        // Item 0's texts lean on dimension 0, item 1's on dimension 1; a new vector leaning on
        // dimension 1 belongs to item 1, even though it shares dimension 2 with item 0's texts.
        let texts = [
            unit(0, 2, 0.3),
            unit(0, 3, 0.2),
            unit(1, 4, 0.3),
            unit(1, 5, 0.2),
        ];
        let matrix: Vec<f32> = texts.concat();
        let c = Classifier::fit(&matrix, &[0, 0, 1, 1], 2, 0.1);
        let s: Vec<f32> = c.scores(&unit(1, 2, 0.5)).collect();
        assert!(s[1] > s[0] + 0.3, "{s:?}");
        let s: Vec<f32> = c.scores(&texts[0]).collect();
        assert!(s[0] > 0.5 && s[1] < 0.5, "{s:?}");
    }

    #[test]
    fn a_gram_with_rows_taken_out_and_added_fits_as_one_summed_afresh() {
        // The crisis classifier starts from the items' Gram matrix, takes some rows out and
        // adds others: it must fit exactly as a Gram matrix summed over the final rows would.
        let items = [unit(0, 2, 0.3), unit(1, 3, 0.2), unit(4, 5, 0.7)];
        let others = [unit(6, 7, 0.1), unit(0, 8, 0.9)];
        let mut g = Gram::of(&items.concat());
        g.remove(&items[1]);
        for v in &others {
            g.add(v);
        }
        let kept = [
            items[0].clone(),
            items[2].clone(),
            others[0].clone(),
            others[1].clone(),
        ];
        let matrix = kept.concat();
        let labels = [1, 1, 0, 0];
        let shared = Classifier::fit_gram(&g, &matrix, &labels, 2, 1.0);
        let fresh = Classifier::fit(&matrix, &labels, 2, 1.0);
        let max_diff = shared
            .weights
            .iter()
            .zip(&fresh.weights)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_diff < 1e-5, "weights differ by {max_diff}");
        // And the fit is a real one: each side scores its own rows higher.
        let s: Vec<f32> = shared.scores(&others[0]).collect();
        assert!(s[0] > s[1], "{s:?}");
    }

    #[test]
    fn no_texts_scores_nothing() {
        let c = Classifier::fit(&[], &[], 3, 1.0);
        assert_eq!(c.scores(&unit(0, 1, 0.1)).collect::<Vec<_>>(), vec![0.0; 3]);
    }
}
