//! Runs one operation in a loop for profiling (or CPU-time measurement with
//! `perf stat -e task-clock`, robust to a loaded machine):
//! `cargo run --release -p privox-ckks --example profile_relin -- relin 200`.

use privox_ckks::*;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("relin");
    let reps: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(100);
    let dnum: usize = std::env::var("CKKS_BENCH_DNUM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let params = CkksParams::new(ParamSpec::standard(14, 6, dnum))?;
    let mut kg = KeyGenerator::from_seed(&params, 1);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk)?;
    let steps: Vec<i64> = (1..=16).collect();
    let keys = kg.evaluation_keys(&sk, &steps, false)?;
    let enc = Encoder::new(&params);
    let pt = enc.encode_real(
        &vec![0.5; params.max_slots()],
        params.max_level(),
        params.default_scale(),
    )?;
    let mut e = Encryptor::from_seed(&params, 2);
    let ct = e.encrypt(&pt, &pk)?;
    let ev = Evaluator::new(&params);
    let t3 = ev.mul_no_relin(&ct, &ct)?;
    let prod = ev.relinearize(&t3, &keys.relin)?;
    let start = std::time::Instant::now();
    for _ in 0..reps {
        match op {
            "relin" => drop(ev.relinearize(&t3, &keys.relin)?),
            "rotate" => drop(ev.rotate(&ct, 1, &keys.galois)?),
            "rescale" => drop(ev.rescale(&prod)?),
            "encrypt_pk" => drop(e.encrypt(&pt, &pk)?),
            "decrypt" => drop(Decryptor::new(&params).decrypt(&ct, &sk)?),
            "encode" => drop(enc.encode_real(
                &vec![0.5; params.max_slots()],
                params.max_level(),
                params.default_scale(),
            )?),
            "decode" => drop(enc.decode_real(&pt)?),
            "encrypt_sk" => drop(e.encrypt_symmetric(&pt, &sk)?),
            "mul_relin" => drop(ev.mul(&ct, &ct, &keys.relin)?),
            "mul_ct_ct" => drop(ev.mul_no_relin(&ct, &ct)?),
            "mul_ct_pt" => drop(ev.mul_plain(&ct, &pt)?),
            "rotate_hoisted16" => drop(ev.rotate_hoisted(&ct, &steps, &keys.galois)?),
            _ => panic!("unknown op {op}"),
        }
    }
    println!(
        "{op}: {:.3} ms per call",
        start.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    Ok(())
}
