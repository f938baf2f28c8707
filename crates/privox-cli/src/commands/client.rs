//! `privox client`: talk to a `privox serve`. Extraction, scaling,
//! encryption, decryption and hashing run here; the server receives only
//! ciphertexts, public evaluation keys and SMH codes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use privox_data::{FeatureTable, MinMaxScaler};
use privox_service::client::{
    ApiClient, ClientConfig, ConfigOverrides, HeSession, Progress, extract_features, hash_rows,
};
use privox_smh::SmhKey;

const AFTER_HELP: &str = "\
Configuration: --server/--token/--ca-cert, or PRIVOX_SERVER / PRIVOX_TOKEN /
PRIVOX_CA_CERT, or a file (--config, PRIVOX_CLIENT_CONFIG, default
~/.config/privox/client.conf) with lines `server = URL`, `token = pvx_…`,
`ca_cert = PATH`.

Examples:
  privox client models
  privox client keys upload --model emotion                      # keys in ./privox-keys (secret key 0600)
  privox client classify a.wav b.wav --mode he --model emotion
  privox client sjl contribute --federation calls --smh-key k.smhkey --scale-from ref.csv --features mine.csv
  privox client sjl train --federation calls
  privox client classify a.wav --mode smh --model calls --smh-key k.smhkey --scale-from ref.csv";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Server URL (https://host:port).
    #[arg(long, global = true)]
    server: Option<String>,
    /// API token (prefer PRIVOX_TOKEN or the config file: command lines are visible to other users).
    #[arg(long, global = true)]
    token: Option<String>,
    /// CA certificate (PEM) the server's certificate must chain to.
    #[arg(long, global = true, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Config file.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The catalogue: HE models and your federations.
    Models,
    /// Classify recordings: `he` (encrypted inference) or `smh` (hashed, federation's joint model).
    Classify(ClassifyArgs),
    /// Evaluation keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Secure Joint Learning.
    #[command(subcommand)]
    Sjl(SjlCommand),
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Generate CKKS keys for a model locally and upload the evaluation keys.
    Upload {
        #[arg(long)]
        model: String,
        /// Where the secret key (MODEL.sk, 0600) and the keys' fingerprint (MODEL.keys) go.
        #[arg(long, default_value = "privox-keys")]
        key_dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct SmhArgs {
    /// The federation's shared SMH key (never sent).
    #[arg(long, value_name = "FILE")]
    smh_key: PathBuf,
    /// Feature table the members agreed to scale with (min-max to [-1, 1]).
    #[arg(long, value_name = "CSV")]
    scale_from: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum SjlCommand {
    /// Hash a labelled feature table locally and contribute the codes.
    Contribute {
        #[arg(long)]
        federation: String,
        #[command(flatten)]
        smh: SmhArgs,
        /// Labelled feature table (`privox extract` output with labels).
        #[arg(long, value_name = "CSV")]
        features: PathBuf,
        /// Idempotency id (default: SHA-256 of the codes): a retry is stored once.
        #[arg(long)]
        id: Option<String>,
    },
    /// Train the joint model now.
    Train {
        #[arg(long)]
        federation: String,
    },
    /// Counts per label and per party, and model versions.
    Status {
        #[arg(long)]
        federation: String,
    },
}

#[derive(Debug, clap::Args)]
struct ClassifyArgs {
    /// Audio files (or --features).
    audio: Vec<PathBuf>,
    /// A feature table instead of audio.
    #[arg(long, value_name = "CSV", conflicts_with = "audio")]
    features: Option<PathBuf>,
    /// he: the HE model's name; smh: the federation's name.
    #[arg(long)]
    model: String,
    /// he or smh.
    #[arg(long, default_value = "he")]
    mode: String,
    /// he: key directory of `keys upload`.
    #[arg(long, default_value = "privox-keys")]
    key_dir: PathBuf,
    /// he: send all queries in one batch request.
    #[arg(long)]
    batch: bool,
    /// smh: the shared SMH key.
    #[arg(long, value_name = "FILE")]
    smh_key: Option<PathBuf>,
    /// smh: the agreed scaling table.
    #[arg(long, value_name = "CSV")]
    scale_from: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let cfg = ClientConfig::resolve(&ConfigOverrides {
        server: args.server.clone(),
        token: args.token.clone(),
        ca_cert: args.ca_cert.clone(),
        config: args.config.clone(),
    })?;
    let api = ApiClient::new(&cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        match args.command {
            Command::Models => models(&api).await,
            Command::Classify(a) => classify(&api, a).await,
            Command::Keys(KeysCommand::Upload { model, key_dir }) => {
                keys_upload(&api, &model, &key_dir).await
            }
            Command::Sjl(c) => sjl(&api, c).await,
        }
    })
}

fn bar(len: u64, what: &str) -> (ProgressBar, Progress) {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} ({{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pb2 = pb.clone();
    let f: Progress = Arc::new(move |done, total| {
        pb2.set_length(total);
        pb2.set_position(done);
    });
    (pb, f)
}

async fn models(api: &ApiClient) -> Result<ExitCode> {
    let c = api.catalogue().await?;
    for m in &c.models {
        println!(
            "model {}: {} packing, classes {:?}, {} rotations, plan {}\n  {}",
            m.name,
            m.packing,
            m.classes,
            m.rotations.len(),
            m.plan_fingerprint,
            m.ckks.description
        );
    }
    for f in &c.federations {
        println!(
            "federation {}: classes {:?}, SMH k = {} Δ = {} mpc = {} dim = {}, code space {}, latest model {:?}",
            f.name,
            f.classes,
            f.smh.k,
            f.smh.delta,
            f.smh.mpc,
            f.smh.dim,
            f.smh.code_space_fingerprint,
            f.latest_version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn sk_path(dir: &Path, model: &str) -> PathBuf {
    dir.join(format!("{model}.sk"))
}
fn fp_path(dir: &Path, model: &str) -> PathBuf {
    dir.join(format!("{model}.keys"))
}

async fn keys_upload(api: &ApiClient, model: &str, dir: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (pb, progress) = bar(0, "uploading evaluation keys (bytes)");
    let s = HeSession::create(api, model, Some(progress)).await?;
    pb.finish_and_clear();
    s.client
        .save_secret_key(&s.secret, &sk_path(dir, model))
        .context("saving the secret key")?;
    privox_format::write_atomic(&fp_path(dir, model), s.keys_fingerprint.as_bytes())?;
    println!(
        "uploaded evaluation keys for {model}: fingerprint {}; secret key {} (0600, never sent)",
        s.keys_fingerprint,
        sk_path(dir, model).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn load_table(a: &ClassifyArgs) -> Result<FeatureTable> {
    match &a.features {
        Some(p) => FeatureTable::read_csv(p).with_context(|| format!("reading {}", p.display())),
        None => {
            if a.audio.is_empty() {
                bail!("give audio files or --features CSV");
            }
            Ok(extract_features(&a.audio)?)
        }
    }
}

fn smh_inputs(key: &Path, scale_from: &Path) -> Result<(SmhKey, MinMaxScaler)> {
    let key =
        SmhKey::read(key).with_context(|| format!("reading the SMH key {}", key.display()))?;
    let reference = FeatureTable::read_csv(scale_from)
        .with_context(|| format!("reading {}", scale_from.display()))?;
    Ok((key, MinMaxScaler::fit(&reference.x)?))
}

async fn classify(api: &ApiClient, a: ClassifyArgs) -> Result<ExitCode> {
    let table = load_table(&a)?;
    match a.mode.as_str() {
        "he" => {
            let fp = std::fs::read_to_string(fp_path(&a.key_dir, &a.model)).with_context(|| {
                format!(
                    "no uploaded keys for {} in {}: run `privox client keys upload --model {}` first",
                    a.model,
                    a.key_dir.display(),
                    a.model
                )
            })?;
            let s =
                HeSession::resume(api, &a.model, &sk_path(&a.key_dir, &a.model), fp.trim()).await?;
            let raw: Vec<Vec<f64>> = table.x.iter_rows().map(|r| r.to_vec()).collect();
            let (pb, progress) = bar(raw.len() as u64, "encrypted queries");
            let scores = s.classify(api, &raw, a.batch, Some(progress)).await?;
            pb.finish_and_clear();
            let classes = &s.client.model().class_names;
            for ((f, d), l) in table
                .files
                .iter()
                .zip(scores.decisions())
                .zip(scores.shareable())
            {
                println!("{f}\t{}\t{l:?}", classes[d]);
            }
        }
        "smh" => {
            let (Some(k), Some(sf)) = (&a.smh_key, &a.scale_from) else {
                bail!("--mode smh needs --smh-key and --scale-from");
            };
            let (key, scaler) = smh_inputs(k, sf)?;
            let codes = hash_rows(&key, &scaler, &table.x, None)?;
            let c = api.classify_codes(&a.model, &codes).await?;
            for (f, p) in table.files.iter().zip(&c.predictions) {
                println!("{f}\t{}\t{:?}", p.label, p.decision);
            }
            eprintln!("joint model version {}", c.version);
        }
        other => bail!("unknown mode {other:?}: use he or smh"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn sjl(api: &ApiClient, c: SjlCommand) -> Result<ExitCode> {
    match c {
        SjlCommand::Contribute {
            federation,
            smh,
            features,
            id,
        } => {
            let (key, scaler) = smh_inputs(&smh.smh_key, &smh.scale_from)?;
            let table = FeatureTable::read_csv(&features)
                .with_context(|| format!("reading {}", features.display()))?;
            let codes = hash_rows(&key, &scaler, &table.x, Some(table.labels.clone()))?;
            let id = id.unwrap_or_else(|| privox_service::auth::sha256_hex(&codes.to_bytes()));
            let ack = api.contribute(&federation, &id, &codes).await?;
            println!(
                "contribution {} ({} codes, idempotency id {id}): {}",
                ack.id,
                ack.codes,
                if ack.created {
                    "stored"
                } else {
                    "already stored (retry)"
                }
            );
        }
        SjlCommand::Train { federation } => {
            let v = api.train(&federation).await?;
            println!(
                "trained {federation} version {} on {} codes from {} contributions (model {})",
                v.version,
                v.codes,
                v.contribution_ids.len(),
                v.fingerprint
            );
        }
        SjlCommand::Status { federation } => {
            let s = api.stats(&federation).await?;
            println!(
                "{}: {} codes {:?}, latest model {:?}",
                s.federation, s.codes, s.labels, s.latest_version
            );
            for p in &s.parties {
                println!(
                    "  {}: {} contributions {:?}",
                    p.tenant, p.contributions, p.labels
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
