//! Choosing Δ for a target leakage from the data's pairwise distances.
//!
//! The same Δ leaks very differently on different corpora, because leakage
//! depends on where the data's pairwise distances sit relative to Δ. Given
//! training features, the predicted leakage at Δ is
//!
//! `L(Δ) = mean over pairs of P(Binomial(M, E[d_H](d/Δ)) < τ·M)`,
//!
//! the exact probability that a pair at Euclidean distance d ends up with a
//! realized d_H below the threshold τ (symbols are independent given the
//! pair). `L` increases with Δ, so Δ is found by bisection on log Δ. The
//! binomial spread matters: with k = 3 and τ = 0.65 close to the saturation
//! 2/3, even pairs at infinite distance leak with probability ~3 % at
//! mpc = 32, which sets a floor no Δ can go below.

use crate::SmhError;
use crate::theory::{expected_distance, prob_distance_below, saturation_distance};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;

/// Intervals of the tabulated `s ↦ P(d_H < τ)` on `[0, s_sat]`.
const TABLE_STEPS: usize = 8192;
/// Distance histogram bins.
const HIST_BINS: usize = 1 << 16;

/// What to tune for.
#[derive(Clone, Copy, Debug)]
pub struct TuneOptions {
    /// Alphabet size k.
    pub k: u32,
    /// Measurements per coefficient.
    pub mpc: usize,
    /// Privacy threshold τ on d_H.
    pub threshold: f64,
    /// Target leakage in percent, e.g. 28.
    pub target_percent: f64,
    /// At most this many pairs are used (a seeded random sample beyond it).
    pub max_pairs: usize,
    /// Seed of the pair sample (recorded in the report).
    pub seed: u64,
    /// Share of same-speaker (same-group) pairs in the population whose
    /// leakage is targeted, e.g. the held-out set's; `None` targets the
    /// training pairs as they are. Needs groups (see [`LeakageModel::with_groups`]).
    pub same_group_share: Option<f64>,
}

/// The leakage model of one training set: its distance distribution (all
/// pairs, and split into same-group and cross-group pairs when groups are
/// known) and the tabulated pair leak probability.
///
/// Leakage is a property of a *pair population*: pairs of recordings of the
/// same speaker are much closer than pairs of different speakers, so a set
/// with few speakers (e.g. one held-out fold) leaks more at the same Δ. With
/// groups, the model predicts any mixture of the two kinds of pairs.
#[derive(Clone, Debug)]
pub struct LeakageModel {
    /// (representative distance, weight) per non-empty histogram bin.
    all: Vec<(f64, f64)>,
    same: Vec<(f64, f64)>,
    cross: Vec<(f64, f64)>,
    /// P(d_H < τ) at s = i·s_sat/TABLE_STEPS.
    table: Vec<f64>,
    s_sat: f64,
    share: Option<f64>,
    /// Pairs behind the model.
    pub pairs_used: u64,
    /// All pairs of the set.
    pub pairs_total: u64,
}

impl LeakageModel {
    /// Builds the model from row-major features (`dim` columns, at least 2 rows).
    pub fn new(x: &[f64], dim: usize, opts: &TuneOptions) -> Result<Self, SmhError> {
        Self::with_groups(x, dim, None, opts)
    }

