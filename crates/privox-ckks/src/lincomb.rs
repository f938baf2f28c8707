//! Linear combinations of many ciphertexts with real scalar weights, reduced
//! once per output: the affine layers of SIMD-batched inference.
//!
//! `Σ_j w_j·ct_j` with each weight encoded as the integer `round(w_j·s)`
//! (scale `s`) is an integer matrix product per limb:
//! `out[k][c] = Σ_j W[k][j]·X[j][c] mod q`. Calling [`Evaluator::mul_const`]
//! and `add` per term reduces every product (a 64×64→128-bit multiply and a
//! Shoup reduction, not vectorisable); here residues are split into signed
//! 30-bit pieces once per input, the products of pieces and weights are summed
//! in `i64` (vectorised 32×32→64-bit multiplies: `vpmuldq`), and each sum is
//! reduced once. The running bound `Σ|w|·2^30` decides when an intermediate
//! reduction is needed, so no input can overflow the accumulator.

use crate::arith::Modulus;
use crate::ciphertext::Ciphertext;
use crate::error::{CkksError, Result};
use crate::evaluator::{Evaluator, SCALE_TOLERANCE};

/// Bits per residue piece: pieces are in `[-2^29, 2^29]` (centred) or
/// `[0, 2^30)` (unsigned high pieces), so they fit an `i32`.
const PIECE_BITS: u32 = 30;
/// Coefficients per tile: the pieces of every input for one tile stay in L2.
const TILE: usize = 512;
/// An accumulator may absorb terms while `Σ|w|·2^30 < 2^62`.
const ACC_BUDGET: u128 = 1 << 62;

/// Residues of one limb of every input, split into pieces.
struct SplitLimb {
    /// `pieces[p][j]`: piece `p` of input `j` (N values each).
    pieces: Vec<Vec<Vec<i32>>>,
}

