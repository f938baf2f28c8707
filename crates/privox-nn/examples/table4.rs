//! The paper's Table 4 in the clear, with the ReLU baseline and the
//! HE-aware networks, as a Markdown table.
//!
//! ```sh
//! cargo run --release -p privox-nn --example table4 -- [OPTIONS]
//! ```
//!
//! Options (defaults in brackets):
//! * `--csv PATH` feature table, repeatable [`../shared/data/{emodb,nemo}/egemaps_v02_opensmile.csv`]
//! * `--seeds N` [5]; `--optimizer adam|sgd` [sgd]; `--lr X` [0.01 sgd, 1e-3 adam]
//! * `--epochs N` [300]; `--patience N` [20]; `--batch N` [32]; `--val-folds K` [4]
//! * `--stop-on loss|uar` [loss]; `--weight-decay X` [0]; `--range-penalty X` [0]
//! * `--clip C` clamp scaled test features to [-C, C], 0 = off [1]
//! * `--cells all|baseline|he-aware` [all] (`he-aware`: ReLU and the HE-aware p2, p4, p6 only);
//!   `--export-splits FILE` (validation speakers per fold, for bench/nn); `--splits-only`
//!   (write the splits, train nothing)
//! * `--recipe paper|robust` [paper: the published table]; give it first, the
//!   options after it override single settings
//! * `--classes a,b,...` [neutral,angry]
//!
//! The reference CSVs are read at run time and never copied into the repository.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use privox_data::{ClassSet, FeatureTable, leave_one_group_out, mean_std, shared_dir};
use privox_nn::protocol::{
    CellResult, EpochSelection, ProtocolConfig, Recipe, Table4Cells, evaluate_cells,
    paper_table4_value, speaker_holdout,
};
use privox_nn::{Optimizer, StopOn, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut csvs: Vec<PathBuf> = Vec::new();
    let mut seeds = 5u64;
    let mut optimizer = "sgd".to_string();
    let mut lr: Option<f64> = None;
    let mut cfg = TrainConfig::default();
    let mut selection = Recipe::paper().selection;
    let mut recipe_name = "paper".to_string();
    let mut classes = ClassSet::neutral_angry();
    let mut val_folds = 4usize;
    let mut cells = "all".to_string();
    let mut export: Option<PathBuf> = None;
    let mut clip: Option<f64> = Some(1.0);
    let mut splits_only = false;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--csv" => csvs.push(val()?.into()),
            "--recipe" => {
                recipe_name = val()?;
                let r = Recipe::named(&recipe_name).ok_or("--recipe paper|robust")?;
                cfg = r.train;
                let (EpochSelection::Holdout { val_folds: k, .. }
                | EpochSelection::InnerCv { folds: k, .. }) = r.selection;
                val_folds = k;
                selection = r.selection;
            }
            "--classes" => classes = ClassSet::new(val()?.split(','))?,
            "--seeds" => seeds = val()?.parse()?,
            "--optimizer" => optimizer = val()?,
            "--lr" => lr = Some(val()?.parse()?),
            "--epochs" => cfg.max_epochs = val()?.parse()?,
            "--patience" => cfg.patience = val()?.parse()?,
            "--batch" => cfg.batch_size = val()?.parse()?,
            "--val-folds" => val_folds = val()?.parse()?,
            "--weight-decay" => cfg.weight_decay = val()?.parse()?,
            "--range-penalty" => cfg.range_penalty = val()?.parse()?,
            "--stop-on" => {
                cfg.stop_on = match val()?.as_str() {
                    "loss" => StopOn::ValLoss,
                    "uar" => StopOn::ValUar,
                    o => return Err(format!("--stop-on loss|uar, got {o}").into()),
                }
            }
            "--cells" => cells = val()?,
            "--clip" => {
                let c: f64 = val()?.parse()?;
                clip = (c > 0.0).then_some(c);
            }
            "--export-splits" => export = Some(val()?.into()),
            "--splits-only" => splits_only = true,
            o => return Err(format!("unknown option {o} (see the example's doc comment)").into()),
        }
    }
    let recipe_momentum = match cfg.optimizer {
        Optimizer::Sgd { momentum, .. } => momentum,
        Optimizer::Adam { .. } => 0.0,
    };
    cfg.optimizer = match optimizer.as_str() {
        "adam" => Optimizer::adam(lr.unwrap_or(1e-3)),
        "sgd" => Optimizer::Sgd {
            learning_rate: lr.unwrap_or(0.01),
            momentum: recipe_momentum,
        },
        o => return Err(format!("--optimizer adam|sgd, got {o}").into()),
    };
    selection = match selection {
        EpochSelection::Holdout { class_aware, .. } => EpochSelection::Holdout {
            val_folds,
            class_aware,
        },
        EpochSelection::InnerCv { bn_gamma_grid, .. } => EpochSelection::InnerCv {
            folds: val_folds,
            bn_gamma_grid,
        },
    };
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

    let jobs = Table4Cells::parse(&cells)
        .ok_or("--cells all|baseline|he-aware")?
        .networks();
    let proto = ProtocolConfig {
        train: cfg.clone(),
        selection: selection.clone(),
        seeds: (1..=seeds).collect(),
        clip_inputs: clip,
    };

    let mut md = String::new();
    writeln!(
        md,
        "Settings: recipe {recipe_name}: {:?}, batch {}, max {} epochs (min {}), patience {} on validation {:?}, \
         {}, {:?} class weights, weight decay {}, range penalty {} (polynomial networks only), input clamp {clip:?}, seeds 1..={seeds}.\n",
        cfg.optimizer,
        cfg.batch_size,
        cfg.max_epochs,
        cfg.min_epochs,
        cfg.patience,
        cfg.stop_on,
        selection.describe(),
        cfg.class_weights,
        cfg.weight_decay,
        cfg.range_penalty
    )?;
    let mut split_csv = String::from("corpus,seed,test_speaker,validation_speakers\n");
    for csv in &csvs {
        // The oracle files are all named egemaps_v02_opensmile.csv: name them by folder.
        let corpus = if csv
            .file_name()
            .is_some_and(|n| n == "egemaps_v02_opensmile.csv")
        {
            csv.parent().and_then(|p| p.file_name())
        } else {
            csv.file_stem()
        }
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
        let data = FeatureTable::read_csv(csv)?.to_dataset(&classes)?;
        let folds = leave_one_group_out(&data.groups, &data.group_names);
        if export.is_some() {
            for &seed in &proto.seeds {
                for f in &folds {
                    let (_, val) = speaker_holdout(&data, &f.train, val_folds, seed)?;
                    let mut names: Vec<&str> = val
                        .iter()
                        .map(|&i| data.group_names[data.groups[i]].as_str())
                        .collect();
                    names.sort_unstable();
                    names.dedup();
                    writeln!(split_csv, "{corpus},{seed},{},{}", f.name, names.join(";"))?;
                }
            }
        }
        if splits_only {
            continue;
        }
        let total = folds.len() * jobs.len() * proto.seeds.len();
        let done = AtomicUsize::new(0);
        let t = Instant::now();
        let results = evaluate_cells(&data, &folds, &jobs, &proto, &|| {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            eprint!("\r{corpus}: {d}/{total} trainings");
        })?;
        eprintln!(" in {:.1} s", t.elapsed().as_secs_f64());
        let counts: Vec<String> = data
            .class_counts()
            .iter()
            .zip(data.classes.names())
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        writeln!(
            md,
            "### {corpus} ({} rows: {}; {} speakers; leave-one-speaker-out)\n",
            data.len(),
            counts.join(", "),
            data.group_names.len()
        )?;
        md.push_str(&table(&results));
        md.push('\n');
    }
    if !splits_only {
        print!("{md}");
    }
    if let Some(p) = export {
        std::fs::write(&p, split_csv)?;
        eprintln!("validation splits written to {}", p.display());
    }
    Ok(())
}

fn table(results: &[CellResult]) -> String {
    let mut s = String::from(
        "| network | accuracy % (mean ± std) | UAR % (mean ± std) | paper accuracy % | mean kept epoch | max \\|pre-activation\\| on test |\n|---|---|---|---|---|---|\n",
    );
    for c in results {
        let acc: Vec<f64> = c
            .runs
            .iter()
            .map(|r| 100.0 * r.pooled().accuracy())
            .collect();
        let uar: Vec<f64> = c.runs.iter().map(|r| 100.0 * r.pooled().uar()).collect();
        let (am, asd) = mean_std(&acc);
        let (um, usd) = mean_std(&uar);
        let epochs: Vec<f64> = c
            .runs
            .iter()
            .flat_map(|r| r.best_epochs.iter().map(|&e| e as f64))
            .collect();
        let max_pre = c
            .runs
            .iter()
            .map(|r| r.max_preactivation)
            .fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "| {} | {am:.2} ± {asd:.2} | {um:.2} ± {usd:.2} | {} | {:.1} | {max_pre:.1} |",
            c.name,
            paper_table4_value(&c.name),
            mean_std(&epochs).0
        );
    }
    s
}
