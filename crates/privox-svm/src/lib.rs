//! C-SVC on features or on Secure-Modular-Hashing codes, LIBSVM-grade.
//!
//! # Why a solver of our own
//!
//! The hashing approach trains an SVM whose kernel is `exp(−γ·d_H²)` on
//! packed k-ary codes. That kernel is not guaranteed positive semi-definite,
//! so the solver must behave exactly like LIBSVM on indefinite kernels
//! (second-order working-set selection with the τ safeguard). At the time of
//! writing, the Rust crates were checked: `libsvm-rs` ports LIBSVM but only
//! with LIBSVM's closed set of kernel types over sparse `svm_node` rows (a
//! custom kernel on packed codes would have to be expanded into a dense
//! precomputed Gram matrix per fold and per γ); `linfa-svm`, `smartcore` and
//! `rusvm` implement other SMO variants (first-order selection, different
//! bias and stopping rules), so their solutions differ from LIBSVM's. This
//! crate therefore ports LIBSVM's `Solver` (see [`solver`]) behind a
//! [`Kernel`] trait, so that one Hamming distance matrix serves every γ and
//! every inner-CV fold without copies.
//!
//! # Pieces
//!
//! * [`kernel`]: the [`Kernel`] trait; [`RbfKernel`], [`HammingRbfKernel`]
//!   over the workspace's one [`HammingMatrix`] (privox-smh's, borrowed, not
//!   copied), [`PrecomputedKernel`].
//! * [`learner`]: [`SvmLearner`], the SVM as a learner of
//!   [`privox_data::protocol`] (`Fit`/`Predict` on features or
//!   [`CodeDataset`]s, fixed or searched (C, γ), class weights).
//! * [`solver`]: LIBSVM's SMO for one binary problem.
//! * [`svc`]: one-vs-one multi-class training, decision values, voting,
//!   class weights, Platt probabilities ([`platt`]: LIBSVM's internal 5-fold
//!   CV and the Lin, Lin & Weng sigmoid fit, Wu-Lin-Weng multi-class coupling).
//! * [`grid`]: (C, γ) search with speaker-grouped CV, parallel over C, one
//!   Gram matrix (one Hamming matrix for codes) per γ.
//! * [`model`]: [`SvmModel`], trained on features (with its
//!   [`privox_data::MinMaxScaler`]) or on SMH codes (with their
//!   [`privox_smh::CodeSpace`]), saved as a `privox-format` envelope whose
//!   fingerprint makes a wrong feature layout, key or parameter set a typed
//!   error at prediction time.
//!
//! # Parity with LIBSVM
//!
//! `bench/smh-svm/svm_parity.py` trains scikit-learn's `SVC` (LIBSVM) and
//! this crate on the same scaled data and the same Gram files (RBF,
//! RBF-Hamming on SMH codes, indefinite sigmoid and RBF-Hamming kernels,
//! binary and 7-class, EmoDB and nEMO): support-vector counts and
//! predictions are identical, and decision values agree to ~1e-13 of their
//! range (the only difference is the summation order of the RBF dot product).
//!
//! ```
//! use privox_svm::{train, Kernel, PrecomputedKernel, SvcParams};
//! // An indefinite "kernel": the solver still converges (τ safeguard).
//! let g = vec![1.0, 0.9, -0.5, -0.2,
//!              0.9, 1.0, -0.3, 2.0,
//!              -0.5, -0.3, 1.0, 0.8,
//!              -0.2, 2.0, 0.8, 1.0];
//! let k = PrecomputedKernel::new(4, g).unwrap();
//! let sol = train(&k, &[0, 1, 2, 3], &[0, 0, 1, 1], 2, &SvcParams::default()).unwrap();
//! assert!(sol.total_sv() >= 2);
//! ```

mod cache;
pub mod demo;
pub mod error;
pub mod grid;
pub mod kernel;
pub mod learner;
pub mod model;
pub mod platt;
pub mod solver;
pub mod svc;

pub use error::{Corruption, SvmError};
pub use grid::{
    Grid, GridPoint, GridResult, GridSearch, Metric, cross_validate, grid_search,
    grid_search_per_fold,
};
pub use kernel::{
    HammingMatrix, HammingRbfKernel, Kernel, PrecomputedKernel, RbfKernel, rbf, rbf_hamming,
};
pub use learner::{ClassWeights, CodeDataset, InnerScaling, SvmData, SvmFit, SvmLearner, Tuning};
pub use model::{KernelSpec, MODEL_MAGIC, MODEL_VERSION, Prediction, SupportVectors, SvmModel};
pub use solver::{BinarySolution, SolverParams, TAU, solve_binary};
pub use svc::{SvcParams, SvcSolution, train};
