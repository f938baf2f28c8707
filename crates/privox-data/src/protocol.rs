//! Speaker-independent evaluation, one protocol for every model.
//!
//! A model plugs in through two traits in the spirit of linfa's
//! `Fit`/`Predict`, over *row indices* of a [`Labelled`] data set rather
//! than copies of it: a learner can then precompute something over all rows
//! once (a distance matrix, hashes) and every fold only picks rows.
//!
//! * [`Labelled`]: labels, speakers and class names of a data set. Records
//!   stay the model's business ([`Dataset`] holds features; SMH code sets
//!   implement the trait in `privox-svm`).
//! * [`Fit`] trains on some rows and returns a [`Predict`] model;
//!   [`Predict`] classifies other rows and names the hyper-parameters its
//!   fitting chose (the inner search's pick, for reports).
//! * [`OuterSplit`]: leave-one-speaker-out, grouped k-fold or a fixed split;
//!   [`InnerSplit`]: the speaker-grouped folds a learner searches on.
//! * [`evaluate`]: fit on every outer training part, predict its held-out
//!   speakers, pool: per-fold and pooled confusion, accuracy and UAR.
//!
//! ```
//! use privox_data::protocol::{evaluate, Fit, Labelled, OuterSplit, Predict};
//! use privox_data::{DataError, Dataset, FeatureTable, ClassSet};
//!
//! /// Predicts the majority class of the training rows.
//! struct Majority;
//! struct Constant(usize);
//! impl Fit<Dataset> for Majority {
//!     type Model = Constant;
//!     type Error = DataError;
//!     fn fit(&self, data: &Dataset, rows: &[usize]) -> Result<Constant, DataError> {
//!         let mut counts = vec![0; data.n_classes()];
//!         rows.iter().for_each(|&i| counts[data.y[i]] += 1);
//!         Ok(Constant((0..counts.len()).max_by_key(|&c| counts[c]).unwrap_or(0)))
//!     }
//! }
//! impl Predict<Dataset> for Constant {
//!     type Error = DataError;
//!     fn predict(&self, _: &Dataset, rows: &[usize]) -> Result<Vec<usize>, DataError> {
//!         Ok(vec![self.0; rows.len()])
//!     }
//! }
//!
//! let csv = "file,speaker,label,f\n\
//!            a,s1,neutral,1\nb,s1,angry,2\nc,s1,angry,3\n\
//!            d,s2,neutral,1\ne,s2,angry,2\nf,s2,angry,3\n";
//! let data = FeatureTable::from_reader(csv.as_bytes())?.to_dataset(&ClassSet::neutral_angry())?;
//! let folds = OuterSplit::LeaveOneSpeakerOut.folds(&data)?;
//! let eval = evaluate(&Majority, &data, &folds, &|| {})?;
//! assert_eq!(eval.folds.len(), 2);
//! assert!((eval.pooled.accuracy() - 4.0 / 6.0).abs() < 1e-12);
//! assert!((eval.pooled.uar() - 0.5).abs() < 1e-12);
//! # Ok::<(), DataError>(())
//! ```

use crate::{ConfusionMatrix, DataError, Dataset, Fold, group_k_fold, leave_one_group_out};
use rayon::prelude::*;
use std::collections::HashMap;

/// Labels and speakers of a set of examples, whatever their records are.
pub trait Labelled {
    /// Class index of every row, into [`Labelled::class_names`].
    fn labels(&self) -> &[usize];
    /// Speaker index of every row, into [`Labelled::speaker_names`].
    fn speakers(&self) -> &[usize];
    /// Speaker names by index.
    fn speaker_names(&self) -> &[String];
    /// Class names by index.
    fn class_names(&self) -> &[String];
    /// Number of rows.
    fn n_rows(&self) -> usize {
        self.labels().len()
    }
    /// Number of classes.
    fn n_classes(&self) -> usize {
        self.class_names().len()
    }
}

impl Labelled for Dataset {
    fn labels(&self) -> &[usize] {
        &self.y
    }
    fn speakers(&self) -> &[usize] {
        &self.groups
    }
    fn speaker_names(&self) -> &[String] {
        &self.group_names
    }
    fn class_names(&self) -> &[String] {
        self.classes.names()
    }
}

