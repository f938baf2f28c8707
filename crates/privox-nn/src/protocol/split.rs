//! Speaker-grouped inner splits of a training part: the plain holdout of
//! the paper ([`InnerSplit`], shared with every model) and the class-aware
//! folds of the robust recipe, whose validation folds hold every class.

use privox_data::Fold;
use privox_data::protocol::{InnerSplit, Labelled, count_speakers};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

use crate::error::{NnError, Result};

/// Splits `train_idx` into (fit rows, validation rows) by speaker: the
/// paper's holdout, the first fold of [`InnerSplit`] with `val_folds`
/// folds (it may hold one class).
pub fn speaker_holdout<D: Labelled + ?Sized>(
    data: &D,
    train_idx: &[usize],
    val_folds: usize,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let found = count_speakers(data, train_idx);
    if found < 2 {
        return Err(NnError::TooFewTrainingSpeakers { found });
    }
    let mut folds = InnerSplit {
        folds: val_folds,
        seed,
    }
    .folds(data, train_idx)?;
    let first = folds.swap_remove(0);
    Ok((first.train, first.test))
}

/// Speaker-grouped inner folds whose validation folds each hold every
/// class (as far as the data allows): the robust recipe's counterpart of
/// [`InnerSplit`], same shape (global row indices in, global row indices
/// out). See [`class_aware_group_k_fold`] for the assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassAwareInnerSplit {
    /// Folds wanted; fewer when the rarest class has fewer speakers.
    pub folds: usize,
    /// Seed of the speaker assignment.
    pub seed: u64,
}

impl ClassAwareInnerSplit {
    /// The folds over `rows`, in global row indices.
    pub fn folds<D: Labelled + ?Sized>(&self, data: &D, rows: &[usize]) -> Result<Vec<Fold>> {
        let groups: Vec<usize> = rows.iter().map(|&i| data.speakers()[i]).collect();
        let y: Vec<usize> = rows.iter().map(|&i| data.labels()[i]).collect();
        let folds = class_aware_group_k_fold(&groups, &y, data.n_classes(), self.folds, self.seed)?;
        Ok(folds
            .into_iter()
            .map(|f| Fold {
                name: f.name,
                train: f.train.iter().map(|&j| rows[j]).collect(),
                test: f.test.iter().map(|&j| rows[j]).collect(),
            })
            .collect())
    }
}

