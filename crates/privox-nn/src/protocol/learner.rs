//! The MLP as a [`Fit`]/[`Predict`] pair of the shared evaluation protocol
//! ([`privox_data::protocol`]): [`MlpLearner`] fits the min-max scaler on
//! the training rows, chooses the epoch count (and BN `γ₀`) on the training
//! speakers only, and trains; its [`FittedMlp`] predicts held-out rows with
//! the inference activation (e.g. a polynomial replacing ReLU).

use privox_data::protocol::{Fit, Predict, check_rows};
use privox_data::{Dataset, MinMaxScaler};

use super::recipe::{EpochSelection, Recipe};
use super::split::{ClassAwareInnerSplit, pick_validation_fold, speaker_holdout};
use crate::error::{NnError, Result};
use crate::fold::FoldedMlp;
use crate::layers::Activation;
use crate::linalg::Matrix;
use crate::model::NnModel;
use crate::network::{Mlp, NetworkSpec};
use crate::train::{EpochStats, Samples, StopOn, TrainConfig, Trained, train};

/// Trains one MLP per call of [`Fit::fit`]: scaler on the training rows,
/// epoch selection on the training speakers, the network, and the
/// inference settings its [`FittedMlp`] predicts with.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpLearner {
    /// The network to train.
    pub spec: NetworkSpec,
    /// Optimiser, loss weights, epochs, patience, range penalty, seed.
    pub train: TrainConfig,
    /// How the epoch count (and BN `γ₀`) is chosen on the training speakers.
    pub selection: EpochSelection,
    /// Activation at inference; `None` keeps the training one (the paper's
    /// recipe trains with ReLU and swaps in a polynomial here).
    pub inference: Option<Activation>,
    /// Clamp scaled features to `[-c, c]` before the network (the client
    /// scales in the clear before encrypting, so this costs nothing under
    /// HE). Unseen speakers can fall far outside the training range, and a
    /// polynomial activation amplifies that; `None` disables clamping.
    pub clip_inputs: Option<f64>,
}

impl MlpLearner {
    /// `spec` trained with `recipe` (its seed), evaluated with its own
    /// activation and inputs clamped to `[-1, 1]` (the default of `privox nn`).
    pub fn new(spec: NetworkSpec, recipe: &Recipe) -> Self {
        MlpLearner {
            spec,
            train: recipe.train.clone(),
            selection: recipe.selection.clone(),
            inference: None,
            clip_inputs: Some(1.0),
        }
    }

    /// The same learner with another training seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.train.seed = seed;
        self
    }
}

impl Fit<Dataset> for MlpLearner {
    type Model = FittedMlp;
    type Error = NnError;

    fn fit(&self, data: &Dataset, rows: &[usize]) -> Result<FittedMlp> {
        check_rows(data, rows)?;
        let (scaler, trained, bn_gamma_init) =
            fit_network(data, rows, &self.spec, &self.train, &self.selection)?;
        Ok(FittedMlp {
            scaler,
            trained,
            batch_norm: self.spec.batch_norm,
            bn_gamma_init,
            inference: self.inference.clone(),
            clip_inputs: self.clip_inputs,
        })
    }
}

/// A network trained on some rows, with the scaler it expects and the
/// inference settings of its learner.
#[derive(Clone, Debug)]
pub struct FittedMlp {
    /// The min-max scaler fitted on the training rows.
    pub scaler: MinMaxScaler,
    /// The trained network and its history (`best_epoch`: the kept epoch count).
    pub trained: Trained,
    /// Whether the network has batch-norm.
    pub batch_norm: bool,
    /// The initial BN `γ` it was trained with (the inner search's pick, or the spec's).
    pub bn_gamma_init: f64,
    /// Activation at inference; `None` keeps the training one.
    pub inference: Option<Activation>,
    /// Clamp of the scaled features at inference.
    pub clip_inputs: Option<f64>,
}

impl FittedMlp {
    /// Scaled (and, with `clip`, clamped) features of `rows`.
    pub fn scaled(&self, data: &Dataset, rows: &[usize], clip: Option<f64>) -> Result<Matrix> {
        let mut x = self.scaler.transform(&data.x.select_rows(rows))?;
        if let Some(c) = clip {
            clamp(&mut x, c);
        }
        Ok(x)
    }

