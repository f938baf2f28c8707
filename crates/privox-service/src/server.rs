//! The HTTP server: axum on tokio behind rustls (or plain HTTP on loopback
//! only), CPU-bound HE and SVM work on tokio's blocking pool behind
//! semaphores, per-endpoint body limits, request timeouts, graceful
//! shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::StreamExt;
use privox_cryptonet::{CryptonetError, Packing, Plan};
use privox_nn::NnModel;
use privox_svm::SvmModel;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, watch};

use crate::api::*;
use crate::auth::{check_idempotency_id, check_name, sha256_hex, token_hash};
use crate::error::{BusyReason, Result, ServiceError};
use crate::joint;
use crate::metrics::Metrics;
use crate::openapi;
use crate::storage::{Federation, NewContribution, Storage, Stored, Tenant};

/// Body limits per endpoint, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// JSON and small requests.
    pub small: usize,
    /// One HE query.
    pub he_query: usize,
    /// An HE batch (bundle of queries).
    pub he_batch: usize,
    /// Evaluation keys.
    pub eval_keys: usize,
    /// SMH code files (contributions, classification).
    pub codes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            small: 64 << 10,
            he_query: 16 << 20,
            he_batch: 256 << 20,
            eval_keys: 512 << 20,
            codes: 16 << 20,
        }
    }
}

