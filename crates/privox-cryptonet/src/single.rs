//! Single-query packing: one recording, lowest latency.
//!
//! Vectors live *replicated*: a width-`n` vector (`n` = the widest layer, to
//! a power of two) is copied into every block of `n` slots, so a rotation of
//! the whole ciphertext is a cyclic rotation of every copy, and the
//! diagonal method `M·x = Σ_d diag_d ⊙ rot(x, d)` needs no masking.
//!
//! * **First layer: client-side diagonals.** The client knows the layout (not
//!   the weights) and uploads `ceil(n / blocks)` ciphertexts where block `b`
//!   of ciphertext `t` holds `rot(x, blocks·t + b)`. The server multiplies each
//!   by one plaintext holding the matching diagonals (lazy accumulation, one
//!   rescale) and sums the blocks with `log2(blocks)` rotations: the result is
//!   replicated, at the cost of a few extra upload ciphertexts instead of
//!   `n` rotations at the most expensive level.
//! * **Other layers: baby-step giant-step** ([`privox_ckks::Evaluator::matvec_bsgs`]):
//!   hoisted baby-step rotations, lazy ct–pt accumulation, giant-step
//!   rotations; diagonals that are all zero are skipped, so the last layer
//!   (two outputs) needs only a few giant steps. Input and output are both
//!   replicated: layers chain without repacking.
//! * **Activations** act slotwise ([`crate::polyeval`]); padded slots hold 0
//!   and the circuit's polynomials have no constant term, so they stay 0.
//!
//! The scores end in slots `0..classes` of the result.

use privox_ckks::{Ciphertext, Encoder, Evaluator, GaloisKeys, Plaintext};

use crate::circuit::{AffineStage, Circuit, Stage};
use crate::error::Result;
use crate::plan::{Plan, SingleLayout};
use crate::polyeval::PolyEvaluator;

/// `W[i][j]` of an affine stage padded to `n × n` (0 outside).
fn padded(a: &AffineStage, i: usize, j: usize) -> f64 {
    if i < a.outputs && j < a.inputs {
        a.weights[i][j]
    } else {
        0.0
    }
}

/// Whether generalized diagonal `d` of `a` (period `n`) has a non-zero entry.
fn diagonal_nonzero(a: &AffineStage, n: usize, d: usize) -> bool {
    (0..a.outputs).any(|i| padded(a, i, (i + d) % n) != 0.0)
}

