//! The hashing experiment: LOSO folds, SMH codes, inner (C, γ) search, SVMs.
//!
//! Cost is dominated by SVM training in the inner search. Each outer fold of
//! each (k, Δ, key seed) hashes every row once and builds one n × n matrix of
//! Hamming mismatch counts; every γ then reads `exp(−γ·d_H²)` from an (M+1)
//! entry lookup table indexed by those counts, so no γ or C recomputes a
//! distance. Work is spread over (configuration, fold) tasks with rayon.

use privox_data::{
    ConfusionMatrix, Dataset, Fold, Matrix, MinMaxScaler, group_k_fold, leave_one_group_out,
};
use privox_smh::tune::{LeakageModel, TuneOptions, tune_with_model};
use privox_smh::{SmhKey, SmhParams, hamming_counts_symmetric};
use privox_svm::{Kernel, SvcParams, cross_validate, train};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{ReproError, Result};

/// Largest γ·median(d²) searched: beyond it typical off-diagonal kernel
/// values fall below e^-16 of the diagonal, and double precision in the
/// solver's gradient could no longer resolve them once C is scaled up.
pub const MAX_GAMMA_TIMES_MEDIAN: f64 = 16.0;

/// The (C, γ) search shared by the baseline and the hashed SVMs.
///
/// γ = 2^j / s, with s the standard deviation of the squared distance (d²
/// for features, d_H² for codes) over pairs of training rows, and
/// C = 2^c / σ_K(γ), with σ_K the standard deviation of the off-diagonal
/// kernel values exp(−γ d²) over the same pairs. Near saturation all codes
/// sit at d_H ≈ 1 − 1/k, so the informative part of the kernel is a small
/// ripple on a large constant; scaling γ by the spread and C by the ripple's
/// size lets one grid fit both kernels and every (k, Δ) (an SVM on a kernel
/// scaled by a factor is the same SVM with C scaled by its inverse).
/// γ with γ·median(d²) above [`MAX_GAMMA_TIMES_MEDIAN`] are skipped.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchGrid {
    /// log2 of C·σ_K.
    pub log2_c: Vec<f64>,
    /// log2 of γ·s.
    pub log2_gamma_rel: Vec<f64>,
    /// Speaker-grouped inner folds (fewer if a fold has fewer speakers).
    pub inner_folds: usize,
    /// Seed of the inner fold assignment.
    pub inner_seed: u64,
}

/// One (k, Δ) point of Table 1/2, or a Δ-tuning row (Δ chosen per fold).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hashing {
    /// A fixed alphabet size and quantization step.
    Fixed {
        /// Alphabet size.
        k: u32,
        /// Quantization step.
        delta: f64,
    },
    /// Δ tuned per fold so that the predicted leakage meets a target.
    Tuned {
        /// Alphabet size.
        k: u32,
        /// Target leakage in percent.
        target_percent: f64,
    },
}

/// What the outer fold of one task trains.
#[derive(Clone, Copy, Debug)]
pub enum TaskKind {
    /// The RBF-SVM on the scaled features.
    Baseline,
    /// The RBF-Hamming SVM on SMH codes.
    Hashed {
        /// The (k, Δ) or tuning target.
        hashing: Hashing,
        /// The key seed.
        seed: u64,
    },
}

/// Results of one outer fold of one configuration.
#[derive(Clone, Debug)]
pub struct FoldOutcome {
    /// True classes of the held-out rows.
    pub y_true: Vec<usize>,
    /// Predicted classes of the held-out rows.
    pub y_pred: Vec<usize>,
    /// Held-out × training code pairs with d_H below the threshold.
    pub leak_below: u64,
    /// Held-out × training pairs counted.
    pub leak_pairs: u64,
    /// The chosen C.
    pub c: f64,
    /// The chosen γ.
    pub gamma: f64,
    /// Δ used (the tuned value for tuning rows).
    pub delta: Option<f64>,
    /// The analytic prediction of the tuned Δ on training pairs (percent).
    pub predicted_leak: Option<f64>,
}

