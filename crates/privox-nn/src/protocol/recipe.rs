//! Training recipes: optimisation settings plus the way each training fold
//! chooses its epoch count, the two named recipes, and single-setting
//! overrides on top of them.

use crate::error::{ConfigError, Result};
use crate::layers::Activation;
use crate::network::{HE_AWARE_GAMMA_INIT, NetworkSpec};
use crate::optim::Optimizer;
use crate::train::{ClassWeights, StopOn, TrainConfig};

/// How a training fold chooses its number of epochs (and which rows the
/// final network is trained on).
#[derive(Clone, Debug, PartialEq)]
pub enum EpochSelection {
    /// The paper's: hold out `1/val_folds` of the training speakers, early
    /// stopping on them (`TrainConfig::patience`), keep the best epoch's
    /// weights. The final network never sees the held-out speakers. With
    /// `class_aware`, the held-out speakers are chosen so that they hold
    /// every class (when the classes are spread over enough speakers);
    /// otherwise they are a plain speaker-grouped fold
    /// ([`privox_data::protocol::InnerSplit`]), which may hold one class
    /// only. With `patience == 0`: all rows, `max_epochs` epochs.
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

    /// The fold count: `val_folds` of a holdout, `folds` of an inner CV.
    pub fn folds(&self) -> usize {
        match *self {
            EpochSelection::Holdout { val_folds, .. } => val_folds,
            EpochSelection::InnerCv { folds, .. } => folds,
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
    /// rows). `docs/studies/cryptonet.md` (section "A robust recipe")
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

    /// This recipe with `o`'s settings replacing its own (`n_classes`
    /// checks custom class weights). Fails on contradictory settings
    /// (momentum with Adam) and on class weights of the wrong count.
    pub fn with_overrides(mut self, o: &RecipeOverrides, n_classes: usize) -> Result<Recipe> {
        let cfg = &mut self.train;
        let (recipe_lr, recipe_momentum) = match cfg.optimizer {
            Optimizer::Sgd {
                learning_rate,
                momentum,
            } => (learning_rate, momentum),
            Optimizer::Adam { learning_rate, .. } => (learning_rate, 0.0),
        };
        cfg.optimizer = match o.optimizer {
            None | Some(OptimizerChoice::Sgd) => Optimizer::Sgd {
                learning_rate: o.learning_rate.unwrap_or(if o.optimizer.is_none() {
                    recipe_lr
                } else {
                    0.01
                }),
                momentum: o.momentum.unwrap_or(recipe_momentum),
            },
            Some(OptimizerChoice::Adam) => {
                if o.momentum.is_some() {
                    return Err(ConfigError::MomentumWithAdam.into());
                }
                Optimizer::adam(o.learning_rate.unwrap_or(1e-3))
            }
        };
        let set = |slot: &mut usize, v: Option<usize>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut cfg.batch_size, o.batch_size);
        set(&mut cfg.max_epochs, o.max_epochs);
        set(&mut cfg.min_epochs, o.min_epochs);
        set(&mut cfg.patience, o.patience);
        if let Some(v) = o.weight_decay {
            cfg.weight_decay = v;
        }
        if let Some(v) = o.range_penalty {
            cfg.range_penalty = v;
        }
        if let Some(v) = o.stop_on {
            cfg.stop_on = v;
        }
        if let Some(w) = &o.class_weights {
            if let ClassWeights::Custom(v) = w
                && v.len() != n_classes
            {
                return Err(ConfigError::ClassWeightCount {
                    expected: n_classes,
                    found: v.len(),
                }
                .into());
            }
            cfg.class_weights = w.clone();
        }
        if let Some(seed) = o.seed {
            cfg.seed = seed;
        }
        let recipe_k = self.selection.folds();
        let gamma_grid = match &self.selection {
            EpochSelection::InnerCv { bn_gamma_grid, .. } if !o.fixed_bn_gamma => {
                bn_gamma_grid.clone()
            }
            _ => Vec::new(),
        };
        self.selection = match o.selection {
            None => match self.selection {
                EpochSelection::Holdout { class_aware, .. } => EpochSelection::Holdout {
                    val_folds: o.val_folds.unwrap_or(recipe_k),
                    class_aware,
                },
                EpochSelection::InnerCv { .. } => EpochSelection::InnerCv {
                    folds: o.val_folds.unwrap_or(recipe_k),
                    bn_gamma_grid: gamma_grid,
                },
            },
            Some(SelectionChoice::Holdout) => EpochSelection::Holdout {
                val_folds: o.val_folds.unwrap_or(4),
                class_aware: false,
            },
            Some(SelectionChoice::ClassHoldout) => EpochSelection::Holdout {
                val_folds: o.val_folds.unwrap_or(4),
                class_aware: true,
            },
            Some(SelectionChoice::InnerCv) => EpochSelection::InnerCv {
                folds: o.val_folds.unwrap_or(3),
                bn_gamma_grid: gamma_grid,
            },
        };
        Ok(self)
    }

    /// One line naming the network, the recipe (`name`) and every setting,
    /// as `privox nn` prints it and records it in model files.
    pub fn describe(&self, name: &str, spec: &NetworkSpec) -> String {
        let cfg = &self.train;
        format!(
            "{}; recipe {name} ({:?}, batch {}, ≤{} epochs, min {}, patience {}, {}, {:?} class weights, stop on {:?}, weight decay {}, range penalty {}), γ init {}, seed {}",
            crate::train::describe_training(spec),
            cfg.optimizer,
            cfg.batch_size,
            cfg.max_epochs,
            cfg.min_epochs,
            cfg.patience,
            self.selection.describe(),
            cfg.class_weights,
            cfg.stop_on,
            cfg.weight_decay,
            cfg.range_penalty,
            spec.bn_gamma_init,
            cfg.seed
        )
    }
}

/// The optimiser family an override asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerChoice {
    /// Plain SGD, or heavy-ball with a momentum (learning rate 0.01 unless given).
    Sgd,
    /// Adam (learning rate 0.001 unless given).
    Adam,
}

