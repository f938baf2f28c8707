//! The four layer types: dense, batch-norm, ReLU and polynomial activations,
//! each with its forward pass (training and inference modes) and its
//! backward pass. Gradient checks live in `crate::gradcheck`.

use crate::linalg::{self, Matrix};
use crate::poly::PolyActivation;

/// An elementwise activation.
#[derive(Clone, Debug, PartialEq)]
pub enum Activation {
    /// `max(0, x)`: the plaintext baseline; not computable under encryption.
    Relu,
    /// A polynomial: computable under CKKS.
    Poly(PolyActivation),
}

impl Activation {
    #[inline]
    /// The activation of `x`.
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Poly(p) => p.poly.eval(x),
        }
    }

    #[inline]
    /// The derivative at `x` (for backpropagation).
    pub fn derivative(&self, x: f64) -> f64 {
        match self {
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Poly(p) => p.poly.derivative(x),
        }
    }

    /// The interval half-width a polynomial expects, `None` for ReLU.
    pub fn interval(&self) -> Option<f64> {
        match self {
            Activation::Relu => None,
            Activation::Poly(p) => Some(p.interval),
        }
    }

    /// An activation by name: `relu`, a Table 3 preset (`p2`, `p4`, `p6`),
    /// `cheb:D` or `lsq:D` (ReLU fitted with degree `D` on
    /// `[-interval, interval]`, Chebyshev or least squares), or
    /// `coeffs:c0,c1,...` (any polynomial, lowest degree first, on that
    /// interval).
    ///
    /// ```
    /// use privox_nn::Activation;
    /// assert_eq!(Activation::from_name("relu", 2.0).unwrap(), Activation::Relu);
    /// assert_eq!(Activation::from_name("cheb:4", 3.0).unwrap().interval(), Some(3.0));
    /// assert!(Activation::from_name("tanh", 2.0).is_err());
    /// ```
    pub fn from_name(name: &str, interval: f64) -> crate::Result<Activation> {
        use crate::error::ConfigError;
        if name == "relu" {
            return Ok(Activation::Relu);
        }
        if let Some(p) = PolyActivation::preset(name) {
            return Ok(Activation::Poly(p));
        }
        let unknown = || ConfigError::UnknownActivation { name: name.into() };
        let (kind, arg) = name.split_once(':').ok_or_else(unknown)?;
        let relu = |x: f64| x.max(0.0);
        Ok(Activation::Poly(match kind {
            "cheb" | "lsq" => {
                let degree: usize =
                    arg.parse()
                        .map_err(|source| ConfigError::ActivationDegree {
                            text: arg.into(),
                            source,
                        })?;
                let fit = if kind == "cheb" {
                    crate::poly::fit_chebyshev(&relu, degree, interval)?
                } else {
                    crate::poly::fit_least_squares(&relu, degree, interval)?
                };
                fit.activation
            }
            "coeffs" => {
                let c = arg
                    .split(',')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|source| ConfigError::ActivationCoefficients {
                        text: arg.into(),
                        source,
                    })?;
                PolyActivation::new(crate::poly::Polynomial::new(c)?, interval)?
            }
            _ => return Err(unknown().into()),
        }))
    }

    /// A short human name: `relu` or `poly(deg 2, r=2)`.
    pub fn describe(&self) -> String {
        match self {
            Activation::Relu => "relu".into(),
            Activation::Poly(p) => format!(
                "poly(deg {}, r={}: {})",
                p.poly.degree(),
                p.interval,
                p.poly
            ),
        }
    }
}

/// A fully connected layer `y = x·W + b`, `W` stored `inputs × outputs`
/// row-major (so a sample's output is a sum of contiguous weight rows).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `inputs × outputs` weights, row-major.
    pub weights: Vec<f64>,
    /// One bias per output.
    pub bias: Vec<f64>,
}

impl Dense {
    /// `W[k][j]`: weight from input `k` to output `j`.
    pub fn weight(&self, k: usize, j: usize) -> f64 {
        self.weights[k * self.outputs + j]
    }

    pub(crate) fn forward(&self, x: &Matrix) -> Matrix {
        let mut out = Matrix::zeros(x.rows(), self.outputs);
        linalg::affine(x, &self.weights, &self.bias, &mut out);
        out
    }
}

/// Batch normalisation over the batch axis, one `(γ, β)` per unit.
///
/// Training mode normalises with the batch mean and (biased) variance and
/// updates the running estimates with `momentum` (PyTorch's convention:
/// `running = (1 − m)·running + m·batch`, unbiased variance); inference mode
/// uses the running estimates, which makes it an affine map that
/// [`crate::Mlp::fold`] merges into the preceding dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    /// Number of features normalised.
    pub width: usize,
    /// Learned scale, one per feature.
    pub gamma: Vec<f64>,
    /// Learned shift, one per feature.
    pub beta: Vec<f64>,
    /// Running mean used at inference.
    pub running_mean: Vec<f64>,
    /// Running variance used at inference.
    pub running_var: Vec<f64>,
    /// Added to the variance before the square root.
    pub eps: f64,
    /// Weight of the newest batch in the running statistics.
    pub momentum: f64,
}

