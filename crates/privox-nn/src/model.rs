//! The model file: what the encrypted evaluator (`privox-cryptonet`) and
//! `privox nn eval` consume.
//!
//! Layout (inside the `privox-format` envelope, magic `PVXNNMD1`, version 2;
//! the fingerprint is a digest of the architecture: layer shapes, activation
//! coefficients and intervals, so a compiled circuit can check it matches):
//!
//! ```text
//! n_inputs u32 | n_classes u32 | feature names | class names | scaler (min, max)
//! | input_range f64 | n_layers u32 | layers… | activation_max f64s | description str
//! | calibration u8 (version 2: 0 none, 1 speaker, 2 robust; version-1 files,
//!   which end before it, load as uncalibrated)
//! layer = 0 u8, inputs u32, outputs u32, weights f64s, bias f64s      (affine)
//!       | 1 u8                                                         (ReLU)
//!       | 2 u8, interval f64, coefficients f64s                        (polynomial)
//! ```

use std::path::Path;

use privox_data::{Calibration, Dataset, MinMaxScaler};
use privox_format::{Fingerprint, Magic, Reader, Writer};

use crate::error::{ModelError, NnError, Result};
use crate::fold::{Affine, FoldedLayer, FoldedMlp};
use crate::layers::Activation;
use crate::linalg::Matrix;
use crate::poly::{PolyActivation, Polynomial};

/// Envelope magic of an MLP model file.
pub const MODEL_MAGIC: Magic = Magic(*b"PVXNNMD1");
/// Current model file version (2 added the calibration byte; 1 still loads).
pub const MODEL_VERSION: u16 = 2;

const MAX_LAYERS: usize = 64;
const MAX_WIDTH: usize = 1 << 16;
const MAX_WEIGHTS: usize = 1 << 26;
const MAX_NAME: usize = 1 << 12;
const MAX_DEGREE: usize = 64;

/// A trained, folded network with everything needed to use it on raw
/// features: the scaler, names, and the ranges the encrypted evaluator plans for.
#[derive(Clone, Debug, PartialEq)]
pub struct NnModel {
    /// The network with batch-norm folded into its affine layers.
    pub network: FoldedMlp,
    /// Min-max scaler to [-1, 1] fitted on the training rows (applied by
    /// the client, before encryption).
    pub scaler: MinMaxScaler,
    /// Feature names, in input order.
    pub feature_names: Vec<String>,
    /// Class names, in output order.
    pub class_names: Vec<String>,
    /// Expected bound on `|scaled feature|` (1 by construction of the scaler;
    /// unseen data may exceed it a little).
    pub input_range: f64,
    /// Largest `|pre-activation|` per activation layer on the training data.
    pub activation_max: Vec<f64>,
    /// Human description of how it was trained (spec, optimiser, seed, data).
    pub description: String,
    /// The speaker calibration its input features must have had before the
    /// scaler (`privox_data::calibrate`); [`Calibration::None`] for models
    /// trained without, and for every version-1 file. Checked by
    /// [`NnModel::scale_calibrated`].
    pub calibration: Calibration,
}

impl NnModel {
    /// Checks that every part agrees with every other.
    pub fn validate(&self) -> Result<()> {
        let n = &self.network;
        let bad = |e: ModelError| Err(NnError::CorruptModel(e));
        if self.feature_names.len() != n.n_inputs || self.scaler.dim() != n.n_inputs {
            return bad(ModelError::FeatureCount {
                names: self.feature_names.len(),
                scaler: self.scaler.dim(),
                inputs: n.n_inputs,
            });
        }
        if self.class_names.len() != n.n_classes || n.n_classes < 2 {
            return bad(ModelError::ClassCount {
                found: self.class_names.len(),
                expected: n.n_classes,
            });
        }
        if !(self.input_range.is_finite() && self.input_range > 0.0) {
            return bad(ModelError::InputRange(self.input_range));
        }
        let mut width = n.n_inputs;
        let mut acts = 0;
        for (i, l) in n.layers.iter().enumerate() {
            match l {
                FoldedLayer::Affine(a) => {
                    if a.inputs != width
                        || a.weights.len() != a.inputs * a.outputs
                        || a.bias.len() != a.outputs
                        || a.weights.iter().chain(&a.bias).any(|v| !v.is_finite())
                    {
                        return bad(ModelError::AffineLayer { layer: i });
                    }
                    width = a.outputs;
                }
                FoldedLayer::Activation(_) => acts += 1,
            }
        }
        if width != n.n_classes {
            return bad(ModelError::OutputWidth {
                found: width,
                expected: n.n_classes,
            });
        }
        if self.activation_max.len() != acts {
            return bad(ModelError::ActivationRanges {
                found: self.activation_max.len(),
                expected: acts,
            });
        }
        Ok(())
    }

