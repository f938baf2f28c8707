//! Residue-number-system polynomial arithmetic over the primes of a parameter
//! set: NTTs (tfhe-ntt), pointwise operations, fast base conversion, rescaling
//! and the ModUp/ModDown steps of hybrid key switching.
//!
//! A polynomial is a flat `Vec<u64>` of limbs of N coefficients each; limb `i`
//! lives modulo `moduli[basis[i]]`. Ciphertext polynomials use the basis
//! `Q_l = [0..=l]`; key-switching polynomials the basis `Q_l ∪ P`.

use crate::arith::{Modulus, ifma};
use crate::error::{CkksError, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use tfhe_ntt::prime64::Plan;
use zeroize::Zeroizing;

/// Below this many coefficients per call, limb-parallelism costs more than it saves.
const PAR_MIN: usize = 1 << 12;

pub(crate) struct RnsContext {
    pub n: usize,
    /// q_0..q_L followed by p_0..p_{k-1}.
    pub moduli: Vec<Modulus>,
    plans: Vec<Plan>,
    pub num_q: usize,
    pub num_p: usize,
    /// Primes per key-switching digit.
    pub alpha: usize,
    /// NTT output index j holds the evaluation at g^{ntt_exp[j]} (g a primitive 2N-th root).
    ntt_exp: Vec<u32>,
    /// Inverse of `ntt_exp`, indexed by (e - 1) / 2.
    exp_index: Vec<u32>,
    /// rescale_inv[l][i] = q_l^{-1} mod q_i (value, Shoup), i < l.
    rescale_inv: Vec<Vec<(u64, u64)>>,
    /// (P^{-1} mod q_i, Shoup) for each ciphertext prime.
    p_inv_mod_q: Vec<(u64, u64)>,
    /// (-P^{-1} mod q_i, Shoup): ModDown computes (t - x)·(-P^{-1}) in place in x.
    neg_p_inv_mod_q: Vec<(u64, u64)>,
    /// floor(P/2) mod every prime (q's then p's), for rounded division by P.
    p_half: Vec<u64>,
    /// ((P/p_j)^{-1} mod p_j, Shoup).
    phat_inv_mod_p: Vec<(u64, u64)>,
    /// phat_mod_q[i][j] = (P/p_j) mod q_i.
    phat_mod_q: Vec<Vec<u64>>,
    /// P mod q_i, to remove the overflow of the fast base conversion.
    p_mod_q: Vec<u64>,
    /// 1 / p_j as f64, to compute that overflow.
    p_recip: Vec<f64>,
    /// garner_inv[i][j] = q_j^{-1} mod q_i for j < i.
    garner_inv: Vec<Vec<u64>>,
    /// IFMA kernel constants per modulus (None: prime too large or no IFMA).
    ifma: Vec<Option<ifma::Consts>>,
}

/// Runs `f(limb_index, limb)` over the limbs of `data`, in parallel when large.
pub(crate) fn for_limbs<F>(data: &mut [u64], n: usize, f: F)
where
    F: Fn(usize, &mut [u64]) + Sync + Send,
{
    if data.len() >= PAR_MIN * 2 && rayon::current_num_threads() > 1 {
        data.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, l)| f(i, l));
    } else {
        data.chunks_mut(n).enumerate().for_each(|(i, l)| f(i, l));
    }
}

/// [`for_limbs`] with a scratch limb per worker (one buffer when sequential).
fn for_limbs_scratch<F>(data: &mut [u64], n: usize, f: F)
where
    F: Fn(usize, &mut [u64], &mut [u64]) + Sync + Send,
{
    if data.len() >= PAR_MIN * 2 && rayon::current_num_threads() > 1 {
        data.par_chunks_mut(n)
            .enumerate()
            .for_each_init(|| vec![0u64; n], |s, (i, l)| f(i, l, s));
    } else {
        let mut s = vec![0u64; n];
        data.chunks_mut(n)
            .enumerate()
            .for_each(|(i, l)| f(i, l, &mut s));
    }
}

