//! Speaker calibration: per-speaker normalisation of features on the client.
//!
//! Emotion in eGeMAPS is mostly a *change* from a speaker's own baseline
//! (habitual pitch, loudness, voice quality). Calibration removes each
//! speaker's baseline before the global [`MinMaxScaler`](crate::MinMaxScaler):
//! every feature of a speaker's recording becomes `(x − center) / scale`, with
//! the center and scale taken from that speaker's own recordings, unlabelled.
//!
//! * [`Calibration::Speaker`]: z-normalisation, center = mean, scale =
//!   standard deviation (population, ddof 0), from running (Welford)
//!   statistics that a client updates one recording at a time and that merge
//!   exactly (Chan et al.), so a streaming update equals a batch fit.
//! * [`Calibration::Robust`]: center = median, scale = IQR / 1.349 (equal to
//!   the standard deviation for normal data). Medians and quartiles have no
//!   exact fixed-size running form, so a robust [`SpeakerStats`] **keeps the
//!   speaker's feature rows** (88 numbers per recording; no approximation).
//!   A feature whose IQR is 0 for a speaker (e.g. mostly-zero voicing
//!   features) falls back to that feature's standard deviation.
//! * A feature that is constant for a speaker (scale 0) maps to 0, like a
//!   constant feature in min-max scaling.
//!
//! **Too few recordings.** Statistics of a speaker with fewer than
//! [`CalibrationOptions::min_recordings`] recordings (default
//! [`DEFAULT_MIN_RECORDINGS`]) are not trusted: that speaker's rows are
//! normalised with the *global* statistics instead (all rows of the table,
//! pooled), which puts them on the same scale as the calibrated rows without
//! removing a speaker baseline (so, after min-max, they are globally scaled).
//! The [`CalibrationReport`] lists them and gives a warning to print.
//!
//! **Privacy.** Calibration runs on the client, before hashing or encryption;
//! statistics and calibration files ([`SpeakerStats::write`], magic
//! `PVXCALB1`) hold the speaker's own feature statistics (and, for the robust
//! mode, feature rows) and are never sent anywhere: no server API takes them.
//!
//! **Evaluation protocol.** Calibration depends only on a speaker's own rows
//! and never on a label, so calibrating a whole table once, then splitting it
//! leave-one-speaker-out, *is* the protocol of a deployment: the held-out
//! speaker is normalised with statistics of their own (unlabelled)
//! recordings, as their client would compute them, and every training
//! speaker with theirs. The global min-max scaler is still fitted per fold on
//! the training speakers only.
//!
//! **When not to use it.** On a corpus whose speakers mostly have recordings
//! of one class only, subtracting the speaker's mean removes the class signal
//! too (see `docs/studies/calibration.md`).
//!
//! ```
//! use privox_data::{Calibration, CalibrationOptions, FeatureTable, calibrate};
//!
//! let csv = "file,speaker,label,f\n\
//!            a,s1,x,1\nb,s1,y,3\nc,s2,x,10\nd,s2,y,30\n";
//! let table = FeatureTable::from_reader(csv.as_bytes()).unwrap();
//! let opts = CalibrationOptions { mode: Calibration::Speaker, min_recordings: 2 };
//! let (cal, report) = calibrate(&table, &opts).unwrap();
//! assert_eq!(cal.x.as_slice(), &[-1.0, 1.0, -1.0, 1.0]);
//! assert!(report.fallback.is_empty());
//! ```

