//! Table 4 in the clear: the paper's cryptonet cells on every corpus,
//! leave-one-speaker-out, several seeds, beside the paper's values.
//!
//! Two recipes of `privox_nn::protocol`, run by its table runner
//! ([`evaluate_cells`]; nothing of the protocol is re-implemented here):
//!
//! * the **paper's recipe** with every cell of [`Table4Cells::All`]: ReLU
//!   with and without batch-norm, each also evaluated with the paper's p2,
//!   p4, p6 swapped in, and the HE-aware p2, p4, p6 networks;
//! * the **robust recipe** with [`Table4Cells::HeAware`] (ReLU and the
//!   HE-aware p2, p4, p6): mean ± std over seeds, worst seed, collapsed folds.
//!
//! Each corpus × feature set is saved as `OUT/cryptonet-data/table4-<corpus>-<features>.json`;
//! the generated blocks of `OUT/cryptonet-plain.md` are rewritten from every
//! such record.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use privox_data::protocol::OuterSplit;
use privox_data::{ClassSet, Dataset, FeatureTable};
use privox_nn::NetworkSpec;
use privox_nn::protocol::{
    CellResult, ProtocolConfig, Recipe, Table4Cells, evaluate_cells, paper_table4_value,
};
use serde::{Deserialize, Serialize};

use crate::polynomials::DATA_DIR;
use crate::report::{put_block, read_or, write_text};
use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions};

/// The Markdown file of Table 4 in the clear under OUT.
pub const DOC: &str = "cryptonet-plain.md";
/// Prefix of the data records of this phase in `OUT/cryptonet-data/`.
pub const RECORD_PREFIX: &str = "table4-";
/// Input clamp of the scaled features (the paper's and `privox nn`'s).
pub const CLIP: f64 = 1.0;

/// One recipe's run of the table: which cells, which seeds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecipeSettings {
    /// `paper` or `robust` ([`Recipe::named`]).
    pub recipe: String,
    /// `all`, `baseline` or `he-aware` ([`Table4Cells::parse`]).
    pub cells: String,
    /// Training seeds.
    pub seeds: Vec<u64>,
    /// Inner folds of the robust recipe's epoch selection (`None`: the recipe's own).
    pub inner_folds: Option<usize>,
    /// Most training epochs (`None`: the recipe's own, 300); tests lower it.
    #[serde(default)]
    pub max_epochs: Option<usize>,
}

impl RecipeSettings {
    /// The same settings capped at [`QUICK_MAX_EPOCHS`] epochs (`--quick`).
    pub fn quick(self) -> Self {
        RecipeSettings {
            max_epochs: Some(QUICK_MAX_EPOCHS),
            ..self
        }
    }

    fn new(recipe: &str, cells: &str, seeds: u64, inner_folds: Option<usize>) -> Self {
        RecipeSettings {
            recipe: recipe.into(),
            cells: cells.into(),
            seeds: (1..=seeds).collect(),
            inner_folds,
            max_epochs: None,
        }
    }

    /// The recipe with the inner-fold and epoch overrides applied.
    pub fn recipe(&self) -> Result<Recipe> {
        let mut r = Recipe::named(&self.recipe).ok_or_else(|| ReproError::UnknownSetting {
            what: "recipe",
            value: self.recipe.clone(),
        })?;
        if let Some(e) = self.max_epochs {
            r.train.max_epochs = e;
        }
        if let (Some(k), privox_nn::protocol::EpochSelection::InnerCv { folds, .. }) =
            (self.inner_folds, &mut r.selection)
        {
            *folds = k;
        }
        Ok(r)
    }

    /// The networks and cells.
    pub fn cells(&self) -> Result<Table4Cells> {
        Table4Cells::parse(&self.cells).ok_or_else(|| ReproError::UnknownSetting {
            what: "Table 4 cells",
            value: self.cells.clone(),
        })
    }
}

/// What the phase runs per corpus and feature set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Table4Config {
    /// One entry per recipe, in order.
    pub runs: Vec<RecipeSettings>,
}

impl Table4Config {
    /// The full run: the paper's recipe with every cell over seeds 1–5;
    /// the robust recipe with ReLU and HE-aware p2/p4/p6 over seeds 1–3
    /// (each robust HE-aware training is 2 γ₀ × 5 inner folds + a refit:
    /// about 11 trainings, so 5 seeds would not fit the time budget).
    pub fn full() -> Self {
        Table4Config {
            runs: vec![
                RecipeSettings::new("paper", "all", 5, None),
                RecipeSettings::new("robust", "he-aware", 3, None),
            ],
        }
    }

