//! Model files and bad input: every failure is a typed error, never a panic.

use privox_data::{Matrix, MinMaxScaler};
use privox_smh::{SmhKey, SmhParams};
use privox_svm::{SvcParams, SvmError, SvmModel};
use proptest::prelude::*;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Two noisy 4-D blobs around ±0.5 (deterministic).
fn blobs(n: usize) -> (Matrix, Vec<usize>) {
    let mut data = Vec::with_capacity(n * 4);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        let centre = if c == 0 { -0.5 } else { 0.5 };
        for j in 0..4 {
            let noise = (((i * 31 + j * 17) * 2654435761usize) % 1000) as f64 / 1000.0 - 0.5;
            data.push(10.0 * (centre + 0.6 * noise) + j as f64);
        }
        y.push(c);
    }
    (Matrix::new(n, 4, data).unwrap(), y)
}

fn feature_model() -> (SvmModel, Matrix, Vec<usize>) {
    let (x, y) = blobs(60);
    let p = SvcParams {
        c: 4.0,
        probability: true,
        ..SvcParams::default()
    };
    let m = SvmModel::train_features(
        &x,
        &y,
        &names(&["neutral", "angry"]),
        &names(&["a", "b", "c", "d"]),
        0.5,
        &p,
    )
    .unwrap();
    (m, x, y)
}

#[test]
fn feature_model_round_trips_and_predicts() {
    let (m, x, y) = feature_model();
    let preds = m.predict_features(&x).unwrap();
    let acc = preds.iter().zip(&y).filter(|(p, t)| p.class == **t).count() as f64 / y.len() as f64;
    assert!(acc > 0.9, "training accuracy {acc}");
    for p in &preds {
        let pr = p.probabilities.as_ref().unwrap();
        assert!((pr.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(pr.iter().all(|&v| v > 0.0 && v < 1.0));
    }
    let back = SvmModel::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.predict_features(&x).unwrap(), preds);
}

#[test]
fn hashed_model_round_trips_and_refuses_other_keys_or_params() {
    let (x, y) = blobs(60);
    let scaler = MinMaxScaler::fit(&x).unwrap();
    let xs = scaler.transform(&x).unwrap();
    let params = SmhParams::new(3, 2.0, 32, 4).unwrap();
    let key = SmhKey::generate_with_seed(params, 1);
    let codes = key.hash(xs.as_slice(), 4).unwrap();
    let m = SvmModel::train_codes(
        &codes,
        &y,
        &names(&["neutral", "angry"]),
        16.0,
        &SvcParams::default(),
        Some(scaler),
    )
    .unwrap();
    let preds = m.predict_codes(&codes).unwrap();
    let acc = preds.iter().zip(&y).filter(|(p, t)| p.class == **t).count() as f64 / y.len() as f64;
    assert!(acc > 0.8, "training accuracy {acc}");
    let back = SvmModel::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back.predict_codes(&codes).unwrap(), preds);

    // Another key with the same public parameters.
    let other_key = SmhKey::generate_with_seed(params, 2)
        .hash(xs.as_slice(), 4)
        .unwrap();
    assert!(matches!(
        m.predict_codes(&other_key),
        Err(SvmError::SmhMismatch { .. })
    ));
    // Other public parameters.
    let other_params = SmhKey::generate_with_seed(SmhParams::new(3, 2.5, 32, 4).unwrap(), 1)
        .hash(xs.as_slice(), 4)
        .unwrap();
    assert!(matches!(
        m.predict_codes(&other_params),
        Err(SvmError::SmhMismatch { .. })
    ));
    // Features into a hashed model and codes into a feature model.
    assert!(matches!(
        m.predict_features(&xs),
        Err(SvmError::KernelMismatch { .. })
    ));
    let (fm, _, _) = feature_model();
    assert!(matches!(
        fm.predict_codes(&codes),
        Err(SvmError::KernelMismatch { .. })
    ));
}