    /// Like [`LeakageModel::new`], also splitting pairs by group (speaker),
    /// which `opts.same_group_share` needs.
    pub fn with_groups(
        x: &[f64],
        dim: usize,
        groups: Option<&[usize]>,
        opts: &TuneOptions,
    ) -> Result<Self, SmhError> {
        let params = crate::SmhParams::new(opts.k, 1.0, opts.mpc, dim.max(1))?;
        crate::leakage::resolve_threshold(opts.k, Some(opts.threshold))?;
        if dim == 0 || !x.len().is_multiple_of(dim) {
            return Err(SmhError::RaggedInput {
                what: "feature matrix",
                len: x.len(),
                dim,
            });
        }
        if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
            return Err(SmhError::NonFinite {
                row: pos / dim,
                col: pos % dim,
                value: x[pos],
            });
        }
        let n = x.len() / dim;
        if n < 2 {
            return Err(SmhError::TooFew {
                what: "Δ tuning (training vectors to form pairs)",
                needed: 2,
                found: n,
            });
        }
        if let Some(g) = groups
            && g.len() != n
        {
            return Err(SmhError::LengthMismatch {
                what: "group labels (one per vector)",
                expected: n,
                found: g.len(),
            });
        }
        if let Some(w) = opts.same_group_share {
            if !(0.0..=1.0).contains(&w) {
                return Err(SmhError::OutOfRange {
                    what: "same-group share",
                    value: w,
                    min: 0.0,
                    max: 1.0,
                });
            }
            if groups.is_none() {
                return Err(SmhError::SameGroupShareWithoutGroups);
            }
        }
        let total = n as u64 * (n as u64 - 1) / 2;
        let same_group = |i: usize, j: usize| groups.is_some_and(|g| g[i] == g[j]);
        let dist = |i: usize, j: usize| -> (f64, bool) {
            let (a, b) = (&x[i * dim..(i + 1) * dim], &x[j * dim..(j + 1) * dim]);
            let d = a
                .iter()
                .zip(b)
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f64>()
                .sqrt();
            (d, same_group(i, j))
        };
        let distances: Vec<(f64, bool)> = if total <= opts.max_pairs.max(1) as u64 {
            (1..n)
                .into_par_iter()
                .flat_map_iter(|i| (0..i).map(move |j| dist(i, j)))
                .collect()
        } else {
            let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
            let pairs: Vec<(usize, usize)> = (0..opts.max_pairs)
                .map(|_| {
                    let i = rng.random_range(0..n);
                    let mut j = rng.random_range(0..n - 1);
                    if j >= i {
                        j += 1;
                    }
                    (i, j)
                })
                .collect();
            pairs.par_iter().map(|&(i, j)| dist(i, j)).collect()
        };
        let d_max = distances
            .iter()
            .map(|d| d.0)
            .fold(0.0f64, f64::max)
            .max(1e-300);
        let all = histogram(distances.iter().map(|d| d.0), d_max);
        let same = histogram(distances.iter().filter(|d| d.1).map(|d| d.0), d_max);
        let cross = histogram(distances.iter().filter(|d| !d.1).map(|d| d.0), d_max);
        if opts.same_group_share.is_some_and(|w| w > 0.0) && same.is_empty() {
            return Err(SmhError::NoSameGroupPairs);
        }
        if opts.same_group_share.is_some_and(|w| w < 1.0) && cross.is_empty() {
            return Err(SmhError::NoCrossGroupPairs);
        }
        let m = params.symbols();
        let s_sat = saturation_distance(opts.k);
        let table = (0..=TABLE_STEPS)
            .into_par_iter()
            .map(|i| {
                let s = s_sat * i as f64 / TABLE_STEPS as f64;
                prob_distance_below(expected_distance(s, opts.k).0, m, opts.threshold)
            })
            .collect();
        Ok(LeakageModel {
            all,
            same,
            cross,
            table,
            s_sat,
            share: opts.same_group_share,
            pairs_used: distances.len() as u64,
            pairs_total: total,
        })
    }

    /// Predicted leakage in percent at `delta` for the population this model
    /// was built for (`opts.same_group_share`).
    pub fn predicted_percent(&self, delta: f64) -> f64 {
        self.predicted_percent_with_share(delta, self.share)
    }

    /// Predicted leakage in percent at `delta` for a population with the
    /// given share of same-group pairs (`None`: the pairs as sampled).
    pub fn predicted_percent_with_share(&self, delta: f64, share: Option<f64>) -> f64 {
        let mean = |bins: &[(f64, f64)]| {
            bins.iter()
                .map(|&(d, w)| w * self.leak_prob(d / delta))
                .sum::<f64>()
        };
        100.0
            * match share {
                None => mean(&self.all),
                Some(w) => {
                    let s = if w > 0.0 { w * mean(&self.same) } else { 0.0 };
                    let c = if w < 1.0 {
                        (1.0 - w) * mean(&self.cross)
                    } else {
                        0.0
                    };
                    s + c
                }
            }
    }

    /// P(d_H < τ) for a pair at normalized distance s (linear interpolation).
    fn leak_prob(&self, s: f64) -> f64 {
        if s >= self.s_sat {
            return self.table[TABLE_STEPS];
        }
        let t = s / self.s_sat * TABLE_STEPS as f64;
        let i = t.floor() as usize;
        let f = t - i as f64;
        self.table[i] * (1.0 - f) + self.table[(i + 1).min(TABLE_STEPS)] * f
    }

    /// Leakage of pairs at infinite distance, in percent: no Δ leaks less
    /// (pairs of identical vectors leak on top of it).
    pub fn floor_percent(&self) -> f64 {
        100.0 * self.table[TABLE_STEPS]
    }

    /// Smallest and largest pair distance in the model.
    fn distance_range(&self) -> (f64, f64) {
        let pos = self.all.iter().map(|b| b.0).filter(|d| *d > 0.0);
        let min = pos.clone().fold(f64::INFINITY, f64::min);
        let max = pos.fold(0.0f64, f64::max);
        (min, max)
    }
}

