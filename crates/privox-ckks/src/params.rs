//! Parameter sets: ring dimension, modulus chain, special primes for hybrid
//! key switching, security validation and the parameter fingerprint.

use crate::arith::ntt_prime_below;
use crate::error::{CkksError, Result};
use crate::rns::RnsContext;
use privox_format::Fingerprint;
use std::sync::Arc;

/// Largest log2(QP) for 128-bit classical security with a uniform ternary
/// secret (HomomorphicEncryption.org security standard, Table 1, 2018).
pub const HE_STANDARD_128: [(u32, u32); 4] = [(12, 109), (13, 218), (14, 438), (15, 881)];

/// Standard deviation of the discrete Gaussian error.
pub const ERROR_STD_DEV: f64 = 3.2;

/// Which security rule a parameter set is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityPolicy {
    /// The HE-standard 128-bit classical table (the only choice in product builds).
    Classical128,
    /// No security check. Exists only with the `insecure-testing-params`
    /// feature (or in this crate's own unit tests).
    #[cfg(any(test, feature = "insecure-testing-params"))]
    InsecureTestingOnly,
}

/// A description of a parameter set, from which the primes are derived
/// deterministically.
///
/// ```
/// use privox_ckks::{CkksParams, ParamSpec};
/// // N = 2^14, a 60-bit base prime, 7 rescaling primes of 40 bits, one
/// // 60-bit special prime (dnum = 8 digits of one prime each).
/// let spec = ParamSpec::new(14, vec![60, 40, 40, 40, 40, 40, 40, 40], 60, 8, 2f64.powi(40));
/// let params = CkksParams::new(spec).unwrap();
/// assert_eq!(params.max_level(), 7);
/// assert!(params.log_qp() <= 438);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// log2 of the ring dimension N.
    pub log_n: u32,
    /// Bit sizes of the ciphertext primes q_0 (base), q_1..q_L (rescaling).
    pub q_bits: Vec<u32>,
    /// Bit size of each special prime of P.
    pub p_bits: u32,
    /// Number of digits of the hybrid key-switching decomposition (1..=L+1).
    /// The number of special primes is ceil((L+1)/dnum).
    pub dnum: usize,
    /// Default encoding scale (usually 2^bits of the rescaling primes).
    pub default_scale: f64,
    /// The security policy the parameters are checked against.
    pub security: SecurityPolicy,
}

impl ParamSpec {
    /// A 128-bit-secure spec (checked when the parameters are built).
    pub fn new(log_n: u32, q_bits: Vec<u32>, p_bits: u32, dnum: usize, default_scale: f64) -> Self {
        ParamSpec {
            log_n,
            q_bits,
            p_bits,
            dnum,
            default_scale,
            security: SecurityPolicy::Classical128,
        }
    }

    /// The `[60, 40×depth, 60]` chain with scale 2^40 used by the benchmarks.
    pub fn standard(log_n: u32, depth: usize, dnum: usize) -> Self {
        let mut q = vec![60];
        q.extend(std::iter::repeat_n(40, depth));
        ParamSpec::new(log_n, q, 60, dnum, 2f64.powi(40))
    }
}

/// A validated CKKS parameter set with all precomputed tables. Cheap to clone.
#[derive(Clone)]
pub struct CkksParams {
    pub(crate) spec: ParamSpec,
    pub(crate) ctx: Arc<RnsContext>,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for CkksParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CkksParams")
            .field("n", &self.n())
            .field("q", &self.ctx.q_values())
            .field("p", &self.ctx.p_values())
            .field("dnum", &self.spec.dnum)
            .field("log_qp", &self.log_qp())
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl PartialEq for CkksParams {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint && self.spec == other.spec
    }
}