impl RnsContext {
    pub fn new(log_n: u32, q: &[u64], p: &[u64], alpha: usize) -> Result<Self> {
        let n = 1usize << log_n;
        let all: Vec<u64> = q.iter().chain(p).copied().collect();
        let moduli: Vec<Modulus> = all.iter().map(|&v| Modulus::new(v)).collect();
        let plans = all
            .iter()
            .map(|&v| Plan::try_new(n, v).ok_or(CkksError::NoNttPlan { prime: v, n }))
            .collect::<Result<Vec<_>>>()?;
        let (ntt_exp, exp_index) = discover_ntt_order(n, &moduli, &plans)?;
        let num_q = q.len();
        let num_p = p.len();
        let rescale_inv = (0..num_q)
            .map(|l| {
                (0..l)
                    .map(|i| {
                        let m = &moduli[i];
                        let w = m.inv(m.reduce(moduli[l].value));
                        (w, m.shoup(w))
                    })
                    .collect()
            })
            .collect();
        let prod_mod =
            |set: &[u64], m: &Modulus| set.iter().fold(1u64, |acc, &v| m.mul(acc, m.reduce(v)));
        let p_inv_mod_q: Vec<(u64, u64)> = moduli[..num_q]
            .iter()
            .map(|m| {
                let w = m.inv(prod_mod(p, m));
                (w, m.shoup(w))
            })
            .collect();
        let p_half = moduli
            .iter()
            .map(|m| {
                // P is odd: floor(P/2) = (P - 1) / 2.
                let pm = prod_mod(p, m);
                m.mul(m.sub(pm, 1), m.inv(2))
            })
            .collect();
        let phat = |j: usize, m: &Modulus| {
            p.iter()
                .enumerate()
                .filter(|&(k, _)| k != j)
                .fold(1u64, |acc, (_, &v)| m.mul(acc, m.reduce(v)))
        };
        let phat_inv_mod_p = (0..num_p)
            .map(|j| {
                let m = &moduli[num_q + j];
                let w = m.inv(phat(j, m));
                (w, m.shoup(w))
            })
            .collect();
        let phat_mod_q = moduli[..num_q]
            .iter()
            .map(|m| (0..num_p).map(|j| phat(j, m)).collect())
            .collect();
        let p_mod_q = moduli[..num_q].iter().map(|m| prod_mod(p, m)).collect();
        let p_recip = p.iter().map(|&v| 1.0 / v as f64).collect();
        let garner_inv = (0..num_q)
            .map(|i| {
                (0..i)
                    .map(|j| moduli[i].inv(moduli[i].reduce(q[j])))
                    .collect()
            })
            .collect();
        let neg_p_inv_mod_q = p_inv_mod_q
            .iter()
            .zip(&moduli)
            .map(|(&(w, _), m)| {
                let nw = m.neg(w);
                (nw, m.shoup(nw))
            })
            .collect();
        Ok(RnsContext {
            n,
            moduli,
            plans,
            num_q,
            num_p,
            alpha,
            ntt_exp,
            exp_index,
            rescale_inv,
            neg_p_inv_mod_q,
            p_inv_mod_q,
            p_half,
            phat_inv_mod_p,
            phat_mod_q,
            p_mod_q,
            p_recip,
            garner_inv,
            ifma: all.iter().map(|&v| ifma::Consts::new(v)).collect(),
        })
    }

    pub fn q_values(&self) -> Vec<u64> {
        self.moduli[..self.num_q].iter().map(|m| m.value).collect()
    }
    pub fn p_values(&self) -> Vec<u64> {
        self.moduli[self.num_q..].iter().map(|m| m.value).collect()
    }

    /// Basis of a ciphertext at `level`: q_0..q_level.
    pub fn q_basis(&self, level: usize) -> Vec<usize> {
        (0..=level).collect()
    }
    /// Extended basis q_0..q_level, p_0..p_{k-1}.
    pub fn qp_basis(&self, level: usize) -> Vec<usize> {
        (0..=level)
            .chain(self.num_q..self.num_q + self.num_p)
            .collect()
    }
    /// Full key basis: all q's and p's.
    pub fn key_basis(&self) -> Vec<usize> {
        (0..self.num_q + self.num_p).collect()
    }

    /// Forward NTT of every limb (coefficient -> evaluation form).
    pub fn ntt(&self, data: &mut [u64], basis: &[usize]) {
        for_limbs(data, self.n, |i, l| self.plans[basis[i]].fwd(l));
    }

    /// Inverse NTT of every limb, normalised (evaluation -> coefficient form).
    pub fn intt(&self, data: &mut [u64], basis: &[usize]) {
        for_limbs(data, self.n, |i, l| {
            let plan = &self.plans[basis[i]];
            plan.inv(l);
            plan.normalize(l);
        });
    }

    #[allow(dead_code)] // used by the benches through bench_support
    pub fn ntt_limb(&self, limb: &mut [u64], modulus: usize) {
        self.plans[modulus].fwd(limb);
    }
    pub fn intt_limb(&self, limb: &mut [u64], modulus: usize) {
        let plan = &self.plans[modulus];
        plan.inv(limb);
        plan.normalize(limb);
    }

    /// out = a * b pointwise (SIMD Barrett from tfhe-ntt).
    pub fn mul(&self, out: &mut [u64], a: &[u64], b: &[u64], basis: &[usize]) {
        let n = self.n;
        for_limbs(out, n, |i, o| {
            o.fill(0);
            self.plans[basis[i]].mul_accumulate(o, &a[i * n..(i + 1) * n], &b[i * n..(i + 1) * n]);
        });
    }

    /// A new polynomial a * b, written once: products go through a small
    /// L1-resident accumulator instead of a zero-filled output (saves a full
    /// memset pass on memory-bound ct–pt products).
    pub fn mul_new(&self, a: &[u64], b: &[u64], basis: &[usize]) -> Vec<u64> {
        const CHUNK: usize = 1024; // multiple of 8, divides every N >= 1024
        let n = self.n;
        let mut out = Vec::with_capacity(basis.len() * n);
        let mut acc = [0u64; CHUNK];
        for (i, &mi) in basis.iter().enumerate() {
            let plan = &self.plans[mi];
            let (a, b) = (&a[i * n..(i + 1) * n], &b[i * n..(i + 1) * n]);
            for (ca, cb) in a.chunks(CHUNK).zip(b.chunks(CHUNK)) {
                let acc = &mut acc[..ca.len()];
                acc.fill(0);
                plan.mul_accumulate(acc, ca, cb);
                out.extend_from_slice(acc);
            }
        }
        out
    }

