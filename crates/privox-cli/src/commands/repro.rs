//! `privox repro`: regenerate the paper's tables and figures.
//!
//! `privox repro hashing` reproduces the hashing approach (Tables 1 and 2,
//! Δ tuning, the privacy/utility frontier) under leave-one-speaker-out and
//! writes `docs/results/hashing.md` from the measured numbers.

mod experiment;
mod plot;
mod record;
mod report;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use privox_data::{ClassSet, Dataset, FeatureTable};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use experiment::{FoldOutcome, Hashing, OuterFold, SearchGrid, TaskKind};
use record::{ConfigResult, RunRecord, SeedResult, Timing};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Tables 1 and 2 of the hashing approach, Δ tuning and the
    /// privacy/utility frontier, under leave-one-speaker-out.
    ///
    /// Binary neutral vs angry. Per outer fold the scaler is fit on the
    /// training speakers only; SMH codes (mpc = 32 by default) are made for
    /// every k × Δ and key seed, and an RBF-Hamming SVM is trained with (C, γ)
    /// chosen by speaker-grouped inner CV on the training speakers. The plain
    /// RBF-SVM on the scaled features is the baseline, with the same search.
    ///
    /// Each corpus/feature-set run is saved as aggregate JSON under
    /// `OUT/hashing-data/`; the report `OUT/hashing.md` and
    /// `OUT/hashing-frontier.svg` are then regenerated from every JSON there
    /// (text outside the `<!-- BEGIN GENERATED -->` blocks is kept).
    ///
    /// Example (both corpora, reference features, 3 key seeds):
    ///   privox repro hashing --corpus ../shared/data/emodb --corpus ../shared/data/nemo
    ///
    /// With privox's own features for nEMO as well:
    ///   privox repro hashing --corpus ../shared/data/nemo --privox-features bench/out/nemo.csv
    Hashing(Box<HashingArgs>),
    /// Regenerate `OUT/hashing.md` and `OUT/hashing-frontier.svg` from the
    /// run records in `OUT/hashing-data/` without running anything.
    ///
    /// Example: privox repro hashing-report --out docs/results
    HashingReport {
        /// Folder holding `hashing-data/` and the report.
        #[arg(long, default_value = "docs/results")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct HashingArgs {
    /// Corpus folder holding `egemaps_v02_opensmile.csv` (repeat for several).
    /// Its folder name names the corpus in the report.
    #[arg(long = "corpus", required = true)]
    pub corpora: Vec<PathBuf>,
    /// Reference feature CSV to use instead of `<corpus>/egemaps_v02_opensmile.csv`
    /// (only with a single --corpus).
    #[arg(long)]
    pub features: Option<PathBuf>,
    /// Features made by `privox extract` for the same corpus, run in addition
    /// (only with a single --corpus). Keep it out of git (e.g. bench/out/).
    #[arg(long)]
    pub privox_features: Option<PathBuf>,
    /// Skip the reference features (run only --privox-features).
    #[arg(long)]
    pub no_reference: bool,
    /// Number of SMH key seeds per configuration (1 to 1000).
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// First key seed; seeds are FIRST, FIRST+1, … (recorded in the output).
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Output folder of the report, the SVG and the JSON records.
    #[arg(long, default_value = "docs/results")]
    pub out: PathBuf,
    /// Alphabet sizes k (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "2,3,5,10")]
    pub k: Vec<u32>,
    /// Quantization steps Δ (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "2,2.5,3,3.5")]
    pub delta: Vec<f64>,
    /// Measurements per coefficient (M = mpc · 88 symbols).
    #[arg(long, default_value_t = 32)]
    pub mpc: usize,
    /// Δ-tuning target leakages in percent at k = --tune-k.
    #[arg(long, value_delimiter = ',', default_value = "5,28,60")]
    pub tune_targets: Vec<f64>,
    /// Skip the Δ-tuning rows.
    #[arg(long)]
    pub no_tune: bool,
    /// Alphabet size of the Δ-tuning rows.
    #[arg(long, default_value_t = 3)]
    pub tune_k: u32,
    /// Skip the Table 1/2 grid (e.g. to rerun only the tuning rows).
    #[arg(long)]
    pub no_table: bool,
    /// Speaker-grouped folds of the inner (C, γ) search.
    #[arg(long, default_value_t = 4)]
    pub inner_folds: usize,
    /// log2 of C·σ_K, with σ_K the spread (std) of the off-diagonal kernel
    /// values over training pairs: `begin:end:step` or a comma list.
    #[arg(long, default_value = "-1:7:2", allow_hyphen_values = true)]
    pub log2_c: String,
    /// log2 of γ·s, with s the spread (std) of the squared distances (d² or
    /// d_H²) over training pairs: `begin:end:step` or a comma list.
    #[arg(long, default_value = "-4:3:1", allow_hyphen_values = true)]
    pub log2_gamma: String,
    /// Seed of the inner fold assignment.
    #[arg(long, default_value_t = 0)]
    pub inner_seed: u64,
    /// Do not regenerate the report (only write the JSON record).
    #[arg(long)]
    pub no_report: bool,
    /// Per-speaker calibration before the per-fold scaling (each speaker by
    /// all of their own rows, unlabelled); Δ is tuned on calibrated features.
    /// The run is recorded under the feature-set name `<features>+<mode>`.
    #[command(flatten)]
    pub calibration: super::calibrate::CalibrationArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.what {
        What::Hashing(a) => hashing(*a),
        What::HashingReport { out } => {
            let (doc, svg) = report::regenerate(&out)?;
            println!("report: {}  frontier: {}", doc.display(), svg.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn hashing(args: HashingArgs) -> Result<ExitCode> {
    anyhow::ensure!(
        args.corpora.len() == 1 || (args.features.is_none() && args.privox_features.is_none()),
        "--features and --privox-features need exactly one --corpus"
    );
    let grid = SearchGrid {
        log2_c: privox_svm::Grid::parse_range(&args.log2_c)?,
        log2_gamma_rel: privox_svm::Grid::parse_range(&args.log2_gamma)?,
        inner_folds: args.inner_folds,
        inner_seed: args.inner_seed,
    };
    let seeds = key_seeds(args.first_seed, args.seeds)?;
    let data_dir = args.out.join("hashing-data");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    for corpus in &args.corpora {
        let name = corpus_name(corpus);
        let mut runs: Vec<(&str, PathBuf)> = Vec::new();
        if !args.no_reference {
            let csv = args
                .features
                .clone()
                .unwrap_or_else(|| corpus.join("egemaps_v02_opensmile.csv"));
            runs.push(("opensmile", csv));
        }
        if let Some(p) = &args.privox_features {
            runs.push(("privox", p.clone()));
        }
        for (features, csv) in runs {
            let record = run_one(&name, features, &csv, &args, &grid, &seeds)?;
            let path = data_dir.join(record.file_name());
            let json = serde_json::to_vec_pretty(&record)?;
            privox_format::write_atomic(&path, &json)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("{}", report::console_summary(&record));
            println!("saved {}", path.display());
        }
    }
    if !args.no_report {
        let (doc, svg) = report::regenerate(&args.out)?;
        println!("report: {}  frontier: {}", doc.display(), svg.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The SMH key seeds FIRST, FIRST+1, …: at least one, and no u64 overflow.
fn key_seeds(first: u64, count: u64) -> Result<Vec<u64>> {
    // Each seed reruns the whole grid; thousands would take weeks (and a
    // huge count would exhaust memory before anything runs).
    anyhow::ensure!(
        (1..=1000).contains(&count),
        "--seeds must be between 1 and 1000, got {count}"
    );
    let last = first.checked_add(count - 1).with_context(|| {
        format!("--first-seed {first} + --seeds {count} runs past the largest seed (2^64 - 1)")
    })?;
    Ok((first..=last).collect())
}

fn corpus_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}

/// CPU seconds (user + system, all threads) this process has used so far;
/// 0 where `/proc/self/stat` is unavailable. Reported next to wall time
/// because the machine is shared with other builds.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesized command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (USER_HZ = 100 on Linux).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn progress(len: usize, prefix: String) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>24} [{elapsed_precise}] {bar:40} {pos}/{len} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(prefix);
    pb
}

/// Runs tasks (configuration index, kind) × every fold in parallel; returns
/// per configuration its outcomes grouped by fold order.
fn run_phase(
    label: &str,
    data: &Dataset,
    folds: &[OuterFold],
    kinds: &[TaskKind],
    mpc: usize,
    grid: &SearchGrid,
) -> Result<(Vec<Vec<FoldOutcome>>, Timing)> {
    let tasks: Vec<(usize, usize)> = (0..kinds.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
    let pb = progress(tasks.len(), label.to_string());
    let start = Instant::now();
    let cpu0 = process_cpu_seconds();
    let outcomes = tasks
        .par_iter()
        .map(|&(c, f)| {
            let r = experiment::run_task(data, &folds[f], kinds[c], mpc, grid).with_context(|| {
                format!(
                    "{label}: fold {} of configuration {:?}",
                    folds[f].name, kinds[c]
                )
            });
            pb.inc(1);
            r
        })
        .collect::<Result<Vec<_>>>()?;
    pb.finish();
    let timing = Timing {
        wall: start.elapsed().as_secs_f64(),
        cpu: process_cpu_seconds() - cpu0,
    };
    let mut by_config: Vec<Vec<FoldOutcome>> = vec![Vec::new(); kinds.len()];
    for ((c, _), o) in tasks.into_iter().zip(outcomes) {
        by_config[c].push(o);
    }
    Ok((by_config, timing))
}

fn seed_result(
    seed: Option<u64>,
    folds: &[OuterFold],
    outcomes: &[FoldOutcome],
) -> Result<SeedResult> {
    let refs: Vec<&FoldOutcome> = outcomes.iter().collect();
    let cm = experiment::pool(&refs)?;
    Ok(SeedResult {
        seed,
        accuracy: 100.0 * cm.accuracy(),
        uar: 100.0 * cm.uar(),
        leak_below: outcomes.iter().map(|o| o.leak_below).sum(),
        leak_pairs: outcomes.iter().map(|o| o.leak_pairs).sum(),
        chosen: folds
            .iter()
            .zip(outcomes)
            .map(|(f, o)| (f.name.clone(), o.c, o.gamma, o.delta))
            .collect(),
        predicted_leak: outcomes.iter().filter_map(|o| o.predicted_leak).collect(),
    })
}

fn run_one(
    corpus: &str,
    features: &str,
    csv: &Path,
    args: &HashingArgs,
    grid: &SearchGrid,
    seeds: &[u64],
) -> Result<RunRecord> {
    let table = FeatureTable::read_csv(csv)
        .with_context(|| format!("reading features of {corpus} from {}", csv.display()))?;
    let table = args.calibration.apply(table)?;
    let data = table.to_dataset(&ClassSet::neutral_angry())?;
    data.require_two_classes()?;
    let folds = experiment::outer_folds(&data, grid)?;
    println!(
        "{corpus} ({features} features): {} rows, classes {:?} = {:?}, {} speakers, {} features; key seeds {:?}; {} threads",
        data.len(),
        data.classes.names(),
        data.class_counts(),
        data.group_names.len(),
        data.x.cols(),
        seeds,
        rayon::current_num_threads()
    );

    let (base, seconds_baseline) = run_phase(
        &format!("{corpus} baseline"),
        &data,
        &folds,
        &[TaskKind::Baseline],
        args.mpc,
        grid,
    )?;
    let baseline = ConfigResult {
        k: None,
        delta: None,
        target_percent: None,
        threshold: None,
        seeds: vec![seed_result(None, &folds, &base[0])?],
    };
    println!(
        "  baseline RBF-SVM: {:.1} s wall, {:.1} s CPU",
        seconds_baseline.wall, seconds_baseline.cpu
    );

    let assemble = |configs: &[Hashing],
                    outcomes: &[Vec<FoldOutcome>]|
     -> Result<Vec<ConfigResult>> {
        configs
            .iter()
            .enumerate()
            .map(|(ci, h)| {
                let (k, delta, target) = match *h {
                    Hashing::Fixed { k, delta } => (k, Some(delta), None),
                    Hashing::Tuned { k, target_percent } => (k, None, Some(target_percent)),
                };
                let seeds = seeds
                    .iter()
                    .enumerate()
                    .map(|(si, &s)| seed_result(Some(s), &folds, &outcomes[ci * seeds.len() + si]))
                    .collect::<Result<_>>()?;
                Ok(ConfigResult {
                    k: Some(k),
                    delta,
                    target_percent: target,
                    threshold: Some(experiment::threshold_for(k)?),
                    seeds,
                })
            })
            .collect()
    };
    let kinds_for = |configs: &[Hashing]| -> Vec<TaskKind> {
        configs
            .iter()
            .flat_map(|&hashing| {
                seeds
                    .iter()
                    .map(move |&seed| TaskKind::Hashed { hashing, seed })
            })
            .collect()
    };

    // One SMH phase: every configuration × key seed on every outer fold.
    let run_hashed = |label: &str, configs: &[Hashing]| -> Result<(Vec<ConfigResult>, Timing)> {
        let (out, secs) = run_phase(label, &data, &folds, &kinds_for(configs), args.mpc, grid)?;
        Ok((assemble(configs, &out)?, secs))
    };

    let (mut table_rows, mut seconds_table) = (Vec::new(), Timing::default());
    if !args.no_table {
        let configs: Vec<Hashing> = args
            .k
            .iter()
            .flat_map(|&k| {
                args.delta
                    .iter()
                    .map(move |&delta| Hashing::Fixed { k, delta })
            })
            .collect();
        (table_rows, seconds_table) = run_hashed(&format!("{corpus} k×Δ grid"), &configs)?;
        println!(
            "  Table 2 grid ({} configs × {} seeds × {} folds, inner search): {:.1} s wall, {:.1} s CPU",
            configs.len(),
            seeds.len(),
            folds.len(),
            seconds_table.wall,
            seconds_table.cpu
        );
    }

    let (mut tuned, mut seconds_tuned) = (Vec::new(), Timing::default());
    if !args.no_tune && !args.tune_targets.is_empty() {
        let configs: Vec<Hashing> = args
            .tune_targets
            .iter()
            .map(|&t| Hashing::Tuned {
                k: args.tune_k,
                target_percent: t,
            })
            .collect();
        (tuned, seconds_tuned) = run_hashed(&format!("{corpus} Δ tuning"), &configs)?;
        println!(
            "  Δ tuning rows: {:.1} s wall, {:.1} s CPU",
            seconds_tuned.wall, seconds_tuned.cpu
        );
    }

    let features = match args.calibration.calibration {
        privox_data::Calibration::None => features.to_string(),
        mode => format!("{features}+{mode}"),
    };
    Ok(RunRecord {
        corpus: corpus.to_string(),
        features,
        n_rows: data.len(),
        class_counts: data.class_counts(),
        n_speakers: data.group_names.len(),
        n_features: data.x.cols(),
        mpc: args.mpc,
        key_seeds: seeds.to_vec(),
        grid: grid.clone(),
        baseline: Some(baseline),
        table: table_rows,
        tuned,
        seconds_baseline,
        seconds_table,
        seconds_tuned,
        threads: rayon::current_num_threads(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        finished: report::utc_now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use privox_data::Matrix;

    /// Four speakers, two separable classes, a handful of features.
    fn synthetic() -> Dataset {
        let (mut rows, mut y, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..4usize {
            for i in 0..12usize {
                let class = i % 2;
                let jitter = ((s * 31 + i * 17) % 11) as f64 / 11.0 - 0.5;
                let row: Vec<f64> = (0..5)
                    .map(|f| class as f64 * 2.0 + 0.3 * jitter * (f as f64 + 1.0) + 0.1 * s as f64)
                    .collect();
                rows.push(row);
                y.push(class);
                groups.push(s);
            }
        }
        Dataset {
            x: Matrix::from_rows(&rows).unwrap(),
            files: (0..y.len()).map(|i| format!("f{i}.wav")).collect(),
            y,
            groups,
            group_names: (0..4).map(|s| format!("s{s}")).collect(),
            classes: ClassSet::neutral_angry(),
            feature_names: (0..5).map(|f| format!("x{f}")).collect(),
        }
    }

    #[test]
    fn key_seeds_are_consecutive_and_never_overflow() {
        assert_eq!(key_seeds(5, 3).unwrap(), vec![5, 6, 7]);
        assert_eq!(key_seeds(u64::MAX, 1).unwrap(), vec![u64::MAX]);
        assert!(key_seeds(1, 0).is_err());
        assert!(key_seeds(1, u64::MAX).is_err());
        assert!(key_seeds(u64::MAX, 2).is_err());
    }

    #[test]
    fn synthetic_data_runs_through_the_pipeline() {
        let data = synthetic();
        let grid = SearchGrid {
            log2_c: vec![1.0],
            log2_gamma_rel: vec![-1.0, 0.0],
            inner_folds: 3,
            inner_seed: 0,
        };
        let folds = experiment::outer_folds(&data, &grid).unwrap();
        assert_eq!(folds.len(), 4);
        let kinds = [
            TaskKind::Baseline,
            TaskKind::Hashed {
                hashing: Hashing::Fixed { k: 3, delta: 2.0 },
                seed: 1,
            },
            TaskKind::Hashed {
                hashing: Hashing::Tuned {
                    k: 3,
                    // M = 4 · 5 = 20 symbols: the leakage floor is ~34 %.
                    target_percent: 60.0,
                },
                seed: 1,
            },
        ];
        let (out, _) = run_phase("test", &data, &folds, &kinds, 4, &grid).unwrap();
        let base = seed_result(None, &folds, &out[0]).unwrap();
        assert!(base.accuracy > 90.0, "separable data: {}", base.accuracy);
        let hashed = seed_result(Some(1), &folds, &out[1]).unwrap();
        assert_eq!(hashed.leak_pairs, 4 * 12 * 36);
        assert!(hashed.accuracy > 60.0, "{}", hashed.accuracy);
        let tuned = seed_result(Some(1), &folds, &out[2]).unwrap();
        assert_eq!(tuned.predicted_leak.len(), 4);
        assert!(tuned.chosen.iter().all(|c| c.3.is_some_and(|d| d > 0.0)));
    }

    #[test]
    fn unreachable_tuning_target_is_an_error_not_a_clamped_delta() {
        let data = synthetic();
        let grid = SearchGrid {
            log2_c: vec![1.0],
            log2_gamma_rel: vec![0.0],
            inner_folds: 3,
            inner_seed: 0,
        };
        let folds = experiment::outer_folds(&data, &grid).unwrap();
        let kinds = [TaskKind::Hashed {
            hashing: Hashing::Tuned {
                k: 3,
                target_percent: 5.0,
            },
            seed: 1,
        }];
        let err = run_phase("test", &data, &folds, &kinds, 4, &grid).unwrap_err();
        assert!(format!("{err:#}").contains("not reachable"), "{err:#}");
    }
}
