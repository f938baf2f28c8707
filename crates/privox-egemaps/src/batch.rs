//! Batches of recordings to a [`FeatureTable`]: the orchestration behind
//! `privox extract` and `privox demo`.
//!
//! [`collect_jobs`] turns inputs (files, folders, a manifest) into [`Job`]s,
//! [`extract_jobs`] runs them in parallel (each through
//! [`crate::file::extract_file`]) and returns an [`ExtractReport`] holding
//! the table plus per-file failures and warnings, and [`write_llds`] writes
//! the kept LLD frames as one CSV per file. Nothing here prints: progress is
//! a callback and every remark is returned.
//!
//! Enabled by the `audio` feature.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use privox_audio::{AUDIO_EXTENSIONS, DecodeOptions};
use privox_data::FeatureTable;
use rayon::prelude::*;

use crate::file::{FileError, extract_file};
use crate::{FEATURE_NAMES, Llds};

/// Why a batch could not run (per-file failures are not errors: they are
/// collected in the [`ExtractReport`]). `Display` says what failed; the
/// underlying error is the `source()`.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The manifest could not be opened.
    #[error("cannot read manifest {}", path.display())]
    ManifestOpen {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// The manifest's header line could not be read.
    #[error("manifest {} has no header line", path.display())]
    ManifestHeader {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// The manifest has no `file` (or `filename`, `path`) column.
    #[error(
        "manifest {} has no `file` column (header: {header}); expected columns file,speaker,label",
        path.display()
    )]
    NoFileColumn {
        /// The manifest.
        path: PathBuf,
        /// Its header line, comma-joined.
        header: String,
    },
    /// A manifest line could not be read.
    #[error("manifest {} line {line}", path.display())]
    ManifestLine {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: usize,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// A manifest line has an empty `file` field.
    #[error("manifest {} line {line}: empty `file` field", path.display())]
    EmptyFile {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: usize,
    },
    /// The worker thread pool could not be built.
    #[error("cannot start the worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
    /// A row did not fit the table (cannot happen: every row has the 88 functionals).
    #[error("internal error: feature count mismatch")]
    FeatureCount(#[source] privox_data::DataError),
    /// A folder for LLD files could not be created.
    #[error("cannot create folder {}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// LLD frames could not be formatted as CSV.
    #[error("cannot format the LLD CSV of {name}")]
    LldCsv {
        /// The file's name in the table.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An LLD file could not be written (the error names the path).
    #[error(transparent)]
    Write(#[from] privox_format::FileError),
}

/// One recording to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Where to read it.
    pub path: PathBuf,
    /// How it is named in the output (`file` column): the manifest's entry or the path as given.
    pub name: String,
    /// Speaker id (empty when unknown).
    pub speaker: String,
    /// Class label (empty when unknown).
    pub label: String,
}

/// The jobs found by [`collect_jobs`], and remarks about the inputs.
#[derive(Debug, Clone, Default)]
pub struct CollectedJobs {
    /// In input order (manifest first, then each input; folders sorted).
    pub jobs: Vec<Job>,
    /// One line each: unreadable folder entries, folders without audio.
    pub warnings: Vec<String>,
}

/// How [`extract_jobs`] behaves.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// Threads; `None` for all cores.
    pub jobs: Option<usize>,
    /// Decoder limits.
    pub decode: DecodeOptions,
    /// Keep each file's LLD frames (for [`write_llds`]).
    pub keep_llds: bool,
}

/// The result of one file.
#[derive(Debug)]
pub enum Outcome {
    /// Functionals (and LLDs if asked for).
    Ok {
        /// In [`FEATURE_NAMES`] order.
        features: Vec<f64>,
        /// LLD frames when [`ExtractOptions::keep_llds`].
        llds: Option<Llds>,
        /// Seconds of audio.
        audio_secs: f64,
        /// Non-fatal remarks (decoder warnings, resampling).
        warnings: Vec<String>,
    },
    /// Decodable but under 60 ms: no functionals exist for it.
    TooShort {
        /// The message, naming the file.
        reason: String,
        /// Seconds of audio.
        audio_secs: f64,
    },
    /// Not decodable or not extractable.
    Failed {
        /// The message, naming the file.
        reason: String,
    },
}

/// Everything a batch produced.
#[derive(Debug)]
pub struct ExtractReport {
    /// One row per successful file, in input order.
    pub table: FeatureTable,
    /// LLDs of the successful files (parallel to the table's rows), when requested.
    pub llds: Vec<Option<Llds>>,
    /// `(file, reason)` of files that failed, in input order.
    pub failed: Vec<(String, String)>,
    /// `(file, reason)` of files too short for functionals, in input order.
    pub too_short: Vec<(String, String)>,
    /// `(file, warning)` for files that decoded with remarks, in input order.
    pub warnings: Vec<(String, String)>,
    /// Seconds of audio decoded (successful and too-short files).
    pub audio_secs: f64,
    /// Wall-clock seconds of the batch.
    pub wall_secs: f64,
    /// Threads used.
    pub threads: usize,
}

impl ExtractReport {
    /// Audio seconds per wall-clock second.
    pub fn real_time_factor(&self) -> f64 {
        if self.wall_secs > 0.0 {
            self.audio_secs / self.wall_secs
        } else {
            0.0
        }
    }

    /// True when every input produced a row.
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty() && self.too_short.is_empty()
    }

    /// The one-line summary: counts, audio seconds, time, threads, real-time factor.
    pub fn summary(&self) -> String {
        format!(
            "{} files: {} ok, {} failed, {} too short; {:.1} s of audio in {:.2} s on {} threads (real-time factor {:.1}x)",
            self.table.len() + self.failed.len() + self.too_short.len(),
            self.table.len(),
            self.failed.len(),
            self.too_short.len(),
            self.audio_secs,
            self.wall_secs,
            self.threads,
            self.real_time_factor()
        )
    }
}

