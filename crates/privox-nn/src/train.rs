//! Mini-batch training with early stopping on a validation set.

use privox_data::ConfusionMatrix;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

use crate::error::{ConfigError, NnError, Result};
use crate::layers::Activation;
use crate::linalg::Matrix;
use crate::loss::{balanced_weights, softmax_cross_entropy};
use crate::network::{Mlp, NetworkSpec, RangePenalty, argmax_rows};
use crate::optim::{Optimizer, OptimizerState};

/// Rows of features with their class labels.
#[derive(Clone, Copy, Debug)]
pub struct Samples<'a> {
    /// Features, one row per sample.
    pub x: &'a Matrix,
    /// Class index of each row.
    pub y: &'a [usize],
}

/// How the loss weighs the classes.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeights {
    /// Every sample counts the same (the paper).
    Uniform,
    /// `n / (k · n_c)`: each class counts the same in total.
    Balanced,
    /// One weight per class.
    Custom(Vec<f64>),
}

/// The validation figure that early stopping follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopOn {
    /// Lowest validation cross-entropy (smooth; the usual choice).
    ValLoss,
    /// Highest validation unweighted average recall (the reported metric;
    /// ties keep the earlier epoch).
    ValUar,
}

/// Training settings. [`TrainConfig::default`] is the paper's optimiser
/// (plain SGD, learning rate 0.01, no weight decay), mini-batches of 32 and
/// early stopping with patience 20: the recipe behind the reported results.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The optimizer and its hyper-parameters.
    pub optimizer: Optimizer,
    /// L2 penalty on dense weights (the paper: 0).
    pub weight_decay: f64,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Early stopping neither stops nor keeps an epoch before this one
    /// (1-based; 0 and 1 mean no minimum). Guards against keeping the
    /// first epochs, where a slowly starting network (the HE-aware γ₀ = 0.1)
    /// still predicts the majority class for everyone.
    pub min_epochs: usize,
    /// Stop after this many epochs without a better validation loss and
    /// restore the best weights; 0 disables early stopping. Needs a
    /// validation set.
    pub patience: usize,
    /// How classes are weighted in the loss.
    pub class_weights: ClassWeights,
    /// Which validation figure early stopping (and the kept epoch) follows.
    pub stop_on: StopOn,
    /// Weight of the range penalty on pre-activations outside `[-r, r]`
    /// (0 disables it). Keeps a polynomial activation inside the interval it
    /// approximates well, so the network stays accurate when evaluated
    /// exactly as the encrypted circuit will.
    pub range_penalty: f64,
    /// `r` for the range penalty; defaults to the polynomial's own interval
    /// (required when training with ReLU).
    pub range_interval: Option<f64>,
    /// Seeds initialisation and shuffling: same seed, same model.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            optimizer: Optimizer::paper_sgd(),
            weight_decay: 0.0,
            batch_size: 32,
            max_epochs: 300,
            min_epochs: 0,
            patience: 20,
            class_weights: ClassWeights::Uniform,
            stop_on: StopOn::ValLoss,
            range_penalty: 0.0,
            range_interval: None,
            seed: 0,
        }
    }
}

/// Per-epoch progress.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (incl. range penalty).
    pub train_loss: f64,
    /// Validation loss in inference mode, if a validation set was given.
    pub val_loss: Option<f64>,
    /// Validation unweighted average recall, if a validation set was given.
    pub val_uar: Option<f64>,
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct Trained {
    /// The network with the best validation loss (or the last one without
    /// validation), in inference mode.
    pub network: Mlp,
    /// Statistics of every epoch.
    pub history: Vec<EpochStats>,
    /// Epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
}

