//! The MLP: architecture, seeded initialisation, inference, and the
//! training-mode forward/backward passes used by [`crate::train`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::error::{ConfigError, NnError, Result};
use crate::layers::{Activation, BatchNorm, Dense, Layer};
use crate::linalg::{self, Matrix};

/// The shape of a network: `inputs → [Dense → (BatchNorm) → act] × hidden → Dense → classes`.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// Widths of the hidden layers; the paper uses `[100, 50]`.
    pub hidden: Vec<usize>,
    /// Batch-norm between each hidden dense layer and its activation.
    pub batch_norm: bool,
    /// The activation used in training (and, unless swapped, inference).
    pub activation: Activation,
    /// Batch-norm running-statistics momentum (PyTorch default 0.1).
    pub bn_momentum: f64,
    /// Initial batch-norm scale `γ` (PyTorch default 1). A small value
    /// (see [`NetworkSpec::he_aware`]) starts a polynomial activation in its
    /// near-linear region, well inside its interval.
    pub bn_gamma_init: f64,
}

impl NetworkSpec {
    /// The paper's architecture: 100 and 50 hidden units.
    pub fn paper(batch_norm: bool, activation: Activation) -> Self {
        NetworkSpec {
            hidden: vec![100, 50],
            batch_norm,
            activation,
            bn_momentum: 0.1,
            bn_gamma_init: 1.0,
        }
    }

    /// The HE-aware recipe: the paper's shape trained with the polynomial
    /// itself and batch-norm, `γ` initialised to [`HE_AWARE_GAMMA_INIT`].
    ///
    /// With `γ = 1` every unit starts at unit variance, where a quadratic is
    /// strongly non-linear; across speakers that extra capacity overfits
    /// (measured on nEMO: several points of UAR lost, see
    /// `docs/studies/cryptonet.md`). Starting at `γ = 0.1` keeps the
    /// pre-activations near 0, where the polynomial is almost affine and far
    /// inside `[-r, r]`; training grows `γ` only where it helps.
    pub fn he_aware(activation: Activation) -> Self {
        NetworkSpec {
            bn_gamma_init: HE_AWARE_GAMMA_INIT,
            ..NetworkSpec::paper(true, activation)
        }
    }
}

/// Initial batch-norm `γ` of [`NetworkSpec::he_aware`].
pub const HE_AWARE_GAMMA_INIT: f64 = 0.1;

/// A multilayer perceptron.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub(crate) layers: Vec<Layer>,
    n_inputs: usize,
    n_classes: usize,
}

/// What the training forward pass keeps for the backward pass.
pub(crate) struct Tape {
    /// Input of each layer.
    inputs: Vec<Matrix>,
    /// `(x̂, 1/σ)` of each batch-norm layer, `None` elsewhere.
    bn: Vec<Option<(Matrix, Vec<f64>)>>,
    pub(crate) logits: Matrix,
    /// Value of the range penalty (already weighted).
    pub(crate) penalty: f64,
}

/// Gradients of every parameter, laid out like [`Mlp::params_mut`].
pub(crate) struct Grads {
    pub(crate) tensors: Vec<Vec<f64>>,
}

/// Penalty `weight · mean over samples of Σ max(0, |z| − r)²` on the inputs
/// of the activation layers: keeps pre-activations inside the polynomial's
/// interval `[-r, r]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RangePenalty {
    pub weight: f64,
    pub interval: f64,
}

