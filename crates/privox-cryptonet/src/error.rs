//! Errors of the encrypted evaluator. Every message says what was wrong and
//! what to do about it.

use privox_ckks::CkksError;
use privox_format::FormatError;
use privox_nn::NnError;

/// Everything that can go wrong while planning, encrypting, evaluating or
/// decrypting.
#[derive(Debug, thiserror::Error)]
pub enum CryptonetError {
    /// The model holds an operation CKKS cannot compute (ReLU).
    #[error(
        "activation layer {layer} is ReLU, which CKKS cannot evaluate: train with a polynomial \
         activation (privox nn train --activation p2 --batch-norm) or swap one in"
    )]
    NotPolynomial {
        /// Index of the layer.
        layer: usize,
    },
    /// No 128-bit parameter set holds the circuit.
    #[error(
        "the circuit needs {levels} multiplicative levels ({log_q} bits of modulus at the smallest \
         precision); no 128-bit-secure parameter set up to N = 2^15 holds it: use lower-degree \
         activations or fewer layers"
    )]
    TooDeep {
        /// Multiplicative levels needed.
        levels: usize,
        /// Bits of modulus needed.
        log_q: u32,
    },
    /// A layer is wider than one ciphertext can hold.
    #[error("layer width {width} does not fit in {slots} slots: use narrower layers")]
    TooWide {
        /// The layer width.
        width: usize,
        /// Slots per ciphertext.
        slots: usize,
    },
    /// An activation layer that does not follow an affine layer.
    #[error(
        "the model cannot be compiled: activation layer {layer} does not follow an affine layer"
    )]
    ActivationWithoutAffine {
        /// Index of the activation layer.
        layer: usize,
    },
    /// A network whose last layer is not affine.
    #[error("the model cannot be compiled: the network must end with an affine layer")]
    NoFinalAffine,
    /// The output layer's bound Σ|W| + |b| is zero, NaN or infinite.
    #[error(
        "the model cannot be compiled: the output layer's bound {bound} is not positive and finite"
    )]
    BadOutputBound {
        /// The bound.
        bound: f64,
    },
    /// A polynomial activation that cannot be normalised on its range.
    #[error(
        "the model cannot be compiled: polynomial activation {coeffs:?} cannot be normalised on [-{range}, {range}] (its maximum or leading coefficient is zero or not finite)"
    )]
    PolyNotNormalisable {
        /// The polynomial's coefficients, constant first.
        coeffs: Vec<f64>,
        /// Half-width of the activation's observed input range (with margin).
        range: f64,
    },
    /// A circuit stage with NaN or infinite numbers after normalisation.
    #[error(
        "the model cannot be compiled: stage {stage} has non-finite numbers after normalisation"
    )]
    NonFiniteStage {
        /// Index of the stage.
        stage: usize,
    },
    /// A circuit whose stages do not match the plan's layout (an internal
    /// invariant: layout and circuit are built together).
    #[error(
        "the circuit does not match its layout at stage {stage} (it must start with an affine stage, and the layout's stages must match); recompile the plan"
    )]
    LayoutMismatch {
        /// Index of the stage.
        stage: usize,
    },
    /// A circuit without stages.
    #[error("the circuit has no stages; compile it from a trained model")]
    EmptyCircuit,
    /// Feature rows or labels that the data library refused.
    #[error("invalid {what}")]
    Data {
        /// What was being built, e.g. `"feature rows"`.
        what: &'static str,
        /// The data library's error.
        #[source]
        source: privox_data::DataError,
    },
    /// Feature rows of the wrong width.
    #[error("feature row {row} has {found} values; the model expects {expected}")]
    FeatureCount {
        /// Row index.
        row: usize,
        /// What the plan expects.
        expected: usize,
        /// What was found.
        found: usize,
    },
    /// A feature is NaN or infinite.
    #[error("feature {feature} of row {row} is not finite ({value}); fix or drop that recording")]
    NonFiniteFeature {
        /// Row index.
        row: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f64,
    },
    /// A feature far outside the range the model was trained on.
    #[error(
        "feature {feature} of row {row} is {value} after scaling, outside the range this model \
         accepts (training rows scale to [-1, 1]); check the recording and the feature units"
    )]
    FeatureOutOfRange {
        /// Row index.
        row: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f64,
    },
    /// More rows than the packing takes in one query.
    #[error("{rows} recordings in one query; this packing takes 1..={max} (split the batch)")]
    BatchSize {
        /// Rows given.
        rows: usize,
        /// Most rows per query.
        max: usize,
    },
    /// Keys or a query made for another model, packing or parameter set.
    #[error(
        "{what} was made for another model or parameter set (fingerprint {found}, this plan \
         expects {expected}); regenerate it with this model"
    )]
    WrongPlan {
        /// The object concerned.
        what: &'static str,
        /// What the plan expects.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The evaluation keys lack a rotation the plan needs.
    #[error(
        "the evaluation keys have no rotation by {step}, which this plan needs; regenerate them \
         with `privox he keygen --model` for this model"
    )]
    MissingRotation {
        /// The rotation step.
        step: i64,
    },
    /// A ciphertext of the query is not where the plan expects it.
    #[error(
        "{what}: ciphertext {index} is at level {found} with scale 2^{scale_log2:.2}; the plan \
         expects level {expected}. It was not made by a client of this plan"
    )]
    WrongLevel {
        /// The object concerned.
        what: &'static str,
        /// Index of the ciphertext.
        index: usize,
        /// What the plan expects.
        expected: usize,
        /// What was found.
        found: usize,
        /// log2 of the ciphertext's scale.
        scale_log2: f64,
    },
    /// A ciphertext packs another slot count than the plan's (N/2).
    #[error("{what}: ciphertext {index} packs {found} slots; this plan uses {expected}")]
    WrongSlots {
        /// The object concerned.
        what: &'static str,
        /// Index of the ciphertext.
        index: usize,
        /// What the plan expects.
        expected: usize,
        /// What was found.
        found: usize,
    },
    /// The query or response holds the wrong number of ciphertexts.
    #[error("{what} holds {found} ciphertexts; this plan expects {expected}")]
    CiphertextCount {
        /// The object concerned.
        what: &'static str,
        /// What the plan expects.
        expected: usize,
        /// What was found.
        found: usize,
    },
    /// Malformed bytes (truncated, bit-flipped, wrong magic or version).
    #[error("malformed {what}")]
    Format {
        /// The object concerned.
        what: &'static str,
        /// The envelope error.
        #[source]
        source: FormatError,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An error of the CKKS engine.
    #[error(transparent)]
    Ckks(#[from] CkksError),
    /// An error of the model library.
    #[error(transparent)]
    Nn(#[from] NnError),
}

/// Shorthand result type.
pub type Result<T> = std::result::Result<T, CryptonetError>;