/// How the server listens.
#[derive(Clone, Debug)]
pub enum Transport {
    /// TLS with these PEM files.
    Tls {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Plain HTTP; refused unless the address is loopback.
    InsecureLoopbackHttp,
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Data directory (SQLite file, upload spool, generated TLS files).
    pub data_dir: PathBuf,
    /// PostgreSQL URL instead of SQLite.
    pub database_url: Option<String>,
    /// Listen address (port 0: any free port).
    pub listen: SocketAddr,
    /// TLS or loopback HTTP.
    pub transport: Transport,
    /// HE evaluations at once; more get 503 + Retry-After.
    pub he_concurrency: usize,
    /// SVM classifications at once (others wait their turn).
    pub svm_concurrency: usize,
    /// Timeout of ordinary requests.
    pub request_timeout: Duration,
    /// Timeout of uploads, HE batches and training.
    pub long_timeout: Duration,
    /// Body limits.
    pub limits: Limits,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    /// Defaults for a data directory and transport.
    pub fn new(data_dir: PathBuf, listen: SocketAddr, transport: Transport) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        ServerConfig {
            data_dir,
            database_url: None,
            listen,
            transport,
            he_concurrency: cores,
            svm_concurrency: 4 * cores,
            request_timeout: Duration::from_secs(30),
            long_timeout: Duration::from_secs(600),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

struct HeModel {
    plan: Plan,
    model: Arc<NnModel>,
    bytes: Arc<Vec<u8>>,
    loaded: Instant,
}

/// Shared state of the handlers.
pub struct AppState {
    storage: Storage,
    limits: Limits,
    spool: PathBuf,
    metrics: Arc<Metrics>,
    he_sem: Arc<Semaphore>,
    svm_sem: Arc<Semaphore>,
    train_sem: Arc<Semaphore>,
    models: Mutex<HashMap<String, Arc<HeModel>>>,
    he_servers: Mutex<HashMap<(String, String), Arc<privox_cryptonet::Server>>>,
    svms: Mutex<HashMap<String, (i64, Arc<SvmModel>)>>,
    tokens: Mutex<HashMap<String, (Tenant, Instant)>>,
    memberships: Mutex<HashMap<(i64, String), (Federation, Instant)>>,
    versions: Mutex<HashMap<String, (i64, Instant)>>,
}

/// Cached models and token lookups are trusted this long (several servers
/// may share a database).
const CACHE_TTL: Duration = Duration::from_secs(5);
/// A federation's newest model version is re-read this often (training on
/// another replica shows within this delay).
const VERSION_TTL: Duration = Duration::from_secs(1);
/// HE servers (model + a tenant's keys, precomputed) kept in memory.
const MAX_HE_SERVERS: usize = 8;

type St = State<Arc<AppState>>;

fn blocking_err(e: tokio::task::JoinError) -> ServiceError {
    ServiceError::Worker(e)
}

/// Runs CPU-bound work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(blocking_err)?
}

fn he_err(e: CryptonetError) -> ServiceError {
    match e {
        CryptonetError::WrongPlan {
            what,
            expected,
            found,
        } => ServiceError::WrongPlan {
            what,
            expected,
            found,
        },
        CryptonetError::Io { .. } => ServiceError::internal("HE object I/O", e),
        other => ServiceError::malformed("HE object", other),
    }
}

impl AppState {
    /// A place in the HE pool, or 503 (counted) when it is full.
    fn he_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.he_sem.clone().try_acquire_owned().map_err(|_| {
            self.metrics.he_rejected.fetch_add(1, Ordering::Relaxed);
            ServiceError::Busy(BusyReason::HePool)
        })
    }

    async fn tenant(&self, headers: &HeaderMap) -> Result<Tenant> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ServiceError::Unauthorized)?;
        if token.len() > 256 {
            return Err(ServiceError::Unauthorized);
        }
        let hash = token_hash(token.trim());
        if let Ok(m) = self.tokens.lock()
            && let Some((t, at)) = m.get(&hash)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(t.clone());
        }
        let t = self
            .storage
            .tenant_for_token(&hash)
            .await?
            .ok_or(ServiceError::Unauthorized)?;
        if let Ok(mut m) = self.tokens.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(hash, (t.clone(), Instant::now()));
        }
        Ok(t)
    }

    async fn he_model(&self, name: &str) -> Result<Arc<HeModel>> {
        check_name("model", name)?;
        if let Ok(m) = self.models.lock()
            && let Some(hm) = m.get(name)
            && hm.loaded.elapsed() < CACHE_TTL
        {
            return Ok(hm.clone());
        }
        let (info, bytes) =
            self.storage
                .model(name)
                .await?
                .ok_or_else(|| ServiceError::NotFound {
                    what: "model",
                    name: name.into(),
                })?;
        let packing = Packing::parse(&info.packing).ok_or_else(|| {
            ServiceError::corrupt(
                format!("packing of model {name:?}"),
                format!("unknown packing {:?}", info.packing),
            )
        })?;
        let what = format!("model {name:?}");
        let hm = blocking(move || -> Result<HeModel> {
            let model =
                NnModel::from_bytes(&bytes).map_err(|e| ServiceError::corrupt(what.clone(), e))?;
            let plan = Plan::new(&model, packing).map_err(|e| ServiceError::corrupt(what, e))?;
            Ok(HeModel {
                plan,
                model: Arc::new(model),
                bytes: Arc::new(bytes),
                loaded: Instant::now(),
            })
        })
        .await?;
        let hm = Arc::new(hm);
        if let Ok(mut m) = self.models.lock() {
            m.insert(name.to_string(), hm.clone());
        }
        Ok(hm)
    }

    async fn he_server(
        &self,
        tenant: &Tenant,
        model: &str,
        hm: &Arc<HeModel>,
        keys: &str,
    ) -> Result<Arc<privox_cryptonet::Server>> {
        let cache_key = (hm.plan.fingerprint().to_hex(), keys.to_string());
        // The cache is shared between tenants only by content address; the
        // ownership check below runs on every request.
        if !self.storage.has_eval_keys(tenant.id, model, keys).await? {
            return Err(ServiceError::NotFound {
                what: "evaluation keys",
                name: keys.into(),
            });
        }
        if let Ok(m) = self.he_servers.lock()
            && let Some(s) = m.get(&cache_key)
        {
            return Ok(s.clone());
        }
        let bytes = self
            .storage
            .eval_keys(tenant.id, model, keys)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "evaluation keys",
                name: keys.into(),
            })?;
        let hm2 = hm.clone();
        let server = blocking(move || {
            let ek =
                privox_cryptonet::wire::eval_keys_from_bytes(&hm2.plan, &bytes).map_err(he_err)?;
            privox_cryptonet::Server::with_keys(hm2.plan.clone(), ek).map_err(he_err)
        })
        .await?;
        let server = Arc::new(server);
        if let Ok(mut m) = self.he_servers.lock() {
            if m.len() >= MAX_HE_SERVERS {
                m.clear();
            }
            m.insert(cache_key, server.clone());
        }
        Ok(server)
    }

    async fn federation_for(&self, tenant: &Tenant, name: &str) -> Result<Federation> {
        check_name("federation", name)?;
        let key = (tenant.id, name.to_string());
        if let Ok(m) = self.memberships.lock()
            && let Some((f, at)) = m.get(&key)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(f.clone());
        }
        let not_found = || ServiceError::NotFound {
            what: "federation",
            name: name.into(),
        };
        let f = self.storage.federation(name).await?.ok_or_else(not_found)?;
        // Non-members get the same answer as for a federation that does not
        // exist: names of other federations are not disclosed.
        if !self.storage.is_member(name, tenant.id).await? {
            return Err(not_found());
        }
        if let Ok(mut m) = self.memberships.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key, (f.clone(), Instant::now()));
        }
        Ok(f)
    }

    /// The newest model version (cached for [`VERSION_TTL`] once one exists).
    async fn latest_version(&self, federation: &str, fresh: bool) -> Result<Option<i64>> {
        if !fresh
            && let Ok(m) = self.versions.lock()
            && let Some((v, at)) = m.get(federation)
            && at.elapsed() < VERSION_TTL
        {
            return Ok(Some(*v));
        }
        let v = self.storage.latest_version(federation).await?;
        if let (Some(v), Ok(mut m)) = (v, self.versions.lock()) {
            m.insert(federation.to_string(), (v, Instant::now()));
        }
        Ok(v)
    }

    async fn joint_svm(&self, f: &Federation) -> Result<(i64, Arc<SvmModel>)> {
        let latest = self.latest_version(&f.name, false).await?.ok_or_else(|| {
            ServiceError::NoJointModel {
                federation: f.name.clone(),
            }
        })?;
        if let Ok(m) = self.svms.lock()
            && let Some((v, svm)) = m.get(&f.name)
            && *v == latest
        {
            return Ok((latest, svm.clone()));
        }
        let jm = self
            .storage
            .latest_joint_model(&f.name)
            .await?
            .ok_or_else(|| ServiceError::NoJointModel {
                federation: f.name.clone(),
            })?;
        let what = format!("joint model {} of {:?}", jm.version, f.name);
        let bytes = jm.bytes;
        let svm = blocking(move || {
            SvmModel::from_bytes(&bytes).map_err(|e| ServiceError::corrupt(what, e))
        })
        .await?;
        let svm = Arc::new(svm);
        if let Ok(mut m) = self.svms.lock() {
            m.insert(f.name.clone(), (jm.version, svm.clone()));
        }
        Ok((jm.version, svm))
    }
}