impl Mlp {
    /// A freshly initialised network: Glorot-uniform weights, zero biases,
    /// identity batch-norm. The same `seed` always gives the same network.
    pub fn new(spec: &NetworkSpec, n_inputs: usize, n_classes: usize, seed: u64) -> Result<Self> {
        if n_inputs == 0 || n_classes < 2 {
            return Err(ConfigError::NetworkShape {
                inputs: n_inputs,
                classes: n_classes,
            }
            .into());
        }
        if spec.hidden.contains(&0) {
            return Err(ConfigError::ZeroHiddenWidth.into());
        }
        if !(spec.bn_gamma_init.is_finite() && spec.bn_gamma_init > 0.0) {
            return Err(ConfigError::BnGammaInit(spec.bn_gamma_init).into());
        }
        if !(0.0..=1.0).contains(&spec.bn_momentum) {
            return Err(ConfigError::BnMomentum(spec.bn_momentum).into());
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut layers = Vec::new();
        let mut width = n_inputs;
        for &h in &spec.hidden {
            layers.push(Layer::Dense(glorot(width, h, &mut rng)));
            if spec.batch_norm {
                layers.push(Layer::BatchNorm(BatchNorm::new(
                    h,
                    spec.bn_momentum,
                    spec.bn_gamma_init,
                )));
            }
            layers.push(Layer::Activation(spec.activation.clone()));
            width = h;
        }
        layers.push(Layer::Dense(glorot(width, n_classes, &mut rng)));
        Ok(Mlp {
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
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The same network with every activation replaced by `activation`
    /// (the paper's recipe: train with ReLU, infer with a polynomial).
    pub fn with_activation(&self, activation: &Activation) -> Mlp {
        let mut out = self.clone();
        for l in &mut out.layers {
            if let Layer::Activation(a) = l {
                *a = activation.clone();
            }
        }
        out
    }

    /// Inference-mode logits (`rows × classes`); batch-norm uses running statistics.
    pub fn logits(&self, x: &Matrix) -> Result<Matrix> {
        self.check_input(x)?;
        let mut h = x.clone();
        for l in &self.layers {
            h = match l {
                Layer::Dense(d) => d.forward(&h),
                Layer::BatchNorm(b) => b.forward_inference(&h),
                Layer::Activation(a) => map(&h, |v| a.apply(v)),
            };
        }
        Ok(h)
    }

    /// Predicted class of each row (argmax of the logits).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        Ok(argmax_rows(&self.logits(x)?))
    }

    pub(crate) fn check_input(&self, x: &Matrix) -> Result<()> {
        if x.cols() != self.n_inputs {
            return Err(NnError::FeatureCountMismatch {
                what: "network",
                expected: self.n_inputs,
                found: x.cols(),
            });
        }
        linalg::check_finite(x)
    }

    /// Training-mode forward pass (batch statistics in batch-norm).
    pub(crate) fn forward_train(
        &mut self,
        x: &Matrix,
        update_running: bool,
        penalty: Option<RangePenalty>,
    ) -> Tape {
        let mut inputs = Vec::with_capacity(self.layers.len());
        let mut bn = Vec::with_capacity(self.layers.len());
        let mut pen = 0.0;
        let mut h = x.clone();
        for l in &mut self.layers {
            let (out, cache) = match l {
                Layer::Dense(d) => (d.forward(&h), None),
                Layer::BatchNorm(b) => {
                    let (out, xhat, inv_std) = b.forward_train(&h, update_running);
                    (out, Some((xhat, inv_std)))
                }
                Layer::Activation(a) => {
                    if let Some(p) = penalty {
                        pen += p.weight / h.rows() as f64
                            * h.as_slice()
                                .iter()
                                .map(|z| (z.abs() - p.interval).max(0.0).powi(2))
                                .sum::<f64>();
                    }
                    (map(&h, |v| a.apply(v)), None)
                }
            };
            inputs.push(std::mem::replace(&mut h, out));
            bn.push(cache);
        }
        Tape {
            inputs,
            bn,
            logits: h,
            penalty: pen,
        }
    }

    /// Backward pass from `d loss / d logits`, including the range penalty.
    pub(crate) fn backward(
        &self,
        tape: &Tape,
        dlogits: Matrix,
        penalty: Option<RangePenalty>,
    ) -> Grads {
        let mut tensors: Vec<Vec<f64>> = Vec::new();
        let mut dy = dlogits;
        for (idx, l) in self.layers.iter().enumerate().rev() {
            let x = &tape.inputs[idx];
            match l {
                Layer::Dense(d) => {
                    let mut dw = vec![0.0; d.weights.len()];
                    let mut db = vec![0.0; d.bias.len()];
                    let mut dx = Matrix::zeros(x.rows(), x.cols());
                    let want_dx = idx > 0;
                    linalg::affine_backward(
                        x,
                        &dy,
                        &d.weights,
                        &mut dw,
                        &mut db,
                        want_dx.then_some(&mut dx),
                    );
                    tensors.push(db);
                    tensors.push(dw);
                    dy = dx;
                }
                Layer::BatchNorm(b) => {
                    // Invariant: forward_train stored a cache for every batch-norm layer.
                    let (xhat, inv_std) = tape.bn[idx].as_ref().expect("batch-norm cache present");
                    let mut dg = vec![0.0; b.width];
                    let mut dbeta = vec![0.0; b.width];
                    dy = b.backward(&dy, xhat, inv_std, &mut dg, &mut dbeta);
                    tensors.push(dbeta);
                    tensors.push(dg);
                }
                Layer::Activation(a) => {
                    let n = x.rows() as f64;
                    for (d, &z) in dy.as_mut_slice().iter_mut().zip(x.as_slice()) {
                        *d *= a.derivative(z);
                        if let Some(p) = penalty {
                            let excess = z.abs() - p.interval;
                            if excess > 0.0 {
                                *d += p.weight / n * 2.0 * excess * z.signum();
                            }
                        }
                    }
                }
            }
        }
        tensors.reverse();
        Grads { tensors }
    }

    /// Every trainable tensor in a fixed order (per layer: weights then bias,
    /// or γ then β), with a flag telling whether weight decay applies.
    pub(crate) fn params_mut(&mut self) -> Vec<(&mut [f64], bool)> {
        let mut out: Vec<(&mut [f64], bool)> = Vec::new();
        for l in &mut self.layers {
            match l {
                Layer::Dense(d) => {
                    out.push((&mut d.weights, true));
                    out.push((&mut d.bias, false));
                }
                Layer::BatchNorm(b) => {
                    out.push((&mut b.gamma, false));
                    out.push((&mut b.beta, false));
                }
                Layer::Activation(_) => {}
            }
        }
        out
    }

    /// True when every parameter and running statistic is finite.
    pub(crate) fn is_finite(&self) -> bool {
        self.layers.iter().all(|l| match l {
            Layer::Dense(d) => d.weights.iter().chain(&d.bias).all(|v| v.is_finite()),
            Layer::BatchNorm(b) => b
                .gamma
                .iter()
                .chain(&b.beta)
                .chain(&b.running_mean)
                .chain(&b.running_var)
                .all(|v| v.is_finite()),
            Layer::Activation(_) => true,
        })
    }
}

fn glorot(inputs: usize, outputs: usize, rng: &mut ChaCha20Rng) -> Dense {
    let a = (6.0 / (inputs + outputs) as f64).sqrt();
    let weights = (0..inputs * outputs)
        .map(|_| rng.random_range(-a..a))
        .collect();
    Dense {
        inputs,
        outputs,
        weights,
        bias: vec![0.0; outputs],
    }
}

pub(crate) fn map(x: &Matrix, f: impl Fn(f64) -> f64) -> Matrix {
    // Invariant: same shape as x.
    Matrix::new(
        x.rows(),
        x.cols(),
        x.as_slice().iter().map(|&v| f(v)).collect(),
    )
    .expect("same shape")
}

/// Index of the largest value in each row (first one on ties).
pub fn argmax_rows(m: &Matrix) -> Vec<usize> {
    (0..m.rows())
        .map(|i| {
            let r = m.row(i);
            let mut best = 0;
            for (j, v) in r.iter().enumerate() {
                if *v > r[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_network_different_seed_different_network() {
        let spec = NetworkSpec::paper(true, Activation::Relu);
        let a = Mlp::new(&spec, 88, 2, 7).unwrap();
        assert_eq!(a, Mlp::new(&spec, 88, 2, 7).unwrap());
        assert_ne!(a, Mlp::new(&spec, 88, 2, 8).unwrap());
        assert_eq!(a.layers().len(), 3 + 3 + 1);
    }

    #[test]
    fn wrong_feature_count_and_nan_are_refused() {
        let net = Mlp::new(&NetworkSpec::paper(false, Activation::Relu), 4, 2, 1).unwrap();
        let x = Matrix::zeros(2, 3);
        assert!(matches!(
            net.predict(&x),
            Err(NnError::FeatureCountMismatch {
                expected: 4,
                found: 3,
                ..
            })
        ));
        let x = Matrix::new(1, 4, vec![0.0, f64::NAN, 0.0, 0.0]).unwrap();
        assert!(matches!(
            net.predict(&x),
            Err(NnError::NonFiniteInput { col: 1, .. })
        ));
    }
}
