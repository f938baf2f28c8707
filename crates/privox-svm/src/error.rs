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
        "SMH parameter mismatch: the model was trained on codes with public parameters {} (key {}, fingerprint {}), but the codes given were made with {} (key {}, fingerprint {}); hash with the same key and parameters as the training codes",
        expected.params, expected.key_id, expected.fingerprint(), found.params, found.key_id, found.fingerprint()
    )]
    SmhMismatch {
        /// The code space of the training codes (boxed: keeps the error small).
        expected: Box<privox_smh::CodeSpace>,
        /// The code space of the given codes.
        found: Box<privox_smh::CodeSpace>,
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
    #[error("the model file is damaged or not a privox SVM model")]
    Format(#[source] FormatError),
    /// A model file whose contents are inconsistent.
    #[error("the model file is inconsistent ({0}); retrain and save it again")]
    CorruptModel(Corruption),
    /// A grid search over no (C, γ) point.
    #[error(
        "the grid is empty ({c_values} C values × {gamma_values} gamma values): give at least one C and one gamma"
    )]
    EmptyGrid {
        /// Number of C values.
        c_values: usize,
        /// Number of γ values.
        gamma_values: usize,
    },
    /// A cross-validated search without folds.
    #[error("no cross-validation folds: give at least two speakers for inner cross-validation")]
    NoFolds,
    /// A code table without the speakers or labels a labelled set needs.
    #[error(
        "the code file has no {missing} column ({codes} codes); hash a feature table with `privox smh hash` so that speakers and labels are kept"
    )]
    Unlabelled {
        /// The missing column (`labels` or `speakers`).
        missing: &'static str,
        /// Number of codes.
        codes: usize,
    },
    /// Class weights that do not fit the classes.
    #[error(
        "{found} class weights for {expected} classes; give one weight per class, or `balanced`"
    )]
    ClassWeightCount {
        /// Number of classes.
        expected: usize,
        /// Number of weights given.
        found: usize,
    },
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
    #[error("cannot write the model file")]
    Write(#[source] privox_format::FileError),
    /// The model file could not be read.
    #[error("cannot read model file {path}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        cause: std::io::Error,
    },
}

/// What is inconsistent in a model file that passed the envelope checks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Corruption {
    /// A tag byte with no meaning.
    #[error("unknown {field} tag {value}")]
    UnknownTag {
        /// The field (kernel type, scaler flag, support-vector kind).
        field: &'static str,
        /// The byte read.
        value: u8,
    },
    /// γ or C not a positive finite number.
    #[error("gamma {gamma} or C {c} is not a positive number")]
    HyperParameters {
        /// The stored γ.
        gamma: f64,
        /// The stored C.
        c: f64,
    },
    /// Fewer than two trained classes, or counts that do not match them.
    #[error("{classes} trained classes with {sv_counts} support-vector counts")]
    Classes {
        /// Trained classes.
        classes: usize,
        /// Support-vector counts stored.
        sv_counts: usize,
    },
    /// Class labels not ascending indices of the class names.
    #[error("class labels are not ascending indices of the {class_names} class names")]
    Labels {
        /// Number of class names.
        class_names: usize,
    },
    /// An array of the wrong size.
    #[error("{what}: {found} values, expected {expected}")]
    Size {
        /// The array.
        what: &'static str,
        /// The size the rest of the model implies.
        expected: usize,
        /// The size stored.
        found: usize,
    },
    /// A NaN or infinite coefficient or support-vector value.
    #[error("non-finite {what}")]
    NonFinite {
        /// Coefficients or support vectors.
        what: &'static str,
    },
    /// Support vectors of the other kind than the kernel.
    #[error("{support} support vectors with a {kernel} kernel")]
    KernelSupport {
        /// The kernel.
        kernel: &'static str,
        /// The support vectors' kind.
        support: &'static str,
    },
    /// The header fingerprint is not the one of the model's input layout.
    #[error(
        "header fingerprint {found} does not match the model's input layout (fingerprint {expected})"
    )]
    Fingerprint {
        /// The fingerprint of the decoded model.
        expected: privox_format::Fingerprint,
        /// The fingerprint in the header.
        found: privox_format::Fingerprint,
    },
}

// Format, Write and Read chain their cause as the error's source (the
// message does not repeat it; anyhow's `{:#}` prints it once).
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

#[cfg(test)]
mod tests {
    /// Results of every fallible function carry this type: it must stay
    /// small (clippy's `result_large_err` limit is 128 bytes).
    #[test]
    fn the_error_stays_small() {
        assert!(std::mem::size_of::<super::SvmError>() <= 128);
    }
}
