//! Min-max scaling to [-1, 1], as LIBSVM's `svm-scale` does.

use crate::{DataError, Matrix};
use privox_format::{FormatError, Reader, Writer};

/// Per-feature affine map of the training range onto [-1, 1].
///
/// Fit on training rows only: test rows may fall outside [-1, 1], which is the
/// honest outcome (clipping would hide distribution shift). A feature that is
/// constant in training maps to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    min: Vec<f64>,
    max: Vec<f64>,
}

/// Upper bound on the feature count accepted from a file.
const MAX_FEATURES: usize = 1 << 16;

impl MinMaxScaler {
    /// Learns each column's range. Fails on an empty or non-finite matrix.
    pub fn fit(x: &Matrix) -> Result<Self, DataError> {
        if x.rows() == 0 {
            return Err(DataError::NoRows {
                what: "the data a scaler is fitted on",
            });
        }
        x.check_finite()?;
        let mut min = vec![f64::INFINITY; x.cols()];
        let mut max = vec![f64::NEG_INFINITY; x.cols()];
        for row in x.iter_rows() {
            for (j, &v) in row.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        Ok(MinMaxScaler { min, max })
    }

    /// Number of features the scaler expects.
    pub fn dim(&self) -> usize {
        self.min.len()
    }

    /// Scales one row in place.
    pub fn transform_row(&self, row: &mut [f64]) -> Result<(), DataError> {
        if row.len() != self.dim() {
            return Err(DataError::FeatureCount {
                expected: self.dim(),
                found: row.len(),
            });
        }
        for (j, v) in row.iter_mut().enumerate() {
            if !v.is_finite() {
                return Err(DataError::NonFinite { row: 0, col: j });
            }
            let span = self.max[j] - self.min[j];
            *v = if span > 0.0 {
                2.0 * (*v - self.min[j]) / span - 1.0
            } else {
                0.0
            };
        }
        Ok(())
    }

    /// Scales every row of `x`.
    pub fn transform(&self, x: &Matrix) -> Result<Matrix, DataError> {
        if x.cols() != self.dim() {
            return Err(DataError::FeatureCount {
                expected: self.dim(),
                found: x.cols(),
            });
        }
        x.check_finite()?;
        let mut out = x.clone();
        for i in 0..out.rows() {
            self.transform_row(out.row_mut(i))?;
        }
        Ok(out)
    }

    /// Appends the scaler to an envelope being written.
    pub fn write_to(&self, w: &mut Writer) {
        w.put_f64s(&self.min);
        w.put_f64s(&self.max);
    }

    /// Reads a scaler written by [`MinMaxScaler::write_to`].
    pub fn read_from(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let min = r.get_f64s(MAX_FEATURES)?;
        let max = r.get_f64s(MAX_FEATURES)?;
        if min.len() != max.len() || min.iter().chain(&max).any(|v| !v.is_finite()) {
            return Err(FormatError::Inconsistent {
                what: "scaler ranges (lengths or non-finite values)",
            });
        }
        Ok(MinMaxScaler { min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use privox_format::{Fingerprint, Magic};

    #[test]
    fn maps_training_range_to_unit_interval() {
        let x = Matrix::new(3, 2, vec![0.0, 5.0, 10.0, 5.0, 5.0, 5.0]).unwrap();
        let s = MinMaxScaler::fit(&x).unwrap();
        let t = s.transform(&x).unwrap();
        assert_eq!(t.as_slice(), &[-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let mut row = [20.0, 1.0];
        s.transform_row(&mut row).unwrap();
        assert_eq!(row, [3.0, 0.0]);
        assert!(s.transform_row(&mut [1.0]).is_err());
        assert!(s.transform_row(&mut [f64::NAN, 0.0]).is_err());
    }

    #[test]
    fn round_trips_through_envelope() {
        let x = Matrix::new(2, 2, vec![0.0, 1.0, 2.0, 3.0]).unwrap();
        let s = MinMaxScaler::fit(&x).unwrap();
        let m = Magic(*b"PVXTEST0");
        let mut w = Writer::new(m, 1, Fingerprint::default());
        s.write_to(&mut w);
        let b = w.finish();
        let mut r = Reader::open(&b, m, &[1]).unwrap();
        assert_eq!(MinMaxScaler::read_from(&mut r).unwrap(), s);
    }
}
