//! The errors of the crate: every variant says what was wrong and what to do.
//!
//! One convention: an underlying cause (an I/O error, a file-format error,
//! a data error) is chained as the error's `source` and never repeated in
//! its message, so a report that prints the chain (anyhow's `{:#}`) shows
//! each cause once. Closed sets of cases are enum variants, and mismatches
//! carry what was found and what was expected.

use privox_format::{FileError, Fingerprint, FormatError};

use crate::optim::Optimizer;

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
    /// A feature table whose columns are not the model's.
    #[error(
        "the feature table's columns differ from the model's ({found} vs {expected} features); extract the same feature set"
    )]
    FeatureNamesMismatch {
        /// Feature columns of the table.
        found: usize,
        /// Features of the model.
        expected: usize,
    },
    /// Labels (or speaker groups) not one per feature row.
    #[error("{what}: {found} labels for {expected} rows; give one label per row")]
    LabelCountMismatch {
        /// Which labels.
        what: &'static str,
        /// Rows (labels expected).
        expected: usize,
        /// Labels found.
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
    /// Choosing the epoch count needs validation speakers.
    #[error(
        "choosing the epoch count needs at least two training speakers to hold one out, found {found}; use --patience 0"
    )]
    TooFewTrainingSpeakers {
        /// Distinct speakers among the training rows.
        found: usize,
    },
    /// Inner cross-validation where no inner training part has two classes.
    #[error(
        "no inner fold has two classes in its training speakers: too few speakers per class for inner cross-validation; use --patience 0 or the paper recipe"
    )]
    NoTwoClassInnerFold,
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
    /// An invalid network, training or recipe setting.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// A polynomial fit that failed.
    #[error(transparent)]
    Fit(#[from] FitError),
    /// Data handling (scaling, splits, metrics) failed.
    #[error(transparent)]
    Data(#[from] privox_data::DataError),
    /// A model file whose envelope is invalid.
    #[error("model file is invalid")]
    Format(#[from] FormatError),
    /// A model file whose contents are inconsistent.
    #[error(
        "model file is inconsistent; it is corrupted or was written by an incompatible privox, retrain and export it again"
    )]
    CorruptModel(#[from] ModelError),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] FileError),
    /// The model and the input disagree on speaker calibration.
    #[error(transparent)]
    Calibration(#[from] privox_data::CalibrationMismatch),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// An invalid setting of a network, its training, a recipe or an
/// activation name.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Fewer than one input or two classes.
    #[error(
        "a network needs at least one input and two classes (got {inputs} inputs, {classes} classes)"
    )]
    NetworkShape {
        /// Inputs asked for.
        inputs: usize,
        /// Classes asked for.
        classes: usize,
    },
    /// A hidden layer of width 0.
    #[error("hidden layer widths must be positive")]
    ZeroHiddenWidth,
    /// A batch-norm `γ₀` that is not positive.
    #[error("batch-norm initial gamma must be positive, got {0}")]
    BnGammaInit(f64),
    /// A batch-norm momentum outside `[0, 1]`.
    #[error("batch-norm momentum must be in [0, 1], got {0}")]
    BnMomentum(f64),
    /// A learning rate, momentum or beta out of range.
    #[error(
        "optimizer settings out of range: {0:?} (learning rate must be > 0, momentum/betas in [0, 1))"
    )]
    Optimizer(Optimizer),
    /// Momentum asked for with Adam.
    #[error("momentum applies to sgd only (Adam has its own moment estimates)")]
    MomentumWithAdam,
    /// A batch size or epoch limit of 0.
    #[error("batch size and max epochs must be at least 1")]
    ZeroBatchOrEpochs,
    /// A minimum epoch above the maximum.
    #[error("min epochs ({min}) exceeds max epochs ({max})")]
    MinEpochsAboveMax {
        /// Minimum epochs.
        min: usize,
        /// Maximum epochs.
        max: usize,
    },
    /// Early stopping without a validation set.
    #[error("early stopping (patience > 0) needs a validation set; pass one or set patience to 0")]
    EarlyStoppingWithoutValidation,
    /// Custom class weights of the wrong count.
    #[error("class weights: {found} numbers for {expected} classes")]
    ClassWeightCount {
        /// Classes.
        expected: usize,
        /// Weights given.
        found: usize,
    },
    /// Custom class weights that are not all positive and finite.
    #[error("custom class weights must be {expected} positive numbers, got {found:?}")]
    ClassWeights {
        /// Classes.
        expected: usize,
        /// The weights given.
        found: Vec<f64>,
    },
    /// A negative weight decay.
    #[error("weight decay must be ≥ 0, got {0}")]
    WeightDecay(f64),
    /// A negative range penalty.
    #[error("range penalty must be ≥ 0, got {0}")]
    RangePenalty(f64),
    /// A range penalty on a network without an interval.
    #[error("the range penalty with a ReLU network needs an explicit interval (range_interval)")]
    RangeIntervalNeeded,
    /// A range interval that is not positive.
    #[error("range interval must be positive, got {0}")]
    RangeInterval(f64),
    /// Batch-norm not right after a dense layer (cannot be folded).
    #[error("batch-norm can only be folded into a dense layer right before it")]
    UnfoldableBatchNorm,
    /// A polynomial with no coefficient.
    #[error("a polynomial needs at least one coefficient")]
    EmptyPolynomial,
    /// A NaN or infinite polynomial coefficient.
    #[error("polynomial coefficient {0} is not finite")]
    NonFiniteCoefficient(f64),
    /// A polynomial interval that is not positive and finite.
    #[error("polynomial interval half-width must be positive and finite, got {0}")]
    PolyInterval(f64),
    /// An activation name that is none of the known forms.
    #[error("unknown activation '{name}': use relu, p2, p4, p6, cheb:D, lsq:D or coeffs:c0,c1,...")]
    UnknownActivation {
        /// The name given.
        name: String,
    },
    /// `cheb:D` / `lsq:D` whose degree is not a number.
    #[error("degree '{text}' is not a number")]
    ActivationDegree {
        /// The text after the colon.
        text: String,
        /// The parse error.
        source: std::num::ParseIntError,
    },
    /// `coeffs:…` whose coefficients are not numbers.
    #[error("coefficients '{text}' are not numbers")]
    ActivationCoefficients {
        /// The text after the colon.
        text: String,
        /// The parse error.
        source: std::num::ParseFloatError,
    },
}

