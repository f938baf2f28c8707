//! Single-query packing: one recording, lowest latency.
//!
//! Vectors live *replicated*: a width-`n` vector (`n` = the widest layer, to
//! a power of two) is copied into every block of `n` slots, so a rotation of
//! the whole ciphertext is a cyclic rotation of every copy and the diagonal
//! method `M·x = Σ_d diag_d ⊙ rot(x, d)` needs no masking. The copies are
//! also what makes the layers cheap:
//!
//! * **First layer: client-side diagonals.** The client knows the layout (not
//!   the weights) and uploads `K = n / D` ciphertexts (`D` = the block count,
//!   at most `n`) where block `b` of ciphertext `t` holds `rot(x, D·t + b mod D)`.
//!   The server multiplies each by one plaintext holding the matching diagonals
//!   (lazy accumulation, one rescale) and sums `D` consecutive blocks with
//!   `log2 D` rotations; the blocks repeat with period `D`, so every block
//!   then holds the full product: a replicated result, for a few extra upload
//!   ciphertexts instead of `n` rotations at the most expensive level.
//! * **Penultimate layer: baby steps, then a giant-step tree across blocks.**
//!   With `G` giant steps of `B = n/G` diagonals each, one plaintext per baby
//!   step holds giant group `g` in blocks `2g, 2g+1` (mod `2G`), so a single
//!   product per baby step computes every giant group's inner sum at once.
//!   The giant steps `Σ_g rot(inner_g, g·B)` become `Σ_g rot(Z, g·(2n + B))`
//!   (two copies per group absorb the carry into the next block), a
//!   geometric sum done by `log2 G` rotations. Blocks `0, 2G, 4G, …` end up
//!   holding the layer's output; the others hold garbage that the last layer
//!   never reads. `B − 1` hoisted rotations + `log2 G` instead of
//!   `B − 1 + n/B − 1`.
//! * **Last layer: windowed dot products.** Output `c`'s weights sit in a
//!   window of `W` (the input width, to a power of two) slots of a correct
//!   block, at offset `o` (the input is shifted there by one hoisted
//!   rotation per distinct offset); `log2 W` rotations sum each window into
//!   its first slot.
//! * Middle layers of deeper networks use the standard baby-step giant-step
//!   product ([`privox_ckks::Evaluator::matvec_bsgs`]), replicated in and out.
//! * **Activations** act slotwise ([`crate::polyeval`]); padded slots hold 0
//!   and the circuit's polynomials have no constant term, so they stay 0.

use privox_ckks::{Ciphertext, Encoder, Evaluator, GaloisKeys, Plaintext};

use crate::circuit::{AffineStage, Circuit, Stage};
use crate::error::CryptonetError;
use crate::error::Result;
use crate::plan::{Plan, SingleLayout, SingleStage};
use crate::polyeval::PolyEvaluator;

/// `W[i][j]` of an affine stage padded to `n × n` (0 outside).
fn padded(a: &AffineStage, i: usize, j: usize) -> f64 {
    if i < a.outputs && j < a.inputs {
        a.weights[i][j]
    } else {
        0.0
    }
}

/// Relative cost of a hoisted rotation against a plain one.
const HOISTED_COST: f64 = 0.75;

fn baby_for(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize)
        .next_power_of_two()
        .min(n)
}

