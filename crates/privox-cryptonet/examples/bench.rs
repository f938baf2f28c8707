//! Times the encrypted round trip of a model on a feature table (server
//! evaluation, client encryption/decryption, sizes, agreement) and writes
//! the figures as JSON for `bench/cryptonet/aggregate.py`.
//!
//! ```sh
//! cargo run --release -p privox-cryptonet --example bench -- \
//!     --model M.pvxnn --features F.csv --packing single|batch \
//!     [--threads 1] [--repeats 5] [--rows 50] [--json out.json]
//! ```

use std::path::PathBuf;

use privox_cryptonet::{Client, Packing, RoundTripOptions, round_trip};
use privox_data::FeatureTable;
use privox_nn::NnModel;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut model = None;
    let mut features = None;
    let mut packing = Packing::Single;
    let mut threads = 1usize;
    let mut repeats = 3usize;
    let mut max_rows = usize::MAX;
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--model" => model = Some(PathBuf::from(val()?)),
            "--features" => features = Some(PathBuf::from(val()?)),
            "--packing" => {
                let v = val()?;
                packing = Packing::parse(&v).ok_or(format!("unknown packing {v}"))?
            }
            "--threads" => threads = val()?.parse()?,
            "--repeats" => repeats = val()?.parse()?,
            "--rows" => max_rows = val()?.parse()?,
            "--json" => json = Some(PathBuf::from(val()?)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let model = NnModel::load(&model.ok_or("--model is required")?)?;
    let table = FeatureTable::read_csv(&features.ok_or("--features is required")?)?;
    let raw: Vec<Vec<f64>> = (0..table.len())
        .filter(|&i| model.class_names.contains(&table.labels[i]))
        .take(max_rows)
        .map(|i| table.x.row(i).to_vec())
        .collect();
    let client = Client::new(model.clone(), packing)?;
    let scaled = client.scale(&raw)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let opts = RoundTripOptions {
        packing,
        fill_batch: true,
        repeats,
        insecure_seed: None,
    };
    let r = pool.install(|| round_trip(&model, &scaled, &opts, &mut |_, _| {}))?;
    eprintln!("{}", r.plan);
    let out = format!(
        concat!(
            "{{\"tool\":\"privox\",\"packing\":\"{}\",\"threads\":{},\"rows\":{},\"recordings_per_batch\":{},",
            "\"server_ms\":{:.4},\"server_ms_per_recording\":{:.6},\"client_encrypt_ms\":{:.4},",
            "\"client_decrypt_ms\":{:.4},\"keygen_ms\":{:.2},\"eval_key_bytes\":{},\"query_bytes\":{},",
            "\"result_bytes\":{},\"agreement\":{:.6},\"disagreements\":{},\"max_abs_err\":{:.3e},",
            "\"precision_bits\":{:.2},\"min_margin\":{:.3e},\"plan\":\"{}\"}}"
        ),
        packing.name(),
        threads,
        r.rows,
        r.rows_per_query,
        r.server.median_ms,
        r.server_ms_per_recording(),
        r.encrypt.median_ms,
        r.decrypt.median_ms,
        r.keygen.median_ms,
        r.eval_key_bytes,
        r.query_bytes,
        r.response_bytes,
        r.agree as f64 / r.rows as f64,
        r.disagreements.len(),
        r.max_abs_error,
        r.precision_bits(),
        r.min_margin,
        r.plan.replace('"', "'"),
    );
    println!("{out}");
    if let Some(p) = json {
        std::fs::write(p, format!("{out}\n"))?;
    }
    Ok(())
}
