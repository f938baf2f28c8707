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

use crate::circuit::Stage;
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

/// Runs the circuit on one ciphertext per input feature.
pub fn eval(
    plan: &Plan,
    ev: &Evaluator,
    poly: &PolyEvaluator<'_>,
    inputs: Vec<Ciphertext>,
) -> Result<Vec<Ciphertext>> {
    let q = plan.params.q_primes();
    let mut cur = inputs;
    for (stage, &level) in plan.circuit.stages.iter().zip(&plan.stage_levels) {
        cur = match stage {
            Stage::Affine(a) => {
                let refs: Vec<&Ciphertext> = cur.iter().collect();
                let w_scale = q[level] as f64;
                // One task per group of outputs: each combines all inputs.
                let chunk = a.outputs.div_ceil(rayon::current_num_threads()).max(1);
                let rows: Vec<(&[Vec<f64>], &[f64])> =
                    a.weights.chunks(chunk).zip(a.bias.chunks(chunk)).collect();
                let parts = rows
                    .into_par_iter()
                    .map(|(w, b)| {
                        ev.linear_combination(&refs, w, w_scale)?
                            .iter()
                            .zip(b)
                            .map(|(ct, &bias)| {
                                Ok(ev.add_const(&ev.rescale(ct)?, Complex::from(bias))?)
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                    .collect::<Result<Vec<_>>>()?;
                parts.into_iter().flatten().collect()
            }
            Stage::Poly(p) => cur
                .par_iter()
                .map(|ct| poly.eval(ct, &p.coeffs))
                .collect::<Result<Vec<_>>>()?,
        };
    }
    Ok(cur)
}
