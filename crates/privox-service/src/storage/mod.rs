//! Durable state: tenants, token hashes, published models, evaluation keys,
//! federations, SMH contributions and joint models.
//!
//! Two backends with one schema ([`MIGRATIONS`], written once with two type
//! placeholders, `{id}` and `{blob}`, that each backend fills in):
//! * [`sqlite`]: embedded, one file in the data directory, WAL mode with
//!   `synchronous=FULL` so an acknowledged write survives power loss; every
//!   call runs on tokio's blocking pool;
//! * [`postgres`]: `tokio-postgres` with a small connection pool; default
//!   commit (synchronous), so several servers can share one database.
//!
//! [`Storage`] dispatches to either; callers never see which.

pub mod postgres;
pub mod sqlite;

use crate::error::{Result, ServiceError};

/// Schema migrations, applied in order, each once (recorded in
/// `schema_migrations`). `{id}` is an auto-increment primary key column
/// type, `{blob}` a byte-string type.
pub const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE tenants (
    id {id},
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE models (
    name TEXT PRIMARY KEY,
    packing TEXT NOT NULL,
    plan_fingerprint TEXT NOT NULL,
    bytes {blob} NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE eval_keys (
    fingerprint TEXT PRIMARY KEY,
    plan_fingerprint TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes {blob} NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE tenant_keys (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    model TEXT NOT NULL REFERENCES models(name),
    fingerprint TEXT NOT NULL REFERENCES eval_keys(fingerprint),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, model, fingerprint)
);
CREATE TABLE federations (
    name TEXT PRIMARY KEY,
    k BIGINT NOT NULL,
    delta DOUBLE PRECISION NOT NULL,
    mpc BIGINT NOT NULL,
    dim BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    classes TEXT NOT NULL,
    c DOUBLE PRECISION NOT NULL,
    gamma DOUBLE PRECISION NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE federation_members (
    federation TEXT NOT NULL REFERENCES federations(name),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    PRIMARY KEY (federation, tenant_id)
);
CREATE TABLE contributions (
    id {id},
    federation TEXT NOT NULL REFERENCES federations(name),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    idem_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    n_codes BIGINT NOT NULL,
    label_counts TEXT NOT NULL,
    bytes {blob} NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (federation, tenant_id, idem_key)
);
CREATE TABLE joint_models (
    federation TEXT NOT NULL REFERENCES federations(name),
    version BIGINT NOT NULL,
    n_codes BIGINT NOT NULL,
    contribution_ids TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    bytes {blob} NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (federation, version)
);
"#];

/// A tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    /// Internal id.
    pub id: i64,
    /// Unique name.
    pub name: String,
}

/// A published model's catalogue row (without the model bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Unique name.
    pub name: String,
    /// `single` or `batch`.
    pub packing: String,
    /// The plan's fingerprint (hex).
    pub plan_fingerprint: String,
}

/// A federation: its SMH code space, classes and SVM hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Federation {
    /// Unique name.
    pub name: String,
    /// SMH k (symbols per coordinate).
    pub k: u32,
    /// SMH Δ.
    pub delta: f64,
    /// SMH measurements per coordinate.
    pub mpc: u64,
    /// Feature dimension.
    pub dim: u64,
    /// Id of the shared SMH key (public fingerprint, hex).
    pub key_id: String,
    /// Class names (label index = position).
    pub classes: Vec<String>,
    /// SVM C.
    pub c: f64,
    /// RBF-Hamming γ.
    pub gamma: f64,
}

/// Result of storing a contribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Newly committed under this id.
    Created(i64),
    /// The same idempotency id with the same body was already committed.
    Existing(i64),
}

impl Stored {
    /// The contribution id either way.
    pub fn id(self) -> i64 {
        match self {
            Stored::Created(i) | Stored::Existing(i) => i,
        }
    }
}