    /// The folded inference network with `act` swapped in (`None`: the
    /// training activation).
    pub fn inference_network(&self, act: Option<&Activation>) -> Result<FoldedMlp> {
        let net: Mlp = match act {
            Some(a) => self.trained.network.with_activation(a),
            None => self.trained.network.clone(),
        };
        net.fold()
    }

    /// Predictions on `rows` with activation `act` (`None`: the training
    /// one) and the largest `|pre-activation|` seen on them.
    pub fn predict_with(
        &self,
        data: &Dataset,
        rows: &[usize],
        act: Option<&Activation>,
    ) -> Result<(Vec<usize>, f64)> {
        let x = self.scaled(data, rows, self.clip_inputs)?;
        let folded = self.inference_network(act)?;
        let max_pre = folded
            .preactivation_max(&x)?
            .into_iter()
            .fold(0.0, f64::max);
        Ok((folded.predict(&x)?, max_pre))
    }
}

impl Predict<Dataset> for FittedMlp {
    type Error = NnError;

    fn predict(&self, data: &Dataset, rows: &[usize]) -> Result<Vec<usize>> {
        check_rows(data, rows)?;
        let x = self.scaled(data, rows, self.clip_inputs)?;
        self.inference_network(self.inference.as_ref())?.predict(&x)
    }

    /// `epochs` (the kept epoch count) and, with batch-norm, `bn_gamma_init`.
    fn chosen(&self) -> Vec<(String, f64)> {
        let mut c = vec![("epochs".to_string(), self.trained.best_epoch as f64)];
        if self.batch_norm {
            c.push(("bn_gamma_init".to_string(), self.bn_gamma_init));
        }
        c
    }
}

