//! `privox he`: encrypted inference of a `privox nn` model (CKKS).
//!
//! Argument parsing and printing only: planning, keys, encryption, the
//! server evaluation and the round trip live in `privox-cryptonet`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::calibrate::CalibrationArgs;

use anyhow::{Context, Result};
use privox_ckks::{InsecureSeed, KeyGenerator};
use privox_cryptonet::wire::{
    eval_keys_to_bytes, queries_from_bytes, queries_to_bytes, responses_from_bytes,
};
use privox_cryptonet::{Client, Packing, RoundTripOptions, RoundTripReport, Server, round_trip};
use privox_data::FeatureTable;
use privox_nn::NnModel;

const AFTER_HELP: &str = "\
The client holds the audio, the features and the secret key; the server holds
the model and sees only ciphertexts and public evaluation keys.

Client and server, step by step:
  privox he keygen  --model m.pvxnn -o alice                 # alice.sk (0600) + alice.evk
  privox he encrypt --model m.pvxnn --key alice.sk --features f.csv -o q.pvxq   # + q.pvxq.rows.csv
  privox he infer   --model m.pvxnn --eval-keys alice.evk --input q.pvxq -o r.pvxr   # server side
  privox he decrypt --model m.pvxnn --key alice.sk --input r.pvxr --rows q.pvxq.rows.csv -o predictions.csv

Everything at once, locally, with agreement, timings and sizes:
  privox he eval --model m.pvxnn --features f.csv [--packing single|batch|both]

Packings: `single` (one recording per query, lowest latency) and `batch` (up
to N/2 recordings per query, lowest cost per recording). Keys, queries and
responses of one packing are refused by the other.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Client: a secret key (mode 0600) and the evaluation keys the model's plan needs.
    Keygen(KeygenArgs),
    /// Client: scale and encrypt feature rows with the secret key.
    Encrypt(EncryptArgs),
    /// Server: evaluate the model on encrypted queries (public keys only).
    Infer(InferArgs),
    /// Client: decrypt responses into a predictions CSV.
    Decrypt(DecryptArgs),
    /// The whole round trip locally: agreement with the plaintext model, time per stage, sizes.
    Eval(EvalArgs),
    /// Print the plan of a model: parameters, levels, rotations.
    Plan(PlanArgs),
}

#[derive(Debug, clap::Args)]
struct ModelArgs {
    /// The model (`privox nn train` output).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// single: one recording per query; batch: up to N/2 recordings per query.
    #[arg(long, default_value = "single", value_parser = parse_packing)]
    packing: Packing,
}

fn parse_packing(s: &str) -> std::result::Result<Packing, String> {
    Packing::parse(s).ok_or_else(|| format!("unknown packing {s:?}: use single or batch"))
}

#[derive(Debug, clap::Args)]
struct KeygenArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Output prefix: writes PREFIX.sk (secret, 0600) and PREFIX.evk (evaluation keys, to upload).
    #[arg(short, long, default_value = "privox-he")]
    output: PathBuf,
    /// Deterministic keys for reproducible experiments only (never for real data).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Debug, clap::Args)]
struct EncryptArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The secret key (`he keygen` output, PREFIX.sk).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Feature table CSV (`privox extract` output); every row is encrypted.
    #[arg(long, value_name = "CSV")]
    features: PathBuf,
    /// Per-speaker calibration on this machine before scaling and
    /// encryption; must match the model. Only ciphertexts are sent, as without.
    #[command(flatten)]
    calibration: CalibrationArgs,
    /// Query file to send; the row list (file, label) goes to OUTPUT.rows.csv and stays with you.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct InferArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The client's evaluation keys (PREFIX.evk).
    #[arg(long, value_name = "FILE")]
    eval_keys: PathBuf,
    /// Query file (`he encrypt` output).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Response file for the client.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct DecryptArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The secret key (PREFIX.sk).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Response file (`he infer` output).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Row list written by `he encrypt` (QUERY.rows.csv), for file names and labels.
    #[arg(long, value_name = "CSV")]
    rows: Option<PathBuf>,
    /// Predictions CSV: file,label,predicted,score_<class>... (scores rounded for sharing).
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// The model (`privox nn train` output).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Feature table CSV; rows whose label is one of the model's classes are used.
    #[arg(long, value_name = "CSV")]
    features: PathBuf,
    /// Per-speaker calibration of --features (must match the model).
    #[command(flatten)]
    calibration: CalibrationArgs,
    /// single, batch or both.
    #[arg(long, default_value = "both")]
    packing: String,
    /// Use at most this many rows (single-query packing takes one query per row).
    #[arg(long)]
    rows: Option<usize>,
    /// Server evaluations per query (the median is reported).
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Batch packing: time full batches (N/2 recordings, rows repeated), as the per-recording figure assumes.
    #[arg(long)]
    full_batch: bool,
    /// Deterministic keys and encryption for reproducible experiments only.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Keygen(a) => keygen(a),
        Command::Encrypt(a) => encrypt(a),
        Command::Infer(a) => infer(a),
        Command::Decrypt(a) => decrypt(a),
        Command::Eval(a) => eval(a),
        Command::Plan(a) => plan(a),
    }
}

