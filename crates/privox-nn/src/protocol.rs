//! The evaluation protocol: speaker-independent cross-validation, scaling
//! fitted on training rows only, several seeds, and the choice of the
//! number of training epochs on the training speakers alone.
//!
//! Per outer fold (leave-one-speaker-out by default):
//! 1. the min-max scaler is fitted on the fold's training rows;
//! 2. the number of epochs is chosen on the training speakers only
//!    ([`EpochSelection`]): the paper holds out `1/val_folds` of them for
//!    early stopping and keeps the best epoch's weights; the robust recipe
//!    runs an inner speaker-grouped cross-validation whose validation folds
//!    contain every class, picks the epoch with the best mean validation
//!    curve, then refits on *all* training speakers for that many epochs
//!    (never a random row split: the same speaker on both sides would
//!    flatter the validation loss);
//! 3. one network per [`Job`] is trained, then evaluated on the test
//!    speaker with each of the job's inference activations.
//!
//! [`Recipe::paper`] and [`Recipe::robust`] are the two named recipes;
//! `docs/results/cryptonet-plain.md` has the measurements behind the robust one.

use privox_data::{ConfusionMatrix, Dataset, Fold, MinMaxScaler, group_k_fold, mean_std};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use crate::error::{NnError, Result};
use crate::layers::Activation;
use crate::linalg::Matrix;
use crate::model::NnModel;
use crate::network::{Mlp, NetworkSpec};
use crate::train::{ClassWeights, EpochStats, Samples, StopOn, TrainConfig, Trained, train};

/// How a training fold chooses its number of epochs (and which rows the
/// final network is trained on).
#[derive(Clone, Debug, PartialEq)]
pub enum EpochSelection {
    /// The paper's: hold out `1/val_folds` of the training speakers, early
    /// stopping on them (`TrainConfig::patience`), keep the best epoch's
    /// weights. The final network never sees the held-out speakers. With
    /// `class_aware`, the held-out speakers are chosen so that they hold
    /// every class (when the classes are spread over enough speakers);
    /// otherwise they are a plain speaker-grouped fold, which may hold one
    /// class only. With `patience == 0`: all rows, `max_epochs` epochs.
    Holdout {
        /// The held-out part is 1/`val_folds` of the training speakers.
        val_folds: usize,
        /// Hold out speakers that cover every class.
        class_aware: bool,
    },
    /// Inner speaker-grouped `folds`-fold cross-validation with validation
    /// folds that contain every class: each inner network early-stops on its
    /// validation fold (`patience`, `min_epochs`), the per-epoch validation
    /// curves (loss or UAR, `TrainConfig::stop_on`) are averaged over the
    /// inner folds, the best epoch of the mean curve is chosen, and a
    /// network is trained on *all* training speakers for that many epochs.
    ///
    /// For polynomial networks with batch-norm, the same inner folds also
    /// choose the initial BN `γ` from `bn_gamma_grid` (the candidate with
    /// the best mean validation figure wins; the first on ties). An empty
    /// grid keeps the network's own `bn_gamma_init`.
    InnerCv {
        /// Inner speaker-grouped folds.
        folds: usize,
        /// BN `γ₀` candidates for polynomial networks (empty: keep the spec's).
        bn_gamma_grid: Vec<f64>,
    },
}

impl EpochSelection {
    /// A short human description.
    pub fn describe(&self) -> String {
        match self {
            EpochSelection::Holdout {
                val_folds,
                class_aware,
            } => format!(
                "early stopping on 1/{val_folds} of the training speakers{}",
                if *class_aware {
                    " (every class held out)"
                } else {
                    ""
                }
            ),
            EpochSelection::InnerCv {
                folds,
                bn_gamma_grid,
            } => {
                let gammas = if bn_gamma_grid.is_empty() {
                    String::new()
                } else {
                    let g: Vec<String> = bn_gamma_grid.iter().map(|g| g.to_string()).collect();
                    format!(
                        " (with polynomial activations, BN γ₀ from {{{}}} too)",
                        g.join(", ")
                    )
                };
                format!(
                    "epoch count by inner {folds}-fold speaker CV{gammas} (every class in each validation fold), refit on all training speakers"
                )
            }
        }
    }
}

