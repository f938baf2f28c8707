//! `privox nn`: train, evaluate and export HE-friendly MLPs on feature tables.
//!
//! The network is the paper's cryptonet (88 → 100 → 50 → classes) with
//! ReLU or polynomial activations and optional batch-norm; see the
//! `privox-nn` crate. Every split is speaker-independent.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::calibrate::CalibrationArgs;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use privox_data::protocol::OuterSplit;
use privox_data::{ClassSet, ConfusionMatrix, Dataset, FeatureTable, mean_std};
use privox_nn::protocol::{
    CellResult, NetworkCells, OptimizerChoice, ProtocolConfig, Recipe, RecipeOverrides,
    SelectionChoice, evaluate_cells, network_spec, train_model_with,
};
use privox_nn::{
    Activation, ClassWeights, NetworkSpec, NnModel, PolyActivation, StopOn, fit_chebyshev,
    fit_least_squares, max_abs_error,
};

/// Train, evaluate and export HE-friendly MLPs (ReLU or polynomial activations).
///
/// The paper's recipe trains with ReLU and swaps in a polynomial at
/// inference (`--infer-activation p2`); the HE-aware recipe trains with the
/// polynomial itself and batch-norm (`--activation p2 --batch-norm`), which
/// loses (almost) nothing against ReLU.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: NnCommand,
}

const EXAMPLES: &str = "\
Examples (binary neutral/angry by default; --classes picks others):
  # ReLU baseline (the paper's MLP), leave-one-speaker-out
  privox nn eval --features feats.csv
  # HE-aware: train with the degree-2 polynomial and batch-norm
  privox nn eval --features feats.csv --activation p2 --batch-norm
  # the paper's recipe: train with ReLU + BN, evaluate with p2, p4, p6
  privox nn eval --features feats.csv --batch-norm --infer-activation p2 \\
                 --infer-activation p4 --infer-activation p6
  # mean ± std and the worst seed over 5 seeds
  privox nn eval --features feats.csv --activation p2 --batch-norm --seeds 5
  # seven classes (softmax over any class set)
  privox nn eval --features feats.csv --classes neutral,angry,happy,sad,fear,boredom,disgust \
                 --activation p2 --batch-norm
  # the paper's training recipe, as behind the published Table 4
  privox nn eval --features feats.csv --activation p2 --batch-norm --recipe paper
  # train on everything, save the folded model, apply it elsewhere
  privox nn train --features feats.csv --activation p2 --batch-norm -o model.pvxnn
  privox nn eval --model model.pvxnn --features new.csv
  # fit ReLU with a degree-4 polynomial on [-3, 3]
  privox nn poly --degree 4 --interval 3 --method chebyshev

Recipes: robust (default; class-balanced loss, epoch count by inner speaker
CV with every class in each validation fold, refit on all training speakers,
range penalty 100) or paper (plain SGD lr 0.01, early stopping on a quarter of
the training speakers). --optimizer, --lr, --momentum, --epochs, --patience,
--select, --val-folds, --class-weight, --range-penalty override single settings.

