//! Invariants of the SMO solution: KKT within eps, dual feasibility, a bias
//! consistent with the free vectors, and decision values consistent with the
//! dual coefficients; on PSD (RBF) and indefinite (random symmetric) kernels.

use privox_svm::{
    Kernel, PrecomputedKernel, RbfKernel, SolverParams, SvcParams, solve_binary, train,
};
use proptest::prelude::*;

/// Checks the optimality conditions LIBSVM stops on, with Q rounded to f32
/// as the solver's cache stores it.
fn check_kkt<K: Kernel>(k: &K, y: &[i8], cp: f64, cn: f64, eps: f64) -> Result<(), TestCaseError> {
    let idx: Vec<usize> = (0..y.len()).collect();
    let params = SolverParams::default();
    let sol = solve_binary(k, &idx, y, cp, cn, &params);
    prop_assert!(!sol.hit_max_iter);
    let n = y.len();
    let c = |i: usize| if y[i] > 0 { cp } else { cn };
    // Dual feasibility.
    for i in 0..n {
        prop_assert!(
            sol.alpha[i] >= 0.0 && sol.alpha[i] <= c(i),
            "alpha[{i}] = {} outside [0, {}]",
            sol.alpha[i],
            c(i)
        );
    }
    let sum_ya: f64 = (0..n).map(|i| y[i] as f64 * sol.alpha[i]).sum();
    prop_assert!(
        sum_ya.abs() <= 1e-9 * (1.0 + cp.max(cn) * n as f64),
        "sum y alpha = {sum_ya}"
    );
    // Gradient G_i = (Q alpha)_i - 1.
    let q = |i: usize, j: usize| (y[i] as f64 * y[j] as f64 * k.eval(i, j)) as f32 as f64;
    let g: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| q(i, j) * sol.alpha[j]).sum::<f64>() - 1.0)
        .collect();
    let (mut m_up, mut m_low) = (f64::NEG_INFINITY, f64::INFINITY);
    for i in 0..n {
        let v = -(y[i] as f64) * g[i];
        let up = (y[i] > 0 && sol.alpha[i] < c(i)) || (y[i] < 0 && sol.alpha[i] > 0.0);
        let low = (y[i] > 0 && sol.alpha[i] > 0.0) || (y[i] < 0 && sol.alpha[i] < c(i));
        if up {
            m_up = m_up.max(v);
        }
        if low {
            m_low = m_low.min(v);
        }
    }
    let slack = 1e-6 * (1.0 + sol.alpha.iter().sum::<f64>());
    prop_assert!(
        m_up - m_low <= eps + slack,
        "KKT violation m - M = {} > eps",
        m_up - m_low
    );
    // Bias: every free vector's y_i G_i lies within eps of rho.
    for i in 0..n {
        if sol.alpha[i] > 0.0 && sol.alpha[i] < c(i) {
            let yg = y[i] as f64 * g[i];
            prop_assert!(
                (yg - sol.rho).abs() <= eps + slack,
                "free vector {i}: y G = {yg}, rho = {}",
                sol.rho
            );
        }
    }
    // Objective matches the reported one.
    let obj: f64 = (0..n).map(|i| sol.alpha[i] * (g[i] - 1.0)).sum::<f64>() / 2.0;
    prop_assert!((obj - sol.obj).abs() <= 1e-6 * (1.0 + obj.abs()));
    Ok(())
}