    /// `--quick`: the paper's recipe with every cell, seed 1; the robust
    /// recipe with ReLU and HE-aware p2 (`baseline` cells), seed 1, 3 inner
    /// folds; at most [`QUICK_MAX_EPOCHS`] epochs per training.
    pub fn quick() -> Self {
        Table4Config {
            runs: vec![
                RecipeSettings::new("paper", "all", 1, None).quick(),
                RecipeSettings::new("robust", "baseline", 1, Some(3)).quick(),
            ],
        }
    }
}

/// Most epochs of one training in `--quick` runs: a smoke test of every
/// cell within the 3-minute budget, not a reproduction.
pub const QUICK_MAX_EPOCHS: usize = 40;

/// One seed of one cell.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeedRun {
    /// Training seed.
    pub seed: u64,
    /// Pooled accuracy over every held-out speaker (%).
    pub accuracy: f64,
    /// Pooled UAR (%).
    pub uar: f64,
    /// Folds whose held-out speaker holds two classes but got one predicted class.
    pub collapsed_folds: Vec<String>,
    /// Mean kept epoch over the folds.
    pub mean_epoch: f64,
    /// Largest |pre-activation| on the held-out rows.
    pub max_preactivation: f64,
    /// `(fold, test rows, accuracy %, UAR %)` per outer fold.
    pub folds: Vec<(String, u64, f64, f64)>,
}

/// One cell (network × inference activation) over its seeds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellRecord {
    /// Cell name, e.g. `p2, BN` or `HE-aware p4 + BN`.
    pub name: String,
    /// The paper's value for the cell (`–` when it has none).
    pub paper: String,
    /// One entry per seed.
    pub runs: Vec<SeedRun>,
}

