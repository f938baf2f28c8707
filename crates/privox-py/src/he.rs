//! The HE client (and, for tests and local use, the server): the CLI's
//! `privox he keygen / encrypt / decrypt / infer`, from `privox_cryptonet`.
//! Files and byte strings are the CLI's formats, so a Python client talks to
//! any privox server.

use std::path::{Path, PathBuf};

use numpy::ndarray::Array2;
use numpy::{AllowTypeChange, IntoPyArray, PyArray2, PyArrayLikeDyn, PyUntypedArrayMethods};
use privox_ckks::{CkksError, InsecureSeed, KeyGenerator, SecretKey};
use privox_cryptonet::wire::{
    eval_keys_to_bytes, queries_from_bytes, queries_to_bytes, responses_from_bytes,
    responses_to_bytes,
};
use privox_cryptonet::{Client, CryptonetError, Packing, Server};
use privox_nn::{Matrix, NnError, NnModel};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::{FeatureError, FileFormatError, HeError, KeyFormatError, PrivoxError};

fn nn_err(e: NnError) -> PyErr {
    let msg = crate::chain(&e);
    match e {
        NnError::Format(_) | NnError::CorruptModel(_) => FileFormatError::new_err(msg),
        NnError::FeatureCountMismatch { .. } | NnError::NonFiniteInput { .. } => {
            FeatureError::new_err(msg)
        }
        _ => PrivoxError::new_err(msg),
    }
}

/// Maps an error; `key_file` says a secret key was being read (so malformed
/// bytes are a `KeyFormatError`).
fn he_err(e: CryptonetError, key_file: bool) -> PyErr {
    let msg = crate::chain(&e);
    match e {
        CryptonetError::FeatureCount { .. }
        | CryptonetError::NonFiniteFeature { .. }
        | CryptonetError::FeatureOutOfRange { .. } => FeatureError::new_err(msg),
        CryptonetError::Ckks(CkksError::Format(_) | CkksError::WrongParameters { .. })
            if key_file =>
        {
            KeyFormatError::new_err(msg)
        }
        CryptonetError::Format { .. } | CryptonetError::Ckks(CkksError::Format(_)) => {
            FileFormatError::new_err(msg)
        }
        CryptonetError::Nn(n) => nn_err(n),
        CryptonetError::Io { .. } => PrivoxError::new_err(msg),
        _ => HeError::new_err(msg),
    }
}

fn packing(s: &str) -> PyResult<Packing> {
    Packing::parse(s)
        .ok_or_else(|| PyValueError::new_err(format!("unknown packing {s:?}: use single or batch")))
}

fn load_model(path: &Path) -> PyResult<NnModel> {
    NnModel::load(path).map_err(nn_err)
}

/// Rows of a feature matrix (or one vector), copied into Rust-owned memory.
fn rows(x: &PyArrayLikeDyn<'_, f64, AllowTypeChange>) -> PyResult<Vec<Vec<f64>>> {
    let v = x.as_array();
    let cols = match *x.shape() {
        [n] => n,
        [_, c] => c,
        ref s => {
            return Err(FeatureError::new_err(format!(
                "features must be a vector or a rows × features matrix, not shape {s:?}"
            )));
        }
    };
    let flat: Vec<f64> = v.iter().copied().collect();
    if cols == 0 {
        return Err(FeatureError::new_err("features have no columns"));
    }
    Ok(flat.chunks(cols).map(<[f64]>::to_vec).collect())
}

fn matrix_to_numpy(
    py: Python<'_>,
    m: Vec<Vec<f64>>,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    let n = m.len();
    let flat: Vec<f64> = m.into_iter().flatten().collect();
    let arr = Array2::from_shape_vec((n, cols), flat)
        .map_err(|e| PyValueError::new_err(format!("internal error: {e}")))?;
    Ok(arr.into_pyarray(py))
}

/// The client's CKKS secret key. Opaque: it cannot be printed, pickled or
/// read back as numbers, and it is zeroized when freed. Save it with
/// `HeClient.save_secret_key` (mode 0600).
#[pyclass(module = "privox", frozen, name = "HeSecretKey")]
pub struct PyHeSecretKey {
    sk: SecretKey,
}