/// A polynomial fit that cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// A degree above [`crate::poly::MAX_FIT_DEGREE`].
    #[error("polynomial fit: degree {degree} is above the supported maximum {max}")]
    DegreeTooHigh {
        /// Degree asked for.
        degree: usize,
        /// The maximum.
        max: usize,
    },
    /// An interval half-width that is not positive.
    #[error("polynomial fit: interval half-width must be positive, got {0}")]
    Interval(f64),
    /// The function is NaN or infinite on the least-squares grid.
    #[error("polynomial fit: the function is not finite somewhere on the interval")]
    NonFiniteFunction,
    /// The function is NaN or infinite at a Chebyshev node.
    #[error("polynomial fit: the function is not finite at a Chebyshev node")]
    NonFiniteAtNode,
    /// The least-squares normal equations are singular.
    #[error("polynomial fit: the least-squares system is rank deficient")]
    RankDeficient,
}

/// How a model file's contents disagree with themselves.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Feature names or scaler width differ from the network's inputs.
    #[error("{names} feature names and a {scaler}-feature scaler for a {inputs}-input network")]
    FeatureCount {
        /// Feature names.
        names: usize,
        /// Scaler width.
        scaler: usize,
        /// Network inputs (expected of both).
        inputs: usize,
    },
    /// Class names differ from the network's outputs (or fewer than 2).
    #[error("{found} class names for {expected} outputs")]
    ClassCount {
        /// Class names found.
        found: usize,
        /// Network outputs.
        expected: usize,
    },
    /// An input clamp that is not positive and finite.
    #[error("input range {0} is not positive")]
    InputRange(f64),
    /// An affine layer whose shapes do not chain or whose values are not finite.
    #[error("affine layer {layer} has inconsistent shape or non-finite values")]
    AffineLayer {
        /// Layer index.
        layer: usize,
    },
    /// The last layer's width differs from the class count.
    #[error("the last layer has {found} outputs for {expected} classes")]
    OutputWidth {
        /// Outputs of the last affine layer.
        found: usize,
        /// Classes.
        expected: usize,
    },
    /// Activation ranges not one per activation layer.
    #[error("{found} activation ranges for {expected} activation layers")]
    ActivationRanges {
        /// Ranges stored.
        found: usize,
        /// Activation layers.
        expected: usize,
    },
    /// A layer tag that is not dense, ReLU or polynomial.
    #[error("unknown layer tag {0}")]
    LayerTag(u8),
    /// A stored polynomial activation that is invalid.
    #[error("invalid polynomial activation")]
    Polynomial(#[source] ConfigError),
    /// A count above its limit.
    #[error("{what} {found} exceeds the limit {max}")]
    CountLimit {
        /// What is counted.
        what: &'static str,
        /// The count stored.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// A name list longer than the bytes left.
    #[error("name list longer than the file")]
    NameListTooLong,
    /// The architecture's digest differs from the envelope's fingerprint.
    #[error("the architecture's fingerprint is {found}, the file's header says {expected}")]
    Fingerprint {
        /// Fingerprint of the decoded architecture.
        found: Fingerprint,
        /// Fingerprint in the envelope header.
        expected: Fingerprint,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, NnError>;