/// The chosen Δ and what the model predicts for it.
#[derive(Clone, Debug)]
pub struct TuneReport {
    /// The chosen Δ.
    pub delta: f64,
    /// The leakage asked for, in percent.
    pub target_percent: f64,
    /// Predicted leakage at `delta` (binomial model), in percent.
    pub predicted_percent: f64,
    /// Leakage floor of (k, mpc, τ), in percent.
    pub floor_percent: f64,
    /// Pairs behind the model.
    pub pairs_used: u64,
    /// All pairs of the set.
    pub pairs_total: u64,
}

/// Chooses Δ so that the predicted leakage on `x` equals the target.
///
/// ```
/// use privox_smh::tune::{tune_delta, TuneOptions};
/// // 50 points on a line, 4 dimensions.
/// let x: Vec<f64> = (0..200).map(|i| ((i / 4) as f64 * 0.04) - 1.0).collect();
/// // M = 32·4 = 128 symbols: the leakage floor is ~34 % here, so aim above it.
/// let opts = TuneOptions { k: 3, mpc: 32, threshold: 0.65, target_percent: 60.0, max_pairs: 1_000_000, seed: 1, same_group_share: None };
/// let r = tune_delta(&x, 4, &opts).unwrap();
/// assert!((r.predicted_percent - 60.0).abs() < 0.01);
/// ```
pub fn tune_delta(x: &[f64], dim: usize, opts: &TuneOptions) -> Result<TuneReport, SmhError> {
    let model = LeakageModel::new(x, dim, opts)?;
    tune_with_model(&model, opts)
}

