//! Randomness: uniform ternary secrets, the discrete Gaussian error, and
//! uniform residues (expanded from 32-byte seeds for compressed objects).
//!
//! **Error distribution.** We sample a discrete Gaussian of σ = 3.2 truncated
//! at 6σ (|e| ≤ 19), the distribution the HomomorphicEncryption.org standard's
//! security table assumes (SEAL uses the same σ and tail). We prefer it to a
//! centred binomial because no binomial matches σ² = 10.24 exactly (η = 20.48
//! is not an integer); a Gaussian keeps the security estimate literally
//! applicable. Truncation at 6σ drops mass < 2^-28, which changes the
//! statistical distance by a negligible amount for the lattice estimate.
//!
//! **Constant time.** Gaussian samples come from a cumulative table scanned in
//! full for every sample (no early exit), with the sign applied by masking;
//! ternary digits come from rejection sampling on random bytes, whose
//! accept/reject pattern depends only on discarded randomness, never on the
//! kept secret.

use crate::arith::Modulus;
use rand::RngCore;
use std::sync::OnceLock;
use zeroize::Zeroize;

const TAIL: usize = 19; // floor(6 * 3.2)

/// CDT[k] = 2^64 * P(|e| <= k) for the half-distribution folded on |e|.
fn cdt() -> &'static [u64; TAIL + 1] {
    static T: OnceLock<[u64; TAIL + 1]> = OnceLock::new();
    T.get_or_init(|| {
        let s2 = 2.0 * crate::params::ERROR_STD_DEV * crate::params::ERROR_STD_DEV;
        let w: Vec<f64> = (0..=TAIL)
            .map(|k| {
                let p = (-(k as f64 * k as f64) / s2).exp();
                if k == 0 { p } else { 2.0 * p }
            })
            .collect();
        let total: f64 = w.iter().sum();
        let mut out = [0u64; TAIL + 1];
        let mut acc = 0f64;
        for (k, wk) in w.iter().enumerate() {
            acc += wk / total;
            out[k] = if k == TAIL {
                u64::MAX
            } else {
                (acc * 2f64.powi(64)) as u64
            };
        }
        out
    })
}

/// One discrete Gaussian sample, constant time in its value.
#[inline]
pub(crate) fn gaussian(rng: &mut impl RngCore) -> i64 {
    let table = cdt();
    let u = rng.next_u64();
    // |e| = number of table entries strictly below u (full scan, no branch).
    let mut mag: i64 = 0;
    for &t in table.iter() {
        mag += (u > t) as i64;
    }
    let sign = (rng.next_u32() & 1) as i64; // 0 or 1
    // Zero with either sign is zero; bias-free for |e| > 0 since sign is uniform.
    let mask = -sign;
    (mag ^ mask) - mask
}

pub(crate) fn gaussian_poly(rng: &mut impl RngCore, n: usize) -> Vec<i64> {
    (0..n).map(|_| gaussian(rng)).collect()
}

/// Uniform ternary coefficients in {-1, 0, 1}.
pub(crate) fn ternary_poly(rng: &mut impl RngCore, n: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        rng.fill_bytes(&mut buf);
        for &b in buf.iter() {
            // 255 = 3 * 85: reject the last value to keep b % 3 uniform.
            if b < 255 && out.len() < n {
                out.push((b % 3) as i64 - 1);
            }
        }
    }
    buf.zeroize();
    out
}

/// Fills `out` with uniform residues mod `m` (rejection sampling on masked words).
pub(crate) fn uniform_limb(rng: &mut impl RngCore, m: &Modulus, out: &mut [u64]) {
    let mask = u64::MAX >> m.value.leading_zeros();
    for o in out.iter_mut() {
        loop {
            let v = rng.next_u64() & mask;
            if v < m.value {
                *o = v;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn gaussian_has_the_right_moments() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let n = 200_000;
        let xs: Vec<i64> = (0..n).map(|_| gaussian(&mut rng)).collect();
        let mean = xs.iter().sum::<i64>() as f64 / n as f64;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var.sqrt() - 3.2).abs() < 0.03, "sd {}", var.sqrt());
        assert!(xs.iter().all(|x| x.abs() <= 19));
    }

    #[test]
    fn ternary_is_balanced() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let t = ternary_poly(&mut rng, 30_000);
        for v in -1..=1 {
            let c = t.iter().filter(|&&x| x == v).count();
            assert!((9_000..11_000).contains(&c), "{v}: {c}");
        }
    }
}
