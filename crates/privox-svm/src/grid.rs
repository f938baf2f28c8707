//! Grid search over (C, γ) with speaker-grouped cross-validation.
//!
//! For every γ the kernel over all training points is materialized once as
//! a Gram matrix (rows in parallel); every C and every fold then trains on
//! lookups into it, in parallel with rayon. For the RBF-Hamming kernel the
//! Gram comes from one shared [`HammingMatrix`](crate::HammingMatrix), so the Hamming distances are
//! computed once for the whole grid. Scores are pooled over folds (one
//! confusion matrix over all held-out predictions), by UAR or accuracy.

use crate::SvmError;
use crate::kernel::{Kernel, PrecomputedKernel};
use crate::svc::{SvcParams, train};
use privox_data::{ConfusionMatrix, Fold};
use rayon::prelude::*;

/// Most points one `begin:end:step` axis may have (LIBSVM's default has 11);
/// more is a typo, and would make the grid search run for days.
const MAX_RANGE_POINTS: f64 = 1000.0;

/// The (C, γ) grid as base-2 exponents.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// log2 of the C values tried.
    pub log2_c: Vec<f64>,
    /// log2 of the γ values tried.
    pub log2_gamma: Vec<f64>,
}

impl Default for Grid {
    /// LIBSVM's `grid.py` defaults: log2 C = −5, −3, …, 15 and
    /// log2 γ = 3, 1, …, −15 (110 points).
    fn default() -> Self {
        Grid {
            log2_c: Grid::range(-5.0, 15.0, 2.0),
            log2_gamma: Grid::range(3.0, -15.0, -2.0),
        }
    }
}

impl Grid {
    /// `begin, begin+step, …` up to and including `end` (step may be negative).
    pub fn range(begin: f64, end: f64, step: f64) -> Vec<f64> {
        let mut v = Vec::new();
        if step == 0.0 || !step.is_finite() {
            return vec![begin];
        }
        let mut x = begin;
        while (step > 0.0 && x <= end + 1e-9) || (step < 0.0 && x >= end - 1e-9) {
            v.push(x);
            x += step;
        }
        v
    }

    /// Parses `begin:end:step` (e.g. `-5:15:2`) or a comma list (`-1,1,3`).
    pub fn parse_range(s: &str) -> Result<Vec<f64>, SvmError> {
        let bad = || SvmError::InvalidParameter {
            name: "grid range",
            value: s.to_string(),
            hint: "write begin:end:step (e.g. -5:15:2) or a comma-separated list of log2 values",
        };
        let nums = |parts: Vec<&str>| -> Result<Vec<f64>, SvmError> {
            parts
                .iter()
                .map(|p| p.trim().parse::<f64>().map_err(|_| bad()))
                .collect()
        };
        let v = if s.contains(':') {
            let p = nums(s.split(':').collect())?;
            // Infinite bounds or a step too small for the span would make
            // `Grid::range` loop (x += step stops changing x) or exhaust memory.
            if p.len() != 3
                || p[2] == 0.0
                || p.iter().any(|x| !x.is_finite())
                || (p[1] - p[0]) / p[2] > MAX_RANGE_POINTS
            {
                return Err(bad());
            }
            Grid::range(p[0], p[1], p[2])
        } else {
            nums(s.split(',').collect())?
        };
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
            return Err(bad());
        }
        Ok(v)
    }

    /// Number of (C, γ) points.
    pub fn len(&self) -> usize {
        self.log2_c.len() * self.log2_gamma.len()
    }
    /// Whether the grid has no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the grid maximizes: the one [`privox_data::Metric`] of the
/// workspace's evaluation protocol, re-exported.
pub use privox_data::Metric;

/// Everything a grid search needs besides data and folds.
#[derive(Clone, Debug, Default)]
pub struct GridSearch {
    /// The (C, γ) points.
    pub grid: Grid,
    /// What is maximized.
    pub metric: Metric,
    /// Settings shared by every fit (C is overwritten per grid point).
    pub params: SvcParams,
}

