//! The aggregate results of one run, saved as JSON next to the report.
//!
//! Only aggregates are stored (accuracy, UAR, leakage counts, chosen
//! hyper-parameters): no per-file value, so nothing derived from the
//! reference feature files is committed.

use serde::{Deserialize, Serialize};

use super::experiment::SearchGrid;

/// One key seed of one configuration, pooled over the LOSO folds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedResult {
    /// The explicit key seed (`SmhKey::generate_with_seed`); absent for the baseline.
    pub seed: Option<u64>,
    /// Pooled over all held-out predictions, in percent.
    pub accuracy: f64,
    /// Unweighted average recall, in percent.
    pub uar: f64,
    /// Held-out × training code pairs below the threshold, summed over folds.
    pub leak_below: u64,
    /// Held-out × training code pairs counted.
    pub leak_pairs: u64,
    /// Per fold: (held-out speaker, C, γ, Δ).
    pub chosen: Vec<(String, f64, f64, Option<f64>)>,
    /// Tuning rows: the analytic leakage predicted on training pairs, per fold (percent).
    pub predicted_leak: Vec<f64>,
}

impl SeedResult {
    /// `leak_below / leak_pairs` in percent (NaN without pairs).
    pub fn leakage_percent(&self) -> f64 {
        if self.leak_pairs == 0 {
            f64::NAN
        } else {
            100.0 * self.leak_below as f64 / self.leak_pairs as f64
        }
    }
}

/// One row of a table: the baseline, a fixed (k, Δ), or a Δ-tuning target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConfigResult {
    /// Alphabet size (none for the baseline).
    pub k: Option<u32>,
    /// Fixed Δ (none for the baseline and tuning rows).
    pub delta: Option<f64>,
    /// Tuning target leakage in percent (tuning rows).
    pub target_percent: Option<f64>,
    /// The privacy threshold on d_H.
    pub threshold: Option<f64>,
    /// One result per key seed.
    pub seeds: Vec<SeedResult>,
}

impl ConfigResult {
    fn stat(&self, f: impl Fn(&SeedResult) -> f64) -> (f64, f64) {
        let v: Vec<f64> = self.seeds.iter().map(f).collect();
        privox_data::mean_std(&v)
    }
    /// Mean and std of the accuracy over seeds.
    pub fn accuracy(&self) -> (f64, f64) {
        self.stat(|s| s.accuracy)
    }
    /// Mean and std of the UAR over seeds.
    pub fn uar(&self) -> (f64, f64) {
        self.stat(|s| s.uar)
    }
    /// Mean and std of the leakage over seeds.
    pub fn leakage(&self) -> (f64, f64) {
        self.stat(SeedResult::leakage_percent)
    }
    /// Mean and std of the Δ chosen over all folds and seeds (tuning rows).
    pub fn chosen_delta(&self) -> (f64, f64) {
        let v: Vec<f64> = self
            .seeds
            .iter()
            .flat_map(|s| s.chosen.iter().filter_map(|c| c.3))
            .collect();
        privox_data::mean_std(&v)
    }
    /// Mean and std of the predicted leakage over folds × seeds (tuning rows).
    pub fn predicted_leak(&self) -> (f64, f64) {
        let v: Vec<f64> = self
            .seeds
            .iter()
            .flat_map(|s| s.predicted_leak.iter().copied())
            .collect();
        privox_data::mean_std(&v)
    }
}

/// Wall-clock and process CPU seconds (all threads) of one phase.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Timing {
    /// Wall-clock seconds.
    pub wall: f64,
    /// Process CPU seconds.
    pub cpu: f64,
}

/// Everything one `privox repro hashing` run measured on one corpus and feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Corpus folder name, e.g. `nemo`.
    pub corpus: String,
    /// `opensmile` (reference CSV) or `privox` (privox's own extractor).
    pub features: String,
    /// Neutral and angry rows.
    pub n_rows: usize,
    /// Rows per class (neutral, angry).
    pub class_counts: Vec<usize>,
    /// Speakers (= outer folds).
    pub n_speakers: usize,
    /// Feature columns.
    pub n_features: usize,
    /// Measurements per coefficient.
    pub mpc: usize,
    /// SMH key seeds.
    pub key_seeds: Vec<u64>,
    /// The (C, γ) search.
    pub grid: SearchGrid,
    /// The RBF-SVM baseline.
    pub baseline: Option<ConfigResult>,
    /// The Table 1/2 rows.
    pub table: Vec<ConfigResult>,
    /// The Δ-tuning rows.
    pub tuned: Vec<ConfigResult>,
    /// Wall-clock and CPU seconds of each phase.
    pub seconds_baseline: Timing,
    /// … of the Table 1/2 grid.
    pub seconds_table: Timing,
    /// … of the tuning rows.
    pub seconds_tuned: Timing,
    /// Worker threads.
    pub threads: usize,
    /// The command line.
    pub command: String,
    /// UTC time the run finished (RFC 3339-like, from the system clock).
    pub finished: String,
}

impl RunRecord {
    /// File name of this record inside the data folder.
    pub fn file_name(&self) -> String {
        format!("{}-{}.json", self.corpus, self.features)
    }
}