    /// acc += a * b pointwise.
    pub fn mul_add_assign(&self, acc: &mut [u64], a: &[u64], b: &[u64], basis: &[usize]) {
        let n = self.n;
        for_limbs(acc, n, |i, o| {
            self.plans[basis[i]].mul_accumulate(o, &a[i * n..(i + 1) * n], &b[i * n..(i + 1) * n]);
        });
    }

    pub fn add_assign(&self, a: &mut [u64], b: &[u64], basis: &[usize]) {
        let n = self.n;
        for_limbs(a, n, |i, o| {
            let m = self.moduli[basis[i]];
            for (o, &y) in o.iter_mut().zip(&b[i * n..(i + 1) * n]) {
                *o = m.add(*o, y);
            }
        });
    }

    pub fn sub_assign(&self, a: &mut [u64], b: &[u64], basis: &[usize]) {
        let n = self.n;
        for_limbs(a, n, |i, o| {
            let m = self.moduli[basis[i]];
            for (o, &y) in o.iter_mut().zip(&b[i * n..(i + 1) * n]) {
                *o = m.sub(*o, y);
            }
        });
    }

    pub fn neg_assign(&self, a: &mut [u64], basis: &[usize]) {
        for_limbs(a, self.n, |i, o| {
            let m = self.moduli[basis[i]];
            for o in o.iter_mut() {
                *o = m.neg(*o);
            }
        });
    }

    /// a *= c for a per-limb constant (already reduced mod each prime).
    pub fn mul_scalar_assign(&self, a: &mut [u64], c: &[u64], basis: &[usize]) {
        for_limbs(a, self.n, |i, o| {
            let m = self.moduli[basis[i]];
            let (w, ws) = (c[i], m.shoup(c[i]));
            for o in o.iter_mut() {
                *o = m.mul_shoup(*o, w, ws);
            }
        });
    }

    /// a += c for a per-limb constant (in evaluation form a constant polynomial is constant).
    pub fn add_scalar_assign(&self, a: &mut [u64], c: &[u64], basis: &[usize]) {
        for_limbs(a, self.n, |i, o| {
            let m = self.moduli[basis[i]];
            for o in o.iter_mut() {
                *o = m.add(*o, c[i]);
            }
        });
    }

    /// Signed integer coefficients reduced into every limb of `basis` (coefficient form).
    pub fn reduce_signed(&self, coeffs: &[i64], basis: &[usize]) -> Vec<u64> {
        let mut out = vec![0u64; basis.len() * self.n];
        for_limbs(&mut out, self.n, |i, o| {
            let m = self.moduli[basis[i]];
            for (o, &c) in o.iter_mut().zip(coeffs) {
                *o = m.reduce_i64(c);
            }
        });
        out
    }

    /// Index permutation of the evaluation (NTT) form for X -> X^g.
    /// `out[j] = in[perm[j]]`.
    pub fn galois_permutation(&self, g: u64) -> Vec<u32> {
        let mask = 2 * self.n as u64 - 1; // 2N is a power of two
        self.ntt_exp
            .iter()
            .map(|&e| {
                let t = (e as u64 * g) & mask;
                self.exp_index[((t - 1) / 2) as usize]
            })
            .collect()
    }

    /// Applies an evaluation-form automorphism to every limb.
    pub fn permute(&self, out: &mut [u64], input: &[u64], perm: &[u32]) {
        let n = self.n;
        for_limbs(out, n, |i, o| {
            let src = &input[i * n..(i + 1) * n];
            for (o, &p) in o.iter_mut().zip(perm) {
                // perm holds indices < n by construction (galois_permutation).
                *o = src[p as usize];
            }
        });
    }

    /// Applies the automorphism `perm` to every limb in place, through one
    /// L2-resident scratch limb (no second polynomial is allocated).
    pub fn permute_in_place(&self, data: &mut [u64], perm: &[u32]) {
        for_limbs_scratch(data, self.n, |_, limb, src| {
            src.copy_from_slice(limb);
            for (o, &p) in limb.iter_mut().zip(perm) {
                // perm holds indices < n by construction (galois_permutation).
                *o = src[p as usize];
            }
        });
    }

    /// Rescale in evaluation form: divides by q_level with rounding and drops
    /// that prime. `data` has level+1 limbs; returns `level` limbs.
    pub fn rescale(&self, data: &[u64], level: usize) -> Vec<u64> {
        let n = self.n;
        let mut last = data[level * n..(level + 1) * n].to_vec();
        self.intt_limb(&mut last, level);
        let ql = self.moduli[level];
        let half = ql.value / 2;
        // Each output limb holds t = centred(last) mod q_i, then NTT(t), then
        // (x - t)·q_l^{-1}: rounding division, no copies of the input.
        let mut out = vec![0u64; level * n];
        let inv = &self.rescale_inv[level];
        for_limbs(&mut out, n, |i, t| {
            let m = self.moduli[i];
            lift_reduce(t, &last, m.value, half, m.neg(m.reduce(ql.value)));
            self.plans[i].fwd(t);
            self.sub_mul_limb(t, &data[i * n..(i + 1) * n], None, &[], inv[i], i);
        });
        out
    }

