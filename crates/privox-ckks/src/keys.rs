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
}

/// Switches `s²` back to `s` after a ciphertext–ciphertext product.
#[derive(Clone, Debug, PartialEq)]
pub struct RelinKey {
    pub(crate) params: CkksParams,
    pub(crate) key: KeySwitchKey,
}

impl RelinKey {
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
    pub fn params(&self) -> &CkksParams {
        &self.params
    }
    /// Galois elements available.
    pub fn elements(&self) -> Vec<u64> {
        self.keys.keys().copied().collect()
    }
    /// Whether a rotation by `step` slots is available.
    pub fn has_step(&self, step: i64) -> bool {
        self.keys.contains_key(&self.params.galois_element(step))
    }
}

/// Everything a server needs to evaluate: relinearization and Galois keys.
/// Contains no secret; see [`SecretKey`] for the client-side key.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluationKeys {
    pub relin: RelinKey,
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
        }
    }
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
        }
    }

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
            Err(crate::error::CkksError::WrongParameters)
        }
    }
}
