//! `privox repro`: regenerate the paper's tables and figures.
//!
//! `privox repro hashing` reproduces the hashing approach (Tables 1 and 2,
//! Δ tuning, the privacy/utility frontier) under leave-one-speaker-out and
//! writes `docs/results/hashing.md` from the measured numbers.

use anyhow::{Context, Result};
use privox_data::FeatureTable;
use privox_repro::hashing::{self, HashingConfig, experiment::SearchGrid, report};
use privox_repro::{RunOptions, corpus_name, key_seeds};
use std::path::PathBuf;
use std::process::ExitCode;

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
            log2_gamma_rel: privox_svm::Grid::parse_range(&args.log2_gamma)?,
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
