//! Self-contained SVM models: training on features or SMH codes, prediction
//! with input checks, and the versioned model file.
//!
//! A model file is a `privox-format` envelope (magic `PVXSVMM1`). Its header
//! fingerprint binds it to what it accepts as input: for a feature model the
//! feature layout (count and names), for a hashed model the SMH code space
//! (public parameters k, Δ, mpc, L and the key id). Prediction refuses other
//! input with a typed error instead of silently computing nonsense.

use crate::error::Corruption;
use crate::kernel::HammingRbfKernel;
use crate::kernel::{Kernel, RbfKernel, check_finite_rows, check_gamma, rbf, rbf_hamming};
use crate::svc::{SvcParams, SvcSolution, train};
use crate::{HammingMatrix, SvmError};
use privox_data::{Calibration, Matrix, MinMaxScaler};
use privox_format::{Fingerprint, Magic, Reader, Writer};
use privox_smh::{CodeSpace, Codes, hamming_counts, hamming_counts_symmetric};
use std::path::Path;

/// Magic of SVM model files.
pub const MODEL_MAGIC: Magic = Magic(*b"PVXSVMM1");
/// Model file version written by this build.
///
/// Version 2 adds the speaker-calibration mode the model expects (one byte at
/// the end of the payload); version 1 files still load, as uncalibrated models.
pub const MODEL_VERSION: u16 = 2;
/// Bounds on counts read from a file (allocation limits on hostile input).
const MAX_ITEMS: usize = 1 << 26;
const MAX_NAME: usize = 4096;
const MAX_CLASSES: usize = 1 << 12;

/// Which kernel a model uses, with its γ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelSpec {
    /// `exp(−γ‖x − y‖²)` on min-max scaled features.
    Rbf {
        /// The kernel γ.
        gamma: f64,
    },
    /// `exp(−γ·d_H²)` on SMH codes.
    RbfHamming {
        /// The kernel γ.
        gamma: f64,
    },
}

impl KernelSpec {
    /// The kernel's γ.
    pub fn gamma(&self) -> f64 {
        match *self {
            KernelSpec::Rbf { gamma } | KernelSpec::RbfHamming { gamma } => gamma,
        }
    }
    /// The kernel's name (`RBF` or `RBF-Hamming`).
    pub fn name(&self) -> &'static str {
        match self {
            KernelSpec::Rbf { .. } => "RBF",
            KernelSpec::RbfHamming { .. } => "RBF-Hamming",
        }
    }
}

/// The support vectors a model keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum SupportVectors {
    /// Scaled feature rows, row-major with `cols` features.
    Features {
        /// Features per row.
        cols: usize,
        /// The rows, row-major.
        rows: Vec<f64>,
    },
    /// Packed SMH codes (their [`CodeSpace`] included).
    Codes(Codes),
}

/// One prediction: the class index, LIBSVM's pairwise decision values, and
/// class probabilities when the model was trained with Platt scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The predicted class index.
    pub class: usize,
    /// LIBSVM's pairwise decision values.
    pub decision: Vec<f64>,
    /// Class probabilities (Platt scaling), if the model has them.
    pub probabilities: Option<Vec<f64>>,
}

/// A trained C-SVC with everything needed to predict on new input.
#[derive(Clone, Debug, PartialEq)]
pub struct SvmModel {
    /// The kernel.
    pub kernel: KernelSpec,
    /// The `C` it was trained with (for reports).
    pub c: f64,
    /// Names of all classes (index = class index).
    pub class_names: Vec<String>,
    /// Names of the input features (feature models; may be empty).
    pub feature_names: Vec<String>,
    /// Scaler fitted on the training features. Feature models apply it to
    /// every input; hashed models may carry the client's scaler for reference.
    pub scaler: Option<MinMaxScaler>,
    /// The solution, with `sv` renumbered `0..total` into [`SvmModel::support_vectors`].
    pub solution: SvcSolution,
    /// The support vectors (scaled features or codes).
    pub support_vectors: SupportVectors,
    /// The speaker calibration the input features must have had before the
    /// scaler ([`Calibration::None`] for models trained without, and for every
    /// version-1 file). Set it after training with calibrated features; the
    /// feature predictions refuse input prepared otherwise. Code models keep
    /// it for reference only: codes do not say how they were made.
    pub calibration: Calibration,
}