Activations: relu, p2 | p4 | p6 (the paper's Table 3, fitted on [-2, 2]),
cheb:D or lsq:D (fit ReLU with degree D on [-interval, interval]),
coeffs:c0,c1,... (any polynomial, lowest degree first).
Features are min-max scaled to [-1, 1] with training statistics; the model
file keeps the scaler, the folded network (batch-norm merged into the dense
layers) and the observed pre-activation ranges for the encrypted evaluator.";

#[derive(Debug, Subcommand)]
pub enum NnCommand {
    /// Train on every row of a feature table and save the folded model.
    Train(TrainArgs),
    /// Speaker-independent cross-validation (default), or apply a saved model with --model.
    Eval(EvalArgs),
    /// Fit a polynomial to ReLU on [-r, r] and print its coefficients and max error.
    Poly(PolyArgs),
}

/// The feature table and the classes to keep.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Feature table CSV: `file,speaker,label,<features...>` (as written by
    /// `privox extract`; openSMILE CSVs with an `emotion` column work too).
    #[arg(long, value_name = "CSV")]
    pub features: PathBuf,
    /// Classes to use, comma-separated; rows with other labels are dropped.
    #[arg(long, value_delimiter = ',', default_value = "neutral,angry")]
    pub classes: Vec<String>,
    /// Per-speaker calibration (recorded in the model file, which then
    /// refuses features prepared otherwise).
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// Network shape.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArgs {
    /// Hidden layer widths, comma-separated (the paper: 100,50).
    #[arg(long, value_delimiter = ',', default_value = "100,50")]
    pub hidden: Vec<usize>,
    /// Training activation: relu, p2, p4, p6, cheb:D, lsq:D or coeffs:c0,c1,...
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Half-width r of the interval [-r, r] for cheb:D, lsq:D and coeffs:...
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Batch-norm between each hidden dense layer and its activation.
    #[arg(long)]
    pub batch_norm: bool,
    /// Initial batch-norm scale γ. Default with ReLU: 1. Default with a
    /// polynomial: the robust recipe's inner speaker CV picks 0.1 (starts the
    /// polynomial in its near-linear region) or 1 (its curvature from the
    /// start: better with many classes); other recipes use 0.1.
    #[arg(long)]
    pub bn_gamma_init: Option<f64>,
}

