//! Corpora, feature tables, scaling, speaker-independent splits and metrics.
//!
//! This crate is the common ground of every model in privox:
//!
//! * [`FeatureTable`]: the CSV format `file,speaker,label,<features...>` that
//!   `privox extract` writes (the openSMILE oracle CSVs, whose third column is
//!   `emotion`, are read too);
//! * [`Dataset`]: numeric features with class indices and speaker groups;
//! * [`MinMaxScaler`]: scaling to [-1, 1] fitted on training rows only;
//! * [`leave_one_group_out`] and [`group_k_fold`]: speaker-independent splits;
//! * [`ConfusionMatrix`]: accuracy, unweighted average recall (UAR);
//! * [`protocol`]: one evaluation protocol for every model ([`Fit`],
//!   [`Predict`], [`OuterSplit`], [`InnerSplit`], [`evaluate`]);
//! * [`calibrate`]: per-speaker calibration on the client (see [`Calibration`]).
//!
//! ```
//! use privox_data::{ClassSet, ConfusionMatrix, FeatureTable, Matrix, MinMaxScaler, leave_one_group_out};
//!
//! let csv = "file,speaker,label,f1,f2\n\
//!            a.wav,s1,neutral,1.0,10\n\
//!            b.wav,s1,angry,3.0,30\n\
//!            c.wav,s2,neutral,2.0,20\n\
//!            d.wav,s2,happy,9.0,90\n";
//! let table = FeatureTable::from_reader(csv.as_bytes()).unwrap();
//! let data = table.to_dataset(&ClassSet::neutral_angry()).unwrap(); // drops "happy"
//! assert_eq!(data.len(), 3);
//!
//! let folds = leave_one_group_out(&data.groups, &data.group_names);
//! assert_eq!(folds.len(), 2);
//! let train = data.subset(&folds[0].train);
//! let scaler = MinMaxScaler::fit(&train.x).unwrap();
//! let scaled = scaler.transform(&train.x).unwrap();
//! assert!(scaled.as_slice().iter().all(|v| (-1.0..=1.0).contains(v)));
//!
//! let cm = ConfusionMatrix::from_predictions(2, &[0, 1, 1], &[0, 1, 0]).unwrap();
//! assert!((cm.uar() - 0.75).abs() < 1e-12);
//! ```

mod calibration;
mod matrix;
mod metrics;
pub mod protocol;
mod scaler;
mod shared;
mod split;
mod table;

pub use calibration::{
    CALIBRATION_MAGIC, CALIBRATION_VERSION, Calibration, CalibrationMismatch, CalibrationOptions,
    CalibrationReport, DEFAULT_MIN_RECORDINGS, Normaliser, SpeakerStats, calibrate, calibrate_with,
    calibration_file_name, fit_speakers, read_calibration_dir, update_calibration_dir,
};
pub use matrix::Matrix;
pub use metrics::{ConfusionMatrix, mean_std};
pub use protocol::{
    Evaluation, Fit, FoldResult, InnerSplit, Labelled, Metric, OuterSplit, Predict, SpeakerIndex,
    check_rows, evaluate,
};
pub use scaler::MinMaxScaler;
pub use shared::{
    REQUIRE_SHARED_VAR, shared_dir, shared_file, shared_required, skip_without_shared,
};
pub use split::{Fold, fixed_split_from_file, group_k_fold, leave_one_group_out};
pub use table::{ClassSet, Dataset, FeatureTable};

use std::path::PathBuf;