fn check_labels(y: &[usize], n: usize, class_names: &[String]) -> Result<(), SvmError> {
    if n == 0 {
        return Err(SvmError::EmptyTrainingSet);
    }
    if y.len() != n {
        return Err(SvmError::LengthMismatch {
            what: "labels",
            expected: n,
            found: y.len(),
        });
    }
    if class_names.is_empty() || class_names.len() > MAX_CLASSES {
        return Err(SvmError::InvalidParameter {
            name: "class names",
            value: class_names.len().to_string(),
            hint: "give between 1 and 4096 class names",
        });
    }
    Ok(())
}

fn single_class_error(sol_err: SvmError, class_names: &[String]) -> SvmError {
    match sol_err {
        SvmError::SingleClass { class } => {
            let name = class
                .parse::<usize>()
                .ok()
                .and_then(|c| class_names.get(c))
                .cloned()
                .unwrap_or(class);
            SvmError::SingleClass { class: name }
        }
        e => e,
    }
}

/// Renumbers support vectors to `0..total` after extracting them. Solver
/// diagnostics (iterations) are not part of a model and are dropped.
fn compact(mut sol: SvcSolution) -> (SvcSolution, Vec<usize>) {
    sol.iterations.clear();
    let picked = std::mem::take(&mut sol.sv);
    sol.sv = (0..picked.len()).collect();
    (sol, picked)
}

impl SvmModel {
    /// Trains an RBF model on raw (unscaled) features: fits the min-max
    /// scaler on `x`, scales, trains, keeps the scaler.
    pub fn train_features(
        x: &Matrix,
        y: &[usize],
        class_names: &[String],
        feature_names: &[String],
        gamma: f64,
        params: &SvcParams,
    ) -> Result<Self, SvmError> {
        check_labels(y, x.rows(), class_names)?;
        check_finite_rows(x.as_slice(), x.cols())?;
        check_gamma(gamma)?;
        let scaler = MinMaxScaler::fit(x)?;
        let scaled = scaler.transform(x)?;
        let kernel = RbfKernel::new(scaled.as_slice().to_vec(), x.cols(), gamma)?;
        Self::train_scaled_features(&kernel, y, class_names, feature_names, Some(scaler), params)
    }

    /// Trains on features already scaled (the kernel holds them and γ).
    pub fn train_scaled_features(
        kernel: &RbfKernel,
        y: &[usize],
        class_names: &[String],
        feature_names: &[String],
        scaler: Option<MinMaxScaler>,
        params: &SvcParams,
    ) -> Result<Self, SvmError> {
        check_labels(y, kernel.size(), class_names)?;
        if !feature_names.is_empty() && feature_names.len() != kernel.cols() {
            return Err(SvmError::LengthMismatch {
                what: "feature names",
                expected: kernel.cols(),
                found: feature_names.len(),
            });
        }
        let idx: Vec<usize> = (0..kernel.size()).collect();
        let sol = train(kernel, &idx, y, class_names.len(), params)
            .map_err(|e| single_class_error(e, class_names))?;
        let (solution, picked) = compact(sol);
        let rows = picked
            .iter()
            .flat_map(|&i| kernel.row(i).iter().copied())
            .collect();
        Ok(SvmModel {
            kernel: KernelSpec::Rbf {
                gamma: kernel.gamma(),
            },
            c: params.c,
            class_names: class_names.to_vec(),
            feature_names: feature_names.to_vec(),
            scaler,
            calibration: Calibration::None,
            solution,
            support_vectors: SupportVectors::Features {
                cols: kernel.cols(),
                rows,
            },
        })
    }

    /// Trains an RBF-Hamming model on SMH codes. `scaler` (optional) is kept
    /// for reference only: codes arrive already hashed.
    pub fn train_codes(
        codes: &Codes,
        y: &[usize],
        class_names: &[String],
        gamma: f64,
        params: &SvcParams,
        scaler: Option<MinMaxScaler>,
    ) -> Result<Self, SvmError> {
        check_labels(y, codes.len(), class_names)?;
        check_gamma(gamma)?;
        let hm = hamming_counts_symmetric(codes);
        let rows: Vec<usize> = (0..codes.len()).collect();
        let mut model = Self::train_codes_rows(codes, &hm, &rows, y, class_names, gamma, params)?;
        model.scaler = scaler;
        Ok(model)
    }

