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
    evaluate,
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
    #[error("cannot read {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        // `cause`, not `source`: the message already contains it, and a source
        // would make reports that print the chain (anyhow's `{:#}`) repeat it.
        /// The I/O error.
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
    /// Matrix dimensions do not fit together.
    #[error("matrix shape mismatch: {0}")]
    Shape(String),
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
    /// There are no rows (or no classes, speakers) where some are needed.
    #[error("empty data: {0}")]
    Empty(String),
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
    /// A train/test split cannot be made as asked.
    #[error("invalid split: {0}")]
    Split(String),
    /// An envelope (e.g. a calibration file) is invalid.
    #[error(transparent)]
    Format(#[from] privox_format::FormatError),
    /// Speaker calibration cannot be computed or applied.
    #[error("speaker calibration: {0}")]
    Calibration(String),
    /// Features prepared with another calibration than the model's.
    #[error(transparent)]
    CalibrationMismatch(#[from] CalibrationMismatch),
}
