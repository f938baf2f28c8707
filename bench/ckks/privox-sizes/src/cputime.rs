//! CPU time per privox operation, as a load-independent diagnostic next to
//! criterion's wall-clock numbers: on a shared, overloaded machine wall time
//! includes time spent descheduled, CPU time does not.
//!
//! CPU time is summed over all threads of this process from
//! `/proc/self/task/*/schedstat` (nanoseconds on CPU), so work that rayon
//! moves to its pool thread is counted too.

use privox_ckks::bench_support::NttBench;
use privox_ckks::{
    CkksError, CkksParams, Decryptor, Encoder, Encryptor, InsecureSeed, KeyGenerator, Result,
};
use std::time::{Duration, Instant};

/// Nanoseconds this process has spent on a CPU, all threads together.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Runs `f` repeatedly in batches; returns (median CPU ns per call, median
/// wall ns per call) over the batches.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..2 {
        f();
    }
    // Size a batch to about 0.3 s of wall time.
    let t = Instant::now();
    f();
    let one = t.elapsed().max(Duration::from_micros(1));
    let per_batch = ((0.3 / one.as_secs_f64()) as usize).clamp(1, 10_000);
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    for _ in 0..7 {
        let c0 = process_cpu_ns();
        let w0 = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        let w = w0.elapsed().as_nanos() as f64 / per_batch as f64;
        // saturating: a thread that exits mid-batch takes its time out of the sum.
        let c = process_cpu_ns().saturating_sub(c0) as f64 / per_batch as f64;
        cpu.push(c);
        wall.push(w);
    }
    (median(&mut cpu), median(&mut wall))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Every operation `run` times, in output order.
const OPS: &[&str] = &[
    "encode",
    "encrypt_pk",
    "encrypt_sk",
    "decrypt",
    "decode",
    "decrypt_decode",
    "mul_ct_ct",
    "relinearize",
    "mul_relin",
    "rescale",
    "rotate",
    "rotate_hoisted16",
    "mul_ct_pt",
    "ntt_limb",
    "intt_limb",
];

/// Measures `f` as `op` into `rows`, unless `only` names other operations.
fn time_op(
    rows: &mut Vec<(&'static str, (f64, f64))>,
    only: &[String],
    op: &'static str,
    f: impl FnMut(),
) {
    if only.is_empty() || only.iter().any(|o| o == op) {
        rows.push((op, measure(f)));
    }
}

/// Prints `{"op": {"cpu_ns": .., "wall_ns": ..}, ...}` for the bench
/// operations, or only those named in `only` (e.g. `["relinearize"]`).
pub fn run(params: &CkksParams, only: &[String]) -> Result<()> {
    // A misspelt name would otherwise silently time nothing.
    if let Some(bad) = only.iter().find(|o| !OPS.contains(&o.as_str())) {
        return Err(CkksError::InvalidParameters(format!(
            "cpu-time: unknown operation {bad:?}; choose from {}",
            OPS.join(",")
        )));
    }
    let top = params.max_level();
    let scale = params.default_scale();
    let mut kg = KeyGenerator::from_insecure_seed(params, InsecureSeed::from_u64(1));
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk)?;
    let steps: Vec<i64> = (1..=16).collect();
    let keys = kg.evaluation_keys(&sk, &steps, false)?;
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::from_insecure_seed(params, InsecureSeed::from_u64(2));
    let decryptor = Decryptor::new(params);
    let ev = privox_ckks::Evaluator::new(params);
    let values: Vec<f64> = (0..params.max_slots())
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect();
    let pt = encoder.encode_real(&values, top, scale)?;
    let ct = encryptor.encrypt(&pt, &pk)?;
    let ct2 = encryptor.encrypt(&pt, &pk)?;
    let prod3 = ev.mul_no_relin(&ct, &ct2)?;
    let prod = ev.relinearize(&prod3, &keys.relin)?;
    let dec = decryptor.decrypt(&ct, &sk)?;
    let ntt = NttBench::new(params);

    // Errors inside the timed closures cannot happen: every input above was
    // built from the same parameters and keys; `ok()` keeps the loop branch-free.
    let mut rows = Vec::new();
    time_op(&mut rows, only, "encode", || {
        encoder.encode_real(&values, top, scale).ok();
    });
    time_op(&mut rows, only, "encrypt_pk", || {
        encryptor.encrypt(&pt, &pk).ok();
    });
    time_op(&mut rows, only, "encrypt_sk", || {
        encryptor.encrypt_symmetric(&pt, &sk).ok();
    });
    time_op(&mut rows, only, "decrypt", || {
        decryptor.decrypt(&ct, &sk).ok();
    });
    time_op(&mut rows, only, "decode", || {
        encoder.decode_real(&dec).ok();
    });
    time_op(&mut rows, only, "decrypt_decode", || {
        if let Ok(p) = decryptor.decrypt(&ct, &sk) {
            encoder.decode_real(&p).ok();
        }
    });
    time_op(&mut rows, only, "mul_ct_ct", || {
        ev.mul_no_relin(&ct, &ct2).ok();
    });
    time_op(&mut rows, only, "relinearize", || {
        ev.relinearize(&prod3, &keys.relin).ok();
    });
    time_op(&mut rows, only, "mul_relin", || {
        ev.mul(&ct, &ct2, &keys.relin).ok();
    });
    time_op(&mut rows, only, "rescale", || {
        ev.rescale(&prod).ok();
    });
    time_op(&mut rows, only, "rotate", || {
        ev.rotate(&ct, 1, &keys.galois).ok();
    });
    time_op(&mut rows, only, "rotate_hoisted16", || {
        ev.rotate_hoisted(&ct, &steps, &keys.galois).ok();
    });
    time_op(&mut rows, only, "mul_ct_pt", || {
        ev.mul_plain(&ct, &pt).ok();
    });
    time_op(&mut rows, only, "ntt_limb", || ntt.forward_limb(1));
    time_op(&mut rows, only, "intt_limb", || ntt.inverse_limb(1));
    let body: Vec<String> = rows
        .iter()
        .map(|(k, (c, w))| format!("  \"{k}\": {{\"cpu_ns\": {c:.0}, \"wall_ns\": {w:.0}}}"))
        .collect();
    println!("{{\n{}\n}}", body.join(",\n"));
    Ok(())
}