/// Reads a body into memory, refusing more than `limit` bytes (413), from
/// Content-Length before reading when it says so, and while streaming
/// otherwise.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>> {
    let mut stream = body.into_data_stream();
    if let Err(e) = check_length(headers, limit) {
        drain(stream).await;
        return Err(e);
    }
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ServiceError::BodyRead)?;
        if out.len() + chunk.len() > limit {
            drain(stream).await;
            return Err(ServiceError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Most bytes read and discarded after refusing an oversized body, so that
/// the client (still sending) reads the 413 instead of a broken pipe.
const DRAIN_BYTES: usize = 64 << 20;

/// Discards the rest of a refused body: at most [`DRAIN_BYTES`] and 5 s,
/// after which the connection is simply closed.
async fn drain(mut stream: axum::body::BodyDataStream) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut n = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            n += chunk.len();
            if n > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

fn check_length(headers: &HeaderMap, limit: usize) -> Result<()> {
    if let Some(n) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && n > limit as u64
    {
        return Err(ServiceError::TooLarge { limit });
    }
    Ok(())
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    (status, axum::Json(v)).into_response()
}

fn binary(bytes: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

// ---------------------------------------------------------------- handlers

#[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
async fn health() -> Response {
    json(
        StatusCode::OK,
        &Health {
            status: "ok".into(),
            storage: None,
        },
    )
}

#[utoipa::path(get, path = "/v1/ready", responses((status = 200, body = Health), (status = 503, body = crate::problem::Problem)))]
async fn ready(State(st): St) -> Result<Response> {
    st.storage
        .ping()
        .await
        .map_err(|e| ServiceError::StorageNotReady(Box::new(e)))?;
    Ok(json(
        StatusCode::OK,
        &Health {
            status: "ok".into(),
            storage: Some(st.storage.backend().into()),
        },
    ))
}

async fn openapi_json() -> Response {
    let mut r = openapi::document_json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn metrics(State(st): St) -> Response {
    let mut r = st.metrics.render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

fn model_entry(name: &str, plan: &Plan, model: &NnModel) -> ModelEntry {
    let p = &plan.params;
    ModelEntry {
        name: name.to_string(),
        packing: plan.packing.name().to_string(),
        plan_fingerprint: plan.fingerprint().to_hex(),
        ckks: CkksInfo {
            ring_degree: p.n() as u64,
            levels: p.max_level() as u64,
            q_bits: p
                .q_primes()
                .iter()
                .map(|q| 64 - q.leading_zeros())
                .collect(),
            log_qp: p.log_qp(),
            fingerprint: p.fingerprint().to_hex(),
            description: plan.describe(),
        },
        rotations: plan.rotations.clone(),
        rotation_levels: plan.rotation_levels.iter().map(|&l| l as u64).collect(),
        classes: model.class_names.clone(),
        features: model.feature_names.len() as u64,
        max_rows: plan.max_rows() as u64,
    }
}

fn federation_entry(f: &Federation, latest: Option<i64>) -> Result<FederationEntry> {
    let space = joint::code_space(f)?;
    Ok(FederationEntry {
        name: f.name.clone(),
        classes: f.classes.clone(),
        smh: SmhInfo {
            k: f.k,
            delta: f.delta,
            mpc: f.mpc,
            dim: f.dim,
            key_id: f.key_id.clone(),
            code_space_fingerprint: space.fingerprint().to_hex(),
        },
        c: f.c,
        gamma: f.gamma,
        latest_version: latest,
    })
}

#[utoipa::path(get, path = "/v1/models", security(("bearer" = [])),
    responses((status = 200, body = Catalogue), (status = 401, body = crate::problem::Problem)))]
async fn catalogue(State(st): St, headers: HeaderMap) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let mut models = Vec::new();
    for info in st.storage.models().await? {
        let hm = st.he_model(&info.name).await?;
        models.push(model_entry(&info.name, &hm.plan, &hm.model));
    }
    let mut federations = Vec::new();
    for f in st.storage.federations_of(t.id).await? {
        let latest = st.storage.latest_version(&f.name).await?;
        federations.push(federation_entry(&f, latest)?);
    }
    Ok(json(
        StatusCode::OK,
        &Catalogue {
            models,
            federations,
        },
    ))
}

#[utoipa::path(get, path = "/v1/models/{model}", security(("bearer" = [])),
    params(("model" = String, Path)),
    responses((status = 200, body = ModelEntry), (status = 404, body = crate::problem::Problem)))]
