//! The client half: keys for exactly the plan's rotations, scaling and
//! encryption of feature rows, decryption and the decision.
//!
//! Decrypted scores carry CKKS noise that depends on the secret key; shared
//! raw, many of them could reveal it (Li–Micciancio, EUROCRYPT 2021). The
//! client therefore never returns raw decryptions through anything meant for
//! sharing: [`Scores::shareable`] rounds them to a coarse grid first.

use privox_ckks::{Decryptor, Encoder, Encryptor, EvaluationKeys, KeyGenerator, SecretKey};
use std::path::Path;

use privox_nn::{Matrix, NnModel};
use zeroize::Zeroizing;

use crate::error::{CryptonetError, Result};
use crate::plan::{Packing, Plan};
use crate::wire::{Query, Response};
use crate::{batch, single};

/// Scaled features beyond this magnitude are refused rather than clamped:
/// the recording is not of the kind the model was trained on (the training
/// rows scale to [-1, 1]).
pub const MAX_SCALED_FEATURE: f64 = 100.0;

/// Decimals kept by [`Scores::shareable`].
pub const SHAREABLE_DECIMALS: u32 = 4;

/// A client for one model and packing.
pub struct Client {
    model: NnModel,
    plan: Plan,
}

/// The model's scores for each recording of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// `logits[r][c]`: recording `r`, class `c` (the model's logits, up to
    /// the encryption noise).
    pub logits: Vec<Vec<f64>>,
}

impl Scores {
    /// The predicted class of each recording (argmax of its logits).
    pub fn decisions(&self) -> Vec<usize> {
        self.logits
            .iter()
            .map(|l| {
                l.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                        if v > bv { (i, v) } else { (bi, bv) }
                    })
                    .0
            })
            .collect()
    }

    /// Logits rounded to [`SHAREABLE_DECIMALS`] decimals: the low bits that
    /// carry key-dependent noise are gone, so these may leave the client.
    pub fn shareable(&self) -> Vec<Vec<f64>> {
        self.logits
            .iter()
            .map(|l| privox_ckks::sharing::round_for_sharing(l, SHAREABLE_DECIMALS))
            .collect()
    }
}

impl Scores {
    /// Predictions CSV, the shape of `privox svm predict`'s:
    /// `file,label,predicted,score_<class>…` with shareable (rounded) scores.
    pub fn to_csv(&self, files: &[String], labels: &[String], class_names: &[String]) -> String {
        let mut s = String::from("file,label,predicted");
        for c in class_names {
            s.push_str(&format!(",score_{c}"));
        }
        s.push('\n');
        let decisions = self.decisions();
        for (r, (logits, d)) in self.shareable().iter().zip(decisions).enumerate() {
            let file = files.get(r).map(String::as_str).unwrap_or("");
            let label = labels.get(r).map(String::as_str).unwrap_or("");
            let predicted = class_names.get(d).map(String::as_str).unwrap_or("");
            s.push_str(&format!("{file},{label},{predicted}"));
            for v in logits {
                s.push_str(&format!(",{v}"));
            }
            s.push('\n');
        }
        s
    }
}

impl Client {
    /// Plans `model` for `packing`.
    pub fn new(model: NnModel, packing: Packing) -> Result<Self> {
        let plan = Plan::new(&model, packing)?;
        Ok(Client { model, plan })
    }

    /// The plan (parameters, rotations, layout).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The model (its scaler and class names).
    pub fn model(&self) -> &NnModel {
        &self.model
    }

    /// A secret key and the evaluation keys the plan needs, from OS entropy.
    pub fn keygen(&self) -> Result<(SecretKey, EvaluationKeys)> {
        self.keygen_with(KeyGenerator::new(&self.plan.params))
    }

    /// The same from a given generator (a seeded one only for tests).
    pub fn keygen_with(&self, mut kg: KeyGenerator) -> Result<(SecretKey, EvaluationKeys)> {
        let sk = kg.secret_key();
        let mut keys = kg.evaluation_keys(&sk, &self.plan.rotations, false)?;
        for (&step, &level) in self.plan.rotations.iter().zip(&self.plan.rotation_levels) {
            keys.galois.truncate_step(step, level)?;
        }
        Ok((sk, keys))
    }

    /// [`Client::scale`] for rows prepared with speaker calibration `given`
    /// (`privox_data::calibrate`, on the client): fails with
    /// `NnError::Calibration` unless the model was trained with the same
    /// calibration. What is encrypted and sent is unchanged: scaled rows only,
    /// never a statistic.
    pub fn scale_calibrated(
        &self,
        raw: &[Vec<f64>],
        given: privox_data::Calibration,
    ) -> Result<Vec<Vec<f64>>> {
        self.model
            .calibration
            .require(given)
            .map_err(privox_nn::NnError::from)?;
        self.scale_rows(raw)
    }

    /// Raw (uncalibrated) feature rows → scaled rows, exactly as the
    /// plaintext model does (`NnModel::scale`, then clamped to the model's
    /// input range). NaN, infinite, wrongly sized or absurdly large rows are
    /// refused, and so is every row if the model was trained on calibrated
    /// features (`NnError::Calibration`: use [`Client::scale_calibrated`]).
    pub fn scale(&self, raw: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        self.scale_calibrated(raw, privox_data::Calibration::None)
    }

