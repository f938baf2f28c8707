//! The one error type of this crate.

use privox_format::FormatError;

/// Everything that can go wrong while training, evaluating or loading an SVM.
///
/// Every message says what was wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SvmError {
    #[error("the training set is empty: give at least one example of each of two classes")]
    EmptyTrainingSet,
    #[error(
        "the training set holds a single class ({class}): an SVM needs at least two classes; check the label mapping or the split"
    )]
    SingleClass { class: String },
    #[error(
        "{what} has {found} entries but {expected} were expected; check that features, labels and kernel rows describe the same examples"
    )]
    LengthMismatch {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    #[error(
        "wrong feature count: the model expects {expected} features per row, got {found}; use the same feature set (and scaler) as at training time"
    )]
    FeatureCount { expected: usize, found: usize },
    #[error(
        "non-finite value ({value}) at row {row}, column {col}: remove or impute NaN/inf before training or prediction"
    )]
    NonFinite { row: usize, col: usize, value: f64 },
    #[error(
        "class index {class} at position {position} is out of range (only {n_classes} classes); labels must be 0..n_classes"
    )]
    ClassOutOfRange {
        position: usize,
        class: usize,
        n_classes: usize,
    },
    #[error("kernel index {index} is out of range for a kernel over {size} points")]
    IndexOutOfRange { index: usize, size: usize },
    #[error("invalid parameter {name} = {value}: {hint}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        hint: &'static str,
    },
    #[error(
        "this model uses a {model} kernel but the input is {input}; give {model} input (features for RBF models, SMH codes for RBF-Hamming models)"
    )]
    KernelMismatch {
        model: &'static str,
        input: &'static str,
    },
    #[error(
        "SMH parameter mismatch: the model was trained on codes with public parameters {model}, but the codes given were made with {input}; hash with the same key and parameters as the training codes"
    )]
    SmhMismatch { model: String, input: String },
    #[error(
        "code length mismatch: the model expects codes of {expected} symbols, got {found}; hash with the same key and parameters as the training codes"
    )]
    CodeLength { expected: usize, found: usize },
    #[error("the model file is damaged or not a privox SVM model: {0}")]
    Format(FormatError),
    #[error("the model file is inconsistent: {0}; retrain and save it again")]
    CorruptModel(String),
    #[error("grid search failed: {0}")]
    Grid(String),
    #[error(transparent)]
    Data(#[from] privox_data::DataError),
    /// The model and the input disagree on speaker calibration.
    #[error(transparent)]
    Calibration(#[from] privox_data::CalibrationMismatch),
    #[error(transparent)]
    Smh(#[from] privox_smh::SmhError),
    #[error("cannot write the model file: {0}")]
    Write(privox_format::FileError),
    #[error("cannot read model file {path}: {cause}")]
    Read {
        path: std::path::PathBuf,
        cause: std::io::Error,
    },
}

// Format, Write and Read carry their cause in the message, not as the error's
// source (no `#[from]`, no field named `source`): reports that print the chain
// (anyhow's `{:#}`) would otherwise repeat it.
impl From<FormatError> for SvmError {
    fn from(e: FormatError) -> Self {
        SvmError::Format(e)
    }
}

impl From<privox_format::FileError> for SvmError {
    fn from(e: privox_format::FileError) -> Self {
        SvmError::Write(e)
    }
}
