//! Plaintexts, ciphertexts, encryption (public and secret key) and decryption.
//!
//! Everything is kept in evaluation (NTT) form: additions, products and
//! rotations are then pointwise or permutations.

use crate::error::{CkksError, Result};
use crate::keys::{InsecureSeed, PublicKey, SecretKey, expand_uniform};
use crate::params::CkksParams;
use crate::sampling::{gaussian_poly, ternary_poly};
use privox_format::Fingerprint;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

/// Checks that an object tagged `fingerprint` belongs to `params`
/// ([`CkksError::WrongParameters`]) and that `polys` have the shape of
/// `params` at `level` (the tag is set by this crate only, but a level above
/// the top or a wrong length must never index out of bounds).
pub(crate) fn check_shape(
    params: &CkksParams,
    fingerprint: Fingerprint,
    level: usize,
    polys: &[&[u64]],
) -> Result<()> {
    if fingerprint != params.fingerprint() {
        return Err(CkksError::WrongParameters {
            expected: params.fingerprint(),
            found: fingerprint,
        });
    }
    let max = params.max_level();
    if level > max {
        return Err(CkksError::LevelTooHigh { level, max });
    }
    let len = (level + 1) * params.n();
    if let Some(p) = polys.iter().find(|p| p.len() != len) {
        return Err(CkksError::LengthMismatch {
            what: "polynomial coefficients, (level + 1) · N",
            expected: len,
            found: p.len(),
        });
    }
    Ok(())
}

/// An encoded message: one polynomial over q_0..q_level in evaluation form,
/// tagged with the fingerprint of the parameters that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plaintext {
    pub(crate) poly: Vec<u64>,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    /// Fingerprint of the parameter set this plaintext belongs to.
    pub(crate) fingerprint: Fingerprint,
}

impl Plaintext {
    /// Fingerprint of the parameters that made this plaintext; every
    /// encoder, encryptor, evaluator and serializer of other parameters
    /// refuses it ([`CkksError::WrongParameters`]).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
    /// The level (index into the modulus chain).
    pub fn level(&self) -> usize {
        self.level
    }
    /// The scale of the encoded values.
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// The number of packed slots.
    pub fn slots(&self) -> usize {
        self.slots
    }
}

/// A CKKS ciphertext `(c0, c1)` with `c0 + c1·s ≈ Δ·m`, in evaluation form,
/// tagged with the fingerprint of the parameters that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ciphertext {
    pub(crate) c0: Vec<u64>,
    pub(crate) c1: Vec<u64>,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    /// For fresh secret-key encryptions: the seed `c1` was expanded from.
    pub(crate) seed: Option<[u8; 32]>,
    /// Fingerprint of the parameter set this ciphertext belongs to.
    pub(crate) fingerprint: Fingerprint,
}

impl Ciphertext {
    /// Fingerprint of the parameters that made this ciphertext; evaluators,
    /// decryptors and serializers of other parameters refuse it
    /// ([`CkksError::WrongParameters`]).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
    /// Number of primes left minus one (0 = no rescale possible).
    pub fn level(&self) -> usize {
        self.level
    }
    /// The scale of the encoded values.
    pub fn scale(&self) -> f64 {
        self.scale
    }
    /// The number of packed slots.
    pub fn slots(&self) -> usize {
        self.slots
    }
    /// Whether this ciphertext can be serialized in seeded (half-size) form.
    pub fn is_seeded(&self) -> bool {
        self.seed.is_some()
    }
}

/// The unrelinearized product of two ciphertexts: `(d0, d1, d2)` under `(1, s, s²)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ciphertext3 {
    pub(crate) d0: Vec<u64>,
    pub(crate) d1: Vec<u64>,
    pub(crate) d2: Vec<u64>,
    pub(crate) level: usize,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    /// Fingerprint of the parameter set this product belongs to.
    pub(crate) fingerprint: Fingerprint,
}

impl Ciphertext3 {
    /// Fingerprint of the parameters that made this product.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
    /// The level (index into the modulus chain).
    pub fn level(&self) -> usize {
        self.level
    }
    /// The scale of the encoded values.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// Encrypts plaintexts with a public key or a secret key.
pub struct Encryptor {
    params: CkksParams,
    rng: ChaCha20Rng,
}

impl Encryptor {
    /// An encryptor drawing its randomness from the operating system.
    pub fn new(params: &CkksParams) -> Self {
        Encryptor {
            params: params.clone(),
            rng: ChaCha20Rng::from_os_rng(),
        }
    }

    /// A deterministic encryptor: ONLY for tests and reproducible
    /// experiments, never in production (see [`InsecureSeed`]).
    pub fn from_insecure_seed(params: &CkksParams, seed: InsecureSeed) -> Self {
        Encryptor {
            params: params.clone(),
            rng: seed.rng(),
        }
    }

    fn check(&self, pt: &Plaintext) -> Result<()> {
        check_shape(&self.params, pt.fingerprint, pt.level, &[&pt.poly])
    }

