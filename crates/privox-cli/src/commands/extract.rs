//! `privox extract`: audio files to a table of the 88 eGeMAPS v02 functionals.
//!
//! The work lives in [`privox_egemaps::batch`] (jobs from inputs and
//! manifests, the parallel loop, LLD files); this module parses the
//! arguments, shows the progress bar, prints per-file problems and the
//! summary, and sets the exit code. [`extract_with_progress`] is shared with
//! `privox demo`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use privox_audio::DecodeOptions;
use privox_egemaps::batch::{self, ExtractOptions, ExtractReport, Job};

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

/// Runs [`batch::extract_jobs`] behind a progress bar (on stderr, when
/// `progress` and stderr is a terminal), then prints each failed, too-short
/// and warned-about file on stderr.
pub fn extract_with_progress(
    jobs: &[Job],
    opts: &ExtractOptions,
    progress: bool,
) -> anyhow::Result<ExtractReport> {
    let bar = progress_bar(jobs.len(), progress);
    let report = batch::extract_jobs(jobs, opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    for (_, reason) in &report.failed {
        eprintln!("failed: {reason}");
    }
    for (_, reason) in &report.too_short {
        eprintln!("too short: {reason}");
    }
    for (name, w) in &report.warnings {
        eprintln!("warning: {name}: {w}");
    }
    Ok(report)
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
    let collected = batch::collect_jobs(&args.inputs, args.manifest.as_deref())?;
    for w in &collected.warnings {
        eprintln!("warning: {w}");
    }
    let jobs = collected.jobs;
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
    };
    let report = extract_with_progress(&jobs, &opts, !args.quiet)?;
    report
        .table
        .write_csv(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    if let Some(dir) = &args.lld_dir {
        let llds = batch::write_llds(dir, &report)?;
        for w in &llds.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!("wrote {} LLD files to {}", llds.written, dir.display());
    }
    eprintln!("{}; wrote {}", report.summary(), args.output.display());
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
