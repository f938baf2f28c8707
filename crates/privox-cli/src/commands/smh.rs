//! `privox smh`: Secure Modular Hashing keys, hashing, leakage, theory and Δ tuning.
//!
//! The client side of the hashing approach: `keygen` makes the secret key,
//! `hash` turns a feature table into codes (the only thing a server sees),
//! `leakage` measures how many code pairs stay close, `curve` checks the
//! expected-distance theory against Monte Carlo, and `tune` picks Δ for a
//! target leakage on a given corpus.

use anyhow::{Context, Result};
use clap::Subcommand;
use privox_data::{FeatureTable, MinMaxScaler, mean_std};
use privox_repro::smh_curve::{self, CurveConfig};
use privox_smh::leakage::{self, resolve_threshold};
use privox_smh::tune::TuneOptions;
use privox_smh::{CodeTable, HeldOut, SmhKey, SmhParams, hash_table, tune_held_out};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::calibrate::CalibrationArgs;

/// Secure Modular Hashing: h(x) = floor((A x + w) / Δ) mod k with a secret key (A, w).
///
/// Quick start:
///
///   privox smh keygen --dim 88 -o key.smhkey                 # k=3, Δ=2, mpc=32, OS entropy
///   privox smh hash --key key.smhkey --features feats.csv -o codes.pvx
///   privox smh leakage --codes codes.pvx                     # % of close code pairs
///   privox smh tune --features feats.csv --target 28         # Δ for 28 % leakage
///   privox smh curve -o docs/results/smh-expected-distance.svg
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    pub command: SmhCommand,
}

const EXAMPLES: &str = "\
Examples:
  privox smh keygen --k 3 --delta 2 --mpc 32 --dim 88 -o key.smhkey
  privox smh keygen --dim 88 --seed 7 -o exp.smhkey        reproducible key, experiments only
  privox smh hash --key key.smhkey --features test.csv --scale-from train.csv -o test.pvx
  privox smh leakage --codes codes.pvx --threshold 0.65
  privox smh leakage --codes a.pvx --against b.pvx         cross pairs between two code files
  privox smh curve --k 2,3,5,10 --delta 3 --mpc 64 --seed 1 -o curve.svg
  privox smh tune --features feats.csv --k 3 --mpc 32 --target 28 --seed 1   leave-one-speaker-out

Default privacy thresholds on d_H: 0.475 (k=2), 0.65 (k=3), 0.775 (k=5), 0.875 (k=10);
other k need --threshold.";