/// Checks a (log N, log QP) pair against the 128-bit table.
pub fn check_security(log_n: u32, log_qp: u32) -> Result<()> {
    let n = 1usize << log_n.min(30);
    match HE_STANDARD_128.iter().find(|(l, _)| *l == log_n) {
        Some(&(_, max)) if log_qp <= max => Ok(()),
        Some(&(_, max)) => Err(CkksError::Insecure { n, log_qp, max }),
        None => Err(CkksError::UnsupportedRingDimension { log_n, hint: "" }),
    }
}

impl CkksParams {
    /// Builds and validates a parameter set: generates the primes, checks
    /// security, and precomputes NTT plans and RNS tables.
    pub fn new(spec: ParamSpec) -> Result<Self> {
        let insecure = spec.security != SecurityPolicy::Classical128;
        let range = if insecure { 4..=15 } else { 12..=15 };
        if !range.contains(&spec.log_n) {
            return Err(CkksError::UnsupportedRingDimension {
                log_n: spec.log_n,
                hint: if insecure {
                    ""
                } else {
                    "; smaller N only with the insecure-testing-params feature"
                },
            });
        }
        if spec.q_bits.is_empty() {
            return Err(CkksError::EmptyModulusChain);
        }
        if spec.q_bits.len() > 60 {
            return Err(CkksError::TooManyPrimes {
                count: spec.q_bits.len(),
                max: 60,
            });
        }
        for &b in spec.q_bits.iter().chain(std::iter::once(&spec.p_bits)) {
            if !(20..=61).contains(&b) {
                return Err(CkksError::UnsupportedPrimeSize { bits: b });
            }
        }
        let num_q = spec.q_bits.len();
        if spec.dnum == 0 || spec.dnum > num_q {
            return Err(CkksError::BadDnum {
                dnum: spec.dnum,
                primes: num_q,
            });
        }
        if !(spec.default_scale.is_finite() && spec.default_scale >= 1.0) {
            return Err(CkksError::BadScale(spec.default_scale));
        }
        let alpha = num_q.div_ceil(spec.dnum);
        // Fewer digits may be needed than asked (e.g. 8 primes, dnum 3 -> alpha 3 -> 3 digits).
        let log_qp_bits: u32 = spec.q_bits.iter().sum::<u32>() + spec.p_bits * alpha as u32;
        if !insecure {
            check_security(spec.log_n, log_qp_bits)?;
        }
        let n = 1usize << spec.log_n;
        let two_n = 2 * n as u64;
        let mut used: Vec<u64> = Vec::new();
        for &b in spec
            .q_bits
            .iter()
            .chain(std::iter::repeat_n(&spec.p_bits, alpha))
        {
            let p = ntt_prime_below(b, two_n, &used).ok_or(CkksError::NoPrime { bits: b, n })?;
            used.push(p);
        }
        let (q, p) = used.split_at(num_q);
        check_special_modulus(q, p, alpha)?;
        let ctx = RnsContext::new(spec.log_n, q, p, alpha)?;
        let fingerprint = Fingerprint::of(&canonical_bytes(&spec, q, p));
        Ok(CkksParams {
            spec,
            ctx: Arc::new(ctx),
            fingerprint,
        })
    }

