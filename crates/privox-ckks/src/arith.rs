//! Word-sized modular arithmetic: Barrett reduction of 128-bit values, Shoup
//! multiplication by precomputed constants, and NTT-friendly prime search.
//!
//! All moduli are odd primes below 2^61, so sums of up to 64 products of
//! reduced values fit in a `u128` (lazy reduction in inner products).

/// The variable that switches off this crate's own AVX-512 kernels (IFMA
/// inner products, the 512-bit lift/reduce loops and linear-combination
/// tiles) so that the portable paths run on a CPU that has AVX-512; `.ci/run`
/// runs the tests once more with it. tfhe-ntt's NTT still dispatches on its own.
pub const NO_AVX512_VAR: &str = "PRIVOX_CKKS_NO_AVX512";

/// Whether the AVX-512 kernels may be used: false when `PRIVOX_CKKS_NO_AVX512=1`
/// (read once, at the first call).
pub(crate) fn avx512_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var_os(NO_AVX512_VAR).is_none_or(|v| v != "1"))
}

/// A prime modulus with its Barrett constant `floor(2^128 / p)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Modulus {
    pub value: u64,
    ratio_lo: u64,
    ratio_hi: u64,
    /// floor(2^64 / p): the Shoup companion of 1, for one-multiply reduction of any u64.
    one_shoup: u64,
}

impl Modulus {
    pub fn new(value: u64) -> Self {
        // p is odd, so floor((2^128 - 1) / p) == floor(2^128 / p).
        let ratio = u128::MAX / value as u128;
        Modulus {
            value,
            ratio_lo: ratio as u64,
            ratio_hi: (ratio >> 64) as u64,
            one_shoup: ((1u128 << 64) / value as u128) as u64,
        }
    }

    /// `x mod p` for any `x < 2^128` (Barrett, base 2^64).
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let x0 = x as u64;
        let x1 = (x >> 64) as u64;
        let carry = ((x0 as u128 * self.ratio_lo as u128) >> 64) as u64;
        let t = x0 as u128 * self.ratio_hi as u128 + carry as u128;
        let t2 = x1 as u128 * self.ratio_lo as u128 + (t as u64) as u128;
        let q = x1
            .wrapping_mul(self.ratio_hi)
            .wrapping_add((t >> 64) as u64)
            .wrapping_add((t2 >> 64) as u64);
        // The quotient estimate is short by at most 2, and 3p < 2^64.
        let r = x0.wrapping_sub(q.wrapping_mul(self.value));
        let r = r.min(r.wrapping_sub(self.value));
        r.min(r.wrapping_sub(self.value))
    }

    /// `x mod p` for any `x < 2^64`, branch-free (Shoup multiplication by 1).
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        self.mul_shoup(x, 1, self.one_shoup)
    }

    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        // `min` with the wrapped difference compiles to a conditional move,
        // never to a branch on data (which would mispredict half the time).
        let s = a + b;
        s.min(s.wrapping_sub(self.value))
    }

    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        let d = a.wrapping_sub(b);
        d.min(d.wrapping_add(self.value))
    }

    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        std::hint::select_unpredictable(a == 0, 0, self.value - a)
    }

    /// Shoup companion of a constant `w < p`: `floor(w * 2^64 / p)`.
    #[inline(always)]
    pub fn shoup(&self, w: u64) -> u64 {
        (((w as u128) << 64) / self.value as u128) as u64
    }

    /// `x * w mod p` for any `x < 2^64`, with `w_shoup = self.shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup(&self, x: u64, w: u64, w_shoup: u64) -> u64 {
        let q = ((x as u128 * w_shoup as u128) >> 64) as u64;
        let r = x.wrapping_mul(w).wrapping_sub(q.wrapping_mul(self.value));
        r.min(r.wrapping_sub(self.value))
    }

    pub fn pow(&self, mut base: u64, mut exp: u64) -> u64 {
        let mut acc = 1u64;
        base = self.reduce(base);
        while exp > 0 {
            if exp & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            exp >>= 1;
        }
        acc
    }

    /// Inverse modulo the prime (Fermat); `a` must be non-zero mod p.
    pub fn inv(&self, a: u64) -> u64 {
        self.pow(a, self.value - 2)
    }

    /// Reduces a signed integer into `[0, p)` without branching on its sign.
    #[inline(always)]
    pub fn reduce_i64(&self, x: i64) -> u64 {
        let mag = self.reduce(x.unsigned_abs());
        std::hint::select_unpredictable(x < 0, self.neg(mag), mag)
    }

    /// Number of significant bits of the modulus.
    pub fn bits(&self) -> u32 {
        64 - self.value.leading_zeros()
    }
}

