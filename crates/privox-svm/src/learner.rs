//! The SVM as a learner of the workspace's evaluation protocol
//! ([`privox_data::protocol`]): [`SvmLearner`] implements [`Fit`] for
//! feature sets ([`Dataset`], RBF kernel on min-max scaled features) and
//! for SMH code sets ([`CodeDataset`], RBF-Hamming kernel), and the fitted
//! [`SvmFit`] (an [`SvmModel`] plus the search that chose its (C, γ))
//! implements [`Predict`].
//!
//! (C, γ) are fixed or chosen per fit by an inner speaker-grouped grid search
//! ([`Tuning::Search`]: [`InnerSplit`] folds over the training rows only, the
//! one [`Metric`], a [`Grid`] of absolute log2 values). Features are scaled by
//! a min-max scaler fitted on the training rows ([`InnerScaling`] says whether
//! the inner search refits it on each inner training part). A code set keeps
//! the symmetric Hamming matrix of all its codes once computed
//! ([`CodeDataset::hamming`]), so every fold, grid point and repeated
//! evaluation reads the same counts.
//!
//! LOSO evaluation of an RBF SVM with an inner grid:
//!
//! ```
//! # use privox_data::{ClassSet, FeatureTable};
//! # let mut csv = String::from("file,speaker,label,f1,f2\n");
//! # for s in 0..4 { for i in 0..6 { let a = i % 2; csv += &format!("{s}{i}.wav,s{s},{},{},{}\n",
//! #     ["neutral", "angry"][a], a as f64 + 0.1 * i as f64, s as f64 * 0.05 - a as f64); } }
//! # let data = FeatureTable::from_reader(csv.as_bytes())?.to_dataset(&ClassSet::neutral_angry())?;
//! use privox_data::{evaluate, OuterSplit};
//! let learner = privox_svm::SvmLearner::grid_search(privox_svm::Grid::default(), 3);
//! let eval = evaluate(&learner, &data, &OuterSplit::LeaveOneSpeakerOut.folds(&data)?, &|| {})?;
//! # assert!(eval.pooled.accuracy() > 0.9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same on SMH codes of the feature table (hashed with the training
//! rows' scaler; the RBF-Hamming kernel reads one Hamming matrix):
//!
//! ```
//! # use privox_data::{ClassSet, FeatureTable, MinMaxScaler, OuterSplit, evaluate};
//! # use privox_smh::{SmhKey, SmhParams};
//! # use privox_svm::{CodeDataset, Grid, SvmLearner};
//! # let mut csv = String::from("file,speaker,label,f1,f2\n");
//! # for s in 0..4 { for i in 0..6 { let a = i % 2; csv += &format!("{s}{i}.wav,s{s},{},{},{}\n",
//! #     ["neutral", "angry"][a], a as f64 + 0.1 * i as f64, s as f64 * 0.05 - a as f64); } }
//! # let table = FeatureTable::from_reader(csv.as_bytes())?;
//! let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 32, table.x.cols())?, 1);
//! let codes = privox_smh::hash_table(&key, &table, Some(&MinMaxScaler::fit(&table.x)?))?;
//! let data = CodeDataset::from_table(&codes, &ClassSet::neutral_angry())?;
//! let grid = Grid { log2_c: Grid::range(-1.0, 7.0, 2.0), log2_gamma: Grid::range(-1.0, 7.0, 2.0) };
//! let learner = SvmLearner::grid_search(grid, 3);
//! let eval = evaluate(&learner, &data, &OuterSplit::LeaveOneSpeakerOut.folds(&data)?, &|| {})?;
//! # assert!(eval.pooled.accuracy() > 0.7, "{}", eval.pooled);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::SvmError;
use crate::grid::{Grid, GridResult, GridSearch, grid_search, grid_search_per_fold};
use crate::kernel::{HammingMatrix, HammingRbfKernel, RbfKernel};
use crate::model::SvmModel;
use crate::svc::SvcParams;
use privox_data::{
    ClassSet, Dataset, Fit, Fold, InnerSplit, Labelled, Metric, MinMaxScaler, Predict,
    SpeakerIndex, check_rows,
};
use privox_smh::{CodeTable, Codes, hamming_counts_symmetric};
use std::sync::{Arc, OnceLock};