#[pymethods]
impl PyHeSecretKey {
    fn __repr__(&self) -> &'static str {
        "HeSecretKey(<secret>)"
    }
}

/// The client of encrypted inference for one `.pvxnn` model and packing
/// (`"single"`: one recording per query; `"batch"`: many per query).
#[pyclass(module = "privox", frozen, name = "HeClient")]
pub struct PyHeClient {
    client: Client,
}

#[pymethods]
impl PyHeClient {
    /// Loads the model and plans its encrypted circuit.
    #[new]
    #[pyo3(signature = (model, packing="single"))]
    fn new(py: Python<'_>, model: PathBuf, packing: &str) -> PyResult<Self> {
        let packing = self::packing(packing)?;
        let model = load_model(&model)?;
        let client = py
            .detach(|| Client::new(model, packing))
            .map_err(|e| he_err(e, false))?;
        Ok(Self { client })
    }

    /// The plan: parameter set, levels, rotations.
    #[getter]
    fn plan(&self) -> String {
        self.client.plan().describe()
    }

    /// The model's feature names (its input columns, in order).
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.client.model().feature_names.clone()
    }

    /// The model's class names (the columns of the decrypted scores).
    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.client.model().class_names.clone()
    }

    /// Recordings per query (1 for single packing).
    #[getter]
    fn max_rows_per_query(&self) -> usize {
        self.client.plan().max_rows()
    }

    /// A fresh secret key and the serialized evaluation keys (bytes, the
    /// CLI's `.evk` file: upload them to the server). `seed`: reproducible
    /// keys for tests only, never for real recordings.
    #[pyo3(signature = (seed=None))]
    fn keygen<'py>(
        &self,
        py: Python<'py>,
        seed: Option<u64>,
    ) -> PyResult<(PyHeSecretKey, Bound<'py, PyBytes>)> {
        let c = &self.client;
        let (sk, evk) = py
            .detach(|| -> privox_cryptonet::Result<_> {
                let (sk, keys) = match seed {
                    Some(s) => c.keygen_with(KeyGenerator::from_insecure_seed(
                        &c.plan().params,
                        InsecureSeed::from_u64(s),
                    ))?,
                    None => c.keygen()?,
                };
                Ok((sk, eval_keys_to_bytes(c.plan(), &keys)?))
            })
            .map_err(|e| he_err(e, false))?;
        Ok((PyHeSecretKey { sk }, PyBytes::new(py, &evk)))
    }

    /// Like `privox he keygen -o PREFIX`: writes `PREFIX.sk` (0600) and
    /// `PREFIX.evk`; returns their paths.
    #[pyo3(signature = (prefix, seed=None))]
    fn keygen_files(
        &self,
        py: Python<'_>,
        prefix: PathBuf,
        seed: Option<u64>,
    ) -> PyResult<(PathBuf, PathBuf)> {
        let (sk, evk) = self.keygen(py, seed)?;
        let with_ext = |ext: &str| {
            let mut s = prefix.as_os_str().to_owned();
            s.push(ext);
            PathBuf::from(s)
        };
        let (sk_path, evk_path) = (with_ext(".sk"), with_ext(".evk"));
        self.save_secret_key(&sk, sk_path.clone())?;
        privox_format::write_atomic(&evk_path, evk.as_bytes())
            .map_err(|e| PrivoxError::new_err(crate::chain(&e)))?;
        Ok((sk_path, evk_path))
    }

    /// Writes the secret key (mode 0600), readable by `privox he`.
    fn save_secret_key(&self, key: &PyHeSecretKey, path: PathBuf) -> PyResult<()> {
        self.client
            .save_secret_key(&key.sk, &path)
            .map_err(|e| he_err(e, false))
    }

    /// Reads a secret key (`privox he keygen`'s `.sk`) made for this plan.
    /// Any other file, e.g. an SMH key, raises `KeyFormatError`.
    fn load_secret_key(&self, path: PathBuf) -> PyResult<PyHeSecretKey> {
        let sk = self
            .client
            .load_secret_key(&path)
            .map_err(|e| he_err(e, true))?;
        Ok(PyHeSecretKey { sk })
    }

    /// Scales raw feature rows with the model's scaler and encrypts them:
    /// the bytes of the CLI's query file (`.pvxq`). NaN/infinite or wrongly
    /// sized features raise `FeatureError`. The GIL is released.
    fn encrypt<'py>(
        &self,
        py: Python<'py>,
        key: &PyHeSecretKey,
        features: PyArrayLikeDyn<'py, f64, AllowTypeChange>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let raw = rows(&features)?;
        let c = &self.client;
        let bytes = py
            .detach(|| -> privox_cryptonet::Result<Vec<u8>> {
                let scaled = c.scale(&raw)?;
                let queries = c.encrypt_all(&key.sk, &scaled)?;
                queries_to_bytes(c.plan(), &queries)
            })
            .map_err(|e| he_err(e, false))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Decrypts a response file's bytes (`.pvxr`) into the logits, float64
    /// (recordings, classes); `argmax(axis=1)` gives the decisions.
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        key: &PyHeSecretKey,
        response: &[u8],
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = &self.client;
        let response = response.to_vec();
        let scores = py
            .detach(|| {
                let responses = responses_from_bytes(c.plan(), &response)?;
                c.decrypt_all(&key.sk, &responses)
            })
            .map_err(|e| he_err(e, false))?;
        let classes = c.model().class_names.len();
        matrix_to_numpy(py, scores.logits, classes)
    }

    /// The plaintext model's logits for the same raw rows (a local reference
    /// for checking decrypted scores; nothing is encrypted).
    fn plaintext_logits<'py>(
        &self,
        py: Python<'py>,
        features: PyArrayLikeDyn<'py, f64, AllowTypeChange>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let raw = rows(&features)?;
        let c = &self.client;
        let n = raw.len();
        let d = raw.first().map_or(0, Vec::len);
        let m =
            Matrix::new(n, d, raw.concat()).map_err(|e| FeatureError::new_err(e.to_string()))?;
        let scaled = c.model().scale(&m).map_err(nn_err)?;
        let logits = c.model().network.logits(&scaled).map_err(nn_err)?;
        let cols = logits.cols();
        let arr = Array2::from_shape_vec((logits.rows(), cols), logits.into_vec())
            .map_err(|e| PyValueError::new_err(format!("internal error: {e}")))?;
        Ok(arr.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "HeClient({} features -> {} classes, {:?} packing)",
            self.client.model().feature_names.len(),
            self.client.model().class_names.len(),
            self.client.plan().packing
        )
    }
}