    /// `t = (x - t)·w (+ add) (+ Σ a·b over prods)` on one limb of modulus
    /// `mi`, `w = (value, Shoup)`.
    fn sub_mul_limb(
        &self,
        t: &mut [u64],
        x: &[u64],
        add: Option<&[u64]>,
        prods: &[(&[u64], &[u64])],
        w: (u64, u64),
        mi: usize,
    ) {
        if let Some(k) = &self.ifma[mi] {
            ifma::sub_mul(t, x, add, prods, w.0, k);
            return;
        }
        let m = self.moduli[mi];
        let (w, ws) = w;
        for (i, (t, &x)) in t.iter_mut().zip(x).enumerate() {
            let mut r = m.mul_shoup(m.sub(x, *t), w, ws);
            if let Some(a) = add {
                r = m.add(r, a[i]);
            }
            for (a, b) in prods {
                r = m.add(r, m.mul(a[i], b[i]));
            }
            *t = r;
        }
    }

    /// `o0 = Σ_j srcs[j]·kb[j]`, `o1 = Σ_j srcs[j]·ka[j]` on one limb of
    /// modulus `mi`: the key-switching inner product. With IFMA the sums are
    /// reduced once per word instead of once per product.
    pub fn inner_product_limb(
        &self,
        o0: &mut [u64],
        o1: &mut [u64],
        srcs: &[&[u64]],
        kb: &[&[u64]],
        ka: &[&[u64]],
        mi: usize,
    ) {
        if let Some(k) = &self.ifma[mi] {
            ifma::inner_product(o0, o1, srcs, kb, ka, k);
            return;
        }
        o0.fill(0);
        o1.fill(0);
        let plan = &self.plans[mi];
        for ((s, b), a) in srcs.iter().zip(kb).zip(ka) {
            plan.mul_accumulate(o0, s, b);
            plan.mul_accumulate(o1, s, a);
        }
    }

    /// ModDown in place: `data` over Q_level ∪ P (evaluation form) becomes
    /// `round(data / P) (+ add)` over Q_level. The P limbs are consumed, and
    /// each Q limb only needs one limb of scratch.
    pub fn mod_down_in_place(&self, data: &mut Vec<u64>, level: usize, add: Option<&[u64]>) {
        self.mod_down_in_place_plus(data, level, add, &[]);
    }

    /// [`Self::mod_down_in_place`] that also adds `Σ a·b` over `prods`
    /// (polynomials over Q_level): the tensor terms of a ct–ct product are
    /// added without ever being stored.
    pub fn mod_down_in_place_plus(
        &self,
        data: &mut Vec<u64>,
        level: usize,
        add: Option<&[u64]>,
        prods: &[(&[u64], &[u64])],
    ) {
        let n = self.n;
        let nq = level + 1;
        let (qs, ps) = data.split_at_mut(nq * n);
        for_limbs(ps, n, |j, l| {
            let idx = self.num_q + j;
            self.intt_limb(l, idx);
            let m = self.moduli[idx];
            let h = self.p_half[idx];
            if self.num_p == 1 {
                // (P/p_0)^{-1} = 1: only the rounding offset is added.
                for x in l.iter_mut() {
                    *x = m.add(*x, h);
                }
            } else {
                let (w, ws) = self.phat_inv_mod_p[j];
                for x in l.iter_mut() {
                    *x = m.mul_shoup(m.add(*x, h), w, ws);
                }
            }
        });
        let ps = &*ps;
        let overflow = self.conversion_overflow(ps);
        for_limbs_scratch(qs, n, |i, limb, t| {
            let m = self.moduli[i];
            let h = self.p_half[i];
            if self.num_p == 1 {
                // One special prime: the conversion is an exact reduction (phat = 1).
                reduce_sub(t, &ps[..n], m.value, h);
            } else {
                let coef = &self.phat_mod_q[i];
                let pm = self.p_mod_q[i];
                for (x, t) in t.iter_mut().enumerate() {
                    let mut acc: u128 = 0;
                    for (j, &c) in coef.iter().enumerate() {
                        acc += ps[j * n + x] as u128 * c as u128;
                    }
                    // u < num_p <= 60, so u·(q_i - P mod q_i) keeps the sum below 2^128.
                    acc += (m.value as u128 - pm as u128) * overflow[x] as u128;
                    *t = m.sub(m.reduce_u128(acc), h);
                }
            }
            self.plans[i].fwd(t);
            // limb = (limb - t)·P^{-1} (+ add), computed in place as (t - limb)·(-P^{-1}).
            let r = i * n..(i + 1) * n;
            let limb_prods: Vec<(&[u64], &[u64])> = prods
                .iter()
                .map(|(a, b)| (&a[r.clone()], &b[r.clone()]))
                .collect();
            self.sub_mul_limb(
                limb,
                t,
                add.map(|a| &a[r.clone()]),
                &limb_prods,
                self.neg_p_inv_mod_q[i],
                i,
            );
        });
        data.truncate(nq * n);
    }

