//! Tests of the MLP's evaluation protocol.

use super::learner::best_mean_epoch;
use super::split::pick_validation_fold;
use super::*;
use crate::error::NnError;
use crate::linalg::Matrix;
use crate::model::NnModel;
use crate::poly::PolyActivation;
use crate::train::{EpochStats, StopOn};
use crate::{Activation, NetworkSpec};
use privox_data::protocol::{Evaluation, Fit, FoldResult};
use privox_data::{ClassSet, ConfusionMatrix, Dataset, leave_one_group_out};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A small generated corpus like the demo subset: `n_classes`
/// classes, 10 speakers of 16 rows; speakers 0-2 hold only the last
/// class, 3-5 only class 0, 6-9 every class. Each speaker shifts every
/// feature by its own offset (as voices do), the class moves two of
/// the six features.
fn one_class_speaker_corpus(n_classes: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (mut x, mut y, mut groups, mut files) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in 0..10 {
        let offset: Vec<f64> = (0..6).map(|_| rng.random_range(-0.6..0.6)).collect();
        for i in 0..16 {
            let c = match s {
                0..=2 => n_classes - 1,
                3..=5 => 0,
                _ => i % n_classes,
            };
            for (f, o) in offset.iter().enumerate() {
                let signal = match f {
                    0 => c as f64,
                    1 => (c as f64 * 1.7).sin() * 1.5,
                    _ => 0.0,
                };
                x.push(signal + o + rng.random_range(-0.5..0.5));
            }
            y.push(c);
            groups.push(s);
            files.push(format!("s{s}_{i}.wav"));
        }
    }
    let names: Vec<String> = (0..n_classes).map(|c| format!("c{c}")).collect();
    Dataset {
        x: Matrix::new(y.len(), 6, x).unwrap(),
        y,
        groups,
        group_names: (0..10).map(|s| format!("spk{s}")).collect(),
        files,
        classes: ClassSet::new(names).unwrap(),
        feature_names: (0..6).map(|f| format!("f{f}")).collect(),
    }
}

fn small_he_aware() -> NetworkSpec {
    NetworkSpec {
        hidden: vec![16, 8],
        ..NetworkSpec::he_aware(Activation::Poly(PolyActivation::preset("p2").unwrap()))
    }
}

fn fast(mut r: Recipe) -> Recipe {
    r.train.max_epochs = 60;
    r.train.patience = 10;
    r
}

#[test]
fn class_aware_folds_hold_every_class_and_never_split_a_speaker() {
    let data = one_class_speaker_corpus(2, 1);
    for seed in 0..20 {
        let folds = class_aware_group_k_fold(&data.groups, &data.y, 2, 4, seed).unwrap();
        assert_eq!(folds.len(), 4);
        for f in &folds {
            let classes: std::collections::BTreeSet<usize> =
                f.test.iter().map(|&i| data.y[i]).collect();
            assert_eq!(classes.len(), 2, "seed {seed}: {} lacks a class", f.name);
            for &i in &f.test {
                assert!(f.train.iter().all(|&j| data.groups[j] != data.groups[i]));
            }
            assert_eq!(f.train.len() + f.test.len(), data.len());
        }
    }
    // A class held by 2 speakers caps k at 2; bad input is a typed error.
    let y: Vec<usize> = data.groups.iter().map(|&g| usize::from(g < 2)).collect();
    assert_eq!(
        class_aware_group_k_fold(&data.groups, &y, 2, 4, 0)
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        class_aware_group_k_fold(&data.groups, &y[1..], 2, 4, 0),
        Err(NnError::LabelCountMismatch { .. })
    ));
    assert!(matches!(
        class_aware_group_k_fold(&[0, 0], &[0, 1], 2, 4, 0),
        Err(NnError::TooFewTrainingSpeakers { found: 1 })
    ));
}