use crate::{DataError, FeatureTable, Matrix};
use privox_format::{Fingerprint, FormatError, Magic, Reader, Writer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Magic of a calibration file (one speaker's statistics).
pub const CALIBRATION_MAGIC: Magic = Magic(*b"PVXCALB1");
/// Calibration file version written by this build.
pub const CALIBRATION_VERSION: u16 = 1;
/// Default minimum number of recordings for a speaker's own statistics.
pub const DEFAULT_MIN_RECORDINGS: usize = 10;
/// IQR of the standard normal distribution: IQR / 1.349 estimates σ.
const NORMAL_IQR: f64 = 1.348_979_500_392_163_5;
/// Upper bounds on what a calibration file may declare.
const MAX_DIM: usize = 1 << 16;
const MAX_KEPT_VALUES: usize = 1 << 28;
const MAX_NAME: usize = 4096;

/// Whether and how features are calibrated per speaker before global scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Calibration {
    /// No calibration: global min-max scaling only (every model before
    /// calibration existed is of this kind).
    #[default]
    None,
    /// Per-speaker z-normalisation (mean and standard deviation).
    Speaker,
    /// Per-speaker robust normalisation (median and IQR / 1.349).
    Robust,
}

impl Calibration {
    /// The name used on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Calibration::None => "none",
            Calibration::Speaker => "speaker",
            Calibration::Robust => "robust",
        }
    }

    /// The byte stored in model files.
    pub fn to_byte(self) -> u8 {
        match self {
            Calibration::None => 0,
            Calibration::Speaker => 1,
            Calibration::Robust => 2,
        }
    }

    /// Reads the byte written by [`Calibration::to_byte`].
    pub fn from_byte(b: u8) -> Result<Self, FormatError> {
        match b {
            0 => Ok(Calibration::None),
            1 => Ok(Calibration::Speaker),
            2 => Ok(Calibration::Robust),
            _ => Err(FormatError::UnknownTag {
                what: "calibration mode",
                found: u64::from(b),
            }),
        }
    }

    /// Fails with [`CalibrationMismatch`] unless `given` (how the input
    /// features were prepared) is what a model trained with `self` expects.
    pub fn require(self, given: Calibration) -> Result<(), CalibrationMismatch> {
        if self == given {
            Ok(())
        } else {
            Err(CalibrationMismatch {
                expected: self,
                given,
            })
        }
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Calibration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Calibration::None),
            "speaker" | "z" | "zscore" => Ok(Calibration::Speaker),
            "robust" => Ok(Calibration::Robust),
            other => Err(format!(
                "unknown calibration {other:?}: use none, speaker (per-speaker mean/std) or robust (per-speaker median/IQR)"
            )),
        }
    }
}

/// A model and its input disagree on speaker calibration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the model expects features with calibration `{expected}` but the input has calibration `{given}`; \
     use --calibration {expected} (or retrain the model with --calibration {given})"
)]
pub struct CalibrationMismatch {
    /// What the model was trained with.
    pub expected: Calibration,
    /// What the input was prepared with.
    pub given: Calibration,
}

/// Running statistics of one speaker's (or a population's) feature rows.
///
/// Mean and sum of squared deviations are updated with Welford's algorithm
/// and merged with Chan et al.'s formula, so `update` row by row, `fit` on a
/// batch and `merge` of partial statistics agree to rounding. With
/// `keep_rows`, the rows themselves are kept too, for the robust mode.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeakerStats {
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
    /// Row-major kept rows (robust mode only).
    kept: Option<Vec<f64>>,
}

impl SpeakerStats {
    /// Empty statistics over `dim` features; `keep_rows` for the robust mode.
    pub fn new(dim: usize, keep_rows: bool) -> Self {
        SpeakerStats {
            count: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
            kept: keep_rows.then(Vec::new),
        }
    }

    /// Statistics of every row of `x` (a batch fit).
    pub fn fit(x: &Matrix, keep_rows: bool) -> Result<Self, DataError> {
        let mut s = SpeakerStats::new(x.cols(), keep_rows);
        for row in x.iter_rows() {
            s.update(row)?;
        }
        Ok(s)
    }

