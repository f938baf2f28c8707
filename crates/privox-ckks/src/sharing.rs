//! Sharing decrypted values without leaking the secret key.
//!
//! # Why decrypted values are sensitive
//!
//! CKKS decryption is approximate: it returns `m + e`, where the error `e`
//! (encryption, rescaling and key-switching noise) is a known linear function
//! of the secret key and of randomness the evaluator saw. Li and Micciancio
//! ("On the security of homomorphic encryption on approximate numbers",
//! EUROCRYPT 2021) showed that whoever holds a ciphertext and its decrypted
//! value can recover `e`, and from it the secret key, by linear algebra, in
//! practice from a single decryption (a passive attack: CKKS is not
//! IND-CPA^D secure). So as long as decrypted values keep their low-order
//! bits they are as sensitive as the key. A client that only reads its own
//! scores is safe; a client that *shares* them — sends them back to the
//! server, logs them, puts them in a report, publishes a result table —
//! must first remove the noise, with one of the functions here.
//!
//! # The two tools
//!
//! * [`round_for_sharing`] rounds to a grid of `10^-decimals`. The output is
//!   a function of the grid index `round(x·10^decimals)` only, so every bit
//!   below the grid — where the CKKS error lives (about 2^-20 to 2^-30 of the
//!   scale's unit at Δ = 2^40) — is gone. **Recommended default:** round
//!   scores and probabilities to 4 decimals (`round_for_sharing(&scores, 4)`)
//!   before they leave the client. The grid must be much coarser than the
//!   error of the values. This is a heuristic defence: a value that lies
//!   within the error of a grid boundary still reveals on which side the
//!   noise pushed it (about one bit, for a fraction ≈ 2·|e|·10^decimals of
//!   the values).
//! * [`flood_for_sharing`] adds independent Gaussian noise of standard
//!   deviation `sigma` to every value, drawn from a cryptographically secure
//!   generator (e.g. `ChaCha20Rng::from_os_rng()`). Two error vectors `e`,
//!   `e'` then give output distributions at statistical distance at most
//!   `‖e - e'‖₂ / (2·sigma)`, so with `sigma ≥ 2^(s-1)·‖e‖₂` the shared
//!   values reveal at most `2^-s` about the error: the provable option, at
//!   the cost of noise far above the CKKS error (choose the scale so that
//!   the application tolerates it). Rounding the flooded values afterwards
//!   is harmless and keeps them short.
//!
//! ```
//! use privox_ckks::{flood_for_sharing, round_for_sharing};
//! use rand::SeedableRng;
//! use rand_chacha::ChaCha20Rng;
//!
//! let decrypted = [0.731_904_117_2, -1.268_095_883_1];
//! // Heuristic: scores to 4 decimals.
//! assert_eq!(round_for_sharing(&decrypted, 4), vec![0.7319, -1.2681]);
//! // Provable: flood well above the error (here |e| ≲ 2^-25), then round.
//! let mut rng = ChaCha20Rng::from_os_rng();
//! let flooded = flood_for_sharing(&decrypted, 1e-3, &mut rng)?;
//! let shared = round_for_sharing(&flooded, 4);
//! assert!((shared[0] - decrypted[0]).abs() < 0.01);
//! # Ok::<(), privox_ckks::CkksError>(())
//! ```

use crate::error::{CkksError, Result};
use rand::CryptoRng;

/// Largest `decimals` honoured by [`round_for_sharing`] (10^22 is the
/// largest power of ten that is exact in `f64`).
pub const MAX_SHARING_DECIMALS: u32 = 22;

/// Rounds every value to the grid `10^-decimals` (at most
/// [`MAX_SHARING_DECIMALS`]) so that no bit below the grid — where the CKKS
/// error lives — survives; see the [module docs](self) for why decrypted
/// values must not be shared unrounded. The result depends only on
/// `round(value·10^decimals)`: values in the same grid cell give identical
/// bits, and `-0.0` is returned as `0.0` (its sign would tell which side of
/// zero the noise fell). NaN and infinities are returned unchanged; a value
/// so large that `value·10^decimals` exceeds 2^53 is already on a coarser
/// grid than requested and is returned unchanged too (pick fewer decimals
/// than the values' precision).
pub fn round_for_sharing(values: &[f64], decimals: u32) -> Vec<f64> {
    let grid = 10f64.powi(decimals.min(MAX_SHARING_DECIMALS) as i32);
    values
        .iter()
        .map(|&x| {
            let k = (x * grid).round();
            if k.is_finite() {
                // `+ 0.0` turns -0.0 into 0.0.
                k / grid + 0.0
            } else {
                x
            }
        })
        .collect()
}