/// An outer LOSO fold with its scaled features and inner folds.
pub struct OuterFold {
    /// The held-out speaker.
    pub name: String,
    /// Training rows.
    pub train: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
    /// Inner speaker-grouped folds in global row indices.
    pub inner: Vec<Fold>,
    /// All rows scaled with the scaler fit on `train` only.
    pub scaled: Matrix,
}

/// Builds the LOSO folds, scalers and inner folds of a data set.
pub fn outer_folds(data: &Dataset, grid: &SearchGrid) -> Result<Vec<OuterFold>> {
    let folds = leave_one_group_out(&data.groups, &data.group_names);
    if folds.len() < 3 {
        return Err(ReproError::TooFewSpeakers {
            found: folds.len(),
            needed: 3,
        });
    }
    folds
        .into_iter()
        .map(|f| {
            let scaler = MinMaxScaler::fit(&data.x.select_rows(&f.train)).map_err(
                ReproError::data(format!("fitting the scaler of fold {}", f.name)),
            )?;
            let scaled = scaler
                .transform(&data.x)
                .map_err(ReproError::data(format!("scaling fold {}", f.name)))?;
            let train_groups: Vec<usize> = f.train.iter().map(|&i| data.groups[i]).collect();
            let mut distinct = train_groups.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let k = grid.inner_folds.min(distinct.len());
            let inner = group_k_fold(&train_groups, k, grid.inner_seed)
                .map_err(ReproError::data(format!("inner folds of fold {}", f.name)))?
                .into_iter()
                .map(|g| Fold {
                    name: g.name,
                    train: g.train.iter().map(|&p| f.train[p]).collect(),
                    test: g.test.iter().map(|&p| f.train[p]).collect(),
                })
                .collect();
            Ok(OuterFold {
                name: f.name,
                train: f.train,
                test: f.test,
                inner,
                scaled,
            })
        })
        .collect()
}

/// `exp(−γ·d_H²)` read from a table indexed by the mismatch count.
struct CountKernel<'a> {
    n: usize,
    counts: &'a [u32],
    lut: Vec<f64>,
}

impl Kernel for CountKernel<'_> {
    fn size(&self) -> usize {
        self.n
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        // Invariant: i, j < n (the solver's contract) and every count <= M,
        // and the table has M + 1 entries.
        self.lut[self.counts[i * self.n + j] as usize]
    }
}

/// `exp(−γ·‖x_i − x_j‖²)` over a precomputed squared-distance matrix.
struct SqDistKernel<'a> {
    n: usize,
    d2: &'a [f64],
    gamma: f64,
}

impl Kernel for SqDistKernel<'_> {
    fn size(&self) -> usize {
        self.n
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        (-self.gamma * self.d2[i * self.n + j]).exp()
    }
}

/// Squared distances of training pairs, which scale the (C, γ) grid.
struct PairScale {
    /// Off-diagonal train × train squared distances (a deterministic sample).
    d2: Vec<f64>,
    median: f64,
    spread: f64,
}

/// Most training pairs looked at to scale the grid.
const MAX_SCALE_PAIRS: usize = 200_000;

impl PairScale {
    fn new(train: &[usize], n: usize, value: impl Fn(usize) -> f64) -> Self {
        let total = train.len() * train.len().saturating_sub(1) / 2;
        let step = total.div_ceil(MAX_SCALE_PAIRS).max(1);
        let mut d2 = Vec::with_capacity(total / step + 1);
        let mut p = 0usize;
        for (a, &i) in train.iter().enumerate() {
            for &j in &train[..a] {
                if p.is_multiple_of(step) {
                    d2.push(value(i * n + j));
                }
                p += 1;
            }
        }
        let (median, spread) = if d2.is_empty() {
            (1.0, 1.0)
        } else {
            let mut sorted = d2.clone();
            let mid = sorted.len() / 2;
            let (_, m, _) = sorted.select_nth_unstable_by(mid, f64::total_cmp);
            let m = *m;
            let (_, sd) = privox_data::mean_std(&d2);
            (m, sd)
        };
        let positive = |x: f64, fallback: f64| {
            if x.is_finite() && x > 0.0 {
                x
            } else {
                fallback
            }
        };
        let median = positive(median, 1.0);
        PairScale {
            d2,
            median,
            spread: positive(spread, median),
        }
    }

