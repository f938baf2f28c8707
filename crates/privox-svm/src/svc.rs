//! C-SVC training and prediction, binary and one-vs-one, as LIBSVM does it.
//!
//! Classes are ordered by class index (as scikit-learn's LIBSVM does), every
//! pair `(a, b)`, `a < b`, gets a binary machine with class `a` as `+1`, and
//! prediction takes LIBSVM's vote (ties go to the lower class index).
//! For two classes the single decision value is positive for the *first*
//! class (LIBSVM's sign; scikit-learn flips it).

use crate::SvmError;
use crate::kernel::Kernel;
use crate::platt;
use crate::solver::{BinarySolution, SolverParams, solve_binary};

/// Training settings for [`train`].
#[derive(Clone, Debug)]
pub struct SvcParams {
    /// Penalty `C` (LIBSVM `-c`, default 1).
    pub c: f64,
    /// Per-class weights; class `k` gets `C·w_k` (LIBSVM `-wi`). Empty: all 1.
    pub class_weights: Vec<f64>,
    /// Solver settings (eps, shrinking, cache size).
    pub solver: SolverParams,
    /// Fit Platt sigmoids (LIBSVM `-b 1`: internal 5-fold CV per class pair).
    pub probability: bool,
    /// Seed of the CV shuffle used by the Platt fit.
    pub seed: u64,
}

impl Default for SvcParams {
    fn default() -> Self {
        SvcParams {
            c: 1.0,
            class_weights: Vec::new(),
            solver: SolverParams::default(),
            probability: false,
            seed: 0,
        }
    }
}

impl SvcParams {
    pub(crate) fn validate(&self, n_classes: usize) -> Result<(), SvmError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(SvmError::InvalidParameter {
                name: "C",
                value: self.c.to_string(),
                hint: "C must be a finite number > 0 (try 2^-5 .. 2^15)",
            });
        }
        if !(self.solver.eps.is_finite() && self.solver.eps > 0.0) {
            return Err(SvmError::InvalidParameter {
                name: "eps",
                value: self.solver.eps.to_string(),
                hint: "the stopping tolerance must be > 0 (LIBSVM uses 1e-3)",
            });
        }
        if !self.class_weights.is_empty() {
            if self.class_weights.len() != n_classes {
                return Err(SvmError::LengthMismatch {
                    what: "class weights",
                    expected: n_classes,
                    found: self.class_weights.len(),
                });
            }
            if let Some(w) = self
                .class_weights
                .iter()
                .find(|w| !(w.is_finite() && **w > 0.0))
            {
                return Err(SvmError::InvalidParameter {
                    name: "class weight",
                    value: w.to_string(),
                    hint: "class weights must be finite and > 0",
                });
            }
        }
        Ok(())
    }

    fn weight(&self, class: usize) -> f64 {
        self.class_weights.get(class).copied().unwrap_or(1.0)
    }
}

/// A trained one-vs-one C-SVC whose support vectors are indices into the
/// kernel it was trained on. [`crate::model::SvmModel`] turns it into a
/// self-contained model.
#[derive(Clone, Debug, PartialEq)]
pub struct SvcSolution {
    /// Number of classes of the label space (some may be absent in training).
    pub n_classes: usize,
    /// Classes present in training, ascending; machine order follows it.
    pub labels: Vec<usize>,
    /// Kernel indices of the support vectors, grouped by `labels` order.
    pub sv: Vec<usize>,
    /// Support vectors per present class.
    pub n_sv: Vec<usize>,
    /// LIBSVM's `sv_coef`: `(labels.len() − 1) × sv.len()`, row-major.
    pub sv_coef: Vec<f64>,
    /// One `ρ` per class pair, in `(0,1), (0,2), …, (1,2), …` order.
    pub rho: Vec<f64>,
    /// Platt sigmoid parameters per pair, if fitted.
    pub prob_a: Vec<f64>,
    /// Platt sigmoid B per pair, if fitted.
    pub prob_b: Vec<f64>,
    /// SMO iterations per pair (diagnostics).
    pub iterations: Vec<usize>,
}

