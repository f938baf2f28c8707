//! The CKKS encoder: canonical embedding through the "special FFT".
//!
//! A vector of `slots` complex numbers (a power of two, at most N/2) maps to
//! a real polynomial whose evaluations at ζ^{5^j} (ζ = e^{iπ/N}) are the slot
//! values, scaled by Δ and rounded. Fewer slots use sparse packing: the
//! polynomial lives in the subring Z[X^{N/(2·slots)}], so rotations still act
//! cyclically on the `slots` values.

use crate::ciphertext::{Plaintext, check_shape};
use crate::error::{CkksError, Result};
use crate::params::CkksParams;
use std::ops::{Add, Mul, Sub};
use zeroize::Zeroizing;

/// A complex number (slot value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// `re + i·im`.
    pub const fn new(re: f64, im: f64) -> Self {
        Complex { re, im }
    }
    /// The complex conjugate.
    pub fn conj(self) -> Self {
        Complex::new(self.re, -self.im)
    }
    /// The modulus `|z|`.
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
}
impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex::new(self.re + o.re, self.im + o.im)
    }
}
impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex::new(self.re - o.re, self.im - o.im)
    }
}
impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}
impl From<f64> for Complex {
    fn from(re: f64) -> Self {
        Complex::new(re, 0.0)
    }
}

/// Encodes and decodes slot vectors for one parameter set.
#[derive(Clone, Debug)]
pub struct Encoder {
    params: CkksParams,
    /// ksi[j] = exp(2πi j / 2N), j = 0..=2N.
    ksi: Vec<Complex>,
    /// rot_group[j] = 5^j mod 2N.
    rot_group: Vec<usize>,
}

fn bit_reverse<T>(v: &mut [T]) {
    let n = v.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            v.swap(i, j);
        }
    }
}

impl Encoder {
    /// An encoder for `params` (precomputes the slot FFT tables).
    pub fn new(params: &CkksParams) -> Self {
        let n = params.n();
        let m = 2 * n;
        let ksi = (0..=m)
            .map(|j| {
                let a = 2.0 * std::f64::consts::PI * j as f64 / m as f64;
                Complex::new(a.cos(), a.sin())
            })
            .collect();
        let mut rot_group = Vec::with_capacity(n / 2);
        let mut g = 1usize;
        for _ in 0..n / 2 {
            rot_group.push(g);
            g = g * 5 % m;
        }
        Encoder {
            params: params.clone(),
            ksi,
            rot_group,
        }
    }