#[test]
fn a_class_of_one_speaker_stays_in_training_for_early_stopping() {
    let mut data = one_class_speaker_corpus(2, 2);
    // Class 1 now belongs to speaker 0 alone.
    data.y = data.groups.iter().map(|&g| usize::from(g == 0)).collect();
    let all: Vec<usize> = (0..data.len()).collect();
    for seed in 0..10 {
        let folds = ClassAwareInnerSplit { folds: 4, seed }
            .folds(&data, &all)
            .unwrap();
        let v = pick_validation_fold(&folds, &data.y, 2);
        assert!(
            v.train.iter().any(|&i| data.y[i] == 1),
            "seed {seed}: {folds:?}"
        );
    }
}

#[test]
fn the_robust_recipe_does_not_collapse_on_one_class_speakers() {
    let data = one_class_speaker_corpus(2, 3);
    let folds = leave_one_group_out(&data.groups, &data.group_names);
    let r = fast(Recipe::robust());
    let proto = ProtocolConfig {
        train: r.train,
        selection: r.selection,
        seeds: vec![1, 2],
        clip_inputs: Some(1.0),
    };
    let cells = evaluate_cells(
        &data,
        &folds,
        &[NetworkCells::plain("he", small_he_aware())],
        &proto,
        &|| {},
    )
    .unwrap();
    let s = cells[0].summary().unwrap();
    assert_eq!(
        s.collapsed_folds, 0,
        "{:?}",
        cells[0].runs[0].evaluation.folds
    );
    assert!(s.worst_uar > 85.0, "{s:?}");
    // Held-out speakers may leave the training interval [-2, 2] a little
    // (γ₀ = 1 can win the inner search here); the encrypted evaluator
    // covers 1.5× the training range, so 3 is the bound that matters.
    assert!(s.max_preactivation <= 3.0, "{s:?}");
}

#[test]
fn inner_cv_refits_for_the_chosen_epoch_count() {
    let data = one_class_speaker_corpus(3, 4);
    let train_idx: Vec<usize> = (0..data.len()).filter(|&i| data.groups[i] != 9).collect();
    let mut r = fast(Recipe::robust());
    r.selection = EpochSelection::InnerCv {
        folds: 3,
        bn_gamma_grid: Vec::new(),
    };
    r.train.min_epochs = 7;
    let f = MlpLearner::new(small_he_aware(), &r)
        .fit(&data, &train_idx)
        .unwrap();
    let t = &f.trained;
    assert!(t.best_epoch >= 7);
    assert_eq!(
        t.history.len(),
        t.best_epoch,
        "refit runs exactly the chosen epochs"
    );
    assert!(
        t.history.iter().all(|h| h.val_loss.is_none()),
        "refit uses every training row"
    );
}

#[test]
fn best_mean_epoch_averages_curves_and_respects_the_minimum() {
    let curve = |v: &[f64]| -> Vec<EpochStats> {
        v.iter()
            .enumerate()
            .map(|(i, &l)| EpochStats {
                epoch: i + 1,
                train_loss: 0.0,
                val_loss: Some(l),
                val_uar: Some(1.0 - l),
            })
            .collect()
    };
    // Mean over the two: 2.5, 1.5, 1.5 (second curve stopped: its last
    // value carries on), 2.0 → epoch 2.
    let curves = [curve(&[3.0, 1.0, 2.0, 3.0]), curve(&[2.0, 2.0])];
    assert_eq!(best_mean_epoch(&curves, StopOn::ValLoss, 0).0, 2);
    assert_eq!(best_mean_epoch(&curves, StopOn::ValUar, 0).0, 2);
    assert_eq!(best_mean_epoch(&curves, StopOn::ValLoss, 4).0, 4);
}