impl Evaluator {
    /// `Σ_j weights[k][j] · cts[j]` for every output `k`, without rescaling:
    /// each weight is encoded as the integer `round(w·weight_scale)`, so the
    /// results have scale `cts[j].scale() · weight_scale` (rescale afterwards).
    ///
    /// All inputs must share level, scale and slot count. Weights must be
    /// finite with `|w·weight_scale| < 2^31`.
    ///
    /// ```
    /// # use privox_ckks::*;
    /// let params = CkksParams::new(ParamSpec::standard(13, 2, 3))?;
    /// let mut kg = KeyGenerator::new(&params);
    /// let sk = kg.secret_key();
    /// let enc = Encoder::new(&params);
    /// let top = params.max_level();
    /// let s = params.default_scale();
    /// let mut e = Encryptor::new(&params);
    /// let a = e.encrypt_symmetric(&enc.encode_real(&[1.0, 2.0], top, s)?, &sk)?;
    /// let b = e.encrypt_symmetric(&enc.encode_real(&[0.5, -1.0], top, s)?, &sk)?;
    /// let ev = Evaluator::new(&params);
    /// let q = params.q_primes()[top] as f64;
    /// let out = ev.linear_combination(&[&a, &b], &[vec![2.0, -4.0]], q)?;
    /// let y = enc.decode_real(&Decryptor::new(&params).decrypt(&ev.rescale(&out[0])?, &sk)?)?;
    /// assert!((y[0] - 0.0).abs() < 1e-6 && (y[1] - 8.0).abs() < 1e-6);
    /// # Ok::<(), CkksError>(())
    /// ```
    pub fn linear_combination(
        &self,
        cts: &[&Ciphertext],
        weights: &[Vec<f64>],
        weight_scale: f64,
    ) -> Result<Vec<Ciphertext>> {
        let first = *cts.first().ok_or_else(|| {
            CkksError::InvalidParameters("linear_combination of no ciphertexts".into())
        })?;
        if !(weight_scale.is_finite() && weight_scale > 0.0) {
            return Err(CkksError::BadScale(weight_scale));
        }
        for ct in cts {
            self.check_ct(ct)?;
            if ct.level != first.level {
                return Err(CkksError::LevelMismatch {
                    what: "linear_combination",
                    a: first.level,
                    b: ct.level,
                });
            }
            if ((ct.scale - first.scale) / ct.scale.max(first.scale)).abs() > SCALE_TOLERANCE {
                return Err(CkksError::ScaleMismatch {
                    what: "linear_combination",
                    a: first.scale,
                    b: ct.scale,
                });
            }
            if ct.slots != first.slots {
                return Err(CkksError::SlotMismatch {
                    what: "linear_combination",
                    a: first.slots,
                    b: ct.slots,
                });
            }
        }
        // Integer weights, checked before any work.
        let mut w_int: Vec<Vec<i64>> = Vec::with_capacity(weights.len());
        for row in weights {
            if row.len() != cts.len() {
                return Err(CkksError::InvalidParameters(format!(
                    "linear_combination: a weight row has {} entries for {} ciphertexts",
                    row.len(),
                    cts.len()
                )));
            }
            let mut r = Vec::with_capacity(row.len());
            for &w in row {
                let v = (w * weight_scale).round();
                if !v.is_finite() || v.abs() >= 2f64.powi(31) {
                    return Err(CkksError::BadValue(w));
                }
                r.push(v as i64);
            }
            w_int.push(r);
        }

        let ctx = &self.params().ctx;
        let n = ctx.n;
        let level = first.level;
        let limbs = level + 1;
        let mut outs: Vec<(Vec<u64>, Vec<u64>)> = (0..weights.len())
            .map(|_| (vec![0u64; limbs * n], vec![0u64; limbs * n]))
            .collect();
        for limb in 0..limbs {
            let m = ctx.moduli[limb];
            for poly in 0..2 {
                let split = split_limb(cts, limb, poly, n, m.value);
                for (k, w) in w_int.iter().enumerate() {
                    let out = if poly == 0 {
                        &mut outs[k].0
                    } else {
                        &mut outs[k].1
                    };
                    let o = &mut out[limb * n..(limb + 1) * n];
                    combine_limb(&split, w, m, o);
                }
            }
        }
        Ok(outs
            .into_iter()
            .map(|(c0, c1)| Ciphertext {
                c0,
                c1,
                level,
                scale: first.scale * weight_scale,
                slots: first.slots,
                seed: None,
            })
            .collect())
    }
}

/// Splits limb `limb` of polynomial `poly` (0: c0, 1: c1) of every input into
/// 30-bit pieces: one centred piece for primes below 2^30, else unsigned
/// base-2^30 digits.
fn split_limb(cts: &[&Ciphertext], limb: usize, poly: usize, n: usize, q: u64) -> SplitLimb {
    let n_pieces = if q < (1 << PIECE_BITS) {
        1
    } else {
        (64 - q.leading_zeros()).div_ceil(PIECE_BITS) as usize
    };
    let mut pieces = vec![Vec::with_capacity(cts.len()); n_pieces];
    let half = q / 2;
    for ct in cts {
        let src = if poly == 0 { &ct.c0 } else { &ct.c1 };
        let src = &src[limb * n..(limb + 1) * n];
        if n_pieces == 1 {
            pieces[0].push(
                src.iter()
                    .map(|&r| if r > half { r as i64 - q as i64 } else { r as i64 } as i32)
                    .collect(),
            );
        } else {
            for (p, out) in pieces.iter_mut().enumerate() {
                let shift = PIECE_BITS * p as u32;
                out.push(
                    src.iter()
                        .map(|&r| ((r >> shift) & ((1 << PIECE_BITS) - 1)) as i32)
                        .collect(),
                );
            }
        }
    }
    SplitLimb { pieces }
}

