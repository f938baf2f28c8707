//! The hashing approach: Tables 1 and 2, the RBF baseline, Δ tuning and the
//! privacy/utility frontier, under leave-one-speaker-out.
//!
//! Binary neutral vs angry. Per outer fold the scaler is fit on the training
//! speakers only; SMH codes are made for every k × Δ and key seed, and an
//! RBF-Hamming SVM is trained with (C, γ) chosen by speaker-grouped inner CV
//! on the training speakers. The plain RBF-SVM on the scaled features is the
//! baseline, with the same search. Each corpus/feature-set run is saved as
//! aggregate JSON under `OUT/hashing-data/`; `OUT/hashing.md` and
//! `OUT/hashing-frontier.svg` are regenerated from every JSON there.

pub mod experiment;
pub mod plot;
pub mod record;
pub mod report;

use privox_data::{ClassSet, Dataset, FeatureTable};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;

use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions, Stopwatch};
use experiment::{FoldOutcome, Hashing, OuterFold, SearchGrid, TaskKind};
use record::{ConfigResult, RunRecord, SeedResult, Timing};

/// What the hashing experiment runs (the CLI's `repro hashing` flags).
#[derive(Clone, Debug, Serialize)]
pub struct HashingConfig {
    /// Alphabet sizes k of the Table 1/2 grid.
    pub k: Vec<u32>,
    /// Quantization steps Δ of the Table 1/2 grid.
    pub delta: Vec<f64>,
    /// Measurements per coefficient (M = mpc · 88 symbols).
    pub mpc: usize,
    /// Run the Table 1/2 grid.
    pub table: bool,
    /// Δ-tuning target leakages in percent (empty: no tuning rows).
    pub tune_targets: Vec<f64>,
    /// Alphabet size of the Δ-tuning rows.
    pub tune_k: u32,
    /// The (C, γ) search.
    pub grid: SearchGrid,
}

impl Default for HashingConfig {
    /// The full run: the paper's 4 × 4 grid, mpc = 32, tuning to 5/28/60 % at
    /// k = 3, 4 inner folds, log2 C ∈ −5:15:2, log2 γ ∈ −7:5:2 (77 points).
    fn default() -> Self {
        HashingConfig {
            k: vec![2, 3, 5, 10],
            delta: vec![2.0, 2.5, 3.0, 3.5],
            mpc: 32,
            table: true,
            tune_targets: vec![5.0, 28.0, 60.0],
            tune_k: 3,
            grid: SearchGrid {
                log2_c: (-5..=15).step_by(2).map(f64::from).collect(),
                log2_gamma: (-7..=5).step_by(2).map(f64::from).collect(),
                inner_folds: 4,
                inner_seed: 0,
            },
        }
    }
}

impl HashingConfig {
    /// `--quick`: k ∈ {3, 10} × Δ ∈ {2, 3}, one tuning row (28 % at k = 3),
    /// mpc = 16, 3 inner folds, log2 C ∈ {−3, 1, 5, 9}, log2 γ ∈ {−5, −1, 3}.
    pub fn quick() -> Self {
        HashingConfig {
            k: vec![3, 10],
            delta: vec![2.0, 3.0],
            mpc: 16,
            table: true,
            tune_targets: vec![28.0],
            tune_k: 3,
            grid: SearchGrid {
                log2_c: vec![-3.0, 1.0, 5.0, 9.0],
                log2_gamma: vec![-5.0, -1.0, 3.0],
                inner_folds: 3,
                inner_seed: 0,
            },
        }
    }
}

/// The hashing phase of the umbrella run: every feature set of every corpus,
/// then the report. `--quick` uses [`HashingConfig::quick`].
pub const PHASE: Phase = Phase {
    name: "hashing",
    describe: "Tables 1/2 (leakage, SMH + RBF-Hamming accuracy), RBF baseline, Δ tuning, frontier",
    run: run_phase,
};

fn run_phase(corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let cfg = opts.pick(HashingConfig::quick, HashingConfig::default);
    let mut files = Vec::new();
    for corpus in corpora {
        for set in corpus.feature_sets(opts)? {
            let record = run_table(&corpus.name, &set.name, set.table, &cfg, opts)?;
            opts.say(report::console_summary(&record));
            files.push(save(&record, opts)?);
        }
    }
    let (doc, svg) = report::regenerate(&opts.out)?;
    files.extend([doc, svg]);
    PhaseOutput::new("the hashing parameters", &cfg, files, Vec::new())
}

/// Writes `record` to `OUT/hashing-data/<corpus>-<features>.json`.
pub fn save(record: &RunRecord, opts: &RunOptions) -> Result<PathBuf> {
    let path = opts.out.join(report::DATA_DIR).join(record.file_name());
    crate::record::write_record(&path, record)?;
    Ok(path)
}

