//! Expected-distance theory of SMH and its Monte Carlo check (the figure is
//! drawn by `privox-repro`).
//!
//! For `A ~ N(0,1)` and `s = d/Δ`, with d the Euclidean distance of two inputs,
//! the probability that a symbol differs is
//!
//! `E[d_H] = 1 − 1/k − (2/k)·Σ_{n≥1} sinc²(n/k)·exp(−2π²n²s²/k²)`,
//! `sinc(x) = sin(πx)/(πx)`.
//!
//! Symbols are independent given the two inputs (rows of A and entries of w
//! are independent), so the number of differing symbols is exactly
//! Binomial(M, E\[d_H\]); [`prob_distance_below`] uses this to predict leakage.

use crate::{SmhError, SmhKey, SmhParams};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::PI;

/// Terms are added until the tail bound falls below this.
const SERIES_TOL: f64 = 1e-13;
/// Series length cap; below the `s` it implies, the small-s expansion is used.
const MAX_TERMS: f64 = 2e7;

/// Expected normalized Hamming distance at normalized distance `s = d/Δ`.
///
/// Returns the value and a bound on its absolute error. The series tail
/// after N terms is at most `(2k/(π²N))·exp(−2π²N²s²/k²)` (because
/// `sinc²(n/k) ≤ k²/(π²n²)` and the exponential decreases in n); N is chosen
/// so that this is below 1e-13. For `s` so small that this needs more than
/// 2·10⁷ terms, the first-order expansion `s·sqrt(2/π)` is used, whose error
/// is below `s²`.
///
/// ```
/// use privox_smh::theory::expected_distance;
/// assert_eq!(expected_distance(0.0, 3).0, 0.0);
/// assert!((expected_distance(100.0, 3).0 - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn expected_distance(s: f64, k: u32) -> (f64, f64) {
    let s = s.abs();
    let kf = k as f64;
    if s == 0.0 {
        return (0.0, 0.0);
    }
    let a = 2.0 * PI * PI * s * s / (kf * kf);
    // Smallest N with exp(-a N²) · 2k/(π² N) < tol: solve the exponential part.
    let n_needed = ((SERIES_TOL.ln().abs() + (2.0 * kf / (PI * PI)).ln().max(0.0)) / a)
        .sqrt()
        .ceil();
    if !n_needed.is_finite() || n_needed > MAX_TERMS {
        return (s * (2.0 / PI).sqrt(), s * s);
    }
    let n_terms = (n_needed as u64).max(8);
    let mut sum = 0.0;
    for n in 1..=n_terms {
        let x = n as f64 / kf;
        let e = (-a * (n * n) as f64).exp();
        if e == 0.0 {
            break;
        }
        sum += sinc(x).powi(2) * e;
    }
    let nf = n_terms as f64;
    let bound = 2.0 * kf / (PI * PI * nf) * (-a * nf * nf).exp();
    ((1.0 - 1.0 / kf - 2.0 / kf * sum).clamp(0.0, 1.0), bound)
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// The saturation value `1 − 1/k` that E\[d_H\] reaches at large distance.
pub fn saturation(k: u32) -> f64 {
    1.0 - 1.0 / k as f64
}

/// Normalized distance beyond which E\[d_H\] is within 1e-13 of saturation.
pub fn saturation_distance(k: u32) -> f64 {
    // (2/k)·Σ sinc² e^{-a n²} ≤ (2/k)·(k-1)/2·e^{-a} < 1e-13  ⇒  a > 30.
    k as f64 * (30.0f64 / (2.0 * PI * PI)).sqrt()
}

/// Probability that the realized d_H of a pair is strictly below `threshold`,
/// when each of the `m` symbols differs independently with probability `p`:
/// `P(Binomial(m, p) < threshold·m)`.
pub fn prob_distance_below(p: f64, m: usize, threshold: f64) -> f64 {
    let limit = threshold * m as f64;
    // Largest count strictly below threshold·m.
    let c = limit.ceil() as i64 - 1;
    if c < 0 {
        return 0.0;
    }
    let c = c as usize;
    if c >= m || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let mf = m as f64;
    let mean = mf * p;
    let sd = (mf * p * (1.0 - p)).sqrt();
    // Terms beyond 40 standard deviations from the mean are below 1e-300.
    let lo = (mean - 40.0 * sd - 1.0).floor().max(0.0) as usize;
    let hi = ((mean + 40.0 * sd + 1.0).ceil() as usize).min(c);
    if lo > c {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let ln_m = ln_gamma(mf + 1.0);
    let mut total = 0.0;
    for j in lo..=hi {
        let jf = j as f64;
        let ln_pmf = ln_m - ln_gamma(jf + 1.0) - ln_gamma(mf - jf + 1.0) + jf * lp + (mf - jf) * lq;
        total += ln_pmf.exp();
    }
    total.clamp(0.0, 1.0)
}

/// ln Γ(x) for x > 0 (`libm::lgamma`, a port of FreeBSD's msun).
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// One point of the expected-distance curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    /// Euclidean distance d between the two inputs.
    pub distance: f64,
    /// Analytic E\[d_H\] at s = d/Δ.
    pub analytic: f64,
    /// Mean realized d_H over all Monte Carlo pairs and keys.
    pub monte_carlo: f64,
    /// Standard error of that mean.
    pub std_error: f64,
}

/// Settings of a Monte Carlo run.
#[derive(Clone, Copy, Debug)]
pub struct MonteCarlo {
    /// Independent keys drawn.
    pub keys: usize,
    /// Random pairs per distance and key.
    pub pairs: usize,
    /// Seed of keys and inputs (recorded with the results).
    pub seed: u64,
}