/// Plans how each stage of `circuit` runs with period `n` and `blocks` copies.
pub fn layout(circuit: &Circuit, n: usize, blocks: usize) -> Result<SingleLayout> {
    let affines: Vec<&AffineStage> = circuit
        .stages
        .iter()
        .filter_map(|s| match s {
            Stage::Affine(a) => Some(a),
            Stage::Poly(_) => None,
        })
        .collect();
    let na = affines.len();
    let last = affines[na - 1];
    let window = last.inputs.next_power_of_two().min(n);
    let per_block = n / window;
    let needed = circuit.n_classes.div_ceil(per_block);
    // Giant steps of the penultimate layer: as many as leave `needed`
    // correct blocks, if that beats the standard product.
    let tree_giants = {
        let mut g = 1;
        while 2 * g <= n && 4 * g * needed <= blocks {
            g *= 2;
        }
        let tree = (n / g - 1) as f64 * HOISTED_COST + (g as f64).log2();
        let b = baby_for(n);
        let plain = (b - 1) as f64 * HOISTED_COST + (n / b - 1) as f64;
        (g >= 2 && tree < plain).then_some(g)
    };
    // As few upload ciphertexts as the slots allow: each one more would save
    // a top-level rotation on the server (measured: p6 169 → 138 ms with 8
    // instead of 2) but cost the client about 5 ms of encryption at N = 2^14,
    // and client encryption + decryption must stay within 20 ms.
    let input_period = blocks.min(n);
    let mut stages = Vec::with_capacity(circuit.stages.len());
    let mut ai = 0;
    // Blocks holding the current vector correctly (all when replicated).
    let mut correct: Vec<usize> = (0..blocks).collect();
    for s in &circuit.stages {
        match s {
            Stage::Poly(_) => stages.push(SingleStage::Poly),
            Stage::Affine(_) => {
                let stage = if ai == 0 && na > 1 {
                    SingleStage::First
                } else if ai == 0 || ai + 1 == na {
                    if ai == 0 {
                        // One affine layer only: it is first and last.
                        SingleStage::First
                    } else {
                        let mut places = Vec::with_capacity(circuit.n_classes);
                        for c in 0..circuit.n_classes {
                            let Some(&b) = correct.get(c / per_block) else {
                                return Err(CryptonetError::TooWide {
                                    width: circuit.n_classes,
                                    slots: correct.len() * per_block,
                                });
                            };
                            places.push((b, (c % per_block) * window));
                        }
                        SingleStage::Dot { window, places }
                    }
                } else if ai + 2 == na && tree_giants.is_some() {
                    let giants = tree_giants.unwrap_or(1);
                    correct = (0..blocks).step_by(2 * giants).collect();
                    SingleStage::Tree {
                        baby: n / giants,
                        giants,
                    }
                } else {
                    SingleStage::Bsgs { baby: baby_for(n) }
                };
                stages.push(stage);
                ai += 1;
            }
        }
    }
    Ok(SingleLayout {
        period: n,
        blocks,
        input_cts: n.div_ceil(input_period),
        input_period,
        stages,
    })
}

/// Rotation of the giant-step tree's level `k`.
fn tree_step(n: usize, baby: usize, k: u32, slots: usize) -> i64 {
    (((2 * n + baby) << k) % slots) as i64
}

/// Distinct window offsets of a `Dot` stage, 0 first.
fn dot_offsets(places: &[(usize, usize)]) -> Vec<usize> {
    let mut o: Vec<usize> = places.iter().map(|p| p.1).collect();
    o.push(0);
    o.sort_unstable();
    o.dedup();
    o
}

/// The rotations the server performs, hence the Galois keys it needs, each
/// with the highest ciphertext level it is used at (`stage_levels`: the
/// level entering each stage). A key needs no digits or limbs above that
/// level, so the client truncates it there.
pub fn rotation_levels(
    layout: &SingleLayout,
    slots: usize,
    stage_levels: &[usize],
) -> Vec<(i64, usize)> {
    let n = layout.period;
    let mut uses: Vec<(i64, usize)> = Vec::new();
    let powers = |below: usize| (0..below.trailing_zeros()).map(|k| 1i64 << k);
    for (st, &level) in layout.stages.iter().zip(stage_levels) {
        // Products are rescaled before the sums that follow them.
        let after = level.saturating_sub(1);
        match st {
            SingleStage::First => {
                uses.extend(powers(layout.input_period).map(|k| (k * n as i64, after)));
            }
            SingleStage::Bsgs { baby } => {
                uses.extend((1..*baby as i64).map(|b| (b, level)));
                uses.extend((1..n / baby).map(|g| ((g * baby) as i64, level)));
            }
            SingleStage::Tree { baby, giants } => {
                uses.extend((1..*baby as i64).map(|b| (b, level)));
                uses.extend(
                    (0..giants.trailing_zeros()).map(|k| (tree_step(n, *baby, k, slots), after)),
                );
            }
            SingleStage::Dot { window, places } => {
                uses.extend(
                    dot_offsets(places)
                        .iter()
                        .filter(|&&o| o > 0)
                        .map(|&o| (-(o as i64), level)),
                );
                uses.extend(powers(*window).map(|k| (k, after)));
            }
            SingleStage::Poly => {}
        }
    }
    uses.sort_unstable();
    // One entry per step, at the highest level it is used at.
    let mut out: Vec<(i64, usize)> = Vec::new();
    for (step, level) in uses {
        match out.last_mut() {
            Some(last) if last.0 == step => last.1 = last.1.max(level),
            _ => out.push((step, level)),
        }
    }
    out
}

