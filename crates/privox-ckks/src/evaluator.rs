//! Homomorphic operations. All take public material only: ciphertexts,
//! plaintexts, [`RelinKey`] and [`GaloisKeys`] — never a [`crate::SecretKey`].

use crate::ciphertext::{Ciphertext, Ciphertext3, Plaintext, check_shape};
use crate::encoder::Complex;
use crate::error::{CkksError, GaloisOp, Result};
use crate::keys::{GaloisKeys, KeySwitchKey, RelinKey};
use crate::keyswitch::{Decomposed, apply_key, decompose, switch_key};
use crate::params::CkksParams;
use privox_format::Fingerprint;

/// Relative tolerance under which two scales count as equal.
pub const SCALE_TOLERANCE: f64 = 1e-9;

/// Evaluates operations on ciphertexts of one parameter set.
///
/// Only public material is accepted:
///
/// ```compile_fail
/// # use privox_ckks::*;
/// # let params = CkksParams::new(ParamSpec::standard(13, 2, 3)).unwrap();
/// # let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1));
/// # let sk = kg.secret_key();
/// # let enc = Encoder::new(&params);
/// # let pt = enc.encode_real(&[1.0], 2, params.default_scale()).unwrap();
/// # let ct = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(2)).encrypt_symmetric(&pt, &sk).unwrap();
/// let ev = Evaluator::new(&params);
/// // A secret key is not a Galois key: this does not compile.
/// let rotated = ev.rotate(&ct, 1, &sk);
/// ```
#[derive(Clone, Debug)]
pub struct Evaluator {
    params: CkksParams,
}

fn same_scale(a: f64, b: f64) -> bool {
    ((a - b) / a.max(b)).abs() <= SCALE_TOLERANCE
}

/// A ciphertext's `c1` decomposed once, ready for many rotations
/// ([`Evaluator::rotate_hoisted`]).
pub struct HoistedCiphertext<'a> {
    ct: &'a Ciphertext,
    dec: Decomposed,
    /// Parameters the digits were decomposed under: another evaluator's
    /// keys have another digit layout.
    fingerprint: Fingerprint,
}

impl Evaluator {
    /// An evaluator for `params`.
    pub fn new(params: &CkksParams) -> Self {
        Evaluator {
            params: params.clone(),
        }
    }

    /// The parameters it works under.
    pub fn params(&self) -> &CkksParams {
        &self.params
    }

    fn check_shape(&self, fingerprint: Fingerprint, level: usize, polys: &[&[u64]]) -> Result<()> {
        check_shape(&self.params, fingerprint, level, polys)
    }

    pub(crate) fn check_ct(&self, ct: &Ciphertext) -> Result<()> {
        self.check_shape(ct.fingerprint, ct.level, &[&ct.c0, &ct.c1])
    }

    fn truncate(poly: &[u64], n: usize, level: usize) -> &[u64] {
        &poly[..(level + 1) * n]
    }

