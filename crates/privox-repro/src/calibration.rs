//! Speaker calibration on the client (`docs/results/calibration.md`): the
//! RBF-SVM, the SMH + RBF-Hamming SVM at matched leakage and the HE-aware
//! MLP (p2 + batch-norm, robust recipe), each without and with per-speaker
//! calibration (`privox_data::calibrate`, mode `speaker`), neutral vs angry,
//! leave-one-speaker-out.
//!
//! The SVM rows are the hashing experiment's baseline and Δ-tuning rows
//! ([`crate::hashing::run_table`] with the grid off) on the calibrated
//! table; the MLP row is `privox_nn::protocol`'s table runner. Rows without
//! calibration are the same computations the hashing and Table 4 phases
//! make: when their records for the corpus are already in OUT with the same
//! settings (same grid, key seeds, mpc; same recipe and seeds), they are
//! read instead of being recomputed, and the record says so.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use privox_data::protocol::OuterSplit;
use privox_data::{Calibration, CalibrationOptions, FeatureTable, calibrate};
use privox_nn::protocol::{ProtocolConfig, Table4Cells, evaluate_cells};
use serde::{Deserialize, Serialize};

use crate::hashing::record::{ConfigResult, RunRecord};
use crate::hashing::{HashingConfig, run_table};
use crate::report::{pm, put_block, read_or, write_text};
use crate::table4::{
    CLIP, CellRecord, RecipeSettings, Table4Record, label, neutral_angry, read_prefixed,
};
use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions};

/// Sub-folder of OUT holding this phase's records.
pub const DATA_DIR: &str = "calibration-data";
/// The Markdown file under OUT.
pub const DOC: &str = "calibration.md";
/// The MLP cell of the comparison.
pub const MLP_CELL: &str = "HE-aware p2 + BN";

/// What the phase runs.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationConfig {
    /// The SVM side: baseline and Δ tuning (`table` off).
    pub hashing: HashingConfig,
    /// The MLP: robust recipe, `baseline` cells (the HE-aware p2 row is kept).
    pub mlp: RecipeSettings,
    /// Speakers with fewer recordings fall back to the global statistics.
    pub min_recordings: usize,
}

impl CalibrationConfig {
    /// The full run: the hashing phase's grid and mpc with the 28 % leakage
    /// target only (k = 3), the robust recipe over seeds 1–3 (the Table 4
    /// phase's robust seeds, so its uncalibrated row is reused).
    pub fn full() -> Self {
        CalibrationConfig {
            hashing: HashingConfig {
                table: false,
                tune_targets: vec![28.0],
                ..HashingConfig::default()
            },
            mlp: RecipeSettings {
                recipe: "robust".into(),
                cells: "baseline".into(),
                seeds: vec![1, 2, 3],
                inner_folds: None,
                max_epochs: None,
            },
            min_recordings: privox_data::DEFAULT_MIN_RECORDINGS,
        }
    }

    /// `--quick`: the hashing phase's quick grid (one 28 % tuning row),
    /// the robust recipe with seed 1 and 3 inner folds.
    pub fn quick() -> Self {
        CalibrationConfig {
            hashing: HashingConfig {
                table: false,
                ..HashingConfig::quick()
            },
            mlp: RecipeSettings {
                recipe: "robust".into(),
                cells: "baseline".into(),
                seeds: vec![1],
                inner_folds: Some(3),
                max_epochs: Some(crate::table4::QUICK_MAX_EPOCHS),
            },
            min_recordings: privox_data::DEFAULT_MIN_RECORDINGS,
        }
    }
}

/// One corpus, feature set and calibration mode.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalibrationRecord {
    /// Corpus name.
    pub corpus: String,
    /// `opensmile` or `privox`.
    pub features: String,
    /// `none` or `speaker`.
    pub calibration: String,
    /// Speakers calibrated with the global statistics (too few recordings), with their counts.
    pub fallback: Vec<(String, u64)>,
    /// RBF-SVM baseline and SMH tuning rows (no k × Δ grid).
    pub svm: RunRecord,
    /// Where the SVM rows come from (`computed` or the hashing record read).
    pub svm_source: String,
    /// The HE-aware p2 + BN cell over the MLP seeds.
    pub mlp: CellRecord,
    /// Where the MLP row comes from (`computed` or the Table 4 record read).
    pub mlp_source: String,
    /// Wall seconds spent computing (0 for rows read).
    pub wall_s: f64,
    /// Process CPU seconds spent computing.
    pub cpu_s: f64,
    /// UTC time the record was finished.
    pub finished_utc: String,
}

