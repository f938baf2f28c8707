//! JSON bodies of the `/v1` API (binary bodies are `privox-format`
//! envelopes: see docs/service.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/health` and `/v1/ready`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Storage backend (`sqlite` or `postgres`; readiness only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub storage: Option<String>,
}

/// CKKS parameters of a model's plan.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CkksInfo {
    /// Ring degree N.
    pub ring_degree: u64,
    /// Ciphertext levels.
    pub levels: u64,
    /// Bits of each ciphertext prime, level 0 first.
    pub q_bits: Vec<u32>,
    /// log2 of Q·P (at most the 128-bit bound for N).
    pub log_qp: u32,
    /// Parameter-set fingerprint (hex).
    pub fingerprint: String,
    /// Human summary.
    pub description: String,
}

/// A published HE model in the catalogue.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ModelEntry {
    /// Model name.
    pub name: String,
    /// `single` (one recording per query) or `batch`.
    pub packing: String,
    /// Plan fingerprint (hex): keys and queries carry it.
    pub plan_fingerprint: String,
    /// CKKS parameters.
    pub ckks: CkksInfo,
    /// Rotation steps the evaluation keys must cover.
    pub rotations: Vec<i64>,
    /// Level each rotation key is truncated to.
    pub rotation_levels: Vec<u64>,
    /// Class names (score order).
    pub classes: Vec<String>,
    /// Input features.
    pub features: u64,
    /// Recordings per query.
    pub max_rows: u64,
}

/// SMH public parameters and key id of a federation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SmhInfo {
    /// Symbols per measurement.
    pub k: u32,
    /// Quantisation width Δ.
    pub delta: f64,
    /// Measurements per coordinate.
    pub mpc: u64,
    /// Feature dimension.
    pub dim: u64,
    /// Id of the shared key (a fingerprint: reveals nothing of the key).
    pub key_id: String,
    /// Code-space fingerprint (parameters + key id).
    pub code_space_fingerprint: String,
}

/// A federation the tenant belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FederationEntry {
    /// Name.
    pub name: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Code space.
    pub smh: SmhInfo,
    /// SVM C.
    pub c: f64,
    /// RBF-Hamming γ.
    pub gamma: f64,
    /// Newest joint model version, if any.
    pub latest_version: Option<i64>,
}

/// `GET /v1/models`: the catalogue visible to the tenant.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Catalogue {
    /// Published HE models.
    pub models: Vec<ModelEntry>,
    /// Federations (SMH joint models) the tenant belongs to.
    pub federations: Vec<FederationEntry>,
}

/// `PUT /v1/models/{model}/keys` answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeysUploaded {
    /// SHA-256 of the uploaded bytes (hex): name the keys by it in queries.
    pub fingerprint: String,
    /// False when the same keys were already uploaded (idempotent).
    pub created: bool,
    /// Bytes stored.
    pub size: u64,
}

/// `POST /v1/federations/{f}/contributions` answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ContributionAck {
    /// Contribution id.
    pub id: i64,
    /// False when this idempotency id was already committed with this body.
    pub created: bool,
    /// Codes in the contribution.
    pub codes: u64,
}

/// `POST /v1/federations/{f}/train` answer, and one entry of the version list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ModelVersion {
    /// Version number.
    pub version: i64,
    /// Codes it was trained on.
    pub codes: i64,
    /// Contributions it used (ids, ascending).
    pub contribution_ids: Vec<i64>,
    /// Fingerprint of the SVM model (hex).
    pub fingerprint: String,
}

/// `GET /v1/federations/{f}/versions`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Versions {
    /// Oldest first.
    pub versions: Vec<ModelVersion>,
}

/// One party's counts.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PartyStats {
    /// Tenant name.
    pub tenant: String,
    /// Contributions.
    pub contributions: u64,
    /// Codes per label.
    pub labels: BTreeMap<String, u64>,
}

/// `GET /v1/federations/{f}/stats`: counts only, never codes.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Stats {
    /// Federation.
    pub federation: String,
    /// Per party.
    pub parties: Vec<PartyStats>,
    /// Codes per label over all parties.
    pub labels: BTreeMap<String, u64>,
    /// All codes.
    pub codes: u64,
    /// Newest model version.
    pub latest_version: Option<i64>,
}

/// One classified code.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Prediction {
    /// Predicted class name.
    pub label: String,
    /// Its index.
    pub class: u64,
    /// Decision values (one-vs-one), as `privox svm predict` computes them.
    pub decision: Vec<f64>,
}

/// `POST /v1/federations/{f}/classify` answer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Classification {
    /// Joint model version used.
    pub version: i64,
    /// One per code, in order.
    pub predictions: Vec<Prediction>,
}