    /// Digest of the architecture (shapes, activations), used as the
    /// envelope fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut w = Writer::new(MODEL_MAGIC, MODEL_VERSION, Fingerprint::default());
        w.put_u32(self.network.n_inputs as u32);
        w.put_u32(self.network.n_classes as u32);
        for l in &self.network.layers {
            match l {
                FoldedLayer::Affine(a) => {
                    w.put_u8(0);
                    w.put_u32(a.inputs as u32);
                    w.put_u32(a.outputs as u32);
                }
                FoldedLayer::Activation(Activation::Relu) => w.put_u8(1),
                FoldedLayer::Activation(Activation::Poly(p)) => {
                    w.put_u8(2);
                    w.put_f64(p.interval);
                    w.put_f64s(p.poly.coeffs());
                }
            }
        }
        Fingerprint::of(&w.finish())
    }

    /// Serialises into a `privox-format` envelope.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.to_bytes_version(MODEL_VERSION)
    }

    /// The envelope in format `version` (1 has no calibration byte; kept
    /// to test that old files still load).
    fn to_bytes_version(&self, version: u16) -> Result<Vec<u8>> {
        self.validate()?;
        let mut w = Writer::new(MODEL_MAGIC, version, self.fingerprint());
        w.put_u32(self.network.n_inputs as u32);
        w.put_u32(self.network.n_classes as u32);
        put_strs(&mut w, &self.feature_names);
        put_strs(&mut w, &self.class_names);
        self.scaler.write_to(&mut w);
        w.put_f64(self.input_range);
        w.put_u32(self.network.layers.len() as u32);
        for l in &self.network.layers {
            match l {
                FoldedLayer::Affine(a) => {
                    w.put_u8(0);
                    w.put_u32(a.inputs as u32);
                    w.put_u32(a.outputs as u32);
                    w.put_f64s(&a.weights);
                    w.put_f64s(&a.bias);
                }
                FoldedLayer::Activation(Activation::Relu) => w.put_u8(1),
                FoldedLayer::Activation(Activation::Poly(p)) => {
                    w.put_u8(2);
                    w.put_f64(p.interval);
                    w.put_f64s(p.poly.coeffs());
                }
            }
        }
        w.put_f64s(&self.activation_max);
        w.put_str(&self.description);
        if version >= 2 {
            w.put_u8(self.calibration.to_byte());
        }
        Ok(w.finish())
    }

    /// Parses and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::open(bytes, MODEL_MAGIC, &[1, MODEL_VERSION])?;
        let header_fp = r.header().fingerprint;
        let version = r.header().version;
        let n_inputs = get_count(&mut r, "input count", MAX_WIDTH)?;
        let n_classes = get_count(&mut r, "class count", MAX_WIDTH)?;
        let feature_names = get_strs(&mut r, MAX_WIDTH)?;
        let class_names = get_strs(&mut r, MAX_WIDTH)?;
        let scaler = MinMaxScaler::read_from(&mut r)?;
        let input_range = r.get_f64()?;
        let n_layers = get_count(&mut r, "layer count", MAX_LAYERS)?;
        let mut layers = Vec::with_capacity(n_layers);
        for _ in 0..n_layers {
            layers.push(match r.get_u8()? {
                0 => {
                    let inputs = get_count(&mut r, "layer inputs", MAX_WIDTH)?;
                    let outputs = get_count(&mut r, "layer outputs", MAX_WIDTH)?;
                    let weights = r.get_f64s(MAX_WEIGHTS)?;
                    let bias = r.get_f64s(MAX_WIDTH)?;
                    FoldedLayer::Affine(Affine {
                        inputs,
                        outputs,
                        weights,
                        bias,
                    })
                }
                1 => FoldedLayer::Activation(Activation::Relu),
                2 => {
                    let interval = r.get_f64()?;
                    let coeffs = r.get_f64s(MAX_DEGREE + 1)?;
                    let act = Polynomial::new(coeffs)
                        .and_then(|poly| PolyActivation::new(poly, interval))
                        .map_err(bad_polynomial)?;
                    FoldedLayer::Activation(Activation::Poly(act))
                }
                t => return Err(ModelError::LayerTag(t).into()),
            });
        }
        let activation_max = r.get_f64s(MAX_LAYERS)?;
        let description = r.get_str(1 << 20)?;
        let calibration = if version >= 2 {
            Calibration::from_byte(r.get_u8()?)?
        } else {
            Calibration::None
        };
        r.finish()?;
        let model = NnModel {
            network: FoldedMlp {
                layers,
                n_inputs,
                n_classes,
            },
            scaler,
            feature_names,
            class_names,
            input_range,
            activation_max,
            description,
            calibration,
        };
        model.validate()?;
        if model.fingerprint() != header_fp {
            return Err(ModelError::Fingerprint {
                found: model.fingerprint(),
                expected: header_fp,
            }
            .into());
        }
        Ok(model)
    }

    /// Writes the model atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        privox_format::write_atomic(path, &self.to_bytes()?)?;
        Ok(())
    }

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| NnError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Scales raw features with the model's scaler (feature count and
    /// finiteness checked).
    pub fn scale(&self, raw: &Matrix) -> Result<Matrix> {
        if raw.cols() != self.network.n_inputs {
            return Err(NnError::FeatureCountMismatch {
                what: "model",
                expected: self.network.n_inputs,
                found: raw.cols(),
            });
        }
        crate::linalg::check_finite(raw)?;
        Ok(self.scaler.transform(raw)?)
    }

    /// Scales raw features that were prepared with speaker calibration
    /// `given`; fails with [`NnError::Calibration`] unless the model was
    /// trained with the same calibration (both ways: a calibrated model
    /// refuses uncalibrated features and an uncalibrated one calibrated
    /// features). Clients use this before encrypting.
    pub fn scale_calibrated(&self, raw: &Matrix, given: Calibration) -> Result<Matrix> {
        self.calibration.require(given)?;
        self.scale(raw)
    }

    /// The same weights with every activation replaced by `act` (the
    /// paper's recipe: train with ReLU, infer with a polynomial); the
    /// activation ranges are measured again on `raw` (unscaled training
    /// features).
    pub fn with_activation(&self, act: &Activation, raw: &Matrix) -> Result<NnModel> {
        let layers = self
            .network
            .layers()
            .iter()
            .map(|l| match l {
                FoldedLayer::Activation(_) => FoldedLayer::Activation(act.clone()),
                other => other.clone(),
            })
            .collect();
        let mut model = self.clone();
        model.network =
            FoldedMlp::from_layers(layers, self.network.n_inputs, self.network.n_classes)?;
        model.activation_max = model.network.preactivation_max(&model.scale(raw)?)?;
        model.validate()?;
        Ok(model)
    }

    /// Predicted class of every row of `data`, whose features were prepared
    /// with speaker calibration `given`: the columns must be the model's,
    /// the features are scaled with the model's scaler (calibration
    /// checked, [`NnModel::scale_calibrated`]) and clamped to
    /// `[-input_range, input_range]` as the encrypted client does.
    pub fn predict_dataset(&self, data: &Dataset, given: Calibration) -> Result<Vec<usize>> {
        if data.feature_names != self.feature_names {
            return Err(NnError::FeatureNamesMismatch {
                found: data.feature_names.len(),
                expected: self.feature_names.len(),
            });
        }
        let mut x = self.scale_calibrated(&data.x, given)?;
        crate::protocol::clamp(&mut x, self.input_range);
        self.network.predict(&x)
    }

    /// Predicted class indices for raw (unscaled) features.
    pub fn predict_raw(&self, raw: &Matrix) -> Result<Vec<usize>> {
        self.network.predict(&self.scale(raw)?)
    }
}

