//! `privox svm` end to end on small generated data: train, predict, eval,
//! codes, and clear failures on bad input.

use privox_smh::{CodeTable, SmhKey, SmhParams};
use std::path::Path;

mod common;
use common::privox;

/// `privox svm train FLAG INPUT -o MODEL EXTRA…` (FLAG: `--features` or `--codes`).
fn train(flag: &str, input: &Path, model: &Path, extra: &[&str]) -> (bool, String) {
    let (input, model) = (input.to_str().unwrap(), model.to_str().unwrap());
    privox(&[&["svm", "train", flag, input, "-o", model][..], extra].concat())
}

/// `privox svm predict --model MODEL FLAG INPUT EXTRA…`.
fn predict(model: &Path, flag: &str, input: &Path, extra: &[&str]) -> (bool, String) {
    let (input, model) = (input.to_str().unwrap(), model.to_str().unwrap());
    privox(
        &[
            &["svm", "predict", "--model", model, flag, input][..],
            extra,
        ]
        .concat(),
    )
}

/// 4 speakers × 12 rows, two classes separated along every feature.
fn rows() -> Vec<(String, String, String, Vec<f64>)> {
    let mut v = Vec::new();
    for s in 0..4 {
        for i in 0..12 {
            let angry = i % 2 == 1;
            let x: Vec<f64> = (0..5)
                .map(|j| {
                    let noise = (((s * 131 + i * 17 + j * 7) * 2654435761usize) % 1000) as f64
                        / 1000.0
                        - 0.5;
                    (if angry { 2.0 } else { 0.0 }) + noise + j as f64 * 10.0
                })
                .collect();
            let label = if angry { "angry" } else { "neutral" };
            v.push((
                format!("s{s}_{i}.wav"),
                format!("spk{s}"),
                label.to_string(),
                x,
            ));
        }
    }
    v
}

fn write_csv(path: &Path, n_features: usize) {
    let mut s = String::from("file,speaker,label");
    for j in 0..n_features {
        s.push_str(&format!(",f{j}"));
    }
    s.push('\n');
    for (f, spk, l, x) in rows() {
        s.push_str(&format!("{f},{spk},{l}"));
        for j in 0..n_features {
            s.push_str(&format!(",{}", x[j % x.len()]));
        }
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn train_predict_eval_on_features() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv, 5);
    let model = dir.path().join("m.pvx");
    let (ok, out) = train(
        "--features",
        &csv,
        &model,
        &["--log2-c", "-1,3", "--log2-gamma", "-3,-1", "--folds", "2"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("support vectors"), "{out}");
    let preds = dir.path().join("p.csv");
    let (ok, out) = predict(&model, "--features", &csv, &["-o", preds.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("accuracy 100.00 %"), "{out}");
    let text = std::fs::read_to_string(&preds).unwrap();
    assert!(
        text.starts_with("file,label,predicted,decision_neutral_vs_angry"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 49);
    let (ok, out) = privox(&[
        "svm",
        "eval",
        "--features",
        csv.to_str().unwrap(),
        "-c",
        "1",
        "--gamma",
        "0.5",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("spk3") && out.contains("pooled"), "{out}");
}

#[test]
fn bad_input_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv, 5);
    let model = dir.path().join("m.pvx");
    let (ok, out) = train("--features", &csv, &model, &["-c", "1", "--gamma", "0.5"]);
    assert!(ok, "{out}");
    // Wrong feature count.
    let wide = dir.path().join("wide.csv");
    write_csv(&wide, 6);
    let (ok, out) = predict(&model, "--features", &wide, &[]);
    assert!(!ok && out.contains("error:"), "{out}");
    // Truncated model.
    let bytes = std::fs::read(&model).unwrap();
    let cut = dir.path().join("cut.pvx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, out) = predict(&cut, "--features", &csv, &[]);
    assert!(!ok && out.contains("truncated"), "{out}");
    // Single class.
    let (ok, out) = train(
        "--features",
        &csv,
        &model,
        &["--classes", "angry,sad", "-c", "1", "--gamma", "1"],
    );
    assert!(!ok && out.contains("single class"), "{out}");
    // A grid axis without end is refused, not searched forever.
    let (ok, out) = privox(&[
        "svm",
        "grid",
        "--features",
        csv.to_str().unwrap(),
        "--log2-c",
        "0:inf:1",
    ]);
    assert!(!ok && out.contains("grid range"), "{out}");
    // One speaker: leave-one-speaker-out has nothing to train on.
    let one = dir.path().join("one.csv");
    std::fs::write(&one, "file,speaker,label,a\nx,s,neutral,1\ny,s,angry,2\n").unwrap();
    let (ok, out) = privox(&["svm", "eval", "--features", one.to_str().unwrap()]);
    assert!(!ok && out.contains("at least 2 speakers"), "{out}");
}

#[test]
fn codes_models_refuse_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = rows();
    let x: Vec<f64> = data
        .iter()
        .flat_map(|r| r.3.iter().map(|v| (v % 10.0) / 5.0 - 0.5))
        .collect();
    let meta = |k: usize| {
        data.iter()
            .map(|r| [&r.0, &r.1, &r.2][k].clone())
            .collect::<Vec<String>>()
    };
    let params = SmhParams::new(3, 2.0, 8, 5).unwrap();
    let write = |seed: u64, name: &str| {
        let codes = SmhKey::generate_with_seed(params, seed)
            .hash(&x, 5)
            .unwrap();
        let path = dir.path().join(name);
        CodeTable::new(codes, meta(0), meta(1), meta(2))
            .unwrap()
            .write(&path)
            .unwrap();
        path
    };
    let a = write(1, "a.pvx");
    let b = write(2, "b.pvx");
    let model = dir.path().join("m.pvx");
    let (ok, out) = train("--codes", &a, &model, &["-c", "4", "--gamma", "16"]);
    assert!(ok, "{out}");
    let (ok, out) = predict(&model, "--codes", &a, &[]);
    assert!(ok, "{out}");
    let (ok, out) = predict(&model, "--codes", &b, &[]);
    assert!(!ok && out.contains("SMH parameter mismatch"), "{out}");
    let (ok, out) = privox(&[
        "svm",
        "eval",
        "--codes",
        a.to_str().unwrap(),
        "--log2-c",
        "1,3",
        "--log2-gamma",
        "3,5",
        "--folds",
        "2",
    ]);
    assert!(ok, "{out}");
}