/// Speaker names numbered in order of first appearance: the one place a
/// speaker column becomes group indices.
#[derive(Clone, Debug, Default)]
pub struct SpeakerIndex {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl SpeakerIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `name`, numbering it if it is new.
    pub fn intern(&mut self, name: &str) -> usize {
        if let Some(&g) = self.index.get(name) {
            return g;
        }
        let g = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), g);
        g
    }

    /// Numbers every name of a column; returns the group of each row.
    pub fn intern_all<'a>(&mut self, column: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
        column.into_iter().map(|s| self.intern(s)).collect()
    }

    /// The index of `name`, if it has been seen.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Names by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The names, consuming the index.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }

    /// Number of distinct speakers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no speaker has been seen.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Fails with [`DataError::RowOutOfRange`] if a row index is not a row of
/// `data`: folds and row lists come from callers (or files), and indexing
/// with a bad one would panic.
pub fn check_rows<D: Labelled + ?Sized>(data: &D, rows: &[usize]) -> Result<(), DataError> {
    match rows.iter().find(|&&r| r >= data.n_rows()) {
        Some(&row) => Err(DataError::RowOutOfRange {
            row,
            rows: data.n_rows(),
        }),
        None => Ok(()),
    }
}

/// Number of distinct speakers among `rows` (every row must be in range,
/// see [`check_rows`]).
pub fn count_speakers<D: Labelled + ?Sized>(data: &D, rows: &[usize]) -> usize {
    let mut g: Vec<usize> = rows.iter().map(|&i| data.speakers()[i]).collect();
    g.sort_unstable();
    g.dedup();
    g.len()
}

/// How the data is split into training and held-out speakers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OuterSplit {
    /// One fold per speaker, holding that speaker out.
    LeaveOneSpeakerOut,
    /// `k` speaker-grouped folds, speakers assigned with `seed`.
    GroupKFold {
        /// Number of folds (2 ≤ k ≤ speakers).
        k: usize,
        /// Seed of the speaker assignment.
        seed: u64,
    },
    /// One given train/test partition (e.g. [`crate::fixed_split_from_file`]).
    Fixed(Fold),
}

impl OuterSplit {
    /// The folds over `data`'s rows (global indices). Every fold trains on
    /// at least one speaker and tests at least one.
    pub fn folds<D: Labelled + ?Sized>(&self, data: &D) -> Result<Vec<Fold>, DataError> {
        let speakers = count_speakers(data, &(0..data.n_rows()).collect::<Vec<_>>());
        let folds = match self {
            OuterSplit::LeaveOneSpeakerOut => {
                if speakers < 2 {
                    return Err(DataError::TooFewSpeakers {
                        what: "leave-one-speaker-out",
                        needed: 2,
                        found: speakers,
                    });
                }
                leave_one_group_out(data.speakers(), data.speaker_names())
            }
            OuterSplit::GroupKFold { k, seed } => group_k_fold(data.speakers(), *k, *seed)?,
            OuterSplit::Fixed(f) => {
                check_rows(data, &f.train)?;
                check_rows(data, &f.test)?;
                if f.train.is_empty() || f.test.is_empty() {
                    return Err(DataError::EmptySplitPart {
                        train: f.train.len(),
                        test: f.test.len(),
                    });
                }
                vec![f.clone()]
            }
        };
        Ok(folds)
    }
}

/// The speaker-grouped folds an inner search (hyper-parameters, epochs)
/// runs on, inside one outer training part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerSplit {
    /// Folds wanted; fewer when the training part has fewer speakers.
    pub folds: usize,
    /// Seed of the speaker assignment.
    pub seed: u64,
}

