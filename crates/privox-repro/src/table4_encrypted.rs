//! Table 4 encrypted: every polynomial cell of Table 4 trained under the
//! same leave-one-speaker-out protocol, its held-out speaker classified
//! under CKKS (128-bit parameters), and every decrypted decision compared
//! with the plaintext network's on the same scaled rows.
//!
//! The protocol and the encrypted round trip are
//! `privox_cryptonet::crossval` (the same training as
//! `privox_nn::protocol`); this module chooses the cells, keeps the
//! record and writes `OUT/cryptonet-encrypted.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use privox_cryptonet::Packing;
use privox_cryptonet::crossval::{EncryptedCell, encrypted_cross_validate};
use privox_data::protocol::OuterSplit;
use privox_data::{Dataset, mean_std};
use privox_nn::Activation;
use privox_nn::protocol::{NetworkCells, ProtocolConfig, encryptable, paper_table4_value};
use serde::{Deserialize, Serialize};

use crate::polynomials::DATA_DIR;
use crate::report::{put_block, read_or, write_text};
use crate::table4::{CLIP, RecipeSettings, label, neutral_angry, read_prefixed};
use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions};

/// The Markdown file of Table 4 encrypted under OUT.
pub const DOC: &str = "cryptonet-encrypted.md";
/// Prefix of this phase's data records in `OUT/cryptonet-data/`.
pub const RECORD_PREFIX: &str = "table4-encrypted-";

/// What runs on one corpus.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EncryptedSettings {
    /// The corpus this applies to (`None`: every corpus without its own entry).
    pub corpus: Option<String>,
    /// Recipe, Table 4 cells and seeds.
    pub run: RecipeSettings,
    /// Degrees of the polynomial cells kept (empty: every polynomial cell).
    pub degrees: Vec<usize>,
    /// `batch` or `single` ([`Packing::parse`]).
    pub packing: String,
}

/// What the phase runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EncryptedConfig {
    /// Per-corpus settings; the entry without a corpus is the default.
    pub settings: Vec<EncryptedSettings>,
}

impl EncryptedConfig {
    /// The full run (measured to fit the time budget, see
    /// `docs/results/cryptonet-encrypted.md`): the paper's recipe, seed 1,
    /// batch packing; every polynomial cell on EmoDB (and any other corpus),
    /// the degree-2 cells only on nEMO (p4 and p6 need N = 2^14 and cost
    /// about ten times p2 per query).
    pub fn full() -> Self {
        let paper = |degrees: Vec<usize>, corpus: Option<&str>| EncryptedSettings {
            corpus: corpus.map(str::to_string),
            run: RecipeSettings {
                recipe: "paper".into(),
                cells: "all".into(),
                seeds: vec![1],
                inner_folds: None,
                max_epochs: None,
            },
            degrees,
            packing: "batch".into(),
        };
        EncryptedConfig {
            settings: vec![paper(Vec::new(), None), paper(vec![2], Some("nemo"))],
        }
    }

    /// `--quick`: the paper's recipe, seed 1, batch packing, the three
    /// degree-2 cells (p2 without and with BN, HE-aware p2).
    pub fn quick() -> Self {
        EncryptedConfig {
            settings: vec![EncryptedSettings {
                corpus: None,
                run: RecipeSettings {
                    recipe: "paper".into(),
                    cells: "baseline".into(),
                    seeds: vec![1],
                    inner_folds: None,
                    max_epochs: Some(crate::table4::QUICK_MAX_EPOCHS),
                },
                degrees: vec![2],
                packing: "batch".into(),
            }],
        }
    }

    /// The settings for `corpus`.
    pub fn for_corpus(&self, corpus: &str) -> Option<&EncryptedSettings> {
        self.settings
            .iter()
            .find(|s| s.corpus.as_deref() == Some(corpus))
            .or_else(|| self.settings.iter().find(|s| s.corpus.is_none()))
    }
}

