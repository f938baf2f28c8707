//! `SvmLearner` through the shared protocol: the same folds, scaling, inner
//! search and predictions as the kernel-level pieces composed by hand (the
//! way the CLI did before the learner existed), on features and on codes.

use privox_data::{
    ClassSet, ConfusionMatrix, Dataset, FeatureTable, Fit, Fold, InnerSplit, Labelled, Metric,
    MinMaxScaler, OuterSplit, Predict, evaluate,
};
use privox_smh::{CodeTable, SmhKey, SmhParams, hamming_counts_symmetric};
use privox_svm::{
    ClassWeights, CodeDataset, Grid, GridSearch, HammingRbfKernel, InnerScaling, Kernel, RbfKernel,
    SvcParams, SvmError, SvmLearner, Tuning, grid_search, train,
};

/// 5 speakers × 12 rows, two overlapping classes (so that C and γ matter).
fn table() -> FeatureTable {
    let mut csv = String::from("file,speaker,label,f0,f1,f2,f3\n");
    for s in 0..5 {
        for i in 0..12 {
            let angry = i % 2 == 1;
            let mut row = format!(
                "s{s}_{i}.wav,spk{s},{}",
                if angry { "angry" } else { "neutral" }
            );
            for j in 0..4 {
                let noise =
                    (((s * 131 + i * 17 + j * 7) * 2654435761usize) % 1000) as f64 / 1000.0 - 0.5;
                let v = if angry { 0.6 } else { 0.0 } + 1.3 * noise + s as f64 * 0.2 + j as f64;
                row.push_str(&format!(",{v}"));
            }
            csv.push_str(&row);
            csv.push('\n');
        }
    }
    FeatureTable::from_reader(csv.as_bytes()).unwrap()
}

fn data() -> Dataset {
    table().to_dataset(&ClassSet::neutral_angry()).unwrap()
}

fn grid() -> Grid {
    Grid {
        log2_c: vec![-1.0, 1.0, 3.0, 5.0],
        log2_gamma: vec![-5.0, -3.0, -1.0, 1.0],
    }
}

fn learner(grid: Grid) -> SvmLearner {
    SvmLearner {
        tuning: Tuning::Search {
            grid,
            metric: Metric::Uar,
            inner: InnerSplit { folds: 3, seed: 0 },
            scaling: InnerScaling::TrainingRows,
        },
        ..SvmLearner::default()
    }
}

/// Trains on the fold's training rows with `c`, predicts its test rows and
/// adds their confusion to `pooled`.
fn fit_and_pool<K: Kernel>(k: &K, f: &Fold, y: &[usize], c: f64, pooled: &mut ConfusionMatrix) {
    let ytr: Vec<usize> = f.train.iter().map(|&i| y[i]).collect();
    let params = SvcParams {
        c,
        ..SvcParams::default()
    };
    let sol = train(k, &f.train, &ytr, 2, &params).unwrap();
    let pred: Vec<usize> = f
        .test
        .iter()
        .map(|&t| sol.predict_with(|s| k.eval(t, s)))
        .collect();
    let truth: Vec<usize> = f.test.iter().map(|&i| y[i]).collect();
    pooled
        .merge(&ConfusionMatrix::from_predictions(2, &truth, &pred).unwrap())
        .unwrap();
}

/// Leave-one-speaker-out on features composed from the kernel-level pieces:
/// scaler on the training rows, RBF kernel over every row, inner grid on
/// speaker-grouped folds, train, predict the held-out rows.
fn by_hand_features(d: &Dataset, grid: &Grid) -> (ConfusionMatrix, Vec<(f64, f64)>) {
    let mut pooled = ConfusionMatrix::new(2);
    let mut chosen = Vec::new();
    for f in OuterSplit::LeaveOneSpeakerOut.folds(d).unwrap() {
        let scaler = MinMaxScaler::fit(&d.x.select_rows(&f.train)).unwrap();
        let x = scaler.transform(&d.x).unwrap();
        let k = RbfKernel::new(x.as_slice().to_vec(), x.cols(), 1.0).unwrap();
        let inner = InnerSplit { folds: 3, seed: 0 }.folds(d, &f.train).unwrap();
        let spec = GridSearch {
            grid: grid.clone(),
            metric: Metric::Uar,
            params: SvcParams::default(),
        };
        let best = grid_search(|g| k.gamma_view(g), &d.y, 2, &inner, &spec, &|| {})
            .unwrap()
            .best;
        let kg = k.gamma_view(best.gamma).unwrap();
        fit_and_pool(&kg, &f, &d.y, best.c, &mut pooled);
        chosen.push((best.c, best.gamma));
    }
    (pooled, chosen)
}