    /// The values `v_i = [x_i·(D/q_i)^{-1}]_{q_i}` of a digit with primes
    /// `lo..hi` (coefficient form, in place); the identity for one-prime digits.
    pub fn digit_values(&self, coef: &mut [u64], lo: usize, hi: usize) {
        if hi - lo == 1 {
            return;
        }
        let n = self.n;
        for di in lo..hi {
            let m = self.moduli[di];
            let dhat = (lo..hi)
                .filter(|&d| d != di)
                .fold(1u64, |acc, d| m.mul(acc, m.reduce(self.moduli[d].value)));
            let w = m.inv(dhat);
            let ws = m.shoup(w);
            for x in coef[(di - lo) * n..(di - lo + 1) * n].iter_mut() {
                *x = m.mul_shoup(*x, w, ws);
            }
        }
    }

    /// ModUp of one digit (primes `lo..hi`, values `v` from [`Self::digit_values`])
    /// into one limb of modulus `ti` outside the digit, in evaluation form.
    pub fn mod_up_limb(&self, v: &[u64], lo: usize, hi: usize, ti: usize, o: &mut [u64]) {
        let n = self.n;
        let m = self.moduli[ti];
        // Lift with centred representatives: a lift biased towards [0, D)
        // would add (D/2)·(1 + X + … + X^{N-1})·e/P to the key-switching
        // error, a low-frequency term the canonical embedding amplifies.
        let d_mod_t = (lo..hi).fold(1u64, |acc, d| m.mul(acc, m.reduce(self.moduli[d].value)));
        let neg_d = m.neg(d_mod_t);
        if hi - lo == 1 {
            // One prime per digit: the lift is an exact (centred) reduction.
            lift_reduce(o, &v[..n], m.value, self.moduli[lo].value / 2, neg_d);
        } else {
            let coefs: Vec<u64> = (lo..hi)
                .map(|di| {
                    (lo..hi)
                        .filter(|&d| d != di)
                        .fold(1u64, |acc, d| m.mul(acc, m.reduce(self.moduli[d].value)))
                })
                .collect();
            let halves: Vec<u64> = (lo..hi).map(|d| self.moduli[d].value / 2).collect();
            for (x, o) in o.iter_mut().enumerate() {
                let mut acc: u128 = 0;
                let mut negatives = 0u64;
                for (i, &c) in coefs.iter().enumerate() {
                    let vi = v[i * n + x];
                    acc += vi as u128 * c as u128;
                    negatives += (vi > halves[i]) as u64;
                }
                // Each centred v_i - q_i contributes -q_i·(D/q_i) = -D.
                acc += negatives as u128 * neg_d as u128;
                *o = m.reduce_u128(acc);
            }
        }
        self.plans[ti].fwd(o);
    }

    /// The overflow of the fast base conversion from P: it yields
    /// [x]_P + u·P with u = floor(Σ v_j / p_j) per coefficient, where v_j are
    /// the P limbs (coefficient form, rounding offset added) already multiplied
    /// by (P/p_j)^{-1}. u is computed in floating point and removed, so that the
    /// division by P is an exact rounding (a biased u would add a low-frequency
    /// error u·s that the canonical embedding amplifies). Empty with one special
    /// prime, where the conversion is an exact reduction.
    fn conversion_overflow(&self, ps: &[u64]) -> Vec<u64> {
        let n = self.n;
        if self.num_p > 1 {
            (0..n)
                .map(|x| {
                    let f: f64 = (0..self.num_p)
                        .map(|j| ps[j * n + x] as f64 * self.p_recip[j])
                        .sum();
                    f.floor() as u64
                })
                .collect()
        } else {
            Vec::new()
        }
    }