/// A named training recipe: optimisation settings plus epoch selection.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// Optimiser, loss weights, epochs, patience, range penalty.
    pub train: TrainConfig,
    /// How each training fold chooses its epoch count.
    pub selection: EpochSelection,
}

impl Recipe {
    /// The paper's recipe, as behind the published Table 4: plain SGD (lr
    /// 0.01), batch 32, ≤ 300 epochs, early stopping with patience 20 on
    /// the validation loss of a quarter of the training speakers, uniform
    /// class weights, no range penalty.
    pub fn paper() -> Self {
        Recipe {
            train: TrainConfig::default(),
            selection: EpochSelection::Holdout {
                val_folds: 4,
                class_aware: false,
            },
        }
    }

    /// The robust recipe (the default of `privox nn`): the paper's
    /// optimiser (plain SGD, lr 0.01, batch 32, ≤ 300 epochs) with a
    /// class-balanced loss, the epoch count (and, for polynomial networks
    /// with batch-norm, the BN `γ₀` from [`ROBUST_BN_GAMMA_GRID`]) chosen by
    /// inner 5-fold speaker CV whose validation folds hold every class (mean
    /// balanced validation loss, patience 20), then a refit on all training
    /// speakers; range penalty 100 on polynomial networks (keeps the
    /// pre-activations inside the polynomial's interval on the training
    /// rows). `docs/results/cryptonet-plain.md` (section "A robust recipe")
    /// has the study that chose it.
    pub fn robust() -> Self {
        Recipe {
            train: TrainConfig {
                class_weights: ClassWeights::Balanced,
                range_penalty: 100.0,
                ..TrainConfig::default()
            },
            selection: EpochSelection::InnerCv {
                folds: 5,
                bn_gamma_grid: ROBUST_BN_GAMMA_GRID.to_vec(),
            },
        }
    }

    /// Looks a recipe up by name: `paper` or `robust`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "paper" => Some(Recipe::paper()),
            "robust" => Some(Recipe::robust()),
            _ => None,
        }
    }
}

/// The BN `γ₀` candidates of [`Recipe::robust`] for polynomial networks.
///
/// Neither value is best everywhere (`docs/results/cryptonet-plain.md`,
/// "A robust recipe"): `0.1` starts every unit where the polynomial is
/// nearly affine, which is what keeps binary nEMO from overfitting its
/// training speakers (γ₀ = 1 lost about 8 points of UAR there); with seven
/// EmoDB emotions the network needs the polynomial's curvature from the
/// start and `1` is better. So the inner speaker CV, which already picks the
/// epoch count, picks `γ₀` too.
pub const ROBUST_BN_GAMMA_GRID: [f64; 2] = [0.1, 1.0];

/// Names accepted by [`Recipe::named`].
pub const RECIPE_NAMES: [&str; 2] = ["paper", "robust"];