fn load_model(path: &Path) -> Result<NnModel> {
    NnModel::load(path).with_context(|| format!("loading the model {}", path.display()))
}

fn client(m: &ModelArgs) -> Result<Client> {
    let model = load_model(&m.model)?;
    Client::new(model, m.packing).context("planning the encrypted circuit")
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    privox_format::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

/// Rows of a feature table whose columns match the model's, calibrated as
/// the model expects (a mismatch between `calibration` and the model is an error).
fn feature_rows(
    model: &NnModel,
    path: &Path,
    calibration: &CalibrationArgs,
) -> Result<FeatureTable> {
    model.calibration.require(calibration.calibration)?;
    let table = FeatureTable::read_csv(path)
        .with_context(|| format!("reading the feature table {}", path.display()))?;
    let table = calibration.apply(table)?;
    anyhow::ensure!(
        table.feature_names == model.feature_names,
        "the feature table's columns differ from the model's ({} vs {} features); extract the same feature set",
        table.feature_names.len(),
        model.feature_names.len()
    );
    anyhow::ensure!(!table.is_empty(), "{} has no rows", path.display());
    Ok(table)
}

fn plan(a: PlanArgs) -> Result<ExitCode> {
    let c = client(&a.model)?;
    let p = c.plan();
    println!("{}", p.describe());
    println!("rotation steps: {:?}", p.rotations);
    println!("plan fingerprint: {}", p.fingerprint().to_hex());
    Ok(ExitCode::SUCCESS)
}

fn keygen(a: KeygenArgs) -> Result<ExitCode> {
    let c = client(&a.model)?;
    let (sk, keys) = match a.seed {
        Some(s) => {
            eprintln!(
                "warning: --seed makes the keys reproducible; never use them for real recordings"
            );
            c.keygen_with(KeyGenerator::from_insecure_seed(
                &c.plan().params,
                InsecureSeed::from_u64(s),
            ))?
        }
        None => c.keygen()?,
    };
    let sk_path = with_ext(&a.output, ".sk");
    let evk_path = with_ext(&a.output, ".evk");
    c.save_secret_key(&sk, &sk_path)?;
    let evk = eval_keys_to_bytes(c.plan(), &keys)?;
    write(&evk_path, &evk)?;
    println!("{}", c.plan().describe());
    println!(
        "secret key: {} (mode 0600; never leaves this machine)",
        sk_path.display()
    );
    println!(
        "evaluation keys: {} ({} bytes: relinearization + {} rotations; upload these)",
        evk_path.display(),
        evk.len(),
        c.plan().rotations.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn encrypt(a: EncryptArgs) -> Result<ExitCode> {
    let c = client(&a.model)?;
    let sk = c.load_secret_key(&a.key)?;
    let table = feature_rows(c.model(), &a.features, &a.calibration)?;
    let raw: Vec<Vec<f64>> = table.x.iter_rows().map(|r| r.to_vec()).collect();
    let scaled = c.scale_calibrated(&raw, a.calibration.calibration)?;
    let queries = c.encrypt_all(&sk, &scaled)?;
    let bytes = queries_to_bytes(c.plan(), &queries)?;
    write(&a.output, &bytes)?;
    let rows_path = with_ext(&a.output, ".rows.csv");
    let mut rows = String::from("file,label\n");
    for (f, l) in table.files.iter().zip(&table.labels) {
        rows.push_str(&format!("{f},{l}\n"));
    }
    write(&rows_path, rows.as_bytes())?;
    println!(
        "encrypted {} recordings into {} queries: {} ({} bytes); row list (keep it): {}",
        raw.len(),
        queries.len(),
        a.output.display(),
        bytes.len(),
        rows_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn infer(a: InferArgs) -> Result<ExitCode> {
    let model = load_model(&a.model.model)?;
    let server = Server::new(&model, a.model.packing, &read(&a.eval_keys)?)
        .context("loading the evaluation keys")?;
    let queries =
        queries_from_bytes(server.plan(), &read(&a.input)?).context("reading the query file")?;
    let bar = super::progress::bar(queries.len() as u64, "HE", "queries");
    let mut responses = Vec::with_capacity(queries.len());
    for q in &queries {
        responses.push(server.infer(q)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let bytes = privox_cryptonet::wire::responses_to_bytes(server.plan(), &responses)?;
    write(&a.output, &bytes)?;
    println!(
        "evaluated {} queries ({} recordings) without any secret key: {} ({} bytes)",
        queries.len(),
        queries.iter().map(|q| q.rows).sum::<usize>(),
        a.output.display(),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn decrypt(a: DecryptArgs) -> Result<ExitCode> {
    let c = client(&a.model)?;
    let sk = c.load_secret_key(&a.key)?;
    let responses =
        responses_from_bytes(c.plan(), &read(&a.input)?).context("reading the response file")?;
    let scores = c.decrypt_all(&sk, &responses)?;
    let (mut files, mut labels) = (Vec::new(), Vec::new());
    if let Some(rows) = &a.rows {
        let text = String::from_utf8(read(rows)?).context("the row list is not UTF-8")?;
        for line in text.lines().skip(1) {
            let (f, l) = line.split_once(',').unwrap_or((line, ""));
            files.push(f.to_string());
            labels.push(l.to_string());
        }
        anyhow::ensure!(
            files.len() == scores.logits.len(),
            "the row list has {} rows for {} decrypted recordings; pass the list written with this query",
            files.len(),
            scores.logits.len()
        );
    }
    write(
        &a.output,
        scores
            .to_csv(&files, &labels, &c.model().class_names)
            .as_bytes(),
    )?;
    println!(
        "wrote {} predictions to {}",
        scores.logits.len(),
        a.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn eval(a: EvalArgs) -> Result<ExitCode> {
    let model = load_model(&a.model)?;
    let table = feature_rows(&model, &a.features, &a.calibration)?;
    let raw: Vec<Vec<f64>> = (0..table.len())
        .filter(|&i| model.class_names.contains(&table.labels[i]))
        .take(a.rows.unwrap_or(usize::MAX))
        .map(|i| table.x.row(i).to_vec())
        .collect();
    anyhow::ensure!(
        !raw.is_empty(),
        "no row of {} has one of the model's classes {:?}",
        a.features.display(),
        model.class_names
    );
    let packings: Vec<Packing> = match a.packing.as_str() {
        "both" => vec![Packing::Single, Packing::Batch],
        other => vec![parse_packing(other).map_err(anyhow::Error::msg)?],
    };
    let mut all_agree = true;
    for packing in packings {
        let c = Client::new(model.clone(), packing)?;
        let scaled = c.scale_calibrated(&raw, a.calibration.calibration)?;
        let opts = RoundTripOptions {
            packing,
            fill_batch: a.full_batch,
            repeats: a.repeats,
            insecure_seed: a.seed,
        };
        let queries = scaled.len().div_ceil(c.plan().max_rows());
        let bar = super::progress::bar(queries as u64, "HE", "queries");
        let r = round_trip(&model, &scaled, &opts, &mut |done, _| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        print_report(&r);
        all_agree &= r.all_disagreements_explained();
    }
    Ok(if all_agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(r: &RoundTripReport) {
    println!("{}", r.plan);
    println!(
        "  decisions: {}/{} equal to the plaintext network ({:.2} %); max |score error| {:.2e} ({:.1} bits); smallest plaintext margin {:.2e}",
        r.agree,
        r.rows,
        100.0 * r.agree as f64 / r.rows as f64,
        r.max_abs_error,
        r.precision_bits(),
        r.min_margin
    );
    for d in &r.disagreements {
        println!(
            "    row {} differs: plaintext margin {:.3e}, its score error {:.3e}{}",
            d.row,
            d.margin,
            d.error,
            if d.margin <= 2.0 * d.error {
                " (margin below the error)"
            } else {
                " (UNEXPLAINED)"
            }
        );
    }
    println!(
        "  time per query (median): client encrypt {:.2} ms, server {:.2} ms ({:.4} ms per recording, {} per query), client decrypt {:.2} ms; keygen {:.0} ms",
        r.encrypt.median_ms,
        r.server.median_ms,
        r.server_ms_per_recording(),
        r.rows_per_query,
        r.decrypt.median_ms,
        r.keygen.median_ms
    );
    println!(
        "  sizes: evaluation keys {} B (seeded), query {} B (seeded), response {} B, secret key {} B",
        r.eval_key_bytes, r.query_bytes, r.response_bytes, r.secret_key_bytes
    );
}

/// `privox demo`'s encrypted stage: the demo's HE-aware model on every demo
/// recording (batch) and on a few single queries.
pub fn demo_stage(table: &FeatureTable, model_path: &Path) -> Result<()> {
    let model = load_model(model_path)?;
    let raw: Vec<Vec<f64>> = (0..table.len())
        .filter(|&i| model.class_names.contains(&table.labels[i]))
        .map(|i| table.x.row(i).to_vec())
        .collect();
    for (packing, rows) in [
        (Packing::Batch, raw.len()),
        (Packing::Single, 8.min(raw.len())),
    ] {
        let c = Client::new(model.clone(), packing)?;
        let scaled = c.scale(&raw[..rows])?;
        let opts = RoundTripOptions {
            packing,
            ..RoundTripOptions::default()
        };
        let r = round_trip(&model, &scaled, &opts, &mut |_, _| {})?;
        println!(
            "he   {} packing, {} recordings encrypted: {}/{} decisions equal the plaintext model's, max score error {:.1e}; server {:.1} ms per query, keys {:.1} MB, query {:.1} MB",
            packing.name(),
            r.rows,
            r.agree,
            r.rows,
            r.max_abs_error,
            r.server.median_ms,
            r.eval_key_bytes as f64 / 1e6,
            r.query_bytes as f64 / 1e6
        );
        anyhow::ensure!(
            r.all_disagreements_explained(),
            "encrypted decisions differ from the plaintext model beyond the measured error"
        );
    }
    Ok(())
}
