//! Keys: the secret key, the public key, and key-switching keys
//! (relinearization and Galois) for hybrid key switching.
//!
//! Key-switching keys from `s'` to `s` hold, for each digit `j` of `dnum`,
//! a pair `(b_j, a_j)` over `Q·P` with `b_j = -a_j·s + e_j + P·[Q/Q_j]·[(Q/Q_j)^{-1}]_{Q_j}·s'`.
//! In RNS the gadget factor is just `P mod q_i` on the digit's own primes
//! and zero elsewhere. Every `a_j` is expanded from a 32-byte seed, so keys
//! can be shipped in seeded (half-size) form.

use crate::error::Result;
use crate::params::CkksParams;
use crate::rns::RnsContext;
use crate::sampling::{gaussian_poly, ternary_poly, uniform_limb};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The secret key: a uniform ternary polynomial.
///
/// It has its own serialization format and is never accepted by evaluation
/// APIs, which take [`RelinKey`], [`GaloisKeys`] or [`PublicKey`] only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    #[zeroize(skip)]
    pub(crate) params: CkksParams,
    /// Coefficients in {-1, 0, 1}.
    pub(crate) coeffs: Vec<i8>,
    /// Evaluation form over every prime of Q·P.
    pub(crate) ntt: Vec<u64>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretKey(<redacted>, params {})",
            self.params.fingerprint()
        )
    }
}

impl SecretKey {
    pub(crate) fn from_coeffs(params: &CkksParams, coeffs: Vec<i8>) -> Self {
        let ctx = &params.ctx;
        let basis = ctx.key_basis();
        let wide: Zeroizing<Vec<i64>> = Zeroizing::new(coeffs.iter().map(|&c| c as i64).collect());
        let mut ntt = ctx.reduce_signed(&wide, &basis);
        drop(wide);
        ctx.ntt(&mut ntt, &basis);
        SecretKey {
            params: params.clone(),
            coeffs,
            ntt,
        }
    }
    /// The parameters the key belongs to.
    pub fn params(&self) -> &CkksParams {
        &self.params
    }
}

/// The public key `(b, a) = (-a·s + e, a)` over Q·P (encryption is done over
/// Q·P then divided by P, which removes most of the encryption noise).
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    pub(crate) params: CkksParams,
    pub(crate) b: Vec<u64>,
    pub(crate) a: Vec<u64>,
    /// The seed `a` was expanded from (for seeded serialization).
    pub(crate) seed: Option<[u8; 32]>,
}

impl PublicKey {
    /// The parameters the key belongs to.
    pub fn params(&self) -> &CkksParams {
        &self.params
    }
}

/// One key-switching key (one `(b_j, a_j)` pair per digit, over Q·P).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeySwitchKey {
    pub b: Vec<Vec<u64>>,
    pub a: Vec<Vec<u64>>,
    /// The seed the `a` halves were expanded from (None once unknown).
    pub seed: Option<[u8; 32]>,
    /// Highest ciphertext level the key can switch: it holds the digits of
    /// Q_max_level and the limbs q_0..q_max_level and P only (a key
    /// truncated for rotations that run at low levels is that much smaller).
    pub max_level: usize,
}

/// Switches `s²` back to `s` after a ciphertext–ciphertext product.
#[derive(Clone, Debug, PartialEq)]
pub struct RelinKey {
    pub(crate) params: CkksParams,
    pub(crate) key: KeySwitchKey,
}

impl RelinKey {
    /// The parameters the key belongs to.
    pub fn params(&self) -> &CkksParams {
        &self.params
    }
}

/// Galois keys: one key-switching key per Galois element (rotation step or conjugation).
///
/// Internally each key is kept pre-permuted by the inverse automorphism (see
/// `Evaluator::rotate`); the serialized form is the canonical key.
#[derive(Clone, Debug, PartialEq)]
pub struct GaloisKeys {
    pub(crate) params: CkksParams,
    pub(crate) keys: BTreeMap<u64, KeySwitchKey>,
}