    /// ModDown of `data + error` where `error` is a small coefficient-form
    /// polynomial: it is added in coefficient form inside the conversion, so
    /// it never needs its own NTTs (used by public-key encryption).
    pub fn mod_down_with_error(
        &self,
        data: &[u64],
        level: usize,
        error: Option<&[i64]>,
    ) -> Vec<u64> {
        let n = self.n;
        let nq = level + 1;
        // In public-key encryption `data` is u·pk: these copies of its P part
        // (and the carries derived from them) would give the ephemeral u away.
        let mut ps = Zeroizing::new(data[nq * n..].to_vec());
        for_limbs(&mut ps, n, |j, l| {
            let idx = self.num_q + j;
            self.intt_limb(l, idx);
            let m = self.moduli[idx];
            let h = self.p_half[idx];
            let (w, ws) = self.phat_inv_mod_p[j];
            match error {
                Some(e) => {
                    for (x, &e) in l.iter_mut().zip(e) {
                        *x = m.mul_shoup(m.add(m.add(*x, m.reduce_i64(e)), h), w, ws);
                    }
                }
                None => {
                    for x in l.iter_mut() {
                        *x = m.mul_shoup(m.add(*x, h), w, ws);
                    }
                }
            }
        });
        let overflow = Zeroizing::new(self.conversion_overflow(&ps));
        // Each output limb first holds the converted value t (then NTT(t)),
        // then (x - t)·P^{-1}: no copies of the input and no scratch buffers.
        let mut out = vec![0u64; nq * n];
        for_limbs(&mut out, n, |i, t| {
            let m = self.moduli[i];
            let coef = &self.phat_mod_q[i];
            let h = self.p_half[i];
            let pm = self.p_mod_q[i];
            if self.num_p == 1 {
                // One special prime: the conversion is an exact reduction (phat = 1).
                for (t, &x) in t.iter_mut().zip(&ps[..n]) {
                    *t = m.sub(m.reduce(x), h);
                }
            } else {
                for (x, t) in t.iter_mut().enumerate() {
                    let mut acc: u128 = 0;
                    for (j, &c) in coef.iter().enumerate() {
                        acc += ps[j * n + x] as u128 * c as u128;
                    }
                    // u < num_p <= 60, so u·(q_i - P mod q_i) keeps the sum below 2^128.
                    acc += (m.value as u128 - pm as u128) * overflow[x] as u128;
                    *t = m.sub(m.reduce_u128(acc), h);
                }
            }
            if let Some(e) = error {
                // (x + e) - conv  ==  x - (conv - e)
                for (t, &e) in t.iter_mut().zip(e) {
                    *t = m.sub(*t, m.reduce_i64(e));
                }
            }
            self.plans[i].fwd(t);
            let (w, ws) = self.p_inv_mod_q[i];
            for (t, &x) in t.iter_mut().zip(&data[i * n..(i + 1) * n]) {
                *t = m.mul_shoup(m.sub(x, *t), w, ws);
            }
        });
        out
    }

    #[allow(clippy::needless_range_loop)] // res is updated in place by index
    /// Exact centred values of a coefficient-form polynomial over q_0..q_level,
    /// as f64 (balanced mixed-radix conversion, no big integers).
    pub fn to_centered_f64(&self, coef: &[u64], level: usize) -> Vec<f64> {
        let n = self.n;
        let mut out = vec![0f64; n];
        let mut res = vec![0u64; level + 1];
        for (x, o) in out.iter_mut().enumerate() {
            for (i, r) in res.iter_mut().enumerate() {
                *r = coef[i * n + x];
            }
            let mut value = 0f64;
            let mut weight = 1f64;
            for i in 0..=level {
                if i > 0 && res[i..].iter().all(|&r| r == 0) {
                    // The remaining mixed-radix digits are all zero: exact already.
                    break;
                }
                let qi = self.moduli[i].value;
                let r = res[i];
                // Centred digit in (-q_i/2, q_i/2].
                let d: i64 = if r > qi / 2 {
                    r as i64 - qi as i64
                } else {
                    r as i64
                };
                value += d as f64 * weight;
                weight *= qi as f64;
                for j in i + 1..=level {
                    let m = self.moduli[j];
                    let t = m.sub(res[j], m.reduce_i64(d));
                    res[j] = m.mul(t, self.garner_inv[j][i]);
                }
            }
            *o = value;
        }
        out
    }
}

/// `v` rounded to the nearest integer, for `0 <= v < 2^51`: adding 2^52
/// leaves the integer in the low mantissa bits. Unlike `v as u64` (a
/// saturating conversion that LLVM scalarizes), this vectorizes.
#[inline(always)]
fn round_small(v: f64) -> u64 {
    const MAGIC: f64 = 4_503_599_627_370_496.0; // 2^52
    (v + MAGIC).to_bits() - MAGIC.to_bits()
}

/// `x mod t` for `x < 2^61`, `t >= 2^19` and `inv_t = 1 / t`: the f64
/// quotient is off by at most one, fixed by two selects (vectorizable).
#[inline(always)]
fn reduce_by_f64(x: u64, t: u64, inv_t: f64) -> u64 {
    let q = round_small(x as f64 * inv_t);
    let r = x.wrapping_sub(q.wrapping_mul(t));
    let r = if (r as i64) < 0 { r.wrapping_add(t) } else { r };
    r.min(r.wrapping_sub(t))
}

/// `o[i] = (x[i] > half ? x[i] - q : x[i]) mod t` for residues `x[i] < 2^61`
/// of a prime `q` (`neg_d = -q mod t`): the centred single-prime lift.
///
/// Written with floating-point quotients and selects so that, compiled with
/// AVX-512 enabled (runtime dispatch through pulp), LLVM vectorizes it.
fn lift_reduce(o: &mut [u64], x: &[u64], t: u64, half: u64, neg_d: u64) {
    #[inline(always)]
    fn body(o: &mut [u64], x: &[u64], t: u64, half: u64, neg_d: u64) {
        let inv_t = 1.0 / t as f64;
        for (o, &x) in o.iter_mut().zip(x) {
            let r = reduce_by_f64(x, t, inv_t);
            let v = r + if x > half { neg_d } else { 0 };
            *o = v.min(v.wrapping_sub(t));
        }
    }
    #[cfg(target_arch = "x86_64")]
    if crate::arith::avx512_allowed()
        && let Some(simd) = pulp::x86::V4::try_new()
    {
        simd.vectorize(
            #[inline(always)]
            || body(o, x, t, half, neg_d),
        );
        return;
    }
    body(o, x, t, half, neg_d)
}