async fn model_info(
    State(st): St,
    headers: HeaderMap,
    Path(model): Path<String>,
) -> Result<Response> {
    st.tenant(&headers).await?;
    let hm = st.he_model(&model).await?;
    Ok(json(
        StatusCode::OK,
        &model_entry(&model, &hm.plan, &hm.model),
    ))
}

#[utoipa::path(get, path = "/v1/models/{model}/file", security(("bearer" = [])),
    params(("model" = String, Path)),
    responses((status = 200, description = "The model (privox-nn envelope PVXNNMD1): the client plans, scales and encrypts with it", content_type = "application/octet-stream")))]
async fn model_file(
    State(st): St,
    headers: HeaderMap,
    Path(model): Path<String>,
) -> Result<Response> {
    st.tenant(&headers).await?;
    let hm = st.he_model(&model).await?;
    Ok(binary(hm.bytes.as_ref().clone()))
}

/// Query string naming the evaluation keys.
#[derive(Deserialize, utoipa::IntoParams)]
struct KeysParam {
    /// Fingerprint returned by the key upload.
    keys: String,
}

fn check_keys_fp(fp: &str) -> Result<()> {
    if fp.len() != 64
        || !fp
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(ServiceError::BadFingerprint {
            what: "keys",
            expected: "the 64-digit lower-case hex fingerprint returned by the key upload",
            found: fp.chars().take(80).collect(),
        });
    }
    Ok(())
}

