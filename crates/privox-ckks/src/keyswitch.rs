//! Hybrid key switching (Han–Ki 2020 / "GHS with digits"): decompose a
//! polynomial into `dnum` digits of `alpha` primes, lift each digit to Q·P
//! (ModUp), take the inner product with the key, and divide by P (ModDown).
//!
//! The decomposition is independent of the key, so many rotations of one
//! ciphertext share it (hoisting): an automorphism is a permutation of the
//! evaluation form and commutes with the digit lift.

use crate::keys::KeySwitchKey;
use crate::rns::{for_limbs, RnsContext};

/// The ModUp digits of a polynomial at `level`, each over Q_level ∪ P in
/// evaluation form.
pub(crate) struct Decomposed {
    pub level: usize,
    pub digits: Vec<Vec<u64>>,
}

pub(crate) fn decompose(ctx: &RnsContext, poly: &[u64], level: usize) -> Decomposed {
    let n = ctx.n;
    let mut coef = poly.to_vec();
    ctx.intt(&mut coef, &ctx.q_basis(level));
    let target = ctx.qp_basis(level);
    let digits = (0..(level + 1).div_ceil(ctx.alpha))
        .map(|j| {
            let lo = j * ctx.alpha;
            let hi = ((j + 1) * ctx.alpha).min(level + 1);
            let digit: Vec<usize> = (lo..hi).collect();
            ctx.mod_up_digit(&coef[lo * n..hi * n], &poly[lo * n..hi * n], &digit, &target)
        })
        .collect();
    Decomposed { level, digits }
}

/// Inner product of the (optionally permuted) digits with the key, then
/// ModDown. Returns `(k0, k1)` over Q_level with `k0 + k1·s ≈ d·s'`.
pub(crate) fn apply_key(
    ctx: &RnsContext,
    dec: &Decomposed,
    key: &KeySwitchKey,
    perm: Option<&[u32]>,
) -> (Vec<u64>, Vec<u64>) {
    let n = ctx.n;
    let basis = ctx.qp_basis(dec.level);
    let mut acc = vec![0u64; 2 * basis.len() * n];
    let (acc0, acc1) = acc.split_at_mut(basis.len() * n);
    let inner = |t: usize, out: &mut [u64], keys: &[Vec<u64>]| {
        let mi = basis[t];
        let m = ctx.moduli[mi];
        let mut wide = vec![0u128; n];
        for (d, k) in dec.digits.iter().zip(keys) {
            let d = &d[t * n..(t + 1) * n];
            let k = &k[mi * n..(mi + 1) * n];
            match perm {
                // Digits < 64 terms of < 2^122 each: no u128 overflow.
                None => {
                    for ((w, &x), &y) in wide.iter_mut().zip(d).zip(k) {
                        *w += x as u128 * y as u128;
                    }
                }
                Some(p) => {
                    for ((w, &pi), &y) in wide.iter_mut().zip(p).zip(k) {
                        *w += d[pi as usize] as u128 * y as u128;
                    }
                }
            }
        }
        for (o, w) in out.iter_mut().zip(&wide) {
            *o = m.reduce_u128(*w);
        }
    };
    for_limbs(acc0, n, |t, out| inner(t, out, &key.b));
    for_limbs(acc1, n, |t, out| inner(t, out, &key.a));
    (ctx.mod_down(acc0, dec.level), ctx.mod_down(acc1, dec.level))
}
