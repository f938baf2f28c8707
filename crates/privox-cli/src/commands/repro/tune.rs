//! Δ for a target leakage, from the analytic model and the training data.
//!
//! `privox-smh`'s own `tune` module was still a stub when this was written,
//! so the reproduction carries this small version (same model, documented
//! in `docs/results/hashing.md`). Given a pair at Euclidean distance d, the
//! number of differing symbols is exactly Binomial(M, E[d_H](d/Δ)) (symbols
//! are independent given the inputs), so the probability that the pair leaks
//! is `P(Bin(M, p) < t·M)`. Averaging over the training pairs of *different*
//! speakers (the same kind of pair the held-out measurement counts) gives the
//! predicted leakage as a function of Δ, which increases with Δ; bisection
//! finds the Δ that hits the target.

use privox_smh::theory::{expected_distance, prob_distance_below};

/// Points of the leak-probability table over log s.
const TABLE_POINTS: usize = 1024;
/// Normalized distances covered by the table; outside it the ends are used.
const LOG_S_MIN: f64 = -9.0; // s ≈ 1.2e-4: E[d_H] ≈ 1e-4, every pair leaks
const LOG_S_MAX: f64 = 4.0; // s ≈ 55: fully saturated

/// `P(pair leaks)` as a function of s = d/Δ, tabulated on a log grid.
struct LeakCurve {
    values: Vec<f64>,
}

impl LeakCurve {
    fn new(k: u32, symbols: usize, threshold: f64) -> Self {
        let values = (0..TABLE_POINTS)
            .map(|i| {
                let log_s =
                    LOG_S_MIN + (LOG_S_MAX - LOG_S_MIN) * i as f64 / (TABLE_POINTS - 1) as f64;
                let p = expected_distance(log_s.exp(), k).0;
                prob_distance_below(p, symbols, threshold)
            })
            .collect();
        LeakCurve { values }
    }

    /// Linear interpolation in log s.
    fn at(&self, s: f64) -> f64 {
        if s <= 0.0 {
            return 1.0;
        }
        let pos = (s.ln() - LOG_S_MIN) / (LOG_S_MAX - LOG_S_MIN) * (TABLE_POINTS - 1) as f64;
        if pos <= 0.0 {
            return self.values[0];
        }
        let last = TABLE_POINTS - 1;
        if pos >= last as f64 {
            return self.values[last];
        }
        let i = pos.floor() as usize; // 0 <= i < last by the checks above
        let f = pos - i as f64;
        self.values[i] * (1.0 - f) + self.values[i + 1] * f
    }
}

/// Predicted leakage (fraction in [0, 1]) of pairs at `distances` for Δ.
fn predicted_leakage(curve: &LeakCurve, distances: &[f64], delta: f64) -> f64 {
    if distances.is_empty() {
        return 0.0;
    }
    distances.iter().map(|&d| curve.at(d / delta)).sum::<f64>() / distances.len() as f64
}

/// Euclidean distances of all pairs of rows (row-major, `cols` wide) whose
/// groups differ.
pub fn cross_group_distances(rows: &[f64], cols: usize, groups: &[usize]) -> Vec<f64> {
    let n = groups.len();
    let mut out = Vec::new();
    for i in 0..n {
        let a = &rows[i * cols..(i + 1) * cols];
        for j in 0..i {
            if groups[i] == groups[j] {
                continue;
            }
            let b = &rows[j * cols..(j + 1) * cols];
            let d2: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            out.push(d2.sqrt());
        }
    }
    out
}

/// The Δ whose predicted leakage over `distances` equals `target_percent`,
/// with that prediction (in percent).
pub fn delta_for_target(
    distances: &[f64],
    k: u32,
    symbols: usize,
    threshold: f64,
    target_percent: f64,
) -> (f64, f64) {
    let curve = LeakCurve::new(k, symbols, threshold);
    let target = (target_percent / 100.0).clamp(0.0, 1.0);
    // Leakage grows with Δ; bracket in log Δ and bisect.
    let (mut lo, mut hi) = (-8.0f64, 8.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if predicted_leakage(&curve, distances, mid.exp()) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let delta = (0.5 * (lo + hi)).exp();
    (delta, 100.0 * predicted_leakage(&curve, distances, delta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leakage_grows_with_delta_and_target_is_hit() {
        let distances: Vec<f64> = (1..200).map(|i| 0.05 * i as f64).collect();
        let curve = LeakCurve::new(3, 512, 0.65);
        let a = predicted_leakage(&curve, &distances, 0.5);
        let b = predicted_leakage(&curve, &distances, 2.0);
        assert!(a < b, "{a} < {b}");
        let (delta, got) = delta_for_target(&distances, 3, 512, 0.65, 28.0);
        assert!(delta > 0.0);
        assert!((got - 28.0).abs() < 0.5, "{got}");
    }
}
