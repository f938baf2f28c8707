//! The umbrella run in quick mode, end to end, on a tiny synthetic corpus
//! (no ../shared, no audio): Fig. 1 and the hashing phase write their
//! records, Markdown and SVGs.

use privox_repro::{Corpus, Phase, RunOptions, run_phases};
use std::fmt::Write as _;

/// 4 speakers × 16 rows (neutral/angry alternating), 88 features: a class
/// shift on the first 20 features plus deterministic per-row jitter.
fn synthetic_csv() -> String {
    let mut s = String::from("file,speaker,label");
    for f in 0..88 {
        let _ = write!(s, ",f{f}");
    }
    s.push('\n');
    for spk in 0..4u64 {
        for i in 0..16u64 {
            let label = if i % 2 == 0 { "neutral" } else { "angry" };
            let _ = write!(s, "s{spk}_{i}.wav,s{spk},{label}");
            for f in 0..88u64 {
                let h = (spk * 7919 + i * 104_729 + f * 1_299_709) % 1000;
                let jitter = h as f64 / 1000.0 - 0.5;
                let shift = if i % 2 == 1 && f < 20 { 1.5 } else { 0.0 };
                let _ = write!(s, ",{:.4}", shift + jitter + 0.1 * spk as f64);
            }
            s.push('\n');
        }
    }
    s
}

#[test]
fn quick_umbrella_runs_end_to_end_on_a_synthetic_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let corpus_dir = dir.path().join("synth");
    std::fs::create_dir(&corpus_dir).unwrap();
    std::fs::write(
        corpus_dir.join("egemaps_v02_opensmile.csv"),
        synthetic_csv(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let opts = RunOptions {
        quick: true,
        seeds: vec![1],
        progress: false,
        ..RunOptions::new(&out)
    };
    let corpora = [Corpus::open(&corpus_dir).unwrap()];
    let phases: Vec<Phase> = vec![privox_repro::smh_curve::PHASE, privox_repro::hashing::PHASE];
    let reports = run_phases(&phases, &corpora, &opts).unwrap();
    assert_eq!(
        reports.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["smh-curve", "hashing"]
    );
    for r in &reports {
        assert!(r.wall_s > 0.0, "{}", r.name);
        for p in &r.records {
            assert!(p.is_file(), "{} wrote {}", r.name, p.display());
        }
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&r.records[0]).unwrap()).unwrap();
        assert_eq!(record["phase"], r.name.as_str());
        assert_eq!(record["quick"], true);
        assert_eq!(record["seeds"], serde_json::json!([1]));
        assert!(record["versions"]["privox-repro"].is_string());
        assert!(record["finished_utc"].as_str().unwrap().starts_with("20"));
    }
    let md = std::fs::read_to_string(out.join("hashing.md")).unwrap();
    assert!(md.contains("BEGIN GENERATED: table2-accuracy"));
    assert!(md.contains("synth"), "the corpus is named in the report");
    assert!(out.join("hashing-frontier.svg").is_file());
    assert!(out.join("smh-expected-distance.svg").is_file());
    assert!(out.join("smh-expected-distance.md").is_file());
    // The separable synthetic classes are learnt by the baseline.
    let data: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("hashing-data/synth-opensmile.json")).unwrap(),
    )
    .unwrap();
    let acc = data["baseline"]["seeds"][0]["accuracy"].as_f64().unwrap();
    assert!(acc > 80.0, "baseline accuracy {acc}");
}
