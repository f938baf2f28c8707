//! HE-friendly multilayer perceptrons, trained and evaluated in the clear.
//!
//! The cryptonet of privox is an MLP whose every operation CKKS can compute:
//! affine maps and low-degree polynomials. This crate trains such networks,
//! evaluates them in plaintext, and exports them for the encrypted evaluator
//! (`privox-cryptonet`). It is the reference the encrypted decisions must match.
//!
//! * **Layers** ([`Layer`]): [`Dense`], [`BatchNorm`] (training mode with
//!   batch statistics and running estimates; inference mode), and
//!   [`Activation`]: ReLU or any [`Polynomial`].
//! * **Training** ([`train`]): softmax cross-entropy with optional class
//!   weights, SGD (the paper: learning rate 0.01, no weight decay) or Adam,
//!   mini-batches, early stopping on a validation set (the caller holds out
//!   whole speakers: see [`protocol`]), and a *range penalty* that keeps
//!   pre-activations inside the polynomial's interval. One seed gives the
//!   same model on every run (ChaCha20).
//! * **Polynomials** ([`poly`]): least-squares and Chebyshev (near-minimax)
//!   fits of ReLU or any function on `[-r, r]`, with the maximum error, and
//!   the paper's Table 3 presets `p2`, `p4`, `p6`.
//! * **Two ways to get a polynomial network**: the paper's (train with ReLU,
//!   swap in the polynomial at inference with [`Mlp::with_activation`]) and
//!   the HE-aware one (train with the polynomial itself, batch-norm on).
//! * **Two training recipes** ([`protocol::Recipe`]): `paper` (early stopping
//!   on a quarter of the training speakers, as behind the published Table 4)
//!   and `robust` (class-balanced loss, epoch count by an inner speaker CV
//!   whose validation folds hold every class, refit on all training
//!   speakers), which does not collapse when speakers hold one class only.
//!   Any number of classes (softmax).
//! * **Export**: [`Mlp::fold`] merges batch-norm into the dense layer before
//!   it; [`NnModel`] writes the folded network, the scaler, names and the
//!   observed activation ranges in a versioned `privox-format` envelope.
//!
//! # Why hand-written rather than `candle`
//!
//! The networks are tiny (88 → 100 → 50 → 2), a pure-Rust dense kernel with
//! vectorisable loops trains a nEMO fold in a few seconds, and the whole
//! crate compiles in seconds on the 2-core build machines; `candle` would
//! add minutes of compile time and a large dependency tree for no measured
//! gain. Correctness is proven instead by the finite-difference gradient
//! checks in `src/gradcheck.rs` (every layer type, batch-norm in training
//! mode included, 1e-4 relative) and by the folded-vs-unfolded inference test.
//! Everything is `f64`, which keeps those checks tight.
//!
//! # Example
//!
//! ```
//! use privox_nn::{train, Activation, Matrix, NetworkSpec, PolyActivation, Samples, TrainConfig};
//!
//! let x = Matrix::new(6, 2, vec![-1.0, -0.8, -0.9, -1.0, -0.7, -0.9, 0.9, 1.0, 0.8, 0.7, 1.0, 0.9]).unwrap();
//! let y = [0, 0, 0, 1, 1, 1];
//! // HE-aware: train with the paper's degree-2 polynomial and batch-norm.
//! let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
//! let spec = NetworkSpec { hidden: vec![8], batch_norm: true, activation: p2, bn_momentum: 0.1, bn_gamma_init: 1.0 };
//! let cfg = TrainConfig { max_epochs: 100, batch_size: 6, patience: 0, ..TrainConfig::default() };
//! let net = train(&spec, &cfg, 2, Samples { x: &x, y: &y }, None, &mut |_| {}).unwrap().network;
//! // Folding batch-norm away does not change the decisions.
//! assert_eq!(net.fold().unwrap().predict(&x).unwrap(), net.predict(&x).unwrap());
//! ```

mod error;
mod fold;
mod layers;
mod linalg;
mod loss;
mod model;
mod network;
mod optim;
pub mod poly;
pub mod protocol;
mod train;

#[cfg(test)]
mod gradcheck;

pub use error::{ConfigError, FitError, ModelError, NnError, Result};
pub use fold::{Affine, FoldedLayer, FoldedMlp, preactivation_max};
pub use layers::{Activation, BatchNorm, Dense, Layer};
pub use linalg::Matrix;
pub use model::{MODEL_MAGIC, MODEL_VERSION, NnModel};
pub use network::{HE_AWARE_GAMMA_INIT, Mlp, NetworkSpec, argmax_rows};
pub use optim::Optimizer;
pub use poly::{
    FitMethod, PolyActivation, PolyFit, Polynomial, fit_chebyshev, fit_least_squares, max_abs_error,
};
pub use train::{
    ClassWeights, EpochStats, Samples, StopOn, TrainConfig, Trained, describe_training, train,
};
