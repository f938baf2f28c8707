//! Kernels the solver can train on, behind one trait.
//!
//! A [`Kernel`] addresses a fixed set of points by index `0..size()`. The
//! solver trains on any subset of those indices (an inner CV fold, or one
//! class pair of a one-vs-one model) without copying data, which is what lets
//! grid search reuse one kernel object (and one Hamming distance matrix) for
//! every fold.

use crate::SvmError;

/// A symmetric kernel function over `size()` indexed points.
///
/// It need not be positive semi-definite: the solver follows LIBSVM's τ
/// safeguard for indefinite kernels.
pub trait Kernel: Sync {
    /// Number of addressable points.
    fn size(&self) -> usize;
    /// `K(i, j)`; callers guarantee `i, j < size()`.
    fn eval(&self, i: usize, j: usize) -> f64;
    /// Whether `eval` is already a cheap lookup, so a grid search need not
    /// materialize it as a dense Gram matrix (default: no).
    fn is_lookup(&self) -> bool {
        false
    }
}

impl<K: Kernel + ?Sized> Kernel for &K {
    fn size(&self) -> usize {
        (**self).size()
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        (**self).eval(i, j)
    }
    fn is_lookup(&self) -> bool {
        (**self).is_lookup()
    }
}

/// Checks that a row-major matrix is finite and has the declared shape.
pub(crate) fn check_finite_rows(data: &[f64], cols: usize) -> Result<(), SvmError> {
    if cols == 0 {
        return Err(SvmError::InvalidParameter {
            name: "feature count",
            value: "0".into(),
            hint: "rows need at least one feature",
        });
    }
    if !data.len().is_multiple_of(cols) {
        return Err(SvmError::LengthMismatch {
            what: "feature matrix",
            expected: data.len() / cols * cols,
            found: data.len(),
        });
    }
    if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
        return Err(SvmError::NonFinite {
            row: pos / cols,
            col: pos % cols,
            value: data[pos],
        });
    }
    Ok(())
}

pub(crate) fn check_gamma(gamma: f64) -> Result<(), SvmError> {
    if gamma.is_finite() && gamma > 0.0 {
        Ok(())
    } else {
        Err(SvmError::InvalidParameter {
            name: "gamma",
            value: gamma.to_string(),
            hint: "gamma must be a finite number > 0 (try 2^-15 .. 2^3)",
        })
    }
}

/// `exp(-γ‖x_i − x_j‖²)` on dense feature rows.
///
/// Like LIBSVM, the squared distance is computed as `‖x_i‖² + ‖x_j‖² − 2 x_i·x_j`
/// with precomputed norms, which keeps training bit-compatible with it.
///
/// ```
/// use privox_svm::{Kernel, RbfKernel};
/// let k = RbfKernel::new(vec![0.0, 0.0, 1.0, 0.0], 2, 0.5).unwrap();
/// assert!((k.eval(0, 1) - (-0.5f64).exp()).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct RbfKernel {
    x: Vec<f64>,
    cols: usize,
    sq: Vec<f64>,
    gamma: f64,
}

impl RbfKernel {
    /// `x` is row-major with `cols` features per row.
    pub fn new(x: Vec<f64>, cols: usize, gamma: f64) -> Result<Self, SvmError> {
        check_finite_rows(&x, cols)?;
        check_gamma(gamma)?;
        let sq = x.chunks_exact(cols).map(|r| dot(r, r)).collect();
        Ok(RbfKernel { x, cols, sq, gamma })
    }

    /// The same points with another γ (no copy of the norms' work is needed,
    /// but the rows are cloned; grid search uses [`RbfKernel::gamma_view`]).
    pub fn with_gamma(&self, gamma: f64) -> Result<Self, SvmError> {
        check_gamma(gamma)?;
        Ok(RbfKernel {
            gamma,
            ..self.clone()
        })
    }

    /// A borrowed view of the same points with another γ, for grid search.
    pub fn gamma_view(&self, gamma: f64) -> Result<RbfView<'_>, SvmError> {
        check_gamma(gamma)?;
        Ok(RbfView { base: self, gamma })
    }

    /// The γ of `exp(−γ‖x − y‖²)`.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// Features per row.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row `i` of the data.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.cols..(i + 1) * self.cols]
    }

    fn eval_with(&self, gamma: f64, i: usize, j: usize) -> f64 {
        let d = self.sq[i] + self.sq[j] - 2.0 * dot(self.row(i), self.row(j));
        (-gamma * d).exp()
    }
}

impl Kernel for RbfKernel {
    fn size(&self) -> usize {
        self.sq.len()
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        self.eval_with(self.gamma, i, j)
    }
}

/// [`RbfKernel`] points with a different γ, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct RbfView<'a> {
    base: &'a RbfKernel,
    gamma: f64,
}

impl Kernel for RbfView<'_> {
    fn size(&self) -> usize {
        self.base.size()
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        self.base.eval_with(self.gamma, i, j)
    }
}