impl CalibrationRecord {
    /// `<corpus>-<features>-<calibration>.json`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.json",
            self.corpus, self.features, self.calibration
        )
    }
}

/// The hashing record of `corpus`/`features` in OUT when it holds the
/// baseline and every tuning target of `cfg` with the same settings.
fn reusable_hashing(
    out: &Path,
    corpus: &str,
    features: &str,
    cfg: &HashingConfig,
    seeds: &[u64],
) -> Option<(RunRecord, PathBuf)> {
    let path = out
        .join(crate::hashing::report::DATA_DIR)
        .join(format!("{corpus}-{features}.json"));
    let r: RunRecord = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let same_grid = serde_json::to_value(&r.grid).ok()? == serde_json::to_value(&cfg.grid).ok()?;
    let has_targets = cfg.tune_targets.iter().all(|t| {
        r.tuned
            .iter()
            .any(|c| c.k == Some(cfg.tune_k) && c.target_percent == Some(*t))
    });
    (same_grid && r.mpc == cfg.mpc && r.key_seeds == seeds && has_targets && r.baseline.is_some())
        .then_some((r, path))
}

/// The Table 4 record's robust HE-aware p2 cell when it ran with `mlp`'s recipe and seeds.
fn reusable_mlp(
    out: &Path,
    corpus: &str,
    features: &str,
    mlp: &RecipeSettings,
) -> Option<(CellRecord, PathBuf)> {
    let path = out.join(crate::polynomials::DATA_DIR).join(format!(
        "{}{corpus}-{features}.json",
        crate::table4::RECORD_PREFIX
    ));
    let r: Table4Record = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let run = r.recipes.iter().find(|x| {
        x.settings.recipe == mlp.recipe
            && x.settings.seeds == mlp.seeds
            && x.settings.inner_folds == mlp.inner_folds
            && x.settings.max_epochs == mlp.max_epochs
    })?;
    let cell = run.cells.iter().find(|c| c.name == MLP_CELL)?;
    Some((cell.clone(), path))
}

/// `path` relative to OUT (records name files inside OUT that way).
fn relative(path: &Path, out: &Path) -> String {
    path.strip_prefix(out).unwrap_or(path).display().to_string()
}

/// Runs one calibration mode on one feature table.
pub fn run_mode(
    corpus: &str,
    features: &str,
    table: &FeatureTable,
    mode: Calibration,
    cfg: &CalibrationConfig,
    opts: &RunOptions,
) -> Result<CalibrationRecord> {
    let clock = crate::Stopwatch::start();
    // Every speaker by all of their own rows, before the class filter: no label is used.
    let (calibrated, report) = calibrate(
        table,
        &CalibrationOptions {
            mode,
            min_recordings: cfg.min_recordings,
        },
    )
    .map_err(ReproError::data(format!("{corpus}: calibrating ({mode})")))?;
    if let Some(w) = report.warning() {
        opts.say(format!("{corpus}: {w}"));
    }
    let reuse = mode == Calibration::None;
    let (svm, svm_source) = match reuse
        .then(|| reusable_hashing(&opts.out, corpus, features, &cfg.hashing, &opts.seeds))
        .flatten()
    {
        Some((mut r, path)) => {
            r.tuned.retain(|c| {
                c.target_percent
                    .is_some_and(|t| cfg.hashing.tune_targets.contains(&t))
            });
            r.table.clear();
            (r, format!("read from {}", relative(&path, &opts.out)))
        }
        None => (
            run_table(
                corpus,
                &format!("{features}+{}", mode.name()),
                calibrated.clone(),
                &cfg.hashing,
                opts,
            )?,
            "computed".to_string(),
        ),
    };
    let (mlp, mlp_source) = match reuse
        .then(|| reusable_mlp(&opts.out, corpus, features, &cfg.mlp))
        .flatten()
    {
        Some((cell, path)) => (cell, format!("read from {}", relative(&path, &opts.out))),
        None => (
            run_mlp(corpus, &calibrated, &cfg.mlp, opts)?,
            "computed".to_string(),
        ),
    };
    Ok(CalibrationRecord {
        corpus: corpus.to_string(),
        features: features.to_string(),
        calibration: mode.name().to_string(),
        fallback: report.fallback,
        svm,
        svm_source,
        mlp,
        mlp_source,
        wall_s: clock.wall_s(),
        cpu_s: clock.cpu_s(),
        finished_utc: crate::report::utc_now(),
    })
}

