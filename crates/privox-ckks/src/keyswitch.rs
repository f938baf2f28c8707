//! Hybrid key switching (Han–Ki 2020 / "GHS with digits"): decompose a
//! polynomial into `dnum` digits of `alpha` primes, lift each digit to Q·P
//! (ModUp), take the inner product with the key, and divide by P (ModDown).
//!
//! The decomposition is independent of the key, so many rotations of one
//! ciphertext share it (hoisting): an automorphism is a permutation of the
//! evaluation form and commutes with the digit lift.

use crate::keys::KeySwitchKey;
use crate::rns::RnsContext;
use rayon::prelude::*;

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
            ctx.mod_up_digit(
                &coef[lo * n..hi * n],
                &poly[lo * n..hi * n],
                &digit,
                &target,
            )
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
    // Limb by limb: acc += digit_j · key_j with tfhe-ntt's SIMD multiply-accumulate;
    // a rotation gathers each digit limb once and reuses it for both key halves.
    let limb = |t: usize, o0: &mut [u64], o1: &mut [u64]| {
        let mi = basis[t];
        let mut scratch = vec![0u64; if perm.is_some() { n } else { 0 }];
        for (j, d) in dec.digits.iter().enumerate() {
            let d = &d[t * n..(t + 1) * n];
            let src: &[u64] = match perm {
                None => d,
                Some(p) => {
                    for (s, &pi) in scratch.iter_mut().zip(p) {
                        // perm entries are < n (galois_permutation).
                        *s = d[pi as usize];
                    }
                    &scratch
                }
            };
            ctx.mul_add_limb(o0, src, &key.b[j][mi * n..(mi + 1) * n], mi);
            ctx.mul_add_limb(o1, src, &key.a[j][mi * n..(mi + 1) * n], mi);
        }
    };
    if rayon::current_num_threads() > 1 {
        acc0.par_chunks_mut(n)
            .zip(acc1.par_chunks_mut(n))
            .enumerate()
            .for_each(|(t, (o0, o1))| limb(t, o0, o1));
    } else {
        for (t, (o0, o1)) in acc0.chunks_mut(n).zip(acc1.chunks_mut(n)).enumerate() {
            limb(t, o0, o1);
        }
    }
    (ctx.mod_down(acc0, dec.level), ctx.mod_down(acc1, dec.level))
}