/// The rotations the server performs, hence the Galois keys it needs.
pub fn rotation_steps(circuit: &Circuit, layout: &SingleLayout) -> Vec<i64> {
    let n = layout.period;
    let mut steps: Vec<i64> = Vec::new();
    let mut s = n;
    while s < n * layout.blocks {
        steps.push(s as i64);
        s *= 2;
    }
    let mut affine = circuit.stages.iter().filter_map(|s| match s {
        Stage::Affine(a) => Some(a),
        Stage::Poly(_) => None,
    });
    affine.next(); // the first layer uses the client-side diagonals
    let mut any_bsgs = false;
    for a in affine {
        any_bsgs = true;
        for d in 0..n {
            let g = d / layout.baby;
            if g > 0 && diagonal_nonzero(a, n, d) {
                steps.push((g * layout.baby) as i64);
            }
        }
    }
    if any_bsgs {
        steps.extend(1..layout.baby.min(n) as i64);
    }
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// The client's upload for one scaled feature row: `input_cts` vectors of
/// `N/2` slots, block `b` of vector `t` holding `rot(x, blocks·t + b)`.
pub fn input_vectors(layout: &SingleLayout, x: &[f64], slots: usize) -> Vec<Vec<f64>> {
    let n = layout.period;
    (0..layout.input_cts)
        .map(|t| {
            let mut v = vec![0.0; slots];
            for b in 0..layout.blocks {
                let d = layout.blocks * t + b;
                if d >= n {
                    continue;
                }
                for i in 0..n {
                    let j = (i + d) % n;
                    v[b * n + i] = x.get(j).copied().unwrap_or(0.0);
                }
            }
            v
        })
        .collect()
}

/// `v` (length `n`) copied into every block of `slots`.
fn replicate(v: &[f64], slots: usize) -> Vec<f64> {
    let n = v.len();
    (0..slots).map(|s| v[s % n]).collect()
}

/// One precomputed stage of the server.
enum ServerStage {
    First {
        /// One plaintext per input ciphertext.
        diagonals: Vec<Plaintext>,
        bias: Plaintext,
    },
    Bsgs {
        diagonals: Vec<Option<Plaintext>>,
        bias: Plaintext,
    },
    Poly(Vec<f64>),
}

/// The server half for [`crate::Packing::Single`]: every plaintext encoded
/// once, at the level and scale it is used at.
pub struct SingleEvaluator {
    stages: Vec<ServerStage>,
    layout: SingleLayout,
}

impl SingleEvaluator {
    /// Encodes the model's diagonals and biases for `plan`.
    pub fn new(plan: &Plan, layout: &SingleLayout) -> Result<Self> {
        let params = &plan.params;
        let enc = Encoder::new(params);
        let slots = params.max_slots();
        let n = layout.period;
        let q = params.q_primes();
        let mut stages = Vec::new();
        for (k, (stage, &level)) in plan.circuit.stages.iter().zip(&plan.stage_levels).enumerate() {
            match stage {
                Stage::Poly(p) => stages.push(ServerStage::Poly(p.coeffs.clone())),
                Stage::Affine(a) => {
                    let w_scale = q[level] as f64;
                    let mut b = a.bias.clone();
                    b.resize(n, 0.0);
                    let bias = enc.encode_real(&replicate(&b, slots), level - 1, plan.scales[level - 1])?;
                    if k == 0 {
                        let diagonals = (0..layout.input_cts)
                            .map(|t| {
                                let mut v = vec![0.0; slots];
                                for blk in 0..layout.blocks {
                                    let d = layout.blocks * t + blk;
                                    if d >= n {
                                        continue;
                                    }
                                    for i in 0..n {
                                        v[blk * n + i] = padded(a, i, (i + d) % n);
                                    }
                                }
                                enc.encode_real(&v, level, w_scale)
                            })
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        stages.push(ServerStage::First { diagonals, bias });
                    } else {
                        let baby = layout.baby;
                        let diagonals = (0..n)
                            .map(|d| {
                                if !diagonal_nonzero(a, n, d) {
                                    return Ok(None);
                                }
                                // Pre-rotated right by the giant step.
                                let g = (d / baby) * baby;
                                let diag: Vec<f64> = (0..n)
                                    .map(|i| {
                                        let src = (i + n - g % n) % n;
                                        padded(a, src, (src + d) % n)
                                    })
                                    .collect();
                                enc.encode_real(&replicate(&diag, slots), level, w_scale).map(Some)
                            })
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        stages.push(ServerStage::Bsgs { diagonals, bias });
                    }
                }
            }
        }
        Ok(SingleEvaluator {
            stages,
            layout: layout.clone(),
        })
    }

    /// Runs the circuit on the client's input ciphertexts.
    pub fn eval(
        &self,
        ev: &Evaluator,
        poly: &PolyEvaluator<'_>,
        gk: &GaloisKeys,
        inputs: &[Ciphertext],
    ) -> Result<Ciphertext> {
        let mut cur: Option<Ciphertext> = None;
        for stage in &self.stages {
            let next = match stage {
                ServerStage::First { diagonals, bias } => {
                    let mut acc = ev.mul_plain(&inputs[0], &diagonals[0])?;
                    for (ct, pt) in inputs.iter().zip(diagonals).skip(1) {
                        ev.mul_plain_add_assign(&mut acc, ct, pt)?;
                    }
                    let mut acc = ev.rescale(&acc)?;
                    let n = self.layout.period;
                    let mut s = n;
                    while s < n * self.layout.blocks {
                        let r = ev.rotate(&acc, s as i64, gk)?;
                        acc = ev.add(&acc, &r)?;
                        s *= 2;
                    }
                    ev.add_plain(&acc, bias)?
                }
                ServerStage::Bsgs { diagonals, bias } => {
                    let x = cur.as_ref().expect("the first stage is affine");
                    let y = ev.matvec_bsgs(x, diagonals, self.layout.baby, gk)?;
                    ev.add_plain(&ev.rescale(&y)?, bias)?
                }
                ServerStage::Poly(c) => {
                    let x = cur.as_ref().expect("the first stage is affine");
                    poly.eval(x, c)?
                }
            };
            cur = Some(next);
        }
        Ok(cur.expect("a circuit has at least one stage"))
    }
}
