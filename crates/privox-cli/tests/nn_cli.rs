//! `privox nn` end to end on small generated data: three classes, speakers
//! that hold one class only, seed reporting, both recipes, a saved
//! multi-class model, and clear failures on bad options.

use std::path::Path;

mod common;
use common::privox;

/// 6 speakers × 12 rows of 4 features, classes a, b, c; speaker 0 holds
/// only `a`, speaker 1 only `c`, the others all three.
fn write_csv(path: &Path) {
    let mut s = String::from("file,speaker,label,f0,f1,f2,f3\n");
    for spk in 0..6usize {
        for i in 0..12usize {
            let c = match spk {
                0 => 0,
                1 => 2,
                _ => i % 3,
            };
            s.push_str(&format!("s{spk}_{i}.wav,spk{spk},{}", ["a", "b", "c"][c]));
            for j in 0..4usize {
                let noise = (((spk * 131 + i * 17 + j * 7) * 2654435761) % 1000) as f64 / 1000.0;
                let signal = if j == c { 2.0 } else { 0.0 };
                s.push_str(&format!(",{}", signal + noise + 0.1 * spk as f64));
            }
            s.push('\n');
        }
    }
    std::fs::write(path, s).unwrap();
}

/// The three-class p2 network (batch norm, 8 hidden units, 40 epochs) the
/// tests below train on the features in `csv`.
fn net_args(csv: &str) -> [&str; 11] {
    [
        "--features",
        csv,
        "--classes",
        "a,b,c",
        "--activation",
        "p2",
        "--batch-norm",
        "--hidden",
        "8",
        "--epochs",
        "40",
    ]
}

#[test]
fn multi_class_eval_over_seeds_reports_mean_std_and_the_worst_seed() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let csv = csv.to_str().unwrap();
    let common = [&["nn", "eval"][..], &net_args(csv), &["--seeds", "2"]].concat();
    let (ok, out) = privox(&common);
    assert!(ok, "{out}");
    assert!(out.contains("recipe robust"), "{out}");
    assert!(out.contains("seed 1 ") && out.contains("seed 2 "), "{out}");
    assert!(out.contains("(mean ± std); worst seed"), "{out}");
    assert!(
        out.contains("rows true, columns predicted: a, b, c"),
        "{out}"
    );
    let (ok, out) = privox(&[&common[..], &["--recipe", "paper"]].concat());
    assert!(ok, "{out}");
    assert!(out.contains("recipe paper"), "{out}");
}

#[test]
fn a_three_class_model_is_trained_saved_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let model = dir.path().join("m.pvxnn");
    let (csv, model) = (csv.to_str().unwrap(), model.to_str().unwrap());
    let (ok, out) = privox(&[&["nn", "train"][..], &net_args(csv), &["-o", model]].concat());
    assert!(ok, "{out}");
    let (ok, out) = privox(&["nn", "eval", "--model", model, "--features", csv]);
    assert!(ok, "{out}");
    assert!(out.contains("columns predicted: a, b, c"), "{out}");
}

#[test]
fn bad_recipe_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let csv = csv.to_str().unwrap();
    let (ok, out) = privox(&[
        "nn",
        "eval",
        "--features",
        csv,
        "--classes",
        "a,b,c",
        "--recipe",
        "magic",
    ]);
    assert!(!ok && out.contains("magic"), "{out}");
    let (ok, out) = privox(&[
        "nn",
        "eval",
        "--features",
        csv,
        "--classes",
        "a,b,c",
        "--optimizer",
        "adam",
        "--momentum",
        "0.9",
    ]);
    assert!(
        !ok && out.contains("--momentum applies to sgd only"),
        "{out}"
    );
    let (ok, out) = privox(&[
        "nn",
        "eval",
        "--features",
        csv,
        "--classes",
        "a,b,c",
        "--min-epochs",
        "50",
        "--epochs",
        "10",
    ]);
    assert!(
        !ok && out.contains("min epochs (50) exceeds max epochs (10)"),
        "{out}"
    );
}