/// The HE-aware p2 + BN cell of `mlp` on `table` (LOSO).
fn run_mlp(
    corpus: &str,
    table: &FeatureTable,
    mlp: &RecipeSettings,
    opts: &RunOptions,
) -> Result<CellRecord> {
    let data = neutral_angry(corpus, table)?;
    let folds = OuterSplit::LeaveOneSpeakerOut
        .folds(&data)
        .map_err(ReproError::data(format!("{corpus}: leave-one-speaker-out")))?;
    let recipe = mlp.recipe()?;
    let networks: Vec<_> = Table4Cells::Baseline
        .networks()
        .into_iter()
        .filter(|n| n.evaluations.iter().any(|e| e.0 == MLP_CELL))
        .collect();
    let proto = ProtocolConfig {
        train: recipe.train.clone(),
        selection: recipe.selection.clone(),
        seeds: mlp.seeds.clone(),
        clip_inputs: Some(CLIP),
    };
    let bar = opts.bar(
        folds.len() * networks.len() * mlp.seeds.len(),
        format!("{corpus} calibration MLP"),
    );
    let cells = evaluate_cells(&data, &folds, &networks, &proto, &|| bar.inc(1)).map_err(
        ReproError::nn(format!("{corpus}: HE-aware MLP with calibration")),
    )?;
    bar.finish_and_clear();
    cells
        .iter()
        .find(|c| c.name == MLP_CELL)
        .map(CellRecord::from_result)
        .ok_or_else(|| ReproError::UnknownSetting {
            what: "Table 4 cell",
            value: MLP_CELL.into(),
        })
}

fn tuned_row(r: &RunRecord) -> Option<&ConfigResult> {
    r.tuned.first()
}

/// The SVM table (Markdown).
pub fn svm_table(records: &[CalibrationRecord]) -> String {
    let mut s = String::from(
        "| corpus · features | calibration | RBF-SVM accuracy % | RBF-SVM UAR % | SMH target leakage % | Δ (mean ± std) | leakage measured % | SMH accuracy % | SMH UAR % |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        let (ba, bu) = r
            .svm
            .baseline
            .as_ref()
            .map_or(((f64::NAN, 0.0), (f64::NAN, 0.0)), |b| {
                (b.accuracy(), b.uar())
            });
        let (target, delta, leak, acc, uar) = match tuned_row(&r.svm) {
            Some(t) => (
                t.target_percent.map_or("–".into(), |x| format!("{x}")),
                pm(t.chosen_delta()),
                pm(t.leakage()),
                pm(t.accuracy()),
                pm(t.uar()),
            ),
            None => ("–".into(), "–".into(), "–".into(), "–".into(), "–".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.2} | {target} | {delta} | {leak} | {acc} | {uar} |",
            label(&r.corpus, &r.features),
            r.calibration,
            ba.0,
            bu.0
        );
    }
    s
}

/// The MLP table (Markdown).
pub fn mlp_table(records: &[CalibrationRecord]) -> String {
    let mut s = String::from(
        "| corpus · features | calibration | accuracy % | UAR % | worst seed (UAR %) | collapsed folds | max \\|pre-activation\\| on test |\n|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        let (ws, wu) = r.mlp.worst().unwrap_or((0, f64::NAN));
        let pre = r
            .mlp
            .runs
            .iter()
            .map(|x| x.max_preactivation)
            .fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {ws} ({wu:.2}) | {} | {pre:.2} |",
            label(&r.corpus, &r.features),
            r.calibration,
            pm(r.mlp.accuracy()),
            pm(r.mlp.uar()),
            r.mlp.collapsed()
        );
    }
    s
}

