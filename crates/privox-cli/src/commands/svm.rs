//! `privox svm`: train, tune, evaluate and apply C-SVMs on features or SMH codes.
//!
//! The same verbs work on two kinds of input:
//! * `--features table.csv`: a feature table (`privox extract` output); the
//!   RBF kernel `exp(−γ‖x−y‖²)` on features min-max scaled to [-1, 1] with
//!   training statistics (the scaler is stored in the model);
//! * `--codes codes.pvx`: SMH codes (`privox smh hash` output); the
//!   RBF-Hamming kernel `exp(−γ·d_H²)`, so the server never sees features.
//!
//! Every split is speaker-independent: inner CV folds group by speaker, and
//! `eval` holds out one speaker at a time.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use indicatif::ProgressBar;
use privox_data::{
    ClassSet, ConfusionMatrix, Dataset, Evaluation, FeatureTable, InnerSplit, Labelled, Metric,
    OuterSplit, evaluate, mean_std,
};
use privox_smh::CodeTable;
use privox_svm::{
    ClassWeights, CodeDataset, Grid, InnerScaling, SolverParams, SvcParams, SvmData, SvmFit,
    SvmLearner, SvmModel, Tuning,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::calibrate::CalibrationArgs;
use privox_data::Calibration;

/// Train, tune, evaluate and apply C-SVMs (LIBSVM-equivalent solver).
///
/// Quick start on features (binary neutral/angry by default):
///
///   privox svm eval  --features feats.csv                  # leave-one-speaker-out, inner grid
///   privox svm grid  --features feats.csv                  # pick (C, γ) by speaker-grouped CV
///   privox svm train --features feats.csv -o model.pvx     # grid, then fit on everything
///   privox svm predict --model model.pvx --features new.csv -o predictions.csv
///
/// The same with SMH codes (`privox smh hash` output) instead of features:
/// replace `--features feats.csv` by `--codes codes.pvx`; the model then
/// stores the SMH public parameters and key id, and refuses codes made with
/// another key or other parameters.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: SvmCommand,
}

const EXAMPLES: &str = "\
Examples (binary neutral/angry by default; --classes picks others):
  privox svm eval    --features feats.csv                 leave-one-speaker-out, inner (C, γ) grid per fold
  privox svm eval    --features feats.csv -c 4 --gamma 0.0156   fixed (C, γ), no inner search
  privox svm grid    --features feats.csv --log2-c -5:15:2 --log2-gamma 3:-15:-2
  privox svm train   --features feats.csv -o model.pvx    grid search, then fit on all rows
  privox svm predict --model model.pvx --features new.csv -o predictions.csv
  privox svm eval    --codes codes.pvx                    the same on SMH codes (`privox smh hash`)

Features are min-max scaled to [-1, 1] with training statistics only; the model
keeps the scaler. Hashed models keep the SMH public parameters and key id and
refuse codes made with another key or other parameters.";

#[derive(Debug, Subcommand)]
pub enum SvmCommand {
    /// Grid search over (C, γ) with speaker-grouped k-fold CV; prints the best point.
    Grid(GridArgs),
    /// Train a model and save it (with the scaler or the SMH code space).
    Train(TrainArgs),
    /// Apply a saved model; reports accuracy, UAR and the confusion matrix when labels are known.
    Predict(PredictArgs),
    /// Leave-one-speaker-out evaluation with per-fold and pooled reports.
    Eval(EvalArgs),
}

/// Where the examples come from.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Feature table CSV: `file,speaker,label,<features...>` (as written by
    /// `privox extract`). Trains the RBF kernel on min-max scaled features.
    #[arg(
        long,
        value_name = "CSV",
        required_unless_present = "codes",
        conflicts_with = "codes"
    )]
    pub features: Option<PathBuf>,
    /// SMH code file from `privox smh hash` (with speakers and labels).
    /// Trains the RBF-Hamming kernel exp(−γ·d_H²) on the codes.
    #[arg(long, value_name = "FILE")]
    pub codes: Option<PathBuf>,
    /// Classes to use, comma-separated; rows with other labels are dropped.
    /// Example: `--classes neutral,angry,happy`.
    #[arg(long, value_delimiter = ',', default_value = "neutral,angry")]
    pub classes: Vec<String>,
    /// Per-speaker calibration of --features (codes are calibrated, if at
    /// all, by `privox smh hash --calibration`).
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