    /// Adds one recording's feature row (a client does this as recordings arrive).
    pub fn update(&mut self, row: &[f64]) -> Result<(), DataError> {
        if row.len() != self.dim() {
            return Err(DataError::FeatureCount {
                expected: self.dim(),
                found: row.len(),
            });
        }
        if let Some(col) = row.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                row: self.count as usize,
                col,
            });
        }
        self.count += 1;
        let n = self.count as f64;
        for ((m, m2), &v) in self.mean.iter_mut().zip(&mut self.m2).zip(row) {
            let d = v - *m;
            *m += d / n;
            *m2 += d * (v - *m);
        }
        if let Some(k) = &mut self.kept {
            k.extend_from_slice(row);
        }
        Ok(())
    }

    /// Merges another speaker's (or another batch's) statistics into these.
    /// Rows are kept only if both sides keep them.
    pub fn merge(&mut self, other: &SpeakerStats) -> Result<(), DataError> {
        if other.dim() != self.dim() {
            return Err(DataError::FeatureCount {
                expected: self.dim(),
                found: other.dim(),
            });
        }
        if other.count == 0 {
            return Ok(());
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for j in 0..self.dim() {
            let d = other.mean[j] - self.mean[j];
            self.mean[j] += d * nb / n;
            self.m2[j] += other.m2[j] + d * d * na * nb / n;
        }
        self.count += other.count;
        match (&mut self.kept, &other.kept) {
            (Some(a), Some(b)) => a.extend_from_slice(b),
            (kept, _) => *kept = None,
        }
        Ok(())
    }

    /// Number of recordings seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Whether the rows are kept (needed for the robust mode).
    pub fn keeps_rows(&self) -> bool {
        self.kept.is_some()
    }

    /// Per-feature mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-feature population variance (ddof 0); zeros before any row.
    pub fn variance(&self) -> Vec<f64> {
        let n = self.count.max(1) as f64;
        self.m2.iter().map(|m2| (m2 / n).max(0.0)).collect()
    }

    /// Per-feature population standard deviation.
    pub fn std(&self) -> Vec<f64> {
        self.variance().into_iter().map(f64::sqrt).collect()
    }

    /// The normaliser these statistics give in `mode` (`None` is the identity).
    pub fn normaliser(&self, mode: Calibration) -> Result<Normaliser, DataError> {
        if self.count == 0 {
            return Err(DataError::NoRows {
                what: "the calibration statistics",
            });
        }
        let d = self.dim();
        match mode {
            Calibration::None => Ok(Normaliser {
                center: vec![0.0; d],
                scale: vec![1.0; d],
            }),
            Calibration::Speaker => Ok(Normaliser {
                center: self.mean.clone(),
                scale: self.std(),
            }),
            Calibration::Robust => {
                let kept = self.kept.as_ref().ok_or(DataError::RobustWithoutRows)?;
                let n = self.count as usize;
                let std = self.std();
                let mut center = Vec::with_capacity(d);
                let mut scale = Vec::with_capacity(d);
                let mut col = Vec::with_capacity(n);
                for j in 0..d {
                    col.clear();
                    col.extend((0..n).map(|i| kept[i * d + j]));
                    col.sort_by(f64::total_cmp);
                    let iqr = quantile(&col, 0.75) - quantile(&col, 0.25);
                    center.push(quantile(&col, 0.5));
                    scale.push(if iqr > 0.0 { iqr / NORMAL_IQR } else { std[j] });
                }
                Ok(Normaliser { center, scale })
            }
        }
    }

    /// The calibration file's bytes (privox-format envelope, magic `PVXCALB1`).
    pub fn to_bytes(&self, speaker: &str) -> Vec<u8> {
        let mut w = Writer::new(
            CALIBRATION_MAGIC,
            CALIBRATION_VERSION,
            Fingerprint::of(&(self.dim() as u64).to_le_bytes()),
        );
        w.put_str(speaker);
        w.put_u64(self.count);
        w.put_f64s(&self.mean);
        w.put_f64s(&self.m2);
        match &self.kept {
            Some(k) => {
                w.put_u8(1);
                w.put_f64s(k);
            }
            None => w.put_u8(0),
        }
        w.finish()
    }

    /// Reads a calibration file's bytes; returns the speaker and the statistics.
    pub fn from_bytes(bytes: &[u8]) -> Result<(String, SpeakerStats), DataError> {
        let mut r = Reader::open(bytes, CALIBRATION_MAGIC, &[CALIBRATION_VERSION])?;
        let speaker = r.get_str(MAX_NAME)?;
        let count = r.get_u64()?;
        let mean = r.get_f64s(MAX_DIM)?;
        let m2 = r.get_f64s(MAX_DIM)?;
        let kept = match r.get_u8()? {
            0 => None,
            1 => Some(r.get_f64s(MAX_KEPT_VALUES)?),
            f => {
                return Err(FormatError::UnknownTag {
                    what: "kept-rows flag",
                    found: u64::from(f),
                }
                .into());
            }
        };
        r.finish()?;
        let d = mean.len();
        let consistent = m2.len() == d
            && mean.iter().chain(&m2).all(|v| v.is_finite())
            && m2.iter().all(|&v| v >= 0.0)
            && kept.as_ref().is_none_or(|k| {
                (k.len() as u64) == count.saturating_mul(d as u64)
                    && k.iter().all(|v| v.is_finite())
            });
        if !consistent {
            return Err(FormatError::Inconsistent {
                what: "calibration statistics (lengths, counts or non-finite values)",
            }
            .into());
        }
        Ok((
            speaker,
            SpeakerStats {
                count,
                mean,
                m2,
                kept,
            },
        ))
    }

    /// Writes one speaker's calibration file (mode 0600: it describes a voice).
    pub fn write(&self, speaker: &str, path: &Path) -> Result<(), DataError> {
        Ok(privox_format::write_secret_atomic(
            path,
            &self.to_bytes(speaker),
        )?)
    }

    /// Reads a calibration file written by [`SpeakerStats::write`].
    pub fn read(path: &Path) -> Result<(String, SpeakerStats), DataError> {
        let bytes = std::fs::read(path).map_err(|cause| DataError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::from_bytes(&bytes)
    }
}

/// Linear-interpolation quantile of sorted, non-empty values (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// A per-feature affine map `(x − center) / scale` (scale 0 maps to 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Normaliser {
    /// Subtracted from each feature.
    pub center: Vec<f64>,
    /// Each feature is divided by it (0: the feature becomes 0).
    pub scale: Vec<f64>,
}