/// Adds independent Gaussian noise of standard deviation `sigma` to every
/// value ("noise flooding"), drawn from `rng`, which must be a
/// cryptographically secure generator (the [`CryptoRng`] bound; use
/// `ChaCha20Rng::from_os_rng()`). See the [module docs](self): `sigma` must
/// exceed the CKKS error of the values by the statistical security factor
/// (`sigma ≥ 2^(s-1)·‖e‖₂` for distance `2^-s`). A `sigma` that is not
/// finite and positive is refused ([`CkksError::BadFloodingSigma`]).
pub fn flood_for_sharing<R: CryptoRng + ?Sized>(
    values: &[f64],
    sigma: f64,
    rng: &mut R,
) -> Result<Vec<f64>> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(CkksError::BadFloodingSigma(sigma));
    }
    let mut out = Vec::with_capacity(values.len());
    let mut spare: Option<f64> = None;
    for &x in values {
        let z = match spare.take() {
            Some(z) => z,
            None => {
                let (a, b) = gaussian_pair(rng);
                spare = Some(b);
                a
            }
        };
        out.push(x + sigma * z);
    }
    Ok(out)
}

/// Two independent standard normal samples (Box–Muller on 53-bit uniforms;
/// the tail is cut at ≈ 8.6σ, probability 2^-53).
fn gaussian_pair<R: CryptoRng + ?Sized>(rng: &mut R) -> (f64, f64) {
    const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
    // u1 in (0, 1] so that ln(u1) is finite; u2 in [0, 1).
    let u1 = ((rng.next_u64() >> 11) + 1) as f64 / TWO_POW_53;
    let u2 = (rng.next_u64() >> 11) as f64 / TWO_POW_53;
    let r = (-2.0 * u1.ln()).sqrt();
    let t = 2.0 * std::f64::consts::PI * u2;
    (r * t.cos(), r * t.sin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// No bit below the grid survives: the output is exactly the f64 of
    /// k / 10^d for k = round(x·10^d), values in the same cell give the
    /// same bits whatever their low-order bits (the CKKS error), rounding is
    /// idempotent, and -0.0 is not produced.
    #[test]
    fn rounding_leaves_no_bits_below_the_grid() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for decimals in [0u32, 2, 4, 6] {
            let grid = 10f64.powi(decimals as i32);
            for _ in 0..2000 {
                let x: f64 = rng.random_range(-100.0..100.0);
                let y = round_for_sharing(&[x], decimals)[0];
                let k = (x * grid).round();
                assert_eq!(y.to_bits(), (k / grid + 0.0).to_bits());
                assert_eq!(round_for_sharing(&[y], decimals)[0].to_bits(), y.to_bits());
                assert!((y - x).abs() <= 0.5 / grid + 1e-12);
                // A CKKS-sized error that stays in the cell changes nothing.
                let centre = k / grid;
                for e in [2f64.powi(-25), -2f64.powi(-30), 3e-9] {
                    if ((centre + e) * grid - k).abs() < 0.49 {
                        let z = round_for_sharing(&[centre + e], decimals)[0];
                        assert_eq!(z.to_bits(), y.to_bits(), "{x} {e}");
                    }
                }
            }
        }
        // The sign of a rounded zero would tell the noise's sign.
        let z = round_for_sharing(&[-1e-9, 1e-9, -0.0], 4);
        assert!(z.iter().all(|v| v.to_bits() == 0f64.to_bits()), "{z:?}");
        assert_eq!(round_for_sharing(&[0.731_904_117_2], 4), vec![0.7319]);
        let odd = round_for_sharing(&[f64::INFINITY, 1e300], 4);
        assert_eq!(odd, vec![f64::INFINITY, 1e300]);
        assert!(round_for_sharing(&[f64::NAN], 4)[0].is_nan());
        // Absurd precision is capped, not an overflow to infinity.
        assert_eq!(round_for_sharing(&[0.5], u32::MAX), vec![0.5]);
    }

    /// Flooded values differ from the inputs by Gaussian noise of the asked
    /// spread: mean ≈ 0, standard deviation ≈ sigma, ≈ 68.3 % within one
    /// sigma, every value changed, from a generator seeded by the OS.
    #[test]
    fn flooding_adds_gaussian_noise_of_the_right_spread() {
        let mut rng = ChaCha20Rng::from_os_rng();
        let n = 20_000;
        let sigma = 0.01;
        let base: Vec<f64> = (0..n).map(|i| (i % 7) as f64 - 3.0).collect();
        let out = flood_for_sharing(&base, sigma, &mut rng).unwrap();
        assert_eq!(out.len(), n);
        let d: Vec<f64> = out.iter().zip(&base).map(|(o, b)| o - b).collect();
        assert!(d.iter().all(|&x| x != 0.0));
        let mean = d.iter().sum::<f64>() / n as f64;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let within = d.iter().filter(|x| x.abs() <= sigma).count() as f64 / n as f64;
        // Standard errors: mean sigma/√n ≈ 7e-5, sd ≈ 0.5 %, fraction ≈ 0.33 %.
        assert!(mean.abs() < 5.0 * sigma / (n as f64).sqrt(), "mean {mean}");
        assert!((sd / sigma - 1.0).abs() < 0.03, "sd {sd}");
        assert!((within - 0.6827).abs() < 0.02, "within one sigma {within}");
        // Two floods of the same values differ (fresh randomness each time).
        let again = flood_for_sharing(&base, sigma, &mut rng).unwrap();
        assert_ne!(out, again);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                flood_for_sharing(&base, bad, &mut rng),
                Err(CkksError::BadFloodingSigma(_))
            ));
        }
        assert!(flood_for_sharing(&[], 1.0, &mut rng).unwrap().is_empty());
    }
}