/// Trains a network of shape `spec` on `train`, early-stopping on `val`.
///
/// Fails (never returns garbage weights) on empty or single-class data,
/// non-finite inputs, labels out of range, or a loss that becomes NaN/∞.
///
/// ```
/// use privox_nn::{train, Activation, Matrix, NetworkSpec, Samples, TrainConfig};
///
/// // XOR-like toy data: two classes in opposite quadrants.
/// let x = Matrix::new(4, 2, vec![1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0]).unwrap();
/// let y = [0, 0, 1, 1];
/// let spec = NetworkSpec { hidden: vec![8], batch_norm: false, activation: Activation::Relu, bn_momentum: 0.1, bn_gamma_init: 1.0 };
/// let cfg = TrainConfig { max_epochs: 300, batch_size: 4, patience: 0, ..TrainConfig::default() };
/// let trained = train(&spec, &cfg, 2, Samples { x: &x, y: &y }, None, &mut |_| {}).unwrap();
/// assert_eq!(trained.network.predict(&x).unwrap(), vec![0, 0, 1, 1]);
/// ```
pub fn train(
    spec: &NetworkSpec,
    cfg: &TrainConfig,
    n_classes: usize,
    train: Samples<'_>,
    val: Option<Samples<'_>>,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<Trained> {
    validate_config(cfg)?;
    check_samples(train, n_classes, "training set")?;
    let counts = class_counts(train.y, n_classes);
    if let [(class, count)] = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .collect::<Vec<_>>()[..]
    {
        return Err(NnError::SingleClass {
            class,
            count: *count,
        });
    }
    if let Some(v) = val {
        check_samples(v, n_classes, "validation set")?;
    }
    if cfg.patience > 0 && val.is_none() {
        return Err(ConfigError::EarlyStoppingWithoutValidation.into());
    }
    let class_weights = match &cfg.class_weights {
        ClassWeights::Uniform => vec![1.0; n_classes],
        ClassWeights::Balanced => balanced_weights(train.y, n_classes),
        ClassWeights::Custom(w) => {
            if w.len() != n_classes || w.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(ConfigError::ClassWeights {
                    expected: n_classes,
                    found: w.clone(),
                }
                .into());
            }
            w.clone()
        }
    };
    let penalty = range_penalty(spec, cfg)?;

    let mut net = Mlp::new(spec, train.x.cols(), n_classes, cfg.seed)?;
    let mut opt = OptimizerState::new(cfg.optimizer, cfg.weight_decay);
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    rng.set_stream(1); // independent of the initialisation stream
    let mut order: Vec<usize> = (0..train.x.rows()).collect();

    let mut history = Vec::new();
    let mut best: Option<(f64, Mlp, usize)> = None;
    for epoch in 1..=cfg.max_epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let batches = batch_ranges(order.len(), cfg.batch_size);
        for (b, range) in batches.iter().enumerate() {
            let idx = &order[range.clone()];
            let xb = train.x.select_rows(idx);
            let yb: Vec<usize> = idx.iter().map(|&i| train.y[i]).collect();
            let tape = net.forward_train(&xb, true, penalty);
            let (ce, dlogits) = softmax_cross_entropy(&tape.logits, &yb, &class_weights);
            let loss = ce + tape.penalty;
            if !loss.is_finite() {
                return Err(NnError::NonFiniteLoss {
                    epoch,
                    batch: b + 1,
                    loss,
                });
            }
            let grads = net.backward(&tape, dlogits, penalty);
            opt.step(net.params_mut(), &grads.tensors);
            loss_sum += loss;
        }
        if !net.is_finite() {
            return Err(NnError::NonFiniteLoss {
                epoch,
                batch: batches.len(),
                loss: f64::NAN,
            });
        }
        let (val_loss, val_uar) = match val {
            Some(v) => {
                let (l, u) = evaluate_loss_uar(&net, v, &class_weights)?;
                if !l.is_finite() {
                    return Err(NnError::NonFiniteLoss {
                        epoch,
                        batch: batches.len(),
                        loss: l,
                    });
                }
                (Some(l), Some(u))
            }
            None => (None, None),
        };
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / batches.len() as f64,
            val_loss,
            val_uar,
        };
        on_epoch(&stats);
        history.push(stats);
        let score = match cfg.stop_on {
            StopOn::ValLoss => val_loss,
            StopOn::ValUar => val_uar.map(|u| -u),
        };
        if let Some(vl) = score.filter(|_| epoch >= cfg.min_epochs) {
            if best.as_ref().is_none_or(|(b, _, _)| vl < *b) {
                best = Some((vl, net.clone(), epoch));
            } else if cfg.patience > 0
                && best
                    .as_ref()
                    .is_some_and(|(_, _, e)| epoch - e >= cfg.patience)
            {
                break;
            }
        }
    }
    let (network, best_epoch) = match best {
        Some((_, n, e)) => (n, e),
        None => (net, history.len()),
    };
    Ok(Trained {
        network,
        history,
        best_epoch,
    })
}