/// Optimisation settings: a named recipe, each setting overridable.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainingArgs {
    /// Training recipe. `robust`: class-balanced loss, epoch count by inner
    /// 3-fold speaker cross-validation whose validation folds hold every
    /// class, then a refit on all training speakers; range penalty 100.
    /// `paper`: the paper's recipe exactly as behind the published Table 4
    /// (uniform loss, early stopping on a quarter of the training speakers
    /// chosen without regard to class). The options below override single
    /// settings of the recipe.
    #[arg(long, value_enum, default_value_t = RecipeArg::Robust)]
    pub recipe: RecipeArg,
    /// sgd (plain or with --momentum) or adam [recipe: sgd].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate [default: 0.01 for sgd, 0.001 for adam].
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD heavy-ball momentum in [0, 1) [recipe: 0].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Mini-batch size [recipe: 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Maximum number of epochs [recipe: 300].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Early stopping neither stops nor keeps an epoch before this one [recipe: 0].
    #[arg(long)]
    pub min_epochs: Option<usize>,
    /// Early stopping: epochs without improvement on the validation speakers
    /// before stopping (the best epoch is kept); 0 trains all --epochs on
    /// all rows [recipe: 20].
    #[arg(long)]
    pub patience: Option<usize>,
    /// How the epoch count is chosen on the training speakers [recipe:
    /// inner-cv (robust), holdout (paper)].
    #[arg(long, value_enum)]
    pub select: Option<SelectArg>,
    /// Hold out 1/K of the training speakers for early stopping, or run K
    /// inner folds with inner-cv [recipe: 3 (robust), 4 (paper)].
    #[arg(long, value_name = "K")]
    pub val_folds: Option<usize>,
    /// Validation figure followed by early stopping [recipe: loss].
    #[arg(long, value_enum)]
    pub stop_on: Option<StopOnArg>,
    /// L2 weight decay on the dense weights [recipe: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Class weights in the loss: `uniform`, `balanced` or one number per
    /// class in --classes order, e.g. `1,2.5` [recipe: balanced (robust),
    /// uniform (paper)].
    #[arg(long)]
    pub class_weight: Option<String>,
    /// Weight of the penalty on pre-activations outside the polynomial's
    /// interval (keeps them where the polynomial approximates ReLU); 0 = off
    /// [recipe: 100 (robust), 0 (paper)].
    #[arg(long)]
    pub range_penalty: Option<f64>,
    /// Seed of initialisation, shuffling and the validation speakers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecipeArg {
    /// Does not collapse when speakers hold one class (the default).
    Robust,
    /// The paper's recipe, reproduces the published Table 4.
    Paper,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SelectArg {
    /// Early stopping on 1/K of the training speakers, chosen without regard to class (paper).
    Holdout,
    /// Early stopping on 1/K of the training speakers, chosen to hold every class.
    ClassHoldout,
    /// Epoch count by inner K-fold speaker CV, then refit on all training speakers.
    InnerCv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OptimizerArg {
    /// Plain stochastic gradient descent (the paper: lr 0.01).
    Sgd,
    /// Adam (lr 0.001 by default).
    Adam,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StopOnArg {
    /// Lowest validation cross-entropy.
    Loss,
    /// Highest validation unweighted average recall.
    Uar,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output model file (privox-format envelope, magic PVXNNMD1).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Activation written to the model instead of the training one (the
    /// paper's recipe: train with ReLU, infer with a polynomial).
    #[arg(long)]
    pub infer_activation: Option<String>,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub training: TrainingArgs,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Feature table CSV (labels needed for the metrics).
    #[arg(long, value_name = "CSV")]
    pub features: PathBuf,
    /// Classes to use, comma-separated (cross-validation only; a saved
    /// model uses its own classes).
    #[arg(long, value_delimiter = ',', default_value = "neutral,angry")]
    pub classes: Vec<String>,
    /// Apply this saved model (from `privox nn train`) instead of cross-validating.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Speaker-grouped K-fold instead of leave-one-speaker-out.
    #[arg(long, value_name = "K")]
    pub folds: Option<usize>,
    /// Seed of the speaker-to-fold assignment for --folds.
    #[arg(long, default_value_t = 0)]
    pub fold_seed: u64,
    /// Run N seeds (seed, seed+1, ...) and report mean ± std of the pooled metrics.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Also evaluate the trained networks with this activation swapped in
    /// (the paper's recipe), e.g. `p2`; repeatable.
    #[arg(long)]
    pub infer_activation: Vec<String>,
    /// Clamp scaled test features to [-C, C] (the client scales in the clear
    /// before encrypting, so this is free under HE); 0 disables.
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// Per-speaker calibration of --features (with --model: must be what
    /// the model was trained with).
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub training: TrainingArgs,
}

#[derive(Debug, clap::Args)]
pub struct PolyArgs {
    /// Polynomial degree.
    #[arg(long, default_value_t = 2)]
    pub degree: usize,
    /// Half-width r of the fitting interval [-r, r].
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Fitting method.
    #[arg(long, value_enum, default_value_t = FitArg::Chebyshev)]
    pub method: FitArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FitArg {
    /// Interpolation at Chebyshev nodes (near-minimax: small worst-case error).
    Chebyshev,
    /// Least squares on a dense grid (small average error).
    Lsq,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        NnCommand::Train(a) => run_train(a),
        NnCommand::Eval(a) => run_eval(a),
        NnCommand::Poly(a) => run_poly(a),
    }
}

fn parse_activation(s: &str, interval: f64) -> Result<Activation> {
    Ok(Activation::from_name(s, interval)?)
}

fn spec_of(a: &NetworkArgs) -> Result<NetworkSpec> {
    let activation = parse_activation(&a.activation, a.interval)?;
    Ok(network_spec(
        a.hidden.clone(),
        a.batch_norm,
        activation,
        a.bn_gamma_init,
    ))
}

/// The named recipe with the command line's overrides applied (an explicit
/// `--bn-gamma-init` replaces the recipe's γ₀ search).
fn recipe(a: &TrainingArgs, network: &NetworkArgs, n_classes: usize) -> Result<Recipe> {
    anyhow::ensure!(
        !(matches!(a.optimizer, Some(OptimizerArg::Adam)) && a.momentum.is_some()),
        "--momentum applies to sgd only (Adam has its own moment estimates)"
    );
    let class_weights = match a.class_weight.as_deref() {
        None => None,
        Some("uniform") => Some(ClassWeights::Uniform),
        Some("balanced") => Some(ClassWeights::Balanced),
        Some(list) => Some(ClassWeights::Custom(
            list.split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .with_context(|| {
                    format!("--class-weight '{list}': expected `uniform`, `balanced` or numbers")
                })?,
        )),
    };
    let overrides = RecipeOverrides {
        optimizer: a.optimizer.map(|o| match o {
            OptimizerArg::Sgd => OptimizerChoice::Sgd,
            OptimizerArg::Adam => OptimizerChoice::Adam,
        }),
        learning_rate: a.lr,
        momentum: a.momentum,
        batch_size: a.batch_size,
        max_epochs: a.epochs,
        min_epochs: a.min_epochs,
        patience: a.patience,
        selection: a.select.map(|s| match s {
            SelectArg::Holdout => SelectionChoice::Holdout,
            SelectArg::ClassHoldout => SelectionChoice::ClassHoldout,
            SelectArg::InnerCv => SelectionChoice::InnerCv,
        }),
        val_folds: a.val_folds,
        stop_on: a.stop_on.map(|s| match s {
            StopOnArg::Loss => StopOn::ValLoss,
            StopOnArg::Uar => StopOn::ValUar,
        }),
        weight_decay: a.weight_decay,
        class_weights,
        range_penalty: a.range_penalty,
        seed: Some(a.seed),
        fixed_bn_gamma: network.bn_gamma_init.is_some(),
    };
    let base = match a.recipe {
        RecipeArg::Robust => Recipe::robust(),
        RecipeArg::Paper => Recipe::paper(),
    };
    Ok(base.with_overrides(&overrides, n_classes)?)
}

fn load_dataset(path: &Path, classes: &[String], calibration: &CalibrationArgs) -> Result<Dataset> {
    let table = FeatureTable::read_csv(path)
        .with_context(|| format!("reading the feature table {}", path.display()))?;
    // Each speaker by all of their own rows, before the class filter: no label is used.
    let table = calibration.apply(table)?;
    let classes = ClassSet::new(classes.iter().cloned())?;
    let data = table
        .to_dataset(&classes)
        .context("selecting the classes from the feature table")?;
    data.require_two_classes()?;
    Ok(data)
}

fn describe(spec: &NetworkSpec, recipe: &Recipe, name: RecipeArg) -> String {
    recipe.describe(
        match name {
            RecipeArg::Robust => "robust",
            RecipeArg::Paper => "paper",
        },
        spec,
    )
}

fn run_train(a: TrainArgs) -> Result<ExitCode> {
    let data = load_dataset(&a.input.features, &a.input.classes, &a.input.calibration)?;
    let spec = spec_of(&a.network)?;
    let recipe = recipe(&a.training, &a.network, data.classes.len())?;
    let description = format!(
        "{} | trained on {} ({} rows)",
        describe(&spec, &recipe, a.training.recipe),
        a.input.features.display(),
        data.len()
    );
    println!("training: {description}");
    let t = Instant::now();
    let mut model = train_model_with(&data, &spec, &recipe.train, &recipe.selection, description)?;
    if let Some(act) = &a.infer_activation {
        // The paper's recipe: same weights, polynomial activation at inference.
        let act = parse_activation(act, a.network.interval)?;
        model = model.with_activation(&act, &data.x)?;
    }
    let train_x = model.scale(&data.x)?;
    let pred = model.network.predict(&train_x)?;
    let cm = ConfusionMatrix::from_predictions(data.classes.len(), &data.y, &pred)?;
    model.calibration = a.input.calibration.calibration;
    model
        .save(&a.output)
        .with_context(|| format!("saving the model to {}", a.output.display()))?;
    println!(
        "trained in {:.2} s; training-set accuracy {:.2} %, UAR {:.2} % (optimistic: same rows)",
        t.elapsed().as_secs_f64(),
        100.0 * cm.accuracy(),
        100.0 * cm.uar()
    );
    println!(
        "max |pre-activation| per activation layer on the training rows: {:?}",
        model
            .activation_max
            .iter()
            .map(|v| (v * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
    println!(
        "model (fingerprint {}) written to {}",
        model.fingerprint(),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_eval(a: EvalArgs) -> Result<ExitCode> {
    if let Some(model_path) = &a.model {
        return eval_saved(model_path, &a.features, &a.calibration);
    }
    let data = load_dataset(&a.features, &a.classes, &a.calibration)?;
    let spec = spec_of(&a.network)?;
    let recipe = recipe(&a.training, &a.network, data.classes.len())?;
    let folds = match a.folds {
        None => OuterSplit::LeaveOneSpeakerOut,
        Some(k) => OuterSplit::GroupKFold {
            k,
            seed: a.fold_seed,
        },
    }
    .folds(&data)?;
    let mut evaluations = vec![(a.network.activation.clone(), None)];
    for name in &a.infer_activation {
        evaluations.push((
            format!("{} → {name} at inference", a.network.activation),
            Some(parse_activation(name, a.network.interval)?),
        ));
    }
    let job = NetworkCells {
        name: a.network.activation.clone(),
        spec: spec.clone(),
        evaluations,
    };
    let proto = ProtocolConfig {
        train: recipe.train.clone(),
        selection: recipe.selection.clone(),
        seeds: (a.training.seed..a.training.seed + a.seeds.max(1)).collect(),
        clip_inputs: (a.clip > 0.0).then_some(a.clip),
    };
    println!(
        "{}: {} rows, {} speakers, {} folds × {} seed(s); {}",
        match a.folds {
            None => "leave-one-speaker-out".to_string(),
            Some(k) => format!("speaker-grouped {k}-fold"),
        },
        data.len(),
        data.group_names.len(),
        folds.len(),
        proto.seeds.len(),
        describe(&spec, &recipe, a.training.recipe)
    );
    let bar = ProgressBar::new((folds.len() * proto.seeds.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} trainings [{elapsed_precise} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let t = Instant::now();
    let results = evaluate_cells(&data, &folds, &[job], &proto, &|| bar.inc(1))?;
    bar.finish_and_clear();
    println!(
        "{} trainings in {:.1} s",
        folds.len() * proto.seeds.len(),
        t.elapsed().as_secs_f64()
    );
    for cell in &results {
        print_cell(cell, &data);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_cell(cell: &CellResult, data: &Dataset) {
    println!("\n== {}", cell.name);
    if let Some(first) = cell.runs.first() {
        println!(
            "{:<14} {:>6} {:>9} {:>9}   (seed {})",
            "fold", "n", "acc %", "UAR %", first.seed
        );
        let per_fold = &first.evaluation.folds;
        for f in per_fold {
            let cm = &f.confusion;
            println!(
                "{:<14} {:>6} {:>9.2} {:>9.2}",
                f.name,
                cm.total(),
                100.0 * cm.accuracy(),
                100.0 * cm.uar()
            );
        }
        let accs: Vec<f64> = per_fold
            .iter()
            .map(|f| 100.0 * f.confusion.accuracy())
            .collect();
        let uars: Vec<f64> = per_fold.iter().map(|f| 100.0 * f.confusion.uar()).collect();
        let ((am, asd), (um, usd)) = (mean_std(&accs), mean_std(&uars));
        println!("per-fold mean ± std: accuracy {am:.2} ± {asd:.2} %, UAR {um:.2} ± {usd:.2} %");
        println!(
            "pooled over all held-out speakers (rows true, columns predicted: {}):\n{}",
            data.classes.names().join(", "),
            first.pooled()
        );
    }
    if cell.runs.len() > 1 {
        println!("per seed (pooled over all held-out speakers):");
        for r in &cell.runs {
            let collapsed = r.collapsed_folds();
            println!(
                "  seed {:<4} accuracy {:6.2} %, UAR {:6.2} %{}",
                r.seed,
                100.0 * r.pooled().accuracy(),
                100.0 * r.pooled().uar(),
                if collapsed.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; folds predicting one class only: {}",
                        collapsed.join(", ")
                    )
                }
            );
        }
    }
    if let Some(s) = cell.summary() {
        println!(
            "pooled over {} seed(s): accuracy {:.2} ± {:.2} %, UAR {:.2} ± {:.2} % (mean ± std); worst seed {} (UAR {:.2} %); {} fold(s) predicting one class for a multi-class test speaker; mean kept epoch {:.1}; max |pre-activation| on test rows {:.2}",
            s.seeds,
            s.accuracy_mean,
            s.accuracy_std,
            s.uar_mean,
            s.uar_std,
            s.worst_seed,
            s.worst_uar,
            s.collapsed_folds,
            s.mean_epoch,
            s.max_preactivation
        );
    }
}

fn eval_saved(
    model_path: &Path,
    features: &Path,
    calibration: &CalibrationArgs,
) -> Result<ExitCode> {
    let model = NnModel::load(model_path)
        .with_context(|| format!("loading the model {}", model_path.display()))?;
    model.calibration.require(calibration.calibration)?;
    let table = FeatureTable::read_csv(features)
        .with_context(|| format!("reading the feature table {}", features.display()))?;
    let table = calibration.apply(table)?;
    let classes = ClassSet::new(model.class_names.iter().cloned())?;
    let data = table
        .to_dataset(&classes)
        .context("selecting the model's classes from the feature table")?;
    let pred = model.predict_dataset(&data, calibration.calibration)?;
    let cm = ConfusionMatrix::from_predictions(classes.len(), &data.y, &pred)?;
    println!("model {} ({})", model_path.display(), model.description);
    println!(
        "{} rows: accuracy {:.2} %, UAR {:.2} % (rows true, columns predicted: {}):\n{}",
        data.len(),
        100.0 * cm.accuracy(),
        100.0 * cm.uar(),
        classes.names().join(", "),
        cm
    );
    Ok(ExitCode::SUCCESS)
}

fn run_poly(a: PolyArgs) -> Result<ExitCode> {
    let relu = |x: f64| x.max(0.0);
    let fit = match a.method {
        FitArg::Chebyshev => fit_chebyshev(&relu, a.degree, a.interval)?,
        FitArg::Lsq => fit_least_squares(&relu, a.degree, a.interval)?,
    };
    println!(
        "{:?} fit of ReLU on [-{r}, {r}], degree {}:",
        fit.method,
        a.degree,
        r = a.interval
    );
    println!("  p(x) = {}", fit.activation.poly);
    println!(
        "  coefficients (lowest degree first): {:?}",
        fit.activation.poly.coeffs()
    );
    println!(
        "  max |p(x) − ReLU(x)| on the interval: {:.5}",
        fit.max_error
    );
    println!("paper presets on the same interval, for comparison:");
    for name in privox_nn::poly::PRESET_NAMES {
        if let Some(p) = PolyActivation::preset(name) {
            println!(
                "  {name}: max error {:.5}  ({})",
                max_abs_error(&p.poly, &relu, a.interval, 20_001),
                p.poly
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `privox demo` stage: the ReLU MLP baseline and the HE-aware degree-2
/// polynomial MLP with batch-norm, leave-one-speaker-out on the demo
/// corpus's extracted features (seed 1), plus BN folding and a model file
/// round trip of the HE-aware network.
pub fn demo_stage(table: &FeatureTable, out: &Path) -> Result<()> {
    let data = table.to_dataset(&ClassSet::neutral_angry())?;
    let t = Instant::now();
    let r = privox_nn::protocol::demo::run(&data)?;
    for cell in &r.cells {
        if let Some(run) = cell.runs.first() {
            println!(
                "nn   {}, leave-one-speaker-out ({} speakers, {} files): accuracy {:.2} %, UAR {:.2} %",
                cell.name,
                r.folds,
                data.len(),
                100.0 * run.pooled().accuracy(),
                100.0 * run.pooled().uar()
            );
        }
    }
    let model = r.model;
    let path = out.join("cryptonet-p2.pvxnn");
    model.save(&path)?;
    let back = NnModel::load(&path)?;
    anyhow::ensure!(back == model, "model file round trip changed the model");
    println!(
        "nn   HE-aware model on all demo files, batch-norm folded: {} affine + {} polynomial layers, written to {} ({:.1} s for the nn stage)",
        model.network.layers().len() - model.activation_max.len(),
        model.activation_max.len(),
        path.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
