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
use indicatif::{ProgressBar, ProgressStyle};
use privox_data::{
    ClassSet, ConfusionMatrix, FeatureTable, Fold, Matrix, MinMaxScaler, group_k_fold,
    leave_one_group_out, mean_std,
};
use privox_smh::{CodeTable, Codes, SmhKey, SmhParams, hamming_counts_symmetric};
use privox_svm::{
    Grid, GridSearch, HammingMatrix, Kernel, Metric, RbfKernel, SolverParams, SvcParams, SvmModel,
    grid_search, train,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// Training examples: features or codes, with labels and speakers.
pub struct Examples {
    pub points: Points,
    pub y: Vec<usize>,
    pub groups: Vec<usize>,
    pub group_names: Vec<String>,
    pub class_names: Vec<String>,
}

pub enum Points {
    /// Raw (unscaled) features with their names.
    Features {
        x: Matrix,
        names: Vec<String>,
    },
    Codes(Codes),
}

impl Examples {
    pub fn from_features(table: &FeatureTable, classes: &ClassSet) -> Result<Self> {
        let ds = table
            .to_dataset(classes)
            .context("selecting the classes from the feature table")?;
        Ok(Examples {
            points: Points::Features {
                x: ds.x,
                names: ds.feature_names,
            },
            y: ds.y,
            groups: ds.groups,
            group_names: ds.group_names,
            class_names: classes.names().to_vec(),
        })
    }

    pub fn from_codes(table: &CodeTable, classes: &ClassSet) -> Result<Self> {
        if table.labels.len() != table.codes.len() || table.speakers.len() != table.codes.len() {
            bail!(
                "the code file has no labels or speakers; hash a feature table with `privox smh hash` so they are kept"
            );
        }
        let mut keep = Vec::new();
        let mut y = Vec::new();
        let mut speakers: Vec<String> = Vec::new();
        let mut groups = Vec::new();
        for (i, label) in table.labels.iter().enumerate() {
            if let Some(c) = classes.index_of(label) {
                keep.push(i);
                y.push(c);
                let s = &table.speakers[i];
                let g = match speakers.iter().position(|x| x == s) {
                    Some(g) => g,
                    None => {
                        speakers.push(s.clone());
                        speakers.len() - 1
                    }
                };
                groups.push(g);
            }
        }
        let codes = table.codes.select(&keep)?;
        Ok(Examples {
            points: Points::Codes(codes),
            y,
            groups,
            group_names: speakers,
            class_names: classes.names().to_vec(),
        })
    }

    fn load(input: &InputArgs) -> Result<Self> {
        let classes = ClassSet::new(input.classes.iter().map(|s| s.trim().to_string()))?;
        let ex = match (&input.features, &input.codes) {
            (Some(p), _) => {
                let t = FeatureTable::read_csv(p)
                    .with_context(|| format!("reading feature table {}", p.display()))?;
                // Each speaker's statistics come from all of their rows,
                // before the classes are selected: no label is used.
                let t = input.calibration.apply(t)?;
                Examples::from_features(&t, &classes)?
            }
            (None, Some(p)) => {
                if input.calibration.calibration != Calibration::None {
                    bail!(
                        "--calibration applies to --features; calibrate before hashing with `privox smh hash --calibration`"
                    );
                }
                let t = CodeTable::read(p)
                    .with_context(|| format!("reading code file {}", p.display()))?;
                Examples::from_codes(&t, &classes)?
            }
            (None, None) => bail!("give --features CSV or --codes FILE"),
        };
        if ex.y.is_empty() {
            bail!(
                "no rows with labels {:?}; check --classes against the labels in the input",
                ex.class_names
            );
        }
        Ok(ex)
    }

    fn is_codes(&self) -> bool {
        matches!(self.points, Points::Codes(_))
    }
    fn len(&self) -> usize {
        self.y.len()
    }
}

fn solver_params(a: &SolverArgs, ex: &Examples) -> Result<SvcParams> {
    if !(a.cache_mb.is_finite() && a.cache_mb > 0.0) {
        bail!("--cache-mb must be > 0 (LIBSVM's default is 100, ours 200)");
    }
    let class_weights = match a.class_weight.as_deref() {
        None => Vec::new(),
        Some("balanced") => {
            let n = ex.len() as f64;
            let k = ex.class_names.len() as f64;
            (0..ex.class_names.len())
                .map(|c| {
                    let nc = ex.y.iter().filter(|&&v| v == c).count().max(1) as f64;
                    n / (k * nc)
                })
                .collect()
        }
        Some(list) => {
            let w: Vec<f64> = list
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .context("--class-weight takes `balanced` or numbers like 1,2.5")?;
            if w.len() != ex.class_names.len() {
                bail!(
                    "--class-weight has {} numbers for {} classes",
                    w.len(),
                    ex.class_names.len()
                );
            }
            w
        }
    };
    Ok(SvcParams {
        class_weights,
        solver: SolverParams {
            eps: a.eps,
            shrinking: !a.no_shrinking,
            cache_bytes: (a.cache_mb * 1024.0 * 1024.0) as usize,
            max_iter: None,
        },
        ..SvcParams::default()
    })
}

fn search_spec(s: &SearchArgs, codes: bool, params: &SvcParams) -> Result<GridSearch> {
    let default_gamma = if codes { "9:-3:-2" } else { "3:-15:-2" };
    Ok(GridSearch {
        grid: Grid {
            log2_c: Grid::parse_range(&s.log2_c)?,
            log2_gamma: Grid::parse_range(s.log2_gamma.as_deref().unwrap_or(default_gamma))?,
        },
        metric: match s.metric {
            MetricArg::Uar => Metric::Uar,
            MetricArg::Accuracy => Metric::Accuracy,
        },
        params: params.clone(),
    })
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} grid points, {elapsed} (eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Speaker-grouped inner folds over `rows` (global indices), in global indices.
fn inner_folds(ex: &Examples, rows: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>> {
    let groups: Vec<usize> = rows.iter().map(|&i| ex.groups[i]).collect();
    let mut distinct = groups.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        bail!(
            "inner cross-validation needs at least 2 speakers in the training data, found {}",
            distinct.len()
        );
    }
    let folds = group_k_fold(&groups, k.clamp(2, distinct.len()), seed)?;
    Ok(folds
        .into_iter()
        .map(|f| Fold {
            name: f.name,
            train: f.train.iter().map(|&i| rows[i]).collect(),
            test: f.test.iter().map(|&i| rows[i]).collect(),
        })
        .collect())
}

/// Kernels over all examples: scaled features (scaler fit on `fit_rows`) or Hamming counts.
enum KernelBase {
    Features(RbfKernel),
    Codes(HammingMatrix),
}

impl KernelBase {
    fn new(ex: &Examples, fit_rows: &[usize]) -> Result<Self> {
        Ok(match &ex.points {
            Points::Features { x, .. } => {
                let scaler = MinMaxScaler::fit(&x.select_rows(fit_rows))?;
                let scaled = scaler.transform(x)?;
                KernelBase::Features(RbfKernel::new(scaled.as_slice().to_vec(), x.cols(), 1.0)?)
            }
            Points::Codes(codes) => {
                let hm = hamming_counts_symmetric(codes);
                KernelBase::Codes(HammingMatrix::from_counts(
                    codes.len(),
                    hm.symbols() as u32,
                    hm.counts().to_vec(),
                )?)
            }
        })
    }

    /// Grid search over `folds` (global indices).
    fn search(
        &self,
        ex: &Examples,
        folds: &[Fold],
        spec: &GridSearch,
        pb: &ProgressBar,
    ) -> Result<privox_svm::GridResult> {
        let tick = || pb.inc(1);
        let n_classes = ex.class_names.len();
        Ok(match self {
            KernelBase::Features(kernel) => grid_search(
                |g| kernel.gamma_view(g),
                &ex.y,
                n_classes,
                folds,
                spec,
                &tick,
            )?,
            KernelBase::Codes(hm) => {
                grid_search(|g| hm.rbf(g), &ex.y, n_classes, folds, spec, &tick)?
            }
        })
    }

    /// Trains on `train` rows with (C, γ) and predicts `test` rows.
    fn fit_predict(
        &self,
        ex: &Examples,
        train_rows: &[usize],
        test_rows: &[usize],
        params: &SvcParams,
        gamma: f64,
    ) -> Result<Vec<usize>> {
        fn go<K: Kernel>(
            k: &K,
            ex: &Examples,
            tr: &[usize],
            te: &[usize],
            p: &SvcParams,
        ) -> Result<Vec<usize>> {
            let ytr: Vec<usize> = tr.iter().map(|&i| ex.y[i]).collect();
            let sol = train(k, tr, &ytr, ex.class_names.len(), p)?;
            Ok(te
                .iter()
                .map(|&t| sol.predict_with(|s| k.eval(t, s)))
                .collect())
        }
        match self {
            KernelBase::Features(kernel) => go(
                &kernel.gamma_view(gamma)?,
                ex,
                train_rows,
                test_rows,
                params,
            ),
            KernelBase::Codes(hm) => go(&hm.rbf(gamma)?, ex, train_rows, test_rows, params),
        }
    }
}

fn print_points(points: &[privox_svm::GridPoint], metric: Metric, limit: usize) {
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
    let _ = metric;
}

fn run_grid(a: GridArgs) -> Result<ExitCode> {
    let ex = Examples::load(&a.input)?;
    let params = solver_params(&a.solver, &ex)?;
    let spec = search_spec(&a.search, ex.is_codes(), &params)?;
    let all: Vec<usize> = (0..ex.len()).collect();
    let folds = inner_folds(&ex, &all, a.search.folds, a.search.fold_seed)?;
    let base = KernelBase::new(&ex, &all)?;
    let pb = progress(spec.grid.len() as u64, "grid");
    let res = base.search(&ex, &folds, &spec, &pb)?;
    pb.finish_and_clear();
    println!(
        "{} examples, {} speakers, {} speaker-grouped folds, {} grid points, kernel {}",
        ex.len(),
        ex.group_names.len(),
        folds.len(),
        spec.grid.len(),
        if ex.is_codes() { "RBF-Hamming" } else { "RBF" }
    );
    print_points(&res.points, spec.metric, if a.all { usize::MAX } else { 5 });
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
    let ex = Examples::load(&a.input)?;
    let mut params = solver_params(&a.solver, &ex)?;
    let (c, gamma) = match (a.c, a.gamma) {
        (Some(c), Some(g)) => (c, g),
        (None, None) => {
            let spec = search_spec(&a.search, ex.is_codes(), &params)?;
            let all: Vec<usize> = (0..ex.len()).collect();
            let folds = inner_folds(&ex, &all, a.search.folds, a.search.fold_seed)?;
            let base = KernelBase::new(&ex, &all)?;
            let pb = progress(spec.grid.len() as u64, "grid");
            let res = base.search(&ex, &folds, &spec, &pb)?;
            pb.finish_and_clear();
            println!(
                "grid: best C = {} gamma = {} (CV accuracy {:.2} %, UAR {:.2} %)",
                res.best.c,
                res.best.gamma,
                100.0 * res.best.accuracy,
                100.0 * res.best.uar
            );
            (res.best.c, res.best.gamma)
        }
        _ => bail!("give both -c and --gamma, or neither (then a grid search picks them)"),
    };
    params.c = c;
    params.probability = a.probability;
    params.seed = a.seed;
    let mut model = match &ex.points {
        Points::Features { x, names } => {
            SvmModel::train_features(x, &ex.y, &ex.class_names, names, gamma, &params)?
        }
        Points::Codes(codes) => {
            SvmModel::train_codes(codes, &ex.y, &ex.class_names, gamma, &params, None)?
        }
    };
    model.calibration = a.input.calibration.calibration;
    model
        .write(&a.output)
        .with_context(|| format!("writing {}", a.output.display()))?;
    println!(
        "trained {} C-SVC (C = {c}, gamma = {gamma}) on {} examples: {} support vectors per class {:?}; wrote {} (fingerprint {})",
        model.kernel.name(),
        ex.len(),
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

/// Result of a leave-one-speaker-out evaluation.
pub struct LosoReport {
    pub pooled: ConfusionMatrix,
    pub folds: Vec<FoldReport>,
}

pub struct FoldReport {
    pub speaker: String,
    pub cm: ConfusionMatrix,
    pub c: f64,
    pub gamma: f64,
}

/// Leave-one-speaker-out over `ex`: per outer fold, scaling is fit on the
/// training speakers, (C, γ) comes from `fixed` or an inner speaker-grouped
/// grid search, and the held-out speaker is predicted.
pub fn loso(
    ex: &Examples,
    spec: &GridSearch,
    fixed: Option<(f64, f64)>,
    inner_k: usize,
    seed: u64,
    show_progress: bool,
) -> Result<LosoReport> {
    let n_classes = ex.class_names.len();
    let outer = leave_one_group_out(&ex.groups, &ex.group_names);
    // With one speaker the only fold trains on nothing.
    anyhow::ensure!(
        outer.len() >= 2,
        "leave-one-speaker-out needs at least 2 speakers, found {}; add rows of other speakers",
        outer.len()
    );
    let codes_base = if ex.is_codes() {
        Some(KernelBase::new(ex, &[])?)
    } else {
        None
    };
    let per_fold = if fixed.is_some() {
        1
    } else {
        spec.grid.len() as u64
    };
    let pb = if show_progress {
        progress(per_fold * outer.len() as u64, "LOSO")
    } else {
        ProgressBar::hidden()
    };
    let mut pooled = ConfusionMatrix::new(n_classes);
    let mut folds = Vec::new();
    for f in &outer {
        let own;
        let base = match &codes_base {
            Some(b) => b,
            None => {
                own = KernelBase::new(ex, &f.train)?;
                &own
            }
        };
        let (c, gamma) = match fixed {
            Some(cg) => {
                pb.inc(1);
                cg
            }
            None => {
                let inner = inner_folds(ex, &f.train, inner_k, seed)?;
                let res = base.search(ex, &inner, spec, &pb)?;
                (res.best.c, res.best.gamma)
            }
        };
        let params = SvcParams {
            c,
            ..spec.params.clone()
        };
        let pred = base.fit_predict(ex, &f.train, &f.test, &params, gamma)?;
        let truth: Vec<usize> = f.test.iter().map(|&i| ex.y[i]).collect();
        let cm = ConfusionMatrix::from_predictions(n_classes, &truth, &pred)?;
        pooled.merge(&cm)?;
        folds.push(FoldReport {
            speaker: f.name.clone(),
            cm,
            c,
            gamma,
        });
    }
    pb.finish_and_clear();
    Ok(LosoReport { pooled, folds })
}

fn print_loso(ex: &Examples, r: &LosoReport) {
    println!(
        "{:<12} {:>6} {:>9} {:>9} {:>10} {:>12}",
        "speaker", "n", "acc %", "UAR %", "C", "gamma"
    );
    for f in &r.folds {
        println!(
            "{:<12} {:>6} {:>9.2} {:>9.2} {:>10.4} {:>12.6}",
            f.speaker,
            f.cm.total(),
            100.0 * f.cm.accuracy(),
            100.0 * f.cm.uar(),
            f.c,
            f.gamma
        );
    }
    let accs: Vec<f64> = r.folds.iter().map(|f| 100.0 * f.cm.accuracy()).collect();
    let uars: Vec<f64> = r.folds.iter().map(|f| 100.0 * f.cm.uar()).collect();
    let (am, asd) = mean_std(&accs);
    let (um, usd) = mean_std(&uars);
    println!("per-fold mean ± std: accuracy {am:.2} ± {asd:.2} %, UAR {um:.2} ± {usd:.2} %");
    println!(
        "pooled over all held-out speakers (rows true, columns predicted: {}):",
        ex.class_names.join(", ")
    );
    println!("{}", r.pooled);
}

fn run_eval(a: EvalArgs) -> Result<ExitCode> {
    let ex = Examples::load(&a.input)?;
    let params = solver_params(&a.solver, &ex)?;
    let spec = search_spec(&a.search, ex.is_codes(), &params)?;
    let fixed = match (a.c, a.gamma) {
        (Some(c), Some(g)) => Some((c, g)),
        (None, None) => None,
        _ => bail!(
            "give both -c and --gamma, or neither (then an inner grid search picks them per fold)"
        ),
    };
    println!(
        "leave-one-speaker-out: {} examples, {} speakers, kernel {}, {}",
        ex.len(),
        ex.group_names.len(),
        if ex.is_codes() { "RBF-Hamming" } else { "RBF" },
        match fixed {
            Some((c, g)) => format!("fixed C = {c}, gamma = {g}"),
            None => format!(
                "inner {}-fold speaker-grouped grid over {} points",
                a.search.folds,
                spec.grid.len()
            ),
        }
    );
    let r = loso(&ex, &spec, fixed, a.search.folds, a.search.fold_seed, true)?;
    print_loso(&ex, &r);
    Ok(ExitCode::SUCCESS)
}

/// The `privox demo` stage: baseline RBF-SVM and SMH (k = 3, Δ = 2,
/// mpc = 32) + RBF-Hamming SVM on the demo corpus's own extracted features,
/// leave-one-speaker-out with a small inner grid, plus the leakage of the
/// held-out × training code pairs. `seed` fixes the SMH key (None: OS entropy).
pub fn demo_stage(table: &FeatureTable, seed: Option<u64>) -> Result<()> {
    let classes = ClassSet::neutral_angry();
    let ex = Examples::from_features(table, &classes)?;
    let params = SvcParams::default();
    // A reduced grid keeps the demo to seconds; `privox svm eval` runs the full one.
    let spec_features = GridSearch {
        grid: Grid {
            log2_c: Grid::range(-1.0, 7.0, 2.0),
            log2_gamma: Grid::range(-9.0, -3.0, 2.0),
        },
        metric: Metric::Uar,
        params: params.clone(),
    };
    let t0 = std::time::Instant::now();
    let base = loso(&ex, &spec_features, None, 3, 0, false)?;
    println!(
        "svm  baseline RBF-SVM, leave-one-speaker-out ({} speakers, {} files): accuracy {:.2} %, UAR {:.2} % ({:.1} s)",
        ex.group_names.len(),
        ex.len(),
        100.0 * base.pooled.accuracy(),
        100.0 * base.pooled.uar(),
        t0.elapsed().as_secs_f64()
    );
    // The same with speaker calibration: each speaker z-normalised by their
    // own recordings (unlabelled) on the client, before the global scaling.
    let t0 = std::time::Instant::now();
    let (calibrated, cal_report) = privox_data::calibrate(
        table,
        &privox_data::CalibrationOptions::new(Calibration::Speaker),
    )?;
    if let Some(w) = cal_report.warning() {
        eprintln!("{w}");
    }
    let cal_ex = Examples::from_features(&calibrated, &classes)?;
    let cal = loso(&cal_ex, &spec_features, None, 3, 0, false)?;
    println!(
        "svm  RBF-SVM with speaker calibration (--calibration speaker), same protocol: accuracy {:.2} %, UAR {:.2} % ({:.1} s)",
        100.0 * cal.pooled.accuracy(),
        100.0 * cal.pooled.uar(),
        t0.elapsed().as_secs_f64()
    );

    // SMH: the features are scaled with all demo rows' statistics here, a
    // simplification of the client-side scaler (the demo has no separate client).
    let x = match &ex.points {
        Points::Features { x, .. } => x,
        Points::Codes(_) => bail!("demo expects features"),
    };
    let scaler = MinMaxScaler::fit(x)?;
    let scaled = scaler.transform(x)?;
    let smh = SmhParams::new(3, 2.0, 32, x.cols())?;
    let key = match seed {
        Some(s) => SmhKey::generate_with_seed(smh, s),
        None => SmhKey::generate(smh),
    };
    let codes = key.hash(scaled.as_slice(), x.cols())?;
    let hashed = Examples {
        points: Points::Codes(codes.clone()),
        y: ex.y.clone(),
        groups: ex.groups.clone(),
        group_names: ex.group_names.clone(),
        class_names: ex.class_names.clone(),
    };
    let spec_codes = GridSearch {
        grid: Grid {
            log2_c: Grid::range(-1.0, 7.0, 2.0),
            log2_gamma: Grid::range(-1.0, 7.0, 2.0),
        },
        ..spec_features
    };
    let t0 = std::time::Instant::now();
    let hashed_report = loso(&hashed, &spec_codes, None, 3, 0, false)?;
    // Leakage: held-out speaker's codes against the training speakers' codes, pooled over folds.
    let threshold = privox_smh::leakage::resolve_threshold(3, None)?;
    let (mut below, mut pairs) = (0u64, 0u64);
    for f in leave_one_group_out(&ex.groups, &ex.group_names) {
        let r = privox_smh::leakage::cross(
            &codes.select(&f.test)?,
            &codes.select(&f.train)?,
            threshold,
        )?;
        below += r.below;
        pairs += r.pairs;
    }
    println!(
        "svm  SMH k=3 delta=2 mpc=32 + RBF-Hamming SVM, leave-one-speaker-out: accuracy {:.2} %, UAR {:.2} % ({:.1} s); \
         leakage {:.2} % of held-out x training code pairs have d_H < {threshold}",
        100.0 * hashed_report.pooled.accuracy(),
        100.0 * hashed_report.pooled.uar(),
        t0.elapsed().as_secs_f64(),
        if pairs == 0 {
            0.0
        } else {
            100.0 * below as f64 / pairs as f64
        }
    );
    Ok(())
}
