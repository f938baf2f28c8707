//! The table runner: several networks, each evaluated with one or more
//! inference activations ("cells"), over the same folds and several seeds,
//! every (seed, fold, network) training in parallel. Each cell and seed
//! gives an [`Evaluation`] of the shared protocol (per-fold and pooled
//! confusion), plus what the MLP reports besides: the kept epochs and the
//! largest pre-activation on the held-out rows.

use privox_data::protocol::{Evaluation, Fit, FoldResult, Predict};
use privox_data::{ConfusionMatrix, Dataset, Fold, mean_std};
use rayon::prelude::*;

use super::learner::MlpLearner;
use super::recipe::EpochSelection;
use crate::error::Result;
use crate::layers::Activation;
use crate::network::NetworkSpec;
use crate::train::TrainConfig;

/// One network to train per fold and seed, and the cells it is evaluated
/// in: one per inference activation.
#[derive(Clone, Debug)]
pub struct NetworkCells {
    /// Name used in reports.
    pub name: String,
    /// The network to train.
    pub spec: NetworkSpec,
    /// `(cell name, activation used at inference)`; `None` keeps the
    /// training activation.
    pub evaluations: Vec<(String, Option<Activation>)>,
}

impl NetworkCells {
    /// A network evaluated only with its own activation, in one cell named `name`.
    pub fn plain(name: &str, spec: NetworkSpec) -> Self {
        NetworkCells {
            name: name.into(),
            spec,
            evaluations: vec![(name.into(), None)],
        }
    }
}

/// Protocol settings shared by every network of a table (the range
/// penalty applies only to networks whose activation has an interval, or
/// when one is given).
#[derive(Clone, Debug)]
pub struct ProtocolConfig {
    /// Optimiser, loss weights, epochs, patience, range penalty (the seed
    /// is replaced by each of `seeds`).
    pub train: TrainConfig,
    /// How each training fold chooses its epoch count.
    pub selection: EpochSelection,
    /// Training seeds; each gives one full run over the folds.
    pub seeds: Vec<u64>,
    /// Clamp scaled features to `[-c, c]` before the network; `None`
    /// disables clamping (see [`MlpLearner::clip_inputs`]).
    pub clip_inputs: Option<f64>,
}

impl ProtocolConfig {
    /// The learner of `spec` for seed `seed` (inference activation: the training one).
    pub fn learner(&self, spec: &NetworkSpec, seed: u64) -> MlpLearner {
        MlpLearner {
            spec: spec.clone(),
            train: TrainConfig {
                seed,
                ..self.train.clone()
            },
            selection: self.selection.clone(),
            inference: None,
            clip_inputs: self.clip_inputs,
        }
    }
}

/// Results of one evaluation cell (network × inference activation) for one seed.
#[derive(Clone, Debug)]
pub struct CellRun {
    /// Training seed of this run.
    pub seed: u64,
    /// Per-fold and pooled results on the held-out rows.
    pub evaluation: Evaluation,
    /// Epochs kept per fold.
    pub best_epochs: Vec<usize>,
    /// Largest |pre-activation| on the test rows over all folds and layers.
    pub max_preactivation: f64,
}

impl CellRun {
    /// All held-out predictions pooled.
    pub fn pooled(&self) -> &ConfusionMatrix {
        &self.evaluation.pooled
    }

    /// Folds whose test rows hold at least two classes but which were all
    /// predicted as one class: the symptom of a collapsed network.
    pub fn collapsed_folds(&self) -> Vec<&str> {
        self.evaluation
            .folds
            .iter()
            .filter(|f| is_collapsed(&f.confusion))
            .map(|f| f.name.as_str())
            .collect()
    }
}

/// True when `cm` has at least two true classes and one predicted class.
pub fn is_collapsed(cm: &ConfusionMatrix) -> bool {
    let k = cm.n_classes();
    let true_classes = (0..k)
        .filter(|&t| (0..k).any(|p| cm.count(t, p) > 0))
        .count();
    let predicted = (0..k)
        .filter(|&p| (0..k).any(|t| cm.count(t, p) > 0))
        .count();
    true_classes >= 2 && predicted == 1
}

/// All seeds of one evaluation cell.
#[derive(Clone, Debug)]
pub struct CellResult {
    /// Cell name (network and inference activation).
    pub name: String,
    /// One run per seed.
    pub runs: Vec<CellRun>,
}

/// Mean, sample standard deviation and worst seed of a cell's pooled
/// metrics (percentages).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedSummary {
    /// Number of seeds (runs).
    pub seeds: usize,
    /// Pooled accuracy (%), mean over the seeds.
    pub accuracy_mean: f64,
    /// Pooled accuracy (%), sample standard deviation over the seeds.
    pub accuracy_std: f64,
    /// Pooled UAR (%), mean over the seeds.
    pub uar_mean: f64,
    /// Pooled UAR (%), sample standard deviation over the seeds.
    pub uar_std: f64,
    /// The seed with the lowest pooled UAR.
    pub worst_seed: u64,
    /// That seed's pooled UAR (%).
    pub worst_uar: f64,
    /// Collapsed folds (see [`CellRun::collapsed_folds`]) summed over seeds.
    pub collapsed_folds: usize,
    /// Mean kept epoch over folds and seeds.
    pub mean_epoch: f64,
    /// Largest |pre-activation| on the test rows over all seeds.
    pub max_preactivation: f64,
}

