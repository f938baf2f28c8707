//! Errors of the CKKS engine. Every message says what was wrong and what to do.

use privox_format::{Fingerprint, FormatError};

/// Everything that can go wrong in `privox-ckks`.
#[derive(Debug, thiserror::Error)]
pub enum CkksError {
    /// The ring dimension is not one of the supported sizes.
    #[error("ring dimension 2^{log_n} is not supported: use log_n in 13..=15 (12 for tests){hint}")]
    UnsupportedRingDimension {
        /// log2 of the ring dimension asked for.
        log_n: u32,
        /// A suggestion, possibly empty.
        hint: &'static str,
    },
    /// A prime bit size outside 20..=61.
    #[error("prime size {bits} bits is outside 20..=61: choose modulus bit sizes in that range")]
    UnsupportedPrimeSize {
        /// Prime size in bits.
        bits: u32,
    },
    /// A parameter set without ciphertext primes.
    #[error("the modulus chain is empty: give at least one prime bit size")]
    EmptyModulusChain,
    /// More ciphertext primes than supported.
    #[error("{count} ciphertext primes asked for: at most {max} are supported")]
    TooManyPrimes {
        /// Primes asked for.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A key-switching digit count outside 1..=number of ciphertext primes.
    #[error("dnum = {dnum} must be between 1 and the number of ciphertext primes ({primes})")]
    BadDnum {
        /// Digits asked for.
        dnum: usize,
        /// Ciphertext primes.
        primes: usize,
    },
    /// tfhe-ntt has no NTT plan for a prime of the chain.
    #[error(
        "tfhe-ntt cannot build an NTT plan for prime {prime} and N = {n}; use other prime sizes"
    )]
    NoNttPlan {
        /// The prime.
        prime: u64,
        /// Ring dimension.
        n: usize,
    },
    /// tfhe-ntt's output order is not the one this crate derives (an
    /// internal invariant: a tfhe-ntt version this crate was not built for).
    #[error(
        "tfhe-ntt's NTT output order is not a permutation of the roots this crate expects; this tfhe-ntt version is not supported"
    )]
    NttOrder,
    /// An operation that needs at least one operand got none.
    #[error("{what}: no operands (at least one is needed)")]
    NoOperands {
        /// The operation.
        what: &'static str,
    },
    /// Two lengths that must agree do not.
    #[error("{what}: found {found}, expected {expected}")]
    LengthMismatch {
        /// The operation and what was counted.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// Parameters below 128-bit security.
    #[error(
        "parameters are not 128-bit secure: log2(QP) = {log_qp} bits exceeds {max} for N = {n} \
         (HomomorphicEncryption.org standard, classical, ternary secret); use fewer or smaller primes, \
         a larger N, or (tests only) the `insecure-testing-params` feature"
    )]
    Insecure {
        /// Ring dimension.
        n: usize,
        /// log2 of the whole modulus QP.
        log_qp: u32,
        /// The limit.
        max: u32,
    },
    /// The special modulus is smaller than a key-switching digit.
    #[error(
        "the special modulus P ({log_p} bits) is smaller than key-switching digit {digit} \
         ({log_qj} bits): every relinearization and rotation would lose about {} bits of precision; \
         use larger or more special primes (p_bits), or more digits (dnum)",
        log_qj - log_p
    )]
    SpecialModulusTooSmall {
        /// Index of the key-switching digit.
        digit: usize,
        /// Bits of that digit.
        log_qj: u32,
        /// Bits of the special modulus P.
        log_p: u32,
    },
    /// No NTT-friendly prime of the asked size is left.
    #[error("no NTT-friendly prime of {bits} bits left for N = {n}: use another bit size")]
    NoPrime {
        /// Prime size in bits.
        bits: u32,
        /// Ring dimension.
        n: usize,
    },
    /// Operands at different levels.
    #[error(
        "{what}: operands are at levels {a} and {b}; bring them to the same level first (Evaluator::drop_to_level)"
    )]
    LevelMismatch {
        /// The operation.
        what: &'static str,
        /// The first operand's.
        a: usize,
        /// The second operand's.
        b: usize,
    },
    /// Operands with different scales where equal scales are needed.
    #[error(
        "{what}: operand scales {a:e} and {b:e} differ; align them with Evaluator::align_scale before adding"
    )]
    ScaleMismatch {
        /// The operation.
        what: &'static str,
        /// The first operand's.
        a: f64,
        /// The second operand's.
        b: f64,
    },
    /// Operands packing different slot counts.
    #[error("{what}: operands pack {a} and {b} slots; encode both with the same slot count")]
    SlotMismatch {
        /// The operation.
        what: &'static str,
        /// The first operand's.
        a: usize,
        /// The second operand's.
        b: usize,
    },
    /// A rescale at level 0.
    #[error(
        "cannot rescale a ciphertext at level 0: no modulus left; plan fewer multiplications or use a longer chain"
    )]
    NoLevelLeft,
    /// A level above the top of the modulus chain.
    #[error("level {level} is above the top level {max} of these parameters")]
    LevelTooHigh {
        /// The level.
        level: usize,
        /// The limit.
        max: usize,
    },
    /// A rotation or conjugation without its Galois key.
    #[error(
        "no Galois key for {op}; generate evaluation keys with this rotation step (KeyGenerator::galois_keys)"
    )]
    MissingGaloisKey {
        /// The operation.
        op: GaloisOp,
    },
    /// A key truncated below the ciphertext's level.
    #[error(
        "the key for {op} was truncated to level {max_level} and cannot switch a ciphertext at level {level}; generate it for that level"
    )]
    KeyLevelTooLow {
        /// The operation.
        op: GaloisOp,
        /// The level.
        level: usize,
        /// The level the key was truncated to.
        max_level: usize,
    },
    /// More values than slots (values, slots).
    #[error("{0} values do not fit: at most {1} slots for this ring dimension")]
    TooManySlots(usize, usize),
    /// A slot count that is not a power of two in 1..=N/2.
    #[error("slot count {0} must be a power of two between 1 and N/2")]
    BadSlotCount(usize),
    /// A value that is not finite or too large to encode.
    #[error("value {0} is not finite or too large to encode at this scale")]
    BadValue(f64),
    /// A value whose scaled magnitude would wrap around the level's modulus.
    #[error(
        "value {value:e} at scale {scale:e} does not fit at level {level}: |value·scale| must stay \
         below a quarter of the level's modulus (half of it, with one bit of margin) or it wraps \
         around; use smaller values, a smaller scale or a higher level"
    )]
    ValueTooLarge {
        /// The value.
        value: f64,
        /// The scale.
        scale: f64,
        /// The level.
        level: usize,
    },
    /// A scale not below the modulus left at the level.
    #[error(
        "{what}: scale 2^{:.1} is not below the modulus left at level {level} (2^{log2_modulus:.1}), \
         so every value wraps around; rescale before multiplying, multiply at a higher level, \
         or use smaller scales",
        scale.log2()
    )]
    ScaleTooLarge {
        /// The operation.
        what: &'static str,
        /// The scale.
        scale: f64,
        /// The level.
        level: usize,
        /// log2 of the modulus left at the level.
        log2_modulus: f64,
    },
    /// A scale that cannot be aligned exactly to the target.
    #[error(
        "align_scale: scale {from:e} cannot be brought to {to:e} exactly with {rescales} rescale(s) \
         (an integer factor k and a rescale by q only reach scale·k/q; here k would be too small \
         or too large); align to a lower level (one more level gives an intermediate step) or \
         choose the scales differently"
    )]
    ScaleNotAlignable {
        /// The current scale.
        from: f64,
        /// The target scale.
        to: f64,
        /// Rescales available.
        rescales: usize,
    },
    /// An invalid flooding-noise standard deviation.
    #[error(
        "flooding noise sigma {0:e} is invalid: use a positive finite standard deviation, well above the CKKS error of the values"
    )]
    BadFloodingSigma(f64),
    /// A scale that is not positive and finite.
    #[error("scale {0:e} is invalid: use a positive finite scale, e.g. 2^40")]
    BadScale(f64),
    /// An object made under another parameter set.
    #[error(
        "object was made for parameter set {found}, but {expected} is required; use the parameters it was created with"
    )]
    WrongParameters {
        /// Fingerprint of the parameters required.
        expected: Fingerprint,
        /// Fingerprint of the parameters the object was made for.
        found: Fingerprint,
    },
    /// Seeded serialization of a ciphertext that has no seed.
    #[error(
        "this ciphertext has no seed (it was not freshly secret-key encrypted); serialize it in full form"
    )]
    NotSeeded,
    /// Serialized data that is malformed (the envelope error is the source).
    #[error("malformed CKKS data: the bytes are truncated, corrupted, or not this kind of object")]
    Format(#[from] FormatError),
}

/// The automorphism a Galois key serves (in [`CkksError`]s about keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaloisOp {
    /// A slot rotation by `step` (negative: to the right).
    Rotation {
        /// The rotation step in slots.
        step: i64,
    },
    /// Complex conjugation of the slots.
    Conjugation,
}

impl std::fmt::Display for GaloisOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GaloisOp::Rotation { step } => write!(f, "rotation by {step}"),
            GaloisOp::Conjugation => write!(f, "conjugation"),
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, CkksError>;