/// One network to train per fold and the activations to evaluate it with.
#[derive(Clone, Debug)]
pub struct Job {
    /// Name used in reports.
    pub name: String,
    /// The network to train.
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
    /// Optimiser, loss weights, epochs, patience, range penalty.
    pub train: TrainConfig,
    /// How each training fold chooses its epoch count.
    pub selection: EpochSelection,
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
    /// Training seed of this run.
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

impl CellRun {
    /// Folds whose test rows hold at least two classes but which were all
    /// predicted as one class: the symptom of a collapsed network.
    pub fn collapsed_folds(&self) -> Vec<&str> {
        self.per_fold
            .iter()
            .filter(|(_, cm)| is_collapsed(cm))
            .map(|(n, _)| n.as_str())
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
    /// Cell name (job and inference activation).
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
            .min_by(|a, b| a.pooled.uar().total_cmp(&b.pooled.uar()))?;
        let accs: Vec<f64> = self
            .runs
            .iter()
            .map(|r| 100.0 * r.pooled.accuracy())
            .collect();
        let uars: Vec<f64> = self.runs.iter().map(|r| 100.0 * r.pooled.uar()).collect();
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
            worst_uar: 100.0 * worst.pooled.uar(),
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

/// A network trained on one fold with the scaler it expects.
#[derive(Clone, Debug)]
pub struct FittedFold {
    /// The min-max scaler fitted on the fold's training rows.
    pub scaler: MinMaxScaler,
    /// The trained network and its history.
    pub trained: Trained,
}

fn data_err(e: privox_data::DataError) -> NnError {
    NnError::Shape(e.to_string())
}

/// Splits `train_idx` into (fit rows, validation rows) by speaker: the
/// paper's holdout, one plain speaker-grouped fold (it may hold one class).
pub fn speaker_holdout(
    data: &Dataset,
    train_idx: &[usize],
    val_folds: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let groups: Vec<usize> = train_idx.iter().map(|&i| data.groups[i]).collect();
    let n_groups = count_distinct(&groups);
    if n_groups < 2 {
        return Err(too_few_speakers(n_groups));
    }
    let k = val_folds.clamp(2, n_groups);
    let folds = group_k_fold(&groups, k, seed).map_err(data_err)?;
    let inner = &folds[0];
    Ok((
        inner.train.iter().map(|&j| train_idx[j]).collect(),
        inner.test.iter().map(|&j| train_idx[j]).collect(),
    ))
}

fn too_few_speakers(found: usize) -> NnError {
    NnError::InvalidConfig(format!(
        "choosing the epoch count needs at least two training speakers to hold one out, found {found}; use --patience 0"
    ))
}

fn count_distinct(v: &[usize]) -> usize {
    let mut d = v.to_vec();
    d.sort_unstable();
    d.dedup();
    d.len()
}

/// Speaker-grouped `k`-fold whose test folds each contain every class, as
/// far as the data allows.
///
/// `k` is lowered to the number of speakers that hold the rarest class
/// (never below 2), so a class spread over `m` speakers can reach every
/// fold. Speakers are shuffled with `seed`; first, class by class from the
/// rarest, each fold that lacks the class receives a speaker holding it;
/// then every other speaker, larger first, goes to the fold where it most
/// evens out the per-class row counts (least sum of squared class
/// shares). Returns folds of positions into `groups`/`y`.
pub fn class_aware_group_k_fold(
    groups: &[usize],
    y: &[usize],
    n_classes: usize,
    k: usize,
    seed: u64,
) -> Result<Vec<Fold>> {
    if groups.len() != y.len() {
        return Err(NnError::Shape(format!(
            "{} group labels for {} class labels",
            groups.len(),
            y.len()
        )));
    }
    if let Some(&bad) = y.iter().find(|&&c| c >= n_classes) {
        return Err(NnError::LabelOutOfRange {
            row: y.iter().position(|&c| c == bad).unwrap_or(0),
            label: bad,
            n_classes,
        });
    }
    let mut distinct: Vec<usize> = groups.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(too_few_speakers(distinct.len()));
    }
    // Rows per (speaker, class).
    let pos = |g: usize| distinct.binary_search(&g).unwrap_or(0);
    let mut counts = vec![vec![0usize; n_classes]; distinct.len()];
    for (&g, &c) in groups.iter().zip(y) {
        counts[pos(g)][c] += 1;
    }
    let total: Vec<usize> = (0..n_classes)
        .map(|c| counts.iter().map(|r| r[c]).sum())
        .collect();
    let speakers_with = |c: usize| counts.iter().filter(|r| r[c] > 0).count();
    let rarest = (0..n_classes)
        .filter(|&c| total[c] > 0)
        .map(speakers_with)
        .min()
        .unwrap_or(0);
    let k = k.min(rarest).max(2).min(distinct.len());

    let mut order: Vec<usize> = (0..distinct.len()).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    order.shuffle(&mut rng);
    let mut load = vec![vec![0usize; n_classes]; k];
    let mut fold_of: Vec<Option<usize>> = vec![None; distinct.len()];
    let place = |s: usize, f: usize, load: &mut [Vec<usize>], fold_of: &mut [Option<usize>]| {
        for (l, n) in load[f].iter_mut().zip(&counts[s]) {
            *l += n;
        }
        fold_of[s] = Some(f);
    };
    // 1. Rarest class first: every fold that lacks the class gets one
    //    (shuffled) speaker holding it, while such speakers remain.
    let mut classes: Vec<usize> = (0..n_classes).filter(|&c| total[c] > 0).collect();
    classes.sort_by_key(|&c| speakers_with(c));
    for c in classes {
        for f in 0..k {
            if load[f][c] > 0 {
                continue;
            }
            let free = order
                .iter()
                .copied()
                .find(|&s| fold_of[s].is_none() && counts[s][c] > 0);
            if let Some(s) = free {
                place(s, f, &mut load, &mut fold_of);
            }
        }
    }
    // 2. The rest, larger speakers first, each where it best evens out the
    //    per-class shares (least sum of squared shares).
    let mut rest: Vec<usize> = order
        .into_iter()
        .filter(|&s| fold_of[s].is_none())
        .collect();
    rest.sort_by_key(|&s| std::cmp::Reverse(counts[s].iter().sum::<usize>()));
    for s in rest {
        let cost = |f: usize| -> f64 {
            (0..n_classes)
                .filter(|&c| total[c] > 0)
                .map(|c| {
                    let share = (load[f][c] + counts[s][c]) as f64 / total[c] as f64;
                    share * share
                })
                .sum()
        };
        let f = (0..k)
            .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
            .unwrap_or(0);
        place(s, f, &mut load, &mut fold_of);
    }
    // Invariant: every speaker was placed in phase 1 or 2.
    let fold_of: Vec<usize> = fold_of.into_iter().map(|f| f.unwrap_or(0)).collect();
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..groups.len()).partition(|&i| fold_of[pos(groups[i])] == f);
            Fold {
                name: format!("inner fold {}", f + 1),
                train,
                test,
            }
        })
        .collect())
}

