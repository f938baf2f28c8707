//! Binary formats (privox-format envelopes): every object carries a magic,
//! a version and the parameter fingerprint — the object's own (keys hold
//! their parameters, ciphertexts and plaintexts their fingerprint), so
//! writing with other parameters is refused, not relabelled. The payload
//! layout is unchanged by that tag (it was always in the envelope header),
//! so the version stays 1. Polynomials are bit-packed at the
//! width of each prime; every residue is checked to be below its prime, and
//! every length is checked before allocation. No byte string can panic a reader.
//!
//! Seeded forms replace each uniform half (`c1` of a secret-key ciphertext,
//! `a_j` of key-switching keys, `a` of the public key) by its 32-byte seed.
//!
//! The secret key has its own magic; no function writes it into, or reads it
//! from, an evaluation-key format:
//!
//! ```compile_fail
//! # use privox_ckks::*;
//! # let params = CkksParams::new(ParamSpec::standard(13, 2, 3)).unwrap();
//! let sk = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(1)).secret_key();
//! // EvaluationKeys::to_bytes takes &EvaluationKeys, never a SecretKey.
//! let bytes = EvaluationKeys::to_bytes(&sk);
//! ```

use crate::ciphertext::{Ciphertext, Plaintext, check_shape};
use crate::error::{CkksError, Result};
use crate::keys::{
    EvaluationKeys, GaloisKeys, KeySwitchKey, PublicKey, RelinKey, SecretKey, expand_uniform,
    galois_inverse, keep_levels,
};
use crate::params::{CkksParams, ParamSpec, SecurityPolicy};
use crate::rns::RnsContext;
use privox_format::{FormatError, Magic, Reader, Writer};
use std::collections::BTreeMap;
use zeroize::{Zeroize, Zeroizing};

pub const PARAMS_MAGIC: Magic = Magic(*b"PVXCKPAR");
pub const PUBLIC_KEY_MAGIC: Magic = Magic(*b"PVXCKPUB");
pub const RELIN_KEY_MAGIC: Magic = Magic(*b"PVXCKRLK");
pub const GALOIS_KEYS_MAGIC: Magic = Magic(*b"PVXCKGAL");
pub const EVAL_KEYS_MAGIC: Magic = Magic(*b"PVXCKEVK");
pub const CIPHERTEXT_MAGIC: Magic = Magic(*b"PVXCKCTX");
pub const PLAINTEXT_MAGIC: Magic = Magic(*b"PVXCKPTX");
pub const SECRET_KEY_MAGIC: Magic = Magic(*b"PVXCKSEC");
const VERSION: u16 = 1;

fn write_poly(w: &mut Writer, ctx: &RnsContext, poly: &[u64], basis: &[usize]) {
    let n = ctx.n;
    for (l, &mi) in basis.iter().enumerate() {
        let bits = ctx.moduli[mi].bits() as usize;
        let mut out = vec![0u8; (n * bits).div_ceil(8)];
        let mut acc: u128 = 0;
        let mut fill = 0usize;
        let mut pos = 0usize;
        for &c in &poly[l * n..(l + 1) * n] {
            acc |= (c as u128) << fill;
            fill += bits;
            while fill >= 8 {
                out[pos] = acc as u8;
                pos += 1;
                acc >>= 8;
                fill -= 8;
            }
        }
        if fill > 0 {
            out[pos] = acc as u8;
        }
        w.put_bytes(&out);
    }
}

fn read_poly(r: &mut Reader<'_>, ctx: &RnsContext, basis: &[usize]) -> Result<Vec<u64>> {
    let n = ctx.n;
    let mut poly = Vec::with_capacity(basis.len() * n);
    for &mi in basis {
        let m = ctx.moduli[mi];
        let bits = m.bits() as usize;
        let expect = (n * bits).div_ceil(8);
        let bytes = r.get_bytes(expect)?;
        if bytes.len() != expect {
            return Err(FormatError::LengthMismatch {
                what: "polynomial limb bytes",
                expected: expect as u64,
                found: bytes.len() as u64,
            }
            .into());
        }
        let mask = (1u128 << bits) - 1;
        let mut acc: u128 = 0;
        let mut fill = 0usize;
        let mut it = bytes.iter();
        for _ in 0..n {
            while fill < bits {
                // The length check above guarantees enough bytes for n values.
                let b = *it.next().ok_or(FormatError::Truncated {
                    needed: 1,
                    available: 0,
                })?;
                acc |= (b as u128) << fill;
                fill += 8;
            }
            let c = (acc & mask) as u64;
            acc >>= bits;
            fill -= bits;
            if c >= m.value {
                return Err(FormatError::OutOfRange {
                    what: "polynomial residue (reduced modulo its prime)",
                    found: c,
                    min: 0,
                    max: m.value - 1,
                }
                .into());
            }
            poly.push(c);
        }
    }
    Ok(poly)
}