/// SMH codes with their labels and speakers: the code counterpart of
/// [`Dataset`] for the evaluation protocol.
#[derive(Debug)]
pub struct CodeDataset {
    /// The codes, one per row.
    pub codes: Codes,
    /// Class index of each row.
    pub y: Vec<usize>,
    /// Speaker index of each row.
    pub groups: Vec<usize>,
    /// Speaker names by index.
    pub group_names: Vec<String>,
    /// Recording of each row (may be empty).
    pub files: Vec<String>,
    /// Class names by index.
    pub class_names: Vec<String>,
    hamming: OnceLock<HammingMatrix>,
}

impl CodeDataset {
    /// The rows of a code file whose label is one of `classes`, speakers
    /// numbered by [`SpeakerIndex`] in order of first appearance.
    pub fn from_table(table: &CodeTable, classes: &ClassSet) -> Result<Self, SvmError> {
        let n = table.codes.len();
        for (missing, col) in [("labels", &table.labels), ("speakers", &table.speakers)] {
            if col.len() != n {
                return Err(SvmError::Unlabelled { missing, codes: n });
            }
        }
        let keep: Vec<usize> = (0..n)
            .filter(|&i| classes.index_of(&table.labels[i]).is_some())
            .collect();
        let y = keep
            .iter()
            // Invariant: `keep` holds only rows whose label has an index.
            .map(|&i| classes.index_of(&table.labels[i]).unwrap_or(0))
            .collect();
        let mut speakers = SpeakerIndex::new();
        let groups = speakers.intern_all(keep.iter().map(|&i| table.speakers[i].as_str()));
        let files = if table.files.len() == n {
            keep.iter().map(|&i| table.files[i].clone()).collect()
        } else {
            Vec::new()
        };
        Ok(CodeDataset {
            codes: table.codes.select(&keep)?,
            y,
            groups,
            group_names: speakers.into_names(),
            files,
            class_names: classes.names().to_vec(),
            hamming: OnceLock::new(),
        })
    }

    /// A code set from its parts; `y` and `groups` have one entry per code.
    pub fn new(
        codes: Codes,
        y: Vec<usize>,
        groups: Vec<usize>,
        group_names: Vec<String>,
        class_names: Vec<String>,
    ) -> Result<Self, SvmError> {
        for (what, len) in [("labels", y.len()), ("speakers", groups.len())] {
            if len != codes.len() {
                return Err(SvmError::LengthMismatch {
                    what,
                    expected: codes.len(),
                    found: len,
                });
            }
        }
        if let Some((position, &class)) =
            y.iter().enumerate().find(|(_, c)| **c >= class_names.len())
        {
            return Err(SvmError::ClassOutOfRange {
                position,
                class,
                n_classes: class_names.len(),
            });
        }
        if let Some(&g) = groups.iter().find(|&&g| g >= group_names.len()) {
            return Err(SvmError::IndexOutOfRange {
                index: g,
                size: group_names.len(),
            });
        }
        Ok(CodeDataset {
            codes,
            y,
            groups,
            group_names,
            files: Vec::new(),
            class_names,
            hamming: OnceLock::new(),
        })
    }

    /// Uses `hamming` (the symmetric counts of exactly these codes, e.g.
    /// computed by the caller for another purpose) instead of computing it.
    pub fn with_hamming(self, hamming: HammingMatrix) -> Result<Self, SvmError> {
        if hamming.rows() != self.codes.len()
            || hamming.cols() != self.codes.len()
            || hamming.symbols() != self.codes.symbols()
        {
            return Err(SvmError::LengthMismatch {
                what: "rows of the Hamming matrix (all pairs of the set's codes)",
                expected: self.codes.len(),
                found: hamming.rows(),
            });
        }
        let cell = OnceLock::new();
        // A fresh cell: `set` cannot fail.
        let _ = cell.set(hamming);
        Ok(CodeDataset {
            hamming: cell,
            ..self
        })
    }

    /// Symbol mismatch counts between all pairs of codes, computed on
    /// first use and kept: every fit on this set reads the same matrix.
    pub fn hamming(&self) -> &HammingMatrix {
        self.hamming
            .get_or_init(|| hamming_counts_symmetric(&self.codes))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

impl Labelled for CodeDataset {
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
        &self.class_names
    }
}

/// Per-class weights of C (class `i` gets `C·w_i`).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ClassWeights {
    /// Every class weighs 1.
    #[default]
    Equal,
    /// `n / (classes · n_class)` over the training rows of each fit.
    Balanced,
    /// One weight per class, in class order.
    Given(Vec<f64>),
}

