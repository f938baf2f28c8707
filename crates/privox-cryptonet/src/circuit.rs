//! The compiled network: a folded `privox-nn` model rewritten so that every
//! value a ciphertext holds stays near `[-1, 1]`, and every polynomial is
//! monic up to sign (its leading term needs no constant multiplication).
//!
//! For an activation `p(x) = Σ a_k x^k` of degree `d ≥ 2` whose inputs stay in
//! `[-R, R]` (`R` from the model's observed pre-activation range, with a
//! margin), let `A = max_{|x|≤R} |p(x)|` and `S = (A/|a_d|)^(1/d)`. The affine
//! layer before it computes `u = x/S` (its weights and bias divided by `S`),
//! the activation computes `v = p(x)/A - a_0/A = ±u^d + Σ_{0<k<d} (a_k S^k/A) u^k`,
//! and the affine layer after it absorbs `A` into its weights and
//! `a_0·Σ_j W[k][j]` into its bias. Linear activations fold away entirely.
//! The last layer is divided by a positive bound on its outputs, which
//! changes no decision; [`Circuit::output_scale`] undoes it for the scores.
//!
//! [`Circuit::eval_plain`] is the reference the encrypted evaluators must
//! match: it computes exactly what the ciphertexts compute, in `f64`.

use privox_nn::{Activation, FoldedLayer, NnModel};

use crate::error::{CryptonetError, Result};

/// Safety factor on the observed pre-activation range: unseen recordings
/// may push a unit a little past what training saw.
pub const RANGE_MARGIN: f64 = 1.5;

/// `y = W·x + b` with `W` stored output-major: `weights[k][j]` multiplies
/// input `j` into output `k`.
#[derive(Clone, Debug, PartialEq)]
pub struct AffineStage {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `weights[o][i]`: output `o`, input `i`.
    pub weights: Vec<Vec<f64>>,
    /// One bias per output.
    pub bias: Vec<f64>,
}

/// An elementwise polynomial without constant term: `coeffs[k]` multiplies
/// `u^k` (`coeffs[0] == 0`), and the leading coefficient is `±1`.
#[derive(Clone, Debug, PartialEq)]
pub struct PolyStage {
    /// Monic coefficients, constant term first.
    pub coeffs: Vec<f64>,
}

impl PolyStage {
    /// Degree of the polynomial.
    pub fn degree(&self) -> usize {
        self.coeffs.len() - 1
    }

    /// Evaluates it (Horner).
    pub fn eval(&self, u: f64) -> f64 {
        self.coeffs.iter().rev().fold(0.0, |acc, &c| acc * u + c)
    }
}

/// One stage of a [`Circuit`].
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// An affine layer.
    Affine(AffineStage),
    /// A polynomial activation.
    Poly(PolyStage),
}

/// A network in the form the encrypted evaluators compute.
#[derive(Clone, Debug, PartialEq)]
pub struct Circuit {
    /// The layers in evaluation order.
    pub stages: Vec<Stage>,
    /// Multiply the circuit's outputs by this to get the model's logits.
    pub output_scale: f64,
    /// Features per recording.
    pub n_inputs: usize,
    /// Classes (outputs of the last stage).
    pub n_classes: usize,
}

