//! Feature tables (CSV) and labelled datasets.

use crate::{DataError, Matrix};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The three leading columns of a feature table; the rest are features.
const ID_COLUMNS: usize = 3;

/// A feature table: one row per recording, `file,speaker,label,<features...>`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureTable {
    /// Column names of the features.
    pub feature_names: Vec<String>,
    /// The `file` column.
    pub files: Vec<String>,
    /// The `speaker` column.
    pub speakers: Vec<String>,
    /// The `label` column.
    pub labels: Vec<String>,
    /// The features, one row per recording.
    pub x: Matrix,
}

impl FeatureTable {
    /// An empty table with the given feature columns.
    pub fn new(feature_names: Vec<String>) -> Self {
        let cols = feature_names.len();
        FeatureTable {
            feature_names,
            files: Vec::new(),
            speakers: Vec::new(),
            labels: Vec::new(),
            x: Matrix::zeros(0, cols),
        }
    }

    /// Appends one row. The feature count must match the header.
    pub fn push(
        &mut self,
        file: String,
        speaker: String,
        label: String,
        features: &[f64],
    ) -> Result<(), DataError> {
        if features.len() != self.feature_names.len() {
            return Err(DataError::FeatureCount {
                expected: self.feature_names.len(),
                found: features.len(),
            });
        }
        let mut data = std::mem::replace(&mut self.x, Matrix::zeros(0, 0)).into_vec();
        data.extend_from_slice(features);
        self.x = Matrix::new(self.files.len() + 1, self.feature_names.len(), data)?;
        self.files.push(file);
        self.speakers.push(speaker);
        self.labels.push(label);
        Ok(())
    }

    /// Number of recordings.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the table has no recordings.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Reads a feature-table CSV. The third column may be named `label` or
    /// `emotion` (the openSMILE oracle CSVs use the latter).
    pub fn read_csv(path: &Path) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|cause| DataError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::read_from(file, path)
    }

    /// Reads a feature table from any reader (for tests and stdin).
    pub fn from_reader<R: Read>(reader: R) -> Result<Self, DataError> {
        Self::read_from(reader, Path::new("<input>"))
    }

    fn read_from<R: Read>(reader: R, path: &Path) -> Result<Self, DataError> {
        let csv_err = |e: csv::Error| DataError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        let header = rdr.headers().map_err(csv_err)?.clone();
        let names: Vec<&str> = header.iter().collect();
        let expected = ["file", "speaker"];
        if names.len() < ID_COLUMNS
            || names[..2] != expected
            || !(names[2] == "label" || names[2] == "emotion")
        {
            return Err(DataError::Csv {
                path: path.to_path_buf(),
                message: format!(
                    "header must start with file,speaker,label (or emotion), found {:?}",
                    names.iter().take(ID_COLUMNS).collect::<Vec<_>>()
                ),
            });
        }
        let feature_names: Vec<String> =
            names[ID_COLUMNS..].iter().map(|s| s.to_string()).collect();
        let d = feature_names.len();
        let mut table = FeatureTable::new(feature_names);
        let mut data = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map_or(0, |p| p.line());
            let bad = |message: String| DataError::BadRow {
                path: path.to_path_buf(),
                line,
                message,
            };
            if rec.len() != ID_COLUMNS + d {
                return Err(bad(format!(
                    "{} fields, header has {}",
                    rec.len(),
                    ID_COLUMNS + d
                )));
            }
            for (j, field) in rec.iter().skip(ID_COLUMNS).enumerate() {
                let v: f64 = field.trim().parse().map_err(|_| {
                    bad(format!(
                        "column {:?}: {field:?} is not a number",
                        table.feature_names[j]
                    ))
                })?;
                data.push(v);
            }
            table.files.push(rec[0].to_string());
            table.speakers.push(rec[1].to_string());
            table.labels.push(rec[2].to_string());
        }
        table.x = Matrix::new(table.files.len(), d, data)?;
        Ok(table)
    }

    /// Writes the table as CSV, atomically (a crash never leaves half a file).
    pub fn write_csv(&self, path: &Path) -> Result<(), DataError> {
        let bytes = self.to_csv_bytes()?;
        Ok(privox_format::write_atomic(path, &bytes)?)
    }

    /// The CSV text of the table. Floats use Rust's shortest round-trip form.
    pub fn to_csv_bytes(&self) -> Result<Vec<u8>, DataError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| DataError::Csv {
            path: PathBuf::from("<output>"),
            message: e.to_string(),
        };
        let mut header = vec!["file", "speaker", "label"];
        header.extend(self.feature_names.iter().map(String::as_str));
        w.write_record(&header).map_err(err)?;
        let mut rec: Vec<String> = Vec::with_capacity(header.len());
        for i in 0..self.len() {
            rec.clear();
            rec.push(self.files[i].clone());
            rec.push(self.speakers[i].clone());
            rec.push(self.labels[i].clone());
            rec.extend(self.x.row(i).iter().map(|v| v.to_string()));
            w.write_record(&rec).map_err(err)?;
        }
        w.into_inner().map_err(|e| DataError::Csv {
            path: PathBuf::from("<output>"),
            message: e.to_string(),
        })
    }

    /// Keeps the rows whose label is in `classes` and numbers them.
    ///
    /// Fails if no row remains or a feature value is not finite.
    pub fn to_dataset(&self, classes: &ClassSet) -> Result<Dataset, DataError> {
        let keep: Vec<usize> = (0..self.len())
            .filter(|&i| classes.index_of(&self.labels[i]).is_some())
            .collect();
        if keep.is_empty() {
            return Err(DataError::NoClassRows {
                classes: classes.names().to_vec(),
                present: distinct(&self.labels),
            });
        }
        let x = self.x.select_rows(&keep);
        x.check_finite()?;
        let mut speakers = crate::SpeakerIndex::new();
        let groups = speakers.intern_all(keep.iter().map(|&i| self.speakers[i].as_str()));
        // Present by construction of `keep`.
        let y = keep
            .iter()
            .map(|&i| classes.index_of(&self.labels[i]).unwrap_or(0))
            .collect();
        let group_names = speakers.into_names();
        Ok(Dataset {
            x,
            y,
            groups,
            group_names,
            files: keep.iter().map(|&i| self.files[i].clone()).collect(),
            classes: classes.clone(),
            feature_names: self.feature_names.clone(),
        })
    }
}

