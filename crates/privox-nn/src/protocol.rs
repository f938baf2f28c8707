//! The evaluation protocol: speaker-independent cross-validation with a
//! speaker-held-out validation set for early stopping, scaling fitted on
//! training rows only, and several seeds.
//!
//! Per outer fold (leave-one-speaker-out by default):
//! 1. the min-max scaler is fitted on the fold's training rows;
//! 2. `1/val_folds` of the training *speakers* are held out for early
//!    stopping (never a random row split: the same speaker on both sides
//!    would flatter the validation loss);
//! 3. one network per [`Job`] is trained, then evaluated on the test
//!    speaker with each of the job's inference activations.

use privox_data::{ConfusionMatrix, Dataset, Fold, MinMaxScaler, group_k_fold};
use rayon::prelude::*;

use crate::error::{NnError, Result};
use crate::layers::Activation;
use crate::linalg::Matrix;
use crate::model::NnModel;
use crate::network::{Mlp, NetworkSpec};
use crate::train::{Samples, TrainConfig, Trained, train};

/// One network to train per fold and the activations to evaluate it with.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub spec: NetworkSpec,
    /// `(cell name, activation used at inference)`; `None` keeps the
    /// training activation.
    pub evaluations: Vec<(String, Option<Activation>)>,
}

impl Job {
    /// A job evaluated only with its own activation.
    pub fn plain(name: &str, spec: NetworkSpec) -> Self {
        Job {
            name: name.into(),
            spec,
            evaluations: vec![(name.into(), None)],
        }
    }
}

/// Protocol settings shared by every job (the range penalty applies only
/// to jobs whose activation has an interval, or when one is given).
#[derive(Clone, Debug)]
pub struct ProtocolConfig {
    pub train: TrainConfig,
    /// Hold out `1/val_folds` of the training speakers for early stopping
    /// (clamped to the number of training speakers).
    pub val_folds: usize,
    /// Training seeds; each gives one full cross-validation run.
    pub seeds: Vec<u64>,
    /// Clamp scaled features to `[-c, c]` before the network (the client
    /// scales in the clear before encrypting, so this costs nothing under
    /// HE). Unseen speakers can fall far outside the training range, and a
    /// polynomial activation amplifies that; `None` disables clamping.
    pub clip_inputs: Option<f64>,
}

/// Results of one evaluation cell (job × inference activation) for one seed.
#[derive(Clone, Debug)]
pub struct CellRun {
    pub seed: u64,
    /// `(fold name, confusion matrix)` per outer fold.
    pub per_fold: Vec<(String, ConfusionMatrix)>,
    /// All test predictions of all folds pooled.
    pub pooled: ConfusionMatrix,
    /// Epochs kept (best validation epoch) per fold.
    pub best_epochs: Vec<usize>,
    /// Largest |pre-activation| on the test rows over all folds and layers.
    pub max_preactivation: f64,
}

/// All seeds of one evaluation cell.
#[derive(Clone, Debug)]
pub struct CellResult {
    pub name: String,
    pub runs: Vec<CellRun>,
}

/// A network trained on one fold with the scaler it expects.
#[derive(Clone, Debug)]
pub struct FittedFold {
    pub scaler: MinMaxScaler,
    pub trained: Trained,
}

fn data_err(e: privox_data::DataError) -> NnError {
    NnError::Shape(e.to_string())
}

/// Splits `train_idx` into (fit rows, validation rows) by speaker.
pub fn speaker_holdout(
    data: &Dataset,
    train_idx: &[usize],
    val_folds: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let groups: Vec<usize> = train_idx.iter().map(|&i| data.groups[i]).collect();
    let mut distinct = groups.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(NnError::InvalidConfig(format!(
            "early stopping needs at least two training speakers to hold one out, found {}; use --patience 0",
            distinct.len()
        )));
    }
    let k = val_folds.clamp(2, distinct.len());
    let folds = group_k_fold(&groups, k, seed).map_err(data_err)?;
    let inner = &folds[0];
    Ok((
        inner.train.iter().map(|&j| train_idx[j]).collect(),
        inner.test.iter().map(|&j| train_idx[j]).collect(),
    ))
}

/// Fits the scaler on `train_idx` and trains `spec`, early-stopping on
/// held-out training speakers when `cfg.patience > 0`.
pub fn fit(
    data: &Dataset,
    train_idx: &[usize],
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    val_folds: usize,
) -> Result<FittedFold> {
    if train_idx.is_empty() {
        return Err(NnError::EmptyData("training fold"));
    }
    let train_x = data.x.select_rows(train_idx);
    let scaler = MinMaxScaler::fit(&train_x).map_err(data_err)?;
    let scaled = scaler.transform(&data.x).map_err(data_err)?;
    let (fit_idx, val_idx) = if cfg.patience > 0 {
        speaker_holdout(data, train_idx, val_folds, cfg.seed)?
    } else {
        (train_idx.to_vec(), Vec::new())
    };
    let (xf, yf) = rows(&scaled, &data.y, &fit_idx);
    let (xv, yv) = rows(&scaled, &data.y, &val_idx);
    let val = (!val_idx.is_empty()).then_some(Samples { x: &xv, y: &yv });
    let trained = train(
        spec,
        cfg,
        data.classes.len(),
        Samples { x: &xf, y: &yf },
        val,
        &mut |_| {},
    )?;
    Ok(FittedFold { scaler, trained })
}

