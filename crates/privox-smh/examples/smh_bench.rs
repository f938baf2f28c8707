//! Release-mode timing of privox-smh hashing and RBF-Hamming Gram building,
//! driven by `bench/smh-svm/hashing/run.sh` (which times numpy on the same data).
//!
//! Usage: `cargo run --release -p privox-smh --example smh_bench -- X.f64 DIM GRAM_N REPS`
//! where X.f64 is a raw little-endian row-major f64 matrix with DIM columns.
//! Prints one JSON object: best-of-REPS seconds for hashing all rows (k = 3,
//! Δ = 2, mpc = 32) and for the symmetric RBF-Hamming Gram of the first
//! GRAM_N codes.
//!
//! `hash_s` times calls with a warm key: the key's kernel layout (packed
//! `A/(kΔ)`, built on a key's first use and cached with it) already exists,
//! as in a service that hashes many batches with one key. `hash_cold_s`
//! times the first call with a fresh key, layout building included. Key
//! generation and file reading are outside both.

use privox_smh::{SmhKey, SmhParams, rbf_hamming_gram_symmetric};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: smh_bench X.f64 DIM GRAM_N REPS".into());
    }
    let bytes = std::fs::read(&args[1])?;
    let dim: usize = args[2].parse()?;
    let gram_n: usize = args[3].parse()?;
    let reps: usize = args[4].parse()?;
    let x: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("chunks_exact(8) yields 8 bytes")))
        .collect();
    let n = x.len() / dim;
    let params = SmhParams::new(3, 2.0, 32, dim)?;
    let key = SmhKey::generate_with_seed(params, 2026);
    let mut cold_best = f64::INFINITY;
    for rep in 0..reps {
        let fresh = SmhKey::generate_with_seed(params, 3000 + rep as u64);
        let t = Instant::now();
        let codes = fresh.hash_rows(&x)?;
        cold_best = cold_best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(codes);
    }
    let mut hash_best = f64::INFINITY;
    let mut codes = key.hash_rows(&x)?; // warm-up: builds the key's kernel layout
    for _ in 0..reps {
        let t = Instant::now();
        codes = key.hash_rows(&x)?;
        hash_best = hash_best.min(t.elapsed().as_secs_f64());
    }
    let idx: Vec<usize> = (0..gram_n.min(n)).collect();
    let sub = codes.select(&idx)?;
    let mut gram_best = f64::INFINITY;
    let mut checksum = 0.0;
    for _ in 0..reps {
        let t = Instant::now();
        let g = rbf_hamming_gram_symmetric(&sub, 1.0)?;
        gram_best = gram_best.min(t.elapsed().as_secs_f64());
        checksum = g.iter().sum::<f64>();
    }
    println!(
        "{{\"n\": {n}, \"dim\": {dim}, \"symbols\": {}, \"threads\": {}, \"hash_s\": {hash_best}, \"hash_cold_s\": {cold_best}, \"gram_n\": {}, \"gram_s\": {gram_best}, \"gram_sum\": {checksum}}}",
        params.symbols(),
        rayon::current_num_threads(),
        sub.len()
    );
    Ok(())
}