impl Normaliser {
    /// Normalises one row in place.
    pub fn apply_row(&self, row: &mut [f64]) -> Result<(), DataError> {
        if row.len() != self.center.len() {
            return Err(DataError::FeatureCount {
                expected: self.center.len(),
                found: row.len(),
            });
        }
        for ((v, c), s) in row.iter_mut().zip(&self.center).zip(&self.scale) {
            // A scale that is rounding noise next to the center is a constant feature.
            *v = if *s > 0.0 && *s > 1e-12 * c.abs() {
                (*v - c) / s
            } else {
                0.0
            };
        }
        Ok(())
    }
}

/// How to calibrate a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalibrationOptions {
    /// The calibration mode ([`Calibration::None`] leaves the table as it is).
    pub mode: Calibration,
    /// Speakers with fewer recordings fall back to the global statistics.
    pub min_recordings: usize,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            mode: Calibration::None,
            min_recordings: DEFAULT_MIN_RECORDINGS,
        }
    }
}

impl CalibrationOptions {
    /// The given mode with the default minimum count.
    pub fn new(mode: Calibration) -> Self {
        CalibrationOptions {
            mode,
            ..Default::default()
        }
    }
}

/// What [`calibrate`] did, speaker by speaker.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CalibrationReport {
    /// The mode applied.
    pub mode: Calibration,
    /// Speakers normalised with their own statistics, with their recording counts.
    pub calibrated: Vec<(String, u64)>,
    /// Speakers with too few recordings, normalised with the global statistics.
    pub fallback: Vec<(String, u64)>,
    /// The minimum count that was applied.
    pub min_recordings: usize,
}

