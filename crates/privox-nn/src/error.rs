//! The one error type of the crate: every variant says what was wrong and what to do.

use privox_format::{FileError, FormatError};

/// Everything that can go wrong when building, training, evaluating or
/// loading a network.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error(
        "feature count mismatch: the {what} expects {expected} features per sample, got {found}; use the same feature set (e.g. the 88 eGeMAPS v02 functionals) for training and inference"
    )]
    FeatureCountMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error(
        "non-finite input: sample {row}, feature {col} is {value}; remove or impute NaN/infinite features before training or inference"
    )]
    NonFiniteInput { row: usize, col: usize, value: f64 },
    #[error("{0} is empty: nothing to train or evaluate on; check the split and the class filter")]
    EmptyData(&'static str),
    #[error(
        "the training set holds only class {class} ({count} samples): a classifier needs at least two classes; check the label filter and the split"
    )]
    SingleClass { class: usize, count: usize },
    #[error("label {label} at sample {row} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        n_classes: usize,
    },
    #[error("data shape mismatch: {0}")]
    Shape(String),
    #[error(
        "training diverged: the loss became {loss} at epoch {epoch}, batch {batch}; no model was produced. Lower the learning rate, enable batch-norm, or add the range penalty (polynomial activations grow fast outside their interval)"
    )]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        loss: f64,
    },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("polynomial fit failed: {0}")]
    Fit(String),
    #[error("model file is invalid: {0}")]
    Format(FormatError),
    #[error(
        "model file is inconsistent: {0}; it is corrupted or was written by an incompatible privox, retrain and export it again"
    )]
    CorruptModel(String),
    #[error(transparent)]
    Write(#[from] FileError),
    /// The model and the input disagree on speaker calibration.
    #[error(transparent)]
    Calibration(#[from] privox_data::CalibrationMismatch),
    #[error("cannot read {path}: {cause}")]
    Read {
        path: std::path::PathBuf,
        // `cause`, not `source`: see the note on `From<FormatError>` below.
        cause: std::io::Error,
    },
}

// Not `#[from]`: that would also make it the error's source, and reports
// that print the chain (anyhow's `{:#}`) would repeat the message.
impl From<FormatError> for NnError {
    fn from(e: FormatError) -> Self {
        NnError::Format(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, NnError>;
