//! The one error type of the crate: every variant says what was wrong and what to do.

use privox_format::{FileError, FormatError};
use std::path::PathBuf;

/// Everything that can go wrong in SMH key handling, hashing, codes and analysis.
#[derive(Debug, thiserror::Error)]
pub enum SmhError {
    /// The alphabet size k is outside 2..=MAX_K.
    #[error("k = {0} is not allowed: SMH needs k >= 2 symbols (k = 2 is binary hashing) and at most {max}", max = crate::params::MAX_K)]
    BadK(u32),
    /// The quantization step Δ is not a usable positive number.
    #[error(
        "quantization step delta = {0} is not allowed: it must be finite and > 0, with k·delta and 1/delta finite (the paper uses 2 to 3.5 on [-1,1]-scaled features)"
    )]
    BadDelta(f64),
    /// Zero measurements per coefficient.
    #[error(
        "mpc = 0 is not allowed: use at least 1 measurement per coefficient (the paper uses 32)"
    )]
    ZeroMpc,
    /// Zero features.
    #[error("feature dimension 0 is not allowed: hash vectors with at least one feature")]
    ZeroDim,
    /// The code would be longer than the symbol limit.
    #[error("M = mpc * dim = {mpc} * {dim} exceeds the limit of {max} symbols per code; lower mpc")]
    TooManySymbols {
        /// Measurements per coefficient.
        mpc: usize,
        /// Feature dimension.
        dim: usize,
        /// Symbol limit per code.
        max: usize,
    },
    /// Feature vectors of another length than the key's.
    #[error(
        "feature vectors have {found} values but the key expects {expected}; hash features of the same layout as the key was made for"
    )]
    WrongDim {
        /// The key's feature dimension.
        expected: usize,
        /// The data's.
        found: usize,
    },
    /// A flat row-major matrix (features or code symbols) that is not whole rows.
    #[error("{what} length {len} is not a multiple of the row length {dim}")]
    RaggedInput {
        /// What the matrix holds, e.g. `"feature matrix"`.
        what: &'static str,
        /// Values in the matrix.
        len: usize,
        /// Row length (feature count, or symbols per code).
        dim: usize,
    },
    /// A feature that cannot be hashed (NaN, infinite, |x| > 1e100).
    #[error(
        "feature {col} of row {row} is {value}: NaN, infinite or absurdly large (|x| > 1e100) features cannot be hashed; clean, impute or scale the features first"
    )]
    NonFinite {
        /// Row index.
        row: usize,
        /// Feature index.
        col: usize,
        /// The value.
        value: f64,
    },
    /// Two code sets from different parameters or keys.
    #[error(
        "codes were made with {found} but {expected} is required (different parameters or keys); hash everything with the same key file"
    )]
    IncompatibleCodes {
        /// Parameters and key id required (of the first set, or of the model).
        expected: String,
        /// Parameters and key id of the codes given.
        found: String,
    },
    /// A key whose parameters are not the ones required.
    #[error(
        "the key file holds parameters {found} but {expected} were required; use the key that matches the model or codes"
    )]
    KeyMismatch {
        /// The parameters required.
        expected: String,
        /// The key's parameters.
        found: String,
    },
    /// A row index past the end.
    #[error("row index {index} is out of range for {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Number of items.
        len: usize,
    },
    /// Feature data that cannot be scaled or split.
    #[error("invalid feature data")]
    Data(#[from] privox_data::DataError),
    /// No default leakage threshold exists for this k.
    #[error(
        "no privacy threshold is defined by default for k = {0}; pass one explicitly (defaults exist for k = 2, 3, 5, 10)"
    )]
    NoDefaultThreshold(u32),
    /// A normalized Hamming threshold outside (0, 1].
    #[error("invalid threshold {0}: a normalized Hamming threshold must lie in (0, 1]")]
    BadThreshold(f64),
    /// A symbol that is not below the alphabet size k.
    #[error("symbol {symbol} at position {index} is not below k = {k}")]
    SymbolOutOfRange {
        /// Position of the symbol in the flat row-major symbol slice.
        index: usize,
        /// The symbol.
        symbol: u32,
        /// The alphabet size.
        k: u32,
    },
    /// Two inputs whose lengths must agree do not.
    #[error("{what}: found {found}, expected {expected}")]
    LengthMismatch {
        /// What was counted.
        what: &'static str,
        /// The length required (e.g. one entry per code or per vector).
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// Fewer items than an operation needs.
    #[error("{what} needs at least {needed}, got {found}")]
    TooFew {
        /// The operation and what it counts.
        what: &'static str,
        /// The minimum.
        needed: usize,
        /// The number given.
        found: usize,
    },
    /// A real-valued argument outside its allowed interval.
    #[error("{what} = {value} is not allowed: it must lie in [{min}, {max}]")]
    OutOfRange {
        /// The argument.
        what: &'static str,
        /// The value given.
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A distance that is NaN, infinite or negative.
    #[error("distance {0} must be finite and >= 0")]
    BadDistance(f64),
    /// An RBF-Hamming γ that is NaN, infinite or negative.
    #[error("gamma = {0}: the RBF-Hamming γ must be finite and >= 0")]
    BadGamma(f64),
    /// Δ tuning was given a same-group share but no group labels.
    #[error("a same-group share needs group (speaker) labels")]
    SameGroupShareWithoutGroups,
    /// Δ tuning must model same-group pairs, but no two vectors share a group.
    #[error("no two training vectors share a group, so same-group pairs cannot be modelled")]
    NoSameGroupPairs,
    /// Δ tuning must model cross-group pairs, but all vectors share one group.
    #[error("all training vectors share one group: cross-group pairs cannot be modelled")]
    NoCrossGroupPairs,
    /// Δ tuning on vectors that are all identical.
    #[error("all training vectors are identical: every pair leaks whatever Δ")]
    IdenticalVectors,
    /// A target leakage outside what any Δ gives on this data.
    #[error(
        "target leakage {target}% is not reachable: with k = {k}, mpc = {mpc} and threshold {threshold} this data leaks between {low:.2}% and {high:.2}% (floor {floor:.2}% from the binomial spread of d_H); raise mpc or pick a target in that range"
    )]
    TargetUnreachable {
        /// The target asked for, in percent.
        target: f64,
        /// Alphabet size.
        k: u32,
        /// Measurements per coefficient.
        mpc: usize,
        /// Normalized Hamming threshold.
        threshold: f64,
        /// Lowest reachable leakage, in percent.
        low: f64,
        /// Highest reachable leakage, in percent.
        high: f64,
        /// Floor from the binomial spread of d_H, in percent.
        floor: f64,
    },
    /// A key or code file whose envelope is invalid.
    #[error("malformed {what}: the file is truncated, corrupted, or not a {what}")]
    Format {
        /// What was being read.
        what: &'static str,
        /// The envelope error.
        #[source]
        source: FormatError,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl SmhError {
    pub(crate) fn format(what: &'static str) -> impl FnOnce(FormatError) -> SmhError {
        move |source| SmhError::Format { what, source }
    }
}