    /// Standard deviation of the off-diagonal kernel values exp(−γ d²).
    fn kernel_spread(&self, gamma: f64) -> f64 {
        let k: Vec<f64> = self.d2.iter().map(|&v| (-gamma * v).exp()).collect();
        privox_data::mean_std(&k).1
    }
}

/// Inner speaker-grouped search over (C, γ), then the outer fit and prediction.
fn search_and_fit<K: Kernel>(
    make_kernel: impl Fn(f64) -> K,
    scale: &PairScale,
    y: &[usize],
    fold: &OuterFold,
    grid: &SearchGrid,
) -> Result<(Vec<usize>, f64, f64)> {
    let mut gammas: Vec<f64> = grid
        .log2_gamma_rel
        .iter()
        .map(|lg| lg.exp2() / scale.spread)
        .filter(|g| g * scale.median <= MAX_GAMMA_TIMES_MEDIAN)
        .collect();
    if gammas.is_empty() {
        gammas.push(MAX_GAMMA_TIMES_MEDIAN / scale.median);
    }
    let mut best: Option<(f64, f64, f64)> = None; // (score, C, γ)
    for gamma in gammas {
        let kernel = make_kernel(gamma);
        let sigma = scale.kernel_spread(gamma);
        let unit = if sigma > 1e-12 { 1.0 / sigma } else { 1.0 };
        for &lc in &grid.log2_c {
            let c = lc.exp2() * unit;
            let params = SvcParams {
                c,
                ..SvcParams::default()
            };
            let cm = cross_validate(&kernel, y, 2, &fold.inner, &params)
                .map_err(ReproError::svm(format!("inner CV at C = {c}, γ = {gamma}")))?;
            let score = cm.uar();
            // Highest inner UAR; ties keep the earlier (smaller γ, then smaller C).
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, c, gamma));
            }
        }
    }
    let (_, c, gamma) = best.ok_or(ReproError::EmptyGrid)?;
    let kernel = make_kernel(gamma);
    let ytr: Vec<usize> = fold.train.iter().map(|&i| y[i]).collect();
    let sol = train(
        &kernel,
        &fold.train,
        &ytr,
        2,
        &SvcParams {
            c,
            ..SvcParams::default()
        },
    )
    .map_err(ReproError::svm(format!("training at C = {c}, γ = {gamma}")))?;
    let pred = fold
        .test
        .iter()
        .map(|&t| sol.predict_with(|s| kernel.eval(t, s)))
        .collect();
    Ok((pred, c, gamma))
}