    fn fft_special(&self, vals: &mut [Complex]) {
        let size = vals.len();
        let m = 2 * self.params.n();
        bit_reverse(vals);
        let mut len = 2;
        while len <= size {
            let lenh = len >> 1;
            let lenq = len << 2;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (self.rot_group[j] % lenq) * m / lenq;
                    let u = vals[i + j];
                    let v = vals[i + j + lenh] * self.ksi[idx];
                    vals[i + j] = u + v;
                    vals[i + j + lenh] = u - v;
                }
            }
            len <<= 1;
        }
    }

    fn fft_special_inv(&self, vals: &mut [Complex]) {
        let size = vals.len();
        let m = 2 * self.params.n();
        let mut len = size;
        while len >= 2 {
            let lenh = len >> 1;
            let lenq = len << 2;
            for i in (0..size).step_by(len) {
                for j in 0..lenh {
                    let idx = (lenq - (self.rot_group[j] % lenq)) * m / lenq;
                    let u = vals[i + j] + vals[i + j + lenh];
                    let v = (vals[i + j] - vals[i + j + lenh]) * self.ksi[idx];
                    vals[i + j] = u;
                    vals[i + j + lenh] = v;
                }
            }
            len >>= 1;
        }
        bit_reverse(vals);
        let inv = 1.0 / size as f64;
        for v in vals.iter_mut() {
            v.re *= inv;
            v.im *= inv;
        }
    }

    /// Number of slots used for `len` values: the next power of two.
    pub fn slots_for(&self, len: usize) -> Result<usize> {
        let max = self.params.max_slots();
        if len > max {
            return Err(CkksError::TooManySlots(len, max));
        }
        Ok(len.max(1).next_power_of_two())
    }

    /// Encodes complex values at `level` with `scale`. Fewer than N/2 values
    /// use sparse packing with the next power-of-two slot count (zero padded).
    ///
    /// Every value must satisfy `|value|·scale < Q_level / 4` (half the
    /// level's modulus with one bit of margin, [`CkksParams::max_log2_encoded`]),
    /// otherwise [`CkksError::ValueTooLarge`]: a larger value would wrap
    /// around the modulus and decode as something else.
    pub fn encode(&self, values: &[Complex], level: usize, scale: f64) -> Result<Plaintext> {
        let slots = self.slots_for(values.len())?;
        self.encode_with_slots(values, slots, level, scale)
    }

    /// Encodes real values (imaginary parts zero).
    pub fn encode_real(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext> {
        let v: Vec<Complex> = values.iter().map(|&x| Complex::from(x)).collect();
        self.encode(&v, level, scale)
    }

    /// Encodes with an explicit slot count (a power of two ≥ values.len()).
    pub fn encode_with_slots(
        &self,
        values: &[Complex],
        slots: usize,
        level: usize,
        scale: f64,
    ) -> Result<Plaintext> {
        let ctx = &self.params.ctx;
        let n = ctx.n;
        if !slots.is_power_of_two() || slots > n / 2 {
            return Err(CkksError::BadSlotCount(slots));
        }
        if values.len() > slots {
            return Err(CkksError::TooManySlots(values.len(), slots));
        }
        if level > self.params.max_level() {
            return Err(CkksError::LevelTooHigh {
                level,
                max: self.params.max_level(),
            });
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(CkksError::BadScale(scale));
        }
        self.params.check_scale("encode", scale, level)?;
        // A coefficient is an average of the slot values (times unit-modulus
        // factors), so |coefficient| <= max |value|: checking the values
        // keeps every coefficient below Q_level/2 and the decoding exact.
        let max_log2 = self.params.max_log2_encoded(level);
        let mut u = vec![Complex::default(); slots];
        for (u, v) in u.iter_mut().zip(values) {
            if !(v.re.is_finite() && v.im.is_finite()) {
                return Err(CkksError::BadValue(if v.re.is_finite() {
                    v.im
                } else {
                    v.re
                }));
            }
            let value = if v.im == 0.0 { v.re } else { v.abs() };
            self.params
                .check_value_against(value, scale, level, max_log2)?;
            *u = *v;
        }
        self.fft_special_inv(&mut u);
        let gap = n / 2 / slots;
        let mut coeffs = vec![0f64; n];
        for (i, v) in u.iter().enumerate() {
            coeffs[i * gap] = (v.re * scale).round();
            coeffs[n / 2 + i * gap] = (v.im * scale).round();
        }
        let basis = ctx.q_basis(level);
        let mut poly = self.reduce_real_coeffs(&coeffs, &basis)?;
        ctx.ntt(&mut poly, &basis);
        Ok(Plaintext {
            poly,
            level,
            scale,
            slots,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// Reduces rounded real coefficients into RNS limbs, exactly even when
    /// they exceed 64 bits (as mantissa · 2^exponent).
    fn reduce_real_coeffs(&self, coeffs: &[f64], basis: &[usize]) -> Result<Vec<u64>> {
        let ctx = &self.params.ctx;
        let limit = 2f64.powi(62);
        if coeffs.iter().all(|c| c.abs() < limit) {
            let ints: Vec<i64> = coeffs.iter().map(|&c| c as i64).collect();
            return Ok(ctx.reduce_signed(&ints, basis));
        }
        // Values beyond 2^62 but below the total modulus: split c = mant * 2^exp.
        let log_q: f64 = basis
            .iter()
            .map(|&i| (ctx.moduli[i].value as f64).log2())
            .sum();
        let n = ctx.n;
        let mut out = vec![0u64; basis.len() * n];
        for (x, &c) in coeffs.iter().enumerate() {
            if !c.is_finite() || c.abs().log2() >= log_q - 1.0 {
                return Err(CkksError::BadValue(c));
            }
            let (mant, exp) = if c.abs() < limit {
                (c as i64, 0i32)
            } else {
                let e = c.abs().log2().floor() as i32 - 52;
                ((c / 2f64.powi(e)) as i64, e)
            };
            for (l, &mi) in basis.iter().enumerate() {
                let m = ctx.moduli[mi];
                let p2 = m.pow(2, exp as u64);
                out[l * n + x] = m.mul(m.reduce_i64(mant), p2);
            }
        }
        Ok(out)
    }

    /// Decodes a plaintext back to its slot values. A scale that is not
    /// below the level's modulus is refused ([`CkksError::ScaleTooLarge`]):
    /// the values wrapped around and would decode as noise.
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<Complex>> {
        check_shape(&self.params, pt.fingerprint, pt.level, &[&pt.poly])?;
        self.params.check_scale("decode", pt.scale, pt.level)?;
        let ctx = &self.params.ctx;
        let n = ctx.n;
        let basis = ctx.q_basis(pt.level);
        // A decrypted plaintext is m + e, and e with the ciphertext gives the
        // key away: the coefficient copies are wiped on drop.
        let mut coef = Zeroizing::new(pt.poly.clone());
        ctx.intt(&mut coef, &basis);
        let values = Zeroizing::new(ctx.to_centered_f64(&coef, pt.level));
        let slots = pt.slots;
        if !slots.is_power_of_two() || slots > n / 2 {
            return Err(CkksError::BadSlotCount(slots));
        }
        let gap = n / 2 / slots;
        let mut u: Vec<Complex> = (0..slots)
            .map(|i| {
                Complex::new(
                    values[i * gap] / pt.scale,
                    values[n / 2 + i * gap] / pt.scale,
                )
            })
            .collect();
        self.fft_special(&mut u);
        Ok(u)
    }

    /// Decodes the real parts.
    pub fn decode_real(&self, pt: &Plaintext) -> Result<Vec<f64>> {
        Ok(self.decode(pt)?.into_iter().map(|c| c.re).collect())
    }
}

impl Encoder {
    /// Encodes the generalized diagonals of a `slots × slots` matrix for
    /// [`crate::Evaluator::matvec_bsgs`] with `baby` baby steps: diagonal `k`
    /// (`d_k[i] = M[i][(i + k) mod slots]`) is pre-rotated right by
    /// `baby·⌊k/baby⌋`. All-zero diagonals are `None` (skipped).
    pub fn encode_bsgs_diagonals(
        &self,
        matrix: &[Vec<f64>],
        baby: usize,
        level: usize,
        scale: f64,
    ) -> Result<Vec<Option<Plaintext>>> {
        let slots = matrix.len();
        if !slots.is_power_of_two() || slots > self.params.max_slots() {
            return Err(CkksError::BadSlotCount(slots));
        }
        if let Some(r) = matrix.iter().find(|r| r.len() != slots) {
            return Err(CkksError::LengthMismatch {
                what: "matvec: matrix row length (the matrix must be square)",
                expected: slots,
                found: r.len(),
            });
        }
        let baby = baby.max(1);
        (0..slots)
            .map(|k| {
                let diag: Vec<f64> = (0..slots).map(|i| matrix[i][(i + k) % slots]).collect();
                if diag.iter().all(|&x| x == 0.0) {
                    return Ok(None);
                }
                let shift = baby * (k / baby);
                let rotated: Vec<Complex> = (0..slots)
                    .map(|i| Complex::from(diag[(i + slots - shift % slots) % slots]))
                    .collect();
                self.encode_with_slots(&rotated, slots, level, scale)
                    .map(Some)
            })
            .collect()
    }
}