/// Fits the scaler on `train_idx` and trains `spec` with the paper's
/// holdout ([`EpochSelection::Holdout`], plain speaker fold) when
/// `cfg.patience > 0`, on all rows otherwise.
pub fn fit(
    data: &Dataset,
    train_idx: &[usize],
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    val_folds: usize,
) -> Result<FittedFold> {
    let selection = EpochSelection::Holdout {
        val_folds,
        class_aware: false,
    };
    fit_with(data, train_idx, spec, cfg, &selection)
}

/// Fits the scaler on `train_idx` and trains `spec`, choosing the epoch
/// count on the training speakers as `selection` says (with
/// `cfg.patience == 0`: all rows, `cfg.max_epochs` epochs).
pub fn fit_with(
    data: &Dataset,
    train_idx: &[usize],
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    selection: &EpochSelection,
) -> Result<FittedFold> {
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
    let scaler = MinMaxScaler::fit(&train_x).map_err(data_err)?;
    let scaled = scaler.transform(&data.x).map_err(data_err)?;
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
        return Ok(FittedFold { scaler, trained });
    }
    let trained = match *selection {
        EpochSelection::Holdout {
            val_folds,
            class_aware: false,
        } => {
            let (fit_idx, val_idx) = speaker_holdout(data, train_idx, val_folds, cfg.seed)?;
            run(spec, &fit_idx, &val_idx, cfg)?
        }
        EpochSelection::Holdout {
            val_folds,
            class_aware: true,
        } => {
            let folds = inner_folds(data, train_idx, val_folds, cfg.seed)?;
            let inner = pick_validation_fold(&folds, &data.y, n_classes);
            run(spec, &inner.train, &inner.test, cfg)?
        }
        EpochSelection::InnerCv {
            folds,
            ref bn_gamma_grid,
        } => {
            let inner = inner_folds(data, train_idx, folds, cfg.seed)?;
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
                    return Err(NnError::InvalidConfig(
                        "no inner fold has two classes in its training speakers: too few speakers per class for inner cross-validation; use --patience 0 or the paper recipe".into(),
                    ));
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
            t
        }
    };
    Ok(FittedFold { scaler, trained })
}