/// `exp(−γ‖x − y‖²)` between one new row and a stored row, computed directly
/// (LIBSVM's prediction path does the same).
pub fn rbf(x: &[f64], y: &[f64], gamma: f64) -> f64 {
    let d: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    (-gamma * d).exp()
}

/// Dot product with four independent accumulators: the add chain, not the
/// multiplies, bounds a sequential sum; this differs from LIBSVM's
/// sequential loop only in the last bits (parity is checked to 1e-13).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The one Hamming matrix of the workspace: [`privox_smh::HammingMatrix`]
/// (symbol mismatch counts), re-exported. Build it once with
/// [`privox_smh::hamming_counts_symmetric`] and borrow it as an RBF-Hamming
/// kernel for every γ of a grid and every fold ([`HammingRbfKernel::new`]):
/// the expensive part of the kernel is shared and never copied.
pub use privox_smh::HammingMatrix;

/// `K(x, y) = exp(−γ·d_H(h(x), h(y))²)` over a square [`HammingMatrix`],
/// borrowed. d_H takes only M + 1 values, so the kernel is a table lookup.
///
/// ```
/// use privox_smh::{hamming_counts_symmetric, SmhKey, SmhParams};
/// use privox_svm::{HammingRbfKernel, Kernel};
/// let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 8, 2).unwrap(), 1);
/// let codes = key.hash_rows(&[0.0, 0.0, 0.5, 0.5, 0.9, 0.1]).unwrap();
/// let hm = hamming_counts_symmetric(&codes);
/// let k = HammingRbfKernel::new(&hm, 4.0).unwrap();
/// assert_eq!(k.size(), 3);
/// assert_eq!(k.eval(1, 1), 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct HammingRbfKernel<'a> {
    d: &'a HammingMatrix,
    /// `exp(−γ (c/M)²)` for c = 0..=M.
    lut: Vec<f64>,
}

impl<'a> HammingRbfKernel<'a> {
    /// The kernel with `gamma` over the points of a square matrix (all
    /// pairs of one code set).
    pub fn new(d: &'a HammingMatrix, gamma: f64) -> Result<Self, SvmError> {
        check_gamma(gamma)?;
        if d.rows() != d.cols() {
            return Err(SvmError::LengthMismatch {
                what: "columns of the Hamming matrix (a kernel needs all pairs of one code set)",
                expected: d.rows(),
                found: d.cols(),
            });
        }
        if d.symbols() == 0 {
            return Err(SvmError::InvalidParameter {
                name: "symbols",
                value: "0".into(),
                hint: "codes need at least one symbol",
            });
        }
        let m = d.symbols() as f64;
        // The same expression as `rbf_hamming(c / M, γ)`, so that training
        // and prediction see bit-identical kernel values.
        let lut = (0..=d.symbols())
            .map(|c| rbf_hamming(c as f64 / m, gamma))
            .collect();
        Ok(HammingRbfKernel { d, lut })
    }

    /// The matrix the kernel reads.
    pub fn matrix(&self) -> &'a HammingMatrix {
        self.d
    }
}

impl Kernel for HammingRbfKernel<'_> {
    fn size(&self) -> usize {
        self.d.rows()
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        // Invariant: counts are <= M (privox-smh builds them), lut has M + 1 entries.
        self.lut[self.d.counts()[i * self.d.rows() + j] as usize]
    }
    fn is_lookup(&self) -> bool {
        true
    }
}

/// The RBF-Hamming kernel value for one normalized distance.
pub fn rbf_hamming(d_h: f64, gamma: f64) -> f64 {
    (-gamma * d_h * d_h).exp()
}

/// A precomputed square Gram matrix (row-major `n × n`), e.g. from another
/// tool, or an indefinite kernel for testing.
#[derive(Clone, Debug)]
pub struct PrecomputedKernel {
    n: usize,
    gram: Vec<f64>,
}

impl PrecomputedKernel {
    /// Checks shape and finiteness. Symmetry is not enforced (LIBSVM does
    /// not either) but the solver assumes it.
    pub fn new(n: usize, gram: Vec<f64>) -> Result<Self, SvmError> {
        if gram.len() != n * n {
            return Err(SvmError::LengthMismatch {
                what: "Gram matrix",
                expected: n * n,
                found: gram.len(),
            });
        }
        if n > 0 {
            check_finite_rows(&gram, n)?;
        }
        Ok(PrecomputedKernel { n, gram })
    }
    /// The `n × n` Gram matrix, row-major.
    pub fn gram(&self) -> &[f64] {
        &self.gram
    }
}

impl Kernel for PrecomputedKernel {
    fn size(&self) -> usize {
        self.n
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        self.gram[i * self.n + j]
    }
    fn is_lookup(&self) -> bool {
        true
    }
}

impl PrecomputedKernel {
    /// Wraps a Gram matrix built in this crate from validated inputs.
    pub(crate) fn from_trusted(n: usize, gram: Vec<f64>) -> Self {
        PrecomputedKernel { n, gram }
    }
}