/// Runs tasks (configuration index, kind) × every fold in parallel; returns
/// per configuration its outcomes grouped by fold order.
fn run_tasks(
    label: &str,
    data: &Dataset,
    folds: &[OuterFold],
    kinds: &[TaskKind],
    mpc: usize,
    grid: &SearchGrid,
    opts: &RunOptions,
) -> Result<(Vec<Vec<FoldOutcome>>, Timing)> {
    let tasks: Vec<(usize, usize)> = (0..kinds.len())
        .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
        .collect();
    let pb = opts.bar(tasks.len(), label);
    let clock = Stopwatch::start();
    let outcomes = tasks
        .par_iter()
        .map(|&(c, f)| {
            let r = experiment::run_task(data, &folds[f], kinds[c], mpc, grid).map_err(|e| {
                ReproError::Task {
                    phase: label.to_string(),
                    task: format!("fold {} of configuration {:?}", folds[f].name, kinds[c]),
                    source: Box::new(e),
                }
            });
            pb.inc(1);
            r
        })
        .collect::<Result<Vec<_>>>()?;
    pb.finish();
    let timing = Timing {
        wall: clock.wall_s(),
        cpu: clock.cpu_s(),
    };
    let mut by_config: Vec<Vec<FoldOutcome>> = vec![Vec::new(); kinds.len()];
    for ((c, _), o) in tasks.into_iter().zip(outcomes) {
        by_config[c].push(o);
    }
    Ok((by_config, timing))
}

fn seed_result(
    seed: Option<u64>,
    folds: &[OuterFold],
    outcomes: &[FoldOutcome],
) -> Result<SeedResult> {
    let refs: Vec<&FoldOutcome> = outcomes.iter().collect();
    let cm = experiment::pool(&refs)?;
    Ok(SeedResult {
        seed,
        accuracy: 100.0 * cm.accuracy(),
        uar: 100.0 * cm.uar(),
        leak_below: outcomes.iter().map(|o| o.leak_below).sum(),
        leak_pairs: outcomes.iter().map(|o| o.leak_pairs).sum(),
        chosen: folds
            .iter()
            .zip(outcomes)
            .map(|(f, o)| (f.name.clone(), o.c, o.gamma, o.delta))
            .collect(),
        predicted_leak: outcomes.iter().filter_map(|o| o.predicted_leak).collect(),
    })
}