fn read_seed(r: &mut Reader<'_>) -> Result<[u8; 32]> {
    let b = r.get_bytes(32)?;
    b.try_into().map_err(|_| {
        FormatError::LengthMismatch {
            what: "seed bytes",
            expected: 32,
            found: b.len() as u64,
        }
        .into()
    })
}

fn read_level(r: &mut Reader<'_>, params: &CkksParams) -> Result<usize> {
    let level = r.get_u32()? as usize;
    if level > params.max_level() {
        return Err(FormatError::OutOfRange {
            what: "ciphertext level",
            found: level as u64,
            min: 0,
            max: params.max_level() as u64,
        }
        .into());
    }
    Ok(level)
}

fn read_scale(r: &mut Reader<'_>) -> Result<f64> {
    let s = r.get_f64()?;
    if !(s.is_finite() && s > 0.0) {
        return Err(FormatError::NotPositiveFinite { what: "scale" }.into());
    }
    Ok(s)
}

fn read_slots(r: &mut Reader<'_>, params: &CkksParams) -> Result<usize> {
    let s = r.get_u64()?;
    if !s.is_power_of_two() || s > params.max_slots() as u64 {
        return Err(FormatError::NotPowerOfTwo {
            what: "slot count",
            found: s,
            max: params.max_slots() as u64,
        }
        .into());
    }
    Ok(s as usize)
}

fn open<'a>(bytes: &'a [u8], magic: Magic, params: &CkksParams) -> Result<Reader<'a>> {
    Reader::open_expecting(bytes, magic, &[VERSION], params.fingerprint()).map_err(|e| match e {
        FormatError::FingerprintMismatch { expected, found } => {
            CkksError::WrongParameters { expected, found }
        }
        e => CkksError::Format(e),
    })
}

impl CkksParams {
    /// Serializes the parameter description (the primes are re-derived and checked on load).
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = &self.spec;
        let mut w = Writer::new(PARAMS_MAGIC, VERSION, self.fingerprint());
        w.put_u32(s.log_n);
        w.put_u32(s.q_bits.len() as u32);
        for &b in &s.q_bits {
            w.put_u32(b);
        }
        w.put_u32(s.p_bits);
        w.put_u32(s.dnum as u32);
        w.put_f64(s.default_scale);
        w.put_u8(match s.security {
            SecurityPolicy::Classical128 => 0,
            #[cfg(any(test, feature = "insecure-testing-params"))]
            SecurityPolicy::InsecureTestingOnly => 1,
        });
        w.finish()
    }

    /// Reads and re-validates parameters (security included).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, PARAMS_MAGIC, &[VERSION])?;
        let log_n = r.get_u32()?;
        let count = r.get_u32()? as usize;
        if count == 0 || count > 60 {
            return Err(FormatError::OutOfRange {
                what: "ciphertext prime count",
                found: count as u64,
                min: 1,
                max: 60,
            }
            .into());
        }
        let q_bits = (0..count)
            .map(|_| r.get_u32())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let p_bits = r.get_u32()?;
        let dnum = r.get_u32()? as usize;
        let default_scale = read_scale(&mut r)?;
        let security = match r.get_u8()? {
            0 => SecurityPolicy::Classical128,
            #[cfg(any(test, feature = "insecure-testing-params"))]
            1 => SecurityPolicy::InsecureTestingOnly,
            other => {
                return Err(FormatError::UnknownTag {
                    what: "security policy (insecure parameters need the insecure-testing-params feature)",
                    found: u64::from(other),
                }
                .into());
            }
        };
        r.finish()?;
        let header = privox_format::peek_header(bytes)?;
        // Cheap sanity bounds before the (costly) prime search.
        if !(4..=15).contains(&log_n) {
            return Err(FormatError::OutOfRange {
                what: "log2 of the ring dimension",
                found: u64::from(log_n),
                min: 4,
                max: 15,
            }
            .into());
        }
        if let Some(&b) = q_bits
            .iter()
            .chain([&p_bits])
            .find(|b| !(20..=61).contains(*b))
        {
            return Err(FormatError::OutOfRange {
                what: "prime bit size",
                found: u64::from(b),
                min: 20,
                max: 61,
            }
            .into());
        }
        let params = CkksParams::new(ParamSpec {
            log_n,
            q_bits,
            p_bits,
            dnum,
            default_scale,
            security,
        })?;
        if params.fingerprint() != header.fingerprint {
            return Err(CkksError::WrongParameters {
                expected: params.fingerprint(),
                found: header.fingerprint,
            });
        }
        Ok(params)
    }
}