    /// Drops primes (exact, no noise) down to `level`.
    pub fn drop_to_level(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        if level > ct.level {
            return Err(CkksError::LevelTooHigh {
                level,
                max: ct.level,
            });
        }
        let n = self.params.n();
        Ok(Ciphertext {
            c0: Self::truncate(&ct.c0, n, level).to_vec(),
            c1: Self::truncate(&ct.c1, n, level).to_vec(),
            level,
            scale: ct.scale,
            slots: ct.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    fn binary(
        &self,
        what: &'static str,
        a: &Ciphertext,
        b: &Ciphertext,
        sub: bool,
    ) -> Result<Ciphertext> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        if a.slots != b.slots {
            return Err(CkksError::SlotMismatch {
                what,
                a: a.slots,
                b: b.slots,
            });
        }
        if !same_scale(a.scale, b.scale) {
            return Err(CkksError::ScaleMismatch {
                what,
                a: a.scale,
                b: b.scale,
            });
        }
        let ctx = &self.params.ctx;
        let level = a.level.min(b.level);
        let basis = ctx.q_basis(level);
        let n = ctx.n;
        let mut c0 = Self::truncate(&a.c0, n, level).to_vec();
        let mut c1 = Self::truncate(&a.c1, n, level).to_vec();
        let (b0, b1) = (
            Self::truncate(&b.c0, n, level),
            Self::truncate(&b.c1, n, level),
        );
        if sub {
            ctx.sub_assign(&mut c0, b0, &basis);
            ctx.sub_assign(&mut c1, b1, &basis);
        } else {
            ctx.add_assign(&mut c0, b0, &basis);
            ctx.add_assign(&mut c1, b1, &basis);
        }
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale: a.scale,
            slots: a.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// a + b. Operands at different levels are brought to the lower one;
    /// scales must match (see [`Evaluator::align_scale`]).
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.binary("add", a, b, false)
    }

    /// a - b.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.binary("sub", a, b, true)
    }

    /// -a.
    pub fn negate(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.check_ct(a)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(a.level);
        let mut out = a.clone();
        out.seed = None;
        ctx.neg_assign(&mut out.c0, &basis);
        ctx.neg_assign(&mut out.c1, &basis);
        Ok(out)
    }

    fn plain_operand<'p>(
        &self,
        what: &'static str,
        ct: &Ciphertext,
        pt: &'p Plaintext,
    ) -> Result<&'p [u64]> {
        self.check_ct(ct)?;
        self.check_shape(pt.fingerprint, pt.level, &[&pt.poly])?;
        if ct.slots != pt.slots {
            return Err(CkksError::SlotMismatch {
                what,
                a: ct.slots,
                b: pt.slots,
            });
        }
        if pt.level < ct.level {
            return Err(CkksError::LevelMismatch {
                what,
                a: ct.level,
                b: pt.level,
            });
        }
        Ok(Self::truncate(&pt.poly, self.params.n(), ct.level))
    }

    /// The plaintext operand of an addition or subtraction, which also needs
    /// the ciphertext's scale.
    fn additive_plain_operand<'a>(
        &self,
        what: &'static str,
        ct: &Ciphertext,
        pt: &'a Plaintext,
    ) -> Result<&'a [u64]> {
        let p = self.plain_operand(what, ct, pt)?;
        if !same_scale(ct.scale, pt.scale) {
            return Err(CkksError::ScaleMismatch {
                what,
                a: ct.scale,
                b: pt.scale,
            });
        }
        Ok(p)
    }

    /// ct + pt (pt at the ciphertext's level or above, same scale).
    pub fn add_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        let p = self.additive_plain_operand("add_plain", ct, pt)?;
        let mut out = ct.clone();
        out.seed = None;
        self.params
            .ctx
            .add_assign(&mut out.c0, p, &self.params.ctx.q_basis(ct.level));
        Ok(out)
    }

    /// ct - pt.
    pub fn sub_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        let p = self.additive_plain_operand("sub_plain", ct, pt)?;
        let mut out = ct.clone();
        out.seed = None;
        self.params
            .ctx
            .sub_assign(&mut out.c0, p, &self.params.ctx.q_basis(ct.level));
        Ok(out)
    }

    /// ct · pt, pointwise in evaluation form; the scale becomes the product of
    /// scales, which must stay below the modulus at the ciphertext's level
    /// ([`CkksError::ScaleTooLarge`]).
    pub fn mul_plain(&self, ct: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        let p = self.plain_operand("mul_plain", ct, pt)?;
        self.params
            .check_scale("mul_plain", ct.scale * pt.scale, ct.level)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let c0 = ctx.mul_new(&ct.c0, p, &basis);
        let c1 = ctx.mul_new(&ct.c1, p, &basis);
        Ok(Ciphertext {
            c0,
            c1,
            level: ct.level,
            scale: ct.scale * pt.scale,
            slots: ct.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// acc += ct · pt without rescaling (lazy accumulation for matrix–vector products).
    pub fn mul_plain_add_assign(
        &self,
        acc: &mut Ciphertext,
        ct: &Ciphertext,
        pt: &Plaintext,
    ) -> Result<()> {
        let p = self.plain_operand("mul_plain_add_assign", ct, pt)?;
        self.check_ct(acc)?;
        self.params
            .check_scale("mul_plain_add_assign", ct.scale * pt.scale, ct.level)?;
        if acc.level != ct.level {
            return Err(CkksError::LevelMismatch {
                what: "mul_plain_add_assign",
                a: acc.level,
                b: ct.level,
            });
        }
        if !same_scale(acc.scale, ct.scale * pt.scale) {
            return Err(CkksError::ScaleMismatch {
                what: "mul_plain_add_assign",
                a: acc.scale,
                b: ct.scale * pt.scale,
            });
        }
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        acc.seed = None;
        ctx.mul_add_assign(&mut acc.c0, &ct.c0, p, &basis);
        ctx.mul_add_assign(&mut acc.c1, &ct.c1, p, &basis);
        Ok(())
    }

    /// Constant residues of round(value · scale) for every prime of the
    /// level, after checking that it fits there ([`CkksError::ValueTooLarge`]).
    fn constant_residues(&self, value: f64, scale: f64, level: usize) -> Result<Vec<u64>> {
        if !value.is_finite() {
            return Err(CkksError::BadValue(value));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(CkksError::BadScale(scale));
        }
        self.params.check_value(value, scale, level)?;
        let v = (value * scale).round();
        let moduli = &self.params.ctx.moduli[..=level];
        if v.abs() < 2f64.powi(62) {
            let v = v as i64;
            return Ok(moduli.iter().map(|m| m.reduce_i64(v)).collect());
        }
        // Exactly ±mantissa · 2^exponent from the IEEE fields (|v| >= 2^62 is
        // a normal number with exponent >= 10).
        let bits = v.to_bits();
        let exp = ((bits >> 52) & 0x7ff) - 1075;
        let mant = ((bits & ((1u64 << 52) - 1)) | (1u64 << 52)) as i64;
        let mant = if v < 0.0 { -mant } else { mant };
        Ok(moduli
            .iter()
            .map(|m| m.mul(m.reduce_i64(mant), m.pow(2, exp)))
            .collect())
    }

    /// ct + c in every slot (c complex; the imaginary part uses X^{N/2} ↦ i).
    /// `|c|·ct.scale()` must fit at the ciphertext's level as for
    /// [`crate::Encoder::encode`] ([`CkksError::ValueTooLarge`]).
    pub fn add_const(&self, ct: &Ciphertext, c: Complex) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        if !(c.re.is_finite() && c.im.is_finite()) {
            return Err(CkksError::BadValue(if c.re.is_finite() {
                c.im
            } else {
                c.re
            }));
        }
        let magnitude = if c.im == 0.0 { c.re } else { c.abs() };
        self.params.check_value(magnitude, ct.scale, ct.level)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let mut out = ct.clone();
        out.seed = None;
        let re = self.constant_residues(c.re, ct.scale, ct.level)?;
        ctx.add_scalar_assign(&mut out.c0, &re, &basis);
        if c.im != 0.0 {
            // X^{N/2} is i in every slot: add round(c.im·scale)·X^{N/2}, whose
            // evaluation form is its constant residue times that of X^{N/2}.
            let im = self.constant_residues(c.im, ct.scale, ct.level)?;
            let mut x_half = vec![0u64; (ct.level + 1) * ctx.n];
            for (l, &r) in im.iter().enumerate() {
                x_half[l * ctx.n + ctx.n / 2] = r;
            }
            ctx.ntt(&mut x_half, &basis);
            ctx.add_assign(&mut out.c0, &x_half, &basis);
        }
        Ok(out)
    }

    /// ct · c for a real constant encoded at `const_scale` (the scale grows by it;
    /// rescale afterwards). Use the top prime's size for an exact-scale rescale.
    /// `|c|·const_scale` must fit at the ciphertext's level
    /// ([`CkksError::ValueTooLarge`]).
    pub fn mul_const(&self, ct: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let r = self.constant_residues(c, const_scale, ct.level)?;
        self.params
            .check_scale("mul_const", ct.scale * const_scale, ct.level)?;
        let mut out = ct.clone();
        out.seed = None;
        ctx.mul_scalar_assign(&mut out.c0, &r, &basis);
        ctx.mul_scalar_assign(&mut out.c1, &r, &basis);
        out.scale = ct.scale * const_scale;
        Ok(out)
    }

    /// ct · k for an integer k (exact; the scale is unchanged). `|k|` must
    /// fit at the ciphertext's level like an encoded value at scale 1
    /// ([`CkksError::ValueTooLarge`]; only possible for huge k at level 0).
    pub fn mul_integer(&self, ct: &Ciphertext, k: i64) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        self.params.check_value(k as f64, 1.0, ct.level)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(ct.level);
        let r: Vec<u64> = ctx.moduli[..=ct.level]
            .iter()
            .map(|m| m.reduce_i64(k))
            .collect();
        let mut out = ct.clone();
        out.seed = None;
        ctx.mul_scalar_assign(&mut out.c0, &r, &basis);
        ctx.mul_scalar_assign(&mut out.c1, &r, &basis);
        Ok(out)
    }

    /// The common level of a ct–ct product and the four operand polynomials
    /// `(a0, a1, b0, b1)` truncated to it.
    fn tensor_operands<'c>(
        &self,
        a: &'c Ciphertext,
        b: &'c Ciphertext,
    ) -> Result<(usize, [&'c [u64]; 4])> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        if a.slots != b.slots {
            return Err(CkksError::SlotMismatch {
                what: "mul",
                a: a.slots,
                b: b.slots,
            });
        }
        let n = self.params.ctx.n;
        let level = a.level.min(b.level);
        self.params.check_scale("mul", a.scale * b.scale, level)?;
        let t = |p: &'c [u64]| Self::truncate(p, n, level);
        Ok((level, [t(&a.c0), t(&a.c1), t(&b.c0), t(&b.c1)]))
    }

    /// Tensor product of two ciphertexts (no relinearization). The product of
    /// the scales must stay below the modulus at the common level
    /// ([`CkksError::ScaleTooLarge`]), as for [`Evaluator::mul`].
    pub fn mul_no_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext3> {
        let (level, [a0, a1, b0, b1]) = self.tensor_operands(a, b)?;
        let ctx = &self.params.ctx;
        let basis = ctx.q_basis(level);
        let d0 = ctx.mul_new(a0, b0, &basis);
        let mut d1 = ctx.mul_new(a0, b1, &basis);
        ctx.mul_add_assign(&mut d1, a1, b0, &basis);
        let d2 = ctx.mul_new(a1, b1, &basis);
        Ok(Ciphertext3 {
            d0,
            d1,
            d2,
            level,
            scale: a.scale * b.scale,
            slots: a.slots,
            fingerprint: self.params.fingerprint(),
        })
    }

    fn check_key(&self, params: &CkksParams) -> Result<()> {
        self.params.check_same(params)
    }

    /// Relinearizes `(d0, d1, d2)` back to two components with the relinearization key.
    pub fn relinearize(&self, ct: &Ciphertext3, rk: &RelinKey) -> Result<Ciphertext> {
        self.check_key(&rk.params)?;
        self.check_shape(ct.fingerprint, ct.level, &[&ct.d0, &ct.d1, &ct.d2])?;
        let ctx = &self.params.ctx;
        // (d0, d1) + ModDown(d2 · key): the switched parts are divided by P
        // straight into the sums, so nothing is copied or zero-filled twice.
        let (mut c0, mut c1) = switch_key(ctx, &ct.d2, ct.level, &rk.key);
        ctx.mod_down_in_place(&mut c0, ct.level, Some(&ct.d0));
        ctx.mod_down_in_place(&mut c1, ct.level, Some(&ct.d1));
        Ok(Ciphertext {
            c0,
            c1,
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// a · b followed by relinearization (rescale separately, or lazily later).
    /// The product of the scales must stay below the modulus at the common
    /// level, or every value would wrap around ([`CkksError::ScaleTooLarge`]).
    ///
    /// Only `d2 = a1·b1` is stored: `d0 = a0·b0` and `d1 = a0·b1 + a1·b0`
    /// are added inside ModDown's last pass, so a product allocates no more
    /// than a relinearization (fresh multi-megabyte buffers per call cost
    /// page faults, which made this slower than `mul_no_relin` + `relinearize`).
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext, rk: &RelinKey) -> Result<Ciphertext> {
        self.check_key(&rk.params)?;
        let (level, [a0, a1, b0, b1]) = self.tensor_operands(a, b)?;
        let ctx = &self.params.ctx;
        let d2 = ctx.mul_new(a1, b1, &ctx.q_basis(level));
        let (mut c0, mut c1) = switch_key(ctx, &d2, level, &rk.key);
        drop(d2);
        ctx.mod_down_in_place_plus(&mut c0, level, None, &[(a0, b0)]);
        ctx.mod_down_in_place_plus(&mut c1, level, None, &[(a0, b1), (a1, b0)]);
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale: a.scale * b.scale,
            slots: a.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// a² followed by relinearization.
    pub fn square(&self, a: &Ciphertext, rk: &RelinKey) -> Result<Ciphertext> {
        self.mul(a, a, rk)
    }

    /// Divides by the last prime (rounding) and drops it; the scale is divided
    /// by that prime and must be below the modulus left
    /// ([`CkksError::ScaleTooLarge`], only for ciphertexts built or read with
    /// an oversized scale).
    pub fn rescale(&self, ct: &Ciphertext) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        if ct.level == 0 {
            return Err(CkksError::NoLevelLeft);
        }
        let ctx = &self.params.ctx;
        let q = ctx.moduli[ct.level].value as f64;
        self.params
            .check_scale("rescale", ct.scale / q, ct.level - 1)?;
        Ok(Ciphertext {
            c0: ctx.rescale(&ct.c0, ct.level),
            c1: ctx.rescale(&ct.c1, ct.level),
            level: ct.level - 1,
            scale: ct.scale / q,
            slots: ct.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// Brings `ct` to `target_scale` at `target_level` (< ct.level), for
    /// adding it to a ciphertext of that scale and level.
    ///
    /// Multiplying by an integer `k` and rescaling by the prime `q` can only
    /// reach the scales `scale·k/q`, so the result's true scale is
    /// `target_scale·(1 + ε)` with `|ε| ≤ 1/(2k)`: with a small `k` (going
    /// from 1.3·2^80 to 2^40 with one 40-bit prime needs k ≈ 0.77) that error
    /// is large. This method keeps `|ε| ≤ SCALE_TOLERANCE` (the tolerance
    /// under which the evaluator calls two scales equal, far below the
    /// noise): when one multiply-and-rescale cannot, and more levels are
    /// available between `ct` and `target_level`, it first rescales (with an
    /// integer factor) to an intermediate scale from which the last factor is
    /// about 2^32; otherwise it returns [`CkksError::ScaleNotAlignable`].
    /// It uses as few levels as it can and drops the others (free).
    pub fn align_scale(
        &self,
        ct: &Ciphertext,
        target_level: usize,
        target_scale: f64,
    ) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        if target_level >= ct.level {
            return Err(CkksError::LevelMismatch {
                what: "align_scale (needs one spare level)",
                a: ct.level,
                b: target_level,
            });
        }
        if !(target_scale.is_finite() && target_scale > 0.0) {
            return Err(CkksError::BadScale(target_scale));
        }
        self.params
            .check_scale("align_scale", target_scale, target_level)?;
        let plan = (target_level + 1..=ct.level)
            .find_map(|start| self.align_plan(ct.scale, start, target_level, target_scale))
            .ok_or(CkksError::ScaleNotAlignable {
                from: ct.scale,
                to: target_scale,
                rescales: ct.level - target_level,
            })?;
        let start = plan.first().map_or(target_level + 1, |&(level, _)| level);
        let mut cur = self.drop_to_level(ct, start)?;
        for &(level, k) in &plan {
            debug_assert_eq!(cur.level, level);
            if k != 1 {
                cur = self.mul_integer(&cur, k)?;
                cur.scale *= k as f64;
            }
            cur = self.rescale(&cur)?;
        }
        let mut out = self.drop_to_level(&cur, target_level)?;
        // The true scale is target_scale·(1 + ε), |ε| <= SCALE_TOLERANCE.
        out.scale = target_scale;
        Ok(out)
    }

    /// Integer factors `(level, k)`, one multiply-and-rescale per level from
    /// `start` down to `target_level + 1`, that take `scale` to
    /// `target_scale` within SCALE_TOLERANCE. The steps above
    /// `target_level + 1` aim at a scale from which the last factor is about
    /// 2^32. `None` if that does not work from `start`.
    fn align_plan(
        &self,
        scale: f64,
        start: usize,
        target_level: usize,
        target_scale: f64,
    ) -> Option<Vec<(usize, i64)>> {
        const MAX_FACTOR: f64 = 4_611_686_018_427_387_904.0; // 2^62
        let q = |level: usize| self.params.ctx.moduli[level].value as f64;
        // The scale before each rescale must stay below the level's modulus.
        let fits = |s: f64, level: usize| s.log2() < self.params.log2_modulus(level);
        let mut s = scale;
        let mut plan = Vec::with_capacity(start - target_level);
        for level in (target_level + 2..=start).rev() {
            let aim = target_scale * q(level - 1) / 2f64.powi(32);
            let k = (aim * q(level) / s).round().clamp(1.0, MAX_FACTOR);
            if !fits(s * k, level) {
                return None;
            }
            plan.push((level, k as i64));
            s = s * k / q(level);
        }
        let level = target_level + 1;
        let exact = target_scale * q(level) / s;
        let k = exact.round();
        if !(1.0..MAX_FACTOR).contains(&k)
            || ((k - exact) / exact).abs() > SCALE_TOLERANCE
            || !fits(s * k, level)
        {
            return None;
        }
        plan.push((level, k as i64));
        Some(plan)
    }

    fn galois_key<'k>(
        &self,
        gk: &'k GaloisKeys,
        g: u64,
        level: usize,
        op: GaloisOp,
    ) -> Result<&'k KeySwitchKey> {
        self.check_key(&gk.params)?;
        let key = gk.keys.get(&g).ok_or(CkksError::MissingGaloisKey { op })?;
        if level > key.max_level {
            return Err(CkksError::KeyLevelTooLow {
                op,
                level,
                max_level: key.max_level,
            });
        }
        Ok(key)
    }

    /// Decomposes `ct.c1` once for several rotations.
    pub fn hoist<'a>(&self, ct: &'a Ciphertext) -> Result<HoistedCiphertext<'a>> {
        self.check_ct(ct)?;
        Ok(HoistedCiphertext {
            ct,
            dec: decompose(&self.params.ctx, &ct.c1, ct.level),
            fingerprint: self.params.fingerprint(),
        })
    }

    /// Finishes a Galois key switch: ModDown (adding `c0`), then the
    /// automorphism on the two results.
    fn finish_galois(&self, ct: &Ciphertext, g: u64, k: (Vec<u64>, Vec<u64>)) -> Ciphertext {
        let ctx = &self.params.ctx;
        let (mut k0, mut k1) = k;
        // The key is stored as σ^{-1}(k): key-switch the unpermuted digits,
        // add c0, and permute the two results once.
        ctx.mod_down_in_place(&mut k0, ct.level, Some(&ct.c0));
        ctx.mod_down_in_place(&mut k1, ct.level, None);
        let perm = ctx.galois_permutation(g);
        ctx.permute_in_place(&mut k0, &perm);
        ctx.permute_in_place(&mut k1, &perm);
        Ciphertext {
            c0: k0,
            c1: k1,
            level: ct.level,
            scale: ct.scale,
            slots: ct.slots,
            seed: None,
            fingerprint: self.params.fingerprint(),
        }
    }

    fn apply_galois(&self, h: &HoistedCiphertext<'_>, g: u64, key: &KeySwitchKey) -> Ciphertext {
        self.finish_galois(h.ct, g, apply_key(&self.params.ctx, &h.dec, key))
    }

    /// One Galois key switch without hoisting (no stored digits).
    fn galois_single(&self, ct: &Ciphertext, g: u64, key: &KeySwitchKey) -> Ciphertext {
        let k = switch_key(&self.params.ctx, &ct.c1, ct.level, key);
        self.finish_galois(ct, g, k)
    }

    /// Rotates the slots left by `step` (negative: right).
    pub fn rotate(&self, ct: &Ciphertext, step: i64, gk: &GaloisKeys) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        let g = self.params.galois_element(step);
        if g == 1 {
            let mut c = ct.clone();
            c.seed = None;
            return Ok(c);
        }
        let key = self.galois_key(gk, g, ct.level, GaloisOp::Rotation { step })?;
        Ok(self.galois_single(ct, g, key))
    }

    /// Rotations of one ciphertext by many steps, sharing one decomposition.
    pub fn rotate_hoisted(
        &self,
        ct: &Ciphertext,
        steps: &[i64],
        gk: &GaloisKeys,
    ) -> Result<Vec<Ciphertext>> {
        let h = self.hoist(ct)?;
        self.rotate_many(&h, steps, gk)
    }

    /// Rotations of an already hoisted ciphertext.
    pub fn rotate_many(
        &self,
        h: &HoistedCiphertext<'_>,
        steps: &[i64],
        gk: &GaloisKeys,
    ) -> Result<Vec<Ciphertext>> {
        if h.fingerprint != self.params.fingerprint() {
            return Err(CkksError::WrongParameters {
                expected: self.params.fingerprint(),
                found: h.fingerprint,
            });
        }
        steps
            .iter()
            .map(|&step| {
                let g = self.params.galois_element(step);
                if g == 1 {
                    let mut c = h.ct.clone();
                    c.seed = None;
                    return Ok(c);
                }
                let key = self.galois_key(gk, g, h.ct.level, GaloisOp::Rotation { step })?;
                Ok(self.apply_galois(h, g, key))
            })
            .collect()
    }

    /// Complex conjugation of every slot.
    pub fn conjugate(&self, ct: &Ciphertext, gk: &GaloisKeys) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        let g = self.params.conjugation_element();
        let key = self.galois_key(gk, g, ct.level, GaloisOp::Conjugation)?;
        Ok(self.galois_single(ct, g, key))
    }

    /// Every slot receives the sum of all `ct.slots()` slots (log2(slots)
    /// rotations by 1, 2, 4, …; see [`crate::KeyGenerator::power_of_two_steps`]).
    pub fn inner_sum(&self, ct: &Ciphertext, gk: &GaloisKeys) -> Result<Ciphertext> {
        self.check_ct(ct)?;
        let mut acc = ct.clone();
        acc.seed = None;
        let mut s = 1usize;
        while s < ct.slots {
            let r = self.rotate(&acc, s as i64, gk)?;
            acc = self.add(&acc, &r)?;
            s <<= 1;
        }
        Ok(acc)
    }

    /// Matrix–vector product `M·v` from the generalized diagonals of `M`
    /// (`diagonals[k]` = (k-th diagonal pre-rotated right by `giant·⌊k/giant⌋`), as
    /// produced by [`crate::Encoder::encode_bsgs_diagonals`]) with the baby-step
    /// giant-step method: baby-step rotations are hoisted, products accumulate
    /// without rescaling, and one rescale-free result is returned (scale =
    /// ct.scale · diagonal scale).
    pub fn matvec_bsgs(
        &self,
        ct: &Ciphertext,
        diagonals: &[Option<Plaintext>],
        baby: usize,
        gk: &GaloisKeys,
    ) -> Result<Ciphertext> {
        // Baby steps past the last diagonal are never used (and a huge `baby`
        // would allocate that many steps), so at most one per diagonal.
        let baby = baby.clamp(1, diagonals.len().max(1));
        let giants = diagonals.len().div_ceil(baby);
        let steps: Vec<i64> = (0..baby as i64).collect();
        let rotated = self.rotate_hoisted(ct, &steps, gk)?;
        let mut total: Option<Ciphertext> = None;
        for gi in 0..giants {
            let mut inner: Option<Ciphertext> = None;
            for (b, rot) in rotated.iter().enumerate() {
                let Some(Some(pt)) = diagonals.get(gi * baby + b) else {
                    continue;
                };
                match inner.as_mut() {
                    None => inner = Some(self.mul_plain(rot, pt)?),
                    Some(acc) => self.mul_plain_add_assign(acc, rot, pt)?,
                }
            }
            let Some(inner) = inner else { continue };
            let shifted = self.rotate(&inner, (gi * baby) as i64, gk)?;
            total = Some(match total {
                None => shifted,
                Some(t) => self.add(&t, &shifted)?,
            });
        }
        total.ok_or(CkksError::NoOperands {
            what: "matvec_bsgs (all diagonals are empty)",
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::params::test_params;
    use crate::*;

    /// The fused product adds the tensor terms inside ModDown; it must give
    /// exactly the same residues as the two-step path, for one- and
    /// multi-prime digits, and for operands at different levels.
    #[test]
    fn fused_mul_equals_tensor_then_relinearize() {
        for (q, p, dnum) in [
            (&[50u32, 40, 40, 40][..], 50u32, 4usize),
            (&[50, 40, 40, 40][..], 45, 2),
        ] {
            let params = test_params(12, q, p, dnum, 40);
            let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(3));
            let sk = kg.secret_key();
            let rk = kg.relin_key(&sk).unwrap();
            let enc = Encoder::new(&params);
            let mut e = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(4));
            let ev = Evaluator::new(&params);
            let top = params.max_level();
            let values: Vec<f64> = (0..params.max_slots())
                .map(|i| (i % 7) as f64 / 7.0)
                .collect();
            let pt = enc
                .encode_real(&values, top, params.default_scale())
                .unwrap();
            let a = e.encrypt_symmetric(&pt, &sk).unwrap();
            let b = ev
                .drop_to_level(&e.encrypt_symmetric(&pt, &sk).unwrap(), top - 1)
                .unwrap();
            for (x, y) in [(&a, &a), (&a, &b)] {
                let fused = ev.mul(x, y, &rk).unwrap();
                let two_step = ev
                    .relinearize(&ev.mul_no_relin(x, y).unwrap(), &rk)
                    .unwrap();
                assert_eq!(fused, two_step, "q {q:?} p {p} dnum {dnum}");
            }
        }
    }

    /// A ciphertext made under other parameters (more primes, or another
    /// ring dimension) must be refused with WrongParameters (its parameter
    /// tag) by every evaluator entry point, never index out of bounds.
    #[test]
    fn foreign_ciphertexts_are_refused_not_panicking() {
        let own = test_params(12, &[50, 40], 50, 2, 40);
        let own_a_different_dnum = test_params(12, &[50, 40], 50, 1, 40);
        let ev = Evaluator::new(&own);
        let mut kg = KeyGenerator::from_insecure_seed(&own, InsecureSeed::from_u64(1));
        let sk = kg.secret_key();
        let keys = kg.evaluation_keys(&sk, &[1], true).unwrap();
        let own_pt = Encoder::new(&own)
            .encode_real(&[0.5], own.max_level(), own.default_scale())
            .unwrap();
        let foreign = |params: CkksParams| {
            let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(2));
            let sk = kg.secret_key();
            let pt = Encoder::new(&params)
                .encode_real(&[0.5], params.max_level(), params.default_scale())
                .unwrap();
            let ct = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(3))
                .encrypt_symmetric(&pt, &sk)
                .unwrap();
            let c3 = Evaluator::new(&params).mul_no_relin(&ct, &ct).unwrap();
            (pt, ct, c3)
        };
        // Level 3 is above this chain's top (1); N = 2^13 has longer polynomials.
        for (pt, ct, c3) in [
            foreign(test_params(12, &[50, 40, 40, 40], 50, 4, 40)),
            foreign(test_params(13, &[50, 40], 50, 2, 40)),
        ] {
            #[track_caller]
            fn refused(r: Result<Ciphertext>) {
                let r = r.map(|c| c.level());
                assert!(matches!(r, Err(CkksError::WrongParameters { .. })), "{r:?}")
            }
            refused(ev.add(&ct, &ct));
            refused(ev.sub(&ct, &ct));
            refused(ev.negate(&ct));
            refused(ev.drop_to_level(&ct, 0));
            refused(ev.add_plain(&ct, &own_pt));
            refused(ev.mul_plain(&ct, &own_pt));
            let own_ct = Encryptor::from_insecure_seed(&own, InsecureSeed::from_u64(4))
                .encrypt_symmetric(&own_pt, &sk)
                .unwrap();
            refused(ev.mul_plain(&own_ct, &pt));
            let mut acc = ct.clone();
            refused(
                ev.mul_plain_add_assign(&mut acc, &own_ct, &own_pt)
                    .map(|()| acc),
            );
            refused(ev.add_const(&ct, Complex::new(1.0, 0.0)));
            refused(ev.mul_const(&ct, 2.0, 2f64.powi(20)));
            refused(ev.mul_integer(&ct, 3));
            refused(ev.mul(&ct, &ct, &keys.relin));
            refused(ev.mul_no_relin(&ct, &ct).map(|_| ct.clone()));
            refused(ev.relinearize(&c3, &keys.relin));
            refused(ev.rescale(&ct));
            refused(ev.align_scale(&ct, 0, own.default_scale()));
            refused(ev.rotate(&ct, 1, &keys.galois));
            refused(ev.rotate(&ct, 0, &keys.galois));
            refused(ev.conjugate(&ct, &keys.galois));
            assert!(ev.rotate_hoisted(&ct, &[1], &keys.galois).is_err());
            // Another parameter set's evaluator refuses to hoist our
            // ciphertext, and we refuse what it hoisted.
            let foreign_ev = Evaluator::new(&own_a_different_dnum);
            assert!(matches!(
                foreign_ev.hoist(&own_ct).map(|_| ()),
                Err(CkksError::WrongParameters { .. })
            ));
            let (_, its_ct, _) = foreign(own_a_different_dnum.clone());
            let h = foreign_ev.hoist(&its_ct).unwrap();
            assert!(matches!(
                ev.rotate_many(&h, &[1], &keys.galois),
                Err(CkksError::WrongParameters { .. })
            ));
            refused(ev.inner_sum(&ct, &keys.galois));
            // Encryption, decryption and decoding check the same shape.
            let dec = Decryptor::new(&own);
            assert!(dec.decrypt(&ct, &sk).is_err());
            assert!(dec.decrypt3(&c3, &sk).is_err());
            assert!(Encoder::new(&own).decode(&pt).is_err());
            let mut encryptor = Encryptor::from_insecure_seed(&own, InsecureSeed::from_u64(5));
            refused(encryptor.encrypt_symmetric(&pt, &sk));
            refused(encryptor.encrypt(&pt, &kg.public_key(&sk).unwrap()));
        }
    }
}