/// `o = Σ_j w[j]·x_j mod q` for one limb, tile by tile.
fn combine_limb(split: &SplitLimb, w: &[i64], m: Modulus, o: &mut [u64]) {
    let n = o.len();
    // Chunks of inputs whose absolute weights sum below the budget.
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut budget: u128 = 0;
    for (j, &wj) in w.iter().enumerate() {
        let t = (wj.unsigned_abs() as u128) << PIECE_BITS;
        if budget + t >= ACC_BUDGET && j > start {
            chunks.push((start, j));
            start = j;
            budget = 0;
        }
        budget += t;
    }
    chunks.push((start, w.len()));
    // Piece p carries weight 2^(30p) mod q.
    let shifts: Vec<u64> = (0..split.pieces.len())
        .map(|p| m.reduce_u128(1u128 << (PIECE_BITS as usize * p)))
        .collect();
    let mut acc = vec![0i64; TILE];
    for t0 in (0..n).step_by(TILE) {
        let len = TILE.min(n - t0);
        let out = &mut o[t0..t0 + len];
        out.fill(0);
        for (piece, &shift) in split.pieces.iter().zip(&shifts) {
            for &(a, b) in &chunks {
                let acc = &mut acc[..len];
                acc.fill(0);
                for j in a..b {
                    if w[j] != 0 {
                        mac(acc, &piece[j][t0..t0 + len], w[j] as i32);
                    }
                }
                if shift == 1 {
                    for (o, &s) in out.iter_mut().zip(acc.iter()) {
                        *o = m.add(*o, m.reduce_i64(s));
                    }
                } else {
                    for (o, &s) in out.iter_mut().zip(acc.iter()) {
                        *o = m.add(*o, m.mul(m.reduce_i64(s), shift));
                    }
                }
            }
        }
    }
}

/// `acc[i] += x[i]·w` (32×32→64-bit products), dispatched to AVX-512 or AVX2
/// when the CPU has them.
fn mac(acc: &mut [i64], x: &[i32], w: i32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { mac_avx512(acc, x, w) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { mac_avx2(acc, x, w) };
            return;
        }
    }
    mac_generic(acc, x, w);
}

#[inline(always)]
fn mac_generic(acc: &mut [i64], x: &[i32], w: i32) {
    let w = w as i64;
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v as i64 * w;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mac_avx512(acc: &mut [i64], x: &[i32], w: i32) {
    mac_generic(acc, x, w)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mac_avx2(acc: &mut [i64], x: &[i32], w: i32) {
    mac_generic(acc, x, w)
}

#[cfg(test)]
mod tests {
    use crate::params::test_params;
    use crate::*;

    /// The lazy combination equals per-term `mul_const` + `add` (same
    /// integer weights), bit for bit, across small and large primes.
    #[test]
    fn linear_combination_equals_term_by_term() {
        for q in [&[50u32, 28, 29][..], &[30, 28, 29][..]] {
            let params = test_params(12, q, 51, q.len(), 28);
            let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(7));
            let sk = kg.secret_key();
            let enc = Encoder::new(&params);
            let mut e = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(8));
            let ev = Evaluator::new(&params);
            let top = params.max_level();
            let s = params.default_scale();
            let cts: Vec<Ciphertext> = (0..5)
                .map(|j| {
                    let v: Vec<f64> = (0..64).map(|i| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5).collect();
                    e.encrypt_symmetric(&enc.encode_real(&v, top, s).unwrap(), &sk).unwrap()
                })
                .collect();
            let refs: Vec<&Ciphertext> = cts.iter().collect();
            let weights = vec![vec![0.5, -1.25, 3.0, 0.0, -0.001], vec![1.0, 1.0, 1.0, 1.0, 1.0]];
            let ws = params.q_primes()[top] as f64;
            let lazy = ev.linear_combination(&refs, &weights, ws).unwrap();
            for (k, row) in weights.iter().enumerate() {
                let mut acc: Option<Ciphertext> = None;
                for (ct, &w) in cts.iter().zip(row) {
                    let t = ev.mul_const(ct, w, ws).unwrap();
                    acc = Some(match acc {
                        None => t,
                        Some(a) => ev.add(&a, &t).unwrap(),
                    });
                }
                assert_eq!(lazy[k], acc.unwrap(), "q {q:?} output {k}");
            }
        }
    }
}