impl PublicKey {
    /// Full form (both halves).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.write(false).unwrap_or_default()
    }
    /// Seeded form: `a` replaced by its 32-byte seed.
    pub fn to_bytes_seeded(&self) -> Result<Vec<u8>> {
        self.write(true)
    }
    fn write(&self, seeded: bool) -> Result<Vec<u8>> {
        let ctx = &self.params.ctx;
        let basis = ctx.key_basis();
        let mut w = Writer::new(PUBLIC_KEY_MAGIC, VERSION, self.params.fingerprint());
        w.put_u8(seeded as u8);
        write_poly(&mut w, ctx, &self.b, &basis);
        if seeded {
            w.put_bytes(&self.seed.ok_or(CkksError::NotSeeded)?);
        } else {
            write_poly(&mut w, ctx, &self.a, &basis);
        }
        Ok(w.finish())
    }
    /// Reads a public key serialized under `params`.
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, PUBLIC_KEY_MAGIC, params)?;
        let ctx = &params.ctx;
        let basis = ctx.key_basis();
        let seeded = read_flag(&mut r)?;
        let b = read_poly(&mut r, ctx, &basis)?;
        let (a, seed) = if seeded {
            let seed = read_seed(&mut r)?;
            (
                expand_uniform(ctx, &seed, &basis, 1)
                    .pop()
                    .unwrap_or_default(),
                Some(seed),
            )
        } else {
            (read_poly(&mut r, ctx, &basis)?, None)
        };
        r.finish()?;
        Ok(PublicKey {
            params: params.clone(),
            b,
            a,
            seed,
        })
    }
}

fn read_flag(r: &mut Reader<'_>) -> Result<bool> {
    match r.get_u8()? {
        0 => Ok(false),
        1 => Ok(true),
        f => Err(FormatError::UnknownTag {
            what: "form flag (0 = full, 1 = seeded)",
            found: u64::from(f),
        }
        .into()),
    }
}

/// Form flag bits of a key-switching key: 1 = seeded, 2 = truncated (a u32
/// maximum level follows; files without the bit are full keys).
const FLAG_SEEDED: u8 = 1;
const FLAG_TRUNCATED: u8 = 2;

fn write_ksk(w: &mut Writer, ctx: &RnsContext, k: &KeySwitchKey, seeded: bool) -> Result<()> {
    let full = k.max_level + 1 == ctx.num_q;
    let basis = ctx.qp_basis(k.max_level);
    let mut flag = if seeded { FLAG_SEEDED } else { 0 };
    if !full {
        flag |= FLAG_TRUNCATED;
    }
    w.put_u8(flag);
    if !full {
        w.put_u32(k.max_level as u32);
    }
    w.put_u32(k.b.len() as u32);
    for b in &k.b {
        write_poly(w, ctx, b, &basis);
    }
    if seeded {
        w.put_bytes(&k.seed.ok_or(CkksError::NotSeeded)?);
    } else {
        for a in &k.a {
            write_poly(w, ctx, a, &basis);
        }
    }
    Ok(())
}

fn read_ksk(r: &mut Reader<'_>, ctx: &RnsContext) -> Result<KeySwitchKey> {
    let flag = r.get_u8()?;
    if flag > (FLAG_SEEDED | FLAG_TRUNCATED) {
        return Err(FormatError::UnknownTag {
            what: "key form flag (bit 0 = seeded, bit 1 = truncated)",
            found: u64::from(flag),
        }
        .into());
    }
    let seeded = flag & FLAG_SEEDED != 0;
    let max_level = if flag & FLAG_TRUNCATED != 0 {
        let l = r.get_u32()? as usize;
        if l + 1 >= ctx.num_q {
            return Err(FormatError::OutOfRange {
                what: "truncated key level (below these parameters' top level)",
                found: l as u64,
                min: 0,
                max: ctx.num_q.saturating_sub(2) as u64,
            }
            .into());
        }
        l
    } else {
        ctx.num_q - 1
    };
    let basis = ctx.qp_basis(max_level);
    let digits = r.get_u32()? as usize;
    let expect = (max_level + 1).div_ceil(ctx.alpha);
    if digits != expect {
        return Err(FormatError::LengthMismatch {
            what: "key-switching digits",
            expected: expect as u64,
            found: digits as u64,
        }
        .into());
    }
    let b = (0..digits)
        .map(|_| read_poly(r, ctx, &basis))
        .collect::<Result<Vec<_>>>()?;
    let (a, seed) = if seeded {
        let seed = read_seed(r)?;
        // The seed expands the full key's `a`; a truncated key keeps its part.
        let full_digits = ctx.num_q.div_ceil(ctx.alpha);
        let a = expand_uniform(ctx, &seed, &ctx.key_basis(), full_digits);
        let a = keep_levels(ctx, &a, ctx.num_q - 1, max_level);
        (a, Some(seed))
    } else {
        (
            (0..digits)
                .map(|_| read_poly(r, ctx, &basis))
                .collect::<Result<Vec<_>>>()?,
            None,
        )
    };
    Ok(KeySwitchKey {
        b,
        a,
        seed,
        max_level,
    })
}