impl InnerSplit {
    /// Speaker-grouped folds over `rows`, in global row indices. The fold
    /// count is clamped to `[2, speakers in rows]`; fewer than two speakers
    /// is an error (nothing could be held out).
    pub fn folds<D: Labelled + ?Sized>(
        &self,
        data: &D,
        rows: &[usize],
    ) -> Result<Vec<Fold>, DataError> {
        check_rows(data, rows)?;
        let speakers = count_speakers(data, rows);
        if speakers < 2 {
            return Err(DataError::TooFewSpeakers {
                what: "an inner speaker-grouped split",
                needed: 2,
                found: speakers,
            });
        }
        let groups: Vec<usize> = rows.iter().map(|&i| data.speakers()[i]).collect();
        Ok(
            group_k_fold(&groups, self.folds.clamp(2, speakers), self.seed)?
                .into_iter()
                .map(|f| Fold {
                    name: f.name,
                    train: f.train.iter().map(|&p| rows[p]).collect(),
                    test: f.test.iter().map(|&p| rows[p]).collect(),
                })
                .collect(),
        )
    }
}

/// What a search maximizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Metric {
    /// Unweighted average recall (mean per-class recall).
    #[default]
    Uar,
    /// Fraction of correct predictions.
    Accuracy,
}

impl Metric {
    /// The metric of a confusion matrix.
    pub fn score(self, cm: &ConfusionMatrix) -> f64 {
        match self {
            Metric::Uar => cm.uar(),
            Metric::Accuracy => cm.accuracy(),
        }
    }
}

/// Trains a model on some rows of a data set.
pub trait Fit<D: ?Sized> {
    /// The trained model.
    type Model: Predict<D, Error = Self::Error>;
    /// Training and prediction errors.
    type Error: From<DataError>;
    /// Fits on `rows` (global indices into `data`); any inner search uses
    /// these rows only.
    fn fit(&self, data: &D, rows: &[usize]) -> Result<Self::Model, Self::Error>;
}

/// Classifies rows of a data set.
pub trait Predict<D: ?Sized> {
    /// Prediction errors.
    type Error;
    /// The class index of each of `rows`.
    fn predict(&self, data: &D, rows: &[usize]) -> Result<Vec<usize>, Self::Error>;
    /// Hyper-parameters the fit chose, `(name, value)`, for reports.
    fn chosen(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// One outer fold's held-out result.
#[derive(Clone, Debug)]
pub struct FoldResult {
    /// The fold's name (the held-out speaker for LOSO).
    pub name: String,
    /// The held-out rows (global indices).
    pub rows: Vec<usize>,
    /// Predicted class of each held-out row.
    pub predictions: Vec<usize>,
    /// Confusion of the held-out rows.
    pub confusion: ConfusionMatrix,
    /// What the fit chose ([`Predict::chosen`]).
    pub chosen: Vec<(String, f64)>,
}

/// Per-fold and pooled results of an evaluation.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// One result per outer fold, in fold order.
    pub folds: Vec<FoldResult>,
    /// Every held-out prediction pooled.
    pub pooled: ConfusionMatrix,
}

impl Evaluation {
    /// Pools fold results.
    pub fn from_folds(n_classes: usize, folds: Vec<FoldResult>) -> Result<Self, DataError> {
        let mut pooled = ConfusionMatrix::new(n_classes);
        for f in &folds {
            pooled.merge(&f.confusion)?;
        }
        Ok(Evaluation { folds, pooled })
    }