fn validate_config(cfg: &TrainConfig) -> Result<()> {
    cfg.optimizer.validate()?;
    if cfg.batch_size == 0 || cfg.max_epochs == 0 {
        return Err(ConfigError::ZeroBatchOrEpochs.into());
    }
    if cfg.min_epochs > cfg.max_epochs {
        return Err(ConfigError::MinEpochsAboveMax {
            min: cfg.min_epochs,
            max: cfg.max_epochs,
        }
        .into());
    }
    if !(cfg.weight_decay >= 0.0 && cfg.weight_decay.is_finite()) {
        return Err(ConfigError::WeightDecay(cfg.weight_decay).into());
    }
    if !(cfg.range_penalty >= 0.0 && cfg.range_penalty.is_finite()) {
        return Err(ConfigError::RangePenalty(cfg.range_penalty).into());
    }
    Ok(())
}

fn range_penalty(spec: &NetworkSpec, cfg: &TrainConfig) -> Result<Option<RangePenalty>> {
    if cfg.range_penalty == 0.0 {
        return Ok(None);
    }
    let interval = cfg
        .range_interval
        .or(spec.activation.interval())
        .ok_or_else(|| NnError::from(ConfigError::RangeIntervalNeeded))?;
    if !(interval.is_finite() && interval > 0.0) {
        return Err(ConfigError::RangeInterval(interval).into());
    }
    Ok(Some(RangePenalty {
        weight: cfg.range_penalty,
        interval,
    }))
}

fn check_samples(s: Samples<'_>, n_classes: usize, what: &'static str) -> Result<()> {
    if s.x.rows() == 0 {
        return Err(NnError::EmptyData(what));
    }
    if s.x.rows() != s.y.len() {
        return Err(NnError::LabelCountMismatch {
            what,
            expected: s.x.rows(),
            found: s.y.len(),
        });
    }
    if let Some((row, &label)) = s.y.iter().enumerate().find(|(_, l)| **l >= n_classes) {
        return Err(NnError::LabelOutOfRange {
            row,
            label,
            n_classes,
        });
    }
    crate::linalg::check_finite(s.x)
}

fn class_counts(y: &[usize], n_classes: usize) -> Vec<usize> {
    let mut c = vec![0; n_classes];
    for &l in y {
        c[l] += 1;
    }
    c
}

/// Batches of `size`; a trailing batch of one sample is merged into the
/// previous one (batch-norm needs at least two samples).
fn batch_ranges(n: usize, size: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> =
        (0..n).step_by(size).map(|s| s..(s + size).min(n)).collect();
    if out.len() > 1 && out.last().is_some_and(|r| r.len() == 1) {
        out.pop();
        if let Some(last) = out.last_mut() {
            last.end = n;
        }
    }
    out
}

/// Weighted cross-entropy and UAR of `net` (inference mode) on `s`.
pub(crate) fn evaluate_loss_uar(
    net: &Mlp,
    s: Samples<'_>,
    class_weights: &[f64],
) -> Result<(f64, f64)> {
    let logits = net.logits(s.x)?;
    let (loss, _) = softmax_cross_entropy(&logits, s.y, class_weights);
    // The one UAR of the workspace (recall averaged over the classes present).
    let cm = ConfusionMatrix::from_predictions(net.n_classes(), s.y, &argmax_rows(&logits))?;
    Ok((loss, cm.uar()))
}