#[utoipa::path(put, path = "/v1/models/{model}/keys", security(("bearer" = [])),
    params(("model" = String, Path)),
    request_body(content = Vec<u8>, description = "Evaluation keys (privox-cryptonet envelope PVXCNEVK)", content_type = "application/octet-stream"),
    responses((status = 201, body = KeysUploaded), (status = 200, body = KeysUploaded), (status = 400, body = crate::problem::Problem), (status = 413, body = crate::problem::Problem)))]
async fn upload_keys(
    State(st): St,
    headers: HeaderMap,
    Path(model): Path<String>,
    body: Body,
) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let hm = st.he_model(&model).await?;
    let limit = st.limits.eval_keys;
    check_length(&headers, limit)?;
    // Stream to a spool file (never the whole body in memory), hashing as we go.
    tokio::fs::create_dir_all(&st.spool)
        .await
        .map_err(|e| ServiceError::file("create", &st.spool, e))?;
    let (_, tmp_name) = crate::auth::new_token()?;
    let tmp = st.spool.join(format!("upload-{}", &tmp_name[..32]));
    let result = async {
        let spool_err = |e| ServiceError::file("write", &tmp, e);
        let mut file = tokio::fs::File::create(&tmp).await.map_err(spool_err)?;
        let mut stream = body.into_data_stream();
        let mut n = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(ServiceError::BodyRead)?;
            n += chunk.len();
            if n > limit {
                return Err(ServiceError::TooLarge { limit });
            }
            file.write_all(&chunk).await.map_err(spool_err)?;
        }
        file.flush().await.map_err(spool_err)?;
        drop(file);
        // Validate against the model's plan (parses every key) on the
        // blocking pool, under the HE limit: it is as heavy as an evaluation.
        let _permit = st.he_permit()?;
        let hm2 = hm.clone();
        let tmp2 = tmp.clone();
        let (bytes, fp) = blocking(move || -> Result<(Vec<u8>, String)> {
            let bytes = std::fs::read(&tmp2).map_err(|e| ServiceError::file("read", &tmp2, e))?;
            privox_cryptonet::wire::eval_keys_from_bytes(&hm2.plan, &bytes).map_err(he_err)?;
            let fp = sha256_hex(&bytes);
            Ok((bytes, fp))
        })
        .await?;
        let created = st
            .storage
            .put_eval_keys(t.id, &model, &fp, &hm.plan.fingerprint().to_hex(), &bytes)
            .await?;
        Ok(KeysUploaded {
            fingerprint: fp,
            created,
            size: bytes.len() as u64,
        })
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    let up = result?;
    let status = if up.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &up))
}

async fn run_he(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    model: &str,
    keys: &str,
    body: Body,
    batch: bool,
) -> Result<Response> {
    // The body (bounded by the endpoint's limit) is read before anything
    // can refuse the request, so a refusal never leaves a half-read body on
    // a kept-alive connection.
    let limit = if batch {
        st.limits.he_batch
    } else {
        st.limits.he_query
    };
    let bytes = read_limited(headers, body, limit).await?;
    let t = st.tenant(headers).await?;
    check_keys_fp(keys)?;
    let permit = st.he_permit()?;
    let hm = st.he_model(model).await?;
    let server = st.he_server(&t, model, &hm, keys).await?;
    let metrics = st.metrics.clone();
    metrics.he_in_flight.fetch_add(1, Ordering::Relaxed);
    let out = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let r = if batch {
            server.infer_all_bytes(&bytes)
        } else {
            server.infer_bytes(&bytes)
        };
        metrics.he_in_flight.fetch_sub(1, Ordering::Relaxed);
        r
    })
    .await
    .map_err(blocking_err)?
    .map_err(he_err)?;
    Ok(binary(out))
}

