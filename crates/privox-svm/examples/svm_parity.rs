//! Parity harness driven by `bench/smh-svm/svm_parity.py`: trains on the
//! matrices the script exported (the same bytes scikit-learn reads), and
//! writes decision values, predictions, support-vector counts and training
//! times back next to them.
//!
//! Usage: `cargo run --release -p privox-svm --example svm_parity -- CASE_DIR [REPEATS]`
//!
//! `CASE_DIR/meta.json` holds `kind` ("rbf" or "precomputed"), `n_train`,
//! `n_test`, `dim`, `C`, `gamma`, `n_classes` and optionally
//! `class_weights` (one per class); the matrices are raw
//! little-endian f64: `x_train.f64`/`x_test.f64` (rbf) or
//! `k_train.f64`/`k_test.f64` (precomputed), and `y_train.f64`.

use privox_svm::{Kernel, PrecomputedKernel, RbfKernel, SvcParams, SvcSolution, rbf, train};
use std::path::Path;
use std::time::Instant;

/// `K(test t, train s)`.
type KernelRow = Box<dyn Fn(usize, usize) -> f64>;

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

/// Trains `repeats` times; returns the solution, wall times and CPU times.
fn timed_train<K: Kernel>(
    k: &K,
    y: &[usize],
    nc: usize,
    p: &SvcParams,
    repeats: usize,
) -> (SvcSolution, Vec<f64>, Vec<f64>) {
    let idx: Vec<usize> = (0..y.len()).collect();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut sol = None;
    for _ in 0..repeats {
        let (t, c) = (Instant::now(), cpu_time::ProcessTime::now());
        let s = train(k, &idx, y, nc, p).expect("training failed");
        cpu.push(c.elapsed().as_secs_f64());
        wall.push(t.elapsed().as_secs_f64());
        sol = Some(s);
    }
    (sol.expect("repeats >= 1"), wall, cpu)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("usage: svm_parity CASE_DIR [REPEATS]"));
    let repeats: usize = args
        .get(2)
        .map(|s| s.parse().expect("REPEATS"))
        .unwrap_or(1)
        .max(1);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).expect("meta.json"))
            .expect("json");
    let get = |k: &str| meta[k].as_f64().unwrap_or_else(|| panic!("meta.{k}"));
    let (n_train, n_test, nc) = (
        get("n_train") as usize,
        get("n_test") as usize,
        get("n_classes") as usize,
    );
    let class_weights: Vec<f64> = meta["class_weights"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_f64().expect("weight")).collect())
        .unwrap_or_default();
    let params = SvcParams {
        c: get("C"),
        class_weights,
        ..SvcParams::default()
    };
    let y: Vec<usize> = read_f64(&dir.join("y_train.f64"))
        .iter()
        .map(|&v| v as usize)
        .collect();
    assert_eq!(y.len(), n_train);
    let (sol, times, cpu, krow): (SvcSolution, Vec<f64>, Vec<f64>, KernelRow) =
        match meta["kind"].as_str().expect("kind") {
            "rbf" => {
                let dim = get("dim") as usize;
                let gamma = get("gamma");
                let xtr = read_f64(&dir.join("x_train.f64"));
                let xte = read_f64(&dir.join("x_test.f64"));
                let k = RbfKernel::new(xtr.clone(), dim, gamma).expect("kernel");
                let (sol, times, cpu) = timed_train(&k, &y, nc, &params, repeats);
                let f = move |t: usize, s: usize| {
                    rbf(
                        &xte[t * dim..(t + 1) * dim],
                        &xtr[s * dim..(s + 1) * dim],
                        gamma,
                    )
                };
                (sol, times, cpu, Box::new(f))
            }
            "precomputed" => {
                let k = PrecomputedKernel::new(n_train, read_f64(&dir.join("k_train.f64")))
                    .expect("gram");
                let kte = read_f64(&dir.join("k_test.f64"));
                assert_eq!(kte.len(), n_test * n_train);
                let (sol, times, cpu) = timed_train(&k, &y, nc, &params, repeats);
                (
                    sol,
                    times,
                    cpu,
                    Box::new(move |t: usize, s: usize| kte[t * n_train + s]),
                )
            }
            other => panic!("unknown kind {other}"),
        };
    let mut dec = Vec::new();
    let mut pred = Vec::new();
    for t in 0..n_test {
        let row: Vec<f64> = sol.sv.iter().map(|&s| krow(t, s)).collect();
        let d = sol.decision_values(&row);
        pred.push(sol.vote(&d) as f64);
        dec.extend(d);
    }
    write_f64(&dir.join("rust_dec.f64"), &dec);
    write_f64(&dir.join("rust_pred.f64"), &pred);
    let out = serde_json::json!({
        "n_sv": sol.n_sv,
        "train_seconds": times,
        "train_cpu_seconds": cpu,
        "iterations": sol.iterations,
        "rho": sol.rho,
    });
    std::fs::write(dir.join("rust.json"), out.to_string()).expect("rust.json");
}
