//! `privox extract`: audio files to a table of the 88 eGeMAPS v02 functionals.
//!
//! The work is split so that `privox demo` (and any later verb) can reuse it:
//! [`collect_jobs`] turns inputs (files, folders, a manifest) into [`Job`]s,
//! [`extract_jobs`] runs them in parallel and returns an [`ExtractReport`]
//! holding the [`FeatureTable`] plus per-file failures, and [`run`] is the
//! command-line wrapper that writes files and prints the summary.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use privox_audio::{AUDIO_EXTENSIONS, DecodeOptions};
use privox_data::FeatureTable;
use privox_egemaps::file::{FileError, extract_file};
use privox_egemaps::{FEATURE_NAMES, Llds};
use rayon::prelude::*;

/// Shown after the option list of `privox extract --help` (the one-line
/// summary comes from the subcommand's doc in main.rs).
const AFTER_HELP: &str = "\
What it does:
  Inputs may be audio files (WAV, FLAC, OGG/Vorbis, MP3; the format is detected
  from the bytes; 8-48 kHz, higher rates are resampled to 48 kHz), folders
  (searched recursively for .wav .wave .flac .ogg .oga .mp3) and/or a manifest
  CSV. Multi-channel audio is averaged to mono. The output CSV has the header
  `file,speaker,label,<88 features>`, named and ordered exactly like openSMILE's
  eGeMAPSv02 functionals; speaker and label are empty unless a manifest gives them.

  Files run in parallel. A file that cannot be decoded, or that is shorter than
  60 ms (openSMILE then emits no functionals either), is reported on stderr with
  the reason and gets no row; the others go on. A final summary line gives the
  counts (ok / failed / too short) and the real-time factor. The exit code is 0
  only when every input produced a row.

Examples:
  privox extract data/demo/wav -o features.csv
  privox extract --manifest data/demo/labels.csv -o features.csv --jobs 2
  privox extract call1.flac call2.mp3 -o f.csv --lld-dir llds/";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Audio files and/or folders (searched recursively).
    #[arg(value_name = "AUDIO")]
    pub inputs: Vec<PathBuf>,

    /// Manifest CSV with columns `file,speaker,label` (`emotion` is accepted
    /// for `label`; other columns are ignored). Paths in `file` are relative
    /// to the manifest's folder, e.g. data/demo/labels.csv.
    #[arg(long, value_name = "CSV")]
    pub manifest: Option<PathBuf>,

    /// Output CSV (written atomically: a crash never leaves half a file).
    #[arg(short, long, value_name = "CSV")]
    pub output: PathBuf,

    /// Also write each file's 25 LLDs per 10 ms frame as CSV into this folder
    /// (mirroring the input's relative path, extension .csv).
    #[arg(long, value_name = "DIR")]
    pub lld_dir: Option<PathBuf>,

    /// Files processed in parallel [default: all cores].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Refuse recordings longer than this many seconds (protects memory and
    /// time against corrupt headers).
    #[arg(long, value_name = "SECONDS", default_value_t = 4.0 * 3600.0)]
    pub max_duration: f64,

    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(short, long)]
    pub quiet: bool,
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

/// How [`extract_jobs`] behaves.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Threads; `None` for all cores.
    pub jobs: Option<usize>,
    /// Decoder limits.
    pub decode: DecodeOptions,
    /// Keep each file's LLD frames (for `--lld-dir`).
    pub keep_llds: bool,
    /// Show a progress bar (on stderr, when it is a terminal).
    pub progress: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            jobs: None,
            decode: DecodeOptions::default(),
            keep_llds: false,
            progress: true,
        }
    }
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
    /// `(file, reason)` of files that failed.
    pub failed: Vec<(String, String)>,
    /// `(file, reason)` of files too short for functionals.
    pub too_short: Vec<(String, String)>,
    /// `(file, warning)` for files that decoded with remarks.
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

    /// The one-line summary printed at the end.
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