impl GaloisKeys {
    /// The parameters the keys belong to.
    pub fn params(&self) -> &CkksParams {
        &self.params
    }
    /// Galois elements available.
    pub fn elements(&self) -> Vec<u64> {
        self.keys.keys().copied().collect()
    }
    /// Whether a rotation by `step` slots is available.
    /// Restricts the key of rotation `step` to ciphertexts at `level` or
    /// below, which drops its digits and limbs above that level: a server
    /// that rotates only low-level ciphertexts by `step` needs far less key
    /// memory (and the client uploads less). Using the key at a higher level
    /// is then [`crate::CkksError::KeyLevelTooLow`].
    pub fn truncate_step(&mut self, step: i64, level: usize) -> crate::Result<()> {
        let g = self.params.galois_element(step);
        let ctx = self.params.ctx.clone();
        let key = self
            .keys
            .get_mut(&g)
            .ok_or(crate::CkksError::MissingGaloisKey {
                op: crate::GaloisOp::Rotation { step },
            })?;
        *key = key.truncated(&ctx, level);
        Ok(())
    }

    /// Highest level at which the key of rotation `step` works (`None`: no key).
    pub fn step_max_level(&self, step: i64) -> Option<usize> {
        self.keys
            .get(&self.params.galois_element(step))
            .map(|k| k.max_level)
    }

    /// Whether a key for rotation by `step` slots is present.
    pub fn has_step(&self, step: i64) -> bool {
        self.keys.contains_key(&self.params.galois_element(step))
    }
}

/// Everything a server needs to evaluate: relinearization and Galois keys.
/// Contains no secret; see [`SecretKey`] for the client-side key.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationKeys {
    /// The relinearization key.
    pub relin: RelinKey,
    /// The Galois (rotation) keys.
    pub galois: GaloisKeys,
}

impl CkksParams {
    /// Galois element for a left rotation by `step` slots (negative: right):
    /// 5^step mod 2N.
    pub fn galois_element(&self, step: i64) -> u64 {
        let half = (self.n() / 2) as i64;
        pow_mod_2n(5, step.rem_euclid(half) as u64, self.n())
    }

    /// Galois element of complex conjugation: X -> X^{-1}.
    pub fn conjugation_element(&self) -> u64 {
        2 * self.n() as u64 - 1
    }
}

/// Inverse of an odd Galois element modulo 2N (g^{N-1}, the group has order N).
pub(crate) fn galois_inverse(g: u64, n: usize) -> u64 {
    pow_mod_2n(g, n as u64 - 1, n)
}

/// base^e mod 2N by square-and-multiply (2N <= 2^16, so products fit in u64).
fn pow_mod_2n(base: u64, mut e: u64, n: usize) -> u64 {
    let two_n = 2 * n as u64;
    let (mut acc, mut base) = (1u64, base % two_n);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % two_n;
        }
        base = base * base % two_n;
        e >>= 1;
    }
    acc
}

impl KeySwitchKey {
    /// Applies an evaluation-form automorphism to every polynomial of the key.
    pub(crate) fn permuted(&self, ctx: &RnsContext, perm: &[u32]) -> KeySwitchKey {
        let apply = |v: &Vec<Vec<u64>>| {
            v.iter()
                .map(|p| {
                    let mut out = vec![0u64; p.len()];
                    ctx.permute(&mut out, p, perm);
                    out
                })
                .collect()
        };
        KeySwitchKey {
            b: apply(&self.b),
            a: apply(&self.a),
            seed: self.seed,
            max_level: self.max_level,
        }
    }

    /// The key restricted to ciphertexts at `level` or below: the digits
    /// and limbs above it are dropped (no-op if it is already that small).
    pub(crate) fn truncated(&self, ctx: &RnsContext, level: usize) -> KeySwitchKey {
        if level >= self.max_level {
            return self.clone();
        }
        KeySwitchKey {
            b: keep_levels(ctx, &self.b, self.max_level, level),
            a: keep_levels(ctx, &self.a, self.max_level, level),
            seed: self.seed,
            max_level: level,
        }
    }

    /// Offset (in limbs) of modulus `mi` in this key's polynomials.
    #[inline]
    pub(crate) fn limb_of(&self, ctx: &RnsContext, mi: usize) -> usize {
        if mi < ctx.num_q {
            mi
        } else {
            self.max_level + 1 + (mi - ctx.num_q)
        }
    }
}