#[test]
fn loso_on_features_is_the_hand_composed_protocol() {
    let d = data();
    let folds = OuterSplit::LeaveOneSpeakerOut.folds(&d).unwrap();
    let eval = evaluate(&learner(grid()), &d, &folds, &|| {}).unwrap();
    let (pooled, chosen) = by_hand_features(&d, &grid());
    assert_eq!(eval.pooled, pooled);
    for (f, (c, g)) in eval.folds.iter().zip(&chosen) {
        assert_eq!(
            f.chosen,
            vec![("C".to_string(), *c), ("gamma".to_string(), *g)]
        );
    }
    assert!(eval.pooled.accuracy() > 0.6, "{}", eval.pooled);
}

fn codes(d: &Dataset) -> CodeDataset {
    let x = MinMaxScaler::fit(&d.x).unwrap().transform(&d.x).unwrap();
    let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 32, x.cols()).unwrap(), 7);
    let codes = key.hash(x.as_slice(), x.cols()).unwrap();
    CodeDataset::new(
        codes,
        d.y.clone(),
        d.groups.clone(),
        d.group_names.clone(),
        d.classes.names().to_vec(),
    )
    .unwrap()
}

#[test]
fn loso_on_codes_reads_one_hamming_matrix_and_matches_the_hand_composed_protocol() {
    let d = data();
    let c = codes(&d);
    let folds = OuterSplit::LeaveOneSpeakerOut.folds(&c).unwrap();
    let g = Grid {
        log2_c: vec![-1.0, 1.0, 3.0],
        log2_gamma: vec![1.0, 3.0, 5.0],
    };
    let eval = evaluate(&learner(g.clone()), &c, &folds, &|| {}).unwrap();
    // The matrix is computed once and kept.
    assert!(std::ptr::eq(c.hamming(), c.hamming()));

    let hm = hamming_counts_symmetric(&c.codes);
    let mut pooled = ConfusionMatrix::new(2);
    for f in &folds {
        let inner = InnerSplit { folds: 3, seed: 0 }
            .folds(&c, &f.train)
            .unwrap();
        let spec = GridSearch {
            grid: g.clone(),
            metric: Metric::Uar,
            params: SvcParams::default(),
        };
        let best = grid_search(
            |gm| HammingRbfKernel::new(&hm, gm),
            &c.y,
            2,
            &inner,
            &spec,
            &|| {},
        )
        .unwrap()
        .best;
        let k = HammingRbfKernel::new(&hm, best.gamma).unwrap();
        fit_and_pool(&k, f, &c.y, best.c, &mut pooled);
    }
    assert_eq!(eval.pooled, pooled);
}

#[test]
fn fit_on_all_rows_is_a_saveable_model() {
    let d = data();
    let all: Vec<usize> = (0..d.n_rows()).collect();
    let fit = SvmLearner::fixed(4.0, 0.25).fit(&d, &all).unwrap();
    assert_eq!((fit.c(), fit.gamma()), (4.0, 0.25));
    assert!(fit.search.is_none());
    let back = privox_svm::SvmModel::from_bytes(&fit.model.to_bytes()).unwrap();
    assert_eq!(back, fit.model);
    let pred = fit.predict(&d, &all).unwrap();
    assert_eq!(pred.len(), all.len());
}