/// One stored contribution, as read for training.
#[derive(Clone, Debug)]
pub struct StoredContribution {
    /// Contribution id.
    pub id: i64,
    /// Contributing tenant's name.
    pub tenant: String,
    /// Client-chosen idempotency id.
    pub idem_key: String,
    /// The code-table envelope.
    pub bytes: Vec<u8>,
}

/// Per-party counts of one federation.
#[derive(Clone, Debug)]
pub struct PartyCounts {
    /// Tenant name.
    pub tenant: String,
    /// Contributions.
    pub contributions: u64,
    /// Label → number of codes, summed over the contributions.
    pub labels: std::collections::BTreeMap<String, u64>,
}

/// A trained joint model.
#[derive(Clone, Debug)]
pub struct JointModel {
    /// Federation.
    pub federation: String,
    /// Version (1, 2, …).
    pub version: i64,
    /// Codes it was trained on.
    pub n_codes: i64,
    /// The contributions it used, ascending.
    pub contribution_ids: Vec<i64>,
    /// Fingerprint of the SVM model.
    pub fingerprint: String,
    /// The `privox-svm` model envelope.
    pub bytes: Vec<u8>,
}

/// Contribution fields to store.
#[derive(Clone, Debug)]
pub struct NewContribution<'a> {
    /// Federation name.
    pub federation: &'a str,
    /// Tenant id.
    pub tenant_id: i64,
    /// Idempotency id.
    pub idem_key: &'a str,
    /// SHA-256 of the body (hex).
    pub body_sha256: &'a str,
    /// Number of codes.
    pub n_codes: i64,
    /// Label counts (JSON object).
    pub label_counts: &'a str,
    /// The envelope.
    pub bytes: &'a [u8],
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Either backend.
#[derive(Clone)]
pub enum Storage {
    /// Embedded SQLite.
    Sqlite(sqlite::SqliteStore),
    /// PostgreSQL.
    Postgres(postgres::PgStore),
}

macro_rules! dispatch {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            Storage::Sqlite(s) => s.$m($($a),*).await,
            Storage::Postgres(s) => s.$m($($a),*).await,
        }
    };
}

