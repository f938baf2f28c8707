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
/// Four rows are processed together so each weight row is loaded once per
/// four samples (the weights of a 88 × 100 layer do not fit in L1).
pub(crate) fn affine(x: &Matrix, w: &[f64], b: &[f64], out: &mut Matrix) {
    let (n_in, n_out) = (x.cols(), b.len());
    debug_assert_eq!(w.len(), n_in * n_out);
    debug_assert_eq!((out.rows(), out.cols()), (x.rows(), n_out));
    let xs = x.as_slice();
    let ys = out.as_mut_slice();
    let mut blocks = ys.chunks_exact_mut(4 * n_out);
    let mut i = 0;
    for yb in blocks.by_ref() {
        let (y0, rest) = yb.split_at_mut(n_out);
        let (y1, rest) = rest.split_at_mut(n_out);
        let (y2, y3) = rest.split_at_mut(n_out);
        for y in [&mut *y0, &mut *y1, &mut *y2, &mut *y3] {
            y.copy_from_slice(b);
        }
        let x0 = &xs[i * n_in..(i + 1) * n_in];
        let x1 = &xs[(i + 1) * n_in..(i + 2) * n_in];
        let x2 = &xs[(i + 2) * n_in..(i + 3) * n_in];
        let x3 = &xs[(i + 3) * n_in..(i + 4) * n_in];
        for k in 0..n_in {
            let wk = &w[k * n_out..(k + 1) * n_out];
            let (a0, a1, a2, a3) = (x0[k], x1[k], x2[k], x3[k]);
            for j in 0..n_out {
                let wv = wk[j];
                y0[j] += a0 * wv;
                y1[j] += a1 * wv;
                y2[j] += a2 * wv;
                y3[j] += a3 * wv;
            }
        }
        i += 4;
    }
    for yi in blocks.into_remainder().chunks_exact_mut(n_out.max(1)) {
        let xi = &xs[i * n_in..(i + 1) * n_in];
        yi.copy_from_slice(b);
        for (k, &xv) in xi.iter().enumerate() {
            if xv != 0.0 {
                axpy(xv, &w[k * n_out..(k + 1) * n_out], yi);
            }
        }
        i += 1;
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
    fn blocked_affine_matches_naive_loops_for_any_row_count() {
        for rows in [0, 1, 3, 4, 5, 9] {
            let x = Matrix::new(
                rows,
                3,
                (0..rows * 3).map(|v| (v as f64 * 0.37).sin()).collect(),
            )
            .unwrap();
            let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
            let b = [0.1, -0.1];
            let mut y = Matrix::zeros(rows, 2);
            affine(&x, &w, &b, &mut y);
            for i in 0..rows {
                for j in 0..2 {
                    let naive: f64 = (0..3).map(|k| x.row(i)[k] * w[k * 2 + j]).sum::<f64>() + b[j];
                    assert!((y.row(i)[j] - naive).abs() < 1e-12);
                }
            }
        }
    }

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
