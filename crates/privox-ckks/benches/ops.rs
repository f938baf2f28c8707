//! Criterion benches of every CKKS operation at N = 2^14, Q = [60, 40×depth],
//! one 60-bit special prime per digit group, scale 2^40.
//!
//! Environment: `CKKS_BENCH_DEPTH` (default 6), `CKKS_BENCH_DNUM` (default
//! depth+1, i.e. one prime per digit like SEAL), `CKKS_BENCH_LOGN` (default 14).
//! Run single-threaded for the anchor comparison:
//! `RAYON_NUM_THREADS=1 cargo bench -p privox-ckks --bench ops`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use privox_ckks::*;
use std::time::Duration;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ops(c: &mut Criterion) {
    let depth = env_usize("CKKS_BENCH_DEPTH", 6);
    let dnum = env_usize("CKKS_BENCH_DNUM", depth + 1);
    let log_n = env_usize("CKKS_BENCH_LOGN", 14) as u32;
    let params =
        CkksParams::new(ParamSpec::standard(log_n, depth, dnum)).expect("bench parameters");
    eprintln!("bench parameters: {params:?}");
    let slots = params.max_slots();
    let scale = params.default_scale();
    let top = params.max_level();
    let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1));
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk).unwrap();
    let steps: Vec<i64> = (1..=16).collect();
    let keys = kg.evaluation_keys(&sk, &steps, false).unwrap();
    let encoder = Encoder::new(&params);
    let mut encryptor = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(2));
    let decryptor = Decryptor::new(&params);
    let ev = Evaluator::new(&params);
    let values: Vec<f64> = (0..slots)
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect();
    let pt = encoder.encode_real(&values, top, scale).unwrap();
    let ct = encryptor.encrypt(&pt, &pk).unwrap();
    let ct2 = encryptor.encrypt(&pt, &pk).unwrap();
    let prod3 = ev.mul_no_relin(&ct, &ct2).unwrap();
    let prod = ev.relinearize(&prod3, &keys.relin).unwrap();

    let mut g = c.benchmark_group(format!("ckks_n{log_n}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("encode", |b| {
        b.iter(|| encoder.encode_real(black_box(&values), top, scale).unwrap())
    });
    g.bench_function("encrypt_pk", |b| {
        b.iter(|| encryptor.encrypt(black_box(&pt), &pk).unwrap())
    });
    g.bench_function("encrypt_sk", |b| {
        b.iter(|| encryptor.encrypt_symmetric(black_box(&pt), &sk).unwrap())
    });
    g.bench_function("decrypt", |b| {
        b.iter(|| decryptor.decrypt(black_box(&ct), &sk).unwrap())
    });
    let dec = decryptor.decrypt(&ct, &sk).unwrap();
    g.bench_function("decode", |b| {
        b.iter(|| encoder.decode_real(black_box(&dec)).unwrap())
    });
    g.bench_function("decrypt_decode", |b| {
        b.iter(|| {
            encoder
                .decode_real(&decryptor.decrypt(black_box(&ct), &sk).unwrap())
                .unwrap()
        })
    });
    g.bench_function("mul_relin", |b| {
        b.iter(|| ev.mul(black_box(&ct), &ct2, &keys.relin).unwrap())
    });
    g.bench_function("mul_ct_ct", |b| {
        b.iter(|| ev.mul_no_relin(black_box(&ct), &ct2).unwrap())
    });
    g.bench_function("relinearize", |b| {
        b.iter(|| ev.relinearize(black_box(&prod3), &keys.relin).unwrap())
    });
    g.bench_function("rescale", |b| {
        b.iter(|| ev.rescale(black_box(&prod)).unwrap())
    });
    g.bench_function("rotate", |b| {
        b.iter(|| ev.rotate(black_box(&ct), 1, &keys.galois).unwrap())
    });
    g.bench_function("rotate_hoisted16", |b| {
        b.iter(|| {
            ev.rotate_hoisted(black_box(&ct), &steps, &keys.galois)
                .unwrap()
        })
    });
    g.bench_function("mul_ct_pt", |b| {
        b.iter(|| ev.mul_plain(black_box(&ct), &pt).unwrap())
    });
    let bench_ntt = privox_ckks::bench_support::NttBench::new(&params);
    g.bench_function("ntt_limb", |b| b.iter(|| bench_ntt.forward_limb(1)));
    g.bench_function("intt_limb", |b| b.iter(|| bench_ntt.inverse_limb(1)));
    g.bench_function("transform_q0_60bit_forward", |b| {
        b.iter(|| bench_ntt.forward_limb(0))
    });
    g.finish();
}

criterion_group!(benches, ops);
criterion_main!(benches);