    /// Public-key encryption, as in SEAL: `(u·b + e0, u·a + e1)` over Q·P
    /// (the public key lives over Q·P), divided by P with rounding (ModDown),
    /// plus the message.
    ///
    /// The division removes the encryption noise `u·e + e0 + e1·s` (σ ≈ 470
    /// at N = 2^14) and leaves only the rounding `r0 + r1·s`, σ = √((1+h)/12)
    /// ≈ 30 at N = 2^14 for a secret of Hamming weight h ≈ 2N/3: about 4 bits
    /// less precision than [`Encryptor::encrypt_symmetric`] (σ = 3.2), e.g.
    /// ≈ 25.7 vs ≈ 29.7 bits in the worst slot at Δ = 2^40 (see the crate
    /// docs, "Noise and precision model").
    pub fn encrypt(&mut self, pt: &Plaintext, pk: &PublicKey) -> Result<Ciphertext> {
        self.params.check_same(&pk.params)?;
        self.check(pt)?;
        let ctx = self.params.ctx.clone();
        let n = ctx.n;
        let level = pt.level;
        let basis = ctx.qp_basis(level);
        let pick = |full: &[u64]| -> Vec<u64> {
            basis
                .iter()
                .flat_map(|&mi| full[mi * n..(mi + 1) * n].iter().copied())
                .collect()
        };
        let (pb, pa) = (pick(&pk.b), pick(&pk.a));
        // Every temporary that depends on u (or the errors) is zeroized on
        // drop: u·a over Q·P with the public a would give u away, and with it
        // the message.
        let u_coef = Zeroizing::new(ternary_poly(&mut self.rng, n));
        let mut u = Zeroizing::new(ctx.reduce_signed(&u_coef, &basis));
        drop(u_coef);
        ctx.ntt(&mut u, &basis);
        let mut ub = Zeroizing::new(vec![0u64; u.len()]);
        let mut ua = Zeroizing::new(vec![0u64; u.len()]);
        ctx.mul_add_assign(&mut ub, &u, &pb, &basis);
        ctx.mul_add_assign(&mut ua, &u, &pa, &basis);
        drop(u);
        // The errors enter in coefficient form inside ModDown (no NTTs needed).
        let e0 = Zeroizing::new(gaussian_poly(&mut self.rng, n));
        let e1 = Zeroizing::new(gaussian_poly(&mut self.rng, n));
        let mut c0 = ctx.mod_down_with_error(&ub, level, Some(&e0));
        let c1 = ctx.mod_down_with_error(&ua, level, Some(&e1));
        ctx.add_assign(&mut c0, &pt.poly, &ctx.q_basis(level));
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale: pt.scale,
            slots: pt.slots,
            seed: None,
            fingerprint: pt.fingerprint,
        })
    }

    /// Secret-key encryption `(-a·s + e + m, a)` with `a` expanded from a
    /// fresh seed, so the ciphertext can be sent at half size
    /// ([`Ciphertext::to_bytes_seeded`](crate::Ciphertext::to_bytes_seeded)).
    /// Its only noise is `e` (σ = 3.2): ≈ 29.7 bits in the worst slot at
    /// N = 2^14, Δ = 2^40, and log2(Δ/2^40) more bits at larger scales.
    pub fn encrypt_symmetric(&mut self, pt: &Plaintext, sk: &SecretKey) -> Result<Ciphertext> {
        self.params.check_same(&sk.params)?;
        self.check(pt)?;
        let ctx = self.params.ctx.clone();
        let level = pt.level;
        let basis = ctx.q_basis(level);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let c1 = expand_uniform(&ctx, &seed, &basis, 1)
            .pop()
            .unwrap_or_default();
        let e_coef = Zeroizing::new(gaussian_poly(&mut self.rng, ctx.n));
        let mut c0 = ctx.reduce_signed(&e_coef, &basis);
        drop(e_coef);
        ctx.ntt(&mut c0, &basis);
        // a·s with a public: it would give s away, so it is zeroized on drop.
        let mut as_ = Zeroizing::new(vec![0u64; c1.len()]);
        ctx.mul(&mut as_, &c1, &sk.ntt[..c1.len()], &basis);
        ctx.sub_assign(&mut c0, &as_, &basis);
        ctx.add_assign(&mut c0, &pt.poly, &basis);
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale: pt.scale,
            slots: pt.slots,
            seed: Some(seed),
            fingerprint: pt.fingerprint,
        })
    }
}

/// Decrypts with the secret key: `m = c0 + c1·s`.
pub struct Decryptor {
    params: CkksParams,
}

impl Decryptor {
    /// A decryptor for `params`.
    pub fn new(params: &CkksParams) -> Self {
        Decryptor {
            params: params.clone(),
        }
    }

    /// Decrypts `ct` with `sk`; refuses a key or ciphertext of other parameters.
    pub fn decrypt(&self, ct: &Ciphertext, sk: &SecretKey) -> Result<Plaintext> {
        self.params.check_same(&sk.params)?;
        check_shape(&self.params, ct.fingerprint, ct.level, &[&ct.c0, &ct.c1])?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let mut m = ct.c0.clone();
        ctx.mul_add_assign(&mut m, &ct.c1, &sk.ntt[..ct.c1.len()], &basis);
        Ok(Plaintext {
            poly: m,
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
            fingerprint: ct.fingerprint,
        })
    }

    /// Decrypts an unrelinearized product (needs s²; for tests and noise measurement).
    pub fn decrypt3(&self, ct: &Ciphertext3, sk: &SecretKey) -> Result<Plaintext> {
        self.params.check_same(&sk.params)?;
        check_shape(
            &self.params,
            ct.fingerprint,
            ct.level,
            &[&ct.d0, &ct.d1, &ct.d2],
        )?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let len = ct.d0.len();
        let s = &sk.ntt[..len];
        let mut s2 = Zeroizing::new(vec![0u64; len]);
        ctx.mul(&mut s2, s, s, &basis);
        let mut m = ct.d0.clone();
        ctx.mul_add_assign(&mut m, &ct.d1, s, &basis);
        ctx.mul_add_assign(&mut m, &ct.d2, &s2, &basis);
        Ok(Plaintext {
            poly: m,
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
            fingerprint: ct.fingerprint,
        })
    }
}
