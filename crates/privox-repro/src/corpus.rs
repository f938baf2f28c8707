//! A corpus folder and its feature tables.

use privox_data::FeatureTable;
use privox_egemaps::batch::{ExtractOptions, Job, extract_jobs, read_manifest};
use std::path::{Path, PathBuf};

use crate::{ReproError, Result, RunOptions, corpus_name};

/// The reference (openSMILE) feature file inside a corpus folder.
pub const REFERENCE_CSV: &str = "egemaps_v02_opensmile.csv";
/// The labels file (`file,speaker,label`, paths relative to the folder).
pub const LABELS_CSV: &str = "labels.csv";
/// Sub-folder of OUT caching privox's own features (git-ignored).
pub const FEATURE_CACHE_DIR: &str = "features-cache";

/// When privox's own extractor runs on a corpus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PrivoxFeatures {
    /// Only when the corpus has no reference CSV.
    #[default]
    WhenNoReference,
    /// Always (beside the reference features when present).
    Always,
    /// Never (a corpus without a reference CSV is then an error).
    Never,
}

/// A corpus folder: `egemaps_v02_opensmile.csv` (reference features) and/or
/// `labels.csv` (`file,speaker,label`) listing audio files to extract.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The folder's name, e.g. `emodb`; names the corpus in reports.
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
}

/// One feature table of a corpus.
#[derive(Clone, Debug)]
pub struct FeatureSet {
    /// `opensmile` (the reference CSV) or `privox` (privox's extractor).
    pub name: String,
    /// The table (file, speaker, label, 88 features).
    pub table: FeatureTable,
}

impl Corpus {
    /// A corpus folder; an error when it holds neither file.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Corpus> {
        let dir = dir.into();
        if !dir.join(REFERENCE_CSV).is_file() && !dir.join(LABELS_CSV).is_file() {
            return Err(ReproError::EmptyCorpus { dir });
        }
        Ok(Corpus {
            name: corpus_name(&dir),
            dir,
        })
    }

    /// `<dir>/egemaps_v02_opensmile.csv` when present.
    pub fn reference_csv(&self) -> Option<PathBuf> {
        Some(self.dir.join(REFERENCE_CSV)).filter(|p| p.is_file())
    }

    /// `<dir>/labels.csv` when present.
    pub fn labels_csv(&self) -> Option<PathBuf> {
        Some(self.dir.join(LABELS_CSV)).filter(|p| p.is_file())
    }

    /// The corpus's feature tables as `opts.privox_features` asks: the
    /// reference CSV when present, privox's own features (extracted once,
    /// then read from `OUT/features-cache/`) where asked for.
    pub fn feature_sets(&self, opts: &RunOptions) -> Result<Vec<FeatureSet>> {
        let mut sets = Vec::new();
        let reference = self.reference_csv();
        if let Some(csv) = &reference {
            sets.push(FeatureSet {
                name: "opensmile".into(),
                table: read_table(&self.name, csv)?,
            });
        }
        let want_privox = match opts.privox_features {
            PrivoxFeatures::Always => true,
            PrivoxFeatures::WhenNoReference => reference.is_none(),
            PrivoxFeatures::Never => false,
        };
        if want_privox {
            sets.push(FeatureSet {
                name: "privox".into(),
                table: self.privox_features(opts)?,
            });
        }
        if sets.is_empty() {
            return Err(ReproError::EmptyCorpus {
                dir: self.dir.clone(),
            });
        }
        Ok(sets)
    }

    /// privox's own features of every file in `labels.csv`, extracted in
    /// parallel by [`privox_egemaps::batch`] and cached as
    /// `OUT/features-cache/<name>-privox.csv` (reused while newer than
    /// `labels.csv`). Files that yield no features are left out with a
    /// console line; none at all is an error.
    pub fn privox_features(&self, opts: &RunOptions) -> Result<FeatureTable> {
        let labels = self.labels_csv().ok_or_else(|| ReproError::EmptyCorpus {
            dir: self.dir.clone(),
        })?;
        let cache_dir = opts.out.join(FEATURE_CACHE_DIR);
        let cache = cache_dir.join(format!("{}-privox.csv", self.name));
        if is_newer(&cache, &labels) {
            return read_table(&self.name, &cache);
        }
        let jobs = read_labels(&labels)?;
        let bar = opts.bar(jobs.len(), format!("{} extract", self.name));
        let report =
            extract_jobs(&jobs, &ExtractOptions::default(), &|| bar.inc(1)).map_err(|source| {
                ReproError::Extraction {
                    corpus: self.name.clone(),
                    source,
                }
            })?;
        bar.finish_and_clear();
        for (file, reason) in report.failed.iter().chain(&report.too_short) {
            opts.say(format!("{}: skipped {file}: {reason}", self.name));
        }
        if report.table.is_empty() {
            return Err(ReproError::NothingExtracted {
                path: labels,
                failed: report.failed.len() + report.too_short.len(),
            });
        }
        std::fs::create_dir_all(&cache_dir).map_err(ReproError::io(&cache_dir))?;
        let ignore = cache_dir.join(".gitignore");
        if !ignore.exists() {
            privox_format::write_atomic(&ignore, b"*\n").map_err(ReproError::write(&ignore))?;
        }
        let bytes = report
            .table
            .to_csv_bytes()
            .map_err(ReproError::data(format!("writing {}", cache.display())))?;
        privox_format::write_atomic(&cache, &bytes).map_err(ReproError::write(&cache))?;
        Ok(report.table)
    }
}

/// Reads a feature CSV of corpus `name`.
fn read_table(name: &str, csv: &Path) -> Result<FeatureTable> {
    FeatureTable::read_csv(csv).map_err(ReproError::data(format!(
        "reading features of {name} from {}",
        csv.display()
    )))
}

/// True when `a` exists and was modified after `b`.
fn is_newer(a: &Path, b: &Path) -> bool {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((m(a), m(b)), (Some(x), Some(y)) if x >= y)
}

/// Reads `labels.csv` as extraction jobs (the manifest reader of `privox
/// extract`); leave-one-speaker-out needs a speaker on every row.
fn read_labels(path: &Path) -> Result<Vec<Job>> {
    let jobs = read_manifest(path).map_err(|source| ReproError::Labels {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(job) = jobs.iter().find(|j| j.speaker.is_empty()) {
        return Err(ReproError::NoSpeaker {
            path: path.to_path_buf(),
            file: job.name.clone(),
        });
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_features_or_labels_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Corpus::open(dir.path()),
            Err(ReproError::EmptyCorpus { .. })
        ));
    }

    #[test]
    fn labels_need_a_speaker_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LABELS_CSV);
        std::fs::write(&p, "file,label\na.wav,angry\n").unwrap();
        assert!(matches!(read_labels(&p), Err(ReproError::NoSpeaker { .. })));
    }
}