/// Speaker-grouped `k`-fold whose test folds each contain every class, as
/// far as the data allows.
///
/// `k` is lowered to the number of speakers that hold the rarest class
/// (never below 2), so a class spread over `m` speakers can reach every
/// fold. Speakers are shuffled with `seed`; first, class by class from the
/// rarest, each fold that lacks the class receives a speaker holding it;
/// then every other speaker, larger first, goes to the fold where it most
/// evens out the per-class row counts (least sum of squared class
/// shares). Returns folds of positions into `groups`/`y`.
pub fn class_aware_group_k_fold(
    groups: &[usize],
    y: &[usize],
    n_classes: usize,
    k: usize,
    seed: u64,
) -> Result<Vec<Fold>> {
    if groups.len() != y.len() {
        return Err(NnError::LabelCountMismatch {
            what: "speaker groups",
            expected: y.len(),
            found: groups.len(),
        });
    }
    if let Some(&bad) = y.iter().find(|&&c| c >= n_classes) {
        return Err(NnError::LabelOutOfRange {
            row: y.iter().position(|&c| c == bad).unwrap_or(0),
            label: bad,
            n_classes,
        });
    }
    let mut distinct: Vec<usize> = groups.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(NnError::TooFewTrainingSpeakers {
            found: distinct.len(),
        });
    }
    // Rows per (speaker, class).
    let pos = |g: usize| distinct.binary_search(&g).unwrap_or(0);
    let mut counts = vec![vec![0usize; n_classes]; distinct.len()];
    for (&g, &c) in groups.iter().zip(y) {
        counts[pos(g)][c] += 1;
    }
    let total: Vec<usize> = (0..n_classes)
        .map(|c| counts.iter().map(|r| r[c]).sum())
        .collect();
    let speakers_with = |c: usize| counts.iter().filter(|r| r[c] > 0).count();
    let rarest = (0..n_classes)
        .filter(|&c| total[c] > 0)
        .map(speakers_with)
        .min()
        .unwrap_or(0);
    let k = k.min(rarest).max(2).min(distinct.len());

    let mut order: Vec<usize> = (0..distinct.len()).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    order.shuffle(&mut rng);
    let mut load = vec![vec![0usize; n_classes]; k];
    let mut fold_of: Vec<Option<usize>> = vec![None; distinct.len()];
    let place = |s: usize, f: usize, load: &mut [Vec<usize>], fold_of: &mut [Option<usize>]| {
        for (l, n) in load[f].iter_mut().zip(&counts[s]) {
            *l += n;
        }
        fold_of[s] = Some(f);
    };
    // 1. Rarest class first: every fold that lacks the class gets one
    //    (shuffled) speaker holding it, while such speakers remain.
    let mut classes: Vec<usize> = (0..n_classes).filter(|&c| total[c] > 0).collect();
    classes.sort_by_key(|&c| speakers_with(c));
    for c in classes {
        for f in 0..k {
            if load[f][c] > 0 {
                continue;
            }
            let free = order
                .iter()
                .copied()
                .find(|&s| fold_of[s].is_none() && counts[s][c] > 0);
            if let Some(s) = free {
                place(s, f, &mut load, &mut fold_of);
            }
        }
    }
    // 2. The rest, larger speakers first, each where it best evens out the
    //    per-class shares (least sum of squared shares).
    let mut rest: Vec<usize> = order
        .into_iter()
        .filter(|&s| fold_of[s].is_none())
        .collect();
    rest.sort_by_key(|&s| std::cmp::Reverse(counts[s].iter().sum::<usize>()));
    for s in rest {
        let cost = |f: usize| -> f64 {
            (0..n_classes)
                .filter(|&c| total[c] > 0)
                .map(|c| {
                    let share = (load[f][c] + counts[s][c]) as f64 / total[c] as f64;
                    share * share
                })
                .sum()
        };
        let f = (0..k)
            .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
            .unwrap_or(0);
        place(s, f, &mut load, &mut fold_of);
    }
    // Invariant: every speaker was placed in phase 1 or 2.
    let fold_of: Vec<usize> = fold_of.into_iter().map(|f| f.unwrap_or(0)).collect();
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..groups.len()).partition(|&i| fold_of[pos(groups[i])] == f);
            Fold {
                name: format!("inner fold {}", f + 1),
                train,
                test,
            }
        })
        .collect())
}

/// The fold to hold out for early stopping: its training part must keep
/// every class of the whole (a class held by one speaker stays in
/// training), then the most classes in its validation part; first fold on ties.
pub(crate) fn pick_validation_fold<'a>(
    folds: &'a [Fold],
    y: &[usize],
    n_classes: usize,
) -> &'a Fold {
    let classes = |idx: &[usize]| {
        let mut seen = vec![false; n_classes];
        idx.iter().for_each(|&i| seen[y[i]] = true);
        seen.iter().filter(|&&b| b).count()
    };
    // Invariant: class_aware_group_k_fold returns at least two folds.
    let every: Vec<usize> = folds[0]
        .train
        .iter()
        .chain(&folds[0].test)
        .copied()
        .collect();
    let all = classes(&every);
    let score = |f: &Fold| {
        let train_all = usize::from(classes(&f.train) >= all);
        (train_all, classes(&f.test))
    };
    let mut best = &folds[0];
    for f in &folds[1..] {
        if score(f) > score(best) {
            best = f;
        }
    }
    best
}