    fn scale_rows(&self, raw: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let d = self.plan.circuit.n_inputs;
        check_rows(raw, d, f64::INFINITY)?;
        let m = Matrix::new(raw.len(), d, raw.concat()).map_err(|source| CryptonetError::Data {
            what: "feature rows",
            source,
        })?;
        let scaled = self.model.scale(&m)?;
        let c = self.model.input_range;
        let mut out = Vec::with_capacity(raw.len());
        for (r, row) in scaled.iter_rows().enumerate() {
            if let Some((j, &v)) = row
                .iter()
                .enumerate()
                .find(|(_, v)| v.abs() > MAX_SCALED_FEATURE)
            {
                return Err(CryptonetError::FeatureOutOfRange {
                    row: r,
                    feature: j,
                    value: v,
                });
            }
            out.push(row.iter().map(|v| v.clamp(-c, c)).collect());
        }
        Ok(out)
    }

    /// Encrypts scaled rows (secret-key encryption, seeded: half the upload).
    pub fn encrypt(&self, sk: &SecretKey, scaled: &[Vec<f64>]) -> Result<Query> {
        self.encrypt_with(&mut Encryptor::new(&self.plan.params), sk, scaled)
    }

    /// The same with a given encryptor (a seeded one only for tests).
    pub fn encrypt_with(
        &self,
        encryptor: &mut Encryptor,
        sk: &SecretKey,
        scaled: &[Vec<f64>],
    ) -> Result<Query> {
        let plan = &self.plan;
        let max = plan.max_rows();
        if scaled.is_empty() || scaled.len() > max {
            return Err(CryptonetError::BatchSize {
                rows: scaled.len(),
                max,
            });
        }
        let d = plan.circuit.n_inputs;
        check_rows(scaled, d, self.model.input_range)?;
        let slots = plan.params.max_slots();
        let vectors = match &plan.single {
            Some(layout) => single::input_vectors(layout, &scaled[0], slots),
            None => batch::input_vectors(scaled, d, slots),
        };
        let enc = Encoder::new(&plan.params);
        let level = plan.input_level();
        let cts = vectors
            .iter()
            .map(|v| {
                let pt = enc.encode_real(v, level, plan.scales[level])?;
                Ok(encryptor.encrypt_symmetric(&pt, sk)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Query {
            rows: scaled.len(),
            cts,
        })
    }

    /// Encrypts any number of scaled rows: one query per recording (single
    /// packing) or per N/2 recordings (batch packing).
    pub fn encrypt_all(&self, sk: &SecretKey, scaled: &[Vec<f64>]) -> Result<Vec<Query>> {
        if scaled.is_empty() {
            return Err(CryptonetError::BatchSize {
                rows: 0,
                max: self.plan.max_rows(),
            });
        }
        let mut encryptor = Encryptor::new(&self.plan.params);
        scaled
            .chunks(self.plan.max_rows())
            .map(|c| self.encrypt_with(&mut encryptor, sk, c))
            .collect()
    }

    /// Decrypts responses (in query order) into one set of scores.
    pub fn decrypt_all(&self, sk: &SecretKey, responses: &[Response]) -> Result<Scores> {
        let mut logits = Vec::new();
        for r in responses {
            logits.extend(self.decrypt(sk, r)?.logits);
        }
        Ok(Scores { logits })
    }

    /// Writes the secret key, readable by its owner only (mode 0600).
    pub fn save_secret_key(&self, sk: &SecretKey, path: &Path) -> Result<()> {
        let bytes = Zeroizing::new(sk.to_bytes());
        privox_format::write_secret_atomic(path, &bytes).map_err(|e| CryptonetError::Io {
            action: "write",
            path: e.path,
            source: e.source,
        })
    }

    /// Reads a secret key written by [`Client::save_secret_key`] for this plan.
    pub fn load_secret_key(&self, path: &Path) -> Result<SecretKey> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| CryptonetError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?);
        Ok(SecretKey::from_bytes(&self.plan.params, &bytes)?)
    }

    /// Decrypts a response into the model's logits.
    pub fn decrypt(&self, sk: &SecretKey, response: &Response) -> Result<Scores> {
        let plan = &self.plan;
        let expected = crate::wire::output_count(plan);
        if response.cts.len() != expected {
            return Err(CryptonetError::CiphertextCount {
                what: "response",
                expected,
                found: response.cts.len(),
            });
        }
        crate::wire::check_slots(plan, "response", &response.cts)?;
        if response.rows == 0 || response.rows > plan.max_rows() {
            return Err(CryptonetError::BatchSize {
                rows: response.rows,
                max: plan.max_rows(),
            });
        }
        let dec = Decryptor::new(&plan.params);
        let enc = Encoder::new(&plan.params);
        let classes = plan.circuit.n_classes;
        let k = plan.circuit.output_scale;
        let decoded = response
            .cts
            .iter()
            .map(|ct| Ok(enc.decode_real(&dec.decrypt(ct, sk)?)?))
            .collect::<Result<Vec<_>>>()?;
        let logits = match plan.packing {
            Packing::Single => {
                let slots = plan
                    .single
                    .as_ref()
                    .map(|l| l.output_slots(classes))
                    .unwrap_or_default();
                vec![slots.iter().map(|&s| decoded[0][s] * k).collect()]
            }
            Packing::Batch => (0..response.rows)
                .map(|r| (0..classes).map(|c| decoded[c][r] * k).collect())
                .collect(),
        };
        Ok(Scores { logits })
    }
}

/// Every row has `d` finite values of magnitude at most `bound`.
fn check_rows(rows: &[Vec<f64>], d: usize, bound: f64) -> Result<()> {
    for (r, row) in rows.iter().enumerate() {
        if row.len() != d {
            return Err(CryptonetError::FeatureCount {
                row: r,
                expected: d,
                found: row.len(),
            });
        }
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                return Err(CryptonetError::NonFiniteFeature {
                    row: r,
                    feature: j,
                    value: v,
                });
            }
            if v.abs() > bound {
                return Err(CryptonetError::FeatureOutOfRange {
                    row: r,
                    feature: j,
                    value: v,
                });
            }
        }
    }
    Ok(())
}
