//! Word-sized modular arithmetic: Barrett reduction of 128-bit values, Shoup
//! multiplication by precomputed constants, and NTT-friendly prime search.
//!
//! All moduli are odd primes below 2^61, so sums of up to 64 products of
//! reduced values fit in a `u128` (lazy reduction in inner products).

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