/// Validates labels and returns `(labels present ascending, per-class member positions)`.
fn group_classes(y: &[usize], n_classes: usize) -> Result<(Vec<usize>, Vec<Vec<usize>>), SvmError> {
    let mut members = vec![Vec::new(); n_classes];
    for (pos, &c) in y.iter().enumerate() {
        if c >= n_classes {
            return Err(SvmError::ClassOutOfRange {
                position: pos,
                class: c,
                n_classes,
            });
        }
        members[c].push(pos);
    }
    let labels: Vec<usize> = (0..n_classes).filter(|&c| !members[c].is_empty()).collect();
    let groups = labels
        .iter()
        .map(|&c| std::mem::take(&mut members[c]))
        .collect();
    Ok((labels, groups))
}

/// Trains a C-SVC on kernel points `idx` with class indices `y` (`0..n_classes`).
///
/// ```
/// use privox_svm::{train, Kernel, RbfKernel, SvcParams};
/// // two well-separated 1-D clusters
/// let x = vec![0.0, 0.1, 0.2, 2.0, 2.1, 2.2];
/// let k = RbfKernel::new(x, 1, 1.0).unwrap();
/// let sol = train(&k, &[0, 1, 2, 3, 4, 5], &[0, 0, 0, 1, 1, 1], 2, &SvcParams::default()).unwrap();
/// let pred: Vec<usize> = (0..6).map(|i| sol.predict_with(|j| k.eval(i, j))).collect();
/// assert_eq!(pred, vec![0, 0, 0, 1, 1, 1]);
/// ```
pub fn train<K: Kernel + ?Sized>(
    kernel: &K,
    idx: &[usize],
    y: &[usize],
    n_classes: usize,
    params: &SvcParams,
) -> Result<SvcSolution, SvmError> {
    if idx.is_empty() {
        return Err(SvmError::EmptyTrainingSet);
    }
    if idx.len() != y.len() {
        return Err(SvmError::LengthMismatch {
            what: "labels",
            expected: idx.len(),
            found: y.len(),
        });
    }
    if let Some(&bad) = idx.iter().find(|&&i| i >= kernel.size()) {
        return Err(SvmError::IndexOutOfRange {
            index: bad,
            size: kernel.size(),
        });
    }
    params.validate(n_classes)?;
    let (labels, groups) = group_classes(y, n_classes)?;
    if labels.len() < 2 {
        return Err(SvmError::SingleClass {
            class: labels.first().map(|c| c.to_string()).unwrap_or_default(),
        });
    }
    let nr = labels.len();
    let mut nonzero: Vec<Vec<bool>> = groups.iter().map(|g| vec![false; g.len()]).collect();
    let mut pair_alpha: Vec<Vec<f64>> = Vec::with_capacity(nr * (nr - 1) / 2);
    let mut rho = Vec::new();
    let mut iterations = Vec::new();
    let (mut prob_a, mut prob_b) = (Vec::new(), Vec::new());
    for a in 0..nr {
        for b in a + 1..nr {
            let (ga, gb) = (&groups[a], &groups[b]);
            let sub_idx: Vec<usize> = ga.iter().chain(gb).map(|&p| idx[p]).collect();
            let sub_y: Vec<i8> = std::iter::repeat_n(1i8, ga.len())
                .chain(std::iter::repeat_n(-1i8, gb.len()))
                .collect();
            let cp = params.c * params.weight(labels[a]);
            let cn = params.c * params.weight(labels[b]);
            if params.probability {
                let (pa, pb) =
                    platt::binary_svc_probability(kernel, &sub_idx, &sub_y, cp, cn, params);
                prob_a.push(pa);
                prob_b.push(pb);
            }
            let sol: BinarySolution =
                solve_binary(kernel, &sub_idx, &sub_y, cp, cn, &params.solver);
            for (k, &al) in sol.alpha[..ga.len()].iter().enumerate() {
                if al > 0.0 {
                    nonzero[a][k] = true;
                }
            }
            for (k, &al) in sol.alpha[ga.len()..].iter().enumerate() {
                if al > 0.0 {
                    nonzero[b][k] = true;
                }
            }
            // Signed coefficients y_i α_i, as LIBSVM's solve_c_svc returns them.
            let signed = sol
                .alpha
                .iter()
                .zip(&sub_y)
                .map(|(al, &s)| al * s as f64)
                .collect();
            pair_alpha.push(signed);
            rho.push(sol.rho);
            iterations.push(sol.iterations);
        }
    }
    // Collect support vectors class by class, and LIBSVM's sv_coef layout.
    let n_sv: Vec<usize> = nonzero
        .iter()
        .map(|nz| nz.iter().filter(|&&b| b).count())
        .collect();
    let total: usize = n_sv.iter().sum();
    let mut start = vec![0usize; nr];
    for c in 1..nr {
        start[c] = start[c - 1] + n_sv[c - 1];
    }
    let mut sv = Vec::with_capacity(total);
    for (c, g) in groups.iter().enumerate() {
        for (k, &p) in g.iter().enumerate() {
            if nonzero[c][k] {
                sv.push(idx[p]);
            }
        }
    }
    let mut sv_coef = vec![0.0; (nr - 1) * total];
    let mut pair = 0;
    for a in 0..nr {
        for b in a + 1..nr {
            let alpha = &pair_alpha[pair];
            let (na, _nb) = (groups[a].len(), groups[b].len());
            let mut q = start[a];
            for k in 0..na {
                if nonzero[a][k] {
                    sv_coef[(b - 1) * total + q] = alpha[k];
                    q += 1;
                }
            }
            let mut q = start[b];
            for k in 0..groups[b].len() {
                if nonzero[b][k] {
                    sv_coef[a * total + q] = alpha[na + k];
                    q += 1;
                }
            }
            pair += 1;
        }
    }
    Ok(SvcSolution {
        n_classes,
        labels,
        sv,
        n_sv,
        sv_coef,
        rho,
        prob_a,
        prob_b,
        iterations,
    })
}