/// How (C, γ) are searched.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// log2(C) values: `begin:end:step` or a comma list. Default: LIBSVM's grid.py, -5:15:2.
    #[arg(long, default_value = "-5:15:2", allow_hyphen_values = true)]
    pub log2_c: String,
    /// log2(γ) values: `begin:end:step` or a comma list. Default: 3:-15:-2
    /// (LIBSVM's grid.py) for features, 9:-3:-2 for codes (d_H² is at most 1,
    /// so useful γ are larger).
    #[arg(long, allow_hyphen_values = true)]
    pub log2_gamma: Option<String>,
    /// Speaker-grouped inner folds (capped at the number of speakers).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the speaker-to-fold assignment.
    #[arg(long, default_value_t = 0)]
    pub fold_seed: u64,
    /// What the search maximizes.
    #[arg(long, value_enum, default_value_t = MetricArg::Uar)]
    pub metric: MetricArg,
}

/// Solver settings shared by every verb that trains.
#[derive(Debug, Clone, clap::Args)]
pub struct SolverArgs {
    /// Kernel column cache in MB (LIBSVM -m).
    #[arg(long, default_value_t = 200.0)]
    pub cache_mb: f64,
    /// Stopping tolerance of SMO (LIBSVM -e).
    #[arg(long, default_value_t = 1e-3)]
    pub eps: f64,
    /// Disable LIBSVM's shrinking heuristic (LIBSVM -h 0).
    #[arg(long)]
    pub no_shrinking: bool,
    /// Class weights: `balanced` (n / (classes · n_class)) or one number per
    /// class in `--classes` order, e.g. `1,2.5`. C of class i becomes C·w_i.
    #[arg(long)]
    pub class_weight: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetricArg {
    /// Unweighted average recall (mean of per-class recalls).
    Uar,
    /// Share of correct predictions.
    Accuracy,
}

#[derive(Debug, clap::Args)]
pub struct GridArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// Also print every grid point, not only the best five.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output model file.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// C; with --gamma skips the grid search.
    #[arg(short = 'c', long = "c")]
    pub c: Option<f64>,
    /// γ; with -c skips the grid search.
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Fit Platt sigmoids (LIBSVM -b 1, internal 5-fold CV) so that
    /// `predict` can output class probabilities.
    #[arg(long)]
    pub probability: bool,
    /// Seed of the Platt CV shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// Model file written by `privox svm train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Feature table CSV (for RBF models); labels are optional.
    #[arg(
        long,
        value_name = "CSV",
        required_unless_present = "codes",
        conflicts_with = "codes"
    )]
    pub features: Option<PathBuf>,
    /// SMH code file (for RBF-Hamming models); must use the model's key and parameters.
    #[arg(long, value_name = "FILE")]
    pub codes: Option<PathBuf>,
    /// Per-speaker calibration of --features; must be what the model was
    /// trained with (the model refuses anything else).
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// Write per-row predictions as CSV: file, label, predicted, decision values, probabilities.
    #[arg(short, long, value_name = "CSV")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Fixed C (with --gamma): no inner search.
    #[arg(short = 'c', long = "c")]
    pub c: Option<f64>,
    /// Fixed γ (with -c): no inner search.
    #[arg(long)]
    pub gamma: Option<f64>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub solver: SolverArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        SvmCommand::Grid(a) => run_grid(a),
        SvmCommand::Train(a) => run_train(a),
        SvmCommand::Predict(a) => run_predict(a),
        SvmCommand::Eval(a) => run_eval(a),
    }
}

/// The labelled input of a verb: features or codes.
enum Input {
    Features(Dataset),
    Codes(CodeDataset),
}