impl Circuit {
    /// Compiles a model: folds constants, normalises ranges, makes every
    /// polynomial monic. Refuses ReLU and non-finite numbers.
    pub fn from_model(model: &NnModel) -> Result<Circuit> {
        model.validate()?;
        let net = &model.network;
        let mut stages: Vec<Stage> = Vec::new();
        let mut act_index = 0;
        // Pending normalisation of the next affine layer's input: v_model =
        // in_scale·v_circuit + in_shift (elementwise constants).
        let mut in_scale = 1.0;
        let mut in_shift = 0.0;
        for layer in net.layers() {
            match layer {
                FoldedLayer::Affine(a) => {
                    let mut weights = vec![vec![0.0; a.inputs]; a.outputs];
                    let mut bias = a.bias.clone();
                    // Model weights are stored input-major (`inputs × outputs`).
                    for (j, row) in a.weights.chunks(a.outputs).enumerate() {
                        for (k, &w) in row.iter().enumerate() {
                            weights[k][j] = w * in_scale;
                            bias[k] += w * in_shift;
                        }
                    }
                    // Two affine layers in a row (a linear activation folded
                    // away) merge into one.
                    if let Some(Stage::Affine(prev)) = stages.last_mut() {
                        *prev = compose(prev, &weights, &bias);
                    } else {
                        stages.push(Stage::Affine(AffineStage {
                            inputs: a.inputs,
                            outputs: a.outputs,
                            weights,
                            bias,
                        }));
                    }
                    in_scale = 1.0;
                    in_shift = 0.0;
                }
                FoldedLayer::Activation(Activation::Relu) => {
                    return Err(CryptonetError::NotPolynomial { layer: act_index });
                }
                FoldedLayer::Activation(Activation::Poly(p)) => {
                    let observed = model.activation_max.get(act_index).copied().unwrap_or(0.0);
                    let range = RANGE_MARGIN * observed.max(f64::MIN_POSITIVE).max(1e-3);
                    let a = trim(p.poly.coeffs());
                    let Some(Stage::Affine(prev)) = stages.last_mut() else {
                        return Err(CryptonetError::ActivationWithoutAffine { layer: act_index });
                    };
                    let n = normalise(&a, range)?;
                    let (scale_in, poly, scale_out, shift_out) =
                        (n.scale_in, n.poly, n.scale_out, n.shift_out);
                    for row in prev.weights.iter_mut() {
                        row.iter_mut().for_each(|w| *w /= scale_in);
                    }
                    prev.bias
                        .iter_mut()
                        .for_each(|b| *b = *b / scale_in + n.shift_in);
                    if let Some(poly) = poly {
                        stages.push(Stage::Poly(poly));
                        in_scale = scale_out;
                        in_shift = shift_out;
                    } else {
                        // Affine activation: y = scale_out·u + shift_out.
                        in_scale = scale_out;
                        in_shift = shift_out;
                    }
                    act_index += 1;
                }
            }
        }
        let Some(Stage::Affine(last)) = stages.last_mut() else {
            return Err(CryptonetError::NoFinalAffine);
        };
        // |outputs| ≤ Σ|W| + |b| while inputs stay in [-1, 1].
        let bound = last
            .weights
            .iter()
            .zip(&last.bias)
            .map(|(row, b)| row.iter().map(|w| w.abs()).sum::<f64>() + b.abs())
            .fold(0.0f64, f64::max);
        if !(bound.is_finite() && bound > 0.0) {
            return Err(CryptonetError::BadOutputBound { bound });
        }
        for row in last.weights.iter_mut() {
            row.iter_mut().for_each(|w| *w /= bound);
        }
        last.bias.iter_mut().for_each(|b| *b /= bound);
        let circuit = Circuit {
            stages,
            output_scale: bound,
            n_inputs: net.n_inputs(),
            n_classes: net.n_classes(),
        };
        circuit.check_finite()?;
        Ok(circuit)
    }

    fn check_finite(&self) -> Result<()> {
        for (i, s) in self.stages.iter().enumerate() {
            let ok = match s {
                Stage::Affine(a) => a
                    .weights
                    .iter()
                    .flatten()
                    .chain(&a.bias)
                    .all(|v| v.is_finite()),
                Stage::Poly(p) => p.coeffs.iter().all(|v| v.is_finite()),
            };
            if !ok {
                return Err(CryptonetError::NonFiniteStage { stage: i });
            }
        }
        Ok(())
    }

    /// The circuit's outputs for one row of scaled features, in `f64`
    /// (multiply by [`Circuit::output_scale`] for the logits).
    pub fn eval_plain(&self, x: &[f64]) -> Vec<f64> {
        let mut v = x.to_vec();
        for s in &self.stages {
            v = match s {
                Stage::Affine(a) => a
                    .weights
                    .iter()
                    .zip(&a.bias)
                    .map(|(row, b)| row.iter().zip(&v).map(|(w, x)| w * x).sum::<f64>() + b)
                    .collect(),
                Stage::Poly(p) => v.iter().map(|&u| p.eval(u)).collect(),
            };
        }
        v
    }

    /// The widest layer (inputs included).
    pub fn max_width(&self) -> usize {
        self.stages
            .iter()
            .filter_map(|s| match s {
                Stage::Affine(a) => Some(a.inputs.max(a.outputs)),
                Stage::Poly(_) => None,
            })
            .max()
            .unwrap_or(self.n_inputs)
    }
}

/// Coefficients without trailing zeros (at least one).
fn trim(c: &[f64]) -> Vec<f64> {
    let mut v = c.to_vec();
    while v.len() > 1 && v.last() == Some(&0.0) {
        v.pop();
    }
    v
}

