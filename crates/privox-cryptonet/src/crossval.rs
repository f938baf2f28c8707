//! Speaker-independent cross-validation with encrypted test-time inference:
//! the protocol of `privox_nn::protocol::evaluate_cells` (same folds, seeds,
//! training and scaling), except that every polynomial network classifies
//! its test speaker under CKKS, and each encrypted decision is compared with
//! the plaintext network's on the same scaled, clamped rows.

use privox_data::protocol::Fit;
use privox_data::{ConfusionMatrix, Dataset, Fold};
use privox_nn::protocol::{NetworkCells, ProtocolConfig};
use privox_nn::{Activation, NnModel};
use rayon::prelude::*;

use crate::error::{CryptonetError, Result};
use crate::plan::Packing;
use crate::roundtrip::{RoundTripOptions, round_trip};

/// A test recording whose encrypted decision differs from the plaintext one.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldDisagreement {
    /// The recording's file name.
    pub file: String,
    /// Plaintext difference between its two highest logits.
    pub margin: f64,
    /// Largest |encrypted − plaintext| logit difference of that recording.
    pub error: f64,
}

/// One seed of one encrypted cell.
#[derive(Clone, Debug)]
pub struct EncryptedRun {
    /// Training seed of this run.
    pub seed: u64,
    /// Pooled over folds: plaintext decisions.
    pub plain: ConfusionMatrix,
    /// Pooled over folds: decrypted decisions.
    pub encrypted: ConfusionMatrix,
    /// Test recordings, pooled over folds.
    pub rows: usize,
    /// Recordings whose encrypted decision equals the plaintext one.
    pub agree: usize,
    /// The recordings that differ.
    pub disagreements: Vec<FoldDisagreement>,
    /// Largest |encrypted − plaintext| logit over all rows and classes.
    pub max_abs_error: f64,
    /// Server time of each query (ms).
    pub server_ms: Vec<f64>,
    /// The plan of the first fold (all folds share the architecture).
    pub plan: String,
}

/// One evaluation of one job (e.g. "p4, BN") over every seed.
#[derive(Clone, Debug)]
pub struct EncryptedCell {
    /// Cell name (job and inference activation).
    pub name: String,
    /// Packing used for the encrypted evaluation.
    pub packing: Packing,
    /// One run per seed.
    pub runs: Vec<EncryptedRun>,
}

type TaskOut = Vec<Option<FoldResult>>;

struct FoldResult {
    truth: Vec<usize>,
    plain: Vec<usize>,
    encrypted: Vec<usize>,
    disagreements: Vec<FoldDisagreement>,
    max_abs_error: f64,
    server_ms: f64,
    plan: String,
}

