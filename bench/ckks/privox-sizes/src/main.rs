//! Serialized sizes of privox-ckks objects at the bench parameters
//! (N = 2^14, Q = [60, 40 x depth], one 60-bit special prime per digit group),
//! printed as one JSON object on stdout. Depth and dnum follow the same
//! environment variables as `crates/privox-ckks/benches/ops.rs`.
//! With the argument `cpu-time [op,op,...]` it prints CPU and wall time per
//! operation instead (all operations, or only the named ones).

mod cputime;

use privox_ckks::{CkksParams, Encoder, Encryptor, InsecureSeed, KeyGenerator, ParamSpec, Result};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<()> {
    let depth = env_usize("CKKS_BENCH_DEPTH", 6);
    let dnum = env_usize("CKKS_BENCH_DNUM", depth + 1);
    let log_n = env_usize("CKKS_BENCH_LOGN", 14) as u32;
    let params = CkksParams::new(ParamSpec::standard(log_n, depth, dnum))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("cpu-time") {
        // Optional second argument: comma-separated operations to time (default: all).
        let only: Vec<String> = args
            .get(1)
            .map(|a| a.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        return cputime::run(&params, &only);
    }
    // Fixed seeds: sizes do not depend on the randomness, and this is a bench tool.
    let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1));
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk)?;
    let rk = kg.relin_key(&sk)?;
    let gk = kg.galois_keys(&sk, &[1], false)?;
    let encoder = Encoder::new(&params);
    let values: Vec<f64> = (0..params.max_slots())
        .map(|i| (i % 200) as f64 / 100.0 - 1.0)
        .collect();
    let pt = encoder.encode_real(&values, params.max_level(), params.default_scale())?;
    let mut enc = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(2));
    let ct_sk = enc.encrypt_symmetric(&pt, &sk)?;
    let ct_pk = enc.encrypt(&pt, &pk)?;

    let rows: Vec<(&str, usize)> = vec![
        ("ciphertext_full", ct_sk.to_bytes(&params)?.len()),
        ("ciphertext_seeded", ct_sk.to_bytes_seeded(&params)?.len()),
        (
            "ciphertext_public_key_encrypted",
            ct_pk.to_bytes(&params)?.len(),
        ),
        ("relin_key_full", rk.to_bytes().len()),
        ("relin_key_seeded", rk.to_bytes_seeded()?.len()),
        ("galois_key_full", gk.to_bytes().len()),
        ("galois_key_seeded", gk.to_bytes_seeded()?.len()),
        ("public_key_full", pk.to_bytes().len()),
        ("public_key_seeded", pk.to_bytes_seeded()?.len()),
    ];
    let body: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("  \"{k}\": {v}"))
        .collect();
    println!(
        "{{\n  \"params\": \"{}\",\n{}\n}}",
        format!("{params:?}").replace('"', "'"),
        body.join(",\n")
    );
    Ok(())
}
