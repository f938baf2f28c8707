//! The validation speakers of the paper's recipe, per corpus, seed and
//! held-out speaker, as CSV: what `bench/nn/sklearn_reference.py` needs to
//! train scikit-learn on exactly the same speakers as privox-nn.
//!
//! ```sh
//! cargo run --release -p privox-nn --example validation_splits -- OUT.csv [--seeds N] [--csv FILE]...
//! ```
//!
//! Defaults: seeds 1–5, the reference features of
//! `../shared/data/{emodb,nemo}` (read at run time, never copied). Table 4
//! itself is reproduced by `privox repro` (crate `privox-repro`), its one home.

use std::fmt::Write as _;
use std::path::PathBuf;

use privox_data::protocol::OuterSplit;
use privox_data::{ClassSet, FeatureTable, shared_dir};
use privox_nn::protocol::{EpochSelection, Recipe, speaker_holdout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut seeds = 5u64;
    let mut csvs: Vec<PathBuf> = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seeds" => seeds = args.next().ok_or("--seeds needs a value")?.parse()?,
            "--csv" => csvs.push(args.next().ok_or("--csv needs a value")?.into()),
            o if out.is_none() && !o.starts_with("--") => out = Some(o.into()),
            o => return Err(format!("unknown option {o} (see the example's doc comment)").into()),
        }
    }
    let out = out.ok_or("give the output CSV path")?;
    if csvs.is_empty() {
        let Some(shared) = shared_dir() else {
            eprintln!("skipping: ../shared/data not found (pass --csv FILE)");
            return Ok(());
        };
        for c in ["emodb", "nemo"] {
            csvs.push(
                shared
                    .join("data")
                    .join(c)
                    .join("egemaps_v02_opensmile.csv"),
            );
        }
    }
    let EpochSelection::Holdout { val_folds, .. } = Recipe::paper().selection else {
        return Err("the paper's recipe holds out validation speakers".into());
    };
    let mut csv = String::from("corpus,seed,test_speaker,validation_speakers\n");
    for path in &csvs {
        // The reference files are all named egemaps_v02_opensmile.csv: name them by folder.
        let corpus = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = FeatureTable::read_csv(path)?.to_dataset(&ClassSet::neutral_angry())?;
        let folds = OuterSplit::LeaveOneSpeakerOut.folds(&data)?;
        for seed in 1..=seeds {
            for f in &folds {
                let (_, val) = speaker_holdout(&data, &f.train, val_folds, seed)?;
                let mut names: Vec<&str> = val
                    .iter()
                    .map(|&i| data.group_names[data.groups[i]].as_str())
                    .collect();
                names.sort_unstable();
                names.dedup();
                writeln!(csv, "{corpus},{seed},{},{}", f.name, names.join(";"))?;
            }
        }
    }
    std::fs::write(&out, csv)?;
    eprintln!("validation splits written to {}", out.display());
    Ok(())
}