#[test]
fn multi_class_he_aware_model_round_trips_and_stays_in_its_interval() {
    let data = one_class_speaker_corpus(4, 5);
    let r = fast(Recipe::robust());
    let model =
        train_model_with(&data, &small_he_aware(), &r.train, &r.selection, "t".into()).unwrap();
    assert_eq!(model.network.n_classes(), 4);
    assert_eq!(model.class_names, ["c0", "c1", "c2", "c3"]);
    assert!(
        model.activation_max.iter().all(|&m| m <= 2.0),
        "{:?}",
        model.activation_max
    );
    let back = NnModel::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(back, model);
    let pred = back.predict_raw(&data.x).unwrap();
    assert_eq!(pred, model.predict_raw(&data.x).unwrap());
    // On the training table: the same decisions (its scaled rows lie in [-1, 1]).
    assert_eq!(
        back.predict_dataset(&data, privox_data::Calibration::None)
            .unwrap(),
        pred
    );
    let mut renamed = data.clone();
    renamed.feature_names[0] = "other".into();
    assert!(matches!(
        back.predict_dataset(&renamed, privox_data::Calibration::None),
        Err(NnError::FeatureNamesMismatch {
            found: 6,
            expected: 6
        })
    ));
    let hits = pred.iter().zip(&data.y).filter(|(p, y)| p == y).count();
    assert!(
        hits * 10 > data.len() * 8,
        "training accuracy {hits}/{}",
        data.len()
    );
}

#[test]
fn seed_summary_reports_the_worst_seed_and_collapsed_folds() {
    let cm = |pairs: &[(usize, usize)]| {
        let (t, p): (Vec<usize>, Vec<usize>) = pairs.iter().copied().unzip();
        ConfusionMatrix::from_predictions(2, &t, &p).unwrap()
    };
    let run = |seed, folds: Vec<ConfusionMatrix>| CellRun {
        seed,
        evaluation: Evaluation::from_folds(
            2,
            folds
                .into_iter()
                .enumerate()
                .map(|(i, c)| FoldResult {
                    name: format!("f{i}"),
                    rows: Vec::new(),
                    predictions: Vec::new(),
                    confusion: c,
                    chosen: Vec::new(),
                })
                .collect(),
        )
        .unwrap(),
        best_epochs: vec![3, 5],
        max_preactivation: seed as f64,
    };
    let good = run(1, vec![cm(&[(0, 0), (1, 1)]), cm(&[(1, 1), (1, 1)])]);
    // Fold f0 holds both classes but predicts class 1 only; f1 holds one class.
    let bad = run(2, vec![cm(&[(0, 1), (1, 1)]), cm(&[(0, 0), (0, 0)])]);
    assert_eq!(bad.collapsed_folds(), ["f0"]);
    assert!(good.collapsed_folds().is_empty());
    let cell = CellResult {
        name: "x".into(),
        runs: vec![good, bad],
    };
    let s = cell.summary().unwrap();
    assert_eq!((s.worst_seed, s.collapsed_folds, s.seeds), (2, 1, 2));
    // Pooled UAR: seed 1 100 %, seed 2 (2/3 + 1/1) / 2.
    assert!((s.uar_mean - 275.0 / 3.0).abs() < 1e-9, "{s:?}");
    assert!((s.worst_uar - 250.0 / 3.0).abs() < 1e-9, "{s:?}");
    assert_eq!((s.mean_epoch, s.max_preactivation), (4.0, 2.0));
    assert!(
        CellResult {
            name: "e".into(),
            runs: vec![]
        }
        .summary()
        .is_none()
    );
}

#[test]
fn rows_outside_the_data_are_a_typed_error_not_a_panic() {
    use privox_data::protocol::Predict;
    let data = one_class_speaker_corpus(2, 5);
    let n = data.len();
    let learner = MlpLearner::new(small_he_aware(), &fast(Recipe::paper()));
    assert!(matches!(
        learner.fit(&data, &[0, 1, n]),
        Err(NnError::Data(privox_data::DataError::RowOutOfRange { row, rows })) if row == n && rows == n
    ));
    let all: Vec<usize> = (0..n).collect();
    let f = learner.fit(&data, &all).unwrap();
    assert_eq!(f.predict(&data, &all).unwrap().len(), n);
    assert!(matches!(
        f.predict(&data, &[n + 3]),
        Err(NnError::Data(privox_data::DataError::RowOutOfRange { .. }))
    ));
}
