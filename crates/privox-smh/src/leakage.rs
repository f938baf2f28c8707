//! Leakage: the share of code pairs whose d_H lies below a privacy threshold.
//!
//! A pair of codes closer than the threshold reveals that the underlying
//! feature vectors are close. Which pairs are counted is explicit in
//! [`PairSet`] and printed with every report.

use crate::distance::count_pairs_below;
use crate::{Codes, SmhError};
use std::fmt;

/// Default thresholds of the paper for k = 2, 3, 5 and 10.
pub const DEFAULT_THRESHOLDS: [(u32, f64); 4] = [(2, 0.475), (3, 0.65), (5, 0.775), (10, 0.875)];

/// The paper's default threshold for `k`, if it defines one.
pub fn default_threshold(k: u32) -> Option<f64> {
    DEFAULT_THRESHOLDS
        .iter()
        .find(|(kk, _)| *kk == k)
        .map(|(_, t)| *t)
}

/// The explicit threshold if given, else the default for `k`; there is no
/// default outside k ∈ {2, 3, 5, 10}, so other k need an explicit value.
pub fn resolve_threshold(k: u32, explicit: Option<f64>) -> Result<f64, SmhError> {
    match explicit {
        Some(t) if t > 0.0 && t <= 1.0 => Ok(t),
        Some(t) => Err(SmhError::BadThreshold(t)),
        None => default_threshold(k).ok_or(SmhError::NoDefaultThreshold(k)),
    }
}

/// Which pairs a leakage figure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairSet {
    /// All unordered pairs {i, j}, i ≠ j, of items within one set.
    Within,
    /// All pairs (i, j) with i from one set and j from another.
    Cross,
}

/// A measured leakage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakageReport {
    /// Which pairs were compared.
    pub pair_set: PairSet,
    /// The normalized Hamming threshold.
    pub threshold: f64,
    /// Pairs compared.
    pub pairs: u64,
    /// Pairs whose distance is below the threshold.
    pub below: u64,
}

impl LeakageReport {
    /// Leakage in percent (0 when there are no pairs).
    pub fn percent(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            100.0 * self.below as f64 / self.pairs as f64
        }
    }

    /// Adds another measurement of the same kind (pooling folds).
    pub fn pool(&mut self, other: &LeakageReport) {
        self.pairs += other.pairs;
        self.below += other.below;
    }
}

impl fmt::Display for LeakageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let which = match self.pair_set {
            PairSet::Within => "unordered pairs of distinct items within the set",
            PairSet::Cross => "cross pairs between the two sets",
        };
        write!(
            f,
            "leakage {:.2}% ({} of {} {} have d_H < {})",
            self.percent(),
            self.below,
            self.pairs,
            which,
            self.threshold
        )
    }
}

/// Count limit: d_H = c/M < t  ⇔  c < t·M  ⇔  c ≤ ceil(t·M) − 1.
fn count_limit(threshold: f64, symbols: usize) -> u32 {
    (threshold * symbols as f64)
        .ceil()
        .clamp(0.0, u32::MAX as f64) as u32
}

/// Leakage over all unordered pairs of distinct codes of `codes`.
///
/// ```
/// use privox_smh::{leakage, SmhKey, SmhParams};
/// let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 32, 2).unwrap(), 1);
/// let codes = key.hash_rows(&[0.0, 0.0, 0.01, 0.0, 5.0, 5.0]).unwrap();
/// let r = leakage::within(&codes, 0.65).unwrap();
/// assert_eq!(r.pairs, 3);
/// assert!(r.below >= 1); // the two nearly identical inputs
/// ```
pub fn within(codes: &Codes, threshold: f64) -> Result<LeakageReport, SmhError> {
    let threshold = resolve_threshold(codes.params().k(), Some(threshold))?;
    let n = codes.len() as u64;
    let below = count_pairs_below(codes, None, count_limit(threshold, codes.symbols()))?;
    Ok(LeakageReport {
        pair_set: PairSet::Within,
        threshold,
        pairs: n * n.saturating_sub(1) / 2,
        below,
    })
}

/// Leakage over all cross pairs between `a` and `b` (same key required).
pub fn cross(a: &Codes, b: &Codes, threshold: f64) -> Result<LeakageReport, SmhError> {
    let threshold = resolve_threshold(a.params().k(), Some(threshold))?;
    let below = count_pairs_below(a, Some(b), count_limit(threshold, a.symbols()))?;
    Ok(LeakageReport {
        pair_set: PairSet::Cross,
        threshold,
        pairs: a.len() as u64 * b.len() as u64,
        below,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SmhKey, SmhParams, hamming_matrix_symmetric};

    #[test]
    fn thresholds() {
        assert_eq!(resolve_threshold(3, None).unwrap(), 0.65);
        assert_eq!(resolve_threshold(10, None).unwrap(), 0.875);
        assert!(matches!(
            resolve_threshold(4, None),
            Err(SmhError::NoDefaultThreshold(4))
        ));
        assert_eq!(resolve_threshold(4, Some(0.7)).unwrap(), 0.7);
        assert!(matches!(
            resolve_threshold(3, Some(0.0)),
            Err(SmhError::BadThreshold(_))
        ));
        assert!(matches!(
            resolve_threshold(3, Some(1.5)),
            Err(SmhError::BadThreshold(_))
        ));
    }

    #[test]
    fn matches_brute_force_on_distance_matrix() {
        let params = SmhParams::new(3, 1.5, 4, 6).unwrap();
        let key = SmhKey::generate_with_seed(params, 3);
        let x: Vec<f64> = (0..30 * 6)
            .map(|i| (i * 13 % 17) as f64 / 8.5 - 1.0)
            .collect();
        let codes = key.hash_rows(&x).unwrap();
        let d = hamming_matrix_symmetric(&codes);
        for t in [0.2, 0.5, 0.65, 0.9] {
            let r = within(&codes, t).unwrap();
            let brute = (0..30)
                .flat_map(|i| (0..i).map(move |j| (i, j)))
                .filter(|&(i, j)| d[i * 30 + j] < t)
                .count();
            assert_eq!(r.below as usize, brute, "t={t}");
            assert_eq!(r.pairs, 435);
            let c = cross(&codes, &codes, t).unwrap();
            assert_eq!(c.pairs, 900);
            assert_eq!(c.below as usize, 2 * brute + 30);
        }
    }
}