/// The server side (`privox he infer`): the model and the client's public
/// evaluation keys only; no secret key is ever accepted.
#[pyclass(module = "privox", frozen, name = "HeServer")]
pub struct PyHeServer {
    server: Server,
}

#[pymethods]
impl PyHeServer {
    /// Loads the model and the evaluation keys (bytes of a `.evk` file).
    #[new]
    #[pyo3(signature = (model, eval_keys, packing="single"))]
    fn new(py: Python<'_>, model: PathBuf, eval_keys: &[u8], packing: &str) -> PyResult<Self> {
        let packing = self::packing(packing)?;
        let model = load_model(&model)?;
        let evk = eval_keys.to_vec();
        let server = py
            .detach(|| Server::new(&model, packing, &evk))
            .map_err(|e| he_err(e, false))?;
        Ok(Self { server })
    }

    /// Evaluates a query file's bytes (`.pvxq`) into a response file's bytes (`.pvxr`).
    fn infer<'py>(&self, py: Python<'py>, query: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let s = &self.server;
        let query = query.to_vec();
        let bytes = py
            .detach(|| -> privox_cryptonet::Result<Vec<u8>> {
                let queries = queries_from_bytes(s.plan(), &query)?;
                let responses = queries
                    .iter()
                    .map(|q| s.infer(q))
                    .collect::<privox_cryptonet::Result<Vec<_>>>()?;
                responses_to_bytes(s.plan(), &responses)
            })
            .map_err(|e| he_err(e, false))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHeClient>()?;
    m.add_class::<PyHeServer>()?;
    m.add_class::<PyHeSecretKey>()?;
    Ok(())
}
