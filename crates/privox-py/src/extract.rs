//! eGeMAPS extraction for `privox.Smile` (the DataFrame is built in Python).

use std::path::{Path, PathBuf};

use numpy::ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use privox_audio::DecodeOptions;
use privox_egemaps::file::{FileError, extract_file, extract_signal};
use privox_egemaps::{FEATURE_NAMES, LLD_NAMES, NUM_FEATURES, NUM_LLDS, Output};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

/// LLD frame length in seconds (openSMILE reports each LLD row as a 20 ms frame).
const LLD_FRAME_S: f64 = 0.02;

/// One input's result, before it is packed for Python.
enum Item {
    Ok {
        output: Box<Output>,
        audio_secs: f64,
        warnings: Vec<String>,
    },
    Failed(Failure),
}

/// `(input index, name, kind, message, cause)`; kind is `too_short` or `audio`.
type Failure = (usize, String, &'static str, String, String);

fn failure(index: usize, name: &str, e: &FileError) -> Failure {
    let cause = match e {
        FileError::Audio(a) => crate::chain(a.kind()),
        FileError::RateTooLow { rate, .. } => format!(
            "sample rate {rate} Hz is below the {} Hz that eGeMAPS needs",
            privox_egemaps::MIN_SAMPLE_RATE
        ),
        FileError::Resample { cause, .. } => crate::chain(cause),
        FileError::TooShort { cause, .. } | FileError::Extract { cause, .. } => crate::chain(cause),
    };
    let kind = if e.is_too_short() {
        "too_short"
    } else {
        "audio"
    };
    (index, name.to_string(), kind, crate::chain(e), cause)
}

/// What crosses to Python: `(values, item, start, end, failures, warnings)`.
///
/// `values` is float32 `rows × columns`; row `r` belongs to input `item[r]`
/// and spans `start[r]..end[r]` seconds.
type Packed<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Vec<Failure>,
    Vec<(usize, String)>,
);

struct Columns {
    values: Vec<f32>,
    item: Vec<i64>,
    start: Vec<f64>,
    end: Vec<f64>,
    failures: Vec<Failure>,
    warnings: Vec<(usize, String)>,
}

fn pack_rows(items: Vec<Item>, lld: bool) -> Columns {
    let mut c = Columns {
        values: Vec::new(),
        item: Vec::new(),
        start: Vec::new(),
        end: Vec::new(),
        failures: Vec::new(),
        warnings: Vec::new(),
    };
    for (i, it) in items.into_iter().enumerate() {
        match it {
            Item::Failed(f) => c.failures.push(f),
            Item::Ok {
                output,
                audio_secs,
                warnings,
            } => {
                c.warnings.extend(warnings.into_iter().map(|w| (i, w)));
                if lld {
                    let frames = output.llds.frames();
                    for (k, row) in frames.iter().enumerate() {
                        c.values.extend_from_slice(row);
                        c.item.push(i as i64);
                        c.start.push(output.llds.frame_time(k));
                        // openSMILE-python ends the last frame at the end of the signal.
                        c.end.push(if k + 1 == frames.len() {
                            audio_secs
                        } else {
                            output.llds.frame_time(k) + LLD_FRAME_S
                        });
                    }
                } else {
                    // float32 like openSMILE's output (and opensmile-python's DataFrame).
                    c.values
                        .extend(output.functionals.values().iter().map(|&v| v as f32));
                    c.item.push(i as i64);
                    c.start.push(0.0);
                    c.end.push(audio_secs);
                }
            }
        }
    }
    c
}