/// A recording whose encrypted decision differs from the plaintext one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Disagreement {
    /// The recording's file.
    pub file: String,
    /// Plaintext margin between its two highest logits.
    pub margin: f64,
    /// Its largest |encrypted − plaintext| logit.
    pub error: f64,
}

/// One seed of one encrypted cell.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EncryptedSeed {
    /// Training seed (also seeds the experiment's keys, see the module docs).
    pub seed: u64,
    /// Accuracy (%) of the plaintext network on the same rows.
    pub plain_accuracy: f64,
    /// Accuracy (%) of the decrypted decisions.
    pub encrypted_accuracy: f64,
    /// Plaintext UAR (%).
    pub plain_uar: f64,
    /// Encrypted UAR (%).
    pub encrypted_uar: f64,
    /// Test recordings.
    pub rows: usize,
    /// Recordings whose encrypted decision equals the plaintext one.
    pub agree: usize,
    /// The others.
    pub disagreements: Vec<Disagreement>,
    /// Largest |encrypted − plaintext| logit.
    pub max_abs_error: f64,
    /// Server time per query (one query per held-out speaker), ms.
    pub server_ms: Vec<f64>,
    /// The CKKS plan (ring dimension, levels, primes).
    pub plan: String,
}

/// One encrypted cell.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EncryptedCellRecord {
    /// Cell name (as in Table 4).
    pub name: String,
    /// The paper's (encrypted) value.
    pub paper: String,
    /// `batch` or `single`.
    pub packing: String,
    /// One entry per seed.
    pub runs: Vec<EncryptedSeed>,
}

impl EncryptedCellRecord {
    fn from_cell(c: &EncryptedCell) -> Self {
        EncryptedCellRecord {
            name: c.name.clone(),
            paper: paper_table4_value(&c.name).to_string(),
            packing: c.packing.name().to_string(),
            runs: c
                .runs
                .iter()
                .map(|r| EncryptedSeed {
                    seed: r.seed,
                    plain_accuracy: 100.0 * r.plain.accuracy(),
                    encrypted_accuracy: 100.0 * r.encrypted.accuracy(),
                    plain_uar: 100.0 * r.plain.uar(),
                    encrypted_uar: 100.0 * r.encrypted.uar(),
                    rows: r.rows,
                    agree: r.agree,
                    disagreements: r
                        .disagreements
                        .iter()
                        .map(|d| Disagreement {
                            file: d.file.clone(),
                            margin: d.margin,
                            error: d.error,
                        })
                        .collect(),
                    max_abs_error: r.max_abs_error,
                    server_ms: r.server_ms.clone(),
                    plan: r.plan.clone(),
                })
                .collect(),
        }
    }
}

/// The data record of one corpus and feature set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EncryptedRecord {
    /// Corpus name.
    pub corpus: String,
    /// `opensmile` or `privox`.
    pub features: String,
    /// Rows (neutral and angry).
    pub n_rows: usize,
    /// Speakers (= outer folds = queries per cell and seed).
    pub n_speakers: usize,
    /// What ran.
    pub settings: EncryptedSettings,
    /// The encrypted cells.
    pub cells: Vec<EncryptedCellRecord>,
    /// Wall seconds (training + encrypted evaluation).
    pub wall_s: f64,
    /// Process CPU seconds.
    pub cpu_s: f64,
    /// UTC time the record was finished.
    pub finished_utc: String,
}

impl EncryptedRecord {
    /// `table4-encrypted-<corpus>-<features>.json`.
    pub fn file_name(&self) -> String {
        format!("{RECORD_PREFIX}{}-{}.json", self.corpus, self.features)
    }
}

/// The degree of the polynomial a cell is evaluated with (`None`: ReLU).
fn cell_degree(net: &NetworkCells, act: Option<&Activation>) -> Option<usize> {
    match act.unwrap_or(&net.spec.activation) {
        Activation::Poly(p) => Some(p.poly.degree()),
        _ => None,
    }
}

