//! Classification metrics: accuracy, unweighted average recall, confusion.

use crate::DataError;
use std::fmt;

/// Counts of (true class, predicted class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    n: usize,
    /// Row-major: `counts[t * n + p]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        ConfusionMatrix {
            n: n_classes,
            counts: vec![0; n_classes * n_classes],
        }
    }

    /// Builds the matrix from paired labels; lengths and ranges are checked.
    pub fn from_predictions(
        n_classes: usize,
        y_true: &[usize],
        y_pred: &[usize],
    ) -> Result<Self, DataError> {
        if y_true.len() != y_pred.len() {
            return Err(DataError::LengthMismatch {
                what: "predictions (one per true label)",
                expected: y_true.len(),
                found: y_pred.len(),
            });
        }
        let mut cm = Self::new(n_classes);
        for (&t, &p) in y_true.iter().zip(y_pred) {
            if t >= n_classes || p >= n_classes {
                return Err(DataError::ClassOutOfRange {
                    class: t.max(p),
                    n_classes,
                });
            }
            cm.counts[t * n_classes + p] += 1;
        }
        Ok(cm)
    }

    /// Adds another matrix's counts (pooling folds).
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<(), DataError> {
        if other.n != self.n {
            return Err(DataError::ClassCountMismatch {
                expected: self.n,
                found: other.n,
            });
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        Ok(())
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n
    }

    /// Recordings of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.n + predicted]
    }

    /// All recordings counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn support(&self, c: usize) -> u64 {
        self.counts[c * self.n..(c + 1) * self.n].iter().sum()
    }

    /// Fraction of correct predictions (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.n).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Recall of class `c` (`None` when the class has no true examples).
    pub fn recall(&self, c: usize) -> Option<f64> {
        let s = self.support(c);
        (s > 0).then(|| ratio(self.count(c, c), s))
    }

    /// Unweighted average recall over the classes that occur.
    pub fn uar(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.n).filter_map(|c| self.recall(c)).collect();
        if recalls.is_empty() {
            0.0
        } else {
            recalls.iter().sum::<f64>() / recalls.len() as f64
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for ConfusionMatrix {
    /// Rows are true classes, columns predictions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in 0..self.n {
            let row: Vec<String> = (0..self.n)
                .map(|p| format!("{:>6}", self.count(t, p)))
                .collect();
            writeln!(f, "{}", row.join(" "))?;
        }
        write!(
            f,
            "accuracy {:.2} %, UAR {:.2} %",
            100.0 * self.accuracy(),
            100.0 * self.uar()
        )
    }
}

/// Mean and sample standard deviation (n − 1 in the denominator; 0 for one value).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() == 1 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_uar() {
        // 3 of class 0 (2 right), 1 of class 1 (right).
        let cm = ConfusionMatrix::from_predictions(2, &[0, 0, 0, 1], &[0, 0, 1, 1]).unwrap();
        assert_eq!(cm.accuracy(), 0.75);
        assert!((cm.uar() - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        let mut pooled = cm.clone();
        pooled.merge(&cm).unwrap();
        assert_eq!(pooled.total(), 8);
        assert!(ConfusionMatrix::from_predictions(2, &[0], &[2]).is_err());
        assert!(ConfusionMatrix::from_predictions(2, &[0], &[]).is_err());
    }

    #[test]
    fn mean_std_sample() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 1.0).abs() < 1e-12);
    }
}
