//! The SVM experiment of `privox demo`: a baseline RBF-SVM, the same with
//! speaker calibration, and SMH (k = 3, Δ = 2, mpc = 32) + RBF-Hamming SVM,
//! each leave-one-speaker-out with a small inner grid, plus the leakage of
//! the held-out × training code pairs.

use crate::SvmError;
use crate::grid::Grid;
use crate::learner::{CodeDataset, SvmLearner};
use privox_data::{
    Calibration, CalibrationOptions, ClassSet, ConfusionMatrix, FeatureTable, Labelled,
    MinMaxScaler, OuterSplit, evaluate,
};
use privox_smh::{SmhKey, SmhParams};
use std::time::Instant;

/// One evaluated configuration of the demo.
#[derive(Clone, Debug)]
pub struct DemoResult {
    /// Pooled held-out confusion over all folds.
    pub pooled: ConfusionMatrix,
    /// Wall time of the configuration, seconds.
    pub seconds: f64,
}

/// What [`run`] measured.
#[derive(Clone, Debug)]
pub struct DemoReport {
    /// Speakers of the demo set.
    pub speakers: usize,
    /// Rows (neutral and angry recordings).
    pub rows: usize,
    /// RBF-SVM on min-max scaled features.
    pub baseline: DemoResult,
    /// The same after per-speaker calibration (`Calibration::Speaker`).
    pub calibrated: DemoResult,
    /// A warning of the calibration (speakers with few recordings), if any.
    pub calibration_warning: Option<String>,
    /// SMH codes + RBF-Hamming SVM.
    pub hashed: DemoResult,
    /// Held-out × training code pairs with d_H below the threshold,
    /// pooled over folds.
    pub leakage: privox_smh::leakage::LeakageReport,
}

/// Runs the demo's SVM experiment on a neutral/angry feature table; `seed`
/// fixes the SMH key (None: OS entropy).
pub fn run(table: &FeatureTable, seed: Option<u64>) -> Result<DemoReport, SvmError> {
    let classes = ClassSet::neutral_angry();
    let data = table.to_dataset(&classes)?;
    // A reduced grid keeps the demo to seconds; `privox svm eval` runs the full one.
    let features = SvmLearner::grid_search(
        Grid {
            log2_c: Grid::range(-1.0, 7.0, 2.0),
            log2_gamma: Grid::range(-9.0, -3.0, 2.0),
        },
        3,
    );
    let loso = OuterSplit::LeaveOneSpeakerOut;
    let folds = loso.folds(&data)?;
    let t0 = Instant::now();
    let baseline = DemoResult {
        pooled: evaluate(&features, &data, &folds, &|| {})?.pooled,
        seconds: t0.elapsed().as_secs_f64(),
    };

    // Each speaker z-normalised by their own recordings (unlabelled) on the
    // client, before the global scaling.
    let t0 = Instant::now();
    let (calibrated_table, cal_report) =
        privox_data::calibrate(table, &CalibrationOptions::new(Calibration::Speaker))?;
    let cal_data = calibrated_table.to_dataset(&classes)?;
    let calibrated = DemoResult {
        pooled: evaluate(&features, &cal_data, &loso.folds(&cal_data)?, &|| {})?.pooled,
        seconds: t0.elapsed().as_secs_f64(),
    };

    // SMH: the features are scaled with all demo rows' statistics here, a
    // simplification of the client-side scaler (the demo has no separate client).
    let x = &data.x;
    let scaled = MinMaxScaler::fit(x)?.transform(x)?;
    let smh = SmhParams::new(3, 2.0, 32, x.cols())?;
    let key = match seed {
        Some(s) => SmhKey::generate_with_seed(smh, s),
        None => SmhKey::generate(smh),
    };
    let codes = CodeDataset::new(
        key.hash(scaled.as_slice(), x.cols())?,
        data.y.clone(),
        data.groups.clone(),
        data.group_names.clone(),
        classes.names().to_vec(),
    )?;
    let hashed_learner = SvmLearner {
        tuning: crate::Tuning::Search {
            grid: Grid {
                log2_c: Grid::range(-1.0, 7.0, 2.0),
                log2_gamma: Grid::range(-1.0, 7.0, 2.0),
            },
            metric: privox_data::Metric::Uar,
            inner: privox_data::InnerSplit { folds: 3, seed: 0 },
            scaling: crate::InnerScaling::TrainingRows,
        },
        ..SvmLearner::default()
    };
    let t0 = Instant::now();
    let hashed = DemoResult {
        pooled: evaluate(&hashed_learner, &codes, &folds, &|| {})?.pooled,
        seconds: t0.elapsed().as_secs_f64(),
    };
    // Leakage: held-out speaker's codes against the training speakers'
    // codes, pooled over folds.
    let threshold = privox_smh::leakage::resolve_threshold(3, None)?;
    let mut leakage = privox_smh::leakage::LeakageReport {
        pair_set: privox_smh::leakage::PairSet::Cross,
        threshold,
        pairs: 0,
        below: 0,
    };
    for f in &folds {
        leakage.pool(&privox_smh::leakage::cross(
            &codes.codes.select(&f.test)?,
            &codes.codes.select(&f.train)?,
            threshold,
        )?);
    }
    Ok(DemoReport {
        speakers: data.speaker_names().len(),
        rows: data.n_rows(),
        baseline,
        calibrated,
        calibration_warning: cal_report.warning(),
        hashed,
        leakage,
    })
}