impl CalibrationReport {
    /// One line to print for the fallback speakers (None when there are none).
    pub fn warning(&self) -> Option<String> {
        if self.fallback.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .fallback
            .iter()
            .map(|(s, n)| format!("{s} ({n})"))
            .collect();
        Some(format!(
            "warning: {} speaker(s) have fewer than {} recordings and are scaled with the global statistics instead of their own (no speaker calibration): {}",
            self.fallback.len(),
            self.min_recordings,
            list.join(", ")
        ))
    }
}

/// Calibrates every row of `table` by its speaker column, with statistics
/// fitted on that speaker's own rows of the table (all of them, whatever
/// their label: labels are never used).
///
/// Returns the calibrated table (same rows, order and columns) and a report.
/// With [`Calibration::None`] the table is returned unchanged.
pub fn calibrate(
    table: &FeatureTable,
    opts: &CalibrationOptions,
) -> Result<(FeatureTable, CalibrationReport), DataError> {
    let stats = fit_speakers(table, opts.mode)?;
    calibrate_with(table, &stats, opts)
}

/// Per-speaker statistics of `table` (rows kept if `mode` is robust).
pub fn fit_speakers(
    table: &FeatureTable,
    mode: Calibration,
) -> Result<BTreeMap<String, SpeakerStats>, DataError> {
    let keep = mode == Calibration::Robust;
    let mut stats: BTreeMap<String, SpeakerStats> = BTreeMap::new();
    for (i, s) in table.speakers.iter().enumerate() {
        stats
            .entry(s.clone())
            .or_insert_with(|| SpeakerStats::new(table.x.cols(), keep))
            .update(table.x.row(i))
            .map_err(|e| match e {
                DataError::NonFinite { col, .. } => DataError::NonFinite { row: i, col },
                e => e,
            })?;
    }
    Ok(stats)
}

/// Calibrates `table` with the given per-speaker statistics (for example a
/// client's calibration files). Every speaker of the table must have
/// statistics; speakers below the minimum count, and the global fallback,
/// use all the given statistics pooled.
pub fn calibrate_with(
    table: &FeatureTable,
    stats: &BTreeMap<String, SpeakerStats>,
    opts: &CalibrationOptions,
) -> Result<(FeatureTable, CalibrationReport), DataError> {
    let mut report = CalibrationReport {
        mode: opts.mode,
        min_recordings: opts.min_recordings,
        ..Default::default()
    };
    if opts.mode == Calibration::None {
        return Ok((table.clone(), report));
    }
    let mut normalisers: BTreeMap<&str, Option<Normaliser>> = BTreeMap::new();
    for s in table.speakers.iter() {
        if normalisers.contains_key(s.as_str()) {
            continue;
        }
        let st = stats.get(s).ok_or_else(|| DataError::NoSpeakerStats {
            speaker: Some(s.clone()),
        })?;
        if st.dim() != table.x.cols() {
            return Err(DataError::FeatureCount {
                expected: table.x.cols(),
                found: st.dim(),
            });
        }
        if (st.count() as usize) < opts.min_recordings.max(1) {
            report.fallback.push((s.clone(), st.count()));
            normalisers.insert(s.as_str(), None);
        } else {
            report.calibrated.push((s.clone(), st.count()));
            normalisers.insert(s.as_str(), Some(st.normaliser(opts.mode)?));
        }
    }
    let global = if report.fallback.is_empty() {
        None
    } else {
        let mut pooled: Option<SpeakerStats> = None;
        for st in stats.values() {
            match &mut pooled {
                None => pooled = Some(st.clone()),
                Some(g) => g.merge(st)?,
            }
        }
        let pooled = pooled.ok_or(DataError::NoSpeakerStats { speaker: None })?;
        Some(pooled.normaliser(opts.mode)?)
    };
    let mut out = table.clone();
    for i in 0..out.len() {
        let own = normalisers
            .get(out.speakers[i].as_str())
            .and_then(Option::as_ref);
        // Every speaker has an entry; `None` entries exist only when `global` is Some.
        if let Some(n) = own.or(global.as_ref()) {
            n.apply_row(out.x.row_mut(i))?;
        }
    }
    Ok((out, report))
}