/// The cross-validated score of one grid point.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPoint {
    /// The cost C.
    pub c: f64,
    /// The kernel γ.
    pub gamma: f64,
    /// Cross-validated accuracy.
    pub accuracy: f64,
    /// Cross-validated unweighted average recall.
    pub uar: f64,
    /// The value of the chosen [`Metric`].
    pub score: f64,
}

/// All grid points (γ-major, then C) and the best one.
#[derive(Clone, Debug)]
pub struct GridResult {
    /// Every point, in grid order.
    pub points: Vec<GridPoint>,
    /// The best point by the metric.
    pub best: GridPoint,
}

/// Materializes a kernel as a dense Gram matrix (rows in parallel).
pub fn gram<K: Kernel + ?Sized>(k: &K) -> PrecomputedKernel {
    let n = k.size();
    let mut g = vec![0.0; n * n];
    g.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        for (j, v) in row.iter_mut().enumerate() {
            *v = k.eval(i, j);
        }
    });
    // Invariant: g has exactly n*n finite-or-not values; finiteness of a
    // kernel built from checked inputs holds (exp of finite numbers).
    PrecomputedKernel::from_trusted(n, g)
}

/// Cross-validated pooled confusion matrix of one (C, kernel) setting.
///
/// `folds` index the kernel's points and `y` (e.g. the global row indices
/// of [`privox_data::InnerSplit::folds`]); the held-out predictions of all
/// folds are pooled into one confusion matrix.
pub fn cross_validate<K: Kernel + ?Sized>(
    kernel: &K,
    y: &[usize],
    n_classes: usize,
    folds: &[Fold],
    params: &SvcParams,
) -> Result<ConfusionMatrix, SvmError> {
    cross_validate_each(std::slice::from_ref(&kernel), y, n_classes, folds, params)
}

/// [`cross_validate`] with one kernel per fold (`kernels[i]` for
/// `folds[i]`), or one kernel for all folds when `kernels` has one entry.
fn cross_validate_each<K: Kernel>(
    kernels: &[K],
    y: &[usize],
    n_classes: usize,
    folds: &[Fold],
    params: &SvcParams,
) -> Result<ConfusionMatrix, SvmError> {
    let mut cm = ConfusionMatrix::new(n_classes);
    for (i, f) in folds.iter().enumerate() {
        let kernel = &kernels[if kernels.len() == 1 { 0 } else { i }];
        let ytr: Vec<usize> = f.train.iter().map(|&i| y[i]).collect();
        let sol = train(kernel, &f.train, &ytr, n_classes, params)?;
        let yte: Vec<usize> = f.test.iter().map(|&i| y[i]).collect();
        let pred: Vec<usize> = f
            .test
            .iter()
            .map(|&t| sol.predict_with(|s| kernel.eval(t, s)))
            .collect();
        cm.merge(&ConfusionMatrix::from_predictions(n_classes, &yte, &pred)?)?;
    }
    Ok(cm)
}

/// A kernel as the search uses it: a lookup kernel as is, any other
/// materialized once as a Gram matrix.
enum Searched<K> {
    Lookup(K),
    Gram(PrecomputedKernel),
}

impl<K: Kernel> Kernel for Searched<K> {
    fn size(&self) -> usize {
        match self {
            Searched::Lookup(k) => k.size(),
            Searched::Gram(g) => g.size(),
        }
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        match self {
            Searched::Lookup(k) => k.eval(i, j),
            Searched::Gram(g) => g.eval(i, j),
        }
    }
}

/// Searches the grid. `kernel_for_gamma(γ)` gives the kernel over all points
/// that `y` and the folds index; `progress` is called after each grid point.
pub fn grid_search<K, F>(
    kernel_for_gamma: F,
    y: &[usize],
    n_classes: usize,
    folds: &[Fold],
    search: &GridSearch,
    progress: &(dyn Fn() + Sync),
) -> Result<GridResult, SvmError>
where
    K: Kernel,
    F: Fn(f64) -> Result<K, SvmError>,
{
    search_with(
        |g| Ok(vec![kernel_for_gamma(g)?]),
        y,
        n_classes,
        folds,
        search,
        progress,
    )
}