/// The activation a spec trains with, for messages.
pub fn describe_training(spec: &NetworkSpec) -> String {
    let act = match &spec.activation {
        Activation::Relu => "ReLU".to_string(),
        Activation::Poly(p) => format!("degree-{} polynomial", p.poly.degree()),
    };
    format!(
        "hidden {:?}, {act}, batch-norm {}",
        spec.hidden,
        if spec.batch_norm { "on" } else { "off" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poly::PolyActivation;

    fn toy(n: usize, seed: u64) -> (Matrix, Vec<usize>) {
        use rand::Rng;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 2;
            let centre = if c == 0 { -0.5 } else { 0.5 };
            for _ in 0..6 {
                x.push(centre + rng.random_range(-0.6..0.6));
            }
            y.push(c);
        }
        (Matrix::new(n, 6, x).unwrap(), y)
    }

    fn small(activation: Activation, bn: bool) -> NetworkSpec {
        NetworkSpec {
            hidden: vec![16, 8],
            batch_norm: bn,
            activation,
            bn_momentum: 0.1,
            bn_gamma_init: 1.0,
        }
    }

    #[test]
    fn learns_a_separable_problem_with_every_activation_and_is_reproducible() {
        let (x, y) = toy(200, 1);
        let (xv, yv) = toy(100, 2);
        let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
        for (act, bn) in [
            (Activation::Relu, false),
            (Activation::Relu, true),
            (p2, true),
        ] {
            let spec = small(act, bn);
            let cfg = TrainConfig {
                max_epochs: 40,
                patience: 10,
                seed: 3,
                ..TrainConfig::default()
            };
            let run = || {
                train(
                    &spec,
                    &cfg,
                    2,
                    Samples { x: &x, y: &y },
                    Some(Samples { x: &xv, y: &yv }),
                    &mut |_| {},
                )
                .unwrap()
            };
            let a = run();
            let acc = ConfusionMatrix::from_predictions(2, &yv, &a.network.predict(&xv).unwrap())
                .unwrap()
                .uar();
            assert!(acc > 0.95, "{spec:?}: {acc}");
            assert_eq!(
                a.network,
                run().network,
                "same seed must give the same model"
            );
        }
    }

    #[test]
    fn empty_single_class_and_bad_labels_are_refused() {
        let spec = small(Activation::Relu, false);
        let cfg = TrainConfig {
            patience: 0,
            ..TrainConfig::default()
        };
        let empty = Matrix::zeros(0, 6);
        let e = train(
            &spec,
            &cfg,
            2,
            Samples { x: &empty, y: &[] },
            None,
            &mut |_| {},
        );
        assert!(matches!(e, Err(NnError::EmptyData(_))));
        let (x, _) = toy(10, 1);
        let e = train(
            &spec,
            &cfg,
            2,
            Samples { x: &x, y: &[1; 10] },
            None,
            &mut |_| {},
        );
        assert!(matches!(
            e,
            Err(NnError::SingleClass {
                class: 1,
                count: 10
            })
        ));
        let e = train(
            &spec,
            &cfg,
            2,
            Samples { x: &x, y: &[2; 10] },
            None,
            &mut |_| {},
        );
        assert!(matches!(e, Err(NnError::LabelOutOfRange { .. })));
        let mut bad = x.clone();
        bad.as_mut_slice()[7] = f64::NAN;
        let y: Vec<usize> = (0..10).map(|i| i % 2).collect();
        let e = train(
            &spec,
            &cfg,
            2,
            Samples { x: &bad, y: &y },
            None,
            &mut |_| {},
        );
        assert!(matches!(
            e,
            Err(NnError::NonFiniteInput { row: 1, col: 1, .. })
        ));
    }

    #[test]
    fn divergence_stops_with_an_error_not_garbage() {
        // A steep polynomial, huge inputs and a huge learning rate blow up.
        let (mut x, y) = toy(64, 1);
        x.as_mut_slice().iter_mut().for_each(|v| *v *= 1e6);
        let steep = crate::poly::Polynomial::new(vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let spec = small(
            Activation::Poly(PolyActivation::new(steep, 1.0).unwrap()),
            false,
        );
        let cfg = TrainConfig {
            optimizer: Optimizer::Sgd {
                learning_rate: 10.0,
                momentum: 0.0,
            },
            patience: 0,
            max_epochs: 50,
            ..TrainConfig::default()
        };
        let e = train(&spec, &cfg, 2, Samples { x: &x, y: &y }, None, &mut |_| {});
        assert!(matches!(e, Err(NnError::NonFiniteLoss { .. })), "{e:?}");
    }

    #[test]
    fn range_penalty_pulls_pre_activations_into_the_interval() {
        let (x, y) = toy(200, 5);
        let x = crate::network::map(&x, |v| v * 8.0); // pre-activations well outside [-2, 2]
        let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
        let spec = small(p2, false);
        let max_pre = |penalty: f64| {
            let cfg = TrainConfig {
                max_epochs: 60,
                patience: 0,
                range_penalty: penalty,
                optimizer: Optimizer::adam(3e-3),
                ..TrainConfig::default()
            };
            let t = train(&spec, &cfg, 2, Samples { x: &x, y: &y }, None, &mut |_| {}).unwrap();
            crate::fold::preactivation_max(&t.network, &x)
                .unwrap()
                .into_iter()
                .fold(0.0, f64::max)
        };
        let (without, with) = (max_pre(0.0), max_pre(100.0));
        assert!(
            with < without / 3.0,
            "max |z| without {without}, with {with}"
        );
    }

    #[test]
    fn batches_never_leave_a_single_sample() {
        assert_eq!(batch_ranges(65, 32), vec![0..32, 32..65]);
        assert_eq!(batch_ranges(64, 32), vec![0..32, 32..64]);
        assert_eq!(batch_ranges(1, 32), vec![0..1]);
    }
}