/// The settings and provenance block (Markdown).
pub fn setup(records: &[CalibrationRecord]) -> String {
    let mut s = String::new();
    for r in records {
        let seeds: Vec<u64> = r.mlp.runs.iter().map(|x| x.seed).collect();
        let _ = writeln!(
            s,
            "* {} · `{}`: SVM/SMH key seeds {:?}, mpc {}, {} inner folds ({}); MLP seeds {seeds:?} ({}); {}{:.0} s wall, {:.0} s CPU computing (finished {} UTC).",
            label(&r.corpus, &r.features),
            r.calibration,
            r.svm.key_seeds,
            r.svm.mpc,
            r.svm.grid.inner_folds,
            r.svm_source,
            r.mlp_source,
            if r.fallback.is_empty() {
                String::new()
            } else {
                format!(
                    "{} speaker(s) with too few recordings use the global statistics; ",
                    r.fallback.len()
                )
            },
            r.wall_s,
            r.cpu_s,
            r.finished_utc
        );
    }
    if s.is_empty() {
        s.push_str("(no calibration run)\n");
    }
    s
}

const SKELETON: &str = "# Speaker calibration on the client\n\n\
Generated by `privox repro`; text outside the generated blocks is hand-written.\n";

/// Every calibration record under `out`: EmoDB before nEMO, `none` before `speaker`.
pub fn load_records(out: &Path) -> Result<Vec<CalibrationRecord>> {
    let dir = out.join(DATA_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut all: Vec<CalibrationRecord> = read_prefixed(&dir, "", None, "calibration")?;
    all.sort_by(|a, b| {
        (&a.corpus, &a.features, &a.calibration).cmp(&(&b.corpus, &b.features, &b.calibration))
    });
    Ok(all)
}

/// Rewrites the generated blocks of `OUT/calibration.md`.
pub fn regenerate(out: &Path) -> Result<PathBuf> {
    let records = load_records(out)?;
    let doc_path = out.join(DOC);
    let mut doc = read_or(&doc_path, SKELETON)?;
    put_block(&mut doc, "calibration-setup", &setup(&records));
    put_block(&mut doc, "calibration-svm", &svm_table(&records));
    put_block(&mut doc, "calibration-mlp", &mlp_table(&records));
    write_text(&doc_path, &doc)?;
    Ok(doc_path)
}

/// RBF-SVM, SMH at matched leakage and the HE-aware MLP, without and with
/// speaker calibration, on every feature set of every corpus.
pub const PHASE: Phase = Phase {
    name: "calibration",
    describe: "speaker calibration: RBF-SVM, SMH at 28 % leakage, HE-aware MLP, without and with",
    run: run_phase,
};

fn run_phase(corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let cfg = opts.pick(CalibrationConfig::quick, CalibrationConfig::full);
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for corpus in corpora {
        for set in corpus.feature_sets(opts)? {
            for mode in [Calibration::None, Calibration::Speaker] {
                let rec = run_mode(&corpus.name, &set.name, &set.table, mode, &cfg, opts)?;
                for (what, src) in [("SVM/SMH", &rec.svm_source), ("MLP", &rec.mlp_source)] {
                    if src != "computed" {
                        notes.push(format!(
                            "{} `{}`: {what} rows {src}",
                            label(&rec.corpus, &rec.features),
                            rec.calibration
                        ));
                    }
                }
                let path = opts.out.join(DATA_DIR).join(rec.file_name());
                crate::record::write_record(&path, &rec)?;
                files.push(path);
            }
        }
    }
    files.push(regenerate(&opts.out)?);
    PhaseOutput::new("the calibration parameters", &cfg, files, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::experiment::SearchGrid;
    use crate::table4::tests::quiet;

    /// Six speakers of 24 rows; each speaker shifts every feature by a large
    /// offset of its own, so the classes overlap until each speaker is
    /// normalised by its own statistics.
    fn speaker_shifted() -> FeatureTable {
        let names: Vec<String> = (0..6).map(|f| format!("x{f}")).collect();
        let mut t = FeatureTable::new(names);
        for s in 0..6usize {
            let offset = 3.0 * (s as f64 - 2.5);
            for i in 0..24usize {
                let class = i % 2;
                let jitter = ((s * 13 + i * 7) % 9) as f64 / 9.0 - 0.5;
                let row: Vec<f64> = (0..6)
                    .map(|f| {
                        let signal = if f < 3 { class as f64 } else { 0.0 };
                        offset + signal + 0.3 * jitter * (f as f64 + 1.0)
                    })
                    .collect();
                t.push(
                    format!("s{s}_{i}.wav"),
                    format!("s{s}"),
                    if class == 0 { "neutral" } else { "angry" }.to_string(),
                    &row,
                )
                .unwrap();
            }
        }
        t
    }

    fn tiny() -> CalibrationConfig {
        CalibrationConfig {
            hashing: HashingConfig {
                table: false,
                mpc: 8,
                tune_targets: vec![60.0],
                grid: SearchGrid {
                    log2_c: vec![1.0],
                    log2_gamma: vec![-1.0, 0.0],
                    inner_folds: 3,
                    inner_seed: 0,
                },
                ..HashingConfig::quick()
            },
            mlp: RecipeSettings {
                recipe: "paper".into(),
                cells: "baseline".into(),
                seeds: vec![1],
                inner_folds: None,
                max_epochs: Some(40),
            },
            min_recordings: 10,
        }
    }

    #[test]
    fn speaker_calibration_recovers_the_classes_and_the_doc_has_both_rows() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            seeds: vec![1],
            ..quiet(dir.path())
        };
        let table = speaker_shifted();
        let cfg = tiny();
        let none = run_mode(
            "synthetic",
            "opensmile",
            &table,
            Calibration::None,
            &cfg,
            &opts,
        )
        .unwrap();
        let spk = run_mode(
            "synthetic",
            "opensmile",
            &table,
            Calibration::Speaker,
            &cfg,
            &opts,
        )
        .unwrap();
        let base = |r: &CalibrationRecord| r.svm.baseline.as_ref().unwrap().accuracy().0;
        assert!(base(&spk) > 95.0, "calibrated RBF-SVM {}", base(&spk));
        assert!(
            base(&spk) > base(&none) + 10.0,
            "{} vs {}",
            base(&spk),
            base(&none)
        );
        assert!(
            spk.mlp.accuracy().0 > none.mlp.accuracy().0,
            "{:?} {:?}",
            spk.mlp,
            none.mlp
        );
        assert_eq!(spk.svm.tuned.len(), 1);
        assert!(spk.fallback.is_empty());
        assert_eq!(
            (none.svm_source.as_str(), none.mlp_source.as_str()),
            ("computed", "computed")
        );
        for r in [&none, &spk] {
            crate::record::write_record(&dir.path().join(DATA_DIR).join(r.file_name()), r).unwrap();
        }
        let doc = std::fs::read_to_string(regenerate(dir.path()).unwrap()).unwrap();
        assert!(
            doc.contains("| speaker |") && doc.contains("| none |"),
            "{doc}"
        );
        assert_eq!(load_records(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn uncalibrated_rows_are_read_from_matching_records_only() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = tiny();
        // A Table 4 record with the MLP settings is reused…
        let cell = CellRecord {
            name: MLP_CELL.into(),
            paper: "–".into(),
            runs: Vec::new(),
        };
        let rec = Table4Record {
            corpus: "c".into(),
            features: "opensmile".into(),
            n_rows: 0,
            classes: Vec::new(),
            class_counts: Vec::new(),
            n_speakers: 0,
            clip: CLIP,
            recipes: vec![crate::table4::RecipeResult {
                settings: cfg.mlp.clone(),
                description: String::new(),
                cells: vec![cell.clone()],
                wall_s: 0.0,
                cpu_s: 0.0,
            }],
            finished_utc: String::new(),
        };
        crate::table4::save(dir.path(), &rec).unwrap();
        assert_eq!(
            reusable_mlp(dir.path(), "c", "opensmile", &cfg.mlp)
                .unwrap()
                .0,
            cell
        );
        // …but not with other seeds, nor for another corpus.
        let other = RecipeSettings {
            seeds: vec![1, 2],
            ..cfg.mlp.clone()
        };
        assert!(reusable_mlp(dir.path(), "c", "opensmile", &other).is_none());
        assert!(reusable_mlp(dir.path(), "d", "opensmile", &cfg.mlp).is_none());
        assert!(reusable_hashing(dir.path(), "c", "opensmile", &cfg.hashing, &[1]).is_none());
    }
}