impl ClassWeights {
    /// Parses `balanced` or a comma list of numbers (`1,2.5`).
    pub fn parse(s: &str) -> Result<Self, SvmError> {
        if s.trim() == "balanced" {
            return Ok(ClassWeights::Balanced);
        }
        s.split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map(ClassWeights::Given)
            .map_err(|_| SvmError::InvalidParameter {
                name: "class weights",
                value: s.to_string(),
                hint: "give `balanced` or one number per class, like 1,2.5",
            })
    }

    /// The weights for training on `rows` of `data` (empty: all 1).
    pub fn resolve<D: Labelled + ?Sized>(
        &self,
        data: &D,
        rows: &[usize],
    ) -> Result<Vec<f64>, SvmError> {
        let k = data.n_classes();
        match self {
            ClassWeights::Equal => Ok(Vec::new()),
            ClassWeights::Balanced => {
                let mut counts = vec![0usize; k];
                for &r in rows {
                    if let Some(c) = counts.get_mut(data.labels()[r]) {
                        *c += 1;
                    }
                }
                let n = rows.len() as f64;
                Ok(counts
                    .iter()
                    .map(|&nc| n / (k as f64 * nc.max(1) as f64))
                    .collect())
            }
            ClassWeights::Given(w) => {
                if w.len() != k {
                    return Err(SvmError::ClassWeightCount {
                        expected: k,
                        found: w.len(),
                    });
                }
                Ok(w.clone())
            }
        }
    }
}

/// Where the inner search's feature scaler is fitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InnerScaling {
    /// Once on all training rows of the fit; the inner folds share it.
    #[default]
    TrainingRows,
    /// On each inner fold's training part: its held-out speakers are scaled
    /// with statistics they did not contribute to (like the outer fold).
    PerInnerSplit,
}

/// How a fit sets (C, γ).
#[derive(Clone, Debug, PartialEq)]
pub enum Tuning {
    /// Given values, no search.
    Fixed {
        /// The cost C.
        c: f64,
        /// The kernel γ (on ‖x − y‖² of scaled features, or on d_H²).
        gamma: f64,
    },
    /// The best point of an inner speaker-grouped grid search on the
    /// training rows of each fit.
    Search {
        /// Absolute log2 values of C and γ.
        grid: Grid,
        /// What the search maximizes (pooled over the inner folds).
        metric: Metric,
        /// The inner speaker-grouped folds.
        inner: InnerSplit,
        /// Where the feature scaler of the inner folds is fitted (features only).
        scaling: InnerScaling,
    },
}

/// A C-SVC as a learner of [`privox_data::protocol`].
#[derive(Clone, Default)]
pub struct SvmLearner {
    /// (C, γ) fixed or searched.
    pub tuning: Tuning,
    /// Solver settings, Platt probabilities and their seed; `c` and
    /// `class_weights` are set per fit from `tuning` and `class_weights`.
    pub params: SvcParams,
    /// Class weights of C.
    pub class_weights: ClassWeights,
    /// Called after each grid point of a search, and once per fixed fit.
    pub progress: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning::Search {
            grid: Grid::default(),
            metric: Metric::Uar,
            inner: InnerSplit { folds: 5, seed: 0 },
            scaling: InnerScaling::TrainingRows,
        }
    }
}