/// Bisection on log Δ against an existing model.
pub fn tune_with_model(model: &LeakageModel, opts: &TuneOptions) -> Result<TuneReport, SmhError> {
    let target = opts.target_percent;
    let (d_min, d_max) = model.distance_range();
    if !d_max.is_finite() || d_max <= 0.0 {
        return Err(SmhError::IdenticalVectors);
    }
    // At lo every positive distance is beyond saturation; at hi all are ~0.
    let (mut lo, mut hi) = ((d_min / model.s_sat).ln() - 1.0, (d_max / 1e-9).ln());
    let (l_lo, l_hi) = (
        model.predicted_percent(lo.exp()),
        model.predicted_percent(hi.exp()),
    );
    if !(target.is_finite() && target > l_lo && target < l_hi) {
        return Err(SmhError::TargetUnreachable {
            target,
            k: opts.k,
            mpc: opts.mpc,
            threshold: opts.threshold,
            low: l_lo,
            high: l_hi,
            floor: model.floor_percent(),
        });
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if model.predicted_percent(mid.exp()) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    let delta = (0.5 * (lo + hi)).exp();
    Ok(TuneReport {
        delta,
        target_percent: target,
        predicted_percent: model.predicted_percent(delta),
        floor_percent: model.floor_percent(),
        pairs_used: model.pairs_used,
        pairs_total: model.pairs_total,
    })
}

/// Equal-width histogram on [0, d_max]: (mean distance, weight) per non-empty bin.
fn histogram(distances: impl Iterator<Item = f64>, d_max: f64) -> Vec<(f64, f64)> {
    let mut sum = vec![0.0; HIST_BINS];
    let mut cnt = vec![0.0; HIST_BINS];
    let mut used = 0.0;
    for d in distances {
        let b = ((d / d_max) * (HIST_BINS - 1) as f64).round() as usize;
        sum[b] += d;
        cnt[b] += 1.0;
        used += 1.0;
    }
    sum.iter()
        .zip(&cnt)
        .filter(|(_, c)| **c > 0.0)
        .map(|(s, c)| (s / c, c / used))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SmhKey, SmhParams, leakage};

    fn cloud(n: usize, dim: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn prediction_is_monotone_and_hits_target() {
        let x = cloud(120, 10, 1);
        let opts = TuneOptions {
            k: 3,
            mpc: 8,
            threshold: 0.65,
            target_percent: 50.0,
            max_pairs: 1 << 20,
            seed: 0,
            same_group_share: None,
        };
        let model = LeakageModel::new(&x, 10, &opts).unwrap();
        let mut prev = 0.0;
        for i in 0..40 {
            let p = model.predicted_percent(0.1 * 1.2f64.powi(i));
            assert!(p >= prev - 1e-9);
            prev = p;
        }
        let r = tune_with_model(&model, &opts).unwrap();
        assert!((r.predicted_percent - 50.0).abs() < 1e-6);
        let bad = TuneOptions {
            target_percent: 0.01,
            ..opts
        };
        assert!(tune_with_model(&model, &bad).is_err());
    }

    #[test]
    fn measured_leakage_tracks_prediction() {
        // Same distribution for tuning and measuring: several keys, mean close to target.
        let (dim, mpc) = (10, 8);
        let x = cloud(150, dim, 2);
        let opts = TuneOptions {
            k: 3,
            mpc,
            threshold: 0.65,
            target_percent: 40.0,
            max_pairs: 1 << 20,
            seed: 0,
            same_group_share: None,
        };
        let r = tune_delta(&x, dim, &opts).unwrap();
        let params = SmhParams::new(3, r.delta, mpc, dim).unwrap();
        let mean: f64 = (0..4)
            .map(|s| {
                let codes = SmhKey::generate_with_seed(params, s).hash_rows(&x).unwrap();
                leakage::within(&codes, 0.65).unwrap().percent()
            })
            .sum::<f64>()
            / 4.0;
        assert!(
            (mean - 40.0).abs() < 3.0,
            "measured {mean}% for predicted 40%"
        );
    }

    #[test]
    fn bad_input() {
        let opts = TuneOptions {
            k: 3,
            mpc: 8,
            threshold: 0.65,
            target_percent: 30.0,
            max_pairs: 100,
            seed: 0,
            same_group_share: None,
        };
        assert!(matches!(
            LeakageModel::new(&[0.0, f64::NAN], 2, &opts),
            Err(SmhError::NonFinite { .. })
        ));
        assert!(LeakageModel::new(&[0.0, 1.0], 2, &opts).is_err());
        assert!(LeakageModel::new(&[0.0; 5], 2, &opts).is_err());
        let same = vec![0.5; 20];
        let m = LeakageModel::new(&same, 2, &opts).unwrap();
        assert!(tune_with_model(&m, &opts).is_err());
    }
}
