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
use crate::ciphertext::{Ciphertext, Ciphertext3, check_shape};
use crate::error::{CkksError, Result};
use crate::evaluator::{Evaluator, SCALE_TOLERANCE};
use privox_format::Fingerprint;

/// Bits per residue piece: pieces are in `[-2^29, 2^29]` (centred) or
/// `[0, 2^30)` (unsigned high pieces), so they fit an `i32`.
const PIECE_BITS: u32 = 30;
/// An accumulator may absorb terms while `Σ|w|·2^30 < 2^62`.
const ACC_BUDGET: u128 = 1 << 62;
/// Outputs computed together: each input value loaded once serves them all.
const ROWS: usize = 4;
/// Coefficients per register tile.
const LANES: usize = 8;

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
    /// finite with `|w·weight_scale| < 2^61`; those below 2^29 cost one
    /// pass, larger ones one pass per 30 bits.
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
    /// // Weights encoded at 2^20 (|w·scale| < 2^31); rescaling divides by the top prime.
    /// let out = ev.linear_combination(&[&a, &b], &[vec![2.0, -4.0]], 2f64.powi(20))?;
    /// let y = enc.decode_real(&Decryptor::new(&params).decrypt(&ev.rescale(&out[0])?, &sk)?)?;
    /// assert!((y[0] - 0.0).abs() < 1e-3 && (y[1] - 8.0).abs() < 1e-3);
    /// # Ok::<(), CkksError>(())
    /// ```
    pub fn linear_combination(
        &self,
        cts: &[&Ciphertext],
        weights: &[Vec<f64>],
        weight_scale: f64,
    ) -> Result<Vec<Ciphertext>> {
        let polys = self.checked_inputs(cts.iter().map(|c| {
            let head = Head::of(c.level, c.scale, c.slots);
            (head, c.fingerprint, vec![&c.c0[..], &c.c1[..]])
        }))?;
        let first = cts[0];
        let out = self.combine(&polys, first.level, first.scale, weights, weight_scale)?;
        Ok(out
            .into_iter()
            .map(|mut p| {
                let c1 = p.pop().unwrap_or_default();
                let c0 = p.pop().unwrap_or_default();
                Ciphertext {
                    c0,
                    c1,
                    level: first.level,
                    scale: first.scale * weight_scale,
                    slots: first.slots,
                    seed: None,
                    fingerprint: first.fingerprint,
                }
            })
            .collect())
    }

    /// [`Evaluator::linear_combination`] of unrelinearized products: linear
    /// layers after a squaring need one relinearization per *output* instead
    /// of one per input.
    pub fn linear_combination3(
        &self,
        cts: &[&Ciphertext3],
        weights: &[Vec<f64>],
        weight_scale: f64,
    ) -> Result<Vec<Ciphertext3>> {
        let polys = self.checked_inputs(cts.iter().map(|c| {
            let head = Head::of(c.level, c.scale, c.slots);
            (head, c.fingerprint, vec![&c.d0[..], &c.d1[..], &c.d2[..]])
        }))?;
        let first = cts[0];
        let out = self.combine(&polys, first.level, first.scale, weights, weight_scale)?;
        Ok(out
            .into_iter()
            .map(|mut p| {
                let d2 = p.pop().unwrap_or_default();
                let d1 = p.pop().unwrap_or_default();
                let d0 = p.pop().unwrap_or_default();
                Ciphertext3 {
                    d0,
                    d1,
                    d2,
                    level: first.level,
                    scale: first.scale * weight_scale,
                    slots: first.slots,
                    fingerprint: first.fingerprint,
                }
            })
            .collect())
    }

    /// Rescales an unrelinearized product (divides by the last prime).
    pub fn rescale3(&self, ct: &Ciphertext3) -> Result<Ciphertext3> {
        check_shape(
            self.params(),
            ct.fingerprint,
            ct.level,
            &[&ct.d0, &ct.d1, &ct.d2],
        )?;
        if ct.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let ctx = &self.params().ctx;
        let q = ctx.moduli[ct.level].value as f64;
        Ok(Ciphertext3 {
            d0: ctx.rescale(&ct.d0, ct.level),
            d1: ctx.rescale(&ct.d1, ct.level),
            d2: ctx.rescale(&ct.d2, ct.level),
            level: ct.level - 1,
            scale: ct.scale / q,
            slots: ct.slots,
            fingerprint: ct.fingerprint,
        })
    }

    /// Checks every input (parameters, shape, one level, scale and slot
    /// count) and returns their polynomials; refuses an empty list.
    fn checked_inputs<'c>(
        &self,
        inputs: impl Iterator<Item = (Head, Fingerprint, Vec<&'c [u64]>)>,
    ) -> Result<Vec<Vec<&'c [u64]>>> {
        let mut heads = Vec::new();
        let mut polys = Vec::new();
        for (head, fingerprint, p) in inputs {
            check_shape(self.params(), fingerprint, head.level, &p)?;
            heads.push(head);
            polys.push(p);
        }
        if heads.is_empty() {
            return Err(CkksError::NoOperands {
                what: "linear_combination",
            });
        }
        check_inputs(&heads)?;
        Ok(polys)
    }

    /// The integer combination of every polynomial of every input.
    fn combine(
        &self,
        inputs: &[Vec<&[u64]>],
        level: usize,
        input_scale: f64,
        weights: &[Vec<f64>],
        weight_scale: f64,
    ) -> Result<Vec<Vec<Vec<u64>>>> {
        if !(weight_scale.is_finite() && weight_scale > 0.0) {
            return Err(CkksError::BadScale(weight_scale));
        }
        self.params()
            .check_scale("linear_combination", input_scale * weight_scale, level)?;
        // Integer weights. The kernel multiplies 32-bit values, so each
        // weight is split into base-2^30 digits (centred, |digit| ≤ 2^29):
        // row `r` becomes digit rows `(r, d)`, recombined mod q at the end.
        let mut digits: Vec<Vec<Vec<i64>>> = Vec::with_capacity(weights.len());
        let mut n_digits = 1;
        for row in weights {
            if row.len() != inputs.len() {
                return Err(CkksError::LengthMismatch {
                    what: "linear_combination: weights in a row (one per ciphertext)",
                    expected: inputs.len(),
                    found: row.len(),
                });
            }
            let mut r = Vec::with_capacity(row.len());
            for &w in row {
                let v = (w * weight_scale).round();
                if !v.is_finite() || v.abs() >= 2f64.powi(61) {
                    return Err(CkksError::BadValue(w));
                }
                let mut v = v as i64;
                let mut ds = Vec::with_capacity(3);
                while v != 0 {
                    let lo = ((v + (1 << 29)).rem_euclid(1 << 30)) - (1 << 29);
                    ds.push(lo);
                    v = (v - lo) >> 30;
                }
                n_digits = n_digits.max(ds.len());
                r.push(ds);
            }
            digits.push(
                (0..3)
                    .map(|d| r.iter().map(|ds| ds.get(d).copied().unwrap_or(0)).collect())
                    .collect(),
            );
        }
        // Digit rows in (digit, row) order.
        let w_int: Vec<Vec<i64>> = (0..n_digits)
            .flat_map(|d| digits.iter().map(move |r| r[d].clone()))
            .collect();
        let ctx = &self.params().ctx;
        let n = ctx.n;
        let limbs = level + 1;
        let n_polys = inputs[0].len();
        let rows = weights.len();
        let mut outs: Vec<Vec<Vec<u64>>> = (0..w_int.len())
            .map(|_| vec![vec![0u64; limbs * n]; n_polys])
            .collect();
        for limb in 0..limbs {
            let m = ctx.moduli[limb];
            for poly in 0..n_polys {
                let split = split_limb(inputs, limb, poly, n, m.value);
                for (wr, block) in w_int.chunks(ROWS).zip(outs.chunks_mut(ROWS)) {
                    let mut dst: Vec<&mut [u64]> = block
                        .iter_mut()
                        .map(|o| &mut o[poly][limb * n..(limb + 1) * n])
                        .collect();
                    combine_limb(&split, wr, m, &mut dst);
                }
            }
        }
        // out_r = Σ_d digit_row(d, r) · 2^(30d) mod q.
        let mut high = outs.split_off(rows);
        for d in 1..n_digits {
            let rest = high.split_off(rows);
            for (out, part) in outs.iter_mut().zip(&high) {
                for (o, p) in out.iter_mut().zip(part) {
                    for limb in 0..limbs {
                        let m = ctx.moduli[limb];
                        let shift = m.reduce_u128(1u128 << (30 * d));
                        let span = limb * n..(limb + 1) * n;
                        for (x, &y) in o[span.clone()].iter_mut().zip(&p[span]) {
                            *x = m.add(*x, m.mul(y, shift));
                        }
                    }
                }
            }
            high = rest;
        }
        Ok(outs)
    }
}