/// The file name of a speaker's calibration file in a client's folder
/// (`<speaker>.pvxcal`, with characters other than ASCII letters, digits,
/// `-` and `_` written as `%XX`).
pub fn calibration_file_name(speaker: &str) -> String {
    let mut s = String::new();
    for b in speaker.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push_str(".pvxcal");
    s
}

/// Adds `table`'s rows to the calibration files in `dir` (one per speaker,
/// created when missing), as a client does when recordings arrive. Returns
/// the updated statistics of the table's speakers. `keep_rows` (robust mode)
/// applies to new files; an existing file keeps its own kind.
pub fn update_calibration_dir(
    dir: &Path,
    table: &FeatureTable,
    keep_rows: bool,
) -> Result<BTreeMap<String, SpeakerStats>, DataError> {
    std::fs::create_dir_all(dir).map_err(|cause| DataError::Io {
        path: dir.to_path_buf(),
        cause,
    })?;
    let mut out: BTreeMap<String, SpeakerStats> = BTreeMap::new();
    for (i, s) in table.speakers.iter().enumerate() {
        if !out.contains_key(s) {
            let path = dir.join(calibration_file_name(s));
            let st = if path.exists() {
                let (name, st) = SpeakerStats::read(&path)?;
                check_name(&path, &name, s)?;
                st
            } else {
                SpeakerStats::new(table.x.cols(), keep_rows)
            };
            out.insert(s.clone(), st);
        }
        let st = out.get_mut(s).ok_or_else(|| DataError::NoSpeakerStats {
            speaker: Some(s.clone()),
        })?;
        st.update(table.x.row(i))?;
    }
    for (s, st) in &out {
        st.write(s, &dir.join(calibration_file_name(s)))?;
    }
    Ok(out)
}

/// Reads the calibration files of `speakers` from `dir`.
pub fn read_calibration_dir<'a>(
    dir: &Path,
    speakers: impl IntoIterator<Item = &'a String>,
) -> Result<BTreeMap<String, SpeakerStats>, DataError> {
    let mut out = BTreeMap::new();
    for s in speakers {
        if out.contains_key(s) {
            continue;
        }
        let path: PathBuf = dir.join(calibration_file_name(s));
        let (name, st) = SpeakerStats::read(&path)?;
        check_name(&path, &name, s)?;
        out.insert(s.clone(), st);
    }
    Ok(out)
}

