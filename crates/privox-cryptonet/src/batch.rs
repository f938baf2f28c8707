//! Batch packing: SIMD over recordings, no rotations.
//!
//! The client encrypts one ciphertext per feature; slot `r` holds recording
//! `r` (up to N/2 recordings per query). An affine layer is then a scalar
//! linear combination per output unit, computed by
//! [`privox_ckks::Evaluator::linear_combination`] with lazy accumulation (one
//! reduction per output coefficient), one rescale per output and the bias as a
//! constant; activations act slotwise. The result is one ciphertext per class.

use privox_ckks::{Ciphertext, Complex, Evaluator};
use rayon::prelude::*;

use crate::circuit::{AffineStage, Stage};
use crate::error::Result;
use crate::plan::Plan;
use crate::polyeval::PolyEvaluator;

/// Column `j` of the scaled rows, padded to `slots`.
pub fn input_vectors(rows: &[Vec<f64>], n_inputs: usize, slots: usize) -> Vec<Vec<f64>> {
    (0..n_inputs)
        .map(|j| {
            let mut v = vec![0.0; slots];
            for (r, row) in rows.iter().enumerate() {
                v[r] = row[j];
            }
            v
        })
        .collect()
}

/// Whether a polynomial stage is the pure square `u²` (what the circuit
/// makes of every quadratic activation).
fn is_square(c: &[f64]) -> bool {
    c == [0.0, 0.0, 1.0]
}

/// `round(W·x)` for every output, rescaled and biased.
fn affine(
    ev: &Evaluator,
    cur: &[Ciphertext],
    a: &AffineStage,
    w_scale: f64,
) -> Result<Vec<Ciphertext>> {
    let refs: Vec<&Ciphertext> = cur.iter().collect();
    par_rows(a, |w, b| {
        ev.linear_combination(&refs, w, w_scale)?
            .iter()
            .zip(b)
            .map(|(ct, &bias)| Ok(ev.add_const(&ev.rescale(ct)?, Complex::from(bias))?))
            .collect()
    })
}

/// `W·u² + b` without relinearizing the squares: the combination runs on the
/// unrelinearized products, then each *output* is rescaled twice (the
/// square's level and the weights') and relinearized once, one level below the
/// square's. Half the relinearizations of squaring each input, and cheaper ones.
fn square_then_affine(
    ev: &Evaluator,
    rk: &privox_ckks::RelinKey,
    cur: &[Ciphertext],
    a: &AffineStage,
    w_scale: f64,
) -> Result<Vec<Ciphertext>> {
    let squares = cur
        .par_iter()
        .map(|ct| Ok(ev.mul_no_relin(ct, ct)?))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&privox_ckks::Ciphertext3> = squares.iter().collect();
    par_rows(a, |w, b| {
        ev.linear_combination3(&refs, w, w_scale)?
            .iter()
            .zip(b)
            .map(|(ct, &bias)| {
                // Relinearize before the last rescale: rescaling the
                // `s²` component at the value scale would add `r·s²` noise.
                let ct = ev.relinearize(&ev.rescale3(ct)?, rk)?;
                Ok(ev.add_const(&ev.rescale(&ct)?, Complex::from(bias))?)
            })
            .collect()
    })
}

/// Runs `f` on groups of output rows in parallel, one group per thread.
fn par_rows(
    a: &AffineStage,
    f: impl Fn(&[Vec<f64>], &[f64]) -> Result<Vec<Ciphertext>> + Sync,
) -> Result<Vec<Ciphertext>> {
    let chunk = a.outputs.div_ceil(rayon::current_num_threads()).max(1);
    let parts = a
        .weights
        .chunks(chunk)
        .zip(a.bias.chunks(chunk))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(w, b)| f(w, b))
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.into_iter().flatten().collect())
}

/// Runs the circuit on one ciphertext per input feature.
pub fn eval(
    plan: &Plan,
    ev: &Evaluator,
    poly: &PolyEvaluator<'_>,
    inputs: Vec<Ciphertext>,
) -> Result<Vec<Ciphertext>> {
    let q = plan.params.q_primes();
    let stages = &plan.circuit.stages;
    let mut cur = inputs;
    let mut k = 0;
    while k < stages.len() {
        let level = plan.stage_levels[k];
        cur = match (&stages[k], stages.get(k + 1)) {
            (Stage::Poly(p), Some(Stage::Affine(a))) if is_square(&p.coeffs) => {
                k += 1;
                square_then_affine(ev, poly.rk, &cur, a, q[plan.stage_levels[k]] as f64)?
            }
            (Stage::Affine(a), _) => affine(ev, &cur, a, q[level] as f64)?,
            (Stage::Poly(p), _) => cur
                .par_iter()
                .map(|ct| poly.eval(ct, &p.coeffs))
                .collect::<Result<Vec<_>>>()?,
        };
        k += 1;
    }
    Ok(cur)
}
