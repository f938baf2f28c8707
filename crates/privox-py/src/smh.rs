//! Secure Modular Hashing: keys (the CLI's key files), hashing, distances,
//! leakage and Δ tuning, all from `privox_smh`.

use std::path::PathBuf;

use numpy::ndarray::Array2;
use numpy::{AllowTypeChange, IntoPyArray, PyArray2, PyArrayLikeDyn, PyUntypedArrayMethods};
use privox_smh::leakage::{PairSet, cross, resolve_threshold, within};
use privox_smh::tune::{TuneOptions, tune_delta as smh_tune_delta};
use privox_smh::{CodeTable, SmhError, SmhParams};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{FeatureError, FileFormatError, KeyFormatError, PrivoxError};

/// What a file being read was expected to be (chooses the exception class).
#[derive(Clone, Copy)]
enum Reading {
    Key,
    Codes,
    Nothing,
}

fn smh_err(e: SmhError, reading: Reading) -> PyErr {
    let msg = crate::chain(&e);
    match (&e, reading) {
        (
            SmhError::NonFinite { .. } | SmhError::WrongDim { .. } | SmhError::RaggedInput { .. },
            _,
        ) => FeatureError::new_err(msg),
        (SmhError::Format { .. }, Reading::Key) => KeyFormatError::new_err(msg),
        (SmhError::Format { .. }, _) => FileFormatError::new_err(msg),
        (
            SmhError::BadK(_)
            | SmhError::BadDelta(_)
            | SmhError::ZeroMpc
            | SmhError::ZeroDim
            | SmhError::TooManySymbols { .. }
            | SmhError::BadThreshold(_)
            | SmhError::NoDefaultThreshold(_)
            | SmhError::SymbolOutOfRange { .. }
            | SmhError::LengthMismatch { .. }
            | SmhError::TooFew { .. }
            | SmhError::OutOfRange { .. }
            | SmhError::BadDistance(_)
            | SmhError::BadGamma(_)
            | SmhError::SameGroupShareWithoutGroups
            | SmhError::NoSameGroupPairs
            | SmhError::NoCrossGroupPairs
            | SmhError::IdenticalVectors
            | SmhError::TargetUnreachable { .. },
            _,
        ) => PyValueError::new_err(msg),
        (SmhError::IndexOutOfRange { .. }, _) => PyIndexError::new_err(msg),
        _ => PrivoxError::new_err(msg),
    }
}

/// A feature matrix (rows × dim, row-major), copied into Rust-owned memory.
fn matrix(x: &PyArrayLikeDyn<'_, f64, AllowTypeChange>) -> PyResult<(Vec<f64>, usize)> {
    let view = x.as_array();
    let (rows, cols) = match *x.shape() {
        [n] => (1, n),
        [r, c] => (r, c),
        ref s => {
            return Err(FeatureError::new_err(format!(
                "features must be a vector or a rows × features matrix, not an array of shape {s:?}"
            )));
        }
    };
    let data: Vec<f64> = view.iter().copied().collect();
    debug_assert_eq!(data.len(), rows * cols);
    Ok((data, cols))
}

/// A secret SMH key `(A, w)`: `h(x) = floor((A x + w) / Δ) mod k`.
///
/// Key files are the CLI's (`privox smh keygen`): the same envelope, written
/// atomically with mode 0600. The key material is zeroized when the object is
/// freed and never appears in `repr()`.
#[pyclass(module = "privox", frozen, name = "SmhKey")]
pub struct PySmhKey {
    key: privox_smh::SmhKey,
}

#[pymethods]
impl PySmhKey {
    /// Generates a key from OS entropy (or from `seed`: experiments only,
    /// anyone who knows the seed knows the key).
    #[staticmethod]
    #[pyo3(signature = (k=3, delta=2.0, mpc=32, dim=88, seed=None))]
    fn generate(
        py: Python<'_>,
        k: u32,
        delta: f64,
        mpc: usize,
        dim: usize,
        seed: Option<u64>,
    ) -> PyResult<Self> {
        let params =
            SmhParams::new(k, delta, mpc, dim).map_err(|e| smh_err(e, Reading::Nothing))?;
        let key = py.detach(|| match seed {
            Some(s) => privox_smh::SmhKey::generate_with_seed(params, s),
            None => privox_smh::SmhKey::generate(params),
        });
        Ok(Self { key })
    }

