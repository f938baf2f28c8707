//! Hybrid key switching (Han–Ki 2020 / "GHS with digits"): decompose a
//! polynomial into `dnum` digits of `alpha` primes, lift each digit to Q·P
//! (ModUp), take the inner product with the key, and divide by P (ModDown).
//!
//! The work is organised limb by limb of Q·P: for one target limb, every
//! digit is lifted into a small scratch buffer (a digit's own limbs are used
//! in place: they already are in evaluation form), and the inner product with
//! the key runs over all digits at once with one reduction per word. So a
//! single key switch never materialises the lifted digits (7 MB at N = 2^14).
//!
//! The decomposition is independent of the key, so many rotations of one
//! ciphertext share it (hoisting, [`decompose`] + [`apply_key`]): an
//! automorphism is a permutation of the evaluation form and commutes with the
//! digit lift.

use crate::keys::KeySwitchKey;
use crate::rns::RnsContext;
use rayon::prelude::*;

/// The ModUp digits of a polynomial at `level`, stored target-limb-major:
/// limb `t` of Q_level ∪ P of digit `j` is at `(t·digits + j)·n`.
pub(crate) struct Decomposed {
    pub level: usize,
    digits: usize,
    limbs: Vec<u64>,
}

/// Number of digits at `level` and the q-prime range of digit `j`.
fn digit_count(ctx: &RnsContext, level: usize) -> usize {
    (level + 1).div_ceil(ctx.alpha)
}
fn digit_range(ctx: &RnsContext, j: usize, level: usize) -> (usize, usize) {
    (j * ctx.alpha, ((j + 1) * ctx.alpha).min(level + 1))
}

/// The digits' values in coefficient form (inverse NTT, scaled for
/// multi-prime digits): what every lifted limb is computed from.
fn digit_values(ctx: &RnsContext, poly: &[u64], level: usize) -> Vec<u64> {
    let n = ctx.n;
    let mut coef = poly[..(level + 1) * n].to_vec();
    ctx.intt(&mut coef, &ctx.q_basis(level));
    for j in 0..digit_count(ctx, level) {
        let (lo, hi) = digit_range(ctx, j, level);
        ctx.digit_values(&mut coef[lo * n..hi * n], lo, hi);
    }
    coef
}

/// Every digit lifted into target modulus `mi`: borrowed from `poly` for
/// the digit that contains `mi`, computed into `scratch` (one limb per digit)
/// for the others.
fn lifted_sources<'a>(
    ctx: &RnsContext,
    poly: &'a [u64],
    values: &[u64],
    level: usize,
    mi: usize,
    scratch: &'a mut [u64],
) -> Vec<&'a [u64]> {
    let n = ctx.n;
    let mut free = scratch.chunks_mut(n);
    (0..digit_count(ctx, level))
        .map(|j| {
            let (lo, hi) = digit_range(ctx, j, level);
            if (lo..hi).contains(&mi) {
                &poly[mi * n..(mi + 1) * n]
            } else {
                // scratch has one limb per digit, and each digit takes at most one.
                let o = free.next().expect("one scratch limb per digit");
                ctx.mod_up_limb(&values[lo * n..hi * n], lo, hi, mi, o);
                &*o
            }
        })
        .collect()
}

/// Runs `limb(t, mi, out0, out1, scratch)` for every target limb of
/// Q_level ∪ P, limb-parallel when rayon has more than one thread; `scratch`
/// holds `scratch_limbs` limbs per worker.
fn for_target_limbs<F>(
    ctx: &RnsContext,
    level: usize,
    scratch_limbs: usize,
    limb: F,
) -> (Vec<u64>, Vec<u64>)
where
    F: Fn(usize, usize, &mut [u64], &mut [u64], &mut [u64]) + Sync + Send,
{
    let n = ctx.n;
    let target = ctx.qp_basis(level);
    let mut acc0 = vec![0u64; target.len() * n];
    let mut acc1 = vec![0u64; target.len() * n];
    if rayon::current_num_threads() > 1 {
        acc0.par_chunks_mut(n)
            .zip(acc1.par_chunks_mut(n))
            .enumerate()
            .for_each_init(
                || vec![0u64; scratch_limbs * n],
                |scratch, (t, (o0, o1))| limb(t, target[t], o0, o1, scratch),
            );
    } else {
        let mut scratch = vec![0u64; scratch_limbs * n];
        for (t, (o0, o1)) in acc0.chunks_mut(n).zip(acc1.chunks_mut(n)).enumerate() {
            limb(t, target[t], o0, o1, &mut scratch);
        }
    }
    (acc0, acc1)
}

