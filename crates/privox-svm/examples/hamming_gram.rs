//! Exports RBF-Hamming Gram matrices for `bench/smh-svm/svm_parity.py`.
//!
//! Hashes the exported scaled features `x_train.f64`/`x_test.f64` of a case
//! directory with privox-smh (seeded key), builds d_H with privox-smh's
//! packed-code Hamming counts, and writes `k_train.f64` (train×train) and
//! `k_test.f64` (test×train) of `exp(−γ·d_H²)` for scikit-learn and the
//! privox solver to read.
//!
//! Usage: `hamming_gram SRC_DIR DST_DIR K DELTA MPC GAMMA SEED`

use privox_smh::{SmhKey, SmhParams, hamming_counts, hamming_counts_symmetric, rbf_table};
use std::path::Path;

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks_exact(8)")))
        .collect()
}

fn write_f64(path: &Path, v: &[f64]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    assert!(
        a.len() == 8,
        "usage: hamming_gram SRC_DIR DST_DIR K DELTA MPC GAMMA SEED"
    );
    let (src, dst) = (Path::new(&a[1]), Path::new(&a[2]));
    let k: u32 = a[3].parse().expect("K");
    let delta: f64 = a[4].parse().expect("DELTA");
    let mpc: usize = a[5].parse().expect("MPC");
    let gamma: f64 = a[6].parse().expect("GAMMA");
    let seed: u64 = a[7].parse().expect("SEED");
    let xtr = read_f64(&src.join("x_train.f64"));
    let xte = read_f64(&src.join("x_test.f64"));
    let dim = 88;
    let key = SmhKey::generate_with_seed(SmhParams::new(k, delta, mpc, dim).expect("params"), seed);
    let ctr = key.hash(&xtr, dim).expect("hash train");
    let cte = key.hash(&xte, dim).expect("hash test");
    let lut = rbf_table(ctr.symbols(), gamma).expect("gamma");
    let dtr = hamming_counts_symmetric(&ctr);
    let dte = hamming_counts(&cte, &ctr).expect("compatible codes");
    let ktr: Vec<f64> = dtr.counts().iter().map(|&c| lut[c as usize]).collect();
    let kte: Vec<f64> = dte.counts().iter().map(|&c| lut[c as usize]).collect();
    std::fs::create_dir_all(dst).expect("mkdir");
    write_f64(&dst.join("k_train.f64"), &ktr);
    write_f64(&dst.join("k_test.f64"), &kte);
    let dh: Vec<f64> = dtr.distances();
    write_f64(&dst.join("dh_train.f64"), &dh);
}