/// How an activation `p` is rewritten: `p(S·(u - t)) = A·v(u) + c` where the
/// previous layer now outputs `u = x/S + t`, the circuit evaluates `v`, and
/// the next layer takes `A·v + c`.
struct Normalised {
    /// `S`.
    scale_in: f64,
    /// `t`.
    shift_in: f64,
    /// `v`: monic up to sign, no constant term; `None` when `p` is affine
    /// (then `v(u) = u`).
    poly: Option<PolyStage>,
    /// `A`.
    scale_out: f64,
    /// `c`.
    shift_out: f64,
}

/// Normalises `p` (coefficients `a`, lowest degree first) for inputs in
/// `[-range, range]`: `v` stays near `[-1, 1]` there, its leading coefficient
/// is exactly `±1`, and a quadratic becomes a pure square `u²` (completing
/// the square moves its linear term into the previous layer's bias and its
/// sign into the next layer), which costs one product and no constant.
fn normalise(a: &[f64], range: f64) -> Result<Normalised> {
    let d = a.len() - 1;
    let a0 = a[0];
    if d <= 1 {
        return Ok(Normalised {
            scale_in: 1.0,
            shift_in: 0.0,
            poly: None,
            scale_out: if d == 1 { a[1] } else { 0.0 },
            shift_out: a0,
        });
    }
    // A = max |p| on the range, sampled densely (endpoints included).
    const SAMPLES: usize = 4000;
    let p = |x: f64| a.iter().rev().fold(0.0, |acc, &c| acc * x + c);
    let amp = (0..=SAMPLES)
        .map(|i| p(-range + 2.0 * range * i as f64 / SAMPLES as f64).abs())
        .fold(0.0f64, f64::max);
    let lead = a[d];
    if !(amp.is_finite() && amp > 0.0 && lead.is_finite() && lead != 0.0) {
        return Err(CryptonetError::PolyNotNormalisable {
            coeffs: a.to_vec(),
            range,
        });
    }
    let s = (amp / lead.abs()).powf(1.0 / d as f64);
    let mut coeffs: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(k, &c)| c * s.powi(k as i32) / amp)
        .collect();
    coeffs[0] = 0.0;
    // Exactly ±1, so the evaluator needs no constant multiplication.
    let sign = lead.signum();
    coeffs[d] = sign;
    if d == 2 {
        // sign·u² + b·u = sign·(u + t)² − sign·t² with t = sign·b/2.
        let t = sign * coeffs[1] / 2.0;
        return Ok(Normalised {
            scale_in: s,
            shift_in: t,
            poly: Some(PolyStage {
                coeffs: vec![0.0, 0.0, 1.0],
            }),
            scale_out: amp * sign,
            shift_out: a0 - amp * sign * t * t,
        });
    }
    Ok(Normalised {
        scale_in: s,
        shift_in: 0.0,
        poly: Some(PolyStage { coeffs }),
        scale_out: amp,
        shift_out: a0,
    })
}

/// `second ∘ first` for two affine maps (`first` then `(w2, b2)`).
fn compose(first: &AffineStage, w2: &[Vec<f64>], b2: &[f64]) -> AffineStage {
    let weights: Vec<Vec<f64>> = w2
        .iter()
        .map(|row2| {
            (0..first.inputs)
                .map(|j| {
                    row2.iter()
                        .zip(&first.weights)
                        .map(|(w, row1)| w * row1[j])
                        .sum()
                })
                .collect()
        })
        .collect();
    let bias = w2
        .iter()
        .zip(b2)
        .map(|(row2, b)| {
            row2.iter()
                .zip(&first.bias)
                .map(|(w, b1)| w * b1)
                .sum::<f64>()
                + b
        })
        .collect();
    AffineStage {
        inputs: first.inputs,
        outputs: w2.len(),
        weights,
        bias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_polynomial_reproduces_the_original() {
        for a in [
            &[0.15, 0.5012, 0.2981, -0.0004, -0.0388][..],
            &[0.1992, 0.5002, 0.1997][..],
            &[0.1, -0.3, -0.7][..],
        ] {
            let n = normalise(a, 3.0).unwrap();
            let poly = n.poly.unwrap();
            assert_eq!(poly.coeffs.last().map(|c| c.abs()), Some(1.0));
            for i in 0..=20 {
                let x = -3.0 + 0.3 * i as f64;
                let direct = a.iter().rev().fold(0.0, |acc, &c| acc * x + c);
                let via = n.scale_out * poly.eval(x / n.scale_in + n.shift_in) + n.shift_out;
                assert!(
                    (direct - via).abs() < 1e-12 * direct.abs().max(1.0),
                    "{a:?} at {x}"
                );
            }
        }
    }
}
