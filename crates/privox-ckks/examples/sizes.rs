//! Prints serialized sizes at N = 2^14, Q = [60, 40×6], one 60-bit special
//! prime (dnum 7): `cargo run --release -p privox-ckks --example sizes`.
//! Optional: `CKKS_BENCH_DEPTH`, `CKKS_BENCH_DNUM` as for the benches.

use privox_ckks::*;

fn main() -> Result<()> {
    let depth: usize = std::env::var("CKKS_BENCH_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let dnum: usize = std::env::var("CKKS_BENCH_DNUM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(depth + 1);
    let params = CkksParams::new(ParamSpec::standard(14, depth, dnum))?;
    let mut kg = KeyGenerator::new(&params);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk)?;
    let rlk = kg.relin_key(&sk)?;
    let gk = kg.galois_keys(&sk, &[1], false)?;
    let enc = Encoder::new(&params);
    let pt = enc.encode_real(
        &vec![0.5; params.max_slots()],
        params.max_level(),
        params.default_scale(),
    )?;
    let mut e = Encryptor::new(&params);
    let ct_sk = e.encrypt_symmetric(&pt, &sk)?;
    let ct_pk = e.encrypt(&pt, &pk)?;
    println!(
        "parameters: N = {}, log QP = {}, dnum = {}, q = {:?}, p = {:?}",
        params.n(),
        params.log_qp(),
        params.dnum(),
        params.q_primes(),
        params.p_primes()
    );
    let row = |name: &str, bytes: usize| {
        println!(
            "{name:<40} {bytes:>12} bytes ({:.2} MiB)",
            bytes as f64 / 1048576.0
        )
    };
    row(
        "fresh ciphertext, full (pk-encrypted)",
        ct_pk.to_bytes(&params)?.len(),
    );
    row(
        "fresh ciphertext, full (sk-encrypted)",
        ct_sk.to_bytes(&params)?.len(),
    );
    row(
        "fresh ciphertext, seeded (sk-encrypted)",
        ct_sk.to_bytes_seeded(&params)?.len(),
    );
    row("relinearization key, full", rlk.to_bytes().len());
    row("relinearization key, seeded", rlk.to_bytes_seeded()?.len());
    row("one Galois key (step 1), full", gk.to_bytes().len());
    row(
        "one Galois key (step 1), seeded",
        gk.to_bytes_seeded()?.len(),
    );
    row("public key, full", pk.to_bytes().len());
    row("public key, seeded", pk.to_bytes_seeded()?.len());
    row("secret key", sk.to_bytes().len());
    Ok(())
}
