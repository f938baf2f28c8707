//! Solver hot loop: one binary C-SVC on synthetic data, RBF on features and
//! the same kernel precomputed. Cross-tool ratios live in bench/smh-svm/.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use privox_svm::{RbfKernel, SvcParams, grid::gram, train};

fn data(n: usize, dim: usize) -> (Vec<f64>, Vec<usize>) {
    let mut x = Vec::with_capacity(n * dim);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        for j in 0..dim {
            let u = (((i * 97 + j * 31) * 2654435761usize) % 10_000) as f64 / 5_000.0 - 1.0;
            x.push(u + if c == 0 { 0.2 } else { -0.2 });
        }
        y.push(c);
    }
    (x, y)
}

fn bench(c: &mut Criterion) {
    let (x, y) = data(600, 88);
    let k = RbfKernel::new(x, 88, 1.0 / 88.0).unwrap();
    let g = gram(&k);
    let idx: Vec<usize> = (0..y.len()).collect();
    let p = SvcParams {
        c: 4.0,
        ..SvcParams::default()
    };
    c.bench_function("train rbf n=600 d=88", |b| {
        b.iter(|| train(&k, &idx, &y, 2, &p).unwrap())
    });
    c.bench_function("train precomputed n=600", |b| {
        b.iter(|| train(&g, &idx, &y, 2, &p).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