fn distinct(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The ordered set of class names; a label's class index is its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassSet {
    names: Vec<String>,
}

impl ClassSet {
    /// The paper's binary task: `neutral` (0) against `angry` (1).
    pub fn neutral_angry() -> Self {
        ClassSet {
            names: vec!["neutral".into(), "angry".into()],
        }
    }

    /// Any label set; at least two distinct names.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Result<Self, DataError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if distinct(&names).len() != names.len() || names.len() < 2 {
            return Err(DataError::TooFewClasses { names });
        }
        Ok(ClassSet { names })
    }

    /// Class names, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of class `label`, if it is one of the classes.
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.names.iter().position(|n| n == label)
    }
}

/// Numeric features with class indices and speaker groups.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The features, one row per recording.
    pub x: Matrix,
    /// Class index of each row, into `classes`.
    pub y: Vec<usize>,
    /// Speaker index of each row, into `group_names`.
    pub groups: Vec<usize>,
    /// Speaker names, by group index.
    pub group_names: Vec<String>,
    /// The recording of each row.
    pub files: Vec<String>,
    /// The classes `y` indexes.
    pub classes: ClassSet,
    /// Column names of the features.
    pub feature_names: Vec<String>,
}

impl Dataset {
    /// The rows at `idx` (group names are kept whole, so indices stay valid).
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            x: self.x.select_rows(idx),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            groups: idx.iter().map(|&i| self.groups[i]).collect(),
            group_names: self.group_names.clone(),
            files: idx.iter().map(|&i| self.files[i].clone()).collect(),
            classes: self.classes.clone(),
            feature_names: self.feature_names.clone(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes.len()];
        for &y in &self.y {
            c[y] += 1;
        }
        c
    }

    /// Fails unless at least two classes are present: every classifier needs that.
    pub fn require_two_classes(&self) -> Result<(), DataError> {
        if self.is_empty() {
            return Err(DataError::NoRows {
                what: "the training set",
            });
        }
        let present = self.class_counts().iter().filter(|&&c| c > 0).count();
        if present < 2 {
            return Err(DataError::SingleClass {
                class: self.classes.names()[self.y[0]].clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str =
        "file,speaker,emotion,a,b\nx.wav,s1,neutral,1,2\ny.wav,s2,angry,3,4.5\nz.wav,s2,sad,0,0\n";

    #[test]
    fn reads_oracle_style_and_round_trips() {
        let t = FeatureTable::from_reader(CSV.as_bytes()).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.feature_names, vec!["a", "b"]);
        let bytes = t.to_csv_bytes().unwrap();
        let back = FeatureTable::from_reader(&bytes[..]).unwrap();
        assert_eq!(back, t);
        let d = t.to_dataset(&ClassSet::neutral_angry()).unwrap();
        assert_eq!(d.y, vec![0, 1]);
        assert_eq!(d.groups, vec![0, 1]);
        assert_eq!(d.class_counts(), vec![1, 1]);
    }

    #[test]
    fn bad_rows_are_reported_with_line() {
        let bad = "file,speaker,label,a\nx,s,neutral,abc\n";
        let e = FeatureTable::from_reader(bad.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let bad_header = "name,speaker,label,a\n";
        assert!(FeatureTable::from_reader(bad_header.as_bytes()).is_err());
        let short = "file,speaker,label,a,b\nx,s,neutral,1\n";
        assert!(FeatureTable::from_reader(short.as_bytes()).is_err());
    }

    #[test]
    fn single_class_and_nan_are_refused() {
        let t =
            FeatureTable::from_reader("file,speaker,label,a\nx,s,neutral,1\n".as_bytes()).unwrap();
        let d = t.to_dataset(&ClassSet::neutral_angry()).unwrap();
        assert!(d.require_two_classes().is_err());
        let t = FeatureTable::from_reader("file,speaker,label,a\nx,s,neutral,NaN\n".as_bytes())
            .unwrap();
        assert!(matches!(
            t.to_dataset(&ClassSet::neutral_angry()),
            Err(DataError::NonFinite { .. })
        ));
        let t = FeatureTable::from_reader("file,speaker,label,a\nx,s,sad,1\n".as_bytes()).unwrap();
        assert!(t.to_dataset(&ClassSet::neutral_angry()).is_err());
    }
}