/// The digits and limbs of key polynomials (stored up to `from` over
/// q_0..q_from ∪ P) that a key restricted to level `to ≤ from` keeps.
pub(crate) fn keep_levels(
    ctx: &RnsContext,
    v: &[Vec<u64>],
    from: usize,
    to: usize,
) -> Vec<Vec<u64>> {
    let n = ctx.n;
    let digits = (to + 1).div_ceil(ctx.alpha);
    v[..digits.min(v.len())]
        .iter()
        .map(|p| {
            let mut t = Vec::with_capacity((to + 1 + ctx.num_p) * n);
            t.extend_from_slice(&p[..(to + 1) * n]);
            t.extend_from_slice(&p[(from + 1) * n..]);
            t
        })
        .collect()
}

/// Expands a seed into uniform evaluation-form polynomials over `basis`,
/// `count` of them in sequence.
pub(crate) fn expand_uniform(
    ctx: &RnsContext,
    seed: &[u8; 32],
    basis: &[usize],
    count: usize,
) -> Vec<Vec<u64>> {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    let n = ctx.n;
    (0..count)
        .map(|_| {
            let mut p = vec![0u64; basis.len() * n];
            for (l, &mi) in basis.iter().enumerate() {
                uniform_limb(&mut rng, &ctx.moduli[mi], &mut p[l * n..(l + 1) * n]);
            }
            p
        })
        .collect()
}

/// A 32-byte seed for deterministic key generation and encryption
/// ([`KeyGenerator::from_insecure_seed`], [`crate::Encryptor::from_insecure_seed`]).
///
/// **Not for production keys.** Keys and ciphertexts made from a seed are
/// exactly as secret as the seed, and seeds tend to be small, reused or
/// written down (a `u64` from a command line has 64 bits of entropy, far
/// below the 128-bit security of the parameters). Use it only for tests and
/// reproducible experiments; production code uses [`KeyGenerator::new`] and
/// [`crate::Encryptor::new`] (operating-system entropy). The seed is zeroized
/// on drop.
///
/// ```
/// use privox_ckks::*;
/// let params = CkksParams::new(ParamSpec::standard(13, 2, 3))?;
/// // The same seed gives the same key: reproducible experiments only.
/// let a = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1)).secret_key();
/// let b = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1)).secret_key();
/// assert_eq!(a.to_bytes(), b.to_bytes());
/// # Ok::<(), CkksError>(())
/// ```
///
/// There is no constructor from a bare integer:
///
/// ```compile_fail
/// # use privox_ckks::*;
/// # let params = CkksParams::new(ParamSpec::standard(13, 2, 3)).unwrap();
/// let kg = KeyGenerator::from_seed(&params, 1);
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct InsecureSeed(pub [u8; 32]);

impl InsecureSeed {
    /// Expands a `u64` into a 32-byte seed (the seed `ChaCha20Rng::seed_from_u64`
    /// would use). Tests and reproducible experiments only, never production
    /// keys: it has at most 64 bits of entropy.
    pub fn from_u64(seed: u64) -> Self {
        InsecureSeed(ChaCha20Rng::seed_from_u64(seed).get_seed())
    }

    /// A ChaCha20 generator started from this seed.
    pub(crate) fn rng(&self) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(self.0)
    }
}

impl std::fmt::Debug for InsecureSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InsecureSeed(<redacted>)")
    }
}

/// Generates keys. Production keys use OS entropy ([`KeyGenerator::new`]);
/// [`KeyGenerator::from_insecure_seed`] exists for tests and reproducible
/// experiments only.
pub struct KeyGenerator {
    params: CkksParams,
    rng: ChaCha20Rng,
}

impl KeyGenerator {
    /// A generator seeded from the operating system's entropy.
    pub fn new(params: &CkksParams) -> Self {
        KeyGenerator {
            params: params.clone(),
            rng: ChaCha20Rng::from_os_rng(),
        }
    }

    /// A deterministic generator: ONLY for tests and reproducible
    /// experiments, never for production keys (see [`InsecureSeed`]).
    pub fn from_insecure_seed(params: &CkksParams, seed: InsecureSeed) -> Self {
        KeyGenerator {
            params: params.clone(),
            rng: seed.rng(),
        }
    }