/// Everything that can go wrong with data handling.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (the source; not repeated in the message).
        #[source]
        cause: std::io::Error,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] privox_format::FileError),
    #[error("{path}: malformed CSV: {message}")]
    /// A CSV file is malformed as a whole (header, encoding).
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    #[error("{path}: line {line}: {message}")]
    /// One row of a CSV file is malformed.
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Values that do not fill a matrix of the declared shape.
    #[error("a {rows}x{cols} matrix needs {expected} values, got {found}")]
    MatrixShape {
        /// Declared rows.
        rows: usize,
        /// Declared columns.
        cols: usize,
        /// Values the shape needs (saturating).
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// Rows of different lengths.
    #[error("row {row} has {found} values, row 0 has {expected}")]
    RaggedRows {
        /// The first row of another length.
        row: usize,
        /// Values of row 0.
        expected: usize,
        /// Values of that row.
        found: usize,
    },
    /// Two sequences that should have the same length do not.
    #[error("{what}: found {found}, expected {expected}")]
    LengthMismatch {
        /// What was counted.
        what: &'static str,
        /// The length the other input implies.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A class index past the number of classes.
    #[error("class index {class} out of range 0..{n_classes}")]
    ClassOutOfRange {
        /// The class index.
        class: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// Confusion matrices over different class counts.
    #[error("cannot pool a {found}-class confusion matrix into a {expected}-class one")]
    ClassCountMismatch {
        /// Classes of the matrix pooled into.
        expected: usize,
        /// Classes of the other matrix.
        found: usize,
    },
    /// A feature value is NaN or infinite.
    #[error(
        "non-finite value (NaN or infinity) at row {row}, column {col}; clean or drop that row first"
    )]
    NonFinite {
        /// Row index.
        row: usize,
        /// Column index.
        col: usize,
    },
    /// There are no rows where some are needed.
    #[error("{what} has no rows")]
    NoRows {
        /// What is empty (the data a scaler is fitted on, a training set).
        what: &'static str,
    },
    /// No row has one of the selected labels.
    #[error("no row has a label in {classes:?} (labels present: {present:?})")]
    NoClassRows {
        /// The selected classes.
        classes: Vec<String>,
        /// The labels in the data.
        present: Vec<String>,
    },
    /// A class set with fewer than two distinct names.
    #[error("a class set needs at least two distinct names, got {names:?}")]
    TooFewClasses {
        /// The names given.
        names: Vec<String>,
    },
    /// Training rows of a single class.
    #[error("the training set has a single class ({class}); a classifier needs at least two")]
    SingleClass {
        /// The only class present.
        class: String,
    },
    /// The data has another number of features than expected.
    #[error(
        "expected {expected} features, found {found}; was the model trained on another feature set?"
    )]
    FeatureCount {
        /// Features the model or scaler was made for.
        expected: usize,
        /// Features in the data.
        found: usize,
    },
    /// A split needs more speakers than the data has.
    #[error("{what} needs at least {needed} speakers, found {found}")]
    TooFewSpeakers {
        /// The split asked for.
        what: &'static str,
        /// Speakers needed.
        needed: usize,
        /// Speakers present.
        found: usize,
    },
    /// A group k-fold with more folds than speakers, or fewer than two.
    #[error("group k-fold needs 2 <= k <= number of speakers ({speakers}), got k = {k}")]
    FoldCount {
        /// Folds asked for.
        k: usize,
        /// Speakers present.
        speakers: usize,
    },
    /// A fixed split that puts one speaker on both sides.
    #[error("speaker {speaker} is in both train and test")]
    SpeakerInBoth {
        /// The speaker.
        speaker: String,
    },
    /// A fixed split that leaves a side without rows.
    #[error(
        "the split leaves {train} train and {test} test rows; both need some (check the speaker names)"
    )]
    EmptySplitPart {
        /// Training rows.
        train: usize,
        /// Test rows.
        test: usize,
    },
    /// A fixed split naming a row the data does not have.
    #[error("the fixed split names row {row}, the data has {rows} rows")]
    RowOutOfRange {
        /// The row named.
        row: usize,
        /// Rows of the data.
        rows: usize,
    },
    /// A split file that cannot be used.
    #[error("split file {path}")]
    SplitFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        cause: Box<DataError>,
    },
    /// An envelope (e.g. a calibration file) is invalid.
    #[error(transparent)]
    Format(#[from] privox_format::FormatError),
    /// Robust calibration from statistics kept without their rows.
    #[error(
        "robust calibration needs the recordings' rows, but these statistics were kept without them; rebuild them in robust mode"
    )]
    RobustWithoutRows,
    /// No calibration statistics where some are needed.
    #[error("no calibration statistics for {}; fit them from that speaker's recordings first", .speaker.as_deref().map_or("any speaker".to_string(), |s| format!("speaker {s:?}")))]
    NoSpeakerStats {
        /// The speaker (None: no statistics at all).
        speaker: Option<String>,
    },
    /// A calibration file holding another speaker's statistics.
    #[error("{path} holds the statistics of speaker {found:?}, not {expected:?}")]
    StatsSpeakerMismatch {
        /// The file.
        path: PathBuf,
        /// The speaker asked for.
        expected: String,
        /// The speaker in the file.
        found: String,
    },
    /// Features prepared with another calibration than the model's.
    #[error(transparent)]
    CalibrationMismatch(#[from] CalibrationMismatch),
}