    /// Trains an RBF-Hamming model on `rows` of `codes`, reading the kernel
    /// from `hamming`, the symmetric counts of all of `codes`
    /// ([`privox_smh::hamming_counts_symmetric`]): the matrix is computed
    /// once and serves every fit on a subset (folds, grid points). `y` holds
    /// the class of each of `rows`.
    pub fn train_codes_rows(
        codes: &Codes,
        hamming: &HammingMatrix,
        rows: &[usize],
        y: &[usize],
        class_names: &[String],
        gamma: f64,
        params: &SvcParams,
    ) -> Result<Self, SvmError> {
        check_labels(y, rows.len(), class_names)?;
        if hamming.rows() != codes.len() || hamming.symbols() != codes.symbols() {
            return Err(SvmError::LengthMismatch {
                what: "rows of the Hamming matrix (it must be made from the same codes)",
                expected: codes.len(),
                found: hamming.rows(),
            });
        }
        if let Some(&bad) = rows.iter().find(|&&r| r >= codes.len()) {
            return Err(SvmError::IndexOutOfRange {
                index: bad,
                size: codes.len(),
            });
        }
        let kernel = HammingRbfKernel::new(hamming, gamma)?;
        let sol = train(&kernel, rows, y, class_names.len(), params)
            .map_err(|e| single_class_error(e, class_names))?;
        let (solution, picked) = compact(sol);
        // The solver reports support vectors as kernel indices (rows of `codes`).
        let sv_codes = codes.select(&picked)?;
        Ok(SvmModel {
            kernel: KernelSpec::RbfHamming { gamma },
            c: params.c,
            class_names: class_names.to_vec(),
            feature_names: Vec::new(),
            scaler: None,
            calibration: Calibration::None,
            solution,
            support_vectors: SupportVectors::Codes(sv_codes),
        })
    }

    /// Number of input features a feature model expects.
    pub fn feature_count(&self) -> Option<usize> {
        match &self.support_vectors {
            SupportVectors::Features { cols, .. } => Some(*cols),
            SupportVectors::Codes(_) => None,
        }
    }

    /// The SMH code space a hashed model accepts.
    pub fn code_space(&self) -> Option<CodeSpace> {
        match &self.support_vectors {
            SupportVectors::Codes(c) => Some(c.space()),
            SupportVectors::Features { .. } => None,
        }
    }

    /// What the envelope fingerprint binds the model to.
    pub fn fingerprint(&self) -> Fingerprint {
        match &self.support_vectors {
            SupportVectors::Codes(c) => c.space().fingerprint(),
            SupportVectors::Features { cols, .. } => {
                let mut b = b"privox-svm rbf features".to_vec();
                b.extend_from_slice(&(*cols as u64).to_le_bytes());
                for n in &self.feature_names {
                    b.extend_from_slice(&(n.len() as u64).to_le_bytes());
                    b.extend_from_slice(n.as_bytes());
                }
                Fingerprint::of(&b)
            }
        }
    }

    fn finish_prediction(&self, krow: &[f64]) -> Prediction {
        let decision = self.solution.decision_values(krow);
        Prediction {
            class: self.solution.vote(&decision),
            probabilities: self.solution.probabilities(&decision),
            decision,
        }
    }

    /// Predicts raw (unscaled, uncalibrated) feature rows; the model's scaler
    /// is applied. A model trained on calibrated features refuses them
    /// ([`SvmError::Calibration`]); use [`SvmModel::predict_features_calibrated`].
    pub fn predict_features(&self, x: &Matrix) -> Result<Vec<Prediction>, SvmError> {
        self.predict_features_calibrated(x, Calibration::None)
    }

    /// Predicts feature rows prepared with speaker calibration `given`
    /// (`privox_data::calibrate`), before the model's scaler. Fails with
    /// [`SvmError::Calibration`] unless `given` is the model's calibration.
    pub fn predict_features_calibrated(
        &self,
        x: &Matrix,
        given: Calibration,
    ) -> Result<Vec<Prediction>, SvmError> {
        self.calibration.require(given)?;
        let (cols, rows) = match &self.support_vectors {
            SupportVectors::Features { cols, rows } => (*cols, rows),
            SupportVectors::Codes(_) => {
                return Err(SvmError::KernelMismatch {
                    model: "RBF-Hamming",
                    input: "features",
                });
            }
        };
        if x.cols() != cols {
            return Err(SvmError::FeatureCount {
                expected: cols,
                found: x.cols(),
            });
        }
        if x.rows() == 0 {
            return Ok(Vec::new());
        }
        check_finite_rows(x.as_slice(), cols)?;
        let scaled = match &self.scaler {
            Some(s) => s.transform(x)?,
            None => x.clone(),
        };
        let gamma = self.kernel.gamma();
        use rayon::prelude::*;
        Ok((0..scaled.rows())
            .into_par_iter()
            .map(|t| {
                let xt = scaled.row(t);
                let krow: Vec<f64> = rows
                    .chunks_exact(cols)
                    .map(|sv| rbf(xt, sv, gamma))
                    .collect();
                self.finish_prediction(&krow)
            })
            .collect())
    }