fn mul_mod_u64(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

fn pow_mod_u64(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut acc = 1u64 % m;
    b %= m;
    while e > 0 {
        if e & 1 == 1 {
            acc = mul_mod_u64(acc, b, m);
        }
        b = mul_mod_u64(b, b, m);
        e >>= 1;
    }
    acc
}

/// Deterministic Miller–Rabin for all 64-bit integers (the first 12 prime
/// bases are a proven witness set below 3.3 * 10^24).
pub(crate) fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for &p in &BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'witness: for &a in &BASES {
        let mut x = pow_mod_u64(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod_u64(x, x, n);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// The largest primes `p < 2^bits` with `p ≡ 1 (mod 2n)`, skipping `used`.
///
/// Deterministic: the same inputs always give the same primes, so parameter
/// sets are reproducible from their description alone.
pub(crate) fn ntt_prime_below(bits: u32, two_n: u64, used: &[u64]) -> Option<u64> {
    let top = 1u64 << bits;
    let low = 1u64 << (bits - 1);
    let mut c = ((top - 2) / two_n) * two_n + 1;
    while c > low {
        if !used.contains(&c) && is_prime(c) {
            return Some(c);
        }
        c = c.checked_sub(two_n)?;
    }
    None
}

/// AVX-512 IFMA kernels for primes below 2^50 (the 40-bit ciphertext primes):
/// the lazily reduced key-switching inner product and `(x - t)·w (+ a)`, the
/// last step of ModDown and rescale. Callers check [`ifma::Consts::new`]
/// (`None` without IFMA or for larger primes) and fall back to scalar code.
///
/// Each kernel repeats its signature three times on purpose: the
/// `#[target_feature]` body, the safe wrapper that checks lengths, and the
/// stand-in off x86_64. The two loop bodies look alike but accumulate
/// different products with different reductions, so they are kept apart.
#[cfg(target_arch = "x86_64")]
pub(crate) mod ifma {
    use std::arch::x86_64::*;

    const M52: u64 = (1 << 52) - 1;
    /// Digits summed before one reduction: the high halves stay below
    /// 14·2^48 + 14 < 2^52 (IFMA reads 52-bit operands), the low halves below 2^56.
    const GROUP: usize = 14;

    /// Per-prime constants of the 52-bit kernels.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Consts {
        p: u64,
        /// 2^52 mod p and its 52-bit Shoup companion floor(c·2^52 / p).
        c: u64,
        c_shoup: u64,
        inv_p: f64,
    }

    fn shoup52(w: u64, p: u64) -> u64 {
        (((w as u128) << 52) / p as u128) as u64
    }

    impl Consts {
        /// Constants for `p`, if `p < 2^50` and the CPU has AVX-512 IFMA.
        pub fn new(p: u64) -> Option<Self> {
            let cpu = super::avx512_allowed()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512ifma");
            if !cpu || !(1 << 20..1 << 50).contains(&p) {
                return None;
            }
            let c = ((1u128 << 52) % p as u128) as u64;
            Some(Consts {
                p,
                c,
                c_shoup: shoup52(c, p),
                inv_p: 1.0 / p as f64,
            })
        }
    }

    /// `(lo + hi·2^52) mod p` for `hi < 2^52`, `lo < 2^64`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn reduce_wide(lo: __m512i, hi: __m512i, k: &Consts) -> __m512i {
        let zero = _mm512_setzero_si512();
        let m52 = _mm512_set1_epi64(M52 as i64);
        let p = _mm512_set1_epi64(k.p as i64);
        // Move lo's bits above 52 into hi: hi < 2^52 still (see GROUP).
        let hi = _mm512_add_epi64(hi, _mm512_srli_epi64::<52>(lo));
        let lo = _mm512_and_si512(lo, m52);
        // hi·c - q·p in [0, 2p) (Shoup with base 2^52), computed modulo 2^52.
        let q = _mm512_madd52hi_epu64(zero, hi, _mm512_set1_epi64(k.c_shoup as i64));
        let x1 = _mm512_madd52lo_epu64(zero, hi, _mm512_set1_epi64(k.c as i64));
        let x2 = _mm512_madd52lo_epu64(zero, q, p);
        let r = _mm512_add_epi64(_mm512_and_si512(_mm512_sub_epi64(x1, x2), m52), lo);
        // r < 2p + 2^52 < 2^53 is exact in f64; the quotient is off by at most one.
        let qf = _mm512_mul_pd(_mm512_cvtepu64_pd(r), _mm512_set1_pd(k.inv_p));
        let r = _mm512_sub_epi64(r, _mm512_mullo_epi64(_mm512_cvttpd_epu64(qf), p));
        let r = _mm512_min_epu64(r, _mm512_add_epi64(r, p));
        _mm512_min_epu64(r, _mm512_sub_epi64(r, p))
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(s: &[u64], x: usize) -> __m512i {
        assert!(x + 8 <= s.len());
        // SAFETY: the 8 words at x are in bounds (checked above); loadu has no alignment need.
        unsafe { _mm512_loadu_epi64(s.as_ptr().add(x) as *const i64) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store(s: &mut [u64], x: usize, v: __m512i) {
        assert!(x + 8 <= s.len());
        // SAFETY: the 8 words at x are in bounds (checked above).
        unsafe { _mm512_storeu_epi64(s.as_mut_ptr().add(x) as *mut i64, v) }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn inner_product_impl(
        o0: &mut [u64],
        o1: &mut [u64],
        srcs: &[&[u64]],
        kb: &[&[u64]],
        ka: &[&[u64]],
        k: &Consts,
    ) {
        let n = o0.len();
        let zero = _mm512_setzero_si512();
        for (g, start) in (0..srcs.len()).step_by(GROUP).enumerate() {
            let end = (start + GROUP).min(srcs.len());
            let (s, b, a) = (&srcs[start..end], &kb[start..end], &ka[start..end]);
            for x in (0..n).step_by(8) {
                // Later groups start from the reduced sum of the earlier ones (< p).
                let (mut lo0, mut lo1) = if g == 0 {
                    (zero, zero)
                } else {
                    (load(o0, x), load(o1, x))
                };
                let (mut hi0, mut hi1) = (zero, zero);
                for ((s, b), a) in s.iter().zip(b).zip(a) {
                    let v = load(s, x);
                    let vb = load(b, x);
                    let va = load(a, x);
                    lo0 = _mm512_madd52lo_epu64(lo0, v, vb);
                    hi0 = _mm512_madd52hi_epu64(hi0, v, vb);
                    lo1 = _mm512_madd52lo_epu64(lo1, v, va);
                    hi1 = _mm512_madd52hi_epu64(hi1, v, va);
                }
                store(o0, x, reduce_wide(lo0, hi0, k));
                store(o1, x, reduce_wide(lo1, hi1, k));
            }
        }
    }

    /// `o0 = Σ_j srcs[j]·kb[j]`, `o1 = Σ_j srcs[j]·ka[j]` mod p, one reduction
    /// per output word. Every input must be reduced (< p); all slices have the
    /// length of `o0`, a multiple of 8.
    pub fn inner_product(
        o0: &mut [u64],
        o1: &mut [u64],
        srcs: &[&[u64]],
        kb: &[&[u64]],
        ka: &[&[u64]],
        k: &Consts,
    ) {
        let n = o0.len();
        assert!(n.is_multiple_of(8) && o1.len() == n);
        assert!(srcs.len() == kb.len() && srcs.len() == ka.len());
        assert!(srcs.iter().chain(kb).chain(ka).all(|s| s.len() == n));
        // SAFETY: `Consts::new` returned Some only if the CPU has these features.
        unsafe { inner_product_impl(o0, o1, srcs, kb, ka, k) }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
    fn sub_mul_impl(
        t: &mut [u64],
        x: &[u64],
        add: Option<&[u64]>,
        prods: &[(&[u64], &[u64])],
        w: u64,
        k: &Consts,
    ) {
        let zero = _mm512_setzero_si512();
        let m52 = _mm512_set1_epi64(M52 as i64);
        let p = _mm512_set1_epi64(k.p as i64);
        let vw = _mm512_set1_epi64(w as i64);
        let vws = _mm512_set1_epi64(shoup52(w, k.p) as i64);
        for i in (0..t.len()).step_by(8) {
            let d = _mm512_sub_epi64(load(x, i), load(t, i));
            let d = _mm512_min_epu64(d, _mm512_add_epi64(d, p));
            let q = _mm512_madd52hi_epu64(zero, d, vws);
            let r = _mm512_sub_epi64(
                _mm512_madd52lo_epu64(zero, d, vw),
                _mm512_madd52lo_epu64(zero, q, p),
            );
            let r = _mm512_and_si512(r, m52);
            let mut r = _mm512_min_epu64(r, _mm512_sub_epi64(r, p));
            if !prods.is_empty() {
                // r + Σ a·b with one reduction, like the inner product.
                let (mut lo, mut hi) = (r, zero);
                for (a, b) in prods {
                    let (va, vb) = (load(a, i), load(b, i));
                    lo = _mm512_madd52lo_epu64(lo, va, vb);
                    hi = _mm512_madd52hi_epu64(hi, va, vb);
                }
                r = reduce_wide(lo, hi, k);
            }
            if let Some(a) = add {
                r = _mm512_add_epi64(r, load(a, i));
                r = _mm512_min_epu64(r, _mm512_sub_epi64(r, p));
            }
            store(t, i, r);
        }
    }

    /// `t = (x - t)·w (+ add) (+ Σ a·b over prods) mod p` for reduced inputs
    /// and a constant `w < p`; at most 13 products.
    pub fn sub_mul(
        t: &mut [u64],
        x: &[u64],
        add: Option<&[u64]>,
        prods: &[(&[u64], &[u64])],
        w: u64,
        k: &Consts,
    ) {
        let n = t.len();
        assert!(n.is_multiple_of(8) && x.len() == n && add.is_none_or(|a| a.len() == n));
        assert!(prods.len() < GROUP && prods.iter().all(|(a, b)| a.len() == n && b.len() == n));
        assert!(w < k.p);
        // SAFETY: `Consts::new` returned Some only if the CPU has these features.
        unsafe { sub_mul_impl(t, x, add, prods, w, k) }
    }
}

/// Stand-in on other architectures: never available.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) mod ifma {
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Consts;
    impl Consts {
        pub fn new(_p: u64) -> Option<Self> {
            None
        }
    }
    pub fn inner_product(
        _o0: &mut [u64],
        _o1: &mut [u64],
        _s: &[&[u64]],
        _b: &[&[u64]],
        _a: &[&[u64]],
        _k: &Consts,
    ) {
        unreachable!("Consts::new is None off x86_64")
    }
    pub fn sub_mul(
        _t: &mut [u64],
        _x: &[u64],
        _add: Option<&[u64]>,
        _prods: &[(&[u64], &[u64])],
        _w: u64,
        _k: &Consts,
    ) {
        unreachable!("Consts::new is None off x86_64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn miller_rabin_agrees_with_known_values() {
        assert!(is_prime(2));
        assert!(is_prime(1_152_921_504_606_846_883)); // 2^60 - 93
        assert!(!is_prime(1_152_921_504_606_846_881));
        assert!(!is_prime(3_215_031_751)); // strong pseudoprime to 2,3,5,7
        assert!(is_prime((1u64 << 61) - 1));
    }

    #[test]
    fn ntt_primes_are_congruent_and_decreasing() {
        let mut used = vec![];
        for _ in 0..5 {
            let p = ntt_prime_below(40, 1 << 15, &used).unwrap();
            assert_eq!(p % (1 << 15), 1);
            assert!(p < 1 << 40 && p > 1 << 39);
            assert!(used.iter().all(|&u| u > p));
            used.push(p);
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn refs(v: &[Vec<u64>]) -> Vec<&[u64]> {
        v.iter().map(Vec::as_slice).collect()
    }

    #[cfg(target_arch = "x86_64")]
    proptest! {
        #[test]
        fn ifma_inner_product_matches_definition(
            digits in 1usize..31,
            seed in any::<u64>(),
            pi in 0usize..3,
        ) {
            let p = [1_099_510_054_913u64, (1u64 << 50) - 27, 786_433][pi];
            let Some(k) = ifma::Consts::new(p) else { return Ok(()) };
            let n = 16;
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Extremes (0, p - 1) are the worst case for the lazy sums.
                match state % 4 { 0 => p - 1, 1 => 0, _ => state % p }
            };
            let mut draw = |count: usize| -> Vec<Vec<u64>> {
                (0..count).map(|_| (0..n).map(|_| next()).collect()).collect()
            };
            let (s, b, a) = (draw(digits), draw(digits), draw(digits));
            let (mut o0, mut o1) = (vec![0u64; n], vec![0u64; n]);
            ifma::inner_product(&mut o0, &mut o1, &refs(&s), &refs(&b), &refs(&a), &k);
            for x in 0..n {
                let want = |key: &Vec<Vec<u64>>| {
                    (0..digits).fold(0u128, |acc, j| (acc + s[j][x] as u128 * key[j][x] as u128) % p as u128) as u64
                };
                prop_assert_eq!(o0[x], want(&b));
                prop_assert_eq!(o1[x], want(&a));
            }
            // (x - t)·w + add, with and without the addend.
            let (xs, ts, adds) = (s[0].clone(), b[0].clone(), a[0].clone());
            let w = s[digits - 1][0];
            let prods: Vec<(&[u64], &[u64])> = s.iter().zip(&b).take(3).map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
            for add in [None, Some(adds.as_slice())] {
                for np in [0, prods.len()] {
                    let mut t = ts.clone();
                    ifma::sub_mul(&mut t, &xs, add, &prods[..np], w, &k);
                    for i in 0..n {
                        let d = (xs[i] as u128 + p as u128 - ts[i] as u128) % p as u128;
                        let extra: u128 = prods[..np].iter().map(|(x, y)| x[i] as u128 * y[i] as u128).sum();
                        let want = (d * w as u128 + add.map_or(0, |a| a[i] as u128) + extra) % p as u128;
                        prop_assert_eq!(t[i] as u128, want);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn barrett_and_shoup_match_u128(a in any::<u64>(), b in any::<u64>(), hi in any::<u64>(), lo in any::<u64>()) {
            let m = Modulus::new(1_152_921_504_606_846_883);
            let a = a % m.value;
            let b = b % m.value;
            prop_assert_eq!(m.mul(a, b), ((a as u128 * b as u128) % m.value as u128) as u64);
            prop_assert_eq!(m.mul_shoup(a, b, m.shoup(b)), m.mul(a, b));
            let x = ((hi as u128) << 64) | lo as u128;
            prop_assert_eq!(m.reduce_u128(x), (x % m.value as u128) as u64);
            prop_assert_eq!(m.reduce_i64(-(a as i64 >> 2)), m.neg((a as i64 >> 2) as u64 % m.value));
        }
    }
}
