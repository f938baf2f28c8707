//! Feature tables in, code tables out: hashing and Δ tuning over a corpus.
//!
//! The client-side steps that need a whole table rather than a matrix:
//! scaling with training statistics before hashing ([`hash_table`]), and
//! checking a Δ tuned on training speakers against held-out speakers
//! ([`tune_held_out`]), the protocol behind `privox smh tune`.

use crate::tune::{LeakageModel, TuneOptions, TuneReport, tune_with_model};
use crate::{CodeTable, SmhError, SmhKey, SmhParams, leakage};
use privox_data::{
    FeatureTable, Fold, MinMaxScaler, SpeakerIndex, group_k_fold, leave_one_group_out, mean_std,
};

/// Hashes every row of `table`, scaled by `scaler` (fitted on training
/// rows; `None` hashes the values as they are), keeping files, speakers
/// and labels beside the codes.
///
/// ```
/// # use privox_data::{FeatureTable, MinMaxScaler};
/// # use privox_smh::{SmhKey, SmhParams};
/// # let table = FeatureTable::from_reader("file,speaker,label,a,b\nx.wav,s1,angry,1,2\ny.wav,s2,neutral,3,5\n".as_bytes())?;
/// let key = SmhKey::generate(SmhParams::new(3, 2.0, 32, table.x.cols())?);
/// let scaler = MinMaxScaler::fit(&table.x)?; // the training rows' statistics
/// let codes = privox_smh::hash_table(&key, &table, Some(&scaler))?;
/// # assert_eq!(codes.codes.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn hash_table(
    key: &SmhKey,
    table: &FeatureTable,
    scaler: Option<&MinMaxScaler>,
) -> Result<CodeTable, SmhError> {
    let x = match scaler {
        Some(s) => s.transform(&table.x)?,
        None => table.x.clone(),
    };
    let codes = key.hash(x.as_slice(), x.cols())?;
    CodeTable::new(
        codes,
        table.files.clone(),
        table.speakers.clone(),
        table.labels.clone(),
    )
}

/// How [`tune_held_out`] splits the speakers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldOut {
    /// One fold per speaker.
    LeaveOneSpeakerOut,
    /// `k` speaker-grouped folds (split seeded by the run's seed).
    GroupKFold(usize),
    /// Tune and measure on all rows (no held-out speakers).
    AllRows,
}

/// One fold of [`tune_held_out`].
#[derive(Clone, Debug)]
pub struct FoldTuning {
    /// Fold name (the held-out speaker for LOSO).
    pub name: String,
    /// Training rows.
    pub train_rows: usize,
    /// Held-out rows.
    pub test_rows: usize,
    /// Share of same-speaker pairs among the held-out pairs.
    pub same_speaker_share: f64,
    /// Δ tuned on the training speakers, with its prediction.
    pub report: TuneReport,
    /// Diagnostic: the same Δ's prediction from the held-out features.
    pub predicted_test_percent: f64,
    /// Leakage measured on the held-out codes, one value per key.
    pub measured_percent: Vec<f64>,
}

/// Result of [`tune_held_out`].
#[derive(Clone, Debug)]
pub struct HeldOutTuning {
    /// Per fold, in fold order.
    pub folds: Vec<FoldTuning>,
    /// Mean and standard deviation of every measured leakage (folds × keys).
    pub measured: (f64, f64),
    /// The Δ for the whole table (what a deployment fits on its training set).
    pub whole_table: TuneReport,
}