/// `o[i] = (x[i] mod t) - h mod t` for `x[i] < 2^61`, `h < t`: the
/// conversion step of ModDown with one special prime (vectorized like
/// [`lift_reduce`]).
fn reduce_sub(o: &mut [u64], x: &[u64], t: u64, h: u64) {
    #[inline(always)]
    fn body(o: &mut [u64], x: &[u64], t: u64, h: u64) {
        let inv_t = 1.0 / t as f64;
        for (o, &x) in o.iter_mut().zip(x) {
            let r = reduce_by_f64(x, t, inv_t);
            let v = r.wrapping_sub(h);
            *o = v.min(v.wrapping_add(t));
        }
    }
    #[cfg(target_arch = "x86_64")]
    if crate::arith::avx512_allowed()
        && let Some(simd) = pulp::x86::V4::try_new()
    {
        simd.vectorize(
            #[inline(always)]
            || body(o, x, t, h),
        );
        return;
    }
    body(o, x, t, h)
}

/// Finds which power of a primitive 2N-th root each NTT output index holds,
/// and checks that every prime's plan uses the same order (so one permutation
/// table serves all limbs).
fn discover_ntt_order(
    n: usize,
    moduli: &[Modulus],
    plans: &[Plan],
) -> Result<(Vec<u32>, Vec<u32>)> {
    let two_n = 2 * n;
    let mut ntt_exp = vec![0u32; n];
    let mut exp_index = vec![u32::MAX; n];
    for (k, (m, plan)) in moduli.iter().zip(plans).enumerate() {
        let mut x = vec![0u64; n];
        x[1] = 1;
        plan.fwd(&mut x);
        let g = x[0];
        if k == 0 {
            let mut by_value: HashMap<u64, u32> = HashMap::with_capacity(n);
            let g2 = m.mul(g, g);
            let mut pw = g;
            for e in (1..two_n).step_by(2) {
                by_value.insert(pw, e as u32);
                pw = m.mul(pw, g2);
            }
            for (j, v) in x.iter().enumerate() {
                let e = *by_value.get(v).ok_or(CkksError::NttOrder)?;
                ntt_exp[j] = e;
                exp_index[(e as usize - 1) / 2] = j as u32;
            }
            if exp_index.contains(&u32::MAX) {
                return Err(CkksError::NttOrder);
            }
        } else {
            let mut pow_by_exp = vec![0u64; two_n];
            let g2 = m.mul(g, g);
            let mut pw = g;
            for e in (1..two_n).step_by(2) {
                pow_by_exp[e] = pw;
                pw = m.mul(pw, g2);
            }
            for (j, v) in x.iter().enumerate() {
                if pow_by_exp[ntt_exp[j] as usize] != *v {
                    return Err(CkksError::NttOrder);
                }
            }
        }
    }
    Ok((ntt_exp, exp_index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RnsContext {
        let mut used = vec![];
        for b in [50, 40, 40, 30, 31] {
            used.push(crate::arith::ntt_prime_below(b, 2 * 64, &used).unwrap());
        }
        RnsContext::new(6, &used[..3], &used[3..], 2).unwrap()
    }

    fn negacyclic(a: &[i64], b: &[i64]) -> Vec<i64> {
        let n = a.len();
        let mut out = vec![0i64; n];
        for i in 0..n {
            for j in 0..n {
                let p = a[i] * b[j];
                if i + j < n {
                    out[i + j] += p
                } else {
                    out[i + j - n] -= p
                }
            }
        }
        out
    }

    #[test]
    fn ntt_multiplication_is_negacyclic_and_automorphism_matches() {
        let c = ctx();
        let n = c.n;
        let a: Vec<i64> = (0..n as i64).map(|i| (i * 7 % 11) - 5).collect();
        let b: Vec<i64> = (0..n as i64).map(|i| (i * 3 % 5) - 2).collect();
        let basis = c.q_basis(2);
        let mut pa = c.reduce_signed(&a, &basis);
        let mut pb = c.reduce_signed(&b, &basis);
        c.ntt(&mut pa, &basis);
        c.ntt(&mut pb, &basis);
        let mut prod = vec![0; pa.len()];
        c.mul(&mut prod, &pa, &pb, &basis);
        c.intt(&mut prod, &basis);
        let expect = c.reduce_signed(&negacyclic(&a, &b), &basis);
        assert_eq!(prod, expect);
        // X -> X^5 in evaluation form equals the coefficient-form map.
        let g = 5u64;
        let perm = c.galois_permutation(g);
        let mut rot = vec![0; pa.len()];
        c.permute(&mut rot, &pa, &perm);
        c.intt(&mut rot, &basis);
        let mut expect = vec![0i64; n];
        for (i, &v) in a.iter().enumerate() {
            let e = (i as u64 * g) % (2 * n as u64);
            if e < n as u64 {
                expect[e as usize] += v
            } else {
                expect[e as usize - n] -= v
            }
        }
        assert_eq!(rot, c.reduce_signed(&expect, &basis));
    }

    proptest::proptest! {
        #[test]
        fn lift_reduce_matches_definition(xs in proptest::collection::vec(proptest::prelude::any::<u64>(), 16..64), qi in 0usize..3, ti in 0usize..3) {
            let q = [(1u64 << 60) - 93, 1_099_510_054_913, (1u64 << 20) - 3][qi];
            let t = [1_152_921_504_606_748_673u64, 1_099_508_121_601, 786_433][ti];
            let mut x: Vec<u64> = xs.iter().map(|v| v % q).collect();
            x.extend([0, q - 1, q / 2, q / 2 + 1, t.min(q - 1), (t - 1).min(q - 1)]);
            let mut o = vec![0u64; x.len()];
            lift_reduce(&mut o, &x, t, q / 2, (t - q % t) % t);
            for (o, &x) in o.iter().zip(&x) {
                let centred = if x > q / 2 { x as i128 - q as i128 } else { x as i128 };
                proptest::prop_assert_eq!(*o as i128, centred.rem_euclid(t as i128));
            }
        }
    }

    fn down_eval(c: &RnsContext, d: &[u64]) -> Vec<u64> {
        let mut v = d.to_vec();
        c.mod_down_in_place(&mut v, 1, None);
        v
    }

    proptest::proptest! {
        #[test]
        fn reduce_sub_matches_definition(xs in proptest::collection::vec(proptest::prelude::any::<u64>(), 16..64), ti in 0usize..3, h in proptest::prelude::any::<u64>()) {
            let t = [1_152_921_504_606_748_673u64, 1_099_508_121_601, 786_433][ti];
            let mut x: Vec<u64> = xs.iter().map(|v| v >> 3).collect(); // < 2^61
            x.extend([0, t - 1, t, t + 1, (1u64 << 61) - 1]);
            let h = h % t;
            let mut o = vec![0u64; x.len()];
            reduce_sub(&mut o, &x, t, h);
            for (o, &x) in o.iter().zip(&x) {
                proptest::prop_assert_eq!(*o as i128, (x as i128 - h as i128).rem_euclid(t as i128));
            }
        }
    }

    #[test]
    fn mod_down_with_one_special_prime_rounds_correctly() {
        // One special prime: the vectorized exact-reduction path of ModDown.
        let mut used = vec![];
        for b in [50, 40, 40, 45] {
            used.push(crate::arith::ntt_prime_below(b, 2 * 64, &used).unwrap());
        }
        let c = RnsContext::new(6, &used[..3], &used[3..], 1).unwrap();
        assert_mod_down_divides_by_p(&c, 2, 1.0);
    }

    /// ModDown fixture at `level`: small values times P (the product of the
    /// special primes) plus small noise, in every limb of the QP basis, NTT'd.
    /// Checks that ModDown brings back the small values within `tol` and
    /// returns the fixture for further checks.
    fn assert_mod_down_divides_by_p(c: &RnsContext, level: usize, tol: f64) -> Vec<u64> {
        let n = c.n;
        let p_product: i128 = c.moduli[c.num_q..c.num_q + c.num_p]
            .iter()
            .map(|m| m.value as i128)
            .product();
        let qp = c.qp_basis(level);
        let small: Vec<i128> = (0..n as i128).map(|i| i * 1_000_003 - 5_000_000).collect();
        let mut d = vec![0u64; qp.len() * n];
        for (l, &mi) in qp.iter().enumerate() {
            let m = c.moduli[mi].value as i128;
            for x in 0..n {
                d[l * n + x] = (small[x] * p_product + (x as i128 - 20) * 997).rem_euclid(m) as u64;
            }
        }
        c.ntt(&mut d, &qp);
        let mut down = d.clone();
        c.mod_down_in_place(&mut down, level, None);
        c.intt(&mut down, &c.q_basis(level));
        let got = c.to_centered_f64(&down, level);
        for x in 0..n {
            assert!((got[x] - small[x] as f64).abs() <= tol, "{x}");
        }
        d
    }

    #[test]
    fn rescale_and_mod_down_round_correctly() {
        let c = ctx();
        let n = c.n;
        let q2 = c.moduli[2].value as i128;
        let vals: Vec<i128> = (0..n as i128)
            .map(|i| (i - 30) * q2 * 1000 + (i * 12345) - 400_000)
            .collect();
        let mut p = vec![0u64; 3 * n];
        for l in 0..3 {
            let m = c.moduli[l].value as i128;
            for x in 0..n {
                p[l * n + x] = vals[x].rem_euclid(m) as u64;
            }
        }
        let basis = c.q_basis(2);
        c.ntt(&mut p, &basis);
        let mut r = c.rescale(&p, 2);
        c.intt(&mut r, &c.q_basis(1));
        let got = c.to_centered_f64(&r, 1);
        for x in 0..n {
            let expect = (vals[x] as f64 / q2 as f64).round();
            assert!(
                (got[x] - expect).abs() <= 0.5 + 1e-9,
                "{x}: {} vs {expect}",
                got[x]
            );
        }
        // ModDown: values times P plus small noise come back divided by P.
        let d = assert_mod_down_divides_by_p(&c, 1, 2.0);
        // The encryption variant (error added inside) agrees with it.
        assert_eq!(down_eval(&c, &d), c.mod_down_with_error(&d, 1, None));
    }
}