fn write_galois(w: &mut Writer, ctx: &RnsContext, g: &GaloisKeys, seeded: bool) -> Result<()> {
    w.put_u32(g.keys.len() as u32);
    for (&elt, k) in &g.keys {
        w.put_u64(elt);
        // Undo the internal pre-permutation: the wire form is the canonical key.
        let canonical = k.permuted(ctx, &ctx.galois_permutation(elt));
        write_ksk(w, ctx, &canonical, seeded)?;
    }
    Ok(())
}

fn read_galois(r: &mut Reader<'_>, params: &CkksParams) -> Result<GaloisKeys> {
    let n = params.n() as u64;
    let count = r.get_u32()? as u64;
    if count > n {
        return Err(FormatError::OutOfRange {
            what: "Galois key count",
            found: count,
            min: 0,
            max: n,
        }
        .into());
    }
    let mut keys = BTreeMap::new();
    for _ in 0..count {
        let elt = r.get_u64()?;
        if elt % 2 == 0 || elt >= 2 * n || elt == 1 {
            return Err(FormatError::UnknownTag {
                what: "Galois element (odd, in 3..2N)",
                found: elt,
            }
            .into());
        }
        let ctx = &params.ctx;
        let k =
            read_ksk(r, ctx)?.permuted(ctx, &ctx.galois_permutation(galois_inverse(elt, ctx.n)));
        if keys.insert(elt, k).is_some() {
            return Err(FormatError::Duplicate {
                what: "Galois element",
                value: elt,
            }
            .into());
        }
    }
    Ok(GaloisKeys {
        params: params.clone(),
        keys,
    })
}

impl RelinKey {
    /// Serializes in full form (a privox-format envelope).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.write(false).unwrap_or_default()
    }
    /// Seeded form: each `a_j` replaced by the key's 32-byte seed.
    pub fn to_bytes_seeded(&self) -> Result<Vec<u8>> {
        self.write(true)
    }
    fn write(&self, seeded: bool) -> Result<Vec<u8>> {
        let mut w = Writer::new(RELIN_KEY_MAGIC, VERSION, self.params.fingerprint());
        write_ksk(&mut w, &self.params.ctx, &self.key, seeded)?;
        Ok(w.finish())
    }
    /// Reads a relinearization key serialized under `params` (full or seeded form).
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, RELIN_KEY_MAGIC, params)?;
        let key = read_ksk(&mut r, &params.ctx)?;
        r.finish()?;
        Ok(RelinKey {
            params: params.clone(),
            key,
        })
    }
}

impl GaloisKeys {
    /// Serializes in full form (a privox-format envelope).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.write(false).unwrap_or_default()
    }
    /// Serializes in seeded form: uniform halves replaced by a 32-byte seed, about half the size.
    pub fn to_bytes_seeded(&self) -> Result<Vec<u8>> {
        self.write(true)
    }
    fn write(&self, seeded: bool) -> Result<Vec<u8>> {
        let mut w = Writer::new(GALOIS_KEYS_MAGIC, VERSION, self.params.fingerprint());
        write_galois(&mut w, &self.params.ctx, self, seeded)?;
        Ok(w.finish())
    }
    /// Reads Galois keys serialized under `params` (full or seeded form).
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, GALOIS_KEYS_MAGIC, params)?;
        let g = read_galois(&mut r, params)?;
        r.finish()?;
        Ok(g)
    }
}

impl EvaluationKeys {
    /// Relinearization and Galois keys in one envelope (full form).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.write(false).unwrap_or_default()
    }
    /// Seeded form: about half the size; the server re-expands the seeds.
    pub fn to_bytes_seeded(&self) -> Result<Vec<u8>> {
        self.write(true)
    }
    fn write(&self, seeded: bool) -> Result<Vec<u8>> {
        let params = &self.relin.params;
        params.check_same(&self.galois.params)?;
        let mut w = Writer::new(EVAL_KEYS_MAGIC, VERSION, params.fingerprint());
        write_ksk(&mut w, &params.ctx, &self.relin.key, seeded)?;
        write_galois(&mut w, &params.ctx, &self.galois, seeded)?;
        Ok(w.finish())
    }
    /// Reads evaluation keys serialized under `params`.
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, EVAL_KEYS_MAGIC, params)?;
        let key = read_ksk(&mut r, &params.ctx)?;
        let galois = read_galois(&mut r, params)?;
        r.finish()?;
        Ok(EvaluationKeys {
            relin: RelinKey {
                params: params.clone(),
                key,
            },
            galois,
        })
    }
}

