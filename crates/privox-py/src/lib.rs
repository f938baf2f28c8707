//! Python bindings of privox: the native module `privox._privox` behind the
//! `privox` package (see `python/privox/` and `docs/python.md`).
//!
//! A thin layer: decoding and extraction are `privox_egemaps::file`, hashing
//! `privox_smh`, the HE client `privox_cryptonet`. Every call that does real
//! work releases the GIL ([`Python::detach`]) so Python threads run in
//! parallel. Inputs are copied once into Rust-owned buffers before the GIL is
//! released (another Python thread could otherwise mutate the array under the
//! extractor); outputs are handed to numpy without copying (`into_pyarray`
//! takes ownership of the Rust vector).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

mod extract;
mod he;
mod smh;

create_exception!(
    privox,
    PrivoxError,
    PyException,
    "Base class of every error raised by privox."
);
create_exception!(
    privox,
    AudioError,
    PrivoxError,
    "A recording could not be read, decoded or analysed. Attributes: `file` (the input's name) and `cause` (what went wrong)."
);
create_exception!(
    privox,
    TooShortError,
    AudioError,
    "The recording decodes but is shorter than one 60 ms pitch frame, so no eGeMAPS functionals exist (openSMILE emits none either)."
);
create_exception!(
    privox,
    FeatureError,
    PrivoxError,
    "Feature values that cannot be used: NaN or infinite values, or the wrong number of features."
);
create_exception!(
    privox,
    FileFormatError,
    PrivoxError,
    "A privox file (codes, model, ciphertexts) is malformed, truncated or of another kind."
);
create_exception!(
    privox,
    KeyFormatError,
    FileFormatError,
    "A key file is malformed, truncated, or a key of another kind (e.g. an HE key given as an SMH key)."
);
create_exception!(
    privox,
    HeError,
    PrivoxError,
    "Encrypted inference failed: keys, queries or responses that do not belong to this model's plan, or a CKKS error."
);

/// `"msg: cause: cause"`, each cause once (`privox_format::Report`), so no
/// context is lost in Python.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    privox_format::Report(e).to_string()
}

#[pymodule]
fn _privox(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PrivoxError", py.get_type::<PrivoxError>())?;
    m.add("AudioError", py.get_type::<AudioError>())?;
    m.add("TooShortError", py.get_type::<TooShortError>())?;
    m.add("FeatureError", py.get_type::<FeatureError>())?;
    m.add("FileFormatError", py.get_type::<FileFormatError>())?;
    m.add("KeyFormatError", py.get_type::<KeyFormatError>())?;
    m.add("HeError", py.get_type::<HeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    extract::register(m)?;
    smh::register(m)?;
    he::register(m)?;
    Ok(())
}
