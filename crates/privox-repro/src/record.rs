//! Run records: one JSON file per phase of every run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::{Corpus, PhaseOutput, ReproError, Result, RunOptions};

/// Sub-folder of OUT holding one [`PhaseRecord`] per phase.
pub const RUNS_DIR: &str = "runs";

/// What one phase of one run did: enough to rerun it and to judge its timings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// The phase's name.
    pub phase: String,
    /// Corpus folders as given.
    pub corpora: Vec<String>,
    /// Reduced (`--quick`) settings.
    pub quick: bool,
    /// Key seeds.
    pub seeds: Vec<u64>,
    /// Versions of the crates that computed the numbers.
    pub versions: BTreeMap<String, String>,
    /// The phase's own parameters.
    pub parameters: serde_json::Value,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds (all threads).
    pub cpu_s: f64,
    /// Worker threads (rayon).
    pub threads: usize,
    /// The command line.
    pub command: String,
    /// UTC time the phase started (empty in records made before it was kept).
    #[serde(default)]
    pub started_utc: String,
    /// UTC time the phase finished.
    pub finished_utc: String,
    /// The 1-, 5- and 15-minute load averages when the phase finished
    /// (Linux; `None` elsewhere): timings on a shared machine need them.
    #[serde(default)]
    pub load_average: Option<[f64; 3]>,
    /// Files the phase wrote.
    pub files: Vec<String>,
    /// The phase's notes.
    pub notes: Vec<String>,
}

/// Versions of the privox crates (one workspace version) and of this crate.
pub fn crate_versions() -> BTreeMap<String, String> {
    let v = env!("CARGO_PKG_VERSION").to_string();
    [
        "privox-repro",
        "privox-data",
        "privox-egemaps",
        "privox-smh",
        "privox-svm",
        "privox-nn",
        "privox-cryptonet",
        "privox-ckks",
    ]
    .into_iter()
    .map(|c| (c.to_string(), v.clone()))
    .collect()
}

impl PhaseRecord {
    /// The record of a finished phase.
    pub fn new(
        phase: &str,
        corpora: &[Corpus],
        opts: &RunOptions,
        output: &PhaseOutput,
        started_utc: String,
        wall_s: f64,
        cpu_s: f64,
    ) -> Self {
        PhaseRecord {
            phase: phase.to_string(),
            corpora: corpora
                .iter()
                .map(|c| c.dir.display().to_string())
                .collect(),
            quick: opts.quick,
            seeds: opts.seeds.clone(),
            versions: crate_versions(),
            parameters: output.parameters.clone(),
            wall_s,
            cpu_s,
            threads: rayon::current_num_threads(),
            command: opts.command.clone(),
            started_utc,
            finished_utc: crate::report::utc_now(),
            load_average: load_average(),
            files: output
                .files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            notes: output.notes.clone(),
        }
    }
}

/// The system's 1-, 5- and 15-minute load averages (`/proc/loadavg`), if
/// the OS has them.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Writes `value` as pretty JSON to `path` (atomically, creating the folder).
pub fn write_record<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ReproError::io(dir))?;
    }
    let json = serde_json::to_vec_pretty(value).map_err(|source| ReproError::Json {
        what: path.display().to_string(),
        source,
    })?;
    privox_format::write_atomic(path, &json).map_err(ReproError::write(path))
}

/// Reads every `*.json` in `dir` (sorted by file name) as a `T`; `what` names
/// the kind of record in the error.
pub fn read_records<T: serde::de::DeserializeOwned>(
    dir: &Path,
    what: &'static str,
) -> Result<Vec<T>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(ReproError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(ReproError::io(&p))?;
            serde_json::from_slice(&bytes).map_err(|source| ReproError::Record {
                path: p,
                what,
                source,
            })
        })
        .collect()
}
