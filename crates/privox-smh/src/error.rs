//! The one error type of the crate: every variant says what was wrong and what to do.

use privox_format::{FileError, FormatError};
use std::path::PathBuf;

/// Everything that can go wrong in SMH key handling, hashing, codes and analysis.
#[derive(Debug, thiserror::Error)]
pub enum SmhError {
    #[error("k = {0} is not allowed: SMH needs k >= 2 symbols (k = 2 is binary hashing) and at most {max}", max = crate::params::MAX_K)]
    BadK(u32),
    #[error(
        "quantization step delta = {0} is not allowed: it must be finite and > 0, with k·delta and 1/delta finite (the paper uses 2 to 3.5 on [-1,1]-scaled features)"
    )]
    BadDelta(f64),
    #[error(
        "mpc = 0 is not allowed: use at least 1 measurement per coefficient (the paper uses 32)"
    )]
    ZeroMpc,
    #[error("feature dimension 0 is not allowed: hash vectors with at least one feature")]
    ZeroDim,
    #[error("M = mpc * dim = {mpc} * {dim} exceeds the limit of {max} symbols per code; lower mpc")]
    TooManySymbols { mpc: usize, dim: usize, max: usize },
    #[error(
        "feature vectors have {found} values but the key expects {expected}; hash features of the same layout as the key was made for"
    )]
    WrongDim { expected: usize, found: usize },
    #[error("feature matrix length {len} is not a multiple of the feature count {dim}")]
    RaggedInput { len: usize, dim: usize },
    #[error(
        "feature {col} of row {row} is {value}: NaN, infinite or absurdly large (|x| > 1e100) features cannot be hashed; clean, impute or scale the features first"
    )]
    NonFinite { row: usize, col: usize, value: f64 },
    #[error(
        "code sets were made with different parameters or keys (fingerprint {a} vs {b}); hash everything with the same key file"
    )]
    IncompatibleCodes { a: String, b: String },
    #[error(
        "the key file holds parameters {found} but {expected} were required; use the key that matches the model or codes"
    )]
    KeyMismatch { expected: String, found: String },
    #[error("row index {index} is out of range for {len} items")]
    IndexOutOfRange { index: usize, len: usize },
    #[error(
        "no privacy threshold is defined by default for k = {0}; pass one explicitly (defaults exist for k = 2, 3, 5, 10)"
    )]
    NoDefaultThreshold(u32),
    #[error("invalid threshold {0}: a normalized Hamming threshold must lie in (0, 1]")]
    BadThreshold(f64),
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("malformed {what}: {cause}; the file is truncated, corrupted, or not a {what}")]
    Format {
        what: &'static str,
        // Not a `#[source]`: the message already includes it, and chained
        // reporters (anyhow) would print it twice.
        cause: FormatError,
    },
    #[error(transparent)]
    Write(#[from] FileError),
    // The I/O error is in the message only (no `#[source]`), or reporters
    // such as anyhow would print it twice.
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot draw the plot: {0}")]
    Plot(String),
}

impl SmhError {
    pub(crate) fn format(what: &'static str) -> impl FnOnce(FormatError) -> SmhError {
        move |cause| SmhError::Format { what, cause }
    }
}
