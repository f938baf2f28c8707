//! The hashing experiment: LOSO folds, SMH codes, inner (C, γ) search, SVMs.
//!
//! Every SVM goes through the shared protocol: [`privox_svm::SvmLearner`]
//! fitted on the outer fold's training rows (inner speaker-grouped search
//! over one absolute (C, γ) grid) and predicting its held-out speaker.
//! Cost is dominated by SVM training in the inner search. Each outer fold of
//! each (k, Δ, key seed) hashes every row once into a
//! [`privox_svm::CodeDataset`] whose one n × n matrix of Hamming mismatch
//! counts serves the leakage count, every γ and every C. Work is spread over
//! (configuration, fold) tasks with rayon.

use privox_data::{
    ConfusionMatrix, Dataset, Fit, InnerSplit, Matrix, Metric, MinMaxScaler, Predict,
    leave_one_group_out,
};
use privox_smh::tune::{LeakageModel, TuneOptions, tune_with_model};
use privox_smh::{SmhKey, SmhParams};
use privox_svm::{CodeDataset, Grid, InnerScaling, SvmData, SvmLearner, Tuning};
use serde::{Deserialize, Serialize};

use crate::{ReproError, Result};

/// The (C, γ) search shared by the baseline and the hashed SVMs: one
/// absolute grid, γ on ‖x − y‖² of the fold's min-max scaled features or on
/// the normalized d_H², highest pooled inner UAR (ties: smaller C, then
/// smaller γ).
///
/// Until issue 14 this grid was *relative* (γ scaled by the spread of the
/// training pairs' d², C by the spread of the kernel values, γ·median(d²) ≤
/// 16). Near saturation that put the smallest C 7–9 octaves above the
/// strongly regularised region nEMO's inner search wants, and cost the
/// hashed cells 3.5–8 points there (`privox-svm --example
/// hashing_grid_study`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchGrid {
    /// log2 of C.
    pub log2_c: Vec<f64>,
    /// log2 of γ.
    pub log2_gamma: Vec<f64>,
    /// Speaker-grouped inner folds (fewer if a fold has fewer speakers).
    pub inner_folds: usize,
    /// Seed of the inner fold assignment.
    pub inner_seed: u64,
}

impl SearchGrid {
    /// The shared learner searching this grid.
    pub fn learner(&self) -> SvmLearner {
        SvmLearner {
            tuning: Tuning::Search {
                grid: Grid {
                    log2_c: self.log2_c.clone(),
                    log2_gamma: self.log2_gamma.clone(),
                },
                metric: Metric::Uar,
                inner: InnerSplit {
                    folds: self.inner_folds,
                    seed: self.inner_seed,
                },
                scaling: InnerScaling::TrainingRows,
            },
            ..SvmLearner::default()
        }
    }
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

/// An outer LOSO fold with its scaled features.
pub struct OuterFold {
    /// The held-out speaker.
    pub name: String,
    /// Training rows.
    pub train: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
    /// All rows scaled with the scaler fit on `train` only.
    pub scaled: Matrix,
}

/// Builds the LOSO folds and their scalers.
pub fn outer_folds(data: &Dataset) -> Result<Vec<OuterFold>> {
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
            Ok(OuterFold {
                name: f.name,
                train: f.train,
                test: f.test,
                scaled,
            })
        })
        .collect()
}

/// Fits the shared learner on the fold's training rows, predicts its test rows.
fn fit_predict<D: SvmData>(
    data: &D,
    fold: &OuterFold,
    grid: &SearchGrid,
) -> Result<(Vec<usize>, f64, f64)> {
    let fit = grid
        .learner()
        .fit(data, &fold.train)
        .map_err(ReproError::svm(format!("fitting outer fold {}", fold.name)))?;
    let pred = fit
        .predict(data, &fold.test)
        .map_err(ReproError::svm(format!(
            "predicting outer fold {}",
            fold.name
        )))?;
    Ok((pred, fit.c(), fit.gamma()))
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
            // The learner fits its scaler on the training rows: the same
            // scaling as `fold.scaled`.
            let (y_pred, c, gamma) = fit_predict(data, fold, grid)?;
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
            let codes = CodeDataset::new(
                codes,
                data.y.clone(),
                data.groups.clone(),
                data.group_names.clone(),
                data.classes.names().to_vec(),
            )
            .map_err(ReproError::svm("labelling the codes"))?;
            let hm = codes.hamming();
            let counts = hm.counts();
            let limit = threshold * hm.symbols() as f64;
            let mut leak_below = 0u64;
            for &t in &fold.test {
                leak_below += fold
                    .train
                    .iter()
                    .filter(|&&s| (counts[t * n + s] as f64) < limit)
                    .count() as u64;
            }
            let leak_pairs = (fold.test.len() * fold.train.len()) as u64;
            let (y_pred, c, gamma) = fit_predict(&codes, fold, grid)?;
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