/// Runs `$body` with `$d` bound to the input's data set, whichever kind it is.
macro_rules! with_data {
    ($input:expr, $d:ident => $body:expr) => {
        match $input {
            Input::Features($d) => $body,
            Input::Codes($d) => $body,
        }
    };
}

impl Input {
    fn load(input: &InputArgs) -> Result<Self> {
        let classes = ClassSet::new(input.classes.iter().map(|s| s.trim().to_string()))?;
        let data = match (&input.features, &input.codes) {
            (Some(p), _) => {
                let t = FeatureTable::read_csv(p)
                    .with_context(|| format!("reading feature table {}", p.display()))?;
                // Each speaker's statistics come from all of their rows,
                // before the classes are selected: no label is used.
                let t = input.calibration.apply(t)?;
                Input::Features(
                    t.to_dataset(&classes)
                        .context("selecting the classes from the feature table")?,
                )
            }
            (None, Some(p)) => {
                if input.calibration.calibration != Calibration::None {
                    bail!(
                        "--calibration applies to --features; calibrate before hashing with `privox smh hash --calibration`"
                    );
                }
                let t = CodeTable::read(p)
                    .with_context(|| format!("reading code file {}", p.display()))?;
                Input::Codes(CodeDataset::from_table(&t, &classes)?)
            }
            (None, None) => bail!("give --features CSV or --codes FILE"),
        };
        let n = with_data!(&data, d => d.n_rows());
        if n == 0 {
            bail!(
                "no rows with labels {:?}; check --classes against the labels in the input",
                classes.names()
            );
        }
        Ok(data)
    }

    fn is_codes(&self) -> bool {
        matches!(self, Input::Codes(_))
    }
    fn kernel_name(&self) -> &'static str {
        if self.is_codes() {
            "RBF-Hamming"
        } else {
            "RBF"
        }
    }
}

/// The learner the flags describe; (C, γ) fixed when both are given.
fn learner(
    solver: &SolverArgs,
    search: &SearchArgs,
    codes: bool,
    fixed: Option<(f64, f64)>,
) -> Result<SvmLearner> {
    if !(solver.cache_mb.is_finite() && solver.cache_mb > 0.0) {
        bail!("--cache-mb must be > 0 (LIBSVM's default is 100, ours 200)");
    }
    let class_weights = match solver.class_weight.as_deref() {
        None => ClassWeights::Equal,
        Some(s) => ClassWeights::parse(s)?,
    };
    let tuning = match fixed {
        Some((c, gamma)) => Tuning::Fixed { c, gamma },
        None => {
            let default_gamma = if codes { "9:-3:-2" } else { "3:-15:-2" };
            Tuning::Search {
                grid: Grid {
                    log2_c: Grid::parse_range(&search.log2_c)?,
                    log2_gamma: Grid::parse_range(
                        search.log2_gamma.as_deref().unwrap_or(default_gamma),
                    )?,
                },
                metric: match search.metric {
                    MetricArg::Uar => Metric::Uar,
                    MetricArg::Accuracy => Metric::Accuracy,
                },
                inner: InnerSplit {
                    folds: search.folds,
                    seed: search.fold_seed,
                },
                scaling: InnerScaling::TrainingRows,
            }
        }
    };
    Ok(SvmLearner {
        tuning,
        params: SvcParams {
            solver: SolverParams {
                eps: solver.eps,
                shrinking: !solver.no_shrinking,
                cache_bytes: (solver.cache_mb * 1024.0 * 1024.0) as usize,
                max_iter: None,
            },
            ..SvcParams::default()
        },
        class_weights,
        progress: None,
    })
}

/// Both or neither of -c and --gamma.
fn fixed_pair(c: Option<f64>, gamma: Option<f64>, neither: &str) -> Result<Option<(f64, f64)>> {
    match (c, gamma) {
        (Some(c), Some(g)) => Ok(Some((c, g))),
        (None, None) => Ok(None),
        _ => bail!("give both -c and --gamma, or neither (then {neither})"),
    }
}