/// Runs every job on every fold for every seed, encrypting the test rows of
/// every polynomial evaluation (ReLU evaluations are skipped: CKKS cannot
/// compute them). `progress` is called after each (seed, fold, job).
pub fn encrypted_cross_validate(
    data: &Dataset,
    folds: &[Fold],
    jobs: &[NetworkCells],
    cfg: &ProtocolConfig,
    packing: Packing,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<EncryptedCell>> {
    let n_classes = data.classes.len();
    let tasks: Vec<(usize, usize, usize)> = (0..cfg.seeds.len())
        .flat_map(|s| (0..folds.len()).flat_map(move |f| (0..jobs.len()).map(move |j| (s, f, j))))
        .collect();
    let outputs: Vec<Result<TaskOut>> = tasks
        .par_iter()
        .map(|&(s, f, j)| {
            let out = fold_task(data, &folds[f], &jobs[j], cfg.seeds[s], cfg, packing);
            progress();
            out
        })
        .collect();
    let mut by_task = std::collections::HashMap::new();
    for (t, o) in tasks.iter().zip(outputs) {
        by_task.insert(*t, o?);
    }
    let mut cells = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for (e, (name, _)) in job.evaluations.iter().enumerate() {
            let mut runs = Vec::new();
            for (s, &seed) in cfg.seeds.iter().enumerate() {
                let mut run = EncryptedRun {
                    seed,
                    plain: ConfusionMatrix::new(n_classes),
                    encrypted: ConfusionMatrix::new(n_classes),
                    rows: 0,
                    agree: 0,
                    disagreements: Vec::new(),
                    max_abs_error: 0.0,
                    server_ms: Vec::new(),
                    plan: String::new(),
                };
                let mut any = false;
                for f in 0..folds.len() {
                    let Some(r) = &by_task[&(s, f, j)][e] else {
                        continue;
                    };
                    any = true;
                    let cm =
                        |p: &[usize]| ConfusionMatrix::from_predictions(n_classes, &r.truth, p);
                    run.plain
                        .merge(&cm(&r.plain).map_err(data_err)?)
                        .map_err(data_err)?;
                    run.encrypted
                        .merge(&cm(&r.encrypted).map_err(data_err)?)
                        .map_err(data_err)?;
                    run.rows += r.truth.len();
                    run.agree += r
                        .plain
                        .iter()
                        .zip(&r.encrypted)
                        .filter(|(a, b)| a == b)
                        .count();
                    run.disagreements.extend(r.disagreements.iter().cloned());
                    run.max_abs_error = run.max_abs_error.max(r.max_abs_error);
                    run.server_ms.push(r.server_ms);
                    if run.plan.is_empty() {
                        run.plan = r.plan.clone();
                    }
                }
                if any {
                    runs.push(run);
                }
            }
            if !runs.is_empty() {
                cells.push(EncryptedCell {
                    name: name.clone(),
                    packing,
                    runs,
                });
            }
        }
    }
    Ok(cells)
}

fn data_err(e: privox_data::DataError) -> CryptonetError {
    CryptonetError::Data {
        what: "confusion matrix",
        source: e,
    }
}

/// Trains one job on one fold and runs each of its polynomial evaluations
/// encrypted on the fold's test rows.
fn fold_task(
    data: &Dataset,
    fold: &Fold,
    job: &NetworkCells,
    seed: u64,
    cfg: &ProtocolConfig,
    packing: Packing,
) -> Result<TaskOut> {
    let fitted = cfg.learner(&job.spec, seed).fit(data, &fold.train)?;
    let train_x = fitted.scaled(data, &fold.train, None)?;
    let test_x = fitted.scaled(data, &fold.test, cfg.clip_inputs)?;
    let test_rows: Vec<Vec<f64>> = test_x.iter_rows().map(|r| r.to_vec()).collect();
    let truth: Vec<usize> = fold.test.iter().map(|&i| data.y[i]).collect();
    job.evaluations
        .iter()
        .map(|(_, act)| {
            let network = fitted.inference_network(act.as_ref())?;
            if network.activations().any(|a| matches!(a, Activation::Relu)) {
                return Ok(None);
            }
            let model = NnModel {
                activation_max: network.preactivation_max(&train_x)?,
                network,
                scaler: fitted.scaler.clone(),
                feature_names: data.feature_names.clone(),
                class_names: data.classes.names().to_vec(),
                input_range: cfg.clip_inputs.unwrap_or(f64::MAX),
                description: format!("{} (fold {})", job.name, fold.name),
                calibration: privox_data::Calibration::None,
            };
            let opts = RoundTripOptions {
                packing,
                fill_batch: false,
                repeats: 1,
                insecure_seed: Some(seed.wrapping_mul(1000).wrapping_add(truth.len() as u64)),
            };
            let r = round_trip(&model, &test_rows, &opts, &mut |_, _| {})?;
            Ok(Some(FoldResult {
                disagreements: r
                    .disagreements
                    .iter()
                    .map(|d| FoldDisagreement {
                        file: data.files[fold.test[d.row]].clone(),
                        margin: d.margin,
                        error: d.error,
                    })
                    .collect(),
                truth: truth.clone(),
                plain: r.plain_decisions,
                encrypted: r.decisions,
                max_abs_error: r.max_abs_error,
                server_ms: r.server.median_ms,
                plan: r.plan,
            }))
        })
        .collect()
}