    /// Ring dimension N.
    pub fn n(&self) -> usize {
        self.ctx.n
    }
    /// Maximum number of complex slots, N/2.
    pub fn max_slots(&self) -> usize {
        self.ctx.n / 2
    }
    /// Top level L (a fresh ciphertext has L+1 primes).
    pub fn max_level(&self) -> usize {
        self.ctx.num_q - 1
    }
    /// Number of key-switching digits actually used at the top level.
    pub fn dnum(&self) -> usize {
        self.ctx.num_q.div_ceil(self.ctx.alpha)
    }
    /// Number of special primes.
    pub fn num_special_primes(&self) -> usize {
        self.ctx.num_p
    }
    /// The ciphertext primes q_0..q_L.
    pub fn q_primes(&self) -> Vec<u64> {
        self.ctx.q_values()
    }
    /// The special primes.
    pub fn p_primes(&self) -> Vec<u64> {
        self.ctx.p_values()
    }
    /// Sum of the bit lengths of all primes (the figure checked for security).
    pub fn log_qp(&self) -> u32 {
        self.ctx.moduli.iter().map(|m| m.bits()).sum()
    }
    /// The default encoding scale.
    pub fn default_scale(&self) -> f64 {
        self.spec.default_scale
    }
    /// The specification the parameters were built from.
    pub fn spec(&self) -> &ParamSpec {
        &self.spec
    }
    /// Digest binding every object to this parameter set.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// log2 of the modulus left at `level`: `Q_level = q_0·q_1·…·q_level`
    /// (levels above the top count as the top).
    pub fn log2_modulus(&self, level: usize) -> f64 {
        let top = self.ctx.num_q - 1;
        self.ctx.moduli[..=level.min(top)]
            .iter()
            .map(|m| (m.value as f64).log2())
            .sum()
    }

    /// Largest `log2(|value|·scale)` that may be encoded at `level`: a
    /// coefficient must stay below `Q_level/2` to decode, and
    /// [`VALUE_MARGIN_BITS`] more are kept free for noise and small growth.
    pub fn max_log2_encoded(&self, level: usize) -> f64 {
        self.log2_modulus(level) - 1.0 - VALUE_MARGIN_BITS as f64
    }

    /// Checks that `value` (finite) encoded at `scale` fits at `level`
    /// (see [`CkksParams::max_log2_encoded`]), else [`CkksError::ValueTooLarge`].
    pub(crate) fn check_value(&self, value: f64, scale: f64, level: usize) -> Result<()> {
        self.check_value_against(value, scale, level, self.max_log2_encoded(level))
    }

    /// Checks that a ciphertext or plaintext at `level` may carry `scale`:
    /// it must be below `Q_level`, or no value of magnitude 1/2 or more
    /// survives the reduction modulo `Q_level` ([`CkksError::ScaleTooLarge`]).
    pub(crate) fn check_scale(&self, what: &'static str, scale: f64, level: usize) -> Result<()> {
        let log2_modulus = self.log2_modulus(level);
        if scale.log2() < log2_modulus {
            Ok(())
        } else {
            Err(CkksError::ScaleTooLarge {
                what,
                scale,
                level,
                log2_modulus,
            })
        }
    }

    /// [`CkksParams::check_value`] with the bound already computed (hot loops).
    pub(crate) fn check_value_against(
        &self,
        value: f64,
        scale: f64,
        level: usize,
        max_log2: f64,
    ) -> Result<()> {
        if value == 0.0 || value.abs().log2() + scale.log2() < max_log2 {
            Ok(())
        } else {
            Err(CkksError::ValueTooLarge {
                value,
                scale,
                level,
            })
        }
    }
}

/// Bits of headroom kept between an encoded value and half the modulus:
/// `|value·scale| < Q_level / 2^(1 + VALUE_MARGIN_BITS)`.
pub const VALUE_MARGIN_BITS: u32 = 1;

/// Bit length of a product of primes (exact: multi-word multiplication).
fn product_bits(primes: &[u64]) -> u32 {
    let mut words: Vec<u64> = vec![1];
    for &p in primes {
        let mut carry = 0u128;
        for w in words.iter_mut() {
            let t = (*w as u128) * (p as u128) + carry;
            *w = t as u64;
            carry = t >> 64;
        }
        if carry > 0 {
            words.push(carry as u64);
        }
    }
    let top = words.last().copied().unwrap_or(0);
    64 * (words.len() as u32 - 1) + (64 - top.leading_zeros())
}