#[derive(Debug, Subcommand)]
pub enum SmhCommand {
    /// Generate a secret key (written 0600, with a public JSON sidecar).
    Keygen(KeygenArgs),
    /// Hash a feature table into a code file (keeps file, speaker and label columns).
    Hash(HashArgs),
    /// Percentage of code pairs whose normalized Hamming distance is below the threshold.
    Leakage(LeakageArgs),
    /// Analytic vs Monte Carlo expected distance E[d_H](d); writes an SVG plot.
    Curve(CurveArgs),
    /// Choose Δ for a target leakage from the data's pairwise distances, and measure it.
    Tune(TuneArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Alphabet size k (>= 2); k = 2 is binary hashing.
    #[arg(long, default_value_t = 3)]
    pub k: u32,
    /// Quantization step Δ (> 0), on features scaled to [-1, 1].
    #[arg(long, default_value_t = 2.0)]
    pub delta: f64,
    /// Measurements per coefficient: the code has M = mpc × dim symbols.
    #[arg(long, default_value_t = 32)]
    pub mpc: usize,
    /// Feature dimension L (88 for eGeMAPS v02).
    #[arg(long, default_value_t = 88)]
    pub dim: usize,
    /// Derive the key from this seed instead of OS entropy. Experiments only:
    /// anyone who knows the seed knows the key.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output key file.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// Secret key file from `privox smh keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// Feature table CSV (file,speaker,label,<features>), e.g. `privox extract` output.
    #[arg(long)]
    pub features: PathBuf,
    /// Fit the [-1, 1] min-max scaler on this table (the training set) instead
    /// of on the input itself.
    #[arg(long, conflicts_with = "no_scale")]
    pub scale_from: Option<PathBuf>,
    /// The features are already scaled: hash them as they are.
    #[arg(long)]
    pub no_scale: bool,
    /// Per-speaker calibration of --features (and of --scale-from, each
    /// speaker by their own rows) before scaling; the code file is the same
    /// kind of file as without: no statistic is added to it.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// Output code file.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct LeakageArgs {
    /// Code file from `privox smh hash`.
    #[arg(long)]
    pub codes: PathBuf,
    /// Count cross pairs between --codes and this code file (same key) instead
    /// of the pairs within --codes.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Threshold on d_H (default: 0.475/0.65/0.775/0.875 for k = 2/3/5/10).
    #[arg(long)]
    pub threshold: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct CurveArgs {
    /// Alphabet sizes to plot, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,3,5,10")]
    pub k: Vec<u32>,
    /// Quantization step Δ.
    #[arg(long, default_value_t = 3.0)]
    pub delta: f64,
    /// Measurements per coefficient.
    #[arg(long, default_value_t = 64)]
    pub mpc: usize,
    /// Input dimension L (the theory does not depend on it).
    #[arg(long, default_value_t = 88)]
    pub dim: usize,
    /// Keys drawn per k.
    #[arg(long, default_value_t = 20)]
    pub keys: usize,
    /// Random pairs per distance and key.
    #[arg(long, default_value_t = 10)]
    pub pairs: usize,
    /// Distances on the grid, from 0 to --max-distance.
    #[arg(long, default_value_t = 31)]
    pub points: usize,
    /// Largest Euclidean distance (default 4Δ).
    #[arg(long)]
    pub max_distance: Option<f64>,
    /// Seed of keys and pairs (recorded in the output).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Largest allowed |analytic − Monte Carlo|; the command fails above it.
    #[arg(long, default_value_t = 0.01)]
    pub tolerance: f64,
    /// Output SVG.
    #[arg(short, long, default_value = "smh-expected-distance.svg")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// Feature table CSV (file,speaker,label,<features>); all rows are used.
    #[arg(long)]
    pub features: PathBuf,
    /// Target leakage in percent (the paper's compromise k=3, Δ=2 leaked ~28 %).
    #[arg(long)]
    pub target: f64,
    /// Alphabet size k.
    #[arg(long, default_value_t = 3)]
    pub k: u32,
    /// Measurements per coefficient.
    #[arg(long, default_value_t = 32)]
    pub mpc: usize,
    /// Threshold on d_H (default: 0.475/0.65/0.775/0.875 for k = 2/3/5/10).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Speaker-grouped folds: Δ is tuned on each fold's training speakers and
    /// leakage measured on its held-out speakers. Default: leave one speaker
    /// out; 0 = tune and measure on all rows.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Keys hashed per fold to measure leakage.
    #[arg(long, default_value_t = 3)]
    pub keys: usize,
    /// Seed of the fold split, pair sampling and measurement keys. Without it,
    /// measurement keys come from OS entropy and the split uses seed 0.
    #[arg(long)]
    pub seed: Option<u64>,
    /// At most this many training pairs feed the model (seeded sample beyond).
    #[arg(long, default_value_t = 2_000_000)]
    pub max_pairs: usize,
    /// Share of same-speaker pairs in the population whose leakage the final Δ
    /// (whole table) should hit; default: the table's pairs as they are.
    /// Held-out folds always use their own share, computed from their
    /// speaker counts (metadata only, never their features).
    #[arg(long)]
    pub same_speaker_share: Option<f64>,
    /// Per-speaker calibration before scaling: Δ is then tuned on calibrated
    /// features, whose distances differ from uncalibrated ones.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        SmhCommand::Keygen(a) => keygen(a),
        SmhCommand::Hash(a) => hash(a),
        SmhCommand::Leakage(a) => leakage_cmd(a),
        SmhCommand::Curve(a) => curve(a),
        SmhCommand::Tune(a) => tune(a),
    }
}

fn keygen(a: KeygenArgs) -> Result<ExitCode> {
    let params = SmhParams::new(a.k, a.delta, a.mpc, a.dim)?;
    let key = match a.seed {
        Some(seed) => {
            eprintln!("warning: key derived from --seed {seed}; use it for experiments only");
            SmhKey::generate_with_seed(params, seed)
        }
        None => SmhKey::generate(params),
    };
    key.write(&a.output)
        .with_context(|| format!("writing key {}", a.output.display()))?;
    let sidecar = serde_json::json!({
        "kind": "privox SMH key (public description; the key file itself is secret)",
        "k": params.k(),
        "delta": params.delta(),
        "mpc": params.mpc(),
        "dim": params.dim(),
        "symbols": params.symbols(),
        "params_fingerprint": params.fingerprint().to_hex(),
        "key_id": key.key_id().to_hex(),
        "randomness": if a.seed.is_some() { "explicit seed (experiments only)" } else { "OS entropy" },
    });
    let json_path = sidecar_path(&a.output);
    privox_format::write_atomic(
        &json_path,
        serde_json::to_string_pretty(&sidecar)?.as_bytes(),
    )?;
    println!("wrote {} (0600) for {params}", a.output.display());
    println!(
        "key id {}; public description in {}",
        key.key_id(),
        json_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sidecar_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

fn hash(a: HashArgs) -> Result<ExitCode> {
    let key = SmhKey::read(&a.key).with_context(|| format!("reading key {}", a.key.display()))?;
    let table = a.calibration.apply(FeatureTable::read_csv(&a.features)?)?;
    let scaler = if a.no_scale {
        None
    } else {
        let fit_on = match &a.scale_from {
            Some(p) => a.calibration.apply(FeatureTable::read_csv(p)?)?.x,
            None => {
                eprintln!(
                    "note: scaling with the input's own min/max; pass --scale-from TRAIN.csv to use training statistics"
                );
                table.x.clone()
            }
        };
        Some(MinMaxScaler::fit(&fit_on)?)
    };
    let out = hash_table(&key, &table, scaler.as_ref())
        .with_context(|| format!("hashing {}", a.features.display()))?;
    out.write(&a.output)?;
    println!(
        "hashed {} vectors into {} ({}, key id {})",
        out.codes.len(),
        a.output.display(),
        key.params(),
        key.key_id()
    );
    Ok(ExitCode::SUCCESS)
}

fn leakage_cmd(a: LeakageArgs) -> Result<ExitCode> {
    let codes = CodeTable::read(&a.codes)
        .with_context(|| format!("reading {}", a.codes.display()))?
        .codes;
    let threshold = resolve_threshold(codes.params().k(), a.threshold)?;
    let report = match &a.against {
        Some(p) => {
            let other = CodeTable::read(p)
                .with_context(|| format!("reading {}", p.display()))?
                .codes;
            leakage::cross(&codes, &other, threshold)?
        }
        None => leakage::within(&codes, threshold)?,
    };
    println!("{} ({})", report, codes.params());
    Ok(ExitCode::SUCCESS)
}

fn curve(a: CurveArgs) -> Result<ExitCode> {
    let cfg = CurveConfig {
        k: a.k,
        delta: a.delta,
        mpc: a.mpc,
        dim: a.dim,
        keys: a.keys,
        pairs: a.pairs,
        points: a.points,
        max_distance: a.max_distance,
        seed: a.seed,
    };
    let pb = super::progress::bar((cfg.keys * cfg.k.len()) as u64, "Monte Carlo", "keys");
    let curves = smh_curve::compute(&cfg, || pb.inc(1))?;
    pb.finish_and_clear();
    println!(
        "E[d_H] analytic vs Monte Carlo: Δ = {}, mpc = {}, L = {}, {} keys × {} pairs per distance, seed {}",
        cfg.delta, cfg.mpc, cfg.dim, cfg.keys, cfg.pairs, cfg.seed
    );
    println!(
        "{:>4} {:>12} {:>12} {:>16}",
        "k", "max |diff|", "at d", "max std.error"
    );
    let mut worst = 0.0f64;
    for c in &curves {
        let (diff, at) = c.worst();
        let se = c.max_std_error();
        println!("{:>4} {diff:>12.5} {at:>12.3} {se:>16.5}", c.k);
        worst = worst.max(diff);
    }
    smh_curve::plot_svg(&a.output, &smh_curve::title(&cfg), cfg.delta, &curves)?;
    println!("wrote {}", a.output.display());
    if worst > a.tolerance {
        eprintln!(
            "FAIL: largest |analytic − Monte Carlo| {worst:.5} exceeds --tolerance {}",
            a.tolerance
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "PASS: largest |analytic − Monte Carlo| {worst:.5} <= {}",
        a.tolerance
    );
    Ok(ExitCode::SUCCESS)
}

fn tune(a: TuneArgs) -> Result<ExitCode> {
    let table = a.calibration.apply(FeatureTable::read_csv(&a.features)?)?;
    let threshold = resolve_threshold(a.k, a.threshold)?;
    let dim = table.x.cols();
    let opts = TuneOptions {
        k: a.k,
        mpc: a.mpc,
        threshold,
        target_percent: a.target,
        max_pairs: a.max_pairs,
        seed: a.seed.unwrap_or(0),
        same_group_share: None,
    };
    println!(
        "Δ tuning: {} rows × {dim} features from {}, k = {}, mpc = {}, threshold {threshold}, target {}%",
        table.x.rows(),
        a.features.display(),
        a.k,
        a.mpc,
        a.target
    );
    println!(
        "leakage = % of unordered pairs of distinct items within the evaluated set with d_H < {threshold}"
    );
    println!(
        "each fold: Δ tuned on training speakers for the held-out set's share of same-speaker pairs, leakage measured on held-out speakers"
    );
    match a.seed {
        Some(s) => println!("seed {s} (split, pair sample, measurement keys)"),
        None => {
            println!("measurement keys from OS entropy; split seed 0 (pass --seed to reproduce)")
        }
    }
    let split = match a.folds {
        None => HeldOut::LeaveOneSpeakerOut,
        Some(k) if k >= 2 => HeldOut::GroupKFold(k),
        Some(_) => HeldOut::AllRows,
    };
    let speakers = table
        .speakers
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    let n_folds = match split {
        HeldOut::LeaveOneSpeakerOut => speakers,
        HeldOut::GroupKFold(k) => k,
        HeldOut::AllRows => 1,
    };
    let pb = super::progress::bar((n_folds * a.keys) as u64, "hashing held-out folds", "keys");
    let r = tune_held_out(
        &table,
        split,
        &opts,
        a.keys,
        a.seed,
        a.same_speaker_share,
        &|| pb.inc(1),
    )?;
    pb.finish_and_clear();
    println!(
        "{:<14} {:>6} {:>6} {:>6} {:>9} {:>12} {:>13} {:>16}",
        "fold", "train", "test", "share", "Δ", "pred. train", "pred. test", "measured test"
    );
    for f in &r.folds {
        let (m, sd) = mean_std(&f.measured_percent);
        println!(
            "{:<14} {:>6} {:>6} {:>6.3} {:>9.4} {:>11.2}% {:>12.2}% {:>9.2}% ± {:.2}",
            f.name,
            f.train_rows,
            f.test_rows,
            f.same_speaker_share,
            f.report.delta,
            f.report.predicted_percent,
            f.predicted_test_percent,
            m,
            sd
        );
    }
    println!(
        "(share: same-speaker pairs among held-out pairs; pred. train: model from training speakers; pred. test: diagnostic, model from held-out features)"
    );
    let (m, sd) = r.measured;
    println!(
        "measured leakage on held-out speakers: {m:.2}% ± {sd:.2} (target {}%, off by {:+.2} points; {} folds × {} keys)",
        a.target,
        m - a.target,
        r.folds.len(),
        a.keys
    );
    let report = &r.whole_table;
    println!(
        "Δ for the whole table: {:.4} (predicted {:.2}%, floor {:.2}% for k = {}, mpc = {}; {} of {} pairs used)",
        report.delta,
        report.predicted_percent,
        report.floor_percent,
        a.k,
        a.mpc,
        report.pairs_used,
        report.pairs_total
    );
    Ok(ExitCode::SUCCESS)
}
