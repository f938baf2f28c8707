//! The one error type of this crate.

use privox_format::FormatError;

/// Everything that can go wrong while training, evaluating or loading an SVM.
///
/// Every message says what was wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SvmError {
    /// No training examples.
    #[error("the training set is empty: give at least one example of each of two classes")]
    EmptyTrainingSet,
    /// Training examples of only one class.
    #[error(
        "the training set holds a single class ({class}): an SVM needs at least two classes; check the label mapping or the split"
    )]
    SingleClass {
        /// The only class present.
        class: String,
    },
    /// Two inputs that should have the same length do not.
    #[error(
        "{what} has {found} entries but {expected} were expected; check that features, labels and kernel rows describe the same examples"
    )]
    LengthMismatch {
        /// What was compared.
        what: &'static str,
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// Input with another feature count than the model.
    #[error(
        "wrong feature count: the model expects {expected} features per row, got {found}; use the same feature set (and scaler) as at training time"
    )]
    FeatureCount {
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// A NaN or infinite feature.
    #[error(
        "non-finite value ({value}) at row {row}, column {col}: remove or impute NaN/inf before training or prediction"
    )]
    NonFinite {
        /// Row index.
        row: usize,
        /// Feature index.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A class index past the number of classes.
    #[error(
        "class index {class} at position {position} is out of range (only {n_classes} classes); labels must be 0..n_classes"
    )]
    ClassOutOfRange {
        /// Position of the label.
        position: usize,
        /// The class index.
        class: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A kernel index past the number of points.
    #[error("kernel index {index} is out of range for a kernel over {size} points")]
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// Number of points.
        size: usize,
    },
    /// A parameter outside its valid range.
    #[error("invalid parameter {name} = {value}: {hint}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// The value.
        value: String,
        /// The valid range.
        hint: &'static str,
    },
    /// Input of another kind (features or codes) than the model's kernel takes.
    #[error(
        "this model uses a {model} kernel but the input is {input}; give {model} input (features for RBF models, SMH codes for RBF-Hamming models)"
    )]
    KernelMismatch {
        /// What the model takes.
        model: &'static str,
        /// What was given.
        input: &'static str,
    },
    /// Codes from another SMH code space than the model's.
    #[error(
        "SMH parameter mismatch: the model was trained on codes with public parameters {model}, but the codes given were made with {input}; hash with the same key and parameters as the training codes"
    )]
    SmhMismatch {
        /// Public parameters of the training codes.
        model: String,
        /// Parameters of the given codes.
        input: String,
    },
    /// Codes of another length than the model's.
    #[error(
        "code length mismatch: the model expects codes of {expected} symbols, got {found}; hash with the same key and parameters as the training codes"
    )]
    CodeLength {
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },
    /// A model file whose envelope is invalid.
    #[error("the model file is damaged or not a privox SVM model: {0}")]
    Format(FormatError),
    /// A model file whose contents are inconsistent.
    #[error("the model file is inconsistent: {0}; retrain and save it again")]
    CorruptModel(String),
    /// A grid search that could not run.
    #[error("grid search failed: {0}")]
    Grid(String),
    /// An error of the data layer.
    #[error(transparent)]
    Data(#[from] privox_data::DataError),
    /// The model and the input disagree on speaker calibration.
    #[error(transparent)]
    Calibration(#[from] privox_data::CalibrationMismatch),
    /// An error of SMH codes or keys.
    #[error(transparent)]
    Smh(#[from] privox_smh::SmhError),
    /// The model file could not be written.
    #[error("cannot write the model file: {0}")]
    Write(privox_format::FileError),
    /// The model file could not be read.
    #[error("cannot read model file {path}: {cause}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
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
