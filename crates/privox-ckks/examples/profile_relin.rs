//! Runs one operation in a loop for profiling:
//! `cargo run --release -p privox-ckks --example profile_relin -- relin 200`.

use privox_ckks::*;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("relin");
    let reps: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(100);
    let params = CkksParams::new(ParamSpec::standard(14, 6, 7))?;
    let mut kg = KeyGenerator::from_seed(&params, 1);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk)?;
    let keys = kg.evaluation_keys(&sk, &[1], false)?;
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
            _ => panic!("unknown op {op}"),
        }
    }
    println!(
        "{op}: {:.3} ms per call",
        start.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    Ok(())
}
