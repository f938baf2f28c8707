//! Reproduction of the paper's tables and figures: the experiments, their
//! JSON run records, the Markdown reports and the SVG plots behind
//! `privox repro`.
//!
//! # How a phase plugs in
//!
//! A phase is one table or figure (or a group that shares its expensive
//! part, like Tables 1/2 + Δ tuning + the frontier). Its module exposes one
//! [`Phase`] constant, `PHASE`:
//!
//! * [`Phase::name`] is a short slug (`hashing`, `smh-curve`, …): it names the
//!   phase's progress bar, its line in the time summary, and its run record
//!   `OUT/runs/<name>.json`.
//! * [`Phase::run`] gets every [`Corpus`] and the shared [`RunOptions`]
//!   (output folder, `quick`, key seeds, progress on/off) and returns a
//!   [`PhaseOutput`]: its parameters as JSON, the files it wrote (data
//!   records, Markdown, SVG) and any notes. Features come from
//!   [`Corpus::feature_sets`] (reference CSV and/or privox's own extractor,
//!   cached under OUT); progress bars from [`RunOptions::bar`]; console lines
//!   from [`RunOptions::say`]. Markdown goes through [`report::put_block`] so
//!   hand-written text around the generated blocks survives.
//! * [`run_phases`] runs the phases in order, times each (wall and process
//!   CPU) and writes each phase's [`record::PhaseRecord`] (seeds, crate
//!   versions, parameters, timings, host threads, command line, UTC start
//!   and end, load average) with [`record::write_record`], then the run
//!   summary `OUT/README.md` ([`summary`]). [`phases`] is the ordered list
//!   the umbrella `privox repro` runs; a new phase is one more entry there.
//!
//! Nothing here parses arguments or exits: errors are [`ReproError`]s with
//! their causes chained as `source`.

pub mod calibration;
pub mod corpus;
mod error;
pub mod hashing;
pub mod plot;
pub mod polynomials;
pub mod record;
pub mod report;
pub mod smh_curve;
pub mod summary;
pub mod table4;
pub mod table4_encrypted;

pub use corpus::{Corpus, FeatureSet, PrivoxFeatures};
pub use error::{ReproError, Result};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options shared by every phase of one run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Output folder: Markdown and SVG at the top, JSON under sub-folders.
    pub out: PathBuf,
    /// Reduced settings that finish in minutes (each phase documents its own).
    pub quick: bool,
    /// SMH key seeds (and seeds of the other randomised phases), in order.
    pub seeds: Vec<u64>,
    /// When privox's own features are extracted for a corpus.
    pub privox_features: PrivoxFeatures,
    /// Progress bars and console lines on (off in tests).
    pub progress: bool,
    /// The command line recorded in every run record.
    pub command: String,
}

impl RunOptions {
    /// Options with defaults: not quick, seeds 1, 2, 3, privox features only
    /// where a corpus has no reference CSV, progress on, the process's command line.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        RunOptions {
            out: out.into(),
            quick: false,
            seeds: vec![1, 2, 3],
            privox_features: PrivoxFeatures::WhenNoReference,
            progress: true,
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// The phase settings of this run: `quick()` with `--quick`, else `full()`.
    pub fn pick<T>(&self, quick: impl FnOnce() -> T, full: impl FnOnce() -> T) -> T {
        if self.quick { quick() } else { full() }
    }

    /// A progress bar of `len` steps labelled `prefix` (hidden without `progress`).
    pub fn bar(&self, len: usize, prefix: impl Into<String>) -> ProgressBar {
        let target = if self.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let pb = ProgressBar::with_draw_target(Some(len as u64), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>24} [{elapsed_precise}] {bar:40} {pos}/{len} ETA {eta}",
        ) {
            pb.set_style(style);
        }
        pb.set_prefix(prefix.into());
        pb
    }

    /// Prints one console line (nothing without `progress`).
    pub fn say(&self, line: impl AsRef<str>) {
        if self.progress {
            println!("{}", line.as_ref());
        }
    }
}