impl CellRecord {
    /// From the protocol's cell result.
    pub fn from_result(c: &CellResult) -> Self {
        CellRecord {
            name: c.name.clone(),
            paper: paper_table4_value(&c.name).to_string(),
            runs: c
                .runs
                .iter()
                .map(|r| SeedRun {
                    seed: r.seed,
                    accuracy: 100.0 * r.pooled().accuracy(),
                    uar: 100.0 * r.pooled().uar(),
                    collapsed_folds: r.collapsed_folds().iter().map(|s| s.to_string()).collect(),
                    mean_epoch: mean(r.best_epochs.iter().map(|&e| e as f64)),
                    max_preactivation: r.max_preactivation,
                    folds: r
                        .evaluation
                        .folds
                        .iter()
                        .map(|f| {
                            (
                                f.name.clone(),
                                f.confusion.total(),
                                100.0 * f.confusion.accuracy(),
                                100.0 * f.confusion.uar(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Mean ± sample std of the pooled accuracy over seeds.
    pub fn accuracy(&self) -> (f64, f64) {
        privox_data::mean_std(&self.runs.iter().map(|r| r.accuracy).collect::<Vec<_>>())
    }

    /// Mean ± sample std of the pooled UAR over seeds.
    pub fn uar(&self) -> (f64, f64) {
        privox_data::mean_std(&self.runs.iter().map(|r| r.uar).collect::<Vec<_>>())
    }

    /// The seed with the lowest UAR and that UAR.
    pub fn worst(&self) -> Option<(u64, f64)> {
        self.runs
            .iter()
            .min_by(|a, b| a.uar.total_cmp(&b.uar))
            .map(|r| (r.seed, r.uar))
    }

    /// Collapsed folds summed over seeds.
    pub fn collapsed(&self) -> usize {
        self.runs.iter().map(|r| r.collapsed_folds.len()).sum()
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// One recipe's results on one corpus and feature set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecipeResult {
    /// What was run.
    pub settings: RecipeSettings,
    /// The recipe in words (optimiser, epoch selection, …).
    pub description: String,
    /// Cells in the protocol's order.
    pub cells: Vec<CellRecord>,
    /// Wall seconds.
    pub wall_s: f64,
    /// Process CPU seconds.
    pub cpu_s: f64,
}

/// The data record of one corpus and feature set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Table4Record {
    /// Corpus name (its folder).
    pub corpus: String,
    /// `opensmile` or `privox`.
    pub features: String,
    /// Rows (neutral and angry).
    pub n_rows: usize,
    /// Class names.
    pub classes: Vec<String>,
    /// Rows per class.
    pub class_counts: Vec<usize>,
    /// Speakers (= outer folds).
    pub n_speakers: usize,
    /// Input clamp.
    pub clip: f64,
    /// One entry per recipe.
    pub recipes: Vec<RecipeResult>,
    /// UTC time the record was finished.
    pub finished_utc: String,
}

impl Table4Record {
    /// `table4-<corpus>-<features>.json`.
    pub fn file_name(&self) -> String {
        format!("{RECORD_PREFIX}{}-{}.json", self.corpus, self.features)
    }
}

/// The neutral-vs-angry dataset of a feature table, with at least two classes.
pub fn neutral_angry(corpus: &str, table: &FeatureTable) -> Result<Dataset> {
    let what = || format!("{corpus}: neutral and angry rows");
    let data = table
        .to_dataset(&ClassSet::neutral_angry())
        .map_err(ReproError::data(what()))?;
    data.require_two_classes()
        .map_err(ReproError::data(what()))?;
    Ok(data)
}

/// Runs every recipe of `cfg` on `data` (leave-one-speaker-out).
pub fn run_dataset(
    corpus: &str,
    features: &str,
    data: &Dataset,
    cfg: &Table4Config,
    opts: &RunOptions,
) -> Result<Table4Record> {
    let folds = OuterSplit::LeaveOneSpeakerOut
        .folds(data)
        .map_err(ReproError::data(format!("{corpus}: leave-one-speaker-out")))?;
    let mut recipes = Vec::new();
    for s in &cfg.runs {
        let recipe = s.recipe()?;
        let networks = s.cells()?.networks();
        let proto = ProtocolConfig {
            train: recipe.train.clone(),
            selection: recipe.selection.clone(),
            seeds: s.seeds.clone(),
            clip_inputs: Some(CLIP),
        };
        let total = folds.len() * networks.len() * s.seeds.len();
        let bar = opts.bar(total, format!("{corpus} table 4 {}", s.recipe));
        let clock = crate::Stopwatch::start();
        let cells = evaluate_cells(data, &folds, &networks, &proto, &|| bar.inc(1)).map_err(
            ReproError::nn(format!("{corpus}: Table 4, {} recipe", s.recipe)),
        )?;
        bar.finish_and_clear();
        let spec = networks
            .first()
            .map(|n| n.spec.clone())
            .unwrap_or_else(|| NetworkSpec::paper(false, privox_nn::Activation::Relu));
        recipes.push(RecipeResult {
            settings: s.clone(),
            description: recipe.describe(&s.recipe, &spec),
            cells: cells.iter().map(CellRecord::from_result).collect(),
            wall_s: clock.wall_s(),
            cpu_s: clock.cpu_s(),
        });
    }
    Ok(Table4Record {
        corpus: corpus.to_string(),
        features: features.to_string(),
        n_rows: data.len(),
        classes: data.classes.names().to_vec(),
        class_counts: data.class_counts(),
        n_speakers: data.group_names.len(),
        clip: CLIP,
        recipes,
        finished_utc: crate::report::utc_now(),
    })
}

/// Human name of a corpus and feature set, e.g. `nEMO · openSMILE features`.
pub fn label(corpus: &str, features: &str) -> String {
    let c = match corpus {
        "emodb" => "EmoDB",
        "nemo" => "nEMO",
        "demo" => "demo corpus",
        o => o,
    };
    let f = match features {
        "opensmile" => "openSMILE features",
        "privox" => "privox features",
        o => o,
    };
    format!("{c} · {f}")
}

fn heading(r: &Table4Record) -> String {
    let counts: Vec<String> = r
        .class_counts
        .iter()
        .zip(&r.classes)
        .map(|(n, c)| format!("{n} {c}"))
        .collect();
    format!(
        "### {} ({} rows: {}; {} speakers, leave-one-speaker-out)\n\n",
        label(&r.corpus, &r.features),
        r.n_rows,
        counts.join(", "),
        r.n_speakers
    )
}

/// The table of one recipe over every record (Markdown).
pub fn recipe_table(records: &[Table4Record], recipe: &str) -> String {
    let mut s = String::new();
    for r in records {
        let Some(run) = r.recipes.iter().find(|x| x.settings.recipe == recipe) else {
            continue;
        };
        s.push_str(&heading(r));
        let _ = writeln!(
            s,
            "Seeds {:?}; {:.0} s wall, {:.0} s CPU.\n",
            run.settings.seeds, run.wall_s, run.cpu_s
        );
        s.push_str(
            "| network | accuracy % (mean ± std) | UAR % (mean ± std) | paper accuracy % | worst seed (UAR %) | collapsed folds | mean kept epoch | max \\|pre-activation\\| on test |\n|---|---|---|---|---|---|---|---|\n",
        );
        for c in &run.cells {
            let (worst_seed, worst_uar) = c.worst().unwrap_or((0, f64::NAN));
            let epochs = mean(c.runs.iter().map(|x| x.mean_epoch));
            let pre = c
                .runs
                .iter()
                .map(|x| x.max_preactivation)
                .fold(0.0, f64::max);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {worst_seed} ({worst_uar:.2}) | {} | {epochs:.1} | {pre:.1} |",
                c.name,
                crate::report::pm(c.accuracy()),
                crate::report::pm(c.uar()),
                c.paper,
                c.collapsed()
            );
        }
        s.push('\n');
    }
    if s.is_empty() {
        s.push_str("(no run of this recipe)\n");
    }
    s
}

/// The settings block: each recipe in words and the cells.
pub fn setup(records: &[Table4Record]) -> String {
    let mut s = String::new();
    let mut seen = Vec::new();
    for r in records {
        for run in &r.recipes {
            if seen.contains(&run.settings) {
                continue;
            }
            seen.push(run.settings.clone());
            let _ = writeln!(
                s,
                "* **{}** recipe, cells `{}`, seeds {:?}: {}",
                run.settings.recipe, run.settings.cells, run.settings.seeds, run.description
            );
        }
    }
    let _ = writeln!(
        s,
        "* Leave-one-speaker-out, neutral vs angry; min-max scaling fitted on the training speakers of each fold; held-out features clamped to [−{CLIP}, {CLIP}]; pooled accuracy and UAR over all held-out speakers, mean ± sample std over seeds."
    );
    let times: Vec<String> = records
        .iter()
        .map(|r| {
            let (w, c) = r
                .recipes
                .iter()
                .fold((0.0, 0.0), |(w, c), x| (w + x.wall_s, c + x.cpu_s));
            format!(
                "{}: {w:.0} s wall, {c:.0} s CPU (finished {} UTC)",
                label(&r.corpus, &r.features),
                r.finished_utc
            )
        })
        .collect();
    if !times.is_empty() {
        let _ = writeln!(s, "* Time: {}.", times.join("; "));
    }
    s
}

const SKELETON: &str = "# Cryptonet in the clear: the paper's Table 4\n\n\
Generated by `privox repro`; text outside the generated blocks is hand-written.\n";

/// Every Table 4 record under `out`, EmoDB before nEMO, openSMILE before privox features.
pub fn load_records(out: &Path) -> Result<Vec<Table4Record>> {
    let dir = out.join(DATA_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    // `table4-encrypted-*` records share the prefix: leave them out.
    let mut all: Vec<Table4Record> = read_prefixed(
        &dir,
        RECORD_PREFIX,
        Some(crate::table4_encrypted::RECORD_PREFIX),
        "Table 4",
    )?;
    all.sort_by(|a, b| a.corpus.cmp(&b.corpus).then(a.features.cmp(&b.features)));
    Ok(all)
}

/// Reads every `<prefix>*.json` of `dir` (except `<exclude>*.json`) as a `T`.
pub(crate) fn read_prefixed<T: serde::de::DeserializeOwned>(
    dir: &Path,
    prefix: &str,
    exclude: Option<&str>,
    what: &'static str,
) -> Result<Vec<T>> {
    // The cryptonet folder holds several kinds of record (Table 3, Table 4,
    // encrypted): only the files with the prefix are read.
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(ReproError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(prefix) && !exclude.is_some_and(|x| n.starts_with(x))
                })
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let bytes = std::fs::read(&p).map_err(ReproError::io(&p))?;
        out.push(
            serde_json::from_slice(&bytes).map_err(|source| ReproError::Record {
                path: p.clone(),
                what,
                source,
            })?,
        );
    }
    Ok(out)
}

/// Rewrites the generated blocks of `OUT/cryptonet-plain.md` from every record.
pub fn regenerate(out: &Path) -> Result<PathBuf> {
    let records = load_records(out)?;
    let doc_path = out.join(DOC);
    let mut doc = read_or(&doc_path, SKELETON)?;
    put_block(&mut doc, "table4-setup", &setup(&records));
    put_block(&mut doc, "table4-paper", &recipe_table(&records, "paper"));
    put_block(&mut doc, "table4-robust", &recipe_table(&records, "robust"));
    write_text(&doc_path, &doc)?;
    Ok(doc_path)
}

/// Writes `rec` to `OUT/cryptonet-data/`.
pub fn save(out: &Path, rec: &Table4Record) -> Result<PathBuf> {
    let path = out.join(DATA_DIR).join(rec.file_name());
    crate::record::write_record(&path, rec)?;
    Ok(path)
}

/// Table 4 in the clear on every feature set of every corpus.
pub const PHASE: Phase = Phase {
    name: "table4",
    describe: "Table 4 in the clear (paper's and robust recipe, LOSO, mean ± std over seeds)",
    run: run_phase,
};

fn run_phase(corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let cfg = opts.pick(Table4Config::quick, Table4Config::full);
    let mut files = Vec::new();
    for corpus in corpora {
        for set in corpus.feature_sets(opts)? {
            let data = neutral_angry(&corpus.name, &set.table)?;
            let rec = run_dataset(&corpus.name, &set.name, &data, &cfg, opts)?;
            opts.say(format!(
                "{}\n{}",
                label(&rec.corpus, &rec.features),
                recipe_table(std::slice::from_ref(&rec), "paper")
            ));
            files.push(save(&opts.out, &rec)?);
        }
    }
    files.push(regenerate(&opts.out)?);
    PhaseOutput::new("the Table 4 parameters", &cfg, files, Vec::new())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Six speakers of 12 rows each, two classes separated on two of four
    /// features, each speaker shifted by its own offset.
    pub(crate) fn synthetic() -> Dataset {
        crate::test_data::speakers(6, 4, |s, class, jitter, f| {
            let signal = if f < 2 { 2.0 * class as f64 } else { 0.0 };
            signal + 0.4 * jitter * (f as f64 + 1.0) + 0.15 * s as f64
        })
    }

    pub(crate) fn quiet(out: &Path) -> RunOptions {
        RunOptions {
            progress: false,
            ..RunOptions::new(out)
        }
    }

    #[test]
    fn synthetic_table4_runs_both_recipes_and_regenerates_the_doc() {
        let dir = tempfile::tempdir().unwrap();
        let data = synthetic();
        let fast = |mut s: RecipeSettings| {
            s.max_epochs = Some(40);
            s
        };
        let cfg = Table4Config {
            runs: vec![
                fast(RecipeSettings::new("paper", "all", 2, None)),
                fast(RecipeSettings::new("robust", "baseline", 1, Some(2))),
            ],
        };
        let rec = run_dataset("synthetic", "opensmile", &data, &cfg, &quiet(dir.path())).unwrap();
        let paper = &rec.recipes[0];
        let names: Vec<&str> = paper.cells.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 11, "{names:?}");
        assert!(names.contains(&"p4, BN") && names.contains(&"HE-aware p6 + BN"));
        let relu = &paper.cells[0];
        assert_eq!(relu.name, "ReLU (no BN)");
        assert_eq!(relu.paper, "82.62 (plain MLP)");
        assert_eq!(relu.runs.len(), 2);
        assert_eq!(relu.runs[0].folds.len(), 6);
        // Separable classes: the ReLU network is far above chance.
        assert!(relu.accuracy().0 > 80.0, "{:?}", relu.runs);
        let robust = &rec.recipes[1];
        assert_eq!(robust.cells.len(), 2);
        assert!(robust.cells[1].uar().0 > 70.0, "{:?}", robust.cells[1]);

        save(dir.path(), &rec).unwrap();
        std::fs::write(
            dir.path().join(DOC),
            "# kept title\n<!-- BEGIN GENERATED: table4-paper -->\nstale\n<!-- END GENERATED: table4-paper -->\nkept discussion\n",
        )
        .unwrap();
        let doc = std::fs::read_to_string(regenerate(dir.path()).unwrap()).unwrap();
        assert!(doc.contains("kept title") && doc.contains("kept discussion"));
        assert!(!doc.contains("stale"));
        assert!(doc.contains("| p2, no BN |") && doc.contains("| 59.72 |"));
        assert!(doc.contains("BEGIN GENERATED: table4-robust"));
        // An encrypted record in the same folder is not read as a plaintext one.
        std::fs::write(
            dir.path()
                .join(DATA_DIR)
                .join("table4-encrypted-synthetic-opensmile.json"),
            "{}",
        )
        .unwrap();
        let back = load_records(dir.path()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].recipes[0].settings, rec.recipes[0].settings);
        assert_eq!(
            back[0].recipes[0].cells[3].runs[1].uar,
            rec.recipes[0].cells[3].runs[1].uar
        );
    }

    #[test]
    fn unknown_recipe_or_cells_are_typed_errors() {
        let bad = RecipeSettings::new("fast", "all", 1, None);
        assert!(matches!(
            bad.recipe(),
            Err(ReproError::UnknownSetting { what: "recipe", .. })
        ));
        let bad = RecipeSettings::new("paper", "most", 1, None);
        assert!(matches!(
            bad.cells(),
            Err(ReproError::UnknownSetting { .. })
        ));
    }
}
