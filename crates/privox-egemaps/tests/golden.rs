//! Golden test: four bundled EmoDB demo recordings against values this
//! extractor produced once (stored in `tests/golden/demo_functionals.csv`),
//! after those values were checked against openSMILE (see bench/egemaps).
//! Regenerate with `PRIVOX_UPDATE_GOLDEN=1 cargo test -p privox-egemaps --test golden`.

mod common;

use std::fmt::Write as _;

use privox_egemaps::{FEATURE_NAMES, extract};

const FILES: [&str; 4] = ["03a01Nc.wav", "09a02Wb.wav", "13a01Nb.wav", "16b01Wb.wav"];
const GOLDEN: &str = "tests/golden/demo_functionals.csv";

#[test]
fn demo_files_match_golden_values() {
    let root = common::workspace_root();
    let golden_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let mut rows = Vec::new();
    for f in FILES {
        let (x, sr) = common::read_wav_i16(&root.join("data/demo/wav").join(f));
        let feats = extract(&x, sr).unwrap_or_else(|e| panic!("{f}: {e}"));
        rows.push((f, *feats.values()));
    }
    if std::env::var_os("PRIVOX_UPDATE_GOLDEN").is_some() {
        let mut s = String::from("file");
        for n in FEATURE_NAMES {
            write!(s, ",{n}").unwrap();
        }
        s.push('\n');
        for (f, v) in &rows {
            s.push_str(f);
            for x in v {
                write!(s, ",{x:e}").unwrap();
            }
            s.push('\n');
        }
        std::fs::write(&golden_path, s).unwrap();
        eprintln!("wrote {}", golden_path.display());
        return;
    }
    let text = std::fs::read_to_string(&golden_path).expect("golden file");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[1..], &FEATURE_NAMES[..]);
    for ((f, got), line) in rows.iter().zip(lines) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols[0], *f);
        for (k, (g, want)) in got.iter().zip(&cols[1..]).enumerate() {
            let want: f64 = want.parse().unwrap();
            let tol = 1e-4 * want.abs().max(1e-3);
            assert!(
                (g - want).abs() <= tol,
                "{f} {}: got {g}, golden {want}",
                FEATURE_NAMES[k]
            );
        }
    }
}