impl Ciphertext {
    /// Full form: both polynomials, stamped with the ciphertext's own
    /// parameter fingerprint. `params` (needed for the limb widths) must be
    /// the parameters that made it, else [`CkksError::WrongParameters`].
    pub fn to_bytes(&self, params: &CkksParams) -> Result<Vec<u8>> {
        self.write(params, false)
    }
    /// Seeded form (fresh secret-key encryptions only): `c1` replaced by its
    /// seed. `params` as for [`Ciphertext::to_bytes`].
    pub fn to_bytes_seeded(&self, params: &CkksParams) -> Result<Vec<u8>> {
        self.write(params, true)
    }
    fn write(&self, params: &CkksParams, seeded: bool) -> Result<Vec<u8>> {
        check_shape(params, self.fingerprint, self.level, &[&self.c0, &self.c1])?;
        let ctx = &params.ctx;
        let basis = ctx.q_basis(self.level);
        let mut w = Writer::new(CIPHERTEXT_MAGIC, VERSION, self.fingerprint);
        w.put_u8(seeded as u8);
        w.put_u32(self.level as u32);
        w.put_f64(self.scale);
        w.put_u64(self.slots as u64);
        write_poly(&mut w, ctx, &self.c0, &basis);
        if seeded {
            w.put_bytes(&self.seed.ok_or(CkksError::NotSeeded)?);
        } else {
            write_poly(&mut w, ctx, &self.c1, &basis);
        }
        Ok(w.finish())
    }
    /// Reads a ciphertext made under `params`; one stamped with another
    /// parameter set's fingerprint is refused ([`CkksError::WrongParameters`]).
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, CIPHERTEXT_MAGIC, params)?;
        let ctx = &params.ctx;
        let seeded = read_flag(&mut r)?;
        let level = read_level(&mut r, params)?;
        let scale = read_scale(&mut r)?;
        let slots = read_slots(&mut r, params)?;
        params.check_scale("Ciphertext::from_bytes", scale, level)?;
        let basis = ctx.q_basis(level);
        let c0 = read_poly(&mut r, ctx, &basis)?;
        let (c1, seed) = if seeded {
            let seed = read_seed(&mut r)?;
            (
                expand_uniform(ctx, &seed, &basis, 1)
                    .pop()
                    .unwrap_or_default(),
                Some(seed),
            )
        } else {
            (read_poly(&mut r, ctx, &basis)?, None)
        };
        r.finish()?;
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale,
            slots,
            seed,
            fingerprint: params.fingerprint(),
        })
    }
}

impl Plaintext {
    /// Serializes the plaintext, stamped with its own parameter fingerprint;
    /// `params` must be the parameters that made it
    /// ([`CkksError::WrongParameters`]).
    pub fn to_bytes(&self, params: &CkksParams) -> Result<Vec<u8>> {
        check_shape(params, self.fingerprint, self.level, &[&self.poly])?;
        let ctx = &params.ctx;
        let mut w = Writer::new(PLAINTEXT_MAGIC, VERSION, self.fingerprint);
        w.put_u32(self.level as u32);
        w.put_f64(self.scale);
        w.put_u64(self.slots as u64);
        write_poly(&mut w, ctx, &self.poly, &ctx.q_basis(self.level));
        Ok(w.finish())
    }
    /// Reads a plaintext made under `params` (others: [`CkksError::WrongParameters`]).
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, PLAINTEXT_MAGIC, params)?;
        let level = read_level(&mut r, params)?;
        let scale = read_scale(&mut r)?;
        let slots = read_slots(&mut r, params)?;
        params.check_scale("Plaintext::from_bytes", scale, level)?;
        let poly = read_poly(&mut r, &params.ctx, &params.ctx.q_basis(level))?;
        r.finish()?;
        Ok(Plaintext {
            poly,
            level,
            scale,
            slots,
            fingerprint: params.fingerprint(),
        })
    }
}

