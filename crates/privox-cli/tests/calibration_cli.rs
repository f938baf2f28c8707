//! Issue 12: speaker calibration end to end on small generated data.
//!
//! * models (SVM, MLP, and the MLP the encrypted path uses) trained with
//!   `--calibration speaker` refuse uncalibrated features, and uncalibrated
//!   models refuse calibrated ones, with a clear error;
//! * the hashed and encrypted paths send nothing new: a code file or an
//!   encrypted query made from calibrated features has the same kind, version
//!   and size as one made without, and the row list kept by the client is
//!   unchanged.

use std::path::Path;

mod common;
use common::privox;

/// 5 speakers × 12 rows of 4 features, neutral/angry alternating; every
/// speaker has a large offset of their own (the thing calibration removes).
fn write_csv(path: &Path) {
    let mut s = String::from("file,speaker,label,f0,f1,f2,f3\n");
    for spk in 0..5usize {
        for i in 0..12usize {
            let c = i % 2;
            s.push_str(&format!(
                "s{spk}_{i}.wav,spk{spk},{}",
                ["neutral", "angry"][c]
            ));
            for j in 0..4usize {
                let noise = (((spk * 131 + i * 17 + j * 7) * 2654435761) % 1000) as f64 / 1000.0;
                let signal = if j < 2 { 1.5 * c as f64 } else { 0.0 };
                s.push_str(&format!(",{}", signal + noise + 3.0 * spk as f64));
            }
            s.push('\n');
        }
    }
    std::fs::write(path, s).unwrap();
}

