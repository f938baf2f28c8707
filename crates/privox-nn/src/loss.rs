//! Softmax cross-entropy with optional class weights.

use crate::linalg::Matrix;

/// Weighted mean softmax cross-entropy and its gradient w.r.t. the logits.
///
/// `L = Σᵢ w[yᵢ]·(−log softmax(zᵢ)[yᵢ]) / Σᵢ w[yᵢ]` (PyTorch's weighted
/// mean), so with all weights equal it is the plain mean.
pub(crate) fn softmax_cross_entropy(
    logits: &Matrix,
    y: &[usize],
    class_weights: &[f64],
) -> (f64, Matrix) {
    let n = logits.rows();
    let c = logits.cols();
    let mut grad = Matrix::zeros(n, c);
    let total_w: f64 = y.iter().map(|&yi| class_weights[yi]).sum();
    let mut loss = 0.0;
    for i in 0..n {
        let z = logits.row(i);
        let g = grad.row_mut(i);
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for (gj, &zj) in g.iter_mut().zip(z) {
            *gj = (zj - max).exp();
            sum += *gj;
        }
        let wi = class_weights[y[i]] / total_w;
        loss += wi * (sum.ln() - (z[y[i]] - max));
        for gj in g.iter_mut() {
            *gj = wi * *gj / sum;
        }
        g[y[i]] -= wi;
    }
    (loss, grad)
}

/// Per-class weights `n / (k · n_c)` ("balanced"), 1 for empty classes.
pub(crate) fn balanced_weights(y: &[usize], n_classes: usize) -> Vec<f64> {
    let mut counts = vec![0usize; n_classes];
    for &c in y {
        counts[c] += 1;
    }
    counts
        .iter()
        .map(|&nc| {
            if nc == 0 {
                1.0
            } else {
                y.len() as f64 / (n_classes as f64 * nc as f64)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_give_log_k() {
        let z = Matrix::zeros(3, 4);
        let (l, g) = softmax_cross_entropy(&z, &[0, 1, 3], &[1.0; 4]);
        assert!((l - 4f64.ln()).abs() < 1e-12);
        // gradient rows sum to zero
        for i in 0..3 {
            assert!(g.row(i).iter().sum::<f64>().abs() < 1e-12);
        }
    }

    #[test]
    fn huge_logits_stay_finite() {
        let z = Matrix::new(1, 2, vec![1e300, -1e300]).unwrap();
        let (l, _) = softmax_cross_entropy(&z, &[0], &[1.0, 1.0]);
        assert!(l.is_finite());
    }

    #[test]
    fn balanced_weights_equalise_classes() {
        let w = balanced_weights(&[0, 0, 0, 1], 2);
        assert!((w[0] * 3.0 - w[1]).abs() < 1e-12);
    }
}
