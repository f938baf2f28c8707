//! Speaker calibration on the client: the shared `--calibration` option of
//! every verb that scales a feature table, and `privox calibrate` (keep one
//! calibration file per speaker, update it as recordings arrive, apply it).
//!
//! The logic lives in `privox_data::calibration`; this module only parses,
//! wires and prints.

use anyhow::{Context, Result};
use privox_data::{
    Calibration, CalibrationOptions, DEFAULT_MIN_RECORDINGS, FeatureTable, calibrate,
    calibrate_with, read_calibration_dir, update_calibration_dir,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// The calibration option shared by `privox svm`, `smh hash`, `smh tune`,
/// `nn`, `he encrypt` / `he eval` and `repro hashing`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrationArgs {
    /// Per-speaker calibration before the global min-max scaling: `none`,
    /// `speaker` (z-normalise each speaker by the mean and std of their own
    /// recordings) or `robust` (median and IQR). Uses the speaker column
    /// only, never the labels; done on the client, nothing is sent. Do not
    /// use it when speakers mostly have recordings of one class only.
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub calibration: Calibration,
    /// Speakers with fewer recordings are not calibrated with their own
    /// statistics but with the global ones (a warning lists them).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_RECORDINGS)]
    pub min_recordings: usize,
    /// Take each speaker's statistics from the calibration files in DIR
    /// (`privox calibrate update`) instead of the table's own rows.
    #[arg(long, value_name = "DIR")]
    pub calibration_dir: Option<PathBuf>,
}

impl Default for CalibrationArgs {
    fn default() -> Self {
        CalibrationArgs {
            calibration: Calibration::None,
            min_recordings: DEFAULT_MIN_RECORDINGS,
            calibration_dir: None,
        }
    }
}

impl CalibrationArgs {
    /// The library options.
    pub fn options(&self) -> CalibrationOptions {
        CalibrationOptions {
            mode: self.calibration,
            min_recordings: self.min_recordings,
        }
    }

    /// Calibrates `table` (unchanged with `none`), printing the warning for
    /// speakers with too few recordings on stderr.
    pub fn apply(&self, table: FeatureTable) -> Result<FeatureTable> {
        if self.calibration == Calibration::None {
            return Ok(table);
        }
        let (out, report) = match &self.calibration_dir {
            None => calibrate(&table, &self.options())?,
            Some(dir) => {
                let stats = read_calibration_dir(dir, &table.speakers)
                    .with_context(|| format!("reading calibration files in {}", dir.display()))?;
                calibrate_with(&table, &stats, &self.options())?
            }
        };
        if let Some(w) = report.warning() {
            eprintln!("{w}");
        }
        Ok(out)
    }
}

/// Keep and apply per-speaker calibration files (client side only).
///
/// A client keeps one calibration file per speaker (`<speaker>.pvxcal`, mode
/// 0600) with running statistics of that speaker's recordings, updates it as
/// recordings arrive, and calibrates features with it before hashing or
/// encrypting. The files never leave the client.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  privox calibrate update --features new.csv --dir calib/                   add recordings to each speaker's file
  privox calibrate update --features new.csv --dir calib/ --keep-rows       keep rows too (needed for --calibration robust)
  privox calibrate apply  --features f.csv --calibration speaker -o cal.csv  each speaker by their own rows in f.csv
  privox calibrate apply  --features f.csv --calibration speaker --calibration-dir calib/ -o cal.csv")]
pub struct Args {
    #[command(subcommand)]
    pub command: CalibrateCommand,
}

/// The `privox calibrate` verbs.
#[derive(Debug, clap::Subcommand)]
pub enum CalibrateCommand {
    /// Add a feature table's recordings to the speakers' calibration files.
    Update {
        /// Feature table (`privox extract` output); labels are ignored.
        #[arg(long, value_name = "CSV")]
        features: PathBuf,
        /// Folder of calibration files (created when missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Keep the feature rows in new files (the robust mode needs them).
        #[arg(long)]
        keep_rows: bool,
    },
    /// Write the calibrated feature table (for other tools).
    Apply {
        /// Feature table to calibrate.
        #[arg(long, value_name = "CSV")]
        features: PathBuf,
        #[command(flatten)]
        calibration: CalibrationArgs,
        /// Output feature table CSV.
        #[arg(short, long, value_name = "CSV")]
        output: PathBuf,
    },
}

/// Runs `privox calibrate`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        CalibrateCommand::Update {
            features,
            dir,
            keep_rows,
        } => {
            let table = FeatureTable::read_csv(&features)
                .with_context(|| format!("reading {}", features.display()))?;
            let stats = update_calibration_dir(&dir, &table, keep_rows)
                .with_context(|| format!("updating calibration files in {}", dir.display()))?;
            for (s, st) in &stats {
                println!(
                    "{s}: {} recordings{}",
                    st.count(),
                    if (st.count() as usize) < DEFAULT_MIN_RECORDINGS {
                        format!(
                            " (fewer than {DEFAULT_MIN_RECORDINGS}: global scaling until more arrive)"
                        )
                    } else {
                        String::new()
                    }
                );
            }
            println!(
                "updated {} calibration file(s) in {} (client side: never send them)",
                stats.len(),
                dir.display()
            );
        }
        CalibrateCommand::Apply {
            features,
            calibration,
            output,
        } => {
            let table = FeatureTable::read_csv(&features)
                .with_context(|| format!("reading {}", features.display()))?;
            let out = calibration.apply(table)?;
            out.write_csv(&output)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "wrote {} rows calibrated with `{}` to {}",
                out.len(),
                calibration.calibration,
                output.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