impl std::fmt::Debug for SvmLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SvmLearner")
            .field("tuning", &self.tuning)
            .field("params", &self.params)
            .field("class_weights", &self.class_weights)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl SvmLearner {
    /// Fixed (C, γ), default solver settings.
    pub fn fixed(c: f64, gamma: f64) -> Self {
        SvmLearner {
            tuning: Tuning::Fixed { c, gamma },
            ..Self::default()
        }
    }

    /// An inner `folds`-fold speaker-grouped search over `grid` by UAR.
    pub fn grid_search(grid: Grid, folds: usize) -> Self {
        SvmLearner {
            tuning: Tuning::Search {
                grid,
                metric: Metric::Uar,
                inner: InnerSplit { folds, seed: 0 },
                scaling: InnerScaling::TrainingRows,
            },
            ..Self::default()
        }
    }

    /// Grid points one fit reports to `progress` (1 for fixed (C, γ)).
    pub fn steps_per_fit(&self) -> usize {
        match &self.tuning {
            Tuning::Fixed { .. } => 1,
            Tuning::Search { grid, .. } => grid.len(),
        }
    }

    /// The inner grid search alone on `rows` of `data` (as `privox svm grid`
    /// prints it); fails for [`Tuning::Fixed`].
    pub fn search<D: SvmData + ?Sized>(
        &self,
        data: &D,
        rows: &[usize],
    ) -> Result<GridResult, SvmError> {
        check_rows(data, rows)?;
        let params = self.params_for(data, rows, self.params.c)?;
        match &self.tuning {
            Tuning::Fixed { .. } => Err(SvmError::InvalidParameter {
                name: "tuning",
                value: "fixed".into(),
                hint: "a grid search needs Tuning::Search",
            }),
            Tuning::Search {
                grid,
                metric,
                inner,
                scaling,
            } => {
                let folds = inner.folds(data, rows)?;
                let spec = GridSearch {
                    grid: grid.clone(),
                    metric: *metric,
                    params,
                };
                let tick = || self.tick();
                data.search(rows, &folds, &spec, *scaling, &tick)
            }
        }
    }

    /// Solver parameters for a fit on `rows` with cost `c`.
    fn params_for<D: Labelled + ?Sized>(
        &self,
        data: &D,
        rows: &[usize],
        c: f64,
    ) -> Result<SvcParams, SvmError> {
        Ok(SvcParams {
            c,
            class_weights: self.class_weights.resolve(data, rows)?,
            ..self.params.clone()
        })
    }

    fn tick(&self) {
        if let Some(p) = &self.progress {
            p();
        }
    }
}

/// A fitted SVM: the model and, when (C, γ) were searched, the search.
#[derive(Clone, Debug)]
pub struct SvmFit {
    /// The trained model (what `privox svm train` saves).
    pub model: SvmModel,
    /// The inner search that chose (C, γ), if any.
    pub search: Option<GridResult>,
}

impl SvmFit {
    /// The cost C of the model.
    pub fn c(&self) -> f64 {
        self.model.c
    }
    /// The kernel γ of the model.
    pub fn gamma(&self) -> f64 {
        self.model.kernel.gamma()
    }
}

/// Data an [`SvmLearner`] can fit on: features ([`Dataset`]) or SMH codes
/// ([`CodeDataset`]).
pub trait SvmData: Labelled + Sync {
    /// Inner grid search on `rows`; `folds` are global row indices.
    fn search(
        &self,
        rows: &[usize],
        folds: &[Fold],
        spec: &GridSearch,
        scaling: InnerScaling,
        progress: &(dyn Fn() + Sync),
    ) -> Result<GridResult, SvmError>;
    /// Trains a model on `rows` with the given (C in `params`, γ).
    fn train(&self, rows: &[usize], gamma: f64, params: &SvcParams) -> Result<SvmModel, SvmError>;
    /// Predicts `rows` with a model trained on this kind of data.
    fn predict(&self, model: &SvmModel, rows: &[usize]) -> Result<Vec<usize>, SvmError>;
}

/// `rows` as local indices `0..rows.len()`, and `folds` (global indices
/// inside `rows`) renumbered to them.
fn localize(n: usize, rows: &[usize], folds: &[Fold]) -> Vec<Fold> {
    let mut local = vec![usize::MAX; n];
    for (p, &r) in rows.iter().enumerate() {
        local[r] = p;
    }
    folds
        .iter()
        .map(|f| Fold {
            name: f.name.clone(),
            train: f.train.iter().map(|&i| local[i]).collect(),
            test: f.test.iter().map(|&i| local[i]).collect(),
        })
        .collect()
}

/// `x`'s rows scaled by a scaler fitted on `fit_rows` (indices into `x`).
fn scaled_kernel(x: &privox_data::Matrix, fit_rows: &[usize]) -> Result<RbfKernel, SvmError> {
    let scaler = MinMaxScaler::fit(&x.select_rows(fit_rows))?;
    let scaled = scaler.transform(x)?;
    RbfKernel::new(scaled.as_slice().to_vec(), x.cols(), 1.0)
}

