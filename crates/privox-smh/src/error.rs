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
    /// A flat feature matrix that is not whole rows.
    #[error("feature matrix length {len} is not a multiple of the feature count {dim}")]
    RaggedInput {
        /// Values in the matrix.
        len: usize,
        /// Feature count.
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
        "code sets were made with different parameters or keys (fingerprint {a} vs {b}); hash everything with the same key file"
    )]
    IncompatibleCodes {
        /// Fingerprint of the first set.
        a: String,
        /// Fingerprint of the second set.
        b: String,
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
    /// Another invalid argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A key or code file whose envelope is invalid.
    #[error("malformed {what}: {cause}; the file is truncated, corrupted, or not a {what}")]
    Format {
        /// What was being read.
        what: &'static str,
        // Not a `#[source]`: the message already includes it, and chained
        // reporters (anyhow) would print it twice.
        /// The envelope error.
        cause: FormatError,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
    // The I/O error is in the message only (no `#[source]`), or reporters
    // such as anyhow would print it twice.
    /// A file could not be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The SVG plot could not be drawn.
    #[error("cannot draw the plot: {0}")]
    Plot(String),
}

impl SmhError {
    pub(crate) fn format(what: &'static str) -> impl FnOnce(FormatError) -> SmhError {
        move |cause| SmhError::Format { what, cause }
    }
}