/// A stored polynomial that does not validate: the file is corrupt.
fn bad_polynomial(e: NnError) -> NnError {
    match e {
        NnError::InvalidConfig(c) => ModelError::Polynomial(c).into(),
        other => other,
    }
}

fn put_strs(w: &mut Writer, v: &[String]) {
    w.put_u32(v.len() as u32);
    for s in v {
        w.put_str(s);
    }
}

fn get_count(r: &mut Reader<'_>, what: &'static str, max: usize) -> Result<usize> {
    let n = r.get_u32()? as usize;
    if n > max {
        return Err(ModelError::CountLimit {
            what,
            found: n,
            max,
        }
        .into());
    }
    Ok(n)
}

fn get_strs(r: &mut Reader<'_>, max: usize) -> Result<Vec<String>> {
    let n = get_count(r, "name count", max)?;
    // Each string needs at least its 8-byte length prefix: bound before allocating.
    if n.saturating_mul(8) > r.remaining() {
        return Err(ModelError::NameListTooLong.into());
    }
    (0..n).map(|_| Ok(r.get_str(MAX_NAME)?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Mlp, NetworkSpec};

    fn model() -> NnModel {
        let spec = NetworkSpec {
            hidden: vec![4, 3],
            batch_norm: true,
            activation: Activation::Poly(PolyActivation::preset("p2").unwrap()),
            bn_momentum: 0.1,
            bn_gamma_init: 1.0,
        };
        let net = Mlp::new(&spec, 3, 2, 5).unwrap().fold().unwrap();
        let raw = Matrix::new(2, 3, vec![0.0, 1.0, 2.0, 4.0, 5.0, 9.0]).unwrap();
        NnModel {
            network: net,
            scaler: MinMaxScaler::fit(&raw).unwrap(),
            feature_names: vec!["a".into(), "b".into(), "c".into()],
            class_names: vec!["neutral".into(), "angry".into()],
            input_range: 1.0,
            activation_max: vec![1.5, 2.5],
            description: "test".into(),
            calibration: Calibration::None,
        }
    }

    #[test]
    fn calibration_is_recorded_and_mismatches_are_refused_both_ways() {
        let raw = Matrix::new(1, 3, vec![1.0, 2.0, 3.0]).unwrap();
        let plain = model();
        assert!(plain.scale_calibrated(&raw, Calibration::None).is_ok());
        match plain.scale_calibrated(&raw, Calibration::Speaker) {
            Err(NnError::Calibration(e)) => {
                assert_eq!(
                    (e.expected, e.given),
                    (Calibration::None, Calibration::Speaker)
                )
            }
            other => panic!("expected a calibration mismatch, got {other:?}"),
        }
        let mut cal = model();
        cal.calibration = Calibration::Speaker;
        let back = NnModel::from_bytes(&cal.to_bytes().unwrap()).unwrap();
        assert_eq!(back.calibration, Calibration::Speaker);
        match back.scale_calibrated(&raw, Calibration::None) {
            Err(NnError::Calibration(e)) => {
                assert_eq!(
                    (e.expected, e.given),
                    (Calibration::Speaker, Calibration::None)
                )
            }
            other => panic!("expected a calibration mismatch, got {other:?}"),
        }
        assert!(back.scale_calibrated(&raw, Calibration::Robust).is_err());
        assert!(back.scale_calibrated(&raw, Calibration::Speaker).is_ok());
        // Version-1 files (no calibration byte) still load, as uncalibrated.
        let v1 = cal.to_bytes_version(1).unwrap();
        let old = NnModel::from_bytes(&v1).unwrap();
        assert_eq!(old.calibration, Calibration::None);
        assert_eq!(old.network, cal.network);
    }

    #[test]
    fn round_trips_through_a_file() {
        let m = model();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.pvxnn");
        m.save(&p).unwrap();
        let back = NnModel::load(&p).unwrap();
        assert_eq!(back, m);
        let raw = Matrix::new(1, 3, vec![1.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            back.predict_raw(&raw).unwrap(),
            m.predict_raw(&raw).unwrap()
        );
    }

    #[test]
    fn corrupt_truncated_and_wrong_version_files_are_refused() {
        let bytes = model().to_bytes().unwrap();
        let mut flipped = bytes.clone();
        let mid = bytes.len() / 2;
        flipped[mid] ^= 0x10;
        assert!(matches!(
            NnModel::from_bytes(&flipped),
            Err(NnError::Format(_))
        ));
        assert!(NnModel::from_bytes(&bytes[..bytes.len() - 3]).is_err());
        let mut v3 = bytes.clone();
        v3[8] = 3; // version field
        assert!(matches!(
            NnModel::from_bytes(&v3),
            Err(NnError::Format(
                privox_format::FormatError::UnsupportedVersion { .. }
            ))
        ));
        assert!(NnModel::from_bytes(b"not a model").is_err());
    }

    #[test]
    fn feature_count_mismatch_is_reported() {
        let m = model();
        let raw = Matrix::new(1, 4, vec![0.0; 4]).unwrap();
        assert!(matches!(
            m.predict_raw(&raw),
            Err(NnError::FeatureCountMismatch {
                expected: 3,
                found: 4,
                ..
            })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = NnModel::from_bytes(&bytes);
        }
    }
}