#[test]
fn per_split_scaling_searches_with_each_inner_folds_own_scaler() {
    let d = data();
    let rows: Vec<usize> = (0..48).collect(); // speakers 0..3
    let mut l = learner(grid());
    let shared = l.search(&d, &rows).unwrap();
    if let Tuning::Search { scaling, .. } = &mut l.tuning {
        *scaling = InnerScaling::PerInnerSplit;
    }
    let per_split = l.search(&d, &rows).unwrap();
    assert_eq!(per_split.points.len(), shared.points.len());
    // The held-out speakers' rows are scaled differently, so some score moves.
    assert!(
        per_split
            .points
            .iter()
            .zip(&shared.points)
            .any(|(a, b)| a.score != b.score)
    );
}

#[test]
fn balanced_weights_come_from_the_training_rows() {
    let d = data();
    // Rows 0..5 of speaker 0: neutral, angry, neutral, angry, neutral.
    let w = ClassWeights::Balanced
        .resolve(&d, &[0, 1, 2, 3, 4])
        .unwrap();
    assert_eq!(w, vec![5.0 / (2.0 * 3.0), 5.0 / (2.0 * 2.0)]);
    assert!(matches!(
        ClassWeights::Given(vec![1.0]).resolve(&d, &[0]),
        Err(SvmError::ClassWeightCount {
            expected: 2,
            found: 1
        })
    ));
    assert_eq!(
        ClassWeights::parse("1, 2.5").unwrap(),
        ClassWeights::Given(vec![1.0, 2.5])
    );
    assert!(ClassWeights::parse("x").is_err());
}

#[test]
fn code_sets_from_code_files_keep_the_classes_asked_for() {
    let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 8, 2).unwrap(), 1);
    let codes = key
        .hash_rows(&[0.0, 0.0, 0.5, 0.5, 0.9, 0.1, 0.2, 0.8])
        .unwrap();
    let t = CodeTable::new(
        codes.clone(),
        vec!["a".into(), "b".into(), "c".into(), "d".into()],
        vec!["s2".into(), "s1".into(), "s2".into(), "s3".into()],
        vec![
            "angry".into(),
            "happy".into(),
            "neutral".into(),
            "angry".into(),
        ],
    )
    .unwrap();
    let c = CodeDataset::from_table(&t, &ClassSet::neutral_angry()).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c.labels(), [1, 0, 1]);
    assert_eq!(c.speakers(), [0, 0, 1]);
    assert_eq!(c.speaker_names(), ["s2", "s3"]);
    assert_eq!(c.files, ["a", "c", "d"]);

    let unlabelled = CodeTable::new(codes, vec![], vec![], vec![]).unwrap();
    assert!(matches!(
        CodeDataset::from_table(&unlabelled, &ClassSet::neutral_angry()),
        Err(SvmError::Unlabelled {
            missing: "labels",
            codes: 4
        })
    ));
}

#[test]
fn one_speaker_is_a_typed_error() {
    let d = data();
    let rows: Vec<usize> = (0..12).collect(); // speaker 0 only
    let err = learner(grid()).fit(&d, &rows).unwrap_err();
    assert!(
        matches!(
            err,
            SvmError::Data(privox_data::DataError::TooFewSpeakers { found: 1, .. })
        ),
        "{err}"
    );
}

#[test]
fn rows_outside_the_data_are_a_typed_error_not_a_panic() {
    let d = data();
    let n = d.len();
    let fixed = SvmLearner {
        tuning: Tuning::Fixed { c: 1.0, gamma: 1.0 },
        ..SvmLearner::default()
    };
    for l in [fixed, learner(grid())] {
        assert!(matches!(
            l.fit(&d, &[0, 1, n]),
            Err(SvmError::Data(privox_data::DataError::RowOutOfRange { row, rows })) if row == n && rows == n
        ));
    }
    let all: Vec<usize> = (0..n).collect();
    let fit = learner(grid()).fit(&d, &all).unwrap();
    assert!(matches!(
        fit.predict(&d, &[n + 7]),
        Err(SvmError::Data(privox_data::DataError::RowOutOfRange { .. }))
    ));
    let c = codes(&d);
    assert!(matches!(
        learner(grid()).fit(&c, &[usize::MAX]),
        Err(SvmError::Data(privox_data::DataError::RowOutOfRange { .. }))
    ));
}