fn file_header(path: &Path) -> privox_format::Header {
    privox_format::peek_header(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn svm_models_refuse_mismatched_calibration_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let (cal, plain) = (dir.path().join("cal.pvx"), dir.path().join("plain.pvx"));
    let (csv, cal, plain) = (
        csv.to_str().unwrap(),
        cal.to_str().unwrap(),
        plain.to_str().unwrap(),
    );
    let train = |out: &str, mode: &str| {
        privox(&[
            "svm",
            "train",
            "--features",
            csv,
            "-c",
            "1",
            "--gamma",
            "0.5",
            "--calibration",
            mode,
            "-o",
            out,
        ])
    };
    let (ok, out) = train(cal, "speaker");
    assert!(ok, "{out}");
    let (ok, out) = train(plain, "none");
    assert!(ok, "{out}");

    let (ok, out) = privox(&["svm", "predict", "--model", cal, "--features", csv]);
    assert!(
        !ok,
        "a calibrated model must refuse uncalibrated features: {out}"
    );
    assert!(
        out.contains("expects features with calibration `speaker`")
            && out.contains("--calibration speaker"),
        "{out}"
    );
    let (ok, out) = privox(&[
        "svm",
        "predict",
        "--model",
        cal,
        "--features",
        csv,
        "--calibration",
        "speaker",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("accuracy"), "{out}");

    let (ok, out) = privox(&[
        "svm",
        "predict",
        "--model",
        plain,
        "--features",
        csv,
        "--calibration",
        "speaker",
    ]);
    assert!(
        !ok,
        "an uncalibrated model must refuse calibrated features: {out}"
    );
    assert!(
        out.contains("expects features with calibration `none`"),
        "{out}"
    );
    let (ok, out) = privox(&[
        "svm",
        "predict",
        "--model",
        plain,
        "--features",
        csv,
        "--calibration",
        "robust",
    ]);
    assert!(!ok, "{out}");
    let (ok, out) = privox(&["svm", "predict", "--model", plain, "--features", csv]);
    assert!(ok, "{out}");
}

#[test]
fn too_few_recordings_warn_and_fall_back() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let out_csv = dir.path().join("cal.csv");
    let (ok, out) = privox(&[
        "calibrate",
        "apply",
        "--features",
        csv.to_str().unwrap(),
        "--calibration",
        "speaker",
        "--min-recordings",
        "13",
        "-o",
        out_csv.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("5 speaker(s) have fewer than 13 recordings") && out.contains("spk0 (12)"),
        "{out}"
    );
    let (ok, out) = privox(&[
        "calibrate",
        "apply",
        "--features",
        csv.to_str().unwrap(),
        "--calibration",
        "speaker",
        "-o",
        out_csv.to_str().unwrap(),
    ]);
    assert!(ok && !out.contains("warning"), "{out}");
}

#[test]
fn hashed_path_sends_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let key = dir.path().join("k.smhkey");
    let csv_s = csv.to_str().unwrap();
    let (ok, out) = privox(&[
        "smh",
        "keygen",
        "--dim",
        "4",
        "--seed",
        "1",
        "-o",
        key.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let hash = |out_file: &Path, mode: &str| {
        privox(&[
            "smh",
            "hash",
            "--key",
            key.to_str().unwrap(),
            "--features",
            csv_s,
            "--scale-from",
            csv_s,
            "--calibration",
            mode,
            "-o",
            out_file.to_str().unwrap(),
        ])
    };
    let (plain, cal) = (dir.path().join("plain.pvx"), dir.path().join("cal.pvx"));
    let (ok, out) = hash(&plain, "none");
    assert!(ok, "{out}");
    let (ok, out) = hash(&cal, "speaker");
    assert!(ok, "{out}");
    // Same kind of object, same version, same parameters, same size: the
    // server receives codes of the same shape and nothing else.
    assert_eq!(file_header(&plain), file_header(&cal));
    assert_eq!(
        std::fs::metadata(&plain).unwrap().len(),
        std::fs::metadata(&cal).unwrap().len()
    );
    assert_ne!(std::fs::read(&plain).unwrap(), std::fs::read(&cal).unwrap());
    // Δ is tuned on calibrated features when asked: another Δ than without.
    let tune = |mode: &str| {
        privox(&[
            "smh",
            "tune",
            "--features",
            csv_s,
            "--target",
            "60",
            "--seed",
            "1",
            "--keys",
            "1",
            "--calibration",
            mode,
        ])
    };
    let (ok, with) = tune("speaker");
    assert!(ok, "{with}");
    let (ok, without) = tune("none");
    assert!(ok, "{without}");
    assert_ne!(with, without);
}

#[test]
fn mlp_and_encrypted_path_refuse_mismatches_and_send_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("f.csv");
    write_csv(&csv);
    let csv = csv.to_str().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let train = |out: &str, mode: &str| {
        privox(&[
            "nn",
            "train",
            "--features",
            csv,
            "--activation",
            "p2",
            "--batch-norm",
            "--hidden",
            "4",
            "--epochs",
            "20",
            "--calibration",
            mode,
            "-o",
            out,
        ])
    };
    let (cal, plain) = (d("cal.pvxnn"), d("plain.pvxnn"));
    let (ok, out) = train(&cal, "speaker");
    assert!(ok, "{out}");
    let (ok, out) = train(&plain, "none");
    assert!(ok, "{out}");
    let eval = |model: &str, calibration: &[&str]| {
        privox(
            &[
                &["nn", "eval", "--model", model, "--features", csv][..],
                calibration,
            ]
            .concat(),
        )
    };
    let (ok, out) = eval(&cal, &[]);
    assert!(!ok && out.contains("calibration `speaker`"), "{out}");
    let (ok, out) = eval(&plain, &["--calibration", "speaker"]);
    assert!(!ok && out.contains("calibration `none`"), "{out}");
    let (ok, out) = eval(&cal, &["--calibration", "speaker"]);
    assert!(ok, "{out}");

    // Encrypted path: the client refuses to encrypt mismatched features.
    let keys = |model: &str, prefix: &str| {
        privox(&[
            "he",
            "keygen",
            "--model",
            model,
            "--packing",
            "batch",
            "--seed",
            "3",
            "-o",
            prefix,
        ])
    };
    let (ok, out) = keys(&cal, &d("kc"));
    assert!(ok, "{out}");
    let (ok, out) = keys(&plain, &d("kp"));
    assert!(ok, "{out}");
    let encrypt = |model: &str, key: &str, out: &str, mode: &str| {
        privox(&[
            "he",
            "encrypt",
            "--model",
            model,
            "--packing",
            "batch",
            "--key",
            key,
            "--features",
            csv,
            "--calibration",
            mode,
            "-o",
            out,
        ])
    };
    let (ok, out) = encrypt(&cal, &d("kc.sk"), &d("qx.pvxq"), "none");
    assert!(!ok && out.contains("calibration `speaker`"), "{out}");
    let (ok, out) = encrypt(&plain, &d("kp.sk"), &d("qx.pvxq"), "speaker");
    assert!(!ok && out.contains("calibration `none`"), "{out}");
    let (ok, out) = encrypt(&cal, &d("kc.sk"), &d("qc.pvxq"), "speaker");
    assert!(ok, "{out}");
    let (ok, out) = encrypt(&plain, &d("kp.sk"), &d("qp.pvxq"), "none");
    assert!(ok, "{out}");
    // The query of calibrated features is the same kind of object, of the
    // same size, as the uncalibrated one; the client's row list too.
    let (hc, hp) = (
        file_header(Path::new(&d("qc.pvxq"))),
        file_header(Path::new(&d("qp.pvxq"))),
    );
    assert_eq!((hc.magic, hc.version), (hp.magic, hp.version));
    assert_eq!(
        std::fs::metadata(d("qc.pvxq")).unwrap().len(),
        std::fs::metadata(d("qp.pvxq")).unwrap().len()
    );
    assert_eq!(
        std::fs::read(d("qc.pvxq.rows.csv")).unwrap(),
        std::fs::read(d("qp.pvxq.rows.csv")).unwrap()
    );
    // The server half runs on it exactly as before.
    let (ok, out) = privox(&[
        "he",
        "infer",
        "--model",
        &cal,
        "--packing",
        "batch",
        "--eval-keys",
        &d("kc.evk"),
        "--input",
        &d("qc.pvxq"),
        "-o",
        &d("rc.pvxr"),
    ]);
    assert!(ok, "{out}");
}
