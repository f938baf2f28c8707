//! `privox demo`: the whole pipeline on the bundled demo corpus.
//!
//! Each capability adds a stage here; stages run in data-flow order.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Demo corpus folder (holds labels.csv and wav/).
    #[arg(long, default_value = "data/demo")]
    pub corpus: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.corpus.join("labels.csv").is_file(),
        "demo corpus not found at {} (expected labels.csv there); run from the repository root or pass --corpus",
        args.corpus.display()
    );
    Ok(ExitCode::SUCCESS)
}