/// The encryptable cells of `s`, keeping only the asked degrees.
pub fn networks(s: &EncryptedSettings) -> Result<Vec<NetworkCells>> {
    let nets = encryptable(s.run.cells()?.networks());
    Ok(nets
        .into_iter()
        .filter_map(|mut n| {
            let keep: Vec<bool> = n
                .evaluations
                .iter()
                .map(|(_, act)| {
                    s.degrees.is_empty()
                        || cell_degree(&n, act.as_ref()).is_some_and(|d| s.degrees.contains(&d))
                })
                .collect();
            let mut k = keep.into_iter();
            n.evaluations.retain(|_| k.next().unwrap_or(false));
            (!n.evaluations.is_empty()).then_some(n)
        })
        .collect())
}

/// Runs the encrypted cells of `s` on `data`.
pub fn run_dataset(
    corpus: &str,
    features: &str,
    data: &Dataset,
    s: &EncryptedSettings,
    opts: &RunOptions,
) -> Result<EncryptedRecord> {
    let packing = Packing::parse(&s.packing).ok_or_else(|| ReproError::UnknownSetting {
        what: "packing",
        value: s.packing.clone(),
    })?;
    let recipe = s.run.recipe()?;
    let nets = networks(s)?;
    let folds = OuterSplit::LeaveOneSpeakerOut
        .folds(data)
        .map_err(ReproError::data(format!("{corpus}: leave-one-speaker-out")))?;
    let proto = ProtocolConfig {
        train: recipe.train.clone(),
        selection: recipe.selection.clone(),
        seeds: s.run.seeds.clone(),
        clip_inputs: Some(CLIP),
    };
    let bar = opts.bar(
        folds.len() * nets.len() * s.run.seeds.len(),
        format!("{corpus} table 4 encrypted"),
    );
    let clock = crate::Stopwatch::start();
    let cells = encrypted_cross_validate(data, &folds, &nets, &proto, packing, &|| bar.inc(1))
        .map_err(|source| ReproError::Cryptonet {
            what: format!("{corpus}: Table 4 encrypted"),
            source,
        })?;
    bar.finish_and_clear();
    Ok(EncryptedRecord {
        corpus: corpus.to_string(),
        features: features.to_string(),
        n_rows: data.len(),
        n_speakers: data.group_names.len(),
        settings: s.clone(),
        cells: cells.iter().map(EncryptedCellRecord::from_cell).collect(),
        wall_s: clock.wall_s(),
        cpu_s: clock.cpu_s(),
        finished_utc: crate::report::utc_now(),
    })
}

fn fmt_seeds(v: &[f64]) -> String {
    let (m, sd) = mean_std(v);
    if v.len() > 1 {
        format!("{m:.2} ± {sd:.2}")
    } else {
        format!("{m:.2}")
    }
}

