//! The one error type of the crate.

use std::path::PathBuf;

/// Why a reproduction phase failed. Causes are chained as `source`; the
/// message never repeats them (print the chain, e.g. anyhow's `{:#}`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReproError {
    /// A file or folder could not be read, listed or created.
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (atomically).
    #[error("cannot write {path}")]
    Write {
        /// The path.
        path: PathBuf,
        /// privox-format's error.
        #[source]
        source: privox_format::FileError,
    },
    /// A JSON run record could not be read as one.
    #[error("{path} is not a {what} run record; delete it or rerun")]
    Record {
        /// The file.
        path: PathBuf,
        /// Which kind of record was expected (e.g. `hashing`).
        what: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be serialized to JSON (a bug, e.g. a non-string map key).
    #[error("cannot serialize {what} to JSON")]
    Json {
        /// What was serialized.
        what: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A feature table or labels file was malformed or unusable.
    #[error("{what}")]
    Data {
        /// What was being done, e.g. `reading features of nemo from …`.
        what: String,
        /// privox-data's error.
        #[source]
        source: privox_data::DataError,
    },
    /// The labels file of a corpus could not be read.
    #[error("cannot read the labels file {path}")]
    Labels {
        /// The labels CSV.
        path: PathBuf,
        /// What the manifest reader found.
        #[source]
        source: privox_egemaps::batch::BatchError,
    },
    /// A row of the labels file names no speaker.
    #[error(
        "{path}: {file} has no speaker (leave-one-speaker-out needs a `speaker` column filled on every row)"
    )]
    NoSpeaker {
        /// The labels CSV.
        path: PathBuf,
        /// The first file without one.
        file: String,
    },
    /// Extracting a corpus's features failed as a whole (not per file).
    #[error("extracting the features of corpus {corpus}")]
    Extraction {
        /// The corpus.
        corpus: String,
        /// The batch error.
        #[source]
        source: privox_egemaps::batch::BatchError,
    },
    /// A corpus folder has neither reference features nor a labels file.
    #[error(
        "{dir} holds neither egemaps_v02_opensmile.csv nor labels.csv (file,speaker,label) to extract features from"
    )]
    EmptyCorpus {
        /// The corpus folder.
        dir: PathBuf,
    },
    /// No file of a corpus yielded features.
    #[error("no file listed in {path} yielded features ({failed} failed)")]
    NothingExtracted {
        /// The labels CSV.
        path: PathBuf,
        /// How many files failed.
        failed: usize,
    },
    /// The SMH library refused a parameter or input.
    #[error("{what}")]
    Smh {
        /// What was being done.
        what: String,
        /// privox-smh's error.
        #[source]
        source: privox_smh::SmhError,
    },
    /// The SVM library refused a parameter or input.
    #[error("{what}")]
    Svm {
        /// What was being done.
        what: String,
        /// privox-svm's error (boxed: it is large).
        #[source]
        source: Box<privox_svm::SvmError>,
    },
    /// The MLP library refused a parameter or input.
    #[error("{what}")]
    Nn {
        /// What was being done.
        what: String,
        /// privox-nn's error.
        #[source]
        source: privox_nn::NnError,
    },
    /// Encrypted evaluation failed.
    #[error("{what}")]
    Cryptonet {
        /// What was being done.
        what: String,
        /// privox-cryptonet's error.
        #[source]
        source: privox_cryptonet::CryptonetError,
    },
    /// A named setting (recipe, cell set, packing) is unknown.
    #[error("unknown {what} `{value}`")]
    UnknownSetting {
        /// What kind of setting.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// The paper defines no leakage threshold for this alphabet size.
    #[error("no default leakage threshold for k = {k}; the paper defines k = 2, 3, 5, 10")]
    NoThreshold {
        /// The alphabet size.
        k: u32,
    },
    /// Too few speakers for leave-one-speaker-out with an inner search.
    #[error(
        "leave-one-speaker-out with an inner speaker-grouped search needs at least {needed} speakers, found {found}"
    )]
    TooFewSpeakers {
        /// Speakers found.
        found: usize,
        /// Speakers needed.
        needed: usize,
    },
    /// A grid has too few points.
    #[error("the distance grid needs at least {needed} points, got {found}")]
    TooFewPoints {
        /// Points asked for.
        found: usize,
        /// Points needed.
        needed: usize,
    },
    /// The (C, γ) search grid has no point.
    #[error("the (C, γ) grid is empty; give log2 C and log2 γ values")]
    EmptyGrid,
    /// The number of key seeds is out of range.
    #[error("the number of key seeds must be between 1 and {max}, got {count}")]
    SeedCount {
        /// Seeds asked for.
        count: u64,
        /// The largest count allowed.
        max: u64,
    },
    /// The key seeds would run past `u64::MAX`.
    #[error("first seed {first} + {count} seeds runs past the largest seed (2^64 - 1)")]
    SeedOverflow {
        /// The first seed.
        first: u64,
        /// Seeds asked for.
        count: u64,
    },
    /// A record folder holds no record.
    #[error("no run records in {dir}")]
    NoRecords {
        /// The folder.
        dir: PathBuf,
    },
    /// An SVG plot could not be drawn.
    #[error("cannot draw {path}")]
    Plot {
        /// The SVG file.
        path: PathBuf,
        /// plotters' error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The worker threads could not be started.
    #[error("cannot start the worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
    /// One task of a phase failed; `source` says why.
    #[error("{phase}: {task}")]
    Task {
        /// The phase (e.g. `nemo k×Δ grid`).
        phase: String,
        /// The task (e.g. `fold 03 of configuration Baseline`).
        task: String,
        /// The failure.
        #[source]
        source: Box<ReproError>,
    },
}

impl ReproError {
    /// A [`ReproError::Data`] with what was being done.
    pub fn data(what: impl Into<String>) -> impl FnOnce(privox_data::DataError) -> Self {
        let what = what.into();
        move |source| ReproError::Data { what, source }
    }

    /// A [`ReproError::Smh`] with what was being done.
    pub fn smh(what: impl Into<String>) -> impl FnOnce(privox_smh::SmhError) -> Self {
        let what = what.into();
        move |source| ReproError::Smh { what, source }
    }

    /// A [`ReproError::Svm`] with what was being done.
    pub fn svm(what: impl Into<String>) -> impl FnOnce(privox_svm::SvmError) -> Self {
        let what = what.into();
        move |source| ReproError::Svm {
            what,
            source: Box::new(source),
        }
    }

    /// A [`ReproError::Nn`] with what was being done.
    pub fn nn(what: impl Into<String>) -> impl FnOnce(privox_nn::NnError) -> Self {
        let what = what.into();
        move |source| ReproError::Nn { what, source }
    }

    /// A [`ReproError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ReproError::Io { path, source }
    }

    /// A [`ReproError::Write`] for `path`.
    pub fn write(path: impl Into<PathBuf>) -> impl FnOnce(privox_format::FileError) -> Self {
        let path = path.into();
        move |source| ReproError::Write { path, source }
    }
}

/// The crate's result type.
pub type Result<T, E = ReproError> = std::result::Result<T, E>;
