//! Speaker-independent splits: no speaker is ever in both train and test.

use crate::DataError;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use std::path::Path;

/// One train/test partition of row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Human-readable name, e.g. the held-out speaker.
    pub name: String,
    /// Row indices to train on.
    pub train: Vec<usize>,
    /// Row indices to test on.
    pub test: Vec<usize>,
}

fn distinct_groups(groups: &[usize]) -> Vec<usize> {
    let mut g: Vec<usize> = groups.to_vec();
    g.sort_unstable();
    g.dedup();
    g
}

fn fold_for(name: String, groups: &[usize], is_test: impl Fn(usize) -> bool) -> Fold {
    let (test, train) = (0..groups.len()).partition(|&i| is_test(groups[i]));
    Fold { name, train, test }
}

/// Leave-one-speaker-out: one fold per group, in increasing group order.
pub fn leave_one_group_out(groups: &[usize], group_names: &[String]) -> Vec<Fold> {
    distinct_groups(groups)
        .into_iter()
        .map(|g| {
            let name = group_names.get(g).cloned().unwrap_or_else(|| g.to_string());
            fold_for(name, groups, |x| x == g)
        })
        .collect()
}

/// Speaker-grouped k-fold: groups are shuffled with `seed`, then each is given
/// to the fold with the fewest rows so far, which balances fold sizes.
pub fn group_k_fold(groups: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>, DataError> {
    let mut distinct = distinct_groups(groups);
    if k < 2 || k > distinct.len() {
        return Err(DataError::FoldCount {
            k,
            speakers: distinct.len(),
        });
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    distinct.shuffle(&mut rng);
    let size = |g: usize| groups.iter().filter(|&&x| x == g).count();
    // Largest first keeps the greedy balance tight, ties broken by the shuffle.
    distinct.sort_by_key(|&g| std::cmp::Reverse(size(g)));
    let mut fold_of_group = std::collections::HashMap::new();
    let mut load = vec![0usize; k];
    for g in distinct {
        let f = (0..k).min_by_key(|&f| load[f]).unwrap_or(0);
        load[f] += size(g);
        fold_of_group.insert(g, f);
    }
    Ok((0..k)
        .map(|f| {
            fold_for(format!("fold {}", f + 1), groups, |g| {
                fold_of_group.get(&g) == Some(&f)
            })
        })
        .collect())
}

/// A fixed split written down in a CSV file with header `speaker,split`,
/// where `split` is `train` or `test`. Speakers not listed are left out.
pub fn fixed_split_from_file(
    path: &Path,
    groups: &[usize],
    group_names: &[String],
) -> Result<Fold, DataError> {
    let text = std::fs::read_to_string(path).map_err(|cause| DataError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let mut train_names = Vec::new();
    let mut test_names = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| DataError::BadRow {
            path: path.to_path_buf(),
            line: n as u64 + 1,
            message,
        };
        let (speaker, split) = line
            .split_once(',')
            .ok_or_else(|| bad("expected `speaker,split`".into()))?;
        match split.trim() {
            "train" => train_names.push(speaker.trim().to_string()),
            "test" => test_names.push(speaker.trim().to_string()),
            other => return Err(bad(format!("split must be train or test, found {other:?}"))),
        }
    }
    if let Some(s) = train_names.iter().find(|s| test_names.contains(s)) {
        return Err(DataError::SplitFile {
            path: path.to_path_buf(),
            cause: Box::new(DataError::SpeakerInBoth { speaker: s.clone() }),
        });
    }
    let lookup = |names: &[String]| -> Vec<usize> {
        (0..groups.len())
            .filter(|&i| {
                group_names
                    .get(groups[i])
                    .is_some_and(|g| names.contains(g))
            })
            .collect()
    };
    let fold = Fold {
        name: path.display().to_string(),
        train: lookup(&train_names),
        test: lookup(&test_names),
    };
    if fold.train.is_empty() || fold.test.is_empty() {
        return Err(DataError::SplitFile {
            path: path.to_path_buf(),
            cause: Box::new(DataError::EmptySplitPart {
                train: fold.train.len(),
                test: fold.test.len(),
            }),
        });
    }
    Ok(fold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_speaker_independent(groups: &[usize], f: &Fold) {
        for &i in &f.train {
            for &j in &f.test {
                assert_ne!(groups[i], groups[j]);
            }
        }
        assert_eq!(f.train.len() + f.test.len(), groups.len());
    }

    #[test]
    fn logo_has_one_fold_per_speaker() {
        let groups = [0, 0, 1, 2, 1];
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let folds = leave_one_group_out(&groups, &names);
        assert_eq!(folds.len(), 3);
        assert_eq!(folds[1].name, "b");
        assert_eq!(folds[1].test, vec![2, 4]);
        for f in &folds {
            assert_speaker_independent(&groups, f);
        }
    }

    #[test]
    fn fixed_split_reads_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("split.csv");
        std::fs::write(&p, "speaker,split\na,train\nb,test\n").unwrap();
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let f = fixed_split_from_file(&p, &[0, 1, 0], &names).unwrap();
        assert_eq!((f.train, f.test), (vec![0, 2], vec![1]));
        std::fs::write(&p, "speaker,split\na,train\na,test\n").unwrap();
        assert!(fixed_split_from_file(&p, &[0, 1], &names).is_err());
    }

    proptest! {
        #[test]
        fn group_k_fold_partitions_speaker_independently(groups in proptest::collection::vec(0usize..8, 1..60), k in 2usize..5, seed in any::<u64>()) {
            let distinct = distinct_groups(&groups).len();
            match group_k_fold(&groups, k, seed) {
                Ok(folds) => {
                    prop_assert!(k <= distinct);
                    let mut seen = vec![0; groups.len()];
                    for f in &folds {
                        assert_speaker_independent(&groups, f);
                        for &i in &f.test { seen[i] += 1; }
                    }
                    prop_assert!(seen.iter().all(|&c| c == 1));
                    prop_assert_eq!(folds, group_k_fold(&groups, k, seed).unwrap());
                }
                Err(_) => prop_assert!(k > distinct),
            }
        }
    }
}