/// Fits the scaler on `train_idx` and trains `spec`, choosing the epoch
/// count on the training speakers as `selection` says (with
/// `cfg.patience == 0`: all rows, `cfg.max_epochs` epochs). Returns the
/// scaler, the training outcome and the BN `γ₀` used.
fn fit_network(
    data: &Dataset,
    train_idx: &[usize],
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    selection: &EpochSelection,
) -> Result<(MinMaxScaler, Trained, f64)> {
    if train_idx.is_empty() {
        return Err(NnError::EmptyData("training fold"));
    }
    let n_classes = data.classes.len();
    // The range penalty needs an interval: ReLU networks without an
    // explicit one train without it.
    let cfg = &TrainConfig {
        range_penalty: if spec.activation.interval().is_some() || cfg.range_interval.is_some() {
            cfg.range_penalty
        } else {
            0.0
        },
        ..cfg.clone()
    };
    let train_x = data.x.select_rows(train_idx);
    let scaler = MinMaxScaler::fit(&train_x)?;
    let scaled = scaler.transform(&data.x)?;
    let run = |spec: &NetworkSpec, fit_idx: &[usize], val_idx: &[usize], cfg: &TrainConfig| {
        let (xf, yf) = rows(&scaled, &data.y, fit_idx);
        let (xv, yv) = rows(&scaled, &data.y, val_idx);
        let val = (!val_idx.is_empty()).then_some(Samples { x: &xv, y: &yv });
        train(
            spec,
            cfg,
            n_classes,
            Samples { x: &xf, y: &yf },
            val,
            &mut |_| {},
        )
    };
    if cfg.patience == 0 {
        let trained = run(spec, train_idx, &[], cfg)?;
        return Ok((scaler, trained, spec.bn_gamma_init));
    }
    let (trained, gamma) = match *selection {
        EpochSelection::Holdout {
            val_folds,
            class_aware: false,
        } => {
            let (fit_idx, val_idx) = speaker_holdout(data, train_idx, val_folds, cfg.seed)?;
            (run(spec, &fit_idx, &val_idx, cfg)?, spec.bn_gamma_init)
        }
        EpochSelection::Holdout {
            val_folds,
            class_aware: true,
        } => {
            let folds = ClassAwareInnerSplit {
                folds: val_folds,
                seed: cfg.seed,
            }
            .folds(data, train_idx)?;
            let inner = pick_validation_fold(&folds, &data.y, n_classes);
            (
                run(spec, &inner.train, &inner.test, cfg)?,
                spec.bn_gamma_init,
            )
        }
        EpochSelection::InnerCv {
            folds,
            ref bn_gamma_grid,
        } => {
            let inner = ClassAwareInnerSplit {
                folds,
                seed: cfg.seed,
            }
            .folds(data, train_idx)?;
            let candidates: Vec<NetworkSpec> = if spec.batch_norm
                && spec.activation.interval().is_some()
                && !bn_gamma_grid.is_empty()
            {
                bn_gamma_grid
                    .iter()
                    .map(|&g| NetworkSpec {
                        bn_gamma_init: g,
                        ..spec.clone()
                    })
                    .collect()
            } else {
                vec![spec.clone()]
            };
            // (mean validation figure, epochs, candidate)
            let mut best: Option<(f64, usize, &NetworkSpec)> = None;
            for candidate in &candidates {
                let mut curves: Vec<Vec<EpochStats>> = Vec::new();
                for f in &inner {
                    match run(candidate, &f.train, &f.test, cfg) {
                        Ok(t) => curves.push(t.history),
                        // An inner training part with one class: skip that fold.
                        Err(NnError::SingleClass { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                if curves.is_empty() {
                    return Err(NnError::NoTwoClassInnerFold);
                }
                let (epochs, value) = best_mean_epoch(&curves, cfg.stop_on, cfg.min_epochs);
                if best.is_none_or(|(v, _, _)| value < v) {
                    best = Some((value, epochs, candidate));
                }
            }
            // Invariant: `candidates` is never empty, so the loop set `best`.
            let (_, epochs, chosen) = best.expect("at least one candidate");
            let refit = TrainConfig {
                max_epochs: epochs,
                patience: 0,
                ..cfg.clone()
            };
            let mut t = run(chosen, train_idx, &[], &refit)?;
            t.best_epoch = epochs;
            (t, chosen.bn_gamma_init)
        }
    };
    Ok((scaler, trained, gamma))
}

/// The epoch (1-based, ≥ `min_epochs`) whose validation figure, averaged
/// over the inner folds, is best, and that mean figure (lower is better:
/// the loss, or minus the UAR). A fold that stopped early contributes its
/// last value to later epochs.
pub(crate) fn best_mean_epoch(
    curves: &[Vec<EpochStats>],
    stop_on: StopOn,
    min_epochs: usize,
) -> (usize, f64) {
    let len = curves.iter().map(Vec::len).max().unwrap_or(0);
    let value = |s: &EpochStats| match stop_on {
        StopOn::ValLoss => s.val_loss.unwrap_or(f64::INFINITY),
        StopOn::ValUar => -s.val_uar.unwrap_or(0.0),
    };
    let mut best = (f64::INFINITY, len.max(1));
    for e in min_epochs.max(1)..=len {
        let mean = curves
            .iter()
            .filter_map(|c| c.get(e - 1).or(c.last()).map(value))
            .sum::<f64>()
            / curves.len() as f64;
        if mean < best.0 {
            best = (mean, e);
        }
    }
    (best.1, best.0)
}

fn rows(x: &Matrix, y: &[usize], idx: &[usize]) -> (Matrix, Vec<usize>) {
    (x.select_rows(idx), idx.iter().map(|&i| y[i]).collect())
}

/// Clamps every value of `x` to `[-c, c]`.
pub fn clamp(x: &mut Matrix, c: f64) {
    x.as_mut_slice()
        .iter_mut()
        .for_each(|v| *v = v.clamp(-c, c));
}

/// Trains on all of `data` (with the paper's speaker-held-out validation
/// set when `cfg.patience > 0`) and packages the folded network as a model
/// file. See [`train_model_with`] for the other epoch selections.
pub fn train_model(
    data: &Dataset,
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    val_folds: usize,
    description: String,
) -> Result<NnModel> {
    let selection = EpochSelection::Holdout {
        val_folds,
        class_aware: false,
    };
    train_model_with(data, spec, cfg, &selection, description)
}

/// Trains on all of `data`, choosing the epoch count as `selection` says,
/// and packages the folded network as a model file.
pub fn train_model_with(
    data: &Dataset,
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    selection: &EpochSelection,
    description: String,
) -> Result<NnModel> {
    let all: Vec<usize> = (0..data.len()).collect();
    let learner = MlpLearner {
        spec: spec.clone(),
        train: cfg.clone(),
        selection: selection.clone(),
        inference: None,
        clip_inputs: None,
    };
    let fitted = learner.fit(data, &all)?;
    let scaled = fitted.scaler.transform(&data.x)?;
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
        // The caller records calibration, if the data was calibrated.
        calibration: privox_data::Calibration::None,
    };
    model.validate()?;
    Ok(model)
}