/// The first layer's diagonal layout: vector `t` of `N/2` slots whose block
/// `b` holds, at position `i`, `value(i, (i + d) mod n)` for the diagonal
/// `d = input_period·t + b mod input_period` (blocks of `d ≥ n` stay zero).
/// The client fills it with its features (`value = x[j]`), the server with
/// the matching weights (`value = W[i][j]`), so the two always agree.
fn first_layer_vectors(
    layout: &SingleLayout,
    slots: usize,
    value: impl Fn(usize, usize) -> f64,
) -> Vec<Vec<f64>> {
    let n = layout.period;
    (0..layout.input_cts)
        .map(|t| {
            let mut v = vec![0.0; slots];
            for b in 0..layout.blocks {
                let d = layout.input_period * t + b % layout.input_period;
                if d >= n {
                    continue;
                }
                for i in 0..n {
                    v[b * n + i] = value(i, (i + d) % n);
                }
            }
            v
        })
        .collect()
}

/// The client's upload for one scaled feature row: `input_cts` vectors of
/// `N/2` slots, block `b` of vector `t` holding `rot(x, input_period·t + b)`.
pub fn input_vectors(layout: &SingleLayout, x: &[f64], slots: usize) -> Vec<Vec<f64>> {
    first_layer_vectors(layout, slots, |_, j| x.get(j).copied().unwrap_or(0.0))
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
        baby: usize,
        diagonals: Vec<Option<Plaintext>>,
        bias: Plaintext,
    },
    Tree {
        /// One plaintext per baby step (`None`: all zero).
        products: Vec<Option<Plaintext>>,
        steps: Vec<i64>,
        bias: Plaintext,
    },
    Dot {
        /// `(offset, weights)` per distinct window offset.
        products: Vec<(usize, Plaintext)>,
        window: usize,
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

/// Encodes a full-slot real vector, `None` when it is all zero.
fn encode_nonzero(enc: &Encoder, v: &[f64], level: usize, scale: f64) -> Result<Option<Plaintext>> {
    if v.iter().all(|&x| x == 0.0) {
        return Ok(None);
    }
    Ok(Some(enc.encode_real(v, level, scale)?))
}

impl SingleEvaluator {
    /// Encodes the model's weights and biases for `plan`.
    pub fn new(plan: &Plan, layout: &SingleLayout) -> Result<Self> {
        let params = &plan.params;
        let enc = Encoder::new(params);
        let slots = params.max_slots();
        let n = layout.period;
        let q = params.q_primes();
        let mut stages = Vec::new();
        for ((stage, &level), kind) in plan
            .circuit
            .stages
            .iter()
            .zip(&plan.stage_levels)
            .zip(&layout.stages)
        {
            let Stage::Affine(a) = stage else {
                if let Stage::Poly(p) = stage {
                    stages.push(ServerStage::Poly(p.coeffs.clone()));
                }
                continue;
            };
            let w_scale = q[level] as f64;
            let out_scale = plan.scales[level - 1];
            let mut b = a.bias.clone();
            b.resize(n, 0.0);
            let replicated_bias = || enc.encode_real(&replicate(&b, slots), level - 1, out_scale);
            let st = match kind {
                SingleStage::First => {
                    let diagonals = first_layer_vectors(layout, slots, |i, j| padded(a, i, j))
                        .iter()
                        .map(|v| enc.encode_real(v, level, w_scale))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    ServerStage::First {
                        diagonals,
                        bias: replicated_bias()?,
                    }
                }
                SingleStage::Bsgs { baby } => {
                    let baby = *baby;
                    let diagonals = (0..n)
                        .map(|d| {
                            // Pre-rotated right by the giant step.
                            let g = (d / baby) * baby;
                            let diag: Vec<f64> = (0..n)
                                .map(|i| {
                                    let src = (i + n - g % n) % n;
                                    padded(a, src, (src + d) % n)
                                })
                                .collect();
                            encode_nonzero(&enc, &replicate(&diag, slots), level, w_scale)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    ServerStage::Bsgs {
                        baby,
                        diagonals,
                        bias: replicated_bias()?,
                    }
                }
                SingleStage::Tree { baby, giants } => {
                    let (baby, giants) = (*baby, *giants);
                    let products = (0..baby)
                        .map(|bb| {
                            let mut v = vec![0.0; slots];
                            for blk in 0..layout.blocks {
                                let g = (blk % (2 * giants)) / 2;
                                let shift = g * baby;
                                for p in 0..n {
                                    let src = (p + n - shift % n) % n;
                                    v[blk * n + p] = padded(a, src, (src + shift + bb) % n);
                                }
                            }
                            encode_nonzero(&enc, &v, level, w_scale)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let steps = (0..giants.trailing_zeros())
                        .map(|k| tree_step(n, baby, k, slots))
                        .collect();
                    ServerStage::Tree {
                        products,
                        steps,
                        bias: replicated_bias()?,
                    }
                }
                SingleStage::Dot { window, places } => {
                    let products = dot_offsets(places)
                        .into_iter()
                        .filter_map(|o| {
                            let mut v = vec![0.0; slots];
                            for (c, &(blk, off)) in places.iter().enumerate() {
                                if off == o {
                                    for i in 0..a.inputs.min(*window) {
                                        v[blk * n + o + i] = a.weights[c][i];
                                    }
                                }
                            }
                            encode_nonzero(&enc, &v, level, w_scale)
                                .transpose()
                                .map(|r| r.map(|pt| (o, pt)))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let mut bv = vec![0.0; slots];
                    for (c, &(blk, off)) in places.iter().enumerate() {
                        bv[blk * n + off] = a.bias[c];
                    }
                    ServerStage::Dot {
                        products,
                        window: *window,
                        bias: enc.encode_real(&bv, level - 1, out_scale)?,
                    }
                }
                SingleStage::Poly => {
                    return Err(CryptonetError::LayoutMismatch {
                        stage: stages.len(),
                    });
                }
            };
            stages.push(st);
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
        // Σ pts[i] ⊙ cts[i], accumulated before one rescale.
        let dot = |cts: &[Ciphertext], pts: &[&Plaintext]| -> Result<Ciphertext> {
            let mut acc = ev.mul_plain(&cts[0], pts[0])?;
            for (ct, pt) in cts.iter().zip(pts).skip(1) {
                ev.mul_plain_add_assign(&mut acc, ct, pt)?;
            }
            Ok(ev.rescale(&acc)?)
        };
        // x + rot(x, s) for each step, in order.
        let fold =
            |mut x: Ciphertext, steps: &mut dyn Iterator<Item = i64>| -> Result<Ciphertext> {
                for s in steps {
                    let r = ev.rotate(&x, s, gk)?;
                    x = ev.add(&x, &r)?;
                }
                Ok(x)
            };
        let n = self.layout.period;
        let mut cur: Option<Ciphertext> = None;
        for (index, stage) in self.stages.iter().enumerate() {
            let next = match (stage, cur.as_ref()) {
                (ServerStage::First { diagonals, bias }, _) => {
                    let pts: Vec<&Plaintext> = diagonals.iter().collect();
                    let acc = dot(inputs, &pts)?;
                    let blocks = self.layout.input_period;
                    let acc = fold(
                        acc,
                        &mut (0..blocks.trailing_zeros()).map(|k| (n << k) as i64),
                    )?;
                    ev.add_plain(&acc, bias)?
                }
                (
                    ServerStage::Bsgs {
                        baby,
                        diagonals,
                        bias,
                    },
                    Some(x),
                ) => {
                    let y = ev.matvec_bsgs(x, diagonals, *baby, gk)?;
                    ev.add_plain(&ev.rescale(&y)?, bias)?
                }
                (
                    ServerStage::Tree {
                        products,
                        steps,
                        bias,
                    },
                    Some(x),
                ) => {
                    let used: Vec<i64> = (0..products.len() as i64)
                        .filter(|&b| products[b as usize].is_some())
                        .collect();
                    let rots = ev.rotate_hoisted(x, &used, gk)?;
                    let pts: Vec<&Plaintext> = products.iter().flatten().collect();
                    let z = dot(&rots, &pts)?;
                    let z = fold(z, &mut steps.iter().copied())?;
                    ev.add_plain(&z, bias)?
                }
                (
                    ServerStage::Dot {
                        products,
                        window,
                        bias,
                    },
                    Some(x),
                ) => {
                    let offsets: Vec<i64> = products.iter().map(|(o, _)| -(*o as i64)).collect();
                    let shifted = ev.rotate_hoisted(x, &offsets, gk)?;
                    let pts: Vec<&Plaintext> = products.iter().map(|(_, p)| p).collect();
                    let y = dot(&shifted, &pts)?;
                    let y = fold(y, &mut (0..window.trailing_zeros()).map(|k| 1i64 << k))?;
                    ev.add_plain(&y, bias)?
                }
                (ServerStage::Poly(c), Some(x)) => poly.eval(x, c)?,
                (_, None) => {
                    return Err(CryptonetError::LayoutMismatch { stage: index });
                }
            };
            cur = Some(next);
        }
        cur.ok_or(CryptonetError::EmptyCircuit)
    }
}