impl BatchNorm {
    /// Batch-norm with `γ = gamma_init`, `β = 0`, running N(0, 1).
    pub fn new(width: usize, momentum: f64, gamma_init: f64) -> Self {
        BatchNorm {
            width,
            gamma: vec![gamma_init; width],
            beta: vec![0.0; width],
            running_mean: vec![0.0; width],
            running_var: vec![1.0; width],
            eps: 1e-5,
            momentum,
        }
    }

    /// Inference-mode per-unit `(scale, shift)`: `y = scale·x + shift`.
    pub fn affine_coefficients(&self) -> (Vec<f64>, Vec<f64>) {
        let scale: Vec<f64> = (0..self.width)
            .map(|j| self.gamma[j] / (self.running_var[j] + self.eps).sqrt())
            .collect();
        let shift = (0..self.width)
            .map(|j| self.beta[j] - scale[j] * self.running_mean[j])
            .collect();
        (scale, shift)
    }

    pub(crate) fn forward_inference(&self, x: &Matrix) -> Matrix {
        let (scale, shift) = self.affine_coefficients();
        let mut out = x.clone();
        for i in 0..out.rows() {
            for (j, v) in out.row_mut(i).iter_mut().enumerate() {
                *v = *v * scale[j] + shift[j];
            }
        }
        out
    }

    /// Training-mode forward; returns the output, `x̂` and `1/σ` for backward.
    pub(crate) fn forward_train(
        &mut self,
        x: &Matrix,
        update_running: bool,
    ) -> (Matrix, Matrix, Vec<f64>) {
        let n = x.rows();
        let w = self.width;
        let mut mean = vec![0.0; w];
        for i in 0..n {
            linalg::axpy(1.0, x.row(i), &mut mean);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; w];
        for i in 0..n {
            for (j, v) in x.row(i).iter().enumerate() {
                let d = v - mean[j];
                var[j] += d * d;
            }
        }
        var.iter_mut().for_each(|v| *v /= n as f64);
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        let mut xhat = Matrix::zeros(n, w);
        let mut out = Matrix::zeros(n, w);
        for i in 0..n {
            let (xi, hi) = (x.row(i), xhat.row_mut(i));
            for j in 0..w {
                hi[j] = (xi[j] - mean[j]) * inv_std[j];
            }
            let hi = xhat.row(i).to_vec();
            for (j, o) in out.row_mut(i).iter_mut().enumerate() {
                *o = self.gamma[j] * hi[j] + self.beta[j];
            }
        }
        if update_running {
            let m = self.momentum;
            let unbias = if n > 1 {
                n as f64 / (n - 1) as f64
            } else {
                1.0
            };
            for j in 0..w {
                self.running_mean[j] = (1.0 - m) * self.running_mean[j] + m * mean[j];
                self.running_var[j] = (1.0 - m) * self.running_var[j] + m * var[j] * unbias;
            }
        }
        (out, xhat, inv_std)
    }

    /// Training-mode backward: accumulates `dγ, dβ` and returns `dx`.
    pub(crate) fn backward(
        &self,
        dy: &Matrix,
        xhat: &Matrix,
        inv_std: &[f64],
        dgamma: &mut [f64],
        dbeta: &mut [f64],
    ) -> Matrix {
        let n = dy.rows();
        let w = self.width;
        // sums of dx̂ and dx̂·x̂ per unit, with dx̂ = dy·γ
        let mut sum_d = vec![0.0; w];
        let mut sum_dx = vec![0.0; w];
        for i in 0..n {
            let (dyi, hi) = (dy.row(i), xhat.row(i));
            for j in 0..w {
                dbeta[j] += dyi[j];
                dgamma[j] += dyi[j] * hi[j];
                let d = dyi[j] * self.gamma[j];
                sum_d[j] += d;
                sum_dx[j] += d * hi[j];
            }
        }
        let nf = n as f64;
        let mut dx = Matrix::zeros(n, w);
        for i in 0..n {
            let (dyi, hi) = (dy.row(i), xhat.row(i));
            let di = dx.row_mut(i);
            for j in 0..w {
                let d = dyi[j] * self.gamma[j];
                di[j] = inv_std[j] / nf * (nf * d - sum_d[j] - hi[j] * sum_dx[j]);
            }
        }
        dx
    }
}

/// One layer of an [`crate::Mlp`].
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// A fully connected layer.
    Dense(Dense),
    /// Batch normalisation.
    BatchNorm(BatchNorm),
    /// An element-wise activation.
    Activation(Activation),
}
