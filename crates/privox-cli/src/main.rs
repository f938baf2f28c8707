//! `privox`: privacy-preserving speech analytics from the command line.
//!
//! One subcommand per verb; each lives in its own module under `commands/`.

// Doc comments here are clap's help text, written for the terminal (e.g.
// `E[d_H](d)`, `<features>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod commands;

use clap::{Parser, Subcommand};

/// Privacy-preserving speech analytics: eGeMAPS features, Secure Modular
/// Hashing with SVMs, and CKKS-encrypted neural networks.
///
/// Typical flow: `privox extract` turns audio into 88 eGeMAPS features, then
/// either `privox smh` + `privox svm` (hashing approach) or `privox nn` +
/// `privox he` (encrypted cryptonet). `privox demo` runs everything on the
/// bundled EmoDB demo corpus.
#[derive(Debug, Parser)]
#[command(name = "privox", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on the bundled demo corpus (data/demo).
    Demo(commands::demo::Args),
    /// Extract the 88 eGeMAPS v02 features of audio files into a CSV.
    Extract(commands::extract::Args),
    /// Regenerate the paper's tables and figures (e.g. `privox repro hashing`).
    Repro(commands::repro::Args),
    /// C-SVMs on features (RBF) or SMH codes (RBF-Hamming): grid, train, predict, eval.
    Svm(commands::svm::Args),
    /// HE-friendly MLPs (ReLU or polynomial activations, batch-norm): train, eval, poly.
    Nn(commands::nn::Args),
    /// Secure Modular Hashing: keygen, hash, leakage, curve (theory vs Monte Carlo), tune Δ.
    Smh(commands::smh::Args),
    /// Encrypted inference (CKKS): keygen, encrypt, infer (server), decrypt, eval, plan.
    He(commands::he::Args),
    /// The HTTP service (HE inference, SMH classification, Secure Joint Learning); `serve admin` for the operator.
    Serve(commands::serve::Args),
    /// Talk to a `privox serve`: classify (he|smh), keys upload, sjl contribute|train|status.
    Client(commands::client::Args),
    /// Per-speaker calibration files on the client: update, apply.
    Calibrate(commands::calibrate::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(args),
        Command::Extract(args) => commands::extract::run(args),
        Command::Repro(args) => commands::repro::run(args),
        Command::Svm(args) => commands::svm::run(args),
        Command::Nn(args) => commands::nn::run(args),
        Command::Smh(args) => commands::smh::run(args),
        Command::He(args) => commands::he::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Client(args) => commands::client::run(args),
        Command::Calibrate(args) => commands::calibrate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // The whole chain, each cause once on its own line:
            // "error: top\n  caused by: …" (libraries chain causes as
            // `source()` and do not repeat them in their messages).
            eprintln!("error: {:#}", privox_format::Report(err.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