impl SvcSolution {
    /// Total number of support vectors.
    pub fn total_sv(&self) -> usize {
        self.sv.len()
    }

    /// Pairwise decision values from kernel values `k_sv[s] = K(x, sv[s])`.
    pub fn decision_values(&self, k_sv: &[f64]) -> Vec<f64> {
        let nr = self.labels.len();
        let total = self.sv.len();
        let mut start = vec![0usize; nr];
        for c in 1..nr {
            start[c] = start[c - 1] + self.n_sv[c - 1];
        }
        let mut dec = Vec::with_capacity(nr * (nr - 1) / 2);
        let mut p = 0;
        for i in 0..nr {
            for j in i + 1..nr {
                let coef1 = &self.sv_coef[(j - 1) * total..j * total];
                let coef2 = &self.sv_coef[i * total..(i + 1) * total];
                let mut sum = 0.0;
                for k in start[i]..start[i] + self.n_sv[i] {
                    sum += coef1[k] * k_sv[k];
                }
                for k in start[j]..start[j] + self.n_sv[j] {
                    sum += coef2[k] * k_sv[k];
                }
                dec.push(sum - self.rho[p]);
                p += 1;
            }
        }
        dec
    }

    /// LIBSVM's one-vs-one vote over decision values; returns a class index.
    pub fn vote(&self, dec: &[f64]) -> usize {
        let nr = self.labels.len();
        let mut votes = vec![0usize; nr];
        let mut p = 0;
        for i in 0..nr {
            for j in i + 1..nr {
                if dec[p] > 0.0 {
                    votes[i] += 1;
                } else {
                    votes[j] += 1;
                }
                p += 1;
            }
        }
        let mut best = 0;
        for c in 1..nr {
            if votes[c] > votes[best] {
                best = c;
            }
        }
        self.labels[best]
    }

    /// Predicts with a closure giving `K(x, ·)` for a kernel index.
    pub fn predict_with(&self, k: impl Fn(usize) -> f64) -> usize {
        let row: Vec<f64> = self.sv.iter().map(|&s| k(s)).collect();
        self.vote(&self.decision_values(&row))
    }

    /// Class probabilities (over `labels`, then spread to `n_classes` with
    /// zeros for absent classes) from decision values, if Platt was fitted.
    pub fn probabilities(&self, dec: &[f64]) -> Option<Vec<f64>> {
        if self.prob_a.len() != dec.len() || dec.is_empty() {
            return None;
        }
        let p = platt::predict_probability(self.labels.len(), dec, &self.prob_a, &self.prob_b);
        let mut out = vec![0.0; self.n_classes];
        for (c, &l) in self.labels.iter().enumerate() {
            out[l] = p[c];
        }
        Some(out)
    }
}