/// What a phase returns to [`run_phases`].
#[derive(Clone, Debug, Default)]
pub struct PhaseOutput {
    /// The phase's parameters (grids, sizes, …), stored in its run record.
    pub parameters: serde_json::Value,
    /// Files written (data records, Markdown, SVG).
    pub files: Vec<PathBuf>,
    /// Lines worth showing in the summary (e.g. skipped corpora).
    pub notes: Vec<String>,
}

impl PhaseOutput {
    /// An output whose parameters are `parameters` serialized; `what`
    /// names them in the error (e.g. "the Fig. 1 parameters").
    pub fn new(
        what: &str,
        parameters: &impl serde::Serialize,
        files: Vec<PathBuf>,
        notes: Vec<String>,
    ) -> Result<PhaseOutput> {
        Ok(PhaseOutput {
            parameters: serde_json::to_value(parameters).map_err(|source| ReproError::Json {
                what: what.into(),
                source,
            })?,
            files,
            notes,
        })
    }
}

/// One phase's line of the run summary.
#[derive(Clone, Debug)]
pub struct PhaseReport {
    /// The phase's name.
    pub name: String,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds (all threads) spent during the phase.
    pub cpu_s: f64,
    /// The phase's run record and every other file it wrote.
    pub records: Vec<PathBuf>,
    /// The phase's notes.
    pub notes: Vec<String>,
}

/// One table or figure of the paper (see the crate docs): a name, a line
/// saying what it reproduces, and the function that runs it.
#[derive(Clone, Copy, Debug)]
pub struct Phase {
    /// Short slug naming the phase, its record and its summary line.
    pub name: &'static str,
    /// One line saying what the phase reproduces.
    pub describe: &'static str,
    /// Runs the phase on every corpus.
    pub run: fn(&[Corpus], &RunOptions) -> Result<PhaseOutput>,
}

/// The phases of the umbrella `privox repro`, in the order they run.
pub fn phases() -> Vec<Phase> {
    vec![
        smh_curve::PHASE,
        hashing::PHASE,
        polynomials::PHASE,
        table4::PHASE,
        table4_encrypted::PHASE,
        // After hashing and table4: reuses their uncalibrated rows.
        calibration::PHASE,
    ]
}

/// Runs `phases` in order on `corpora`: times each, writes its run record
/// `OUT/runs/<name>.json`, then the run summary `OUT/README.md` (see
/// [`summary`]), and returns one report per phase.
pub fn run_phases(
    phases: &[Phase],
    corpora: &[Corpus],
    opts: &RunOptions,
) -> Result<Vec<PhaseReport>> {
    let mut reports = Vec::with_capacity(phases.len());
    for phase in phases {
        opts.say(format!("== {}: {}", phase.name, phase.describe));
        let (clock, started) = (Stopwatch::start(), report::utc_now());
        let output = (phase.run)(corpora, opts)?;
        let (wall_s, cpu_s) = (clock.wall_s(), clock.cpu_s());
        let record =
            record::PhaseRecord::new(phase.name, corpora, opts, &output, started, wall_s, cpu_s);
        let path = opts
            .out
            .join(record::RUNS_DIR)
            .join(format!("{}.json", phase.name));
        record::write_record(&path, &record)?;
        let mut records = vec![path];
        records.extend(output.files);
        reports.push(PhaseReport {
            name: phase.name.to_string(),
            wall_s,
            cpu_s,
            records,
            notes: output.notes,
        });
    }
    let names: Vec<&str> = phases.iter().map(|p| p.name).collect();
    summary::write(&opts.out, &names)?;
    Ok(reports)
}

/// Most key seeds one run may ask for: each seed reruns the whole grid, so
/// thousands would take weeks (and a huge count would exhaust memory first).
pub const MAX_SEEDS: u64 = 1000;

