//! The study behind `Recipe::robust`: training-recipe variants of the
//! HE-aware network (and the ReLU baseline) side by side, leave-one-speaker-out,
//! over several seeds, as Markdown rows.
//!
//! ```sh
//! cargo run --release -p privox-nn --example recipe_study -- \
//!     --csv FEATURES.csv [--classes neutral,angry] [--seeds 5] [--act p2|p4|p6|relu] \
//!     [--variants paper,class-holdout,...|all]
//! ```
//!
//! Each row: variant, pooled UAR mean ± std over the seeds, worst seed,
//! folds collapsed to one predicted class (summed over seeds), mean kept
//! epoch, largest test |pre-activation|, CPU-ish wall time (run it with
//! `RAYON_NUM_THREADS=1`). Variants are defined in `variant()` below.

use std::path::PathBuf;
use std::time::Instant;

use privox_data::{ClassSet, FeatureTable, leave_one_group_out};
use privox_nn::protocol::{EpochSelection, NetworkCells, ProtocolConfig, Recipe, evaluate_cells};
use privox_nn::{Activation, ClassWeights, NetworkSpec, Optimizer, PolyActivation, StopOn};

const ALL: &[&str] = &[
    "paper",
    "paper+class-holdout",
    "paper+balanced",
    "paper+class-holdout+balanced",
    "paper+class-holdout+balanced+min20",
    "paper+momentum",
    "innercv",
    "innercv+balanced",
    "innercv+balanced+momentum",
    "innercv+balanced+momentum+range1",
    "innercv+balanced+momentum+uar",
    "innercv+balanced+momentum+range1+gamma1",
    "robust",
];

fn variant(name: &str) -> Option<(Recipe, Option<f64>)> {
    let mut r = Recipe::paper();
    let mut gamma = None;
    if name == "robust" {
        return Some((Recipe::robust(), None));
    }
    for part in name.split('+') {
        match part {
            "paper" => {}
            "innercv" => {
                r.selection = EpochSelection::InnerCv {
                    folds: 3,
                    bn_gamma_grid: Vec::new(),
                }
            }
            "innercv4" => {
                r.selection = EpochSelection::InnerCv {
                    folds: 4,
                    bn_gamma_grid: Vec::new(),
                }
            }
            "class-holdout" => {
                r.selection = EpochSelection::Holdout {
                    val_folds: 4,
                    class_aware: true,
                }
            }
            "balanced" => r.train.class_weights = ClassWeights::Balanced,
            "min20" => r.train.min_epochs = 20,
            "min5" => r.train.min_epochs = 5,
            "momentum" => {
                r.train.optimizer = Optimizer::Sgd {
                    learning_rate: 0.01,
                    momentum: 0.9,
                }
            }
            "adam" => r.train.optimizer = Optimizer::adam(1e-3),
            "uar" => r.train.stop_on = StopOn::ValUar,
            "range1" => r.train.range_penalty = 1.0,
            "range10" => r.train.range_penalty = 10.0,
            "range100" => r.train.range_penalty = 100.0,
            "gamma1" => gamma = Some(1.0),
            "gamma03" => gamma = Some(0.3),
            "ep200" => r.train.max_epochs = 200,
            "ep100" => r.train.max_epochs = 100,
            "pat10" => r.train.patience = 10,
            _ => return None,
        }
    }
    Some((r, gamma))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut csv, mut classes, mut seeds, mut act, mut variants) = (
        None::<PathBuf>,
        "neutral,angry".to_string(),
        5u64,
        "p2".to_string(),
        "all".to_string(),
    );
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--csv" => csv = Some(val()?.into()),
            "--classes" => classes = val()?,
            "--seeds" => seeds = val()?.parse()?,
            "--act" => act = val()?,
            "--variants" => variants = val()?,
            o => return Err(format!("unknown option {o}").into()),
        }
    }
    let csv = csv.ok_or("--csv FILE is required")?;
    let table = FeatureTable::read_csv(&csv)?;
    let data = table.to_dataset(&ClassSet::new(classes.split(','))?)?;
    let folds = leave_one_group_out(&data.groups, &data.group_names);
    let activation = if act == "relu" {
        Activation::Relu
    } else {
        Activation::Poly(PolyActivation::preset(&act).ok_or("unknown --act")?)
    };
    let names: Vec<String> = if variants == "all" {
        ALL.iter().map(|s| s.to_string()).collect()
    } else {
        variants.split(',').map(String::from).collect()
    };
    println!(
        "{}: {} rows, {} speakers, classes {classes}, activation {act}, seeds 1..={seeds}\n",
        csv.display(),
        data.len(),
        folds.len()
    );
    println!(
        "| variant | UAR % (mean ± std) | worst seed UAR % | collapsed folds | mean epoch | max \\|pre-act\\| | wall s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for name in names {
        let (recipe, gamma) = variant(&name).ok_or(format!("unknown variant {name}"))?;
        let spec = match &activation {
            Activation::Relu => NetworkSpec::paper(false, Activation::Relu),
            a => {
                let mut s = NetworkSpec::he_aware(a.clone());
                if let Some(g) = gamma {
                    s.bn_gamma_init = g;
                }
                s
            }
        };
        let proto = ProtocolConfig {
            train: recipe.train,
            selection: recipe.selection,
            seeds: (1..=seeds).collect(),
            clip_inputs: Some(1.0),
        };
        let t = Instant::now();
        let cells = evaluate_cells(
            &data,
            &folds,
            &[NetworkCells::plain(&name, spec)],
            &proto,
            &|| {},
        )?;
        let s = cells[0].summary().ok_or("no runs")?;
        println!(
            "| {name} | {:.2} ± {:.2} | {:.2} (seed {}) | {} | {:.1} | {:.2} | {:.1} |",
            s.uar_mean,
            s.uar_std,
            s.worst_uar,
            s.worst_seed,
            s.collapsed_folds,
            s.mean_epoch,
            s.max_preactivation,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