    /// Mean and standard deviation over folds of `metric`, in [0, 1].
    pub fn per_fold(&self, metric: Metric) -> (f64, f64) {
        let v: Vec<f64> = self
            .folds
            .iter()
            .map(|f| metric.score(&f.confusion))
            .collect();
        crate::mean_std(&v)
    }
}

/// Fits `learner` on every fold's training rows and predicts its test rows
/// (folds in parallel); `progress` is called once per finished fold.
pub fn evaluate<D, L>(
    learner: &L,
    data: &D,
    folds: &[Fold],
    progress: &(dyn Fn() + Sync),
) -> Result<Evaluation, L::Error>
where
    D: Labelled + Sync + ?Sized,
    L: Fit<D> + Sync,
    L::Error: Send,
{
    let n_classes = data.n_classes();
    for f in folds {
        check_rows(data, &f.train)?;
        check_rows(data, &f.test)?;
    }
    let results = folds
        .par_iter()
        .map(|f| {
            let model = learner.fit(data, &f.train)?;
            let predictions = model.predict(data, &f.test)?;
            let truth: Vec<usize> = f.test.iter().map(|&i| data.labels()[i]).collect();
            let confusion = ConfusionMatrix::from_predictions(n_classes, &truth, &predictions)?;
            progress();
            Ok(FoldResult {
                name: f.name.clone(),
                rows: f.test.clone(),
                predictions,
                confusion,
                chosen: model.chosen(),
            })
        })
        .collect::<Result<Vec<_>, L::Error>>()?;
    Ok(Evaluation::from_folds(n_classes, results)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassSet, Matrix};

    fn data(speakers: usize) -> Dataset {
        let n = speakers * 4;
        Dataset {
            x: Matrix::from_rows(&(0..n).map(|i| vec![i as f64]).collect::<Vec<_>>()).unwrap(),
            y: (0..n).map(|i| i % 2).collect(),
            groups: (0..n).map(|i| i / 4).collect(),
            group_names: (0..speakers).map(|s| format!("s{s}")).collect(),
            files: (0..n).map(|i| format!("{i}.wav")).collect(),
            classes: ClassSet::neutral_angry(),
            feature_names: vec!["f".into()],
        }
    }

    #[test]
    fn inner_folds_stay_inside_the_rows_and_group_speakers() {
        let d = data(5);
        let rows: Vec<usize> = (4..20).collect(); // speakers 1..4
        let folds = InnerSplit { folds: 3, seed: 7 }.folds(&d, &rows).unwrap();
        assert_eq!(folds.len(), 3);
        for f in &folds {
            assert!(f.train.iter().chain(&f.test).all(|i| rows.contains(i)));
            for &t in &f.test {
                assert!(f.train.iter().all(|&r| d.groups[r] != d.groups[t]));
            }
        }
        // Clamped to the speakers present.
        let two = InnerSplit { folds: 9, seed: 0 }
            .folds(&d, &rows[..8])
            .unwrap();
        assert_eq!(two.len(), 2);
        assert!(matches!(
            InnerSplit { folds: 3, seed: 0 }.folds(&d, &rows[..4]),
            Err(DataError::TooFewSpeakers { found: 1, .. })
        ));
    }

    #[test]
    fn outer_splits_check_their_input() {
        let d = data(3);
        assert_eq!(OuterSplit::LeaveOneSpeakerOut.folds(&d).unwrap().len(), 3);
        assert!(matches!(
            OuterSplit::LeaveOneSpeakerOut.folds(&data(1)),
            Err(DataError::TooFewSpeakers { .. })
        ));
        let bad = Fold {
            name: "x".into(),
            train: vec![0],
            test: vec![99],
        };
        assert!(OuterSplit::Fixed(bad).folds(&d).is_err());
        assert_eq!(
            OuterSplit::GroupKFold { k: 3, seed: 1 }
                .folds(&d)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn rows_outside_the_data_are_typed_errors_not_panics() {
        let d = data(3);
        assert!(matches!(
            InnerSplit { folds: 2, seed: 0 }.folds(&d, &[0, 99]),
            Err(DataError::RowOutOfRange { row: 99, rows: 12 })
        ));
        struct Never;
        impl Fit<Dataset> for Never {
            type Model = Constant;
            type Error = DataError;
            fn fit(&self, _: &Dataset, _: &[usize]) -> Result<Constant, DataError> {
                unreachable!("evaluate must reject the folds before fitting")
            }
        }
        struct Constant;
        impl Predict<Dataset> for Constant {
            type Error = DataError;
            fn predict(&self, _: &Dataset, rows: &[usize]) -> Result<Vec<usize>, DataError> {
                Ok(vec![0; rows.len()])
            }
        }
        let bad = [Fold {
            name: "x".into(),
            train: vec![0, 1],
            test: vec![12],
        }];
        assert!(matches!(
            evaluate(&Never, &d, &bad, &|| {}),
            Err(DataError::RowOutOfRange { row: 12, rows: 12 })
        ));
    }

    #[test]
    fn speaker_index_numbers_in_first_seen_order() {
        let mut s = SpeakerIndex::new();
        assert_eq!(s.intern_all(["b", "a", "b", "c"]), vec![0, 1, 0, 2]);
        assert_eq!(s.names(), ["b", "a", "c"]);
        assert_eq!(s.get("c"), Some(2));
        assert_eq!(s.get("z"), None);
    }
}