/// Level, scale and slots of one input.
struct Head {
    level: usize,
    scale: f64,
    slots: usize,
}

impl Head {
    fn of(level: usize, scale: f64, slots: usize) -> Self {
        Head {
            level,
            scale,
            slots,
        }
    }
}

/// All inputs share level, scale and slot count.
fn check_inputs(heads: &[Head]) -> Result<()> {
    let f = &heads[0];
    for h in heads {
        if h.level != f.level {
            return Err(CkksError::LevelMismatch {
                what: "linear_combination",
                a: f.level,
                b: h.level,
            });
        }
        if ((h.scale - f.scale) / h.scale.max(f.scale)).abs() > SCALE_TOLERANCE {
            return Err(CkksError::ScaleMismatch {
                what: "linear_combination",
                a: f.scale,
                b: h.scale,
            });
        }
        if h.slots != f.slots {
            return Err(CkksError::SlotMismatch {
                what: "linear_combination",
                a: f.slots,
                b: h.slots,
            });
        }
    }
    Ok(())
}

/// Splits limb `limb` of polynomial `poly` of every input into 30-bit
/// pieces: one centred piece for primes below 2^30, else unsigned base-2^30
/// digits.
fn split_limb(inputs: &[Vec<&[u64]>], limb: usize, poly: usize, n: usize, q: u64) -> SplitLimb {
    let n_pieces = if q < (1 << PIECE_BITS) {
        1
    } else {
        (64 - q.leading_zeros()).div_ceil(PIECE_BITS) as usize
    };
    let mut pieces = vec![Vec::with_capacity(inputs.len()); n_pieces];
    let half = q / 2;
    for input in inputs {
        let src = &input[poly][limb * n..(limb + 1) * n];
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

/// `dst[r] = Σ_j w[r][j]·x_j mod q` for up to [`ROWS`] outputs of one limb.
fn combine_limb(split: &SplitLimb, w: &[Vec<i64>], m: Modulus, dst: &mut [&mut [u64]]) {
    let n = dst[0].len();
    let inputs = w[0].len();
    // Chunks of inputs whose absolute weights (the largest row's) sum below
    // the budget: no accumulator can overflow.
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut budget: u128 = 0;
    for j in 0..inputs {
        let t = (w.iter().map(|r| r[j].unsigned_abs()).max().unwrap_or(0) as u128) << PIECE_BITS;
        if budget + t >= ACC_BUDGET && j > start {
            chunks.push((start, j));
            start = j;
            budget = 0;
        }
        budget += t;
    }
    chunks.push((start, inputs));
    // Piece p carries weight 2^(30p) mod q.
    let shifts: Vec<u64> = (0..split.pieces.len())
        .map(|p| m.reduce_u128(1u128 << (PIECE_BITS as usize * p)))
        .collect();
    // Weights regrouped per input: ws[j][r] (zero for missing rows).
    let ws: Vec<[i32; ROWS]> = (0..inputs)
        .map(|j| std::array::from_fn(|r| w.get(r).map_or(0, |row| row[j] as i32)))
        .collect();
    for d in dst.iter_mut() {
        d.fill(0);
    }
    let mut acc = [[0i64; LANES]; ROWS];
    for (piece, &shift) in split.pieces.iter().zip(&shifts) {
        for &(a, b) in &chunks {
            let xs: Vec<&[i32]> = piece[a..b].iter().map(|v| &v[..]).collect();
            let wc = &ws[a..b];
            for c0 in (0..n).step_by(LANES) {
                tile(&xs, wc, c0, &mut acc);
                for (r, d) in dst.iter_mut().enumerate() {
                    for (o, &s) in d[c0..c0 + LANES].iter_mut().zip(&acc[r]) {
                        let v = m.reduce_i64(s);
                        *o = m.add(*o, if shift == 1 { v } else { m.mul(v, shift) });
                    }
                }
            }
        }
    }
}

/// `acc[r][l] = Σ_j xs[j][c0 + l]·ws[j][r]`: the accumulators stay in
/// registers while the inputs stream by (32×32→64-bit products), dispatched
/// to AVX-512 or AVX2 when the CPU has them.
fn tile(xs: &[&[i32]], ws: &[[i32; ROWS]], c0: usize, acc: &mut [[i64; LANES]; ROWS]) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::arith::avx512_allowed() && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { tile_avx512(xs, ws, c0, acc) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { tile_avx2(xs, ws, c0, acc) };
            return;
        }
    }
    tile_generic(xs, ws, c0, acc);
}