#[test]
fn bad_training_input_gives_typed_errors() {
    let (x, y) = blobs(20);
    let cls = names(&["neutral", "angry"]);
    let p = SvcParams::default();
    let mut nan = x.as_slice().to_vec();
    nan[5] = f64::NAN;
    let nan = Matrix::new(20, 4, nan).unwrap();
    assert!(matches!(
        SvmModel::train_features(&nan, &y, &cls, &[], 1.0, &p),
        Err(SvmError::NonFinite { row: 1, col: 1, .. })
    ));
    let mut inf = x.as_slice().to_vec();
    inf[0] = f64::INFINITY;
    let inf = Matrix::new(20, 4, inf).unwrap();
    assert!(matches!(
        SvmModel::train_features(&inf, &y, &cls, &[], 1.0, &p),
        Err(SvmError::NonFinite { .. })
    ));
    let empty = Matrix::new(0, 4, vec![]).unwrap();
    assert!(matches!(
        SvmModel::train_features(&empty, &[], &cls, &[], 1.0, &p),
        Err(SvmError::EmptyTrainingSet)
    ));
    let one = vec![0usize; 20];
    match SvmModel::train_features(&x, &one, &cls, &[], 1.0, &p) {
        Err(SvmError::SingleClass { class }) => assert_eq!(class, "neutral"),
        other => panic!("expected SingleClass, got {other:?}"),
    }
    assert!(matches!(
        SvmModel::train_features(&x, &y[..5], &cls, &[], 1.0, &p),
        Err(SvmError::LengthMismatch { .. })
    ));
    assert!(matches!(
        SvmModel::train_features(&x, &y, &cls, &[], 0.0, &p),
        Err(SvmError::InvalidParameter { .. })
    ));
    let bad_c = SvcParams {
        c: -1.0,
        ..SvcParams::default()
    };
    assert!(matches!(
        SvmModel::train_features(&x, &y, &cls, &[], 1.0, &bad_c),
        Err(SvmError::InvalidParameter { .. })
    ));
    let y3: Vec<usize> = y.iter().map(|&c| c + 1).collect();
    assert!(matches!(
        SvmModel::train_features(&x, &y3, &cls, &[], 1.0, &p),
        Err(SvmError::ClassOutOfRange { .. })
    ));
}

#[test]
fn bad_prediction_input_gives_typed_errors() {
    let (m, x, _) = feature_model();
    let wrong = Matrix::new(3, 5, vec![0.0; 15]).unwrap();
    assert!(matches!(
        m.predict_features(&wrong),
        Err(SvmError::FeatureCount {
            expected: 4,
            found: 5
        })
    ));
    let mut nan = x.as_slice()[..8].to_vec();
    nan[7] = f64::NAN;
    assert!(matches!(
        m.predict_features(&Matrix::new(2, 4, nan).unwrap()),
        Err(SvmError::NonFinite { row: 1, col: 3, .. })
    ));
}

#[test]
fn truncated_or_foreign_model_files_are_refused() {
    let (m, _, _) = feature_model();
    let bytes = m.to_bytes();
    for cut in [0, 10, 33, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                SvmModel::from_bytes(&bytes[..cut]),
                Err(SvmError::Format(_))
            ),
            "cut at {cut}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.pvx");
    m.write(&path).unwrap();
    assert_eq!(SvmModel::read(&path).unwrap(), m);
    assert!(matches!(
        SvmModel::read(&dir.path().join("missing.pvx")),
        Err(SvmError::Read { .. })
    ));
}

/// The cause is the error's source and not also in its message, so a report
/// that prints the whole chain (anyhow's `{:#}`) says it once.
#[test]
fn file_errors_state_their_cause_once() {
    use std::error::Error;
    let dir = tempfile::tempdir().unwrap();
    let missing = SvmModel::read(&dir.path().join("missing.pvx")).unwrap_err();
    let damaged = SvmModel::from_bytes(&[]).unwrap_err();
    let (m, _, _) = feature_model();
    let unwritable = m.write(&dir.path().join("no/such/dir/m.pvx")).unwrap_err();
    for e in [missing, damaged, unwritable] {
        let cause = e.source().unwrap_or_else(|| panic!("{e} has no source"));
        assert!(
            !e.to_string().contains(&cause.to_string()),
            "{e} repeats its cause {cause}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn corrupted_model_bytes_are_refused_without_panic(pos in 0usize..100_000, bit in 0u8..8) {
        let (m, _, _) = feature_model();
        let mut bytes = m.to_bytes();
        let p = pos % bytes.len();
        bytes[p] ^= 1 << bit;
        prop_assert!(SvmModel::from_bytes(&bytes).is_err());
    }
}