/// The epoch selection an override asks for (its fold count is
/// [`RecipeOverrides::val_folds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectionChoice {
    /// [`EpochSelection::Holdout`] without regard to class (4 folds unless given).
    Holdout,
    /// [`EpochSelection::Holdout`] holding every class out (4 folds unless given).
    ClassHoldout,
    /// [`EpochSelection::InnerCv`] (3 folds unless given).
    InnerCv,
}

/// Single settings that replace a recipe's ([`Recipe::with_overrides`]);
/// `None` keeps the recipe's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecipeOverrides {
    /// Optimiser family; switching family resets the learning rate to that family's default.
    pub optimizer: Option<OptimizerChoice>,
    /// Learning rate.
    pub learning_rate: Option<f64>,
    /// SGD momentum (an error with Adam).
    pub momentum: Option<f64>,
    /// Mini-batch size.
    pub batch_size: Option<usize>,
    /// Maximum epochs.
    pub max_epochs: Option<usize>,
    /// Minimum epoch early stopping may stop at or keep.
    pub min_epochs: Option<usize>,
    /// Early-stopping patience (0: all rows, all epochs).
    pub patience: Option<usize>,
    /// Epoch selection.
    pub selection: Option<SelectionChoice>,
    /// Validation folds of the epoch selection.
    pub val_folds: Option<usize>,
    /// Figure followed by early stopping.
    pub stop_on: Option<StopOn>,
    /// L2 weight decay.
    pub weight_decay: Option<f64>,
    /// Class weights of the loss.
    pub class_weights: Option<ClassWeights>,
    /// Range penalty weight.
    pub range_penalty: Option<f64>,
    /// Training seed.
    pub seed: Option<u64>,
    /// The network's BN `γ₀` was given explicitly: the inner CV does not search one.
    pub fixed_bn_gamma: bool,
}

/// A network of the paper's layout with `hidden` widths: the initial BN
/// `γ` is `bn_gamma_init` when given, else 1 for ReLU and
/// [`HE_AWARE_GAMMA_INIT`] for a polynomial.
pub fn network_spec(
    hidden: Vec<usize>,
    batch_norm: bool,
    activation: Activation,
    bn_gamma_init: Option<f64>,
) -> NetworkSpec {
    let gamma = bn_gamma_init.unwrap_or(match activation {
        Activation::Relu => 1.0,
        Activation::Poly(_) => HE_AWARE_GAMMA_INIT,
    });
    NetworkSpec {
        hidden,
        batch_norm,
        activation,
        bn_momentum: 0.1,
        bn_gamma_init: gamma,
    }
}

/// The BN `γ₀` candidates of [`Recipe::robust`] for polynomial networks.
///
/// Neither value is best everywhere (`docs/studies/cryptonet.md`,
/// "A robust recipe"): `0.1` starts every unit where the polynomial is
/// nearly affine, which is what keeps binary nEMO from overfitting its
/// training speakers (γ₀ = 1 lost about 8 points of UAR there); with seven
/// EmoDB emotions the network needs the polynomial's curvature from the
/// start and `1` is better. So the inner speaker CV, which already picks the
/// epoch count, picks `γ₀` too.
pub const ROBUST_BN_GAMMA_GRID: [f64; 2] = [0.1, 1.0];

/// Names accepted by [`Recipe::named`].
pub const RECIPE_NAMES: [&str; 2] = ["paper", "robust"];