impl CellResult {
    /// Mean ± std over the seeds, the worst seed and the collapsed folds.
    /// `None` when the cell has no runs.
    pub fn summary(&self) -> Option<SeedSummary> {
        let worst = self
            .runs
            .iter()
            .min_by(|a, b| a.pooled().uar().total_cmp(&b.pooled().uar()))?;
        let accs: Vec<f64> = self
            .runs
            .iter()
            .map(|r| 100.0 * r.pooled().accuracy())
            .collect();
        let uars: Vec<f64> = self.runs.iter().map(|r| 100.0 * r.pooled().uar()).collect();
        let ((am, asd), (um, usd)) = (mean_std(&accs), mean_std(&uars));
        let epochs: Vec<f64> = self
            .runs
            .iter()
            .flat_map(|r| r.best_epochs.iter().map(|&e| e as f64))
            .collect();
        Some(SeedSummary {
            seeds: self.runs.len(),
            accuracy_mean: am,
            accuracy_std: asd,
            uar_mean: um,
            uar_std: usd,
            worst_seed: worst.seed,
            worst_uar: 100.0 * worst.pooled().uar(),
            collapsed_folds: self.runs.iter().map(|r| r.collapsed_folds().len()).sum(),
            mean_epoch: mean_std(&epochs).0,
            max_preactivation: self
                .runs
                .iter()
                .map(|r| r.max_preactivation)
                .fold(0.0, f64::max),
        })
    }
}

/// What one (seed, fold, network) training gives: per evaluation, the
/// predictions and the largest pre-activation; the fit's choices.
struct TaskOut {
    predictions: Vec<(Vec<usize>, f64)>,
    best_epoch: usize,
    chosen: Vec<(String, f64)>,
}

/// Runs every network on every fold for every seed (all in parallel) and
/// gathers one [`CellResult`] per cell, in network then evaluation order.
/// Each training is [`MlpLearner`] (via [`ProtocolConfig::learner`]) fitted
/// on the fold's training rows; `progress` is called once per finished
/// training.
pub fn evaluate_cells(
    data: &Dataset,
    folds: &[Fold],
    networks: &[NetworkCells],
    cfg: &ProtocolConfig,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>> {
    let n_classes = data.classes.len();
    let (n_folds, n_nets) = (folds.len(), networks.len());
    // Task order: seed → fold → network; task (s, f, j) is at (s·F + f)·J + j.
    let tasks: Vec<(usize, usize, usize)> = (0..cfg.seeds.len())
        .flat_map(|s| (0..n_folds).flat_map(move |f| (0..n_nets).map(move |j| (s, f, j))))
        .collect();
    let outputs = tasks
        .par_iter()
        .map(|&(s, f, j)| {
            let model = cfg
                .learner(&networks[j].spec, cfg.seeds[s])
                .fit(data, &folds[f].train)?;
            let predictions = networks[j]
                .evaluations
                .iter()
                .map(|(_, act)| model.predict_with(data, &folds[f].test, act.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            progress();
            Ok(TaskOut {
                predictions,
                best_epoch: model.trained.best_epoch,
                chosen: model.chosen(),
            })
        })
        .collect::<Result<Vec<TaskOut>>>()?;

    let mut cells = Vec::new();
    for (j, net) in networks.iter().enumerate() {
        for (e, (cell_name, _)) in net.evaluations.iter().enumerate() {
            let mut runs = Vec::new();
            for (s, &seed) in cfg.seeds.iter().enumerate() {
                let mut results = Vec::with_capacity(n_folds);
                let mut best_epochs = Vec::with_capacity(n_folds);
                let mut max_pre = 0.0f64;
                for (f, fold) in folds.iter().enumerate() {
                    let out = &outputs[(s * n_folds + f) * n_nets + j];
                    let (predictions, m) = &out.predictions[e];
                    let truth: Vec<usize> = fold.test.iter().map(|&i| data.y[i]).collect();
                    results.push(FoldResult {
                        name: fold.name.clone(),
                        rows: fold.test.clone(),
                        predictions: predictions.clone(),
                        confusion: ConfusionMatrix::from_predictions(
                            n_classes,
                            &truth,
                            predictions,
                        )?,
                        chosen: out.chosen.clone(),
                    });
                    best_epochs.push(out.best_epoch);
                    max_pre = max_pre.max(*m);
                }
                runs.push(CellRun {
                    seed,
                    evaluation: Evaluation::from_folds(n_classes, results)?,
                    best_epochs,
                    max_preactivation: max_pre,
                });
            }
            cells.push(CellResult {
                name: cell_name.clone(),
                runs,
            });
        }
    }
    Ok(cells)
}