fn to_python(py: Python<'_>, c: Columns, lld: bool) -> PyResult<Packed<'_>> {
    let cols = if lld { NUM_LLDS } else { NUM_FEATURES };
    let rows = c.item.len();
    let values = Array2::from_shape_vec((rows, cols), c.values)
        .map_err(|e| PyValueError::new_err(format!("internal error: {e}")))?;
    Ok((
        values.into_pyarray(py),
        Array1::from_vec(c.item).into_pyarray(py),
        Array1::from_vec(c.start).into_pyarray(py),
        Array1::from_vec(c.end).into_pyarray(py),
        c.failures,
        c.warnings,
    ))
}

fn one_file(index: usize, path: &Path, name: &str, opts: &DecodeOptions) -> Item {
    match extract_file(path, name, opts) {
        Ok(f) => Item::Ok {
            audio_secs: f.audio_secs(),
            warnings: f.warnings,
            output: Box::new(f.output),
        },
        Err(e) => Item::Failed(failure(index, name, &e)),
    }
}

/// Extracts files; returns `(values, item, start, end, failures, warnings)`.
///
/// `names[i]` names `paths[i]` in errors. `num_workers` files run at once
/// (1: in the calling thread). The GIL is released throughout.
#[pyfunction]
#[pyo3(signature = (paths, names, lld=false, num_workers=1, max_duration=14400.0))]
fn extract_files<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    names: Vec<String>,
    lld: bool,
    num_workers: usize,
    max_duration: f64,
) -> PyResult<Packed<'py>> {
    if paths.len() != names.len() {
        return Err(PyValueError::new_err(format!(
            "{} paths but {} names",
            paths.len(),
            names.len()
        )));
    }
    if num_workers == 0 {
        return Err(PyValueError::new_err("num_workers must be at least 1"));
    }
    if max_duration.is_nan() || max_duration <= 0.0 {
        return Err(PyValueError::new_err(
            "max_duration must be a positive number of seconds",
        ));
    }
    let opts = DecodeOptions {
        max_duration_secs: max_duration,
        ..DecodeOptions::default()
    };
    let cols = py.detach(|| -> Result<Columns, String> {
        let items: Vec<Item> = if num_workers == 1 || paths.len() < 2 {
            paths
                .iter()
                .zip(&names)
                .enumerate()
                .map(|(i, (p, n))| one_file(i, p, n, &opts))
                .collect()
        } else {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(num_workers)
                .build()
                .map_err(|e| format!("cannot start {num_workers} worker threads: {e}"))?;
            pool.install(|| {
                paths
                    .par_iter()
                    .zip(names.par_iter())
                    .enumerate()
                    .map(|(i, (p, n))| one_file(i, p, n, &opts))
                    .collect()
            })
        };
        Ok(pack_rows(items, lld))
    });
    let cols = cols.map_err(crate::PrivoxError::new_err)?;
    to_python(py, cols, lld)
}

/// Extracts one mono float32 signal (int16 full scale = 1.0) at any rate
/// from 8 kHz up (above 48 kHz it is band-limited to 48 kHz first).
#[pyfunction]
#[pyo3(signature = (signal, sampling_rate, name, lld=false))]
fn extract_signal_array<'py>(
    py: Python<'py>,
    signal: PyReadonlyArray1<'py, f32>,
    sampling_rate: u32,
    name: String,
    lld: bool,
) -> PyResult<Packed<'py>> {
    // One copy, so the GIL can be released without another thread mutating
    // the array under the extractor.
    let samples = signal.as_array().to_vec();
    let cols = py.detach(|| {
        let audio_secs = samples.len() as f64 / f64::from(sampling_rate.max(1));
        let item = match extract_signal(&samples, sampling_rate, &name) {
            Ok((output, resampled)) => Item::Ok {
                output: Box::new(output),
                audio_secs,
                warnings: if resampled {
                    vec![format!(
                        "resampled from {sampling_rate} Hz to {} Hz",
                        privox_egemaps::MAX_SAMPLE_RATE
                    )]
                } else {
                    Vec::new()
                },
            },
            Err(e) => Item::Failed(failure(0, &name, &e)),
        };
        pack_rows(vec![item], lld)
    });
    to_python(py, cols, lld)
}

/// Decodes a whole audio file to mono float32 (int16 full scale = 1.0, the
/// scale opensmile-python's `audiofile.read` gives) and its sample rate.
/// Raises `AudioError` naming the file.
#[pyfunction]
#[pyo3(signature = (path, max_duration=14400.0))]
fn read_audio(
    py: Python<'_>,
    path: PathBuf,
    max_duration: f64,
) -> PyResult<(Bound<'_, PyArray1<f32>>, u32)> {
    let opts = DecodeOptions {
        max_duration_secs: max_duration,
        ..DecodeOptions::default()
    };
    let audio = py
        .detach(|| privox_audio::decode_file_with(&path, &opts))
        .map_err(|e| {
            let err = crate::AudioError::new_err(crate::chain(&e));
            let v = err.value(py);
            // Attribute assignment on a fresh exception instance cannot fail
            // short of memory exhaustion; the exception is raised either way.
            let _ = v.setattr("file", e.origin());
            let _ = v.setattr("cause", crate::chain(e.kind()));
            err
        })?;
    Ok((
        Array1::from_vec(audio.samples).into_pyarray(py),
        audio.sample_rate,
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(extract_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_audio, m)?)?;
    m.add_function(wrap_pyfunction!(extract_signal_array, m)?)?;
    m.add(
        "FEATURE_NAMES",
        FEATURE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )?;
    m.add(
        "LLD_NAMES",
        LLD_NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    )?;
    m.add("MIN_SAMPLE_RATE", privox_egemaps::MIN_SAMPLE_RATE)?;
    m.add("MAX_SAMPLE_RATE", privox_egemaps::MAX_SAMPLE_RATE)?;
    Ok(())
}