impl SecretKey {
    /// The secret key's own format (magic `PVXCKSEC`): one byte per
    /// coefficient. Write it with `privox_format::write_secret_atomic`.
    ///
    /// The bytes are returned in a [`Zeroizing`] buffer (wiped on drop), and
    /// the envelope is built in one pre-sized buffer, so no reallocation
    /// leaves a copy of the key in freed memory.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let raw: Zeroizing<Vec<u8>> =
            Zeroizing::new(self.coeffs.iter().map(|&c| c as u8).collect());
        // Payload: the u64 length prefix and the coefficients.
        let mut w = Writer::with_capacity(
            SECRET_KEY_MAGIC,
            VERSION,
            self.params.fingerprint(),
            8 + raw.len(),
        );
        w.put_bytes(&raw);
        Zeroizing::new(w.finish())
    }
    /// Reads a secret key serialized under `params`.
    pub fn from_bytes(params: &CkksParams, bytes: &[u8]) -> Result<Self> {
        let mut r = open(bytes, SECRET_KEY_MAGIC, params)?;
        let raw = r.get_bytes(params.n())?;
        if raw.len() != params.n() {
            return Err(FormatError::LengthMismatch {
                what: "secret key coefficients",
                expected: params.n() as u64,
                found: raw.len() as u64,
            }
            .into());
        }
        let mut bad = 0u8;
        let coeffs: Vec<i8> = raw
            .iter()
            .map(|&b| {
                let c = b as i8;
                // Accumulate validity without a secret-dependent branch.
                bad |= !(-1..=1).contains(&c) as u8;
                c
            })
            .collect();
        r.finish()?;
        if bad != 0 {
            let mut coeffs = coeffs;
            coeffs.zeroize();
            return Err(FormatError::Inconsistent {
                what: "secret key coefficients (each must be -1, 0 or 1)",
            }
            .into());
        }
        Ok(SecretKey::from_coeffs(params, coeffs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::test_params;
    use crate::*;
    use proptest::prelude::*;

    struct Objects {
        params: CkksParams,
        blobs: Vec<(&'static str, Vec<u8>)>,
    }

    fn objects() -> Objects {
        let params = test_params(6, &[50, 30], 40, 1, 30);
        let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(3));
        let sk = kg.secret_key();
        let pk = kg.public_key(&sk).unwrap();
        let ek = kg.evaluation_keys(&sk, &[1, -1], true).unwrap();
        let enc = Encoder::new(&params);
        let pt = enc.encode_real(&[0.5, -0.25], 1, 2f64.powi(30)).unwrap();
        let mut e = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(4));
        let ct = e.encrypt_symmetric(&pt, &sk).unwrap();
        let blobs = vec![
            ("params", params.to_bytes()),
            ("pk", pk.to_bytes()),
            ("pk_seeded", pk.to_bytes_seeded().unwrap()),
            ("rlk", ek.relin.to_bytes()),
            ("rlk_seeded", ek.relin.to_bytes_seeded().unwrap()),
            ("gk", ek.galois.to_bytes()),
            ("evk_seeded", ek.to_bytes_seeded().unwrap()),
            ("evk", ek.to_bytes()),
            ("ct", ct.to_bytes(&params).unwrap()),
            ("ct_seeded", ct.to_bytes_seeded(&params).unwrap()),
            ("pt", pt.to_bytes(&params).unwrap()),
            ("sk", sk.to_bytes().to_vec()),
        ];
        Objects { params, blobs }
    }

    /// Runs every deserializer on `bytes`; must never panic.
    fn parse_all(params: &CkksParams, bytes: &[u8]) -> usize {
        let mut ok = 0;
        ok += CkksParams::from_bytes(bytes).is_ok() as usize;
        ok += PublicKey::from_bytes(params, bytes).is_ok() as usize;
        ok += RelinKey::from_bytes(params, bytes).is_ok() as usize;
        ok += GaloisKeys::from_bytes(params, bytes).is_ok() as usize;
        ok += EvaluationKeys::from_bytes(params, bytes).is_ok() as usize;
        ok += Ciphertext::from_bytes(params, bytes).is_ok() as usize;
        ok += Plaintext::from_bytes(params, bytes).is_ok() as usize;
        ok += SecretKey::from_bytes(params, bytes).is_ok() as usize;
        ok
    }

    /// Rewrites the trailing checksum so corruption reaches the payload parsers.
    fn reseal(bytes: &mut [u8]) {
        if bytes.len() < privox_format::HEADER_LEN + privox_format::CHECKSUM_LEN {
            return;
        }
        let end = bytes.len() - privox_format::CHECKSUM_LEN;
        let len = (end - privox_format::HEADER_LEN) as u64;
        bytes[privox_format::HEADER_LEN - 8..privox_format::HEADER_LEN]
            .copy_from_slice(&len.to_le_bytes());
        let sum = checksum_of(&bytes[..end]);
        bytes[end..].copy_from_slice(&sum);
    }

    /// The envelope checksum, recomputed by re-wrapping the payload.
    fn checksum_of(prefix: &[u8]) -> [u8; 8] {
        let h = privox_format::peek_header(prefix).expect("prefix has a header");
        let mut w = Writer::new(h.magic, h.version, h.fingerprint);
        // Writer appends payload bytes verbatim through put_u8.
        for &b in &prefix[privox_format::HEADER_LEN..] {
            w.put_u8(b);
        }
        let out = w.finish();
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&out[out.len() - 8..]);
        sum
    }

    #[test]
    fn round_trips_and_seeded_halves() {
        let o = objects();
        for (name, b) in &o.blobs {
            assert!(parse_all(&o.params, b) >= 1, "{name} does not parse");
        }
        let size = |n: &str| o.blobs.iter().find(|(k, _)| *k == n).unwrap().1.len() as f64;
        for (full, seeded) in [
            ("ct", "ct_seeded"),
            ("rlk", "rlk_seeded"),
            ("evk", "evk_seeded"),
            ("pk", "pk_seeded"),
        ] {
            let r = size(seeded) / size(full);
            assert!((0.45..0.56).contains(&r), "{seeded}/{full} = {r}");
        }
        // Secret-key bytes are refused by every evaluation-key reader.
        let sk = &o.blobs.iter().find(|(k, _)| *k == "sk").unwrap().1;
        assert!(RelinKey::from_bytes(&o.params, sk).is_err());
        assert!(EvaluationKeys::from_bytes(&o.params, sk).is_err());
        assert!(GaloisKeys::from_bytes(&o.params, sk).is_err());
    }

    #[test]
    fn decoded_objects_work() {
        let params = test_params(12, &[60, 40], 60, 1, 40);
        let mut kg = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(3));
        let sk = kg.secret_key();
        let ek = kg.evaluation_keys(&sk, &[1], false).unwrap();
        let enc = Encoder::new(&params);
        let v: Vec<f64> = (0..8).map(|i| i as f64 / 8.0).collect();
        let pt = enc.encode_real(&v, 1, 2f64.powi(40)).unwrap();
        let ct = Encryptor::from_insecure_seed(&params, InsecureSeed::from_u64(4))
            .encrypt_symmetric(&pt, &sk)
            .unwrap();
        let ct2 = Ciphertext::from_bytes(&params, &ct.to_bytes_seeded(&params).unwrap()).unwrap();
        assert_eq!(ct, ct2);
        let ek2 = EvaluationKeys::from_bytes(&params, &ek.to_bytes_seeded().unwrap()).unwrap();
        assert_eq!(ek, ek2);
        let sk2 = SecretKey::from_bytes(&params, &sk.to_bytes()).unwrap();
        let ev = Evaluator::new(&params);
        let r = ev.rotate(&ct2, 1, &ek2.galois).unwrap();
        let got = enc
            .decode_real(&Decryptor::new(&params).decrypt(&r, &sk2).unwrap())
            .unwrap();
        for i in 0..8 {
            assert!((got[i] - v[(i + 1) % 8]).abs() < 1e-6);
        }
        let p2 = CkksParams::from_bytes(&params.to_bytes()).unwrap();
        assert_eq!(p2, params);
        // Objects of one parameter set are refused by another.
        let other = test_params(12, &[60, 40], 60, 1, 30);
        assert!(
            other.fingerprint() == params.fingerprint(),
            "scale is not part of the fingerprint"
        );
        let other = test_params(12, &[60, 40, 40], 60, 1, 40);
        assert!(matches!(
            Ciphertext::from_bytes(&other, &ct.to_bytes(&params).unwrap()),
            Err(CkksError::WrongParameters { .. })
        ));
    }

    /// The secret key's bytes come back in a buffer wiped on drop, built in
    /// one exactly sized allocation (a reallocation would leave a copy of
    /// the key in freed memory), and read back to the same key.
    #[test]
    fn secret_key_bytes_are_zeroizing_and_never_reallocated() {
        let params = test_params(12, &[60, 40], 60, 1, 40);
        let sk = KeyGenerator::from_insecure_seed(&params, InsecureSeed::from_u64(3)).secret_key();
        let bytes: Zeroizing<Vec<u8>> = sk.to_bytes();
        assert_eq!(bytes.len(), bytes.capacity());
        assert_eq!(
            bytes.len(),
            privox_format::HEADER_LEN + 8 + params.n() + privox_format::CHECKSUM_LEN
        );
        let back = SecretKey::from_bytes(&params, &bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
    }

    /// Ciphertexts and plaintexts carry the fingerprint of the parameters
    /// that made them. `to_bytes(&params)` used to stamp whatever fingerprint
    /// it was handed, so a ciphertext of A written with B's parameters read
    /// back under B. A and B here differ only in dnum: same ring, same
    /// ciphertext primes, so nothing but the tag tells them apart.
    #[test]
    fn objects_of_other_parameters_are_refused() {
        let a = test_params(12, &[60, 40], 60, 1, 40);
        let b = test_params(12, &[60, 40], 60, 2, 40);
        assert_eq!(a.q_primes(), b.q_primes());
        assert_ne!(a.fingerprint(), b.fingerprint());
        let mut kg = KeyGenerator::from_insecure_seed(&a, InsecureSeed::from_u64(3));
        let sk = kg.secret_key();
        let pt = Encoder::new(&a)
            .encode_real(&[0.5, 0.25], 1, 2f64.powi(40))
            .unwrap();
        let ct = Encryptor::from_insecure_seed(&a, InsecureSeed::from_u64(4))
            .encrypt_symmetric(&pt, &sk)
            .unwrap();
        assert_eq!(
            (ct.fingerprint(), pt.fingerprint()),
            (a.fingerprint(), a.fingerprint())
        );
        #[track_caller]
        fn wrong<T: std::fmt::Debug>(r: Result<T>) {
            let r = r.map(|_| ());
            assert!(matches!(r, Err(CkksError::WrongParameters { .. })), "{r:?}");
        }
        // Made under A, read under B: refused, whichever form.
        let full = ct.to_bytes(&a).unwrap();
        let seeded = ct.to_bytes_seeded(&a).unwrap();
        let pt_bytes = pt.to_bytes(&a).unwrap();
        wrong(Ciphertext::from_bytes(&b, &full));
        wrong(Ciphertext::from_bytes(&b, &seeded));
        wrong(Plaintext::from_bytes(&b, &pt_bytes));
        let back = Ciphertext::from_bytes(&a, &full).unwrap();
        assert!(back.c0 == ct.c0 && back.c1 == ct.c1 && back.fingerprint() == a.fingerprint());
        assert!(Ciphertext::from_bytes(&a, &seeded).unwrap() == ct);
        assert!(Plaintext::from_bytes(&a, &pt_bytes).unwrap() == pt);
        // Writing with B's parameters no longer relabels the object.
        wrong(ct.to_bytes(&b));
        wrong(ct.to_bytes_seeded(&b));
        wrong(pt.to_bytes(&b));
        // Nor does any component of B accept it.
        let sk_b = KeyGenerator::from_insecure_seed(&b, InsecureSeed::from_u64(3)).secret_key();
        let ev = Evaluator::new(&b);
        wrong(ev.add(&ct, &ct));
        wrong(ev.rescale(&ct));
        wrong(ev.mul_no_relin(&ct, &ct));
        let ct_b = Encryptor::from_insecure_seed(&b, InsecureSeed::from_u64(5))
            .encrypt_symmetric(
                &Encoder::new(&b)
                    .encode_real(&[1.0], 1, 2f64.powi(40))
                    .unwrap(),
                &sk_b,
            )
            .unwrap();
        wrong(ev.mul_plain(&ct_b, &pt));
        wrong(Evaluator::new(&a).relinearize(
            &ev.mul_no_relin(&ct_b, &ct_b).unwrap(),
            &kg.relin_key(&sk).unwrap(),
        ));
        wrong(Decryptor::new(&b).decrypt(&ct, &sk_b));
        wrong(Encoder::new(&b).decode(&pt));
        wrong(
            Encryptor::from_insecure_seed(&b, InsecureSeed::from_u64(6))
                .encrypt_symmetric(&pt, &sk_b),
        );
    }

    fn fuzz_one(
        o: &Objects,
        which: usize,
        mode: u8,
        pos: usize,
        val: u8,
        cut: usize,
        random: &[u8],
    ) {
        let (_, base) = &o.blobs[which % o.blobs.len()];
        let mut b = base.clone();
        match mode % 5 {
            0 => b = random.to_vec(),
            1 => b.truncate(cut % (b.len() + 1)),
            2 => {
                let p = pos % b.len();
                b[p] ^= 1 << (val % 8);
            }
            3 => {
                // Corrupt the payload, then fix the checksum so the parsers see it.
                let p = privox_format::HEADER_LEN + pos % (b.len() - privox_format::HEADER_LEN - 8);
                b[p] = val;
                reseal(&mut b);
            }
            _ => {
                // Truncate the payload and reseal: lengths must be re-checked.
                let keep =
                    privox_format::HEADER_LEN + cut % (b.len() - privox_format::HEADER_LEN - 8);
                b.truncate(keep);
                b.extend_from_slice(&[0u8; 8]);
                reseal(&mut b);
            }
        }
        let _ = parse_all(&o.params, &b);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
        #[test]
        fn deserializers_never_panic(which in 0usize..12, mode in 0u8..5, pos in any::<usize>(), val in any::<u8>(),
                                     cut in any::<usize>(), random in proptest::collection::vec(any::<u8>(), 0..256)) {
            FUZZ_OBJECTS.with(|o| fuzz_one(o, which, mode, pos, val, cut, &random));
        }
    }

    thread_local! {
        static FUZZ_OBJECTS: Objects = objects();
    }

    /// Long fuzz run: `PRIVOX_CKKS_FUZZ_SECS=600 cargo test -p privox-ckks --release -- --ignored fuzz_deserializers_for_a_while --nocapture`
    #[test]
    #[ignore]
    fn fuzz_deserializers_for_a_while() {
        use rand::{Rng, SeedableRng};
        let secs: u64 = std::env::var("PRIVOX_CKKS_FUZZ_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let o = objects();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(secs);
        let start = std::time::Instant::now();
        let mut count = 0u64;
        while start.elapsed().as_secs() < secs {
            let len = rng.random_range(0..300);
            let random: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let (w, p, c) = (
                rng.random::<u32>() as usize,
                rng.random::<u64>() as usize,
                rng.random::<u64>() as usize,
            );
            fuzz_one(&o, w, rng.random(), p, rng.random(), c, &random);
            count += 1;
        }
        eprintln!("fuzzed {count} inputs in {secs} s without a panic");
    }
}
