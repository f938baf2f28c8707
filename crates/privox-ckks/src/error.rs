//! Errors of the CKKS engine. Every message says what was wrong and what to do.

use privox_format::FormatError;

/// Everything that can go wrong in `privox-ckks`.
#[derive(Debug, thiserror::Error)]
pub enum CkksError {
    #[error("ring dimension 2^{log_n} is not supported: use log_n in 13..=15 (12 for tests){hint}")]
    UnsupportedRingDimension { log_n: u32, hint: &'static str },
    #[error("prime size {bits} bits is outside 20..=61: choose modulus bit sizes in that range")]
    UnsupportedPrimeSize { bits: u32 },
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
    #[error(
        "parameters are not 128-bit secure: log2(QP) = {log_qp} bits exceeds {max} for N = {n} \
         (HomomorphicEncryption.org standard, classical, ternary secret); use fewer or smaller primes, \
         a larger N, or (tests only) the `insecure-testing-params` feature"
    )]
    Insecure { n: usize, log_qp: u32, max: u32 },
    #[error(
        "the special modulus P ({log_p} bits) is smaller than key-switching digit {digit} \
         ({log_qj} bits): every relinearization and rotation would lose about {} bits of precision; \
         use larger or more special primes (p_bits), or more digits (dnum)",
        log_qj - log_p
    )]
    SpecialModulusTooSmall {
        digit: usize,
        log_qj: u32,
        log_p: u32,
    },
    #[error("no NTT-friendly prime of {bits} bits left for N = {n}: use another bit size")]
    NoPrime { bits: u32, n: usize },
    #[error(
        "{what}: operands are at levels {a} and {b}; bring them to the same level first (Evaluator::drop_to_level)"
    )]
    LevelMismatch {
        what: &'static str,
        a: usize,
        b: usize,
    },
    #[error(
        "{what}: operand scales {a:e} and {b:e} differ; align them with Evaluator::align_scale before adding"
    )]
    ScaleMismatch { what: &'static str, a: f64, b: f64 },
    #[error("{what}: operands pack {a} and {b} slots; encode both with the same slot count")]
    SlotMismatch {
        what: &'static str,
        a: usize,
        b: usize,
    },
    #[error(
        "cannot rescale a ciphertext at level 0: no modulus left; plan fewer multiplications or use a longer chain"
    )]
    NoLevelLeft,
    #[error("level {level} is above the top level {max} of these parameters")]
    LevelTooHigh { level: usize, max: usize },
    #[error(
        "no Galois key for {what}; generate evaluation keys with this rotation step (KeyGenerator::galois_keys)"
    )]
    MissingGaloisKey { what: String },
    #[error(
        "the key for {what} was truncated to level {max_level} and cannot switch a ciphertext at level {level}; generate it for that level"
    )]
    KeyLevelTooLow {
        what: String,
        level: usize,
        max_level: usize,
    },
    #[error("{0} values do not fit: at most {1} slots for this ring dimension")]
    TooManySlots(usize, usize),
    #[error("slot count {0} must be a power of two between 1 and N/2")]
    BadSlotCount(usize),
    #[error("value {0} is not finite or too large to encode at this scale")]
    BadValue(f64),
    #[error(
        "value {value:e} at scale {scale:e} does not fit at level {level}: |value·scale| must stay \
         below a quarter of the level's modulus (half of it, with one bit of margin) or it wraps \
         around; use smaller values, a smaller scale or a higher level"
    )]
    ValueTooLarge {
        value: f64,
        scale: f64,
        level: usize,
    },
    #[error(
        "{what}: scale 2^{:.1} is not below the modulus left at level {level} (2^{log2_modulus:.1}), \
         so every value wraps around; rescale before multiplying, multiply at a higher level, \
         or use smaller scales",
        scale.log2()
    )]
    ScaleTooLarge {
        what: &'static str,
        scale: f64,
        level: usize,
        log2_modulus: f64,
    },
    #[error(
        "align_scale: scale {from:e} cannot be brought to {to:e} exactly with {rescales} rescale(s) \
         (an integer factor k and a rescale by q only reach scale·k/q; here k would be too small \
         or too large); align to a lower level (one more level gives an intermediate step) or \
         choose the scales differently"
    )]
    ScaleNotAlignable { from: f64, to: f64, rescales: usize },
    #[error(
        "flooding noise sigma {0:e} is invalid: use a positive finite standard deviation, well above the CKKS error of the values"
    )]
    BadFloodingSigma(f64),
    #[error("scale {0:e} is invalid: use a positive finite scale, e.g. 2^40")]
    BadScale(f64),
    #[error(
        "object was made for another parameter set (fingerprint mismatch); use the parameters it was created with"
    )]
    WrongParameters,
    #[error(
        "this ciphertext has no seed (it was not freshly secret-key encrypted); serialize it in full form"
    )]
    NotSeeded,
    #[error("malformed data: {0}")]
    Format(#[from] FormatError),
}

pub type Result<T> = std::result::Result<T, CkksError>;