/// Tunes Δ on each fold's training speakers for the held-out set's share of
/// same-speaker pairs, measures the leakage of `keys` fresh keys on the
/// held-out speakers, and finally tunes Δ on the whole table (targeting
/// `whole_share` of same-speaker pairs, `None`: the table's own pairs).
///
/// Features are min-max scaled per fold with training statistics. Keys come
/// from `seed` when given (experiments), from OS entropy otherwise; the
/// fold split and pair sample use `opts.seed`. `progress` runs once per key.
pub fn tune_held_out(
    table: &FeatureTable,
    split: HeldOut,
    opts: &TuneOptions,
    keys: usize,
    seed: Option<u64>,
    whole_share: Option<f64>,
    progress: &dyn Fn(),
) -> Result<HeldOutTuning, SmhError> {
    let dim = table.x.cols();
    let mut speakers = SpeakerIndex::new();
    let groups = speakers.intern_all(table.speakers.iter().map(String::as_str));
    let all: Vec<usize> = (0..table.x.rows()).collect();
    let folds: Vec<Fold> = match split {
        HeldOut::LeaveOneSpeakerOut => leave_one_group_out(&groups, speakers.names()),
        HeldOut::GroupKFold(k) => group_k_fold(&groups, k, opts.seed)?,
        HeldOut::AllRows => vec![Fold {
            name: "all rows".into(),
            train: all.clone(),
            test: all,
        }],
    };
    let mut out = Vec::with_capacity(folds.len());
    for (fi, f) in folds.iter().enumerate() {
        let scaler = MinMaxScaler::fit(&table.x.select_rows(&f.train))?;
        let xtr = scaler.transform(&table.x.select_rows(&f.train))?;
        let xte = scaler.transform(&table.x.select_rows(&f.test))?;
        let share = same_group_share(&groups, &f.test);
        let fold_opts = TuneOptions {
            same_group_share: Some(share),
            ..*opts
        };
        let train_groups: Vec<usize> = f.train.iter().map(|&i| groups[i]).collect();
        let model =
            LeakageModel::with_groups(xtr.as_slice(), dim, Some(&train_groups), &fold_opts)?;
        let report = tune_with_model(&model, &fold_opts)?;
        let predicted_test_percent =
            LeakageModel::new(xte.as_slice(), dim, opts)?.predicted_percent(report.delta);
        let params = SmhParams::new(opts.k, report.delta, opts.mpc, dim)?;
        let mut measured_percent = Vec::with_capacity(keys);
        for s in 0..keys {
            let key = match seed {
                // A distinct, reproducible key per (fold, key number).
                Some(seed) => SmhKey::generate_with_seed(
                    params,
                    seed ^ ((fi as u64) << 32 | s as u64).wrapping_add(1),
                ),
                None => SmhKey::generate(params),
            };
            let codes = key.hash(xte.as_slice(), dim)?;
            measured_percent.push(leakage::within(&codes, opts.threshold)?.percent());
            progress();
        }
        out.push(FoldTuning {
            name: f.name.clone(),
            train_rows: f.train.len(),
            test_rows: f.test.len(),
            same_speaker_share: share,
            report,
            predicted_test_percent,
            measured_percent,
        });
    }
    let every: Vec<f64> = out
        .iter()
        .flat_map(|f| f.measured_percent.iter().copied())
        .collect();
    let scaled = MinMaxScaler::fit(&table.x)?.transform(&table.x)?;
    let whole_opts = TuneOptions {
        same_group_share: whole_share,
        ..*opts
    };
    let whole = LeakageModel::with_groups(scaled.as_slice(), dim, Some(&groups), &whole_opts)?;
    Ok(HeldOutTuning {
        folds: out,
        measured: mean_std(&every),
        whole_table: tune_with_model(&whole, &whole_opts)?,
    })
}

/// Share of same-group pairs among the unordered pairs of `rows`.
fn same_group_share(groups: &[usize], rows: &[usize]) -> f64 {
    let mut counts = std::collections::HashMap::<usize, u64>::new();
    for &i in rows {
        *counts.entry(groups[i]).or_default() += 1;
    }
    let n = rows.len() as u64;
    let same: u64 = counts.values().map(|c| c * c.saturating_sub(1) / 2).sum();
    let all = n * n.saturating_sub(1) / 2;
    if all == 0 {
        0.0
    } else {
        same as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_group_share_counts_pairs() {
        // Rows of groups [0, 0, 1]: 1 same pair of 3.
        assert!((same_group_share(&[0, 0, 1], &[0, 1, 2]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(same_group_share(&[0], &[0]), 0.0);
    }
}