/// Analytic and Monte Carlo E\[d_H\] at the given distances.
///
/// For every key (seeded from `mc.seed`) and distance d, draws `mc.pairs`
/// random pairs at exactly distance d (x uniform in [-1,1]^L, y = x + d·u with
/// u uniform on the unit sphere), hashes them and averages d_H. `progress`
/// is called once per finished key.
pub fn curve(
    params: &SmhParams,
    distances: &[f64],
    mc: MonteCarlo,
    mut progress: impl FnMut(),
) -> Result<Vec<CurvePoint>, SmhError> {
    if mc.keys == 0 {
        return Err(SmhError::TooFew {
            what: "Monte Carlo (keys)",
            needed: 1,
            found: 0,
        });
    }
    if mc.pairs == 0 {
        return Err(SmhError::TooFew {
            what: "Monte Carlo (pairs per distance)",
            needed: 1,
            found: 0,
        });
    }
    if let Some(d) = distances.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(SmhError::BadDistance(*d));
    }
    let l = params.dim();
    let mut rng = ChaCha20Rng::seed_from_u64(mc.seed);
    let mut sum = vec![0.0; distances.len()];
    let mut sum_sq = vec![0.0; distances.len()];
    for _ in 0..mc.keys {
        let key = SmhKey::generate_with_seed(*params, rng.random());
        let mut xs = Vec::with_capacity(distances.len() * mc.pairs * l);
        let mut ys = Vec::with_capacity(xs.capacity());
        for &d in distances {
            for _ in 0..mc.pairs {
                let x: Vec<f64> = (0..l).map(|_| rng.random_range(-1.0..1.0)).collect();
                let u = unit_vector(&mut rng, l);
                ys.extend(x.iter().zip(&u).map(|(x, u)| x + d * u));
                xs.extend(x);
            }
        }
        let (cx, cy) = (key.hash_rows(&xs)?, key.hash_rows(&ys)?);
        for (di, _) in distances.iter().enumerate() {
            for p in 0..mc.pairs {
                let i = di * mc.pairs + p;
                let dh = cx.distance(i, &cy, i)?;
                sum[di] += dh;
                sum_sq[di] += dh * dh;
            }
        }
        progress();
    }
    let n = (mc.keys * mc.pairs) as f64;
    Ok(distances
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let mean = sum[i] / n;
            let var = (sum_sq[i] / n - mean * mean).max(0.0) * n / (n - 1.0).max(1.0);
            CurvePoint {
                distance: d,
                analytic: expected_distance(d / params.delta(), params.k()).0,
                monte_carlo: mean,
                std_error: (var / n).sqrt(),
            }
        })
        .collect())
}

fn unit_vector<R: Rng>(rng: &mut R, l: usize) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..l).map(|_| StandardNormal.sample(rng)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            return v.into_iter().map(|x| x / norm).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_limits_and_monotonicity() {
        for k in [2, 3, 5, 10] {
            let mut prev = 0.0;
            for i in 1..200 {
                let s = i as f64 * 0.05;
                let (v, bound) = expected_distance(s, k);
                assert!(v >= prev - 1e-12, "k={k} s={s}");
                assert!(bound < 1e-12);
                prev = v;
            }
            assert!((expected_distance(50.0, k).0 - saturation(k)).abs() < 1e-12);
            assert!((expected_distance(saturation_distance(k), k).0 - saturation(k)).abs() < 1e-12);
            // Small-s expansion joins the series smoothly.
            let (a, _) = expected_distance(1e-4, k);
            assert!((a - 1e-4 * (2.0 / PI).sqrt()).abs() < 1e-7, "k={k} {a}");
        }
    }

    #[test]
    fn binary_case_matches_boufounos_rane() {
        // k = 2: E[d_H] = 1/2 − Σ_i e^{−(π(2i+1)s)²/2} / (π(i+1/2))² (Boufounos & Rane 2011).
        for s in [0.05, 0.2, 0.5, 1.0, 2.0] {
            let br: f64 = 0.5
                - (0..100_000)
                    .map(|i| {
                        let f = 2.0 * i as f64 + 1.0;
                        (-(PI * f * s / 2.0).powi(2) * 2.0).exp() / (PI * (i as f64 + 0.5)).powi(2)
                    })
                    .sum::<f64>();
            assert!((expected_distance(s, 2).0 - br).abs() < 1e-9, "s={s}");
        }
    }

    #[test]
    fn ln_gamma_and_binomial() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-12);
        // Exact small binomial: m = 4, p = 0.5, P(X < 0.5·4) = P(X ≤ 1) = 5/16.
        assert!((prob_distance_below(0.5, 4, 0.5) - 5.0 / 16.0).abs() < 1e-12);
        assert_eq!(prob_distance_below(0.0, 10, 0.3), 1.0);
        assert_eq!(prob_distance_below(0.3, 10, 0.0), 0.0);
        let big = prob_distance_below(0.3, 2816, 0.3);
        assert!((big - 0.5).abs() < 0.02, "{big}");
    }

    #[test]
    fn monte_carlo_agrees_with_theory_small() {
        // Small L keeps the debug-mode test fast; theory does not depend on L.
        let params = SmhParams::new(3, 3.0, 64, 8).unwrap();
        let d: Vec<f64> = (0..8).map(|i| i as f64 * 1.2).collect();
        let pts = curve(
            &params,
            &d,
            MonteCarlo {
                keys: 6,
                pairs: 4,
                seed: 5,
            },
            || {},
        )
        .unwrap();
        for p in pts {
            assert!(
                (p.analytic - p.monte_carlo).abs() < 0.015 + 4.0 * p.std_error,
                "{p:?}"
            );
        }
    }
}