impl Storage {
    /// Opens (and migrates) `DATA_DIR/privox.sqlite3`, or the PostgreSQL
    /// database at `database_url` when given.
    pub async fn open(data_dir: &std::path::Path, database_url: Option<&str>) -> Result<Self> {
        match database_url {
            Some(url) => Ok(Storage::Postgres(postgres::PgStore::connect(url).await?)),
            None => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| ServiceError::file("create", data_dir, e))?;
                Ok(Storage::Sqlite(
                    sqlite::SqliteStore::open(&data_dir.join("privox.sqlite3")).await?,
                ))
            }
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Storage::Sqlite(_) => "sqlite",
            Storage::Postgres(_) => "postgres",
        }
    }

    /// A trivial query (readiness).
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }
    /// Creates a tenant.
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        dispatch!(self.create_tenant(name))
    }
    /// A tenant by name.
    pub async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        dispatch!(self.tenant(name))
    }
    /// All tenants.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        dispatch!(self.tenants())
    }
    /// Stores a token hash for a tenant.
    pub async fn add_token(&self, hash: &str, tenant_id: i64, label: &str) -> Result<()> {
        dispatch!(self.add_token(hash, tenant_id, label))
    }
    /// The tenant a token hash belongs to.
    pub async fn tenant_for_token(&self, hash: &str) -> Result<Option<Tenant>> {
        dispatch!(self.tenant_for_token(hash))
    }
    /// Publishes (or replaces) a model.
    pub async fn put_model(&self, info: &ModelInfo, bytes: &[u8]) -> Result<()> {
        dispatch!(self.put_model(info, bytes))
    }
    /// A model's catalogue row and bytes.
    pub async fn model(&self, name: &str) -> Result<Option<(ModelInfo, Vec<u8>)>> {
        dispatch!(self.model(name))
    }
    /// The catalogue.
    pub async fn models(&self) -> Result<Vec<ModelInfo>> {
        dispatch!(self.models())
    }
    /// Stores evaluation keys (content-addressed) and grants them to a
    /// tenant for a model. Returns true when the keys were new for the tenant.
    pub async fn put_eval_keys(
        &self,
        tenant_id: i64,
        model: &str,
        fingerprint: &str,
        plan_fingerprint: &str,
        bytes: &[u8],
    ) -> Result<bool> {
        dispatch!(self.put_eval_keys(tenant_id, model, fingerprint, plan_fingerprint, bytes))
    }
    /// Whether the tenant has uploaded these keys for the model.
    pub async fn has_eval_keys(&self, tenant_id: i64, model: &str, fp: &str) -> Result<bool> {
        dispatch!(self.has_eval_keys(tenant_id, model, fp))
    }
    /// The tenant's evaluation keys for the model.
    pub async fn eval_keys(
        &self,
        tenant_id: i64,
        model: &str,
        fp: &str,
    ) -> Result<Option<Vec<u8>>> {
        dispatch!(self.eval_keys(tenant_id, model, fp))
    }
    /// Creates a federation.
    pub async fn create_federation(&self, f: &Federation) -> Result<()> {
        dispatch!(self.create_federation(f))
    }
    /// A federation by name.
    pub async fn federation(&self, name: &str) -> Result<Option<Federation>> {
        dispatch!(self.federation(name))
    }
    /// Adds a member.
    pub async fn add_member(&self, federation: &str, tenant_id: i64) -> Result<()> {
        dispatch!(self.add_member(federation, tenant_id))
    }
    /// Whether a tenant is a member.
    pub async fn is_member(&self, federation: &str, tenant_id: i64) -> Result<bool> {
        dispatch!(self.is_member(federation, tenant_id))
    }
    /// Federations a tenant belongs to.
    pub async fn federations_of(&self, tenant_id: i64) -> Result<Vec<Federation>> {
        dispatch!(self.federations_of(tenant_id))
    }
    /// Commits a contribution (idempotent on (federation, tenant, idem_key)).
    /// The same id with another body is a [`ServiceError::IdempotencyReused`].
    pub async fn put_contribution(&self, c: &NewContribution<'_>) -> Result<Stored> {
        dispatch!(self.put_contribution(c))
    }
    /// Every contribution of a federation in one consistent read, ordered
    /// by (tenant name, idempotency id): the canonical training order.
    pub async fn contributions(&self, federation: &str) -> Result<Vec<StoredContribution>> {
        dispatch!(self.contributions(federation))
    }
    /// Per-party counts (never codes).
    pub async fn party_counts(&self, federation: &str) -> Result<Vec<PartyCounts>> {
        dispatch!(self.party_counts(federation))
    }
    /// Stores a trained model as the next version.
    pub async fn put_joint_model(
        &self,
        federation: &str,
        n_codes: i64,
        contribution_ids: &[i64],
        fingerprint: &str,
        bytes: &[u8],
    ) -> Result<i64> {
        dispatch!(self.put_joint_model(federation, n_codes, contribution_ids, fingerprint, bytes))
    }
    /// The newest joint model (with bytes) of a federation.
    pub async fn latest_joint_model(&self, federation: &str) -> Result<Option<JointModel>> {
        dispatch!(self.latest_joint_model(federation))
    }
    /// The newest version number only (cheap; for caches).
    pub async fn latest_version(&self, federation: &str) -> Result<Option<i64>> {
        dispatch!(self.latest_version(federation))
    }
    /// Every version's metadata (bytes left empty).
    pub async fn joint_models(&self, federation: &str) -> Result<Vec<JointModel>> {
        dispatch!(self.joint_models(federation))
    }
}

/// A result row of either backend, read by column index. The row types
/// below are built from it once, for both backends.
pub(crate) trait Cols {
    /// An integer column.
    fn int(&self, i: usize) -> Result<i64>;
    /// A floating-point column.
    fn real(&self, i: usize) -> Result<f64>;
    /// A text column.
    fn text(&self, i: usize) -> Result<String>;
    /// A byte-string column.
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
}