/// The tables of every record (Markdown).
pub fn tables(records: &[EncryptedRecord]) -> String {
    let mut s = String::new();
    for r in records {
        let _ = writeln!(
            s,
            "### {} ({} rows, {} speakers; {} packing, {} recipe, seeds {:?}; {:.0} s wall, {:.0} s CPU)\n",
            label(&r.corpus, &r.features),
            r.n_rows,
            r.n_speakers,
            r.settings.packing,
            r.settings.run.recipe,
            r.settings.run.seeds,
            r.wall_s,
            r.cpu_s
        );
        s.push_str("| network | paper (encrypted) acc. % | plaintext acc. % | encrypted acc. % | plaintext UAR % | encrypted UAR % | decisions equal | max \\|score error\\| (bits) | server ms/query (median) |\n|---|---|---|---|---|---|---|---|---|\n");
        for c in &r.cells {
            let col = |f: &dyn Fn(&EncryptedSeed) -> f64| {
                fmt_seeds(&c.runs.iter().map(f).collect::<Vec<_>>())
            };
            let rows: usize = c.runs.iter().map(|x| x.rows).sum();
            let agree: usize = c.runs.iter().map(|x| x.agree).sum();
            let err = c.runs.iter().map(|x| x.max_abs_error).fold(0.0, f64::max);
            let mut ms: Vec<f64> = c.runs.iter().flat_map(|x| x.server_ms.clone()).collect();
            ms.sort_by(f64::total_cmp);
            let med = ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {agree}/{rows} ({:.2} %) | {err:.1e} ({:.1}) | {med:.1} |",
                c.name,
                c.paper,
                col(&|x| x.plain_accuracy),
                col(&|x| x.encrypted_accuracy),
                col(&|x| x.plain_uar),
                col(&|x| x.encrypted_uar),
                100.0 * agree as f64 / rows.max(1) as f64,
                -err.max(f64::MIN_POSITIVE).log2()
            );
        }
        let dis: Vec<String> = r
            .cells
            .iter()
            .flat_map(|c| {
                c.runs.iter().flat_map(move |x| {
                    x.disagreements.iter().map(move |d| {
                        format!(
                            "- {} (seed {}): {} — plaintext margin {:.2e}, its score error {:.2e}{}",
                            c.name,
                            x.seed,
                            d.file,
                            d.margin,
                            d.error,
                            if d.margin <= 2.0 * d.error {
                                ""
                            } else {
                                " — NOT explained by the error"
                            }
                        )
                    })
                })
            })
            .collect();
        s.push('\n');
        if dis.is_empty() {
            s.push_str("Every encrypted decision equals the plaintext network's.\n\n");
        } else {
            s.push_str("Recordings whose encrypted decision differs:\n\n");
            s.push_str(&dis.join("\n"));
            s.push_str("\n\n");
        }
        s.push_str("Plans:\n\n");
        for c in &r.cells {
            if let Some(x) = c.runs.first() {
                let _ = writeln!(s, "- {}: {}", c.name, x.plan);
            }
        }
        s.push('\n');
    }
    if s.is_empty() {
        s.push_str("(no encrypted run)\n");
    }
    s
}

const SKELETON: &str = "# Table 4 encrypted: the paper's cryptonet under CKKS\n\n\
Generated by `privox repro`; text outside the generated blocks is hand-written.\n";