fn labels(bits: &[bool]) -> Vec<i8> {
    let mut y: Vec<i8> = bits.iter().map(|&b| if b { 1 } else { -1 }).collect();
    // Both classes present.
    y[0] = 1;
    let last = y.len() - 1;
    y[last] = -1;
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn kkt_on_rbf(
        n in 4usize..40, dim in 1usize..5,
        vals in proptest::collection::vec(-1.0f64..1.0, 200),
        bits in proptest::collection::vec(any::<bool>(), 40),
        log2c in -3i32..7, log2g in -3i32..4, wpos in 0.5f64..2.0,
    ) {
        let x: Vec<f64> = (0..n * dim).map(|i| vals[i % vals.len()] * (1.0 + (i / vals.len()) as f64)).collect();
        let k = RbfKernel::new(x, dim, 2f64.powi(log2g)).unwrap();
        let c = 2f64.powi(log2c);
        check_kkt(&k, &labels(&bits[..n]), c * wpos, c, 1e-3)?;
    }

    #[test]
    fn kkt_on_indefinite_kernel(
        n in 4usize..30,
        vals in proptest::collection::vec(-1.0f64..1.0, 900),
        bits in proptest::collection::vec(any::<bool>(), 30),
        log2c in -2i32..5,
    ) {
        // Random symmetric matrix with a unit diagonal: generally indefinite.
        let mut g = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = if i == j { 1.0 } else { vals[i * 30 + j] };
                g[i * n + j] = v;
                g[j * n + i] = v;
            }
        }
        let k = PrecomputedKernel::new(n, g).unwrap();
        check_kkt(&k, &labels(&bits[..n]), 2f64.powi(log2c), 2f64.powi(log2c), 1e-3)?;
    }

    #[test]
    fn decision_values_match_dual_coefficients(
        n in 6usize..40,
        vals in proptest::collection::vec(-1.0f64..1.0, 120),
        classes in proptest::collection::vec(0usize..3, 40),
        log2c in -1i32..6,
    ) {
        let mut y = classes[..n].to_vec();
        y[0] = 0; y[1] = 1; y[2] = 2;
        let x: Vec<f64> = (0..n * 3).map(|i| vals[i % 120] + (i / 120) as f64 * 0.01).collect();
        let k = RbfKernel::new(x, 3, 0.7).unwrap();
        let idx: Vec<usize> = (0..n).collect();
        let sol = train(&k, &idx, &y, 3, &SvcParams { c: 2f64.powi(log2c), ..SvcParams::default() }).unwrap();
        // Each pair's machine, retrained alone, gives the same decision values.
        let mut p = 0;
        for a in 0..3 {
            for b in a + 1..3 {
                let sub: Vec<usize> = (0..n).filter(|&i| y[i] == a).chain((0..n).filter(|&i| y[i] == b)).collect();
                let sy: Vec<i8> = sub.iter().map(|&i| if y[i] == a { 1 } else { -1 }).collect();
                let bin = solve_binary(&k, &sub, &sy, sol_c(log2c), sol_c(log2c), &SolverParams::default());
                for t in 0..n {
                    let direct: f64 = sub.iter().enumerate().map(|(q, &s)| bin.alpha[q] * sy[q] as f64 * k.eval(t, s)).sum::<f64>() - bin.rho;
                    let row: Vec<f64> = sol.sv.iter().map(|&s| k.eval(t, s)).collect();
                    let dec = sol.decision_values(&row);
                    prop_assert!((dec[p] - direct).abs() <= 1e-9 * (1.0 + direct.abs()));
                }
                p += 1;
            }
        }
        // Predictions are the vote over those decision values.
        for t in 0..n {
            let row: Vec<f64> = sol.sv.iter().map(|&s| k.eval(t, s)).collect();
            prop_assert_eq!(sol.predict_with(|s| k.eval(t, s)), sol.vote(&sol.decision_values(&row)));
        }
    }
}

fn sol_c(log2c: i32) -> f64 {
    2f64.powi(log2c)
}

#[test]
fn shrinking_does_not_change_the_solution_beyond_eps() {
    // 200 points in two overlapping blobs: shrinking and unshrinking both happen.
    let n = 200;
    let x: Vec<f64> = (0..n * 2)
        .map(|i| {
            ((i * 7919 % 1000) as f64 / 500.0 - 1.0) + if (i / 2) % 2 == 0 { 0.3 } else { -0.3 }
        })
        .collect();
    let y: Vec<i8> = (0..n).map(|i| if i % 2 == 0 { 1 } else { -1 }).collect();
    let k = RbfKernel::new(x, 2, 2.0).unwrap();
    let idx: Vec<usize> = (0..n).collect();
    let on = solve_binary(&k, &idx, &y, 10.0, 10.0, &SolverParams::default());
    let off = solve_binary(
        &k,
        &idx,
        &y,
        10.0,
        10.0,
        &SolverParams {
            shrinking: false,
            ..SolverParams::default()
        },
    );
    let tiny_cache = solve_binary(
        &k,
        &idx,
        &y,
        10.0,
        10.0,
        &SolverParams {
            cache_bytes: 1,
            ..SolverParams::default()
        },
    );
    assert!(
        (on.obj - off.obj).abs() <= 1e-3 * on.obj.abs().max(1.0),
        "{} vs {}",
        on.obj,
        off.obj
    );
    assert!(
        (on.rho - off.rho).abs() <= 1e-2,
        "{} vs {}",
        on.rho,
        off.rho
    );
    // The cache size changes speed only, never the iterates.
    assert_eq!(on.alpha, tiny_cache.alpha);
    assert_eq!(on.rho, tiny_cache.rho);
}