/// Reads a manifest CSV (`file,speaker,label` or `...,emotion`; `filename`
/// or `path` also name the file column; other columns are ignored) into
/// jobs; file paths are resolved against the manifest's folder.
pub fn read_manifest(path: &Path) -> Result<Vec<Job>, BatchError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|source| BatchError::ManifestOpen {
            path: path.to_path_buf(),
            source,
        })?;
    let headers = reader
        .headers()
        .map_err(|source| BatchError::ManifestHeader {
            path: path.to_path_buf(),
            source,
        })?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let Some(file_col) = column(&["file", "filename", "path"]) else {
        return Err(BatchError::NoFileColumn {
            path: path.to_path_buf(),
            header: headers.iter().collect::<Vec<_>>().join(","),
        });
    };
    let speaker_col = column(&["speaker"]);
    let label_col = column(&["label", "emotion"]);
    let mut jobs = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|source| BatchError::ManifestLine {
            path: path.to_path_buf(),
            line: i + 2,
            source,
        })?;
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_string();
        let name = get(Some(file_col));
        if name.is_empty() {
            return Err(BatchError::EmptyFile {
                path: path.to_path_buf(),
                line: i + 2,
            });
        }
        jobs.push(Job {
            path: base.join(&name),
            name,
            speaker: get(speaker_col),
            label: get(label_col),
        });
    }
    Ok(jobs)
}

/// Expands files and folders (recursively, sorted) plus an optional manifest
/// into jobs. Files named explicitly are taken whatever their extension; a
/// missing file becomes a job too (and then a per-file failure).
pub fn collect_jobs(
    inputs: &[PathBuf],
    manifest: Option<&Path>,
) -> Result<CollectedJobs, BatchError> {
    let mut out = CollectedJobs {
        jobs: match manifest {
            Some(m) => read_manifest(m)?,
            None => Vec::new(),
        },
        warnings: Vec::new(),
    };
    for input in inputs {
        if input.is_dir() {
            let found = privox_audio::find_audio_files(input);
            for (path, why) in &found.skipped {
                out.warnings
                    .push(format!("skipped {}: {why}", path.display()));
            }
            if found.files.is_empty() {
                out.warnings.push(format!(
                    "no audio files ({}) under {}",
                    AUDIO_EXTENSIONS.join(", "),
                    input.display()
                ));
            }
            out.jobs.extend(found.files.into_iter().map(|p| Job {
                name: p.display().to_string(),
                path: p,
                speaker: String::new(),
                label: String::new(),
            }));
        } else {
            out.jobs.push(Job {
                name: input.display().to_string(),
                path: input.clone(),
                speaker: String::new(),
                label: String::new(),
            });
        }
    }
    Ok(out)
}

/// Decodes and extracts one file (see [`extract_file`]: blocks are streamed
/// into the extractor, so a long recording is never held in memory, except
/// when it must be resampled). Reasons are one line: the error and its causes.
pub fn extract_one(job: &Job, opts: &ExtractOptions) -> Outcome {
    match extract_file(&job.path, &job.name, &opts.decode) {
        Ok(f) => Outcome::Ok {
            features: f.output.functionals.values().to_vec(),
            audio_secs: f.audio_secs(),
            llds: opts.keep_llds.then_some(f.output.llds),
            warnings: f.warnings,
        },
        Err(e @ FileError::TooShort { audio_secs, .. }) => Outcome::TooShort {
            reason: privox_format::Report(&e).to_string(),
            audio_secs,
        },
        Err(e) => Outcome::Failed {
            reason: privox_format::Report(&e).to_string(),
        },
    }
}

