//! Agreement with openSMILE on a slice of EmoDB, read from `../shared` at test
//! time (never committed). Skips with a message when `../shared` is absent
//! (fails instead under `PRIVOX_REQUIRE_SHARED=1`).
//! The full-corpus comparison is `bench/egemaps/run.sh`.

mod common;

use std::collections::HashMap;

use privox_data::{shared_dir, skip_without_shared};
use privox_egemaps::{FEATURE_NAMES, NUM_FEATURES, extract};

#[test]
fn emodb_slice_agrees_with_opensmile() {
    let Some(shared) = shared_dir() else {
        skip_without_shared("../shared/data/emodb not found (set PRIVOX_SHARED)");
        return;
    };
    let csv = shared.join("data/emodb/egemaps_v02_opensmile.csv");
    let Ok(text) = std::fs::read_to_string(&csv) else {
        skip_without_shared(format!("{} not found", csv.display()));
        return;
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cols: Vec<usize> = FEATURE_NAMES
        .iter()
        .map(|n| header.iter().position(|h| h == n).expect("oracle column"))
        .collect();
    let refs: HashMap<String, Vec<f64>> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].rsplit('/').next().unwrap().to_string(),
                cols.iter().map(|&c| f[c].parse().unwrap()).collect(),
            )
        })
        .collect();
    let mut names: Vec<&String> = refs.keys().collect();
    names.sort();
    // Every 18th file: 30 files, all speakers and emotions.
    let picked: Vec<&String> = names.into_iter().step_by(18).collect();
    let mut rel: Vec<Vec<f64>> = vec![Vec::new(); NUM_FEATURES];
    for name in &picked {
        let (x, sr) = common::read_wav_i16(&shared.join("data/emodb/wav").join(name));
        let got = extract(&x, sr).unwrap();
        for (k, (g, r)) in got.values().iter().zip(&refs[*name]).enumerate() {
            rel[k].push(if g == r {
                0.0
            } else {
                (g - r).abs() / r.abs().max(1e-12)
            });
        }
    }
    let mut within = 0;
    for (k, mut v) in rel.into_iter().enumerate() {
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        if median <= 0.005 {
            within += 1;
        } else {
            eprintln!(
                "{}: median rel err {:.3}%",
                FEATURE_NAMES[k],
                median * 100.0
            );
        }
    }
    eprintln!(
        "{within}/88 features within 0.5% median relative error on {} files",
        picked.len()
    );
    assert!(within >= 86, "only {within}/88 features within 0.5%");
}