    /// Reads a key file written by `save` or `privox smh keygen`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let key = privox_smh::SmhKey::read(&path).map_err(|e| smh_err(e, Reading::Key))?;
        Ok(Self { key })
    }

    /// Writes the key file (atomically, mode 0600), readable by the CLI.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.key
            .write(&path)
            .map_err(|e| smh_err(e, Reading::Nothing))
    }

    /// Alphabet size k.
    #[getter]
    fn k(&self) -> u32 {
        self.key.params().k()
    }

    /// Quantization step Δ.
    #[getter]
    fn delta(&self) -> f64 {
        self.key.params().delta()
    }

    /// Measurements per coefficient.
    #[getter]
    fn mpc(&self) -> usize {
        self.key.params().mpc()
    }

    /// Feature dimension L.
    #[getter]
    fn dim(&self) -> usize {
        self.key.params().dim()
    }

    /// Code length M = mpc × dim.
    #[getter]
    fn symbols(&self) -> usize {
        self.key.params().symbols()
    }

    /// Public identifier of this key (hex), as printed by the CLI.
    #[getter]
    fn key_id(&self) -> String {
        self.key.key_id().to_hex()
    }

    /// Fingerprint of the public parameters (hex).
    #[getter]
    fn params_fingerprint(&self) -> String {
        self.key.params().fingerprint().to_hex()
    }

    /// Hashes a feature vector or a rows × dim matrix (scaled features,
    /// e.g. min-max to [-1, 1]) into codes. NaN/infinite values raise
    /// `FeatureError`. The GIL is released while hashing.
    fn hash(
        &self,
        py: Python<'_>,
        features: PyArrayLikeDyn<'_, f64, AllowTypeChange>,
    ) -> PyResult<PyCodes> {
        let (x, cols) = matrix(&features)?;
        let codes = py
            .detach(|| self.key.hash(&x, cols))
            .map_err(|e| smh_err(e, Reading::Nothing))?;
        Ok(PyCodes {
            table: CodeTable {
                codes,
                files: Vec::new(),
                speakers: Vec::new(),
                labels: Vec::new(),
            },
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "SmhKey({}, key_id={})",
            self.key.params(),
            self.key.key_id().to_hex()
        )
    }
}

/// k-ary SMH codes (bit-plane packed), optionally with file, speaker and
/// label columns: the CLI's code files (`privox smh hash`, `.pvx`).
#[pyclass(module = "privox", name = "Codes")]
pub struct PyCodes {
    table: CodeTable,
}

#[pymethods]
impl PyCodes {
    /// Reads a code file written by `save` or `privox smh hash`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let table = CodeTable::read(&path).map_err(|e| smh_err(e, Reading::Codes))?;
        Ok(Self { table })
    }

    /// Writes a code file readable by `privox smh leakage` / `privox svm`.
    /// `files`, `speakers`, `labels`: None or one entry per code.
    #[pyo3(signature = (path, files=None, speakers=None, labels=None))]
    fn save(
        &self,
        path: PathBuf,
        files: Option<Vec<String>>,
        speakers: Option<Vec<String>>,
        labels: Option<Vec<String>>,
    ) -> PyResult<()> {
        let pick = |new: Option<Vec<String>>, old: &Vec<String>| new.unwrap_or_else(|| old.clone());
        let table = CodeTable::new(
            self.table.codes.clone(),
            pick(files, &self.table.files),
            pick(speakers, &self.table.speakers),
            pick(labels, &self.table.labels),
        )
        .map_err(|e| smh_err(e, Reading::Nothing))?;
        table.write(&path).map_err(|e| smh_err(e, Reading::Nothing))
    }

    fn __len__(&self) -> usize {
        self.table.codes.len()
    }

    /// Code length M (symbols per code).
    #[getter]
    fn symbols(&self) -> usize {
        self.table.codes.symbols()
    }

    /// Alphabet size k.
    #[getter]
    fn k(&self) -> u32 {
        self.table.codes.params().k()
    }

    /// The `file` column (empty when unknown).
    #[getter]
    fn files(&self) -> Vec<String> {
        self.table.files.clone()
    }

    /// The `speaker` column (empty when unknown).
    #[getter]
    fn speakers(&self) -> Vec<String> {
        self.table.speakers.clone()
    }

    /// The `label` column (empty when unknown).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.table.labels.clone()
    }

    /// The symbols as a uint32 array of shape (len, symbols).
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u32>>> {
        let codes = &self.table.codes;
        let (n, m) = (codes.len(), codes.symbols());
        let mut out = Vec::with_capacity(n * m);
        for i in 0..n {
            out.extend(codes.unpack(i).map_err(|e| smh_err(e, Reading::Nothing))?);
        }
        let arr = Array2::from_shape_vec((n, m), out)
            .map_err(|e| PyValueError::new_err(format!("internal error: {e}")))?;
        Ok(arr.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "Codes({} codes, {})",
            self.table.codes.len(),
            self.table.codes.params()
        )
    }
}

fn square(
    py: Python<'_>,
    v: Vec<f64>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    let arr = Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| PyValueError::new_err(format!("internal error: {e}")))?;
    Ok(arr.into_pyarray(py))
}