impl SvmData for Dataset {
    fn search(
        &self,
        rows: &[usize],
        folds: &[Fold],
        spec: &GridSearch,
        scaling: InnerScaling,
        progress: &(dyn Fn() + Sync),
    ) -> Result<GridResult, SvmError> {
        // The kernel spans the training rows only (local indices).
        let x = self.x.select_rows(rows);
        let y: Vec<usize> = rows.iter().map(|&r| self.y[r]).collect();
        let folds = localize(self.len(), rows, folds);
        let n_classes = self.n_classes();
        match scaling {
            InnerScaling::TrainingRows => {
                let all: Vec<usize> = (0..rows.len()).collect();
                let k = scaled_kernel(&x, &all)?;
                grid_search(|g| k.gamma_view(g), &y, n_classes, &folds, spec, progress)
            }
            InnerScaling::PerInnerSplit => {
                let ks = folds
                    .iter()
                    .map(|f| scaled_kernel(&x, &f.train))
                    .collect::<Result<Vec<_>, _>>()?;
                grid_search_per_fold(
                    |i, g| ks[i].gamma_view(g),
                    &y,
                    n_classes,
                    &folds,
                    spec,
                    progress,
                )
            }
        }
    }

    fn train(&self, rows: &[usize], gamma: f64, params: &SvcParams) -> Result<SvmModel, SvmError> {
        let y: Vec<usize> = rows.iter().map(|&r| self.y[r]).collect();
        SvmModel::train_features(
            &self.x.select_rows(rows),
            &y,
            self.classes.names(),
            &self.feature_names,
            gamma,
            params,
        )
    }

    fn predict(&self, model: &SvmModel, rows: &[usize]) -> Result<Vec<usize>, SvmError> {
        // The rows come from the data set the model was fitted on, so they
        // were prepared (calibrated) as its training rows were.
        Ok(model
            .predict_features_calibrated(&self.x.select_rows(rows), model.calibration)?
            .into_iter()
            .map(|p| p.class)
            .collect())
    }
}

impl SvmData for CodeDataset {
    fn search(
        &self,
        _rows: &[usize],
        folds: &[Fold],
        spec: &GridSearch,
        _scaling: InnerScaling,
        progress: &(dyn Fn() + Sync),
    ) -> Result<GridResult, SvmError> {
        // Codes are hashed already: nothing to scale. The kernel spans all
        // rows (global indices) and reads the set's one Hamming matrix.
        let hm = self.hamming();
        grid_search(
            |g| HammingRbfKernel::new(hm, g),
            &self.y,
            self.n_classes(),
            folds,
            spec,
            progress,
        )
    }

    fn train(&self, rows: &[usize], gamma: f64, params: &SvcParams) -> Result<SvmModel, SvmError> {
        let y: Vec<usize> = rows.iter().map(|&r| self.y[r]).collect();
        SvmModel::train_codes_rows(
            &self.codes,
            self.hamming(),
            rows,
            &y,
            &self.class_names,
            gamma,
            params,
        )
    }

    fn predict(&self, model: &SvmModel, rows: &[usize]) -> Result<Vec<usize>, SvmError> {
        // Test × support-vector counts are computed fresh: support vectors
        // are few, and the model must also work on codes it never saw.
        Ok(model
            .predict_codes(&self.codes.select(rows)?)?
            .into_iter()
            .map(|p| p.class)
            .collect())
    }
}

impl<D: SvmData> Fit<D> for SvmLearner {
    type Model = SvmFit;
    type Error = SvmError;

    fn fit(&self, data: &D, rows: &[usize]) -> Result<SvmFit, SvmError> {
        check_rows(data, rows)?;
        let (c, gamma, search) = match &self.tuning {
            Tuning::Fixed { c, gamma } => {
                self.tick();
                (*c, *gamma, None)
            }
            Tuning::Search { .. } => {
                let res = self.search(data, rows)?;
                (res.best.c, res.best.gamma, Some(res))
            }
        };
        let params = self.params_for(data, rows, c)?;
        let model = data.train(rows, gamma, &params)?;
        Ok(SvmFit { model, search })
    }
}

impl<D: SvmData> Predict<D> for SvmFit {
    type Error = SvmError;

    fn predict(&self, data: &D, rows: &[usize]) -> Result<Vec<usize>, SvmError> {
        check_rows(data, rows)?;
        data.predict(&self.model, rows)
    }

    fn chosen(&self) -> Vec<(String, f64)> {
        vec![("C".into(), self.c()), ("gamma".into(), self.gamma())]
    }
}