/// The key seeds FIRST, FIRST+1, …: at least one, at most [`MAX_SEEDS`], no overflow.
pub fn key_seeds(first: u64, count: u64) -> Result<Vec<u64>> {
    if !(1..=MAX_SEEDS).contains(&count) {
        return Err(ReproError::SeedCount {
            count,
            max: MAX_SEEDS,
        });
    }
    let last = first
        .checked_add(count - 1)
        .ok_or(ReproError::SeedOverflow { first, count })?;
    Ok((first..=last).collect())
}

/// The name of a corpus folder: its last path component (after resolving `..`).
pub fn corpus_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}

/// Wall-clock and process CPU time (user + system, all threads) since it
/// was started: the one clock behind every timing of this crate. CPU time is
/// reported next to wall time because the machines are shared.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Option<cpu_time::ProcessTime>,
}

impl Stopwatch {
    /// Starts both clocks.
    pub fn start() -> Self {
        Stopwatch {
            wall: Instant::now(),
            // None where the OS has no process CPU clock: CPU time reads 0.
            cpu: cpu_time::ProcessTime::try_now().ok(),
        }
    }

    /// Wall-clock seconds since [`Stopwatch::start`].
    pub fn wall_s(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }

    /// Process CPU seconds since [`Stopwatch::start`] (0 without a CPU clock).
    pub fn cpu_s(&self) -> f64 {
        self.cpu
            .and_then(|c| c.try_elapsed().ok())
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// Synthetic corpora for the unit tests of the phases.
#[cfg(test)]
pub(crate) mod test_data {
    use privox_data::{ClassSet, Dataset, Matrix};

    /// `speakers` speakers of 12 rows each (classes alternate), `features`
    /// columns; `value(speaker, class, jitter, feature)` gives each cell,
    /// with a deterministic jitter in [-0.5, 0.5).
    pub(crate) fn speakers(
        speakers: usize,
        features: usize,
        value: impl Fn(usize, usize, f64, usize) -> f64,
    ) -> Dataset {
        let (mut rows, mut y, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..speakers {
            for i in 0..12usize {
                let class = i % 2;
                let jitter = ((s * 31 + i * 17) % 11) as f64 / 11.0 - 0.5;
                rows.push(
                    (0..features)
                        .map(|f| value(s, class, jitter, f))
                        .collect::<Vec<f64>>(),
                );
                y.push(class);
                groups.push(s);
            }
        }
        Dataset {
            // Every row has `features` finite values: the matrix is well formed.
            x: Matrix::from_rows(&rows).expect("rectangular rows"),
            files: (0..y.len()).map(|i| format!("f{i}.wav")).collect(),
            y,
            groups,
            group_names: (0..speakers).map(|s| format!("s{s}")).collect(),
            classes: ClassSet::neutral_angry(),
            feature_names: (0..features).map(|f| format!("x{f}")).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_seeds_are_consecutive_and_never_overflow() {
        assert_eq!(key_seeds(5, 3).unwrap(), vec![5, 6, 7]);
        assert_eq!(key_seeds(u64::MAX, 1).unwrap(), vec![u64::MAX]);
        assert!(matches!(key_seeds(1, 0), Err(ReproError::SeedCount { .. })));
        assert!(key_seeds(1, u64::MAX).is_err());
        assert!(matches!(
            key_seeds(u64::MAX, 2),
            Err(ReproError::SeedOverflow { .. })
        ));
    }
}

#[cfg(test)]
mod clock_tests {
    use super::Stopwatch;

    #[test]
    fn stopwatch_counts_cpu_of_busy_work() {
        let clock = Stopwatch::start();
        let mut x = 0u64;
        while clock.wall_s() < 0.05 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        assert!(clock.wall_s() >= 0.05);
        assert!(clock.cpu_s() > 0.0, "a busy loop uses CPU time");
    }
}