/// The two HE evaluation endpoints differ only in their path, the
/// envelopes they document and `batch`: one definition for both.
macro_rules! he_endpoint {
    ($name:ident, $path:literal, $request:literal, $response:literal, $batch:literal) => {
        #[utoipa::path(post, path = $path, security(("bearer" = [])),
            params(("model" = String, Path), KeysParam),
            request_body(content = Vec<u8>, description = $request, content_type = "application/octet-stream"),
            responses((status = 200, description = $response, content_type = "application/octet-stream"),
                (status = 400, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
        async fn $name(
            State(st): St,
            headers: HeaderMap,
            Path(model): Path<String>,
            Query(q): Query<KeysParam>,
            body: Body,
        ) -> Result<Response> {
            run_he(&st, &headers, &model, &q.keys, body, $batch).await
        }
    };
}

he_endpoint!(
    infer,
    "/v1/models/{model}/infer",
    "One query (envelope PVXCNQRY)",
    "One response (envelope PVXCNRSP)",
    false
);
he_endpoint!(
    infer_batch,
    "/v1/models/{model}/infer-batch",
    "Several queries (envelope PVXCNQBD)",
    "Several responses (envelope PVXCNRBD)",
    true
);

#[utoipa::path(get, path = "/v1/federations/{federation}", security(("bearer" = [])),
    params(("federation" = String, Path)),
    responses((status = 200, body = FederationEntry), (status = 404, body = crate::problem::Problem)))]
async fn federation_info(
    State(st): St,
    headers: HeaderMap,
    Path(fed): Path<String>,
) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let f = st.federation_for(&t, &fed).await?;
    let latest = st.storage.latest_version(&f.name).await?;
    Ok(json(StatusCode::OK, &federation_entry(&f, latest)?))
}

#[utoipa::path(post, path = "/v1/federations/{federation}/contributions", security(("bearer" = [])),
    params(("federation" = String, Path), ("Idempotency-Key" = String, Header, description = "Client-chosen id: a retry with the same id and body is stored once")),
    request_body(content = Vec<u8>, description = "Labelled SMH codes (envelope PVXSMHC1, no file or speaker names)", content_type = "application/octet-stream"),
    responses((status = 201, body = ContributionAck), (status = 200, body = ContributionAck), (status = 400, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
async fn contribute(
    State(st): St,
    headers: HeaderMap,
    Path(fed): Path<String>,
    body: Body,
) -> Result<Response> {
    let bytes = read_limited(&headers, body, st.limits.codes).await?;
    let t = st.tenant(&headers).await?;
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or(ServiceError::MissingHeader("Idempotency-Key"))?
        .to_string();
    check_idempotency_id(&idem)?;
    let f = st.federation_for(&t, &fed).await?;
    let f2 = f.clone();
    let (bytes, n, counts) = blocking(move || -> Result<_> {
        let (table, counts) = joint::check_contribution(&f2, &bytes)?;
        let counts = serde_json::to_string(&counts)
            .map_err(|e| ServiceError::internal("JSON encoding", e))?;
        Ok((bytes, table.codes.len(), counts))
    })
    .await?;
    let sha = sha256_hex(&bytes);
    let stored = st
        .storage
        .put_contribution(&NewContribution {
            federation: &f.name,
            tenant_id: t.id,
            idem_key: &idem,
            body_sha256: &sha,
            n_codes: n as i64,
            label_counts: &counts,
            bytes: &bytes,
        })
        .await?;
    let (status, created) = match stored {
        Stored::Created(_) => (StatusCode::CREATED, true),
        Stored::Existing(_) => (StatusCode::OK, false),
    };
    Ok(json(
        status,
        &ContributionAck {
            id: stored.id(),
            created,
            codes: n as u64,
        },
    ))
}

#[utoipa::path(post, path = "/v1/federations/{federation}/train", security(("bearer" = [])),
    params(("federation" = String, Path)),
    responses((status = 201, body = ModelVersion), (status = 409, body = crate::problem::Problem), (status = 503, body = crate::problem::Problem)))]
