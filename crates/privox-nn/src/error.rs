//! The one error type of the crate: every variant says what was wrong and what to do.

use privox_format::{FileError, FormatError};

/// Everything that can go wrong when building, training, evaluating or
/// loading a network.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// Input with another feature count than the network or model.
    #[error(
        "feature count mismatch: the {what} expects {expected} features per sample, got {found}; use the same feature set (e.g. the 88 eGeMAPS v02 functionals) for training and inference"
    )]
    FeatureCountMismatch {
        /// What expects the features.
        what: &'static str,
        /// Features expected.
        expected: usize,
        /// Features found.
        found: usize,
    },
    /// A NaN or infinite feature.
    #[error(
        "non-finite input: sample {row}, feature {col} is {value}; remove or impute NaN/infinite features before training or inference"
    )]
    NonFiniteInput {
        /// Sample index.
        row: usize,
        /// Feature index.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A data set with no samples.
    #[error("{0} is empty: nothing to train or evaluate on; check the split and the class filter")]
    EmptyData(&'static str),
    /// A training set with only one class.
    #[error(
        "the training set holds only class {class} ({count} samples): a classifier needs at least two classes; check the label filter and the split"
    )]
    SingleClass {
        /// The only class present.
        class: usize,
        /// Its number of samples.
        count: usize,
    },
    /// A class index past the number of classes.
    #[error("label {label} at sample {row} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// Sample index.
        row: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// Array dimensions that do not fit together.
    #[error("data shape mismatch: {0}")]
    Shape(String),
    /// Training diverged (the loss became NaN or infinite).
    #[error(
        "training diverged: the loss became {loss} at epoch {epoch}, batch {batch}; no model was produced. Lower the learning rate, enable batch-norm, or add the range penalty (polynomial activations grow fast outside their interval)"
    )]
    NonFiniteLoss {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch.
        batch: usize,
        /// The loss value.
        loss: f64,
    },
    /// An invalid network or training configuration.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A polynomial fit that failed.
    #[error("polynomial fit failed: {0}")]
    Fit(String),
    /// A model file whose envelope is invalid.
    #[error("model file is invalid: {0}")]
    Format(FormatError),
    /// A model file whose contents are inconsistent.
    #[error(
        "model file is inconsistent: {0}; it is corrupted or was written by an incompatible privox, retrain and export it again"
    )]
    CorruptModel(String),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
    /// The model and the input disagree on speaker calibration.
    #[error(transparent)]
    Calibration(#[from] privox_data::CalibrationMismatch),
    /// A file could not be read.
    #[error("cannot read {path}: {cause}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        // `cause`, not `source`: see the note on `From<FormatError>` below.
        /// The I/O error.
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
