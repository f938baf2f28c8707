//! Batch-norm folding: the inference network as plain affine layers and
//! activations, which is exactly what the encrypted evaluator computes.
//!
//! In inference mode batch-norm is `y = s·x + t` per unit, so
//! `BN(x·W + b) = x·(W·diag(s)) + (s·b + t)`: one affine layer, one fewer
//! multiplicative level under CKKS.

use crate::error::{ConfigError, ModelError, NnError, Result};
use crate::layers::{Activation, Layer};
use crate::linalg::{self, Matrix};
use crate::network::{Mlp, argmax_rows};
use rayon::prelude::*;

/// Rows per parallel task in [`FoldedMlp::logits`].
const PARALLEL_CHUNK: usize = 512;

/// `y = x·W + b` with `W` stored `inputs × outputs` row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Affine {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `inputs × outputs` weights, row-major.
    pub weights: Vec<f64>,
    /// One bias per output.
    pub bias: Vec<f64>,
}

/// One layer of a [`FoldedMlp`].
#[derive(Clone, Debug, PartialEq)]
pub enum FoldedLayer {
    /// An affine map (dense layer with batch-norm folded in).
    Affine(Affine),
    /// An element-wise activation.
    Activation(Activation),
}

/// An inference-only network: affine layers and elementwise activations.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedMlp {
    pub(crate) layers: Vec<FoldedLayer>,
    pub(crate) n_inputs: usize,
    pub(crate) n_classes: usize,
}

impl Mlp {
    /// Merges every batch-norm layer into the dense layer before it.
    ///
    /// The folded network computes the same function as this network in
    /// inference mode (up to rounding).
    pub fn fold(&self) -> Result<FoldedMlp> {
        let mut out: Vec<FoldedLayer> = Vec::new();
        for l in &self.layers {
            match l {
                Layer::Dense(d) => out.push(FoldedLayer::Affine(Affine {
                    inputs: d.inputs,
                    outputs: d.outputs,
                    weights: d.weights.clone(),
                    bias: d.bias.clone(),
                })),
                Layer::BatchNorm(bn) => {
                    let Some(FoldedLayer::Affine(a)) = out.last_mut() else {
                        return Err(ConfigError::UnfoldableBatchNorm.into());
                    };
                    let (scale, shift) = bn.affine_coefficients();
                    for k in 0..a.inputs {
                        for (w, s) in a.weights[k * a.outputs..(k + 1) * a.outputs]
                            .iter_mut()
                            .zip(&scale)
                        {
                            *w *= s;
                        }
                    }
                    for ((b, s), t) in a.bias.iter_mut().zip(&scale).zip(&shift) {
                        *b = *b * s + t;
                    }
                }
                Layer::Activation(act) => out.push(FoldedLayer::Activation(act.clone())),
            }
        }
        Ok(FoldedMlp {
            layers: out,
            n_inputs: self.n_inputs(),
            n_classes: self.n_classes(),
        })
    }
}

impl FoldedMlp {
    /// A folded network from its layers; checks that the shapes chain from
    /// `n_inputs` to `n_classes` and that every value is finite.
    pub fn from_layers(
        layers: Vec<FoldedLayer>,
        n_inputs: usize,
        n_classes: usize,
    ) -> Result<Self> {
        let mut width = n_inputs;
        for (i, l) in layers.iter().enumerate() {
            if let FoldedLayer::Affine(a) = l {
                if a.inputs != width
                    || a.weights.len() != a.inputs * a.outputs
                    || a.bias.len() != a.outputs
                    || a.weights.iter().chain(&a.bias).any(|v| !v.is_finite())
                {
                    return Err(ModelError::AffineLayer { layer: i }.into());
                }
                width = a.outputs;
            }
        }
        if width != n_classes || n_classes < 2 {
            return Err(ModelError::OutputWidth {
                found: width,
                expected: n_classes,
            }
            .into());
        }
        Ok(FoldedMlp {
            layers,
            n_inputs,
            n_classes,
        })
    }

    /// Input width of the network.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }
    /// Number of classes (output width).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
    /// The layers, in order.
    pub fn layers(&self) -> &[FoldedLayer] {
        &self.layers
    }

    /// The activations, in order (for the encrypted evaluator's level plan).
    pub fn activations(&self) -> impl Iterator<Item = &Activation> {
        self.layers.iter().filter_map(|l| match l {
            FoldedLayer::Activation(a) => Some(a),
            FoldedLayer::Affine(_) => None,
        })
    }