fn rows(x: &Matrix, y: &[usize], idx: &[usize]) -> (Matrix, Vec<usize>) {
    (x.select_rows(idx), idx.iter().map(|&i| y[i]).collect())
}

/// Predictions of `net` (optionally with its activation swapped) on rows `idx`.
fn predict(
    fitted: &FittedFold,
    act: Option<&Activation>,
    data: &Dataset,
    idx: &[usize],
    clip: Option<f64>,
) -> Result<(Vec<usize>, f64)> {
    let mut x = fitted
        .scaler
        .transform(&data.x.select_rows(idx))
        .map_err(data_err)?;
    if let Some(c) = clip {
        clamp(&mut x, c);
    }
    let net: Mlp = match act {
        Some(a) => fitted.trained.network.with_activation(a),
        None => fitted.trained.network.clone(),
    };
    let folded = net.fold()?;
    let max_pre = folded
        .preactivation_max(&x)?
        .into_iter()
        .fold(0.0, f64::max);
    Ok((folded.predict(&x)?, max_pre))
}

/// Clamps every value of `x` to `[-c, c]`.
pub fn clamp(x: &mut Matrix, c: f64) {
    x.as_mut_slice()
        .iter_mut()
        .for_each(|v| *v = v.clamp(-c, c));
}

/// Runs every job on every fold for every seed (in parallel) and gathers
/// per-cell results. `progress` is called once per finished training.
pub fn cross_validate(
    data: &Dataset,
    folds: &[Fold],
    jobs: &[Job],
    cfg: &ProtocolConfig,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<CellResult>> {
    let n_classes = data.classes.len();
    let tasks: Vec<(usize, usize, usize)> = (0..cfg.seeds.len())
        .flat_map(|s| (0..folds.len()).flat_map(move |f| (0..jobs.len()).map(move |j| (s, f, j))))
        .collect();
    // Each task: predictions per evaluation of job j on fold f for seed s.
    type TaskOut = (Vec<(Vec<usize>, f64)>, usize);
    let outputs: Vec<Result<TaskOut>> = tasks
        .par_iter()
        .map(|&(s, f, j)| {
            let spec = &jobs[j].spec;
            // The range penalty needs an interval: ReLU jobs without an
            // explicit one train without it.
            let has_interval =
                spec.activation.interval().is_some() || cfg.train.range_interval.is_some();
            let tc = TrainConfig {
                seed: cfg.seeds[s],
                range_penalty: if has_interval {
                    cfg.train.range_penalty
                } else {
                    0.0
                },
                ..cfg.train.clone()
            };
            let fitted = fit(data, &folds[f].train, &jobs[j].spec, &tc, cfg.val_folds)?;
            let preds = jobs[j]
                .evaluations
                .iter()
                .map(|(_, act)| {
                    predict(&fitted, act.as_ref(), data, &folds[f].test, cfg.clip_inputs)
                })
                .collect::<Result<Vec<_>>>()?;
            progress();
            Ok((preds, fitted.trained.best_epoch))
        })
        .collect();
    let mut outputs = outputs.into_iter().collect::<Result<Vec<_>>>()?.into_iter();

    // Re-assemble in task order: seed → fold → job.
    let mut by_task = std::collections::HashMap::new();
    for t in &tasks {
        // Invariant: one output per task, in task order.
        by_task.insert(*t, outputs.next().expect("one output per task"));
    }
    let mut cells = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for (e, (cell_name, _)) in job.evaluations.iter().enumerate() {
            let mut runs = Vec::new();
            for (s, &seed) in cfg.seeds.iter().enumerate() {
                let mut per_fold = Vec::new();
                let mut pooled = ConfusionMatrix::new(n_classes);
                let mut best_epochs = Vec::new();
                let mut max_pre = 0.0f64;
                for (f, fold) in folds.iter().enumerate() {
                    let (preds, best) = &by_task[&(s, f, j)];
                    let (p, m) = &preds[e];
                    let truth: Vec<usize> = fold.test.iter().map(|&i| data.y[i]).collect();
                    let cm = ConfusionMatrix::from_predictions(n_classes, &truth, p)
                        .map_err(data_err)?;
                    pooled.merge(&cm).map_err(data_err)?;
                    per_fold.push((fold.name.clone(), cm));
                    best_epochs.push(*best);
                    max_pre = max_pre.max(*m);
                }
                runs.push(CellRun {
                    seed,
                    per_fold,
                    pooled,
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

/// Trains on all of `data` (with a speaker-held-out validation set when
/// `cfg.patience > 0`) and packages the folded network as a model file.
pub fn train_model(
    data: &Dataset,
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    val_folds: usize,
    description: String,
) -> Result<NnModel> {
    let all: Vec<usize> = (0..data.len()).collect();
    let fitted = fit(data, &all, spec, cfg, val_folds)?;
    let scaled = fitted.scaler.transform(&data.x).map_err(data_err)?;
    let network = fitted.trained.network.fold()?;
    let activation_max = network.preactivation_max(&scaled)?;
    let model = NnModel {
        network,
        scaler: fitted.scaler,
        feature_names: data.feature_names.clone(),
        class_names: data.classes.names().to_vec(),
        input_range: 1.0,
        activation_max,
        description,
    };
    model.validate()?;
    Ok(model)
}