    /// Predicts SMH codes; they must come from the model's code space.
    pub fn predict_codes(&self, codes: &Codes) -> Result<Vec<Prediction>, SvmError> {
        let sv = match &self.support_vectors {
            SupportVectors::Codes(c) => c,
            SupportVectors::Features { .. } => {
                return Err(SvmError::KernelMismatch {
                    model: "RBF",
                    input: "SMH codes",
                });
            }
        };
        if codes.space() != sv.space() {
            return Err(SvmError::SmhMismatch {
                expected: Box::new(sv.space()),
                found: Box::new(codes.space()),
            });
        }
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let hm = hamming_counts(codes, sv)?;
        let (m, gamma) = (hm.symbols() as f64, self.kernel.gamma());
        let n_sv = sv.len();
        Ok(hm
            .counts()
            .chunks_exact(n_sv.max(1))
            .take(codes.len())
            .map(|row| {
                let krow: Vec<f64> = row
                    .iter()
                    .map(|&c| rbf_hamming(c as f64 / m, gamma))
                    .collect();
                self.finish_prediction(&krow)
            })
            .collect())
    }

    /// Serializes into a model envelope.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_bytes_version(MODEL_VERSION)
    }

    /// The envelope in format `version` (1: without the calibration byte,
    /// as written before calibration existed; kept to test compatibility).
    fn to_bytes_version(&self, version: u16) -> Vec<u8> {
        let mut w = Writer::new(MODEL_MAGIC, version, self.fingerprint());
        let s = &self.solution;
        match self.kernel {
            KernelSpec::Rbf { gamma } => {
                w.put_u8(0);
                w.put_f64(gamma);
            }
            KernelSpec::RbfHamming { gamma } => {
                w.put_u8(1);
                w.put_f64(gamma);
            }
        }
        w.put_f64(self.c);
        put_strs(&mut w, &self.class_names);
        put_strs(&mut w, &self.feature_names);
        w.put_u64s(&s.labels.iter().map(|&v| v as u64).collect::<Vec<_>>());
        w.put_u64s(&s.n_sv.iter().map(|&v| v as u64).collect::<Vec<_>>());
        w.put_f64s(&s.sv_coef);
        w.put_f64s(&s.rho);
        w.put_f64s(&s.prob_a);
        w.put_f64s(&s.prob_b);
        match &self.scaler {
            Some(sc) => {
                w.put_u8(1);
                sc.write_to(&mut w);
            }
            None => w.put_u8(0),
        }
        match &self.support_vectors {
            SupportVectors::Features { cols, rows } => {
                w.put_u8(0);
                w.put_u64(*cols as u64);
                w.put_f64s(rows);
            }
            SupportVectors::Codes(c) => {
                w.put_u8(1);
                c.write_to(&mut w);
            }
        }
        if version >= 2 {
            w.put_u8(self.calibration.to_byte());
        }
        w.finish()
    }

    /// Parses and validates a model envelope. Truncation, corruption, a
    /// foreign file type and internal inconsistencies are typed errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SvmError> {
        let mut r = Reader::open(bytes, MODEL_MAGIC, &[1, MODEL_VERSION])?;
        let version = r.header().version;
        let header_fp = r.header().fingerprint;
        let kind = r.get_u8()?;
        let gamma = r.get_f64()?;
        let kernel = match kind {
            0 => KernelSpec::Rbf { gamma },
            1 => KernelSpec::RbfHamming { gamma },
            k => {
                return Err(SvmError::CorruptModel(Corruption::UnknownTag {
                    field: "kernel type",
                    value: k,
                }));
            }
        };
        let c = r.get_f64()?;
        let class_names = get_strs(&mut r, MAX_CLASSES)?;
        let feature_names = get_strs(&mut r, MAX_ITEMS)?;
        let labels: Vec<usize> = r
            .get_u64s(MAX_CLASSES)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let n_sv: Vec<usize> = r
            .get_u64s(MAX_CLASSES)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let sv_coef = r.get_f64s(MAX_ITEMS)?;
        let rho = r.get_f64s(MAX_ITEMS)?;
        let prob_a = r.get_f64s(MAX_ITEMS)?;
        let prob_b = r.get_f64s(MAX_ITEMS)?;
        let scaler = match r.get_u8()? {
            0 => None,
            1 => Some(MinMaxScaler::read_from(&mut r)?),
            f => {
                return Err(SvmError::CorruptModel(Corruption::UnknownTag {
                    field: "scaler flag",
                    value: f,
                }));
            }
        };
        let support_vectors = match r.get_u8()? {
            0 => {
                let cols = r.get_u64()? as usize;
                let rows = r.get_f64s(MAX_ITEMS)?;
                SupportVectors::Features { cols, rows }
            }
            1 => SupportVectors::Codes(Codes::read_from(&mut r)?),
            f => {
                return Err(SvmError::CorruptModel(Corruption::UnknownTag {
                    field: "support-vector kind",
                    value: f,
                }));
            }
        };
        let calibration = if version >= 2 {
            Calibration::from_byte(r.get_u8()?)?
        } else {
            Calibration::None
        };
        r.finish()?;
        let total: usize = n_sv.iter().sum();
        let model = SvmModel {
            kernel,
            c,
            class_names,
            feature_names,
            scaler,
            solution: SvcSolution {
                n_classes: 0,
                labels,
                sv: (0..total).collect(),
                n_sv,
                sv_coef,
                rho,
                prob_a,
                prob_b,
                iterations: Vec::new(),
            },
            support_vectors,
            calibration,
        };
        let mut model = model;
        model.solution.n_classes = model.class_names.len();
        model.validate()?;
        if model.fingerprint() != header_fp {
            return Err(SvmError::CorruptModel(Corruption::Fingerprint {
                expected: model.fingerprint(),
                found: header_fp,
            }));
        }
        Ok(model)
    }

    fn validate(&self) -> Result<(), SvmError> {
        let bad = |c: Corruption| Err(SvmError::CorruptModel(c));
        let size = |what, expected, found| Corruption::Size {
            what,
            expected,
            found,
        };
        let s = &self.solution;
        let nr = s.labels.len();
        let g = self.kernel.gamma();
        if !(g.is_finite() && g > 0.0 && self.c.is_finite() && self.c > 0.0) {
            return bad(Corruption::HyperParameters {
                gamma: g,
                c: self.c,
            });
        }
        if nr < 2 || s.n_sv.len() != nr {
            return bad(Corruption::Classes {
                classes: nr,
                sv_counts: s.n_sv.len(),
            });
        }
        if s.labels.windows(2).any(|w| w[0] >= w[1])
            || s.labels.iter().any(|&l| l >= self.class_names.len())
        {
            return bad(Corruption::Labels {
                class_names: self.class_names.len(),
            });
        }
        let total = s.sv.len();
        let pairs = nr * (nr - 1) / 2;
        if s.sv_coef.len() != (nr - 1) * total {
            return bad(size("coefficients", (nr - 1) * total, s.sv_coef.len()));
        }
        if s.rho.len() != pairs {
            return bad(size("biases", pairs, s.rho.len()));
        }
        if !(s.prob_a.is_empty() && s.prob_b.is_empty())
            && (s.prob_a.len() != pairs || s.prob_b.len() != pairs)
        {
            return bad(size(
                "probability parameters",
                2 * pairs,
                s.prob_a.len() + s.prob_b.len(),
            ));
        }
        if s.sv_coef
            .iter()
            .chain(&s.rho)
            .chain(&s.prob_a)
            .chain(&s.prob_b)
            .any(|v| !v.is_finite())
        {
            return bad(Corruption::NonFinite {
                what: "coefficient",
            });
        }
        match &self.support_vectors {
            SupportVectors::Features { cols, rows } => {
                if *cols == 0 || rows.len() != cols * total {
                    return bad(size(
                        "support-vector values",
                        cols.max(&1) * total,
                        rows.len(),
                    ));
                }
                if rows.iter().any(|v| !v.is_finite()) {
                    return bad(Corruption::NonFinite {
                        what: "support-vector value",
                    });
                }
                if let Some(sc) = &self.scaler
                    && sc.dim() != *cols
                {
                    return bad(size("scaler features", *cols, sc.dim()));
                }
                if !self.feature_names.is_empty() && self.feature_names.len() != *cols {
                    return bad(size("feature names", *cols, self.feature_names.len()));
                }
                if !matches!(self.kernel, KernelSpec::Rbf { .. }) {
                    return bad(Corruption::KernelSupport {
                        kernel: "RBF-Hamming",
                        support: "feature",
                    });
                }
            }
            SupportVectors::Codes(c) => {
                if c.len() != total {
                    return bad(size("support-vector codes", total, c.len()));
                }
                if !matches!(self.kernel, KernelSpec::RbfHamming { .. }) {
                    return bad(Corruption::KernelSupport {
                        kernel: "RBF",
                        support: "code",
                    });
                }
            }
        }
        Ok(())
    }

    /// Writes the model atomically.
    pub fn write(&self, path: &Path) -> Result<(), SvmError> {
        Ok(privox_format::write_atomic(path, &self.to_bytes())?)
    }

    /// Reads and validates a model file.
    pub fn read(path: &Path) -> Result<Self, SvmError> {
        let bytes = std::fs::read(path).map_err(|cause| SvmError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::from_bytes(&bytes)
    }
}

