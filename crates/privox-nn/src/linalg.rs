//! The matrix kernels an MLP needs, over `privox_data::Matrix`.
//!
//! Loops are ordered so the innermost one runs over contiguous memory, which
//! lets the compiler vectorise them.

use crate::error::{NnError, Result};

pub use privox_data::Matrix;

/// Fails with [`NnError::NonFiniteInput`] at the first NaN or infinity.
pub(crate) fn check_finite(m: &Matrix) -> Result<()> {
    match m.as_slice().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(NnError::NonFiniteInput {
            row: p / m.cols().max(1),
            col: p % m.cols().max(1),
            value: m.as_slice()[p],
        }),
    }
}

/// `out = x · w + b`, with `w` stored `inputs × outputs` row-major.
///
/// Zero inputs are skipped, which makes layers after a ReLU cheaper.
pub(crate) fn affine(x: &Matrix, w: &[f64], b: &[f64], out: &mut Matrix) {
    let (n_in, n_out) = (x.cols(), b.len());
    debug_assert_eq!(w.len(), n_in * n_out);
    debug_assert_eq!((out.rows(), out.cols()), (x.rows(), n_out));
    for i in 0..x.rows() {
        let xi = x.row(i);
        let yi = out.row_mut(i);
        yi.copy_from_slice(b);
        for (k, &xv) in xi.iter().enumerate() {
            if xv != 0.0 {
                axpy(xv, &w[k * n_out..(k + 1) * n_out], yi);
            }
        }
    }
}

/// Gradients of `y = x · w + b`: accumulates `dw += xᵀ·dy`, `db += Σ dy`,
/// and writes `dx = dy · wᵀ` when asked.
pub(crate) fn affine_backward(
    x: &Matrix,
    dy: &Matrix,
    w: &[f64],
    dw: &mut [f64],
    db: &mut [f64],
    dx: Option<&mut Matrix>,
) {
    let n_out = dy.cols();
    for i in 0..x.rows() {
        let xi = x.row(i);
        let dyi = dy.row(i);
        axpy(1.0, dyi, db);
        for (k, &xv) in xi.iter().enumerate() {
            if xv != 0.0 {
                axpy(xv, dyi, &mut dw[k * n_out..(k + 1) * n_out]);
            }
        }
    }
    if let Some(dx) = dx {
        for i in 0..x.rows() {
            let dyi = dy.row(i);
            let dxi = dx.row_mut(i);
            for (k, d) in dxi.iter_mut().enumerate() {
                *d = dot(dyi, &w[k * n_out..(k + 1) * n_out]);
            }
        }
    }
}

/// `y += a · x`.
#[inline]
pub(crate) fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yv, xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

/// Dot product with four independent accumulators so it vectorises
/// (a single accumulator forces strict sequential order on floats).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_and_backward_match_naive_loops() {
        let x = Matrix::new(2, 3, vec![1.0, 0.0, -2.0, 0.5, 3.0, 1.0]).unwrap();
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 × 2
        let b = [0.1, -0.1];
        let mut y = Matrix::zeros(2, 2);
        affine(&x, &w, &b, &mut y);
        for i in 0..2 {
            for j in 0..2 {
                let naive: f64 = (0..3).map(|k| x.row(i)[k] * w[k * 2 + j]).sum::<f64>() + b[j];
                assert!((y.row(i)[j] - naive).abs() < 1e-12);
            }
        }
        let dy = Matrix::new(2, 2, vec![1.0, -1.0, 0.5, 2.0]).unwrap();
        let (mut dw, mut db, mut dx) = (vec![0.0; 6], vec![0.0; 2], Matrix::zeros(2, 3));
        affine_backward(&x, &dy, &w, &mut dw, &mut db, Some(&mut dx));
        for k in 0..3 {
            for j in 0..2 {
                let naive: f64 = (0..2).map(|i| x.row(i)[k] * dy.row(i)[j]).sum();
                assert!((dw[k * 2 + j] - naive).abs() < 1e-12);
            }
        }
        assert_eq!(db, vec![1.5, 1.0]);
        let naive_dx: f64 = dy.row(1)[0] * w[2 * 2] + dy.row(1)[1] * w[2 * 2 + 1];
        assert!((dx.row(1)[2] - naive_dx).abs() < 1e-12);
    }

    #[test]
    fn finiteness_is_checked() {
        let m = Matrix::new(2, 2, vec![0.0, 1.0, f64::NAN, 2.0]).unwrap();
        assert!(matches!(
            check_finite(&m),
            Err(NnError::NonFiniteInput { row: 1, col: 0, .. })
        ));
    }
}
