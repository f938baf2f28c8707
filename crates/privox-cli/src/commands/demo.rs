//! `privox demo`: the whole pipeline on the bundled demo corpus.
//!
//! Each capability adds a stage here; stages run in data-flow order.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use privox_data::FeatureTable;

use crate::commands::extract;
use privox_egemaps::batch::{self, ExtractOptions, ExtractReport};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Demo corpus folder (holds labels.csv and wav/).
    #[arg(long, default_value = "data/demo")]
    pub corpus: PathBuf,

    /// Folder for the demo's outputs (features.csv, ...); created if missing.
    #[arg(long, default_value = "target/privox-demo")]
    pub out: PathBuf,

    /// Files processed in parallel by the extract stage [default: all cores].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.corpus.join("labels.csv").is_file(),
        "demo corpus not found at {} (expected labels.csv there); run from the repository root or pass --corpus",
        args.corpus.display()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder {}", args.out.display()))?;
    let features = extract_stage(&args.corpus, &args.out, args.jobs)?;
    // Later stages (SMH + SVM, cryptonet) take `features` from here.
    let _ = &features;
    crate::commands::svm::demo_stage(&features, None)?;
    crate::commands::nn::demo_stage(&features, &args.out)?;
    crate::commands::he::demo_stage(&features, &args.out.join("cryptonet-p2.pvxnn"))?;
    Ok(ExitCode::SUCCESS)
}

/// Stage 1: the 88 eGeMAPS features of every file in `corpus/labels.csv`
/// (speaker and label from the manifest), extracted in parallel. Prints
/// counts, time and real-time factor, writes `out/features.csv`, and returns
/// the table for the next stages. Files that fail are reported and left out;
/// the stage fails only if no file could be extracted.
pub fn extract_stage(
    corpus: &Path,
    out: &Path,
    jobs: Option<usize>,
) -> anyhow::Result<FeatureTable> {
    let manifest = corpus.join("labels.csv");
    let jobs_list = batch::read_manifest(&manifest)?;
    let opts = ExtractOptions {
        jobs,
        ..ExtractOptions::default()
    };
    let report: ExtractReport = extract::extract_with_progress(&jobs_list, &opts, true)?;
    let csv = out.join("features.csv");
    report
        .table
        .write_csv(&csv)
        .with_context(|| format!("cannot write {}", csv.display()))?;
    println!("extract: {}", report.summary());
    println!(
        "extract: features of {} recordings written to {}",
        report.table.len(),
        csv.display()
    );
    anyhow::ensure!(
        !report.table.is_empty(),
        "no file of {} could be extracted (see the errors above)",
        manifest.display()
    );
    Ok(report.table)
}