fn check_name(path: &Path, found: &str, expected: &str) -> Result<(), DataError> {
    if found != expected {
        return Err(DataError::StatsSpeakerMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found: found.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(&str, &[f64])]) -> FeatureTable {
        let d = rows[0].1.len();
        let mut t = FeatureTable::new((0..d).map(|j| format!("f{j}")).collect());
        for (i, (s, x)) in rows.iter().enumerate() {
            t.push(format!("r{i}"), s.to_string(), "x".into(), x)
                .unwrap();
        }
        t
    }

    fn lcg_rows(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                (0..d)
                    .map(|j| {
                        s = s
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (s >> 11) as f64 / (1u64 << 53) as f64 * 100.0 + 1e4 * j as f64
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn streaming_update_equals_batch_fit_and_merge() {
        let rows = lcg_rows(57, 5, 7);
        let x = Matrix::from_rows(&rows).unwrap();
        let batch = SpeakerStats::fit(&x, true).unwrap();
        // Two-pass reference.
        for j in 0..5 {
            let m = rows.iter().map(|r| r[j]).sum::<f64>() / 57.0;
            let v = rows.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / 57.0;
            assert!((batch.mean()[j] - m).abs() < 1e-9 * m.abs().max(1.0));
            assert!((batch.variance()[j] - v).abs() < 1e-9 * v.max(1.0));
        }
        // Row by row, in three sessions saved to and read back from a file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.pvxcal");
        let mut s = SpeakerStats::new(5, true);
        for (k, r) in rows.iter().enumerate() {
            s.update(r).unwrap();
            if k == 10 || k == 40 {
                s.write("spk", &path).unwrap();
                let (name, back) = SpeakerStats::read(&path).unwrap();
                assert_eq!(name, "spk");
                assert_eq!(back, s);
                s = back;
            }
        }
        assert_eq!(s.count(), 57);
        for j in 0..5 {
            assert!((s.mean()[j] - batch.mean()[j]).abs() < 1e-9 * batch.mean()[j].abs());
            assert!((s.variance()[j] - batch.variance()[j]).abs() < 1e-9 * batch.variance()[j]);
        }
        // Merge of two halves.
        let mut a = SpeakerStats::fit(&Matrix::from_rows(&rows[..20]).unwrap(), true).unwrap();
        let b = SpeakerStats::fit(&Matrix::from_rows(&rows[20..]).unwrap(), true).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.count(), 57);
        for j in 0..5 {
            assert!((a.mean()[j] - batch.mean()[j]).abs() < 1e-9 * batch.mean()[j].abs());
            assert!((a.variance()[j] - batch.variance()[j]).abs() < 1e-9 * batch.variance()[j]);
        }
        // The robust normaliser depends only on the rows, not on their order of arrival.
        assert_eq!(
            a.normaliser(Calibration::Robust).unwrap(),
            batch.normaliser(Calibration::Robust).unwrap()
        );
    }

    #[test]
    fn z_and_robust_normalise_each_speaker_by_its_own_rows() {
        let t = table(&[
            ("a", &[1.0, 5.0]),
            ("a", &[2.0, 5.0]),
            ("a", &[3.0, 5.0]),
            ("a", &[100.0, 5.0]),
            ("b", &[10.0, 0.0]),
            ("b", &[20.0, 1.0]),
            ("b", &[30.0, 2.0]),
            ("b", &[40.0, 3.0]),
        ]);
        let opts = CalibrationOptions {
            mode: Calibration::Speaker,
            min_recordings: 4,
        };
        let (z, rep) = calibrate(&t, &opts).unwrap();
        assert_eq!(rep.calibrated.len(), 2);
        assert!(rep.warning().is_none());
        // Each speaker's calibrated column has mean 0 and std 1 (constant → 0).
        for sp in [0..4, 4..8] {
            let col: Vec<f64> = sp.clone().map(|i| z.x.row(i)[0]).collect();
            let m = col.iter().sum::<f64>() / 4.0;
            let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0;
            assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12);
        }
        assert!((0..4).all(|i| z.x.row(i)[1] == 0.0));
        // Robust: median 2.5 and IQR (3.0 − 1.75 = 24.25 − … ) from speaker a's rows.
        let (r, _) = calibrate(
            &t,
            &CalibrationOptions {
                mode: Calibration::Robust,
                ..opts
            },
        )
        .unwrap();
        let sorted = [1.0, 2.0, 3.0, 100.0];
        let (q1, med, q3) = (
            quantile(&sorted, 0.25),
            quantile(&sorted, 0.5),
            quantile(&sorted, 0.75),
        );
        assert_eq!((q1, med, q3), (1.75, 2.5, 27.25));
        let want = (1.0 - med) / ((q3 - q1) / NORMAL_IQR);
        assert!((r.x.row(0)[0] - want).abs() < 1e-12);
        // Labels never matter: relabelling changes nothing.
        let mut relabelled = t.clone();
        relabelled.labels = (0..8).map(|i| format!("l{}", i % 3)).collect();
        assert_eq!(calibrate(&relabelled, &opts).unwrap().0.x, z.x);
        // None is the identity.
        let (same, _) = calibrate(&t, &CalibrationOptions::default()).unwrap();
        assert_eq!(same, t);
    }

    #[test]
    fn too_few_recordings_fall_back_to_global_statistics_with_a_warning() {
        let t = table(&[
            ("a", &[1.0]),
            ("a", &[3.0]),
            ("a", &[5.0]),
            ("b", &[10.0]),
            ("b", &[30.0]),
        ]);
        let opts = CalibrationOptions {
            mode: Calibration::Speaker,
            min_recordings: 3,
        };
        let (c, rep) = calibrate(&t, &opts).unwrap();
        assert_eq!(rep.calibrated, vec![("a".to_string(), 3)]);
        assert_eq!(rep.fallback, vec![("b".to_string(), 2)]);
        let w = rep.warning().unwrap();
        assert!(w.contains("fewer than 3") && w.contains("b (2)"), "{w}");
        // a: own statistics (mean 3, std sqrt(8/3)).
        assert!((c.x.row(0)[0] - (1.0 - 3.0) / (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // b: the global statistics of all five rows (mean 9.8).
        let all = [1.0, 3.0, 5.0, 10.0, 30.0];
        let m = all.iter().sum::<f64>() / 5.0;
        let sd = (all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert!((c.x.row(3)[0] - (10.0 - m) / sd).abs() < 1e-12);
        // Every speaker below the minimum: global statistics for all.
        let (g, rep) = calibrate(
            &t,
            &CalibrationOptions {
                min_recordings: 10,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(rep.fallback.len(), 2);
        assert!((g.x.row(0)[0] - (1.0 - m) / sd).abs() < 1e-12);
    }

    #[test]
    fn calibration_files_round_trip_and_are_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let t = table(&[
            ("a/b", &[1.0, 2.0]),
            ("c", &[3.0, 4.0]),
            ("a/b", &[5.0, 1.0]),
        ]);
        let first = update_calibration_dir(dir.path(), &t, false).unwrap();
        assert_eq!(first["a/b"].count(), 2);
        assert!(dir.path().join("a%2Fb.pvxcal").exists());
        let again = update_calibration_dir(dir.path(), &t, false).unwrap();
        assert_eq!(again["a/b"].count(), 4);
        let read = read_calibration_dir(dir.path(), &t.speakers).unwrap();
        assert_eq!(read, again);
        let (via_files, _) = calibrate_with(
            &t,
            &read,
            &CalibrationOptions {
                mode: Calibration::Speaker,
                min_recordings: 1,
            },
        )
        .unwrap();
        assert!(via_files.x.as_slice().iter().all(|v| v.is_finite()));
        // Robust calibration refuses statistics without rows.
        assert!(matches!(
            read["c"].normaliser(Calibration::Robust),
            Err(DataError::RobustWithoutRows)
        ));
        let mut bytes = read["c"].to_bytes("c");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(SpeakerStats::from_bytes(&bytes).is_err());
        assert!(matches!(
            read_calibration_dir(dir.path(), &["zz".to_string()]),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn mismatch_is_a_typed_error_both_ways() {
        let e = Calibration::Speaker.require(Calibration::None).unwrap_err();
        assert_eq!(e.expected, Calibration::Speaker);
        assert!(e.to_string().contains("--calibration speaker"), "{e}");
        assert!(Calibration::None.require(Calibration::Robust).is_err());
        assert!(Calibration::Robust.require(Calibration::Robust).is_ok());
        for c in [Calibration::None, Calibration::Speaker, Calibration::Robust] {
            assert_eq!(Calibration::from_byte(c.to_byte()).unwrap(), c);
            assert_eq!(c.name().parse::<Calibration>().unwrap(), c);
        }
        assert!("zz".parse::<Calibration>().is_err());
        assert!(Calibration::from_byte(9).is_err());
    }
}
