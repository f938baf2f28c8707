//! Platt probabilities as LIBSVM computes them (`-b 1`).
//!
//! * Per class pair, decision values come from an internal 5-fold CV on the
//!   pair's training data (shuffled with a seeded ChaCha RNG; LIBSVM uses the
//!   C library's `rand()`, so folds, and hence probabilities, differ from
//!   LIBSVM's in detail, not in method).
//! * A sigmoid `1 / (1 + exp(A·f + B))` is fitted with the Newton method and
//!   backtracking line search of Lin, Lin & Weng (2007), "A note on Platt's
//!   probabilistic outputs for support vector machines", LIBSVM's
//!   `sigmoid_train`.
//! * Multi-class probabilities couple the pairwise ones with Wu, Lin & Weng
//!   (2004), method 2 (LIBSVM's `multiclass_probability`).

// Index loops mirror LIBSVM's C++ line by line, which keeps the port reviewable.
#![allow(clippy::needless_range_loop)]

use crate::kernel::Kernel;
use crate::solver::solve_binary;
use crate::svc::SvcParams;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

/// Decision values of a binary subproblem by 5-fold CV, then the sigmoid fit.
pub(crate) fn binary_svc_probability<K: Kernel + ?Sized>(
    kernel: &K,
    idx: &[usize],
    y: &[i8],
    cp: f64,
    cn: f64,
    params: &SvcParams,
) -> (f64, f64) {
    const NR_FOLD: usize = 5;
    let l = idx.len();
    let mut perm: Vec<usize> = (0..l).collect();
    perm.shuffle(&mut ChaCha20Rng::seed_from_u64(params.seed));
    let mut dec = vec![0.0; l];
    for f in 0..NR_FOLD {
        let (begin, end) = (f * l / NR_FOLD, (f + 1) * l / NR_FOLD);
        let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
        let pos: Vec<usize> = train.iter().copied().filter(|&p| y[p] > 0).collect();
        let neg: Vec<usize> = train.iter().copied().filter(|&p| y[p] < 0).collect();
        let test = &perm[begin..end];
        if pos.is_empty() || neg.is_empty() {
            let v = match (pos.is_empty(), neg.is_empty()) {
                (false, true) => 1.0,
                (true, false) => -1.0,
                _ => 0.0,
            };
            for &t in test {
                dec[t] = v;
            }
            continue;
        }
        let sub_idx: Vec<usize> = pos.iter().chain(&neg).map(|&p| idx[p]).collect();
        let sub_y: Vec<i8> = std::iter::repeat_n(1i8, pos.len())
            .chain(std::iter::repeat_n(-1i8, neg.len()))
            .collect();
        let sol = solve_binary(kernel, &sub_idx, &sub_y, cp, cn, &params.solver);
        for &t in test {
            let mut s = -sol.rho;
            for (k, &al) in sol.alpha.iter().enumerate() {
                if al > 0.0 {
                    s += al * sub_y[k] as f64 * kernel.eval(idx[t], sub_idx[k]);
                }
            }
            dec[t] = s;
        }
    }
    sigmoid_train(&dec, y)
}

/// Fits `P(y=+1|f) = 1 / (1 + exp(A·f + B))` (Lin, Lin & Weng 2007).
pub fn sigmoid_train(dec: &[f64], y: &[i8]) -> (f64, f64) {
    let prior1 = y.iter().filter(|&&v| v > 0).count() as f64;
    let prior0 = y.len() as f64 - prior1;
    let (max_iter, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = y.iter().map(|&v| if v > 0 { hi } else { lo }).collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&d, &ti)| {
                let f = d * a + b;
                if f >= 0.0 {
                    ti * f + (-f).exp().ln_1p()
                } else {
                    (ti - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&d, &ti) in dec.iter().zip(&t) {
            let f = d * a + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 0.0001 * step * gd {
                a = na;
                b = nb;
                fval = nf;
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break; // line search failed; keep the best point so far, as LIBSVM does
        }
    }
    (a, b)
}

/// `P(y=+1 | f)` under a fitted sigmoid, computed without overflow.
pub fn sigmoid_predict(dec: f64, a: f64, b: f64) -> f64 {
    let f = dec * a + b;
    if f >= 0.0 {
        let e = (-f).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + f.exp())
    }
}

/// Class probabilities over `k` classes from pairwise decision values.
pub(crate) fn predict_probability(
    k: usize,
    dec: &[f64],
    prob_a: &[f64],
    prob_b: &[f64],
) -> Vec<f64> {
    const MIN_PROB: f64 = 1e-7;
    let mut r = vec![vec![0.0; k]; k];
    let mut p = 0;
    for i in 0..k {
        for j in i + 1..k {
            let v = sigmoid_predict(dec[p], prob_a[p], prob_b[p]).clamp(MIN_PROB, 1.0 - MIN_PROB);
            r[i][j] = v;
            r[j][i] = 1.0 - v;
            p += 1;
        }
    }
    if k == 2 {
        return vec![r[0][1], r[1][0]];
    }
    multiclass_probability(&r)
}

/// Wu, Lin & Weng (2004) method 2, as LIBSVM's `multiclass_probability`.
fn multiclass_probability(r: &[Vec<f64>]) -> Vec<f64> {
    let k = r.len();
    let max_iter = 100.max(k);
    let eps = 0.005 / k as f64;
    let mut q = vec![vec![0.0; k]; k];
    let mut p = vec![1.0 / k as f64; k];
    for t in 0..k {
        for j in 0..t {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = q[j][t];
        }
        for j in t + 1..k {
            q[t][t] += r[j][t] * r[j][t];
            q[t][j] = -r[j][t] * r[t][j];
        }
    }
    let mut qp = vec![0.0; k];
    for _ in 0..max_iter {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t][j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let diff = (-qp[t] + pqp) / q[t][t];
            p[t] += diff;
            pqp = (pqp + diff * (diff * q[t][t] + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t][j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}