/// The key's limb `mi` of every digit, b and a halves.
fn key_limbs<'k>(
    ctx: &RnsContext,
    key: &'k KeySwitchKey,
    mi: usize,
    digits: usize,
) -> (Vec<&'k [u64]>, Vec<&'k [u64]>) {
    let n = ctx.n;
    let l = key.limb_of(ctx, mi);
    (
        key.b[..digits]
            .iter()
            .map(|p| &p[l * n..(l + 1) * n])
            .collect(),
        key.a[..digits]
            .iter()
            .map(|p| &p[l * n..(l + 1) * n])
            .collect(),
    )
}

/// Key switch of `poly` (evaluation form over Q_level) before ModDown:
/// `(k0, k1)` over Q_level ∪ P with `k0 + k1·s ≈ P·poly·s'`. Finish with
/// [`RnsContext::mod_down_in_place`].
pub(crate) fn switch_key(
    ctx: &RnsContext,
    poly: &[u64],
    level: usize,
    key: &KeySwitchKey,
) -> (Vec<u64>, Vec<u64>) {
    let digits = digit_count(ctx, level);
    let values = digit_values(ctx, poly, level);
    for_target_limbs(ctx, level, digits, |_, mi, o0, o1, scratch| {
        let srcs = lifted_sources(ctx, poly, &values, level, mi, scratch);
        let (kb, ka) = key_limbs(ctx, key, mi, digits);
        ctx.inner_product_limb(o0, o1, &srcs, &kb, &ka, mi);
    })
}

/// Lifts every digit of `poly` once, for several [`apply_key`] calls.
pub(crate) fn decompose(ctx: &RnsContext, poly: &[u64], level: usize) -> Decomposed {
    let n = ctx.n;
    let digits = digit_count(ctx, level);
    let values = digit_values(ctx, poly, level);
    let target = ctx.qp_basis(level);
    let mut limbs = vec![0u64; target.len() * digits * n];
    let fill = |t: usize, out: &mut [u64]| {
        let mi = target[t];
        let mut scratch = vec![0u64; digits * n];
        let srcs = lifted_sources(ctx, poly, &values, level, mi, &mut scratch);
        for (o, s) in out.chunks_mut(n).zip(srcs) {
            o.copy_from_slice(s);
        }
    };
    if rayon::current_num_threads() > 1 {
        limbs
            .par_chunks_mut(digits * n)
            .enumerate()
            .for_each(|(t, out)| fill(t, out));
    } else {
        for (t, out) in limbs.chunks_mut(digits * n).enumerate() {
            fill(t, out);
        }
    }
    Decomposed {
        level,
        digits,
        limbs,
    }
}

/// Inner product of decomposed digits with the key, before ModDown (see
/// [`switch_key`]).
pub(crate) fn apply_key(
    ctx: &RnsContext,
    dec: &Decomposed,
    key: &KeySwitchKey,
) -> (Vec<u64>, Vec<u64>) {
    let n = ctx.n;
    let d = dec.digits;
    for_target_limbs(ctx, dec.level, 0, |t, mi, o0, o1, _| {
        let srcs: Vec<&[u64]> = dec.limbs[t * d * n..(t + 1) * d * n].chunks(n).collect();
        let (kb, ka) = key_limbs(ctx, key, mi, d);
        ctx.inner_product_limb(o0, o1, &srcs, &kb, &ka, mi);
    })
}
