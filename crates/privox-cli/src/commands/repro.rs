//! `privox repro`: regenerate the paper's tables and figures.
//!
//! `privox repro --corpus DIR… --out DIR [--quick]` runs every phase of
//! `privox_repro::phases()` in order. `privox repro hashing` reproduces the hashing approach (Tables 1 and 2,
//! Δ tuning, the privacy/utility frontier) under leave-one-speaker-out and
//! writes `docs/results/hashing.md` from the measured numbers.

use anyhow::{Context, Result};
use privox_data::FeatureTable;
use privox_repro::hashing::{self, HashingConfig, experiment::SearchGrid, report};
use privox_repro::{Corpus, PrivoxFeatures, RunOptions, corpus_name, key_seeds};
use std::path::PathBuf;
use std::process::ExitCode;

/// Regenerate the paper's tables and figures (see [`UMBRELLA_HELP`]).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = UMBRELLA_HELP)]
pub struct Args {
    #[command(subcommand)]
    pub what: Option<What>,
    #[command(flatten)]
    pub all: AllArgs,
}

/// What `privox repro` without a subcommand does (shown below its flags).
const UMBRELLA_HELP: &str = "\
Without a subcommand, runs every phase in order, with one progress bar per
phase and a time summary (wall, CPU) at the end: Fig. 1 (expected distance,
theory and Monte Carlo), the hashing approach (Tables 1/2, RBF baseline,
Δ tuning, frontier), then Table 3 + Fig. 2, Table 4 in the clear and
encrypted, and calibration. Each phase writes OUT/runs/<phase>.json (seeds,
crate versions, parameters, wall/CPU time, threads, command line, UTC start
and end, load average) and regenerates its Markdown and SVG under OUT; the
run ends with OUT/README.md, the command and each phase's time.

A corpus folder holds egemaps_v02_opensmile.csv (reference features) and/or
labels.csv (file,speaker,label) whose audio privox extracts itself (in
parallel, cached in OUT/features-cache/).

Full run:
  privox repro --corpus ../shared/data/emodb --corpus ../shared/data/nemo --out docs/results

--quick runs on the bundled demo corpus data/demo (206 EmoDB files, features
extracted by privox) unless --corpus is given, with reduced settings:
1 key seed; Fig. 1 with 4 keys x 4 pairs at 13 distances; hashing
k in {3, 10} x Δ in {2, 3}, mpc = 16, one Δ-tuning row (28 % at k = 3),
3 inner folds, log2 C in {-3, 1, 5, 9}, log2 γ in {-5, -1, 3}; the other
phases use their own quick settings (see OUT/runs/<phase>.json):
  privox repro --quick --out /tmp/repro-quick";