/// Runs the baseline, the k × Δ grid and the tuning rows of `cfg` on one
/// feature table (neutral vs angry rows) with the key seeds of `opts`.
/// `features` names the feature set in the record (e.g. `opensmile`,
/// `privox+speaker`).
pub fn run_table(
    corpus: &str,
    features: &str,
    table: FeatureTable,
    cfg: &HashingConfig,
    opts: &RunOptions,
) -> Result<RunRecord> {
    let seeds = &opts.seeds;
    let grid = &cfg.grid;
    let data = table
        .to_dataset(&ClassSet::neutral_angry())
        .map_err(ReproError::data(format!(
            "{corpus}: neutral and angry rows"
        )))?;
    data.require_two_classes()
        .map_err(ReproError::data(format!(
            "{corpus}: neutral and angry rows"
        )))?;
    let folds = experiment::outer_folds(&data)?;
    opts.say(format!(
        "{corpus} ({features} features): {} rows, classes {:?} = {:?}, {} speakers, {} features; key seeds {:?}; {} threads",
        data.len(),
        data.classes.names(),
        data.class_counts(),
        data.group_names.len(),
        data.x.cols(),
        seeds,
        rayon::current_num_threads()
    ));

    let (base, seconds_baseline) = run_tasks(
        &format!("{corpus} baseline"),
        &data,
        &folds,
        &[TaskKind::Baseline],
        cfg.mpc,
        grid,
        opts,
    )?;
    let baseline = ConfigResult {
        k: None,
        delta: None,
        target_percent: None,
        threshold: None,
        seeds: vec![seed_result(None, &folds, &base[0])?],
    };
    opts.say(format!(
        "  baseline RBF-SVM: {:.1} s wall, {:.1} s CPU",
        seconds_baseline.wall, seconds_baseline.cpu
    ));

    let assemble = |configs: &[Hashing],
                    outcomes: &[Vec<FoldOutcome>]|
     -> Result<Vec<ConfigResult>> {
        configs
            .iter()
            .enumerate()
            .map(|(ci, h)| {
                let (k, delta, target) = match *h {
                    Hashing::Fixed { k, delta } => (k, Some(delta), None),
                    Hashing::Tuned { k, target_percent } => (k, None, Some(target_percent)),
                };
                let seeds = seeds
                    .iter()
                    .enumerate()
                    .map(|(si, &s)| seed_result(Some(s), &folds, &outcomes[ci * seeds.len() + si]))
                    .collect::<Result<_>>()?;
                Ok(ConfigResult {
                    k: Some(k),
                    delta,
                    target_percent: target,
                    threshold: Some(experiment::threshold_for(k)?),
                    seeds,
                })
            })
            .collect()
    };
    let kinds_for = |configs: &[Hashing]| -> Vec<TaskKind> {
        configs
            .iter()
            .flat_map(|&hashing| {
                seeds
                    .iter()
                    .map(move |&seed| TaskKind::Hashed { hashing, seed })
            })
            .collect()
    };

    // One SMH phase: every configuration × key seed on every outer fold.
    let run_hashed = |label: &str, configs: &[Hashing]| -> Result<(Vec<ConfigResult>, Timing)> {
        let kinds = kinds_for(configs);
        let (out, secs) = run_tasks(label, &data, &folds, &kinds, cfg.mpc, grid, opts)?;
        Ok((assemble(configs, &out)?, secs))
    };

    let (mut table_rows, mut seconds_table) = (Vec::new(), Timing::default());
    if cfg.table {
        let configs: Vec<Hashing> = cfg
            .k
            .iter()
            .flat_map(|&k| {
                cfg.delta
                    .iter()
                    .map(move |&delta| Hashing::Fixed { k, delta })
            })
            .collect();
        (table_rows, seconds_table) = run_hashed(&format!("{corpus} k×Δ grid"), &configs)?;
        opts.say(format!(
            "  Table 2 grid ({} configs × {} seeds × {} folds, inner search): {:.1} s wall, {:.1} s CPU",
            configs.len(),
            seeds.len(),
            folds.len(),
            seconds_table.wall,
            seconds_table.cpu
        ));
    }

    let (mut tuned, mut seconds_tuned) = (Vec::new(), Timing::default());
    if !cfg.tune_targets.is_empty() {
        let configs: Vec<Hashing> = cfg
            .tune_targets
            .iter()
            .map(|&t| Hashing::Tuned {
                k: cfg.tune_k,
                target_percent: t,
            })
            .collect();
        (tuned, seconds_tuned) = run_hashed(&format!("{corpus} Δ tuning"), &configs)?;
        opts.say(format!(
            "  Δ tuning rows: {:.1} s wall, {:.1} s CPU",
            seconds_tuned.wall, seconds_tuned.cpu
        ));
    }

    Ok(RunRecord {
        corpus: corpus.to_string(),
        features: features.to_string(),
        n_rows: data.len(),
        class_counts: data.class_counts(),
        n_speakers: data.group_names.len(),
        n_features: data.x.cols(),
        mpc: cfg.mpc,
        key_seeds: seeds.to_vec(),
        grid: grid.clone(),
        baseline: Some(baseline),
        table: table_rows,
        tuned,
        seconds_baseline,
        seconds_table,
        seconds_tuned,
        threads: rayon::current_num_threads(),
        command: opts.command.clone(),
        finished: crate::report::utc_now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four speakers, two separable classes, a handful of features.
    fn synthetic() -> Dataset {
        crate::test_data::speakers(4, 5, |s, class, jitter, f| {
            class as f64 * 2.0 + 0.3 * jitter * (f as f64 + 1.0) + 0.1 * s as f64
        })
    }

    fn quiet() -> RunOptions {
        RunOptions {
            progress: false,
            ..RunOptions::new("unused")
        }
    }

    #[test]
    fn synthetic_data_runs_through_the_pipeline() {
        let data = synthetic();
        let grid = SearchGrid {
            log2_c: vec![1.0],
            log2_gamma: vec![-1.0, 0.0],
            inner_folds: 3,
            inner_seed: 0,
        };
        let folds = experiment::outer_folds(&data).unwrap();
        assert_eq!(folds.len(), 4);
        let kinds = [
            TaskKind::Baseline,
            TaskKind::Hashed {
                hashing: Hashing::Fixed { k: 3, delta: 2.0 },
                seed: 1,
            },
            TaskKind::Hashed {
                hashing: Hashing::Tuned {
                    k: 3,
                    // M = 4 · 5 = 20 symbols: the leakage floor is ~34 %.
                    target_percent: 60.0,
                },
                seed: 1,
            },
        ];
        let (out, _) = run_tasks("test", &data, &folds, &kinds, 4, &grid, &quiet()).unwrap();
        let base = seed_result(None, &folds, &out[0]).unwrap();
        assert!(base.accuracy > 90.0, "separable data: {}", base.accuracy);
        let hashed = seed_result(Some(1), &folds, &out[1]).unwrap();
        assert_eq!(hashed.leak_pairs, 4 * 12 * 36);
        assert!(hashed.accuracy > 60.0, "{}", hashed.accuracy);
        let tuned = seed_result(Some(1), &folds, &out[2]).unwrap();
        assert_eq!(tuned.predicted_leak.len(), 4);
        assert!(tuned.chosen.iter().all(|c| c.3.is_some_and(|d| d > 0.0)));
    }

    #[test]
    fn unreachable_tuning_target_is_an_error_not_a_clamped_delta() {
        let data = synthetic();
        let grid = SearchGrid {
            log2_c: vec![1.0],
            log2_gamma: vec![0.0],
            inner_folds: 3,
            inner_seed: 0,
        };
        let folds = experiment::outer_folds(&data).unwrap();
        let kinds = [TaskKind::Hashed {
            hashing: Hashing::Tuned {
                k: 3,
                target_percent: 5.0,
            },
            seed: 1,
        }];
        let err = run_tasks("test", &data, &folds, &kinds, 4, &grid, &quiet()).unwrap_err();
        let mut chain = err.to_string();
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&err);
        while let Some(c) = cause {
            chain.push_str(&format!(": {c}"));
            cause = c.source();
        }
        assert!(chain.contains("not reachable"), "{chain}");
    }
}