/// Extracts every job in parallel on `opts.jobs` threads (rows keep the
/// jobs' order). `progress` is called once after each file, from the worker
/// threads. Per-file failures, too-short files and warnings are collected
/// in the report, not returned as errors.
pub fn extract_jobs(
    jobs: &[Job],
    opts: &ExtractOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<ExtractReport, BatchError> {
    let threads = opts.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(BatchError::Threads)?;
    let start = Instant::now();
    let outcomes: Vec<Outcome> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let outcome = extract_one(job, opts);
                progress();
                outcome
            })
            .collect()
    });
    let wall_secs = start.elapsed().as_secs_f64();

    let mut report = ExtractReport {
        table: FeatureTable::new(FEATURE_NAMES.iter().map(|s| s.to_string()).collect()),
        llds: Vec::new(),
        failed: Vec::new(),
        too_short: Vec::new(),
        warnings: Vec::new(),
        audio_secs: 0.0,
        wall_secs,
        threads,
    };
    for (job, outcome) in jobs.iter().zip(outcomes) {
        match outcome {
            Outcome::Ok {
                features,
                llds,
                audio_secs,
                warnings,
            } => {
                report
                    .table
                    .push(
                        job.name.clone(),
                        job.speaker.clone(),
                        job.label.clone(),
                        &features,
                    )
                    .map_err(BatchError::FeatureCount)?;
                report.llds.push(llds);
                report.audio_secs += audio_secs;
                report
                    .warnings
                    .extend(warnings.into_iter().map(|w| (job.name.clone(), w)));
            }
            Outcome::TooShort { reason, audio_secs } => {
                report.audio_secs += audio_secs;
                report.too_short.push((job.name.clone(), reason));
            }
            Outcome::Failed { reason } => report.failed.push((job.name.clone(), reason)),
        }
    }
    Ok(report)
}

/// Where the LLD CSV of `name` goes under `dir`: the same relative path with
/// `.csv`; absolute paths and `..` are folded so nothing escapes `dir`.
pub fn lld_path(dir: &Path, name: &str) -> PathBuf {
    let mut rel = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(part) => rel.push(part),
            Component::ParentDir => rel.push("_up"),
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
        }
    }
    dir.join(rel).with_extension("csv")
}

/// What [`write_llds`] did.
#[derive(Debug, Clone, Default)]
pub struct LldFiles {
    /// Files written.
    pub written: usize,
    /// One line each: inputs whose LLD path was already taken by another input (skipped).
    pub warnings: Vec<String>,
}

/// Writes the kept LLD frames of `report` under `dir` (see [`lld_path`]),
/// each file atomically, creating folders as needed.
pub fn write_llds(dir: &Path, report: &ExtractReport) -> Result<LldFiles, BatchError> {
    let mut seen = HashSet::new();
    let mut out = LldFiles::default();
    for (name, llds) in report.table.files.iter().zip(&report.llds) {
        let Some(llds) = llds else { continue };
        let path = lld_path(dir, name);
        if !seen.insert(path.clone()) {
            out.warnings.push(format!(
                "{name}: LLD file {} already written for another input; skipped",
                path.display()
            ));
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| BatchError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut bytes = Vec::new();
        llds.write_csv(&mut bytes)
            .map_err(|source| BatchError::LldCsv {
                name: name.clone(),
                source,
            })?;
        privox_format::write_atomic(&path, &bytes)?;
        out.written += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lld_paths_stay_inside_the_folder() {
        let d = Path::new("out");
        assert_eq!(lld_path(d, "wav/a.wav"), Path::new("out/wav/a.csv"));
        assert_eq!(lld_path(d, "/abs/b.flac"), Path::new("out/abs/b.csv"));
        assert_eq!(lld_path(d, "../c.mp3"), Path::new("out/_up/c.csv"));
    }

    #[test]
    fn manifest_accepts_emotion_column_and_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.csv");
        std::fs::write(&m, "file,speaker,emotion,extra\nwav/a.wav,03,angry,x\n").unwrap();
        let jobs = read_manifest(&m).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].path, dir.path().join("wav/a.wav"));
        assert_eq!(
            (
                jobs[0].name.as_str(),
                jobs[0].speaker.as_str(),
                jobs[0].label.as_str()
            ),
            ("wav/a.wav", "03", "angry")
        );
        std::fs::write(&m, "name,speaker\nx,1\n").unwrap();
        let err = read_manifest(&m).unwrap_err();
        assert!(matches!(err, BatchError::NoFileColumn { .. }), "{err:?}");
        assert!(err.to_string().contains("no `file` column"));
        std::fs::write(&m, "file,speaker\n,1\n").unwrap();
        assert!(matches!(
            read_manifest(&m).unwrap_err(),
            BatchError::EmptyFile { line: 2, .. }
        ));
    }

    #[test]
    fn missing_files_fail_per_file_and_progress_counts_every_job() {
        let dir = tempfile::tempdir().unwrap();
        let collected = collect_jobs(
            &[dir.path().join("absent.wav"), dir.path().to_path_buf()],
            None,
        )
        .unwrap();
        assert_eq!(collected.jobs.len(), 1);
        assert_eq!(collected.warnings.len(), 1, "{:?}", collected.warnings);
        assert!(collected.warnings[0].starts_with("no audio files"));
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let report = extract_jobs(&collected.jobs, &ExtractOptions::default(), &|| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.into_inner(), 1);
        assert_eq!((report.table.len(), report.failed.len()), (0, 1));
        assert!(!report.all_ok());
        assert!(
            report
                .summary()
                .starts_with("1 files: 0 ok, 1 failed, 0 too short")
        );
    }
}