/// The umbrella run's flags.
#[derive(Debug, clap::Args)]
pub struct AllArgs {
    /// Corpus folder (repeat for several); its folder name names it.
    /// With --quick the default is the bundled demo corpus data/demo.
    #[arg(long = "corpus", value_name = "DIR")]
    pub corpora: Vec<PathBuf>,
    /// Output folder of the reports, SVGs and JSON records (required).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Reduced settings that finish in minutes (see below).
    #[arg(long)]
    pub quick: bool,
    /// Number of SMH key seeds (default 3, 1 with --quick).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// First key seed; seeds are FIRST, FIRST+1, …
    #[arg(long, default_value_t = 1)]
    pub first_seed: u64,
    /// Also extract privox's own features where a corpus has reference features.
    #[arg(long)]
    pub privox_features: bool,
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
    /// Regenerate the run summary `OUT/README.md` (command, per-phase
    /// start, end, wall and CPU time, load average) from the phases' run
    /// records `OUT/runs/<phase>.json`, without running anything.
    ///
    /// Example: privox repro summary --out docs/results
    Summary {
        /// Folder holding `runs/`.
        #[arg(long, default_value = "docs/results")]
        out: PathBuf,
    },
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
    /// log2 of C: `begin:end:step` or a comma list.
    #[arg(long, default_value = "-5:15:2", allow_hyphen_values = true)]
    pub log2_c: String,
    /// log2 of γ, on ‖x − y‖² of the min-max scaled features (baseline) or
    /// on d_H² (codes): `begin:end:step` or a comma list.
    #[arg(long, default_value = "-7:5:2", allow_hyphen_values = true)]
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
        None => all(args.all),
        Some(What::Hashing(a)) => hashing(*a),
        Some(What::Summary { out }) => {
            let names: Vec<&str> = privox_repro::phases().iter().map(|p| p.name).collect();
            let path = privox_repro::summary::write(&out, &names)?;
            println!("summary: {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Some(What::HashingReport { out }) => {
            let (doc, svg) = report::regenerate(&out)?;
            println!("report: {}  frontier: {}", doc.display(), svg.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn all(args: AllArgs) -> Result<ExitCode> {
    let out = args.out.context(
        "--out DIR is required (e.g. --out docs/results, or a scratch folder with --quick)",
    )?;
    let mut dirs = args.corpora;
    if dirs.is_empty() {
        anyhow::ensure!(
            args.quick,
            "give --corpus DIR (repeatable), e.g. --corpus ../shared/data/emodb --corpus ../shared/data/nemo; only --quick has a default (data/demo)"
        );
        dirs.push(PathBuf::from("data/demo"));
    }
    let corpora = dirs
        .iter()
        .map(|d| Corpus::open(d).with_context(|| format!("corpus {}", d.display())))
        .collect::<Result<Vec<_>>>()?;
    let count = args.seeds.unwrap_or(if args.quick { 1 } else { 3 });
    let opts = RunOptions {
        quick: args.quick,
        seeds: key_seeds(args.first_seed, count)?,
        privox_features: if args.privox_features {
            PrivoxFeatures::Always
        } else {
            PrivoxFeatures::WhenNoReference
        },
        ..RunOptions::new(&out)
    };
    let clock = privox_repro::Stopwatch::start();
    let reports = privox_repro::run_phases(&privox_repro::phases(), &corpora, &opts)?;
    println!(
        "\nphase summary ({} threads):",
        rayon::current_num_threads()
    );
    println!("{:<20} {:>10} {:>10}  record", "phase", "wall s", "CPU s");
    for r in &reports {
        println!(
            "{:<20} {:>10.1} {:>10.1}  {}",
            r.name,
            r.wall_s,
            r.cpu_s,
            r.records
                .first()
                .map_or(String::new(), |p| p.display().to_string())
        );
        for n in &r.notes {
            println!("    {n}");
        }
    }
    println!(
        "{:<20} {:>10.1} {:>10.1}",
        "total",
        clock.wall_s(),
        clock.cpu_s()
    );
    Ok(ExitCode::SUCCESS)
}

fn hashing(args: HashingArgs) -> Result<ExitCode> {
    anyhow::ensure!(
        args.corpora.len() == 1 || (args.features.is_none() && args.privox_features.is_none()),
        "--features and --privox-features need exactly one --corpus"
    );
    let cfg = HashingConfig {
        k: args.k.clone(),
        delta: args.delta.clone(),
        mpc: args.mpc,
        table: !args.no_table,
        tune_targets: if args.no_tune {
            Vec::new()
        } else {
            args.tune_targets.clone()
        },
        tune_k: args.tune_k,
        grid: SearchGrid {
            log2_c: privox_svm::Grid::parse_range(&args.log2_c)?,
            log2_gamma: privox_svm::Grid::parse_range(&args.log2_gamma)?,
            inner_folds: args.inner_folds,
            inner_seed: args.inner_seed,
        },
    };
    let opts = RunOptions {
        seeds: key_seeds(args.first_seed, args.seeds)?,
        ..RunOptions::new(&args.out)
    };
    for corpus in &args.corpora {
        let name = corpus_name(corpus);
        let mut runs: Vec<(&str, PathBuf)> = Vec::new();
        if !args.no_reference {
            let csv = args
                .features
                .clone()
                .unwrap_or_else(|| corpus.join(privox_repro::corpus::REFERENCE_CSV));
            runs.push(("opensmile", csv));
        }
        if let Some(p) = &args.privox_features {
            runs.push(("privox", p.clone()));
        }
        for (features, csv) in runs {
            let table = FeatureTable::read_csv(&csv)
                .with_context(|| format!("reading features of {name} from {}", csv.display()))?;
            let table = args.calibration.apply(table)?;
            let features = match args.calibration.calibration {
                privox_data::Calibration::None => features.to_string(),
                mode => format!("{features}+{mode}"),
            };
            let record = hashing::run_table(&name, &features, table, &cfg, &opts)?;
            let path = hashing::save(&record, &opts)?;
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