fn put_strs(w: &mut Writer, v: &[String]) {
    w.put_u64(v.len() as u64);
    for s in v {
        w.put_str(s);
    }
}

fn get_strs(r: &mut Reader<'_>, max: usize) -> Result<Vec<String>, SvmError> {
    // Each string takes at least its 8-byte length prefix.
    let n = r.get_len("string list", 8, max)?;
    (0..n)
        .map(|_| r.get_str(MAX_NAME).map_err(SvmError::from))
        .collect()
}

#[cfg(test)]
mod calibration_tests {
    use super::*;

    fn model() -> (SvmModel, Matrix) {
        let rows: Vec<Vec<f64>> = (0..20)
            .map(|i| {
                let c = (i % 2) as f64;
                vec![
                    c * 4.0 + (i as f64 * 0.37).sin(),
                    c * 2.0 - (i as f64).cos(),
                ]
            })
            .collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let y: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let names = vec!["neutral".to_string(), "angry".to_string()];
        let m = SvmModel::train_features(&x, &y, &names, &[], 0.5, &SvcParams::default()).unwrap();
        (m, x)
    }

    #[test]
    fn calibrated_model_refuses_uncalibrated_input_and_the_reverse() {
        let (mut m, x) = model();
        // Uncalibrated model: calibrated input is refused, plain input works.
        assert!(m.predict_features(&x).is_ok());
        match m.predict_features_calibrated(&x, Calibration::Speaker) {
            Err(SvmError::Calibration(e)) => {
                assert_eq!(
                    (e.expected, e.given),
                    (Calibration::None, Calibration::Speaker)
                )
            }
            other => panic!("expected a calibration mismatch, got {other:?}"),
        }
        // Calibrated model, through a file round trip: uncalibrated input is refused.
        m.calibration = Calibration::Speaker;
        let back = SvmModel::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(back.calibration, Calibration::Speaker);
        match back.predict_features(&x) {
            Err(SvmError::Calibration(e)) => {
                assert_eq!(
                    (e.expected, e.given),
                    (Calibration::Speaker, Calibration::None)
                )
            }
            other => panic!("expected a calibration mismatch, got {other:?}"),
        }
        assert!(matches!(
            back.predict_features_calibrated(&x, Calibration::Robust),
            Err(SvmError::Calibration(_))
        ));
        assert!(
            back.predict_features_calibrated(&x, Calibration::Speaker)
                .is_ok()
        );
    }

    #[test]
    fn version_1_files_load_as_uncalibrated() {
        let (m, x) = model();
        let v1 = m.to_bytes_version(1);
        assert_eq!(privox_format::peek_header(&v1).unwrap().version, 1);
        let back = SvmModel::from_bytes(&v1).unwrap();
        assert_eq!(back.calibration, Calibration::None);
        assert_eq!(back, m);
        assert_eq!(
            back.predict_features(&x).unwrap(),
            m.predict_features(&x).unwrap()
        );
    }
}