    /// A fresh ternary secret key.
    pub fn secret_key(&mut self) -> SecretKey {
        let t = Zeroizing::new(ternary_poly(&mut self.rng, self.params.n()));
        let coeffs: Vec<i8> = t.iter().map(|&c| c as i8).collect();
        drop(t);
        SecretKey::from_coeffs(&self.params, coeffs)
    }

    fn error_ntt(&mut self, basis: &[usize]) -> Vec<u64> {
        let ctx = &self.params.ctx;
        let e = Zeroizing::new(gaussian_poly(&mut self.rng, ctx.n));
        let mut p = ctx.reduce_signed(&e, basis);
        drop(e);
        ctx.ntt(&mut p, basis);
        p
    }

    /// The public key of `sk`.
    pub fn public_key(&mut self, sk: &SecretKey) -> Result<PublicKey> {
        self.params.check_same(&sk.params)?;
        let ctx = self.params.ctx.clone();
        let basis = ctx.key_basis();
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let a = expand_uniform(&ctx, &seed, &basis, 1)
            .pop()
            .unwrap_or_default();
        let mut b = self.error_ntt(&basis);
        // a·s with a public gives s away: zeroized on drop.
        let mut as_ = Zeroizing::new(vec![0u64; a.len()]);
        ctx.mul(&mut as_, &a, &sk.ntt, &basis);
        ctx.sub_assign(&mut b, &as_, &basis);
        Ok(PublicKey {
            params: self.params.clone(),
            b,
            a,
            seed: Some(seed),
        })
    }

    /// Key switching key from `s_from` (evaluation form over Q·P) to `sk`.
    fn switching_key(&mut self, s_from: &[u64], sk: &SecretKey) -> KeySwitchKey {
        let ctx = self.params.ctx.clone();
        let n = ctx.n;
        let basis = ctx.key_basis();
        let digits = ctx.num_q.div_ceil(ctx.alpha);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let a = expand_uniform(&ctx, &seed, &basis, digits);
        let mut b = Vec::with_capacity(digits);
        for (j, aj) in a.iter().enumerate() {
            let mut bj = self.error_ntt(&basis);
            let mut as_ = Zeroizing::new(vec![0u64; aj.len()]);
            ctx.mul(&mut as_, aj, &sk.ntt, &basis);
            ctx.sub_assign(&mut bj, &as_, &basis);
            for i in j * ctx.alpha..((j + 1) * ctx.alpha).min(ctx.num_q) {
                let m = ctx.moduli[i];
                let p_mod = ctx
                    .p_values()
                    .iter()
                    .fold(1u64, |acc, &p| m.mul(acc, m.reduce(p)));
                let ps = m.shoup(p_mod);
                for x in 0..n {
                    let g = m.mul_shoup(s_from[i * n + x], p_mod, ps);
                    bj[i * n + x] = m.add(bj[i * n + x], g);
                }
            }
            b.push(bj);
        }
        KeySwitchKey {
            b,
            a,
            seed: Some(seed),
            max_level: ctx.num_q - 1,
        }
    }

    /// The relinearization key of `sk`.
    pub fn relin_key(&mut self, sk: &SecretKey) -> Result<RelinKey> {
        self.params.check_same(&sk.params)?;
        let ctx = self.params.ctx.clone();
        let basis = ctx.key_basis();
        let mut s2 = Zeroizing::new(vec![0u64; sk.ntt.len()]);
        ctx.mul(&mut s2, &sk.ntt, &sk.ntt, &basis);
        let key = self.switching_key(&s2, sk);
        Ok(RelinKey {
            params: self.params.clone(),
            key,
        })
    }

    /// Galois keys for left rotations by each of `steps` (negative = right)
    /// and, if asked, complex conjugation.
    pub fn galois_keys(
        &mut self,
        sk: &SecretKey,
        steps: &[i64],
        conjugate: bool,
    ) -> Result<GaloisKeys> {
        self.params.check_same(&sk.params)?;
        let mut elements: Vec<u64> = steps
            .iter()
            .map(|&s| self.params.galois_element(s))
            .collect();
        if conjugate {
            elements.push(self.params.conjugation_element());
        }
        elements.sort_unstable();
        elements.dedup();
        elements.retain(|&g| g != 1);
        let ctx = self.params.ctx.clone();
        let mut keys = BTreeMap::new();
        for g in elements {
            let perm = ctx.galois_permutation(g);
            let mut s_g = Zeroizing::new(vec![0u64; sk.ntt.len()]);
            ctx.permute(&mut s_g, &sk.ntt, &perm);
            // Stored as σ_g^{-1}(key): then Σ_j σ_g(d_j)·k_j = σ_g(Σ_j d_j·σ_g^{-1}(k_j)),
            // so a rotation permutes two output polynomials instead of every digit.
            let inv = ctx.galois_permutation(galois_inverse(g, ctx.n));
            keys.insert(g, self.switching_key(&s_g, sk).permuted(&ctx, &inv));
        }
        Ok(GaloisKeys {
            params: self.params.clone(),
            keys,
        })
    }