/// [`grid_search`] with one kernel per fold: `kernel_for(i, γ)` is the
/// kernel fold `i` trains and predicts with, e.g. over features scaled by a
/// scaler fitted on that fold's training part only.
pub fn grid_search_per_fold<K, F>(
    kernel_for: F,
    y: &[usize],
    n_classes: usize,
    folds: &[Fold],
    search: &GridSearch,
    progress: &(dyn Fn() + Sync),
) -> Result<GridResult, SvmError>
where
    K: Kernel,
    F: Fn(usize, f64) -> Result<K, SvmError>,
{
    search_with(
        |g| (0..folds.len()).map(|i| kernel_for(i, g)).collect(),
        y,
        n_classes,
        folds,
        search,
        progress,
    )
}

fn search_with<K, F>(
    kernels_for_gamma: F,
    y: &[usize],
    n_classes: usize,
    folds: &[Fold],
    search: &GridSearch,
    progress: &(dyn Fn() + Sync),
) -> Result<GridResult, SvmError>
where
    K: Kernel,
    F: Fn(f64) -> Result<Vec<K>, SvmError>,
{
    let (grid, metric, base) = (&search.grid, search.metric, &search.params);
    if grid.is_empty() {
        return Err(SvmError::EmptyGrid {
            c_values: grid.log2_c.len(),
            gamma_values: grid.log2_gamma.len(),
        });
    }
    if folds.is_empty() {
        return Err(SvmError::NoFolds);
    }
    let mut points = Vec::with_capacity(grid.len());
    for &lg in &grid.log2_gamma {
        let gamma = lg.exp2();
        let kernels: Vec<Searched<K>> = kernels_for_gamma(gamma)?
            .into_iter()
            .map(|k| {
                if k.size() != y.len() {
                    return Err(SvmError::LengthMismatch {
                        what: "labels",
                        expected: k.size(),
                        found: y.len(),
                    });
                }
                Ok(if k.is_lookup() {
                    Searched::Lookup(k)
                } else {
                    Searched::Gram(gram(&k))
                })
            })
            .collect::<Result<_, SvmError>>()?;
        let row: Vec<GridPoint> = grid
            .log2_c
            .par_iter()
            .map(|&lc| {
                let params = SvcParams {
                    c: lc.exp2(),
                    probability: false,
                    ..base.clone()
                };
                let cm = cross_validate_each(&kernels, y, n_classes, folds, &params)?;
                progress();
                Ok(GridPoint {
                    c: params.c,
                    gamma,
                    accuracy: cm.accuracy(),
                    uar: cm.uar(),
                    score: metric.score(&cm),
                })
            })
            .collect::<Result<_, SvmError>>()?;
        points.extend(row);
    }
    // Highest score; ties go to the smaller C, then the smaller γ (simpler model).
    let best = points
        .iter()
        .cloned()
        .reduce(|a, b| {
            let better = b.score > a.score
                || (b.score == a.score && (b.c < a.c || (b.c == a.c && b.gamma < a.gamma)));
            if better { b } else { a }
        })
        .ok_or(SvmError::EmptyGrid {
            c_values: grid.log2_c.len(),
            gamma_values: grid.log2_gamma.len(),
        })?;
    Ok(GridResult { points, best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_range_reads_ranges_and_lists() {
        assert_eq!(Grid::parse_range("-1:3:2").unwrap(), vec![-1.0, 1.0, 3.0]);
        assert_eq!(Grid::parse_range("3:-1:-2").unwrap(), vec![3.0, 1.0, -1.0]);
        assert_eq!(Grid::parse_range("-1, 1").unwrap(), vec![-1.0, 1.0]);
    }

    #[test]
    fn parse_range_rejects_endless_or_huge_ranges_instead_of_hanging() {
        // Each of these used to loop forever (x += step no longer changes x,
        // or the bound is infinite) or allocate until the process died.
        for s in [
            "0:inf:1",
            "-inf:0:1",
            "0:1e30:1",
            "0:1:1e-12",
            "0:nan:1",
            "1:0:1",
        ] {
            assert!(Grid::parse_range(s).is_err(), "{s}");
        }
    }
}