/// `learner` reporting its grid points to a new progress bar of `len` steps.
fn with_bar(mut learner: SvmLearner, len: usize, what: &str) -> (SvmLearner, ProgressBar) {
    let pb = super::progress::bar(len as u64, what, "grid points");
    let tick = pb.clone();
    learner.progress = Some(Arc::new(move || tick.inc(1)));
    (learner, pb)
}

fn print_points(points: &[privox_svm::GridPoint], limit: usize) {
    let mut sorted: Vec<&privox_svm::GridPoint> = points.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    println!("{:>10} {:>12} {:>9} {:>9}", "C", "gamma", "acc %", "UAR %");
    for p in sorted.into_iter().take(limit) {
        println!(
            "{:>10.4} {:>12.6} {:>9.2} {:>9.2}",
            p.c,
            p.gamma,
            100.0 * p.accuracy,
            100.0 * p.uar
        );
    }
}

fn run_grid(a: GridArgs) -> Result<ExitCode> {
    let input = Input::load(&a.input)?;
    let learner = learner(&a.solver, &a.search, input.is_codes(), None)?;
    let steps = learner.steps_per_fit();
    let (learner, pb) = with_bar(learner, steps, "grid");
    let (res, n, speakers, folds) = with_data!(&input, d => {
        let all: Vec<usize> = (0..d.n_rows()).collect();
        let folds = InnerSplit { folds: a.search.folds, seed: a.search.fold_seed }.folds(d, &all)?;
        (learner.search(d, &all)?, d.n_rows(), d.speaker_names().len(), folds.len())
    });
    pb.finish_and_clear();
    println!(
        "{} examples, {} speakers, {} speaker-grouped folds, {} grid points, kernel {}",
        n,
        speakers,
        folds,
        res.points.len(),
        input.kernel_name()
    );
    print_points(&res.points, if a.all { usize::MAX } else { 5 });
    println!(
        "best: C = {} gamma = {} (log2 C = {}, log2 gamma = {}), CV accuracy {:.2} %, UAR {:.2} %",
        res.best.c,
        res.best.gamma,
        res.best.c.log2(),
        res.best.gamma.log2(),
        100.0 * res.best.accuracy,
        100.0 * res.best.uar
    );
    Ok(ExitCode::SUCCESS)
}