    /// Steps 1, 2, 4, …, slots/2: what [`crate::Evaluator::inner_sum`] needs.
    pub fn power_of_two_steps(slots: usize) -> Vec<i64> {
        let mut v = vec![];
        let mut s = 1;
        while s < slots {
            v.push(s as i64);
            s <<= 1;
        }
        v
    }

    /// Relinearization key plus Galois keys for `steps` (and conjugation if asked).
    pub fn evaluation_keys(
        &mut self,
        sk: &SecretKey,
        steps: &[i64],
        conjugate: bool,
    ) -> Result<EvaluationKeys> {
        Ok(EvaluationKeys {
            relin: self.relin_key(sk)?,
            galois: self.galois_keys(sk, steps, conjugate)?,
        })
    }
}

impl CkksParams {
    pub(crate) fn check_same(&self, other: &CkksParams) -> Result<()> {
        if self.fingerprint() == other.fingerprint() {
            Ok(())
        } else {
            Err(crate::error::CkksError::WrongParameters {
                expected: self.fingerprint(),
                found: other.fingerprint(),
            })
        }
    }
}

#[cfg(test)]
mod truncation_tests {
    use crate::params::test_params;
    use crate::*;

    /// A Galois key truncated to a level rotates ciphertexts at or below it
    /// exactly as the full key does, refuses higher ones with a typed error,
    /// and survives both serialized forms.
    #[test]
    fn truncated_galois_keys_rotate_low_levels_exactly() {
        for dnum in [4, 2] {
            // One prime per digit (P = 51 bits), or two (P = 2 × 46 bits).
            let p_bits = if dnum == 4 { 51 } else { 46 };
            let params = test_params(12, &[50, 40, 40, 40], p_bits, dnum, 40);
            let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1));
            let sk = kg.secret_key();
            let full = kg.galois_keys(&sk, &[1, 3], false).unwrap();
            let mut cut = full.clone();
            cut.truncate_step(1, 1).unwrap();
            assert_eq!(cut.step_max_level(1), Some(1));
            assert_eq!(cut.step_max_level(3), Some(3));
            let enc = Encoder::new(&params);
            let ev = Evaluator::new(&params);
            let pt = enc
                .encode_real(
                    &[0.5, -0.25, 1.0],
                    params.max_level(),
                    params.default_scale(),
                )
                .unwrap();
            let ct = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(2))
                .encrypt_symmetric(&pt, &sk)
                .unwrap();
            let low = ev.drop_to_level(&ct, 1).unwrap();
            assert_eq!(
                ev.rotate(&low, 1, &cut).unwrap(),
                ev.rotate(&low, 1, &full).unwrap()
            );
            assert_eq!(
                ev.rotate_hoisted(&low, &[1, 3], &cut).unwrap(),
                ev.rotate_hoisted(&low, &[1, 3], &full).unwrap()
            );
            assert!(matches!(
                ev.rotate(&ct, 1, &cut),
                Err(CkksError::KeyLevelTooLow {
                    level: 3,
                    max_level: 1,
                    ..
                })
            ));
            for bytes in [cut.to_bytes(), cut.to_bytes_seeded().unwrap()] {
                let back = GaloisKeys::from_bytes(&params, &bytes).unwrap();
                assert_eq!(back.step_max_level(1), Some(1));
                assert_eq!(
                    ev.rotate(&low, 1, &back).unwrap(),
                    ev.rotate(&low, 1, &full).unwrap()
                );
            }
            assert!(cut.to_bytes().len() < full.to_bytes().len());
        }
    }
}