/// Hybrid key switching divides the digit-times-key inner product by P, so
/// its error is about `max_j Q_j / P` times the key error (see the crate
/// docs); a P smaller than a digit makes every relinearization and rotation
/// lose precision (`log P` 20 bits below a digit leaves ≈ 2^-4.6 after
/// mul + rescale + rotate; 30 bits below gives garbage). Refuse such sets:
/// `bits(P) >= bits(Q_j)` for every digit `Q_j` (the product of its primes).
fn check_special_modulus(q: &[u64], p: &[u64], alpha: usize) -> Result<()> {
    let log_p = product_bits(p);
    for (digit, primes) in q.chunks(alpha.max(1)).enumerate() {
        let log_qj = product_bits(primes);
        if log_qj > log_p {
            return Err(CkksError::SpecialModulusTooSmall {
                digit,
                log_qj,
                log_p,
            });
        }
    }
    Ok(())
}

/// Canonical bytes: everything that changes the meaning of keys and
/// ciphertexts (not the default scale, which every ciphertext carries).
fn canonical_bytes(spec: &ParamSpec, q: &[u64], p: &[u64]) -> Vec<u8> {
    let mut out = b"privox-ckks params v1; ternary secret; gaussian sigma=3.2 tail 6sigma".to_vec();
    out.extend_from_slice(&spec.log_n.to_le_bytes());
    out.extend_from_slice(&(q.len() as u32).to_le_bytes());
    for v in q {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    for v in p {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(spec.dnum as u32).to_le_bytes());
    out.push(match spec.security {
        SecurityPolicy::Classical128 => 0,
        #[cfg(any(test, feature = "insecure-testing-params"))]
        SecurityPolicy::InsecureTestingOnly => 1,
    });
    out
}

#[cfg(test)]
pub(crate) fn test_params(
    log_n: u32,
    q_bits: &[u32],
    p_bits: u32,
    dnum: usize,
    log_scale: i32,
) -> CkksParams {
    let mut spec = ParamSpec::new(log_n, q_bits.to_vec(), p_bits, dnum, 2f64.powi(log_scale));
    spec.security = SecurityPolicy::InsecureTestingOnly;
    CkksParams::new(spec).expect("test parameters are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_sets_are_accepted() {
        let p = CkksParams::new(ParamSpec::standard(14, 7, 8)).unwrap();
        assert_eq!(p.q_primes().len(), 8);
        assert_eq!(p.p_primes().len(), 1);
        assert!(p.log_qp() <= 438);
        // Two primes per digit (40 + 30 bits): two 40-bit special primes.
        let p = CkksParams::new(ParamSpec::new(
            13,
            vec![40, 30, 30, 30],
            40,
            2,
            2f64.powi(30),
        ))
        .unwrap();
        assert_eq!(p.p_primes().len(), 2);
        assert_eq!(p.dnum(), 2);
        for &q in p.q_primes().iter().chain(&p.p_primes()) {
            assert_eq!(q % (2 * 8192), 1);
            assert!(crate::arith::is_prime(q));
        }
    }

    #[test]
    fn insecure_sets_are_refused() {
        // 60+40*8+60 = 440 > 438 at N = 2^14.
        let e = CkksParams::new(ParamSpec::standard(14, 8, 9)).unwrap_err();
        assert!(
            matches!(
                e,
                CkksError::Insecure {
                    log_qp: 440,
                    max: 438,
                    ..
                }
            ),
            "{e}"
        );
        // 110 > 109 at N = 2^12.
        let e = CkksParams::new(ParamSpec::new(12, vec![50], 60, 1, 1e9)).unwrap_err();
        assert!(matches!(e, CkksError::Insecure { .. }));
        // dnum = 1 needs as many special primes as ciphertext primes.
        let e = CkksParams::new(ParamSpec::standard(14, 7, 1)).unwrap_err();
        assert!(matches!(e, CkksError::Insecure { .. }));
        // Unsupported N, bad prime sizes, bad dnum.
        assert!(matches!(
            CkksParams::new(ParamSpec::standard(11, 1, 2)),
            Err(CkksError::UnsupportedRingDimension { .. })
        ));
        assert!(matches!(
            CkksParams::new(ParamSpec::new(13, vec![62], 60, 1, 1e9)),
            Err(CkksError::UnsupportedPrimeSize { bits: 62 })
        ));
        assert!(matches!(
            CkksParams::new(ParamSpec::new(13, vec![40, 40], 60, 3, 1e9)),
            Err(CkksError::BadDnum { dnum: 3, primes: 2 })
        ));
        // The exact boundary is accepted: 109 bits at N = 2^12.
        assert!(CkksParams::new(ParamSpec::new(12, vec![49], 60, 1, 1e9)).is_ok());
    }

    /// The issue's cases: q = [60, 40, 40], dnum 3 (one prime per digit) with
    /// log P = 40 or 30 lost 20 or 30 bits in every key switch and was
    /// accepted; now refused, naming the digit. log P = 60 is accepted, and
    /// so are equal bit lengths; with two primes per digit P needs two.
    #[test]
    fn special_modulus_smaller_than_a_digit_is_refused() {
        for p_bits in [40, 30, 59] {
            let e = CkksParams::new(ParamSpec::new(
                13,
                vec![60, 40, 40],
                p_bits,
                3,
                2f64.powi(40),
            ))
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    CkksError::SpecialModulusTooSmall {
                        digit: 0,
                        log_qj: 60,
                        log_p,
                    } if log_p == p_bits
                ),
                "{e}"
            );
            assert!(e.to_string().contains("special"), "{e}");
        }
        assert!(
            CkksParams::new(ParamSpec::new(13, vec![60, 40, 40], 60, 3, 2f64.powi(40))).is_ok()
        );
        // Two primes per digit: 60 + 40 = 100 bits against two special primes.
        let e = CkksParams::new(ParamSpec::new(
            14,
            vec![60, 40, 40, 40],
            45,
            2,
            2f64.powi(40),
        ))
        .unwrap_err();
        assert!(
            matches!(
                e,
                CkksError::SpecialModulusTooSmall {
                    digit: 0,
                    log_qj: 100,
                    log_p: 90
                }
            ),
            "{e}"
        );
        assert!(
            CkksParams::new(ParamSpec::new(
                14,
                vec![60, 40, 40, 40],
                50,
                2,
                2f64.powi(40)
            ))
            .is_ok()
        );
        // The insecure test sets are checked too (the rule is about precision).
        let mut spec = ParamSpec::new(12, vec![60, 40], 40, 2, 2f64.powi(40));
        spec.security = SecurityPolicy::InsecureTestingOnly;
        assert!(matches!(
            CkksParams::new(spec),
            Err(CkksError::SpecialModulusTooSmall { .. })
        ));
        // Every standard chain satisfies it.
        for (log_n, depth) in [(13u32, 2usize), (14, 6), (15, 14)] {
            for dnum in 1..=depth + 1 {
                match CkksParams::new(ParamSpec::standard(log_n, depth, dnum)) {
                    Ok(_) | Err(CkksError::Insecure { .. }) => {}
                    Err(e) => panic!("standard({log_n}, {depth}, {dnum}): {e}"),
                }
            }
        }
        assert_eq!(product_bits(&[]), 1);
        assert_eq!(product_bits(&[3, 5]), 4);
        assert_eq!(product_bits(&[u64::MAX, u64::MAX]), 128);
    }

    #[test]
    fn fingerprint_is_deterministic_and_discriminating() {
        let a = CkksParams::new(ParamSpec::standard(13, 2, 3)).unwrap();
        let b = CkksParams::new(ParamSpec::standard(13, 2, 3)).unwrap();
        let c = CkksParams::new(ParamSpec::standard(13, 2, 1)).unwrap_err();
        assert!(matches!(c, CkksError::Insecure { .. }));
        let c =
            CkksParams::new(ParamSpec::new(13, vec![50, 40, 40], 50, 3, 2f64.powi(40))).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