    /// Logits (`rows × classes`) of already-scaled features.
    pub fn logits(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.n_inputs {
            return Err(NnError::FeatureCountMismatch {
                what: "model",
                expected: self.n_inputs,
                found: x.cols(),
            });
        }
        linalg::check_finite(x)?;
        if x.rows() < 2 * PARALLEL_CHUNK {
            return Ok(self.logits_serial(x.clone()));
        }
        // Large batches: row chunks on all cores (rows are independent).
        let chunks: Vec<Matrix> = (0..x.rows())
            .step_by(PARALLEL_CHUNK)
            .map(|s| {
                let idx: Vec<usize> = (s..(s + PARALLEL_CHUNK).min(x.rows())).collect();
                x.select_rows(&idx)
            })
            .collect();
        let outs: Vec<Matrix> = chunks
            .into_par_iter()
            .map(|c| self.logits_serial(c))
            .collect();
        let mut data = Vec::with_capacity(x.rows() * self.n_classes);
        for o in outs {
            data.extend_from_slice(o.as_slice());
        }
        // Invariant: every chunk has n_classes columns and the rows add up.
        Ok(Matrix::new(x.rows(), self.n_classes, data).expect("chunk shapes add up"))
    }

    fn logits_serial(&self, mut h: Matrix) -> Matrix {
        for l in &self.layers {
            match l {
                FoldedLayer::Affine(a) => {
                    let mut out = Matrix::zeros(h.rows(), a.outputs);
                    linalg::affine(&h, &a.weights, &a.bias, &mut out);
                    h = out;
                }
                FoldedLayer::Activation(act) => {
                    h.as_mut_slice().iter_mut().for_each(|v| *v = act.apply(*v))
                }
            }
        }
        h
    }

    /// Predicted class per row of already-scaled features.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    /// Largest `|input|` seen by each activation layer on `x`: tells whether
    /// the polynomial is evaluated inside its interval.
    pub fn preactivation_max(&self, x: &Matrix) -> Result<Vec<f64>> {
        linalg::check_finite(x)?;
        let mut maxima = Vec::new();
        let mut h = x.clone();
        for l in &self.layers {
            match l {
                FoldedLayer::Affine(a) => {
                    let mut out = Matrix::zeros(h.rows(), a.outputs);
                    linalg::affine(&h, &a.weights, &a.bias, &mut out);
                    h = out;
                }
                FoldedLayer::Activation(act) => {
                    maxima.push(h.as_slice().iter().fold(0.0f64, |m, v| m.max(v.abs())));
                    h.as_mut_slice().iter_mut().for_each(|v| *v = act.apply(*v));
                }
            }
        }
        Ok(maxima)
    }
}

/// [`FoldedMlp::preactivation_max`] of a (possibly unfolded) network.
pub fn preactivation_max(net: &Mlp, x: &Matrix) -> Result<Vec<f64>> {
    net.fold()?.preactivation_max(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NetworkSpec;
    use crate::poly::PolyActivation;
    use crate::train::{Samples, TrainConfig, train};
    use rand::{Rng, SeedableRng};

    #[test]
    fn folded_network_matches_the_unfolded_inference_network() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let n = 120;
        let x = Matrix::new(
            n,
            5,
            (0..n * 5).map(|_| rng.random_range(-1.0..1.0)).collect(),
        )
        .unwrap();
        let y: Vec<usize> = (0..n)
            .map(|i| usize::from(x.row(i)[0] + x.row(i)[1] > 0.0))
            .collect();
        for act in [
            Activation::Relu,
            Activation::Poly(PolyActivation::preset("p4").unwrap()),
        ] {
            let spec = NetworkSpec {
                hidden: vec![12, 7],
                batch_norm: true,
                activation: act,
                bn_momentum: 0.1,
                bn_gamma_init: 1.0,
            };
            let cfg = TrainConfig {
                max_epochs: 5,
                patience: 0,
                ..TrainConfig::default()
            };
            // Trained a little so running statistics and γ, β are non-trivial.
            let net = train(&spec, &cfg, 2, Samples { x: &x, y: &y }, None, &mut |_| {})
                .unwrap()
                .network;
            let folded = net.fold().unwrap();
            assert_eq!(folded.layers().len(), 5, "BN layers disappear");
            let (a, b) = (net.logits(&x).unwrap(), folded.logits(&x).unwrap());
            for (u, v) in a.as_slice().iter().zip(b.as_slice()) {
                assert!((u - v).abs() <= 1e-9 * (1.0 + u.abs()), "{u} vs {v}");
            }
            assert_eq!(net.predict(&x).unwrap(), folded.predict(&x).unwrap());
        }
    }
}