/// Every encrypted record under `out`.
pub fn load_records(out: &Path) -> Result<Vec<EncryptedRecord>> {
    let dir = out.join(DATA_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut all: Vec<EncryptedRecord> =
        read_prefixed(&dir, RECORD_PREFIX, None, "Table 4 encrypted")?;
    all.sort_by(|a, b| a.corpus.cmp(&b.corpus).then(a.features.cmp(&b.features)));
    Ok(all)
}

/// Rewrites the generated block of `OUT/cryptonet-encrypted.md`.
pub fn regenerate(out: &Path) -> Result<PathBuf> {
    let records = load_records(out)?;
    let doc_path = out.join(DOC);
    let mut doc = read_or(&doc_path, SKELETON)?;
    put_block(&mut doc, "table4-encrypted", &tables(&records));
    write_text(&doc_path, &doc)?;
    Ok(doc_path)
}

/// Table 4 encrypted on every feature set of every corpus.
pub const PHASE: Phase = Phase {
    name: "table4-encrypted",
    describe: "Table 4 encrypted (CKKS, held-out speakers, decisions vs the plaintext network)",
    run: run_phase,
};

fn run_phase(corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let cfg = opts.pick(EncryptedConfig::quick, EncryptedConfig::full);
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for corpus in corpora {
        let Some(s) = cfg.for_corpus(&corpus.name) else {
            continue;
        };
        for set in corpus.feature_sets(opts)? {
            let data = neutral_angry(&corpus.name, &set.table)?;
            let rec = run_dataset(&corpus.name, &set.name, &data, s, opts)?;
            let (agree, rows) = rec
                .cells
                .iter()
                .flat_map(|c| &c.runs)
                .fold((0, 0), |(a, n), x| (a + x.agree, n + x.rows));
            notes.push(format!(
                "{}: {agree}/{rows} encrypted decisions equal the plaintext ones",
                label(&rec.corpus, &rec.features)
            ));
            let path = out_path(&opts.out, &rec);
            crate::record::write_record(&path, &rec)?;
            files.push(path);
        }
    }
    files.push(regenerate(&opts.out)?);
    for n in &notes {
        opts.say(n);
    }
    PhaseOutput::new("the Table 4 encrypted parameters", &cfg, files, notes)
}

fn out_path(out: &Path, rec: &EncryptedRecord) -> PathBuf {
    out.join(DATA_DIR).join(rec.file_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table4::tests::{quiet, synthetic};

    #[test]
    fn synthetic_p2_cells_decrypt_to_the_plaintext_decisions() {
        let dir = tempfile::tempdir().unwrap();
        let quick = EncryptedConfig::quick().settings[0].clone();
        let names: Vec<String> = networks(&quick)
            .unwrap()
            .iter()
            .flat_map(|n| n.evaluations.iter().map(|e| e.0.clone()))
            .collect();
        // `--quick` encrypts only the HE-aware p2 cell.
        assert_eq!(names, ["HE-aware p2 + BN"]);
        let mut all = quick.clone();
        all.run.cells = "all".into();
        let names: Vec<String> = networks(&all)
            .unwrap()
            .iter()
            .flat_map(|n| n.evaluations.iter().map(|e| e.0.clone()))
            .collect();
        assert_eq!(names, ["p2, no BN", "p2, BN", "HE-aware p2 + BN"]);
        // One encrypted cell (HE-aware p2) on three speakers: three queries.
        let full = synthetic();
        let rows: Vec<usize> = (0..full.len()).filter(|&i| full.groups[i] < 3).collect();
        let mut data = full.subset(&rows);
        data.group_names.truncate(3);
        let mut s = quick;
        s.run.cells = "baseline".into();
        s.run.max_epochs = Some(40);
        let rec = run_dataset("synthetic", "opensmile", &data, &s, &quiet(dir.path())).unwrap();
        assert_eq!(rec.cells.len(), 1);
        for c in &rec.cells {
            let r = &c.runs[0];
            assert_eq!(r.rows, data.len());
            // Every decision equal, or a disagreement explained by a tiny margin.
            assert!(
                r.disagreements.iter().all(|d| d.margin <= 2.0 * d.error),
                "{c:?}"
            );
            assert!(r.agree + r.disagreements.len() == r.rows);
            assert!(r.max_abs_error < 0.1, "{}", r.max_abs_error);
            assert_eq!(r.server_ms.len(), 3);
            assert!(
                (r.encrypted_accuracy - r.plain_accuracy).abs()
                    < 100.0 / r.rows as f64 * r.disagreements.len() as f64 + 1e-9
            );
        }
        crate::record::write_record(&out_path(dir.path(), &rec), &rec).unwrap();
        let doc = std::fs::read_to_string(regenerate(dir.path()).unwrap()).unwrap();
        assert!(doc.contains("| HE-aware p2 + BN | – |"), "{doc}");
        assert!(doc.contains("N = 2^13"), "{doc}");
    }

    #[test]
    fn degree_filter_and_corpus_overrides() {
        let full = EncryptedConfig::full();
        assert_eq!(full.for_corpus("nemo").unwrap().degrees, vec![2]);
        assert!(full.for_corpus("emodb").unwrap().degrees.is_empty());
        let all = networks(full.for_corpus("emodb").unwrap()).unwrap();
        let n: usize = all.iter().map(|n| n.evaluations.len()).sum();
        assert_eq!(n, 9, "every polynomial cell, no ReLU cell");
    }
}