/// Reads a manifest CSV (`file,speaker,label` or `...,emotion`) into jobs; file
/// paths are resolved against the manifest's folder.
pub fn read_manifest(path: &Path) -> anyhow::Result<Vec<Job>> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot read manifest {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("manifest {} has no header line", path.display()))?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let Some(file_col) = column(&["file", "filename", "path"]) else {
        bail!(
            "manifest {} has no `file` column (header: {}); expected columns file,speaker,label",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(",")
        );
    };
    let speaker_col = column(&["speaker"]);
    let label_col = column(&["label", "emotion"]);
    let mut jobs = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("manifest {} line {}", path.display(), i + 2))?;
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_string();
        let name = get(Some(file_col));
        if name.is_empty() {
            bail!(
                "manifest {} line {}: empty `file` field",
                path.display(),
                i + 2
            );
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
/// into jobs. Files named explicitly are taken whatever their extension.
pub fn collect_jobs(inputs: &[PathBuf], manifest: Option<&Path>) -> anyhow::Result<Vec<Job>> {
    let mut jobs = match manifest {
        Some(m) => read_manifest(m)?,
        None => Vec::new(),
    };
    for input in inputs {
        if input.is_dir() {
            let found = privox_audio::find_audio_files(input);
            for (path, why) in &found.skipped {
                eprintln!("warning: skipped {}: {why}", path.display());
            }
            let files = found.files;
            if files.is_empty() {
                eprintln!(
                    "warning: no audio files ({}) under {}",
                    AUDIO_EXTENSIONS.join(", "),
                    input.display()
                );
            }
            jobs.extend(files.into_iter().map(|p| Job {
                name: p.display().to_string(),
                path: p,
                speaker: String::new(),
                label: String::new(),
            }));
        } else {
            // A missing file becomes a per-file failure, like any other bad input.
            jobs.push(Job {
                name: input.display().to_string(),
                path: input.clone(),
                speaker: String::new(),
                label: String::new(),
            });
        }
    }
    Ok(jobs)
}

/// Decodes and extracts one file (see [`privox_egemaps::file::extract_file`]:
/// blocks are streamed into the extractor, so a long recording is never held
/// in memory, except when it must be resampled).
pub fn extract_one(job: &Job, opts: &ExtractOptions) -> Outcome {
    match extract_file(&job.path, &job.name, &opts.decode) {
        Ok(f) => Outcome::Ok {
            features: f.output.functionals.values().to_vec(),
            audio_secs: f.audio_secs(),
            llds: opts.keep_llds.then_some(f.output.llds),
            warnings: f.warnings,
        },
        // One line per file: the error and its causes (`Report`).
        Err(e @ FileError::TooShort { audio_secs, .. }) => Outcome::TooShort {
            reason: privox_format::Report(&e).to_string(),
            audio_secs,
        },
        Err(e) => Outcome::Failed {
            reason: privox_format::Report(&e).to_string(),
        },
    }
}

fn progress_bar(len: usize, enabled: bool) -> ProgressBar {
    let target = if enabled {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Extracts every job in parallel (rows keep the jobs' order). Failures are
/// printed to stderr as they happen (above the progress bar) and collected.
pub fn extract_jobs(jobs: &[Job], opts: &ExtractOptions) -> anyhow::Result<ExtractReport> {
    let threads = opts.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let bar = progress_bar(jobs.len(), opts.progress);
    let start = Instant::now();
    let outcomes: Vec<Outcome> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let outcome = extract_one(job, opts);
                match &outcome {
                    Outcome::Failed { reason } => bar.suspend(|| eprintln!("failed: {reason}")),
                    Outcome::TooShort { reason, .. } => {
                        bar.suspend(|| eprintln!("too short: {reason}"))
                    }
                    Outcome::Ok { warnings, .. } => {
                        for w in warnings {
                            bar.suspend(|| eprintln!("warning: {}: {w}", job.name));
                        }
                    }
                }
                bar.inc(1);
                outcome
            })
            .collect()
    });
    bar.finish_and_clear();
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
                    .context("internal error: feature count mismatch")?;
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

fn write_llds(dir: &Path, report: &ExtractReport) -> anyhow::Result<usize> {
    let mut seen = HashSet::new();
    let mut written = 0;
    for (name, llds) in report.table.files.iter().zip(&report.llds) {
        let Some(llds) = llds else { continue };
        let path = lld_path(dir, name);
        if !seen.insert(path.clone()) {
            eprintln!(
                "warning: {name}: LLD file {} already written for another input; skipped",
                path.display()
            );
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        let mut bytes = Vec::new();
        llds.write_csv(&mut bytes)?;
        privox_format::write_atomic(&path, &bytes)?;
        written += 1;
    }
    Ok(written)
}

/// Runs `privox extract`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.inputs.is_empty() && args.manifest.is_none() {
        bail!(
            "nothing to extract: give audio files/folders and/or --manifest labels.csv (see `privox extract --help`)"
        );
    }
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if args.max_duration.is_nan() || args.max_duration <= 0.0 {
        bail!("--max-duration must be a positive number of seconds");
    }
    // Fail before the (possibly long) extraction, not after it.
    if let Some(parent) = args.output.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "output folder {} does not exist; create it or choose another -o path",
            parent.display()
        );
    }
    let jobs = collect_jobs(&args.inputs, args.manifest.as_deref())?;
    if jobs.is_empty() {
        bail!("no audio files found in the given inputs");
    }
    let opts = ExtractOptions {
        jobs: args.jobs,
        decode: DecodeOptions {
            max_duration_secs: args.max_duration,
            ..DecodeOptions::default()
        },
        keep_llds: args.lld_dir.is_some(),
        progress: !args.quiet,
    };
    let report = extract_jobs(&jobs, &opts)?;
    report
        .table
        .write_csv(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    if let Some(dir) = &args.lld_dir {
        let n = write_llds(dir, &report)?;
        eprintln!("wrote {n} LLD files to {}", dir.display());
    }
    eprintln!("{}; wrote {}", report.summary(), args.output.display());
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
        assert!(
            read_manifest(&m)
                .unwrap_err()
                .to_string()
                .contains("no `file` column")
        );
    }
}