/// Normalized Hamming distances d_H between every code of `a` and every
/// code of `b` (default: `a` itself), as a float64 (len(a), len(b)) array.
#[pyfunction]
#[pyo3(signature = (a, b=None))]
fn normalized_hamming<'py>(
    py: Python<'py>,
    a: PyRef<'py, PyCodes>,
    b: Option<PyRef<'py, PyCodes>>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let ca = &a.table.codes;
    let (v, cols) = match &b {
        Some(b) => {
            let cb = &b.table.codes;
            let v = py
                .detach(|| privox_smh::hamming_matrix(ca, cb))
                .map_err(|e| smh_err(e, Reading::Nothing))?;
            (v, cb.len())
        }
        None => (
            py.detach(|| privox_smh::hamming_matrix_symmetric(ca)),
            ca.len(),
        ),
    };
    square(py, v, ca.len(), cols)
}

/// The RBF-Hamming kernel exp(-γ d_H²) between `a` and `b` (default: `a`).
#[pyfunction]
#[pyo3(signature = (a, b=None, gamma=1.0))]
fn rbf_hamming_gram<'py>(
    py: Python<'py>,
    a: PyRef<'py, PyCodes>,
    b: Option<PyRef<'py, PyCodes>>,
    gamma: f64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let ca = &a.table.codes;
    let (v, cols) = match &b {
        Some(b) => {
            let cb = &b.table.codes;
            (
                py.detach(|| privox_smh::rbf_hamming_gram(ca, cb, gamma)),
                cb.len(),
            )
        }
        None => (
            py.detach(|| privox_smh::rbf_hamming_gram_symmetric(ca, gamma)),
            ca.len(),
        ),
    };
    square(
        py,
        v.map_err(|e| smh_err(e, Reading::Nothing))?,
        ca.len(),
        cols,
    )
}

/// Leakage: the share of code pairs with d_H below `threshold` (default by k:
/// 0.475 / 0.65 / 0.775 / 0.875 for k = 2 / 3 / 5 / 10). Pairs within `codes`,
/// or cross pairs with `against`. Returns a dict (percent, below, pairs, threshold, pairs_kind).
#[pyfunction]
#[pyo3(signature = (codes, threshold=None, against=None))]
fn leakage<'py>(
    py: Python<'py>,
    codes: PyRef<'py, PyCodes>,
    threshold: Option<f64>,
    against: Option<PyRef<'py, PyCodes>>,
) -> PyResult<Bound<'py, PyDict>> {
    let c = &codes.table.codes;
    let t =
        resolve_threshold(c.params().k(), threshold).map_err(|e| smh_err(e, Reading::Nothing))?;
    let report = match &against {
        Some(o) => {
            let o = &o.table.codes;
            py.detach(|| cross(c, o, t))
        }
        None => py.detach(|| within(c, t)),
    }
    .map_err(|e| smh_err(e, Reading::Nothing))?;
    let d = PyDict::new(py);
    d.set_item("percent", report.percent())?;
    d.set_item("below", report.below)?;
    d.set_item("pairs", report.pairs)?;
    d.set_item("threshold", report.threshold)?;
    d.set_item(
        "pairs_kind",
        match report.pair_set {
            PairSet::Within => "within",
            PairSet::Cross => "cross",
        },
    )?;
    Ok(d)
}

/// Chooses Δ so that the predicted leakage of `features` (rows × dim, scaled)
/// equals `target` percent. Returns a dict (delta, predicted_percent,
/// floor_percent, target_percent, pairs_used, pairs_total).
#[pyfunction]
#[pyo3(signature = (features, target, k=3, mpc=32, threshold=None, seed=0, max_pairs=2_000_000))]
#[allow(clippy::too_many_arguments)]
fn tune_delta<'py>(
    py: Python<'py>,
    features: PyArrayLikeDyn<'py, f64, AllowTypeChange>,
    target: f64,
    k: u32,
    mpc: usize,
    threshold: Option<f64>,
    seed: u64,
    max_pairs: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, dim) = matrix(&features)?;
    let threshold = resolve_threshold(k, threshold).map_err(|e| smh_err(e, Reading::Nothing))?;
    let opts = TuneOptions {
        k,
        mpc,
        threshold,
        target_percent: target,
        max_pairs,
        seed,
        same_group_share: None,
    };
    let r = py
        .detach(|| smh_tune_delta(&x, dim, &opts))
        .map_err(|e| smh_err(e, Reading::Nothing))?;
    let d = PyDict::new(py);
    d.set_item("delta", r.delta)?;
    d.set_item("predicted_percent", r.predicted_percent)?;
    d.set_item("floor_percent", r.floor_percent)?;
    d.set_item("target_percent", r.target_percent)?;
    d.set_item("pairs_used", r.pairs_used)?;
    d.set_item("pairs_total", r.pairs_total)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySmhKey>()?;
    m.add_class::<PyCodes>()?;
    m.add_function(wrap_pyfunction!(normalized_hamming, m)?)?;
    m.add_function(wrap_pyfunction!(rbf_hamming_gram, m)?)?;
    m.add_function(wrap_pyfunction!(leakage, m)?)?;
    m.add_function(wrap_pyfunction!(tune_delta, m)?)?;
    Ok(())
}