fn run_train(a: TrainArgs) -> Result<ExitCode> {
    let input = Input::load(&a.input)?;
    let fixed = fixed_pair(a.c, a.gamma, "a grid search picks them")?;
    let mut learner = learner(&a.solver, &a.search, input.is_codes(), fixed)?;
    learner.params.probability = a.probability;
    learner.params.seed = a.seed;
    let steps = learner.steps_per_fit();
    let (learner, pb) = with_bar(learner, steps, "grid");
    // `privox svm train` = fit on all rows.
    let (fit, n): (SvmFit, usize) = with_data!(&input, d => {
        let all: Vec<usize> = (0..d.n_rows()).collect();
        (privox_data::Fit::fit(&learner, d, &all)?, d.n_rows())
    });
    pb.finish_and_clear();
    if let Some(res) = &fit.search {
        println!(
            "grid: best C = {} gamma = {} (CV accuracy {:.2} %, UAR {:.2} %)",
            res.best.c,
            res.best.gamma,
            100.0 * res.best.accuracy,
            100.0 * res.best.uar
        );
    }
    let (c, gamma) = (fit.c(), fit.gamma());
    let mut model = fit.model;
    model.calibration = a.input.calibration.calibration;
    model
        .write(&a.output)
        .with_context(|| format!("writing {}", a.output.display()))?;
    println!(
        "trained {} C-SVC (C = {c}, gamma = {gamma}) on {} examples: {} support vectors per class {:?}; wrote {} (fingerprint {})",
        model.kernel.name(),
        n,
        model.solution.total_sv(),
        model.solution.n_sv,
        a.output.display(),
        model.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_predict(a: PredictArgs) -> Result<ExitCode> {
    let model =
        SvmModel::read(&a.model).with_context(|| format!("loading model {}", a.model.display()))?;
    let (files, labels, preds) = match (&a.features, &a.codes) {
        (Some(p), _) => {
            let t = FeatureTable::read_csv(p)
                .with_context(|| format!("reading feature table {}", p.display()))?;
            if !model.feature_names.is_empty() && model.feature_names != t.feature_names {
                bail!(
                    "the feature table's columns differ from the model's ({} vs {} features, or other names/order); extract features the same way as for training",
                    t.feature_names.len(),
                    model.feature_names.len()
                );
            }
            // Check before calibrating, so that a mismatch is reported as such.
            model.calibration.require(a.calibration.calibration)?;
            let t = a.calibration.apply(t)?;
            let preds = model.predict_features_calibrated(&t.x, a.calibration.calibration)?;
            (t.files, t.labels, preds)
        }
        (None, Some(p)) => {
            let t =
                CodeTable::read(p).with_context(|| format!("reading code file {}", p.display()))?;
            let preds = model.predict_codes(&t.codes)?;
            (t.files, t.labels, preds)
        }
        (None, None) => bail!("give --features CSV or --codes FILE"),
    };
    if let Some(out) = &a.output {
        write_predictions(out, &model, &files, &labels, &preds)?;
        println!("wrote {} predictions to {}", preds.len(), out.display());
    }
    // Metrics over the rows whose true label is one of the model's classes.
    let mut yt = Vec::new();
    let mut yp = Vec::new();
    for (l, p) in labels.iter().zip(&preds) {
        if let Some(c) = model.class_names.iter().position(|n| n == l) {
            yt.push(c);
            yp.push(p.class);
        }
    }
    if yt.is_empty() {
        for (i, p) in preds.iter().enumerate().take(20) {
            println!(
                "{}\t{}",
                files.get(i).map(String::as_str).unwrap_or("-"),
                model.class_names[p.class]
            );
        }
    } else {
        let cm = ConfusionMatrix::from_predictions(model.class_names.len(), &yt, &yp)?;
        println!(
            "{} labelled rows; classes (rows true, columns predicted): {}",
            yt.len(),
            model.class_names.join(", ")
        );
        println!("{cm}");
    }
    Ok(ExitCode::SUCCESS)
}

fn write_predictions(
    out: &Path,
    model: &SvmModel,
    files: &[String],
    labels: &[String],
    preds: &[privox_svm::Prediction],
) -> Result<()> {
    let mut s = String::from("file,label,predicted");
    let nr = model.solution.labels.len();
    for i in 0..nr {
        for j in i + 1..nr {
            s.push_str(&format!(
                ",decision_{}_vs_{}",
                model.class_names[model.solution.labels[i]],
                model.class_names[model.solution.labels[j]]
            ));
        }
    }
    if preds.first().is_some_and(|p| p.probabilities.is_some()) {
        for n in &model.class_names {
            s.push_str(&format!(",p_{n}"));
        }
    }
    s.push('\n');
    for (i, p) in preds.iter().enumerate() {
        let file = files.get(i).map(String::as_str).unwrap_or("");
        let label = labels.get(i).map(String::as_str).unwrap_or("");
        s.push_str(&format!("{file},{label},{}", model.class_names[p.class]));
        for d in &p.decision {
            s.push_str(&format!(",{d}"));
        }
        if let Some(pr) = &p.probabilities {
            for v in pr {
                s.push_str(&format!(",{v}"));
            }
        }
        s.push('\n');
    }
    privox_format::write_atomic(out, s.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn print_loso(class_names: &[String], r: &Evaluation) {
    println!(
        "{:<12} {:>6} {:>9} {:>9} {:>10} {:>12}",
        "speaker", "n", "acc %", "UAR %", "C", "gamma"
    );
    for f in &r.folds {
        let chosen = |name: &str| {
            f.chosen
                .iter()
                .find(|(n, _)| n == name)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        println!(
            "{:<12} {:>6} {:>9.2} {:>9.2} {:>10.4} {:>12.6}",
            f.name,
            f.confusion.total(),
            100.0 * f.confusion.accuracy(),
            100.0 * f.confusion.uar(),
            chosen("C"),
            chosen("gamma")
        );
    }
    let accs: Vec<f64> = r
        .folds
        .iter()
        .map(|f| 100.0 * f.confusion.accuracy())
        .collect();
    let uars: Vec<f64> = r.folds.iter().map(|f| 100.0 * f.confusion.uar()).collect();
    let (am, asd) = mean_std(&accs);
    let (um, usd) = mean_std(&uars);
    println!("per-fold mean ± std: accuracy {am:.2} ± {asd:.2} %, UAR {um:.2} ± {usd:.2} %");
    println!(
        "pooled over all held-out speakers (rows true, columns predicted: {}):",
        class_names.join(", ")
    );
    println!("{}", r.pooled);
}

/// Leave-one-speaker-out of `learner` on `data`, with a progress bar.
fn loso<D: SvmData>(learner: &SvmLearner, data: &D) -> Result<Evaluation> {
    let folds = OuterSplit::LeaveOneSpeakerOut.folds(data)?;
    let (learner, pb) = with_bar(
        learner.clone(),
        learner.steps_per_fit() * folds.len(),
        "LOSO",
    );
    let eval = evaluate(&learner, data, &folds, &|| {})?;
    pb.finish_and_clear();
    Ok(eval)
}

fn run_eval(a: EvalArgs) -> Result<ExitCode> {
    let input = Input::load(&a.input)?;
    let fixed = fixed_pair(a.c, a.gamma, "an inner grid search picks them per fold")?;
    let learner = learner(&a.solver, &a.search, input.is_codes(), fixed)?;
    with_data!(&input, d => {
        println!(
            "leave-one-speaker-out: {} examples, {} speakers, kernel {}, {}",
            d.n_rows(),
            d.speaker_names().len(),
            input.kernel_name(),
            match fixed {
                Some((c, g)) => format!("fixed C = {c}, gamma = {g}"),
                None => format!(
                    "inner {}-fold speaker-grouped grid over {} points",
                    a.search.folds,
                    learner.steps_per_fit()
                ),
            }
        );
        let r = loso(&learner, d)?;
        print_loso(d.class_names(), &r);
    });
    Ok(ExitCode::SUCCESS)
}

/// The `privox demo` stage: prints what [`privox_svm::demo::run`] measures
/// (baseline RBF-SVM, with speaker calibration, and SMH k = 3, Δ = 2,
/// mpc = 32 + RBF-Hamming SVM, each leave-one-speaker-out with a small inner
/// grid, and the held-out × training leakage). `seed` fixes the SMH key.
pub fn demo_stage(table: &FeatureTable, seed: Option<u64>) -> Result<()> {
    let r = privox_svm::demo::run(table, seed)?;
    println!(
        "svm  baseline RBF-SVM, leave-one-speaker-out ({} speakers, {} files): accuracy {:.2} %, UAR {:.2} % ({:.1} s)",
        r.speakers,
        r.rows,
        100.0 * r.baseline.pooled.accuracy(),
        100.0 * r.baseline.pooled.uar(),
        r.baseline.seconds
    );
    if let Some(w) = &r.calibration_warning {
        eprintln!("{w}");
    }
    println!(
        "svm  RBF-SVM with speaker calibration (--calibration speaker), same protocol: accuracy {:.2} %, UAR {:.2} % ({:.1} s)",
        100.0 * r.calibrated.pooled.accuracy(),
        100.0 * r.calibrated.pooled.uar(),
        r.calibrated.seconds
    );
    println!(
        "svm  SMH k=3 delta=2 mpc=32 + RBF-Hamming SVM, leave-one-speaker-out: accuracy {:.2} %, UAR {:.2} % ({:.1} s); \
         leakage {:.2} % of held-out x training code pairs have d_H < {}",
        100.0 * r.hashed.pooled.accuracy(),
        100.0 * r.hashed.pooled.uar(),
        r.hashed.seconds,
        r.leakage.percent(),
        r.leakage.threshold
    );
    Ok(())
}