#[inline(always)]
fn tile_generic(xs: &[&[i32]], ws: &[[i32; ROWS]], c0: usize, acc: &mut [[i64; LANES]; ROWS]) {
    let mut a = [[0i64; LANES]; ROWS];
    for (x, w) in xs.iter().zip(ws) {
        let x = &x[c0..c0 + LANES];
        for r in 0..ROWS {
            let wr = w[r] as i64;
            for l in 0..LANES {
                a[r][l] += x[l] as i64 * wr;
            }
        }
    }
    *acc = a;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(
    xs: &[&[i32]],
    ws: &[[i32; ROWS]],
    c0: usize,
    acc: &mut [[i64; LANES]; ROWS],
) {
    tile_generic(xs, ws, c0, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2(xs: &[&[i32]], ws: &[[i32; ROWS]], c0: usize, acc: &mut [[i64; LANES]; ROWS]) {
    tile_generic(xs, ws, c0, acc)
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
                    let v: Vec<f64> = (0..64)
                        .map(|i| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5)
                        .collect();
                    e.encrypt_symmetric(&enc.encode_real(&v, top, s).unwrap(), &sk)
                        .unwrap()
                })
                .collect();
            let refs: Vec<&Ciphertext> = cts.iter().collect();
            let weights = vec![
                vec![0.5, -1.25, 3.0, 0.0, -0.001],
                vec![1.0, 1.0, 1.0, 1.0, 1.0],
            ];
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