async fn train(State(st): St, headers: HeaderMap, Path(fed): Path<String>) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let f = st.federation_for(&t, &fed).await?;
    let _permit = st
        .train_sem
        .clone()
        .try_acquire_owned()
        .map_err(|_| ServiceError::Busy(BusyReason::Training))?;
    // One statement reads every contribution: a consistent snapshot.
    let rows = st.storage.contributions(&f.name).await?;
    let ids: Vec<i64> = {
        let mut v: Vec<i64> = rows.iter().map(|r| r.id).collect();
        v.sort_unstable();
        v
    };
    let f2 = f.clone();
    let (model_bytes, fp, n) = blocking(move || -> Result<_> {
        let tables = rows
            .iter()
            .map(|r| {
                privox_smh::CodeTable::from_bytes(&r.bytes)
                    .map_err(|e| ServiceError::corrupt(format!("contribution {}", r.id), e))
            })
            .collect::<Result<Vec<_>>>()?;
        let model = joint::train(&f2, &tables)?;
        let n = tables.iter().map(|t| t.codes.len()).sum::<usize>();
        Ok((model.to_bytes(), model.fingerprint().to_hex(), n))
    })
    .await?;
    let version = st
        .storage
        .put_joint_model(&f.name, n as i64, &ids, &fp, &model_bytes)
        .await?;
    if let Ok(mut m) = st.versions.lock() {
        m.insert(f.name.clone(), (version, Instant::now()));
    }
    Ok(json(
        StatusCode::CREATED,
        &ModelVersion {
            version,
            codes: n as i64,
            contribution_ids: ids,
            fingerprint: fp,
        },
    ))
}

#[utoipa::path(get, path = "/v1/federations/{federation}/versions", security(("bearer" = [])),
    params(("federation" = String, Path)),
    responses((status = 200, body = Versions)))]
async fn versions(State(st): St, headers: HeaderMap, Path(fed): Path<String>) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let f = st.federation_for(&t, &fed).await?;
    let versions = st
        .storage
        .joint_models(&f.name)
        .await?
        .into_iter()
        .map(|m| ModelVersion {
            version: m.version,
            codes: m.n_codes,
            contribution_ids: m.contribution_ids,
            fingerprint: m.fingerprint,
        })
        .collect();
    Ok(json(StatusCode::OK, &Versions { versions }))
}

#[utoipa::path(get, path = "/v1/federations/{federation}/stats", security(("bearer" = [])),
    params(("federation" = String, Path)),
    responses((status = 200, body = Stats)))]
async fn stats(State(st): St, headers: HeaderMap, Path(fed): Path<String>) -> Result<Response> {
    let t = st.tenant(&headers).await?;
    let f = st.federation_for(&t, &fed).await?;
    let parties = st.storage.party_counts(&f.name).await?;
    let mut labels = std::collections::BTreeMap::new();
    for p in &parties {
        for (l, n) in &p.labels {
            *labels.entry(l.clone()).or_insert(0) += n;
        }
    }
    let codes = labels.values().sum();
    Ok(json(
        StatusCode::OK,
        &Stats {
            federation: f.name.clone(),
            parties: parties
                .into_iter()
                .map(|p| PartyStats {
                    tenant: p.tenant,
                    contributions: p.contributions,
                    labels: p.labels,
                })
                .collect(),
            labels,
            codes,
            latest_version: st.storage.latest_version(&f.name).await?,
        },
    ))
}

#[utoipa::path(post, path = "/v1/federations/{federation}/classify", security(("bearer" = [])),
    params(("federation" = String, Path)),
    request_body(content = Vec<u8>, description = "SMH codes to classify (envelope PVXSMHC1)", content_type = "application/octet-stream"),
    responses((status = 200, body = Classification), (status = 400, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
async fn classify(
    State(st): St,
    headers: HeaderMap,
    Path(fed): Path<String>,
    body: Body,
) -> Result<Response> {
    let bytes = read_limited(&headers, body, st.limits.codes).await?;
    let t = st.tenant(&headers).await?;
    let f = st.federation_for(&t, &fed).await?;
    let (version, svm) = st.joint_svm(&f).await?;
    let _permit = st
        .svm_sem
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ServiceError::ShuttingDown)?;
    let preds = blocking(move || -> Result<Vec<Prediction>> {
        // check_query refuses codes of another code space than the
        // federation's, whose codes trained the model.
        let codes = joint::check_query(&f, &bytes)?;
        let preds = svm
            .predict_codes(&codes)
            .map_err(|e| ServiceError::internal("SVM prediction", e))?;
        Ok(preds
            .into_iter()
            .map(|p| Prediction {
                label: svm.class_names[p.class].clone(),
                class: p.class as u64,
                decision: p.decision,
            })
            .collect())
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &Classification {
            version,
            predictions: preds,
        },
    ))
}

async fn not_found() -> Response {
    ServiceError::NotFound {
        what: "route",
        name: String::new(),
    }
    .into_response()
}

async fn track(State(st): St, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let secs = start.elapsed().as_secs_f64();
    st.metrics.record(&route, &method, status, secs);
    tracing::info!(%method, %route, status, ms = secs * 1e3, "request");
    resp
}

fn timeout_layer(d: Duration) -> tower_http::timeout::TimeoutLayer {
    tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, d)
}