/// `id, name` of `tenants`.
pub(crate) fn tenant_row(r: &dyn Cols) -> Result<Tenant> {
    Ok(Tenant {
        id: r.int(0)?,
        name: r.text(1)?,
    })
}

/// `name, packing, plan_fingerprint` of `models`.
pub(crate) fn model_row(r: &dyn Cols) -> Result<ModelInfo> {
    Ok(ModelInfo {
        name: r.text(0)?,
        packing: r.text(1)?,
        plan_fingerprint: r.text(2)?,
    })
}

/// `name, packing, plan_fingerprint, bytes` of `models`.
pub(crate) fn model_with_bytes_row(r: &dyn Cols) -> Result<(ModelInfo, Vec<u8>)> {
    Ok((model_row(r)?, r.blob(3)?))
}

/// `name, k, delta, mpc, dim, key_id, classes, c, gamma` of `federations`.
pub(crate) fn federation_row(r: &dyn Cols) -> Result<Federation> {
    Ok(Federation {
        name: r.text(0)?,
        k: r.int(1)? as u32,
        delta: r.real(2)?,
        mpc: r.int(3)? as u64,
        dim: r.int(4)? as u64,
        key_id: r.text(5)?,
        classes: from_json("federation classes", &r.text(6)?)?,
        c: r.real(7)?,
        gamma: r.real(8)?,
    })
}

/// `id, tenant name, idem_key, bytes` of `contributions`.
pub(crate) fn contribution_row(r: &dyn Cols) -> Result<StoredContribution> {
    Ok(StoredContribution {
        id: r.int(0)?,
        tenant: r.text(1)?,
        idem_key: r.text(2)?,
        bytes: r.blob(3)?,
    })
}

/// `federation, version, n_codes, contribution_ids, fingerprint[, bytes]`
/// of `joint_models`: the bytes are read when the row has a sixth column.
pub(crate) fn joint_model_row(r: &dyn Cols, with_bytes: bool) -> Result<JointModel> {
    Ok(JointModel {
        federation: r.text(0)?,
        version: r.int(1)?,
        n_codes: r.int(2)?,
        contribution_ids: from_json("joint model contribution ids", &r.text(3)?)?,
        fingerprint: r.text(4)?,
        bytes: if with_bytes { r.blob(5)? } else { Vec::new() },
    })
}

/// The refusal of a name that is already taken.
pub(crate) fn already_exists(what: &'static str, name: &str) -> ServiceError {
    ServiceError::AlreadyExists {
        what,
        name: name.to_string(),
    }
}

/// The refusal of an idempotency id reused for another body.
pub(crate) fn idempotency_reused(key: &str) -> ServiceError {
    ServiceError::IdempotencyReused {
        key: key.to_string(),
    }
}

/// Fills the placeholders of a migration for a backend.
pub(crate) fn render(migration: &str, id: &str, blob: &str) -> String {
    migration.replace("{id}", id).replace("{blob}", blob)
}

/// JSON of metadata to store (class lists, contribution ids).
pub(crate) fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| ServiceError::internal("JSON encoding", e))
}

/// Parses stored JSON metadata; `what` names it when it is unreadable.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| ServiceError::corrupt(what, e))
}

/// Accumulates per-party counts from rows (tenant, label-count JSON).
pub(crate) fn accumulate(
    rows: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<PartyCounts>> {
    let mut out: Vec<PartyCounts> = Vec::new();
    for (tenant, counts) in rows {
        let idx = match out.iter().position(|p| p.tenant == tenant) {
            Some(i) => i,
            None => {
                out.push(PartyCounts {
                    tenant,
                    contributions: 0,
                    labels: Default::default(),
                });
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        p.contributions += 1;
        let counts: std::collections::BTreeMap<String, u64> =
            from_json("contribution label counts", &counts)?;
        for (l, n) in counts {
            *p.labels.entry(l).or_default() += n;
        }
    }
    out.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    Ok(out)
}