/// Runs one outer fold of one configuration.
pub fn run_task(
    data: &Dataset,
    fold: &OuterFold,
    kind: TaskKind,
    mpc: usize,
    grid: &SearchGrid,
) -> Result<FoldOutcome> {
    let n = data.len();
    let cols = fold.scaled.cols();
    let y_true: Vec<usize> = fold.test.iter().map(|&i| data.y[i]).collect();
    match kind {
        TaskKind::Baseline => {
            let rows = fold.scaled.as_slice();
            let mut d2 = vec![0.0; n * n];
            d2.par_chunks_mut(n).enumerate().for_each(|(i, out)| {
                let a = &rows[i * cols..(i + 1) * cols];
                for (j, o) in out.iter_mut().enumerate() {
                    let b = &rows[j * cols..(j + 1) * cols];
                    *o = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                }
            });
            let scale = PairScale::new(&fold.train, n, |p| d2[p]);
            let (y_pred, c, gamma) = search_and_fit(
                |gamma| SqDistKernel { n, d2: &d2, gamma },
                &scale,
                &data.y,
                fold,
                grid,
            )?;
            Ok(FoldOutcome {
                y_true,
                y_pred,
                leak_below: 0,
                leak_pairs: 0,
                c,
                gamma,
                delta: None,
                predicted_leak: None,
            })
        }
        TaskKind::Hashed { hashing, seed } => {
            let (k, delta, predicted_leak) = match hashing {
                Hashing::Fixed { k, delta } => (k, delta, None),
                Hashing::Tuned { k, target_percent } => {
                    let threshold = threshold_for(k)?;
                    let train_rows = fold.scaled.select_rows(&fold.train);
                    let groups: Vec<usize> = fold.train.iter().map(|&i| data.groups[i]).collect();
                    // Only different-speaker pairs: the kind the held-out
                    // measurement counts (share of same-speaker pairs 0).
                    let opts = TuneOptions {
                        k,
                        mpc,
                        threshold,
                        target_percent,
                        max_pairs: usize::MAX,
                        seed: 0,
                        same_group_share: Some(0.0),
                    };
                    let model = LeakageModel::with_groups(
                        train_rows.as_slice(),
                        cols,
                        Some(&groups),
                        &opts,
                    )
                    .map_err(ReproError::smh("the leakage model of Δ tuning"))?;
                    let report = tune_with_model(&model, &opts).map_err(ReproError::smh(
                        format!("Δ tuning for {target_percent} % leakage at k = {k}, mpc = {mpc}"),
                    ))?;
                    let (delta, predicted) = (report.delta, report.predicted_percent);
                    (k, delta, Some(predicted))
                }
            };
            let threshold = threshold_for(k)?;
            let params = SmhParams::new(k, delta, mpc, cols).map_err(ReproError::smh(format!(
                "SMH parameters k = {k}, Δ = {delta}"
            )))?;
            let key = SmhKey::generate_with_seed(params, seed);
            let codes = key
                .hash(fold.scaled.as_slice(), cols)
                .map_err(ReproError::smh("hashing the scaled features"))?;
            let hm = hamming_counts_symmetric(&codes);
            let counts = hm.counts();
            let symbols = hm.symbols();
            let limit = threshold * symbols as f64;
            let mut leak_below = 0u64;
            for &t in &fold.test {
                leak_below += fold
                    .train
                    .iter()
                    .filter(|&&s| (counts[t * n + s] as f64) < limit)
                    .count() as u64;
            }
            let leak_pairs = (fold.test.len() * fold.train.len()) as u64;
            let inv_m2 = 1.0 / (symbols as f64 * symbols as f64);
            let scale = PairScale::new(&fold.train, n, |p| {
                let c = counts[p] as f64;
                c * c * inv_m2
            });
            let make = |gamma: f64| CountKernel {
                n,
                counts,
                lut: (0..=symbols)
                    .map(|c| {
                        let d = c as f64 / symbols as f64;
                        (-gamma * d * d).exp()
                    })
                    .collect(),
            };
            let (y_pred, c, gamma) = search_and_fit(make, &scale, &data.y, fold, grid)?;
            Ok(FoldOutcome {
                y_true,
                y_pred,
                leak_below,
                leak_pairs,
                c,
                gamma,
                delta: Some(delta),
                predicted_leak,
            })
        }
    }
}

/// The paper's privacy threshold for k.
pub fn threshold_for(k: u32) -> Result<f64> {
    privox_smh::leakage::default_threshold(k).ok_or(ReproError::NoThreshold { k })
}

/// Pools the folds of one configuration and seed.
pub fn pool(outcomes: &[&FoldOutcome]) -> Result<ConfusionMatrix> {
    let mut cm = ConfusionMatrix::new(2);
    for o in outcomes {
        let fold = ConfusionMatrix::from_predictions(2, &o.y_true, &o.y_pred)
            .map_err(ReproError::data("pooling the folds' predictions"))?;
        cm.merge(&fold)
            .map_err(ReproError::data("pooling the folds' predictions"))?;
    }
    Ok(cm)
}