/// The router (exposed for tests that drive it without a socket).
pub fn router(state: Arc<AppState>, request_timeout: Duration, long_timeout: Duration) -> Router {
    let short = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/ready", get(ready))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(catalogue))
        .route("/v1/models/{model}", get(model_info))
        .route("/v1/models/{model}/file", get(model_file))
        .route("/v1/models/{model}/infer", post(infer))
        .route("/v1/federations/{federation}", get(federation_info))
        .route(
            "/v1/federations/{federation}/contributions",
            post(contribute),
        )
        .route("/v1/federations/{federation}/versions", get(versions))
        .route("/v1/federations/{federation}/stats", get(stats))
        .route("/v1/federations/{federation}/classify", post(classify))
        .layer(timeout_layer(request_timeout));
    let long = Router::new()
        .route("/v1/models/{model}/keys", put(upload_keys))
        .route("/v1/models/{model}/infer-batch", post(infer_batch))
        .route("/v1/federations/{federation}/train", post(train))
        .layer(timeout_layer(long_timeout));
    short
        .merge(long)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        // Limits are enforced per endpoint by the handlers (problem+json 413);
        // axum's own default limit must not pre-empt them.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// A running server.
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Running {
    /// Begins graceful shutdown (stop accepting, finish in-flight requests)
    /// and waits for it.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.map_err(blocking_err)?
    }

    /// A sender that begins graceful shutdown when sent `true` (for signal handlers).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Waits until the server stops (after a shutdown was requested).
    pub async fn wait(self) -> Result<()> {
        self.task.await.map_err(blocking_err)?
    }
}

/// Opens storage, binds and starts serving in the background.
pub async fn start(cfg: ServerConfig) -> Result<Running> {
    let tls = match &cfg.transport {
        Transport::Tls { cert, key } => Some(tokio_rustls::TlsAcceptor::from(
            crate::tls::server_config(cert, key)?,
        )),
        Transport::InsecureLoopbackHttp => {
            if !cfg.listen.ip().is_loopback() {
                return Err(ServiceError::PlainHttpNotLoopback(cfg.listen));
            }
            None
        }
    };
    let storage = Storage::open(&cfg.data_dir, cfg.database_url.as_deref()).await?;
    let state = Arc::new(AppState {
        storage,
        limits: cfg.limits,
        spool: cfg.data_dir.join("spool"),
        metrics: Arc::new(Metrics::default()),
        he_sem: Arc::new(Semaphore::new(cfg.he_concurrency.max(1))),
        svm_sem: Arc::new(Semaphore::new(cfg.svm_concurrency.max(1))),
        train_sem: Arc::new(Semaphore::new(1)),
        models: Mutex::new(HashMap::new()),
        he_servers: Mutex::new(HashMap::new()),
        svms: Mutex::new(HashMap::new()),
        tokens: Mutex::new(HashMap::new()),
        memberships: Mutex::new(HashMap::new()),
        versions: Mutex::new(HashMap::new()),
    });
    let app = router(state, cfg.request_timeout, cfg.long_timeout);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ServiceError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServiceError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let (tx, rx) = watch::channel(false);
    let grace = cfg.shutdown_grace;
    let task = tokio::spawn(accept_loop(listener, tls, app, rx, grace));
    Ok(Running {
        addr,
        shutdown: tx,
        task,
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    let builder = Arc::new(builder);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let svc = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        match &tls {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder.serve_connection(TokioIo::new(stream), svc);
                    let _ = watcher.watch(conn).await;
                });
            }
            None => {
                let conn = builder.serve_connection(TokioIo::new(tcp), svc);
                let fut = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = fut.await;
                });
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
    }
    Ok(())
}