/// The fold to hold out for early stopping: its training part must keep
/// every class of the whole (a class held by one speaker stays in
/// training), then the most classes in its validation part; first fold on ties.
fn pick_validation_fold<'a>(folds: &'a [Fold], y: &[usize], n_classes: usize) -> &'a Fold {
    let classes = |idx: &[usize]| {
        let mut seen = vec![false; n_classes];
        idx.iter().for_each(|&i| seen[y[i]] = true);
        seen.iter().filter(|&&b| b).count()
    };
    // Invariant: class_aware_group_k_fold returns at least two folds.
    let every: Vec<usize> = folds[0]
        .train
        .iter()
        .chain(&folds[0].test)
        .copied()
        .collect();
    let all = classes(&every);
    let score = |f: &Fold| {
        let train_all = usize::from(classes(&f.train) >= all);
        (train_all, classes(&f.test))
    };
    let mut best = &folds[0];
    for f in &folds[1..] {
        if score(f) > score(best) {
            best = f;
        }
    }
    best
}

/// [`class_aware_group_k_fold`] on the rows `train_idx`, mapped back to row indices.
fn inner_folds(data: &Dataset, train_idx: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>> {
    let groups: Vec<usize> = train_idx.iter().map(|&i| data.groups[i]).collect();
    let y: Vec<usize> = train_idx.iter().map(|&i| data.y[i]).collect();
    let folds = class_aware_group_k_fold(&groups, &y, data.classes.len(), k, seed)?;
    Ok(folds
        .into_iter()
        .map(|f| Fold {
            name: f.name,
            train: f.train.iter().map(|&j| train_idx[j]).collect(),
            test: f.test.iter().map(|&j| train_idx[j]).collect(),
        })
        .collect())
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

/// The paper's Table 4 value for a cell name of the Table 4 reproductions
/// (`"p2, BN"`, …): its encrypted test accuracy (%) on its own corpus, or
/// its plaintext MLP baseline for `"ReLU (no BN)"`; `"–"` for cells the paper
/// does not have (the HE-aware networks).
pub fn paper_table4_value(cell: &str) -> &'static str {
    match cell {
        "ReLU (no BN)" => "82.62 (plain MLP)",
        "p2, no BN" => "59.72",
        "p4, no BN" => "81.58",
        "p6, no BN" => "81.41",
        "p2, BN" => "79.17",
        "p4, BN" => "80.55",
        "p6, BN" => "80.21",
        _ => "–",
    }
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
            let tc = TrainConfig {
                seed: cfg.seeds[s],
                ..cfg.train.clone()
            };
            let fitted = fit_with(data, &folds[f].train, &jobs[j].spec, &tc, &cfg.selection)?;
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
    let fitted = fit_with(data, &all, spec, cfg, selection)?;
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
        // The caller records calibration, if the data was calibrated.
        calibration: privox_data::Calibration::None,
    };
    model.validate()?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poly::PolyActivation;
    use privox_data::{ClassSet, leave_one_group_out};
    use rand::Rng;

    /// A small generated corpus like the demo subset: `n_classes`
    /// classes, 10 speakers of 16 rows; speakers 0-2 hold only the last
    /// class, 3-5 only class 0, 6-9 every class. Each speaker shifts every
    /// feature by its own offset (as voices do), the class moves two of
    /// the six features.
    fn one_class_speaker_corpus(n_classes: usize, seed: u64) -> Dataset {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (mut x, mut y, mut groups, mut files) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for s in 0..10 {
            let offset: Vec<f64> = (0..6).map(|_| rng.random_range(-0.6..0.6)).collect();
            for i in 0..16 {
                let c = match s {
                    0..=2 => n_classes - 1,
                    3..=5 => 0,
                    _ => i % n_classes,
                };
                for (f, o) in offset.iter().enumerate() {
                    let signal = match f {
                        0 => c as f64,
                        1 => (c as f64 * 1.7).sin() * 1.5,
                        _ => 0.0,
                    };
                    x.push(signal + o + rng.random_range(-0.5..0.5));
                }
                y.push(c);
                groups.push(s);
                files.push(format!("s{s}_{i}.wav"));
            }
        }
        let names: Vec<String> = (0..n_classes).map(|c| format!("c{c}")).collect();
        Dataset {
            x: Matrix::new(y.len(), 6, x).unwrap(),
            y,
            groups,
            group_names: (0..10).map(|s| format!("spk{s}")).collect(),
            files,
            classes: ClassSet::new(names).unwrap(),
            feature_names: (0..6).map(|f| format!("f{f}")).collect(),
        }
    }

    fn small_he_aware() -> NetworkSpec {
        NetworkSpec {
            hidden: vec![16, 8],
            ..NetworkSpec::he_aware(Activation::Poly(PolyActivation::preset("p2").unwrap()))
        }
    }

    fn fast(mut r: Recipe) -> Recipe {
        r.train.max_epochs = 60;
        r.train.patience = 10;
        r
    }

    #[test]
    fn class_aware_folds_hold_every_class_and_never_split_a_speaker() {
        let data = one_class_speaker_corpus(2, 1);
        for seed in 0..20 {
            let folds = class_aware_group_k_fold(&data.groups, &data.y, 2, 4, seed).unwrap();
            assert_eq!(folds.len(), 4);
            for f in &folds {
                let classes: std::collections::BTreeSet<usize> =
                    f.test.iter().map(|&i| data.y[i]).collect();
                assert_eq!(classes.len(), 2, "seed {seed}: {} lacks a class", f.name);
                for &i in &f.test {
                    assert!(f.train.iter().all(|&j| data.groups[j] != data.groups[i]));
                }
                assert_eq!(f.train.len() + f.test.len(), data.len());
            }
        }
        // A class held by 2 speakers caps k at 2; bad input is a typed error.
        let y: Vec<usize> = data.groups.iter().map(|&g| usize::from(g < 2)).collect();
        assert_eq!(
            class_aware_group_k_fold(&data.groups, &y, 2, 4, 0)
                .unwrap()
                .len(),
            2
        );
        assert!(matches!(
            class_aware_group_k_fold(&data.groups, &y[1..], 2, 4, 0),
            Err(NnError::Shape(_))
        ));
        assert!(matches!(
            class_aware_group_k_fold(&[0, 0], &[0, 1], 2, 4, 0),
            Err(NnError::InvalidConfig(_))
        ));
    }

    #[test]
    fn a_class_of_one_speaker_stays_in_training_for_early_stopping() {
        let mut data = one_class_speaker_corpus(2, 2);
        // Class 1 now belongs to speaker 0 alone.
        data.y = data.groups.iter().map(|&g| usize::from(g == 0)).collect();
        let all: Vec<usize> = (0..data.len()).collect();
        for seed in 0..10 {
            let folds = inner_folds(&data, &all, 4, seed).unwrap();
            let v = pick_validation_fold(&folds, &data.y, 2);
            assert!(
                v.train.iter().any(|&i| data.y[i] == 1),
                "seed {seed}: {folds:?}"
            );
        }
    }

    #[test]
    fn the_robust_recipe_does_not_collapse_on_one_class_speakers() {
        let data = one_class_speaker_corpus(2, 3);
        let folds = leave_one_group_out(&data.groups, &data.group_names);
        let r = fast(Recipe::robust());
        let proto = ProtocolConfig {
            train: r.train,
            selection: r.selection,
            seeds: vec![1, 2],
            clip_inputs: Some(1.0),
        };
        let cells = cross_validate(
            &data,
            &folds,
            &[Job::plain("he", small_he_aware())],
            &proto,
            &|| {},
        )
        .unwrap();
        let s = cells[0].summary().unwrap();
        assert_eq!(s.collapsed_folds, 0, "{:?}", cells[0].runs[0].per_fold);
        assert!(s.worst_uar > 85.0, "{s:?}");
        // Held-out speakers may leave the training interval [-2, 2] a little
        // (γ₀ = 1 can win the inner search here); the encrypted evaluator
        // covers 1.5× the training range, so 3 is the bound that matters.
        assert!(s.max_preactivation <= 3.0, "{s:?}");
    }

    #[test]
    fn inner_cv_refits_for_the_chosen_epoch_count() {
        let data = one_class_speaker_corpus(3, 4);
        let train_idx: Vec<usize> = (0..data.len()).filter(|&i| data.groups[i] != 9).collect();
        let mut r = fast(Recipe::robust());
        r.selection = EpochSelection::InnerCv {
            folds: 3,
            bn_gamma_grid: Vec::new(),
        };
        r.train.min_epochs = 7;
        let f = fit_with(&data, &train_idx, &small_he_aware(), &r.train, &r.selection).unwrap();
        let t = &f.trained;
        assert!(t.best_epoch >= 7);
        assert_eq!(
            t.history.len(),
            t.best_epoch,
            "refit runs exactly the chosen epochs"
        );
        assert!(
            t.history.iter().all(|h| h.val_loss.is_none()),
            "refit uses every training row"
        );
    }

    #[test]
    fn best_mean_epoch_averages_curves_and_respects_the_minimum() {
        let curve = |v: &[f64]| -> Vec<EpochStats> {
            v.iter()
                .enumerate()
                .map(|(i, &l)| EpochStats {
                    epoch: i + 1,
                    train_loss: 0.0,
                    val_loss: Some(l),
                    val_uar: Some(1.0 - l),
                })
                .collect()
        };
        // Mean over the two: 2.5, 1.5, 1.5 (second curve stopped: its last
        // value carries on), 2.0 → epoch 2.
        let curves = [curve(&[3.0, 1.0, 2.0, 3.0]), curve(&[2.0, 2.0])];
        assert_eq!(best_mean_epoch(&curves, StopOn::ValLoss, 0).0, 2);
        assert_eq!(best_mean_epoch(&curves, StopOn::ValUar, 0).0, 2);
        assert_eq!(best_mean_epoch(&curves, StopOn::ValLoss, 4).0, 4);
    }

    #[test]
    fn multi_class_he_aware_model_round_trips_and_stays_in_its_interval() {
        let data = one_class_speaker_corpus(4, 5);
        let r = fast(Recipe::robust());
        let model =
            train_model_with(&data, &small_he_aware(), &r.train, &r.selection, "t".into()).unwrap();
        assert_eq!(model.network.n_classes(), 4);
        assert_eq!(model.class_names, ["c0", "c1", "c2", "c3"]);
        assert!(
            model.activation_max.iter().all(|&m| m <= 2.0),
            "{:?}",
            model.activation_max
        );
        let back = NnModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
        assert_eq!(back, model);
        let pred = back.predict_raw(&data.x).unwrap();
        assert_eq!(pred, model.predict_raw(&data.x).unwrap());
        let hits = pred.iter().zip(&data.y).filter(|(p, y)| p == y).count();
        assert!(
            hits * 10 > data.len() * 8,
            "training accuracy {hits}/{}",
            data.len()
        );
    }

    #[test]
    fn seed_summary_reports_the_worst_seed_and_collapsed_folds() {
        let cm = |pairs: &[(usize, usize)]| {
            let (t, p): (Vec<usize>, Vec<usize>) = pairs.iter().copied().unzip();
            ConfusionMatrix::from_predictions(2, &t, &p).unwrap()
        };
        let run = |seed, folds: Vec<ConfusionMatrix>| {
            let mut pooled = ConfusionMatrix::new(2);
            folds.iter().for_each(|c| pooled.merge(c).unwrap());
            CellRun {
                seed,
                per_fold: folds
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| (format!("f{i}"), c))
                    .collect(),
                pooled,
                best_epochs: vec![3, 5],
                max_preactivation: seed as f64,
            }
        };
        let good = run(1, vec![cm(&[(0, 0), (1, 1)]), cm(&[(1, 1), (1, 1)])]);
        // Fold f0 holds both classes but predicts class 1 only; f1 holds one class.
        let bad = run(2, vec![cm(&[(0, 1), (1, 1)]), cm(&[(0, 0), (0, 0)])]);
        assert_eq!(bad.collapsed_folds(), ["f0"]);
        assert!(good.collapsed_folds().is_empty());
        let cell = CellResult {
            name: "x".into(),
            runs: vec![good, bad],
        };
        let s = cell.summary().unwrap();
        assert_eq!((s.worst_seed, s.collapsed_folds, s.seeds), (2, 1, 2));
        // Pooled UAR: seed 1 100 %, seed 2 (2/3 + 1/1) / 2.
        assert!((s.uar_mean - 275.0 / 3.0).abs() < 1e-9, "{s:?}");
        assert!((s.worst_uar - 250.0 / 3.0).abs() < 1e-9, "{s:?}");
        assert_eq!((s.mean_epoch, s.max_preactivation), (4.0, 2.0));
        assert!(
            CellResult {
                name: "e".into(),
                runs: vec![]
            }
            .summary()
            .is_none()
        );
    }
}
