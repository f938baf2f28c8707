//! The HTTP client `privox client` uses, and the client-side steps that must
//! stay local: feature extraction, scaling, CKKS encryption/decryption and
//! SMH hashing. Only ciphertexts, public evaluation keys and codes are sent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use privox_ckks::SecretKey;
use privox_cryptonet::wire::{eval_keys_to_bytes, queries_to_bytes, responses_from_bytes};
use privox_cryptonet::{Client as HeClient, Packing, Response, Scores};
use privox_data::{FeatureTable, Matrix, MinMaxScaler};
use privox_nn::NnModel;
use privox_smh::{CodeTable, SmhKey};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::api::*;
use crate::error::{Result, ServiceError};
use crate::problem::Problem;

/// Where the server is and how to authenticate.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://127.0.0.1:8443`.
    pub server: String,
    /// API token (`pvx_…`).
    pub token: Zeroizing<String>,
    /// PEM CA certificate(s) to trust instead of nothing (no system roots:
    /// the operator's CA is explicit).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("token", &"<redacted>")
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .finish()
    }
}

/// Environment variables read by [`ClientConfig::resolve`].
pub const ENV_SERVER: &str = "PRIVOX_SERVER";
/// Token variable.
pub const ENV_TOKEN: &str = "PRIVOX_TOKEN";
/// CA certificate path variable.
pub const ENV_CA: &str = "PRIVOX_CA_CERT";
/// Config file path variable.
pub const ENV_CONFIG: &str = "PRIVOX_CLIENT_CONFIG";

/// Values given on the command line (highest precedence).
#[derive(Clone, Debug, Default)]
pub struct ConfigOverrides {
    /// `--server`.
    pub server: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--ca-cert`.
    pub ca_cert: Option<PathBuf>,
    /// `--config`.
    pub config: Option<PathBuf>,
}

impl ClientConfig {
    /// Resolves the configuration: command line, then environment
    /// ([`ENV_SERVER`], [`ENV_TOKEN`], [`ENV_CA`]), then the config file
    /// (`--config`, [`ENV_CONFIG`], or `$HOME/.config/privox/client.conf`),
    /// whose lines are `server = URL`, `token = pvx_…`, `ca_cert = PATH`
    /// (`#` starts a comment).
    pub fn resolve(o: &ConfigOverrides) -> Result<Self> {
        let file_path = o
            .config
            .clone()
            .or_else(|| std::env::var_os(ENV_CONFIG).map(PathBuf::from))
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".config/privox/client.conf"))
            });
        let mut file = std::collections::HashMap::new();
        if let Some(p) = &file_path
            && p.exists()
        {
            let text = std::fs::read_to_string(p).map_err(|e| ServiceError::file("read", p, e))?;
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("").trim();
                if let Some((k, v)) = line.split_once('=') {
                    file.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
                }
            }
        } else if o.config.is_some() {
            return Err(ServiceError::ConfigNotFound(
                o.config.clone().unwrap_or_default(),
            ));
        }
        let pick = |cli: Option<String>, env: &str, key: &str| {
            cli.or_else(|| std::env::var(env).ok().filter(|s| !s.is_empty()))
                .or_else(|| file.get(key).cloned())
        };
        let server = pick(o.server.clone(), ENV_SERVER, "server").ok_or(ServiceError::NoServer)?;
        let token = pick(o.token.clone(), ENV_TOKEN, "token").ok_or(ServiceError::NoToken)?;
        let ca = pick(
            o.ca_cert.as_ref().map(|p| p.display().to_string()),
            ENV_CA,
            "ca_cert",
        );
        let ca_pem = match ca {
            Some(p) => Some(std::fs::read(&p).map_err(|e| ServiceError::file("read", p, e))?),
            None => None,
        };
        Ok(ClientConfig {
            server,
            token: Zeroizing::new(token),
            ca_pem,
        })
    }
}

/// Progress callback: (bytes or items done, total).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// An API client.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: Zeroizing<String>,
}

fn client_err(e: reqwest::Error) -> ServiceError {
    ServiceError::Http(e)
}

/// The error of a client-side HE `step`.
fn he(step: &'static str) -> impl FnOnce(privox_cryptonet::CryptonetError) -> ServiceError {
    move |source| ServiceError::He {
        step,
        source: Box::new(source),
    }
}

impl ApiClient {
    /// A client for a server. HTTPS URLs trust only `ca_pem`'s certificates
    /// (when given) or the built-in roots of none: give the operator's CA.
    pub fn new(cfg: &ClientConfig) -> Result<Self> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .pool_max_idle_per_host(64)
            .timeout(std::time::Duration::from_secs(900));
        if let Some(pem) = &cfg.ca_pem {
            for cert in
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| ServiceError::Tls {
                    what: "the CA certificate".into(),
                    source: Some(e.into()),
                })?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let base = cfg.server.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ServiceError::BadServerUrl(base));
        }
        Ok(ApiClient {
            http: b.build().map_err(client_err)?,
            base,
            token: cfg.token.clone(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.token.as_str())
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<Problem>(&text) {
            Ok(p) => ServiceError::Remote {
                status: status.as_u16(),
                code: p.code,
                detail: p.detail,
            },
            Err(_) => ServiceError::Remote {
                status: status.as_u16(),
                code: if status == StatusCode::REQUEST_TIMEOUT {
                    "timeout".into()
                } else {
                    "http".into()
                },
                detail: text.chars().take(200).collect(),
            },
        })
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self
            .req(reqwest::Method::GET, path)
            .send()
            .await
            .map_err(client_err)?;
        Self::check(r).await?.json().await.map_err(client_err)
    }

    async fn send_bytes(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        extra: Option<(&str, &str)>,
    ) -> Result<reqwest::Response> {
        let mut rb = self
            .req(method, path)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some((k, v)) = extra {
            rb = rb.header(k, v);
        }
        let r = rb.send().await.map_err(client_err)?;
        Self::check(r).await
    }

    /// `GET /v1/health` (no token needed).
    pub async fn health(&self) -> Result<Health> {
        self.get_json("/v1/health").await
    }

    /// `GET /v1/ready`.
    pub async fn ready(&self) -> Result<Health> {
        self.get_json("/v1/ready").await
    }

    /// The catalogue.
    pub async fn catalogue(&self) -> Result<Catalogue> {
        self.get_json("/v1/models").await
    }

    /// One model's catalogue entry.
    pub async fn model(&self, name: &str) -> Result<ModelEntry> {
        self.get_json(&format!("/v1/models/{}", enc(name))).await
    }

    /// The model file (the client plans, scales and encrypts with it).
    pub async fn model_file(&self, name: &str) -> Result<NnModel> {
        let r = self
            .req(
                reqwest::Method::GET,
                &format!("/v1/models/{}/file", enc(name)),
            )
            .send()
            .await
            .map_err(client_err)?;
        let bytes = Self::check(r).await?.bytes().await.map_err(client_err)?;
        NnModel::from_bytes(&bytes).map_err(|e| ServiceError::malformed("model file", e))
    }

    /// Uploads evaluation keys, streamed in 1 MiB chunks with progress.
    pub async fn upload_keys(
        &self,
        model: &str,
        bytes: Vec<u8>,
        progress: Option<Progress>,
    ) -> Result<KeysUploaded> {
        let total = bytes.len() as u64;
        let bytes = bytes::Bytes::from(bytes);
        let chunks: Vec<bytes::Bytes> = (0..bytes.len())
            .step_by(1 << 20)
            .map(|i| bytes.slice(i..(i + (1 << 20)).min(bytes.len())))
            .collect();
        let mut sent = 0u64;
        let stream = futures_util::stream::iter(chunks.into_iter().map(move |c| {
            sent += c.len() as u64;
            if let Some(p) = &progress {
                p(sent, total);
            }
            Ok::<_, std::io::Error>(c)
        }));
        let r = self
            .req(
                reqwest::Method::PUT,
                &format!("/v1/models/{}/keys", enc(model)),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, total)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .map_err(client_err)?;
        Self::check(r).await?.json().await.map_err(client_err)
    }

    /// One encrypted query → one encrypted response (bytes).
    pub async fn infer(&self, model: &str, keys: &str, query: Vec<u8>) -> Result<Vec<u8>> {
        let path = format!("/v1/models/{}/infer?keys={}", enc(model), enc(keys));
        let r = self
            .send_bytes(reqwest::Method::POST, &path, query, None)
            .await?;
        Ok(r.bytes().await.map_err(client_err)?.to_vec())
    }

    /// A bundle of queries → a bundle of responses (bytes).
    pub async fn infer_batch(&self, model: &str, keys: &str, bundle: Vec<u8>) -> Result<Vec<u8>> {
        let path = format!("/v1/models/{}/infer-batch?keys={}", enc(model), enc(keys));
        let r = self
            .send_bytes(reqwest::Method::POST, &path, bundle, None)
            .await?;
        Ok(r.bytes().await.map_err(client_err)?.to_vec())
    }

    /// A federation's description.
    pub async fn federation(&self, name: &str) -> Result<FederationEntry> {
        self.get_json(&format!("/v1/federations/{}", enc(name)))
            .await
    }

    /// Sends a contribution (labelled code table) under an idempotency id.
    pub async fn contribute(
        &self,
        fed: &str,
        idem: &str,
        codes: &CodeTable,
    ) -> Result<ContributionAck> {
        let path = format!("/v1/federations/{}/contributions", enc(fed));
        let r = self
            .send_bytes(
                reqwest::Method::POST,
                &path,
                codes.to_bytes(),
                Some(("Idempotency-Key", idem)),
            )
            .await?;
        r.json().await.map_err(client_err)
    }

    /// Sends raw bytes as a contribution (tests of hostile input).
    pub async fn contribute_raw(
        &self,
        fed: &str,
        idem: &str,
        body: Vec<u8>,
    ) -> Result<ContributionAck> {
        let path = format!("/v1/federations/{}/contributions", enc(fed));
        let r = self
            .send_bytes(
                reqwest::Method::POST,
                &path,
                body,
                Some(("Idempotency-Key", idem)),
            )
            .await?;
        r.json().await.map_err(client_err)
    }

    /// Asks the server to train the joint model now.
    pub async fn train(&self, fed: &str) -> Result<ModelVersion> {
        let r = self
            .send_bytes(
                reqwest::Method::POST,
                &format!("/v1/federations/{}/train", enc(fed)),
                Vec::new(),
                None,
            )
            .await?;
        r.json().await.map_err(client_err)
    }

    /// Model versions.
    pub async fn versions(&self, fed: &str) -> Result<Versions> {
        self.get_json(&format!("/v1/federations/{}/versions", enc(fed)))
            .await
    }

    /// Per-federation statistics.
    pub async fn stats(&self, fed: &str) -> Result<Stats> {
        self.get_json(&format!("/v1/federations/{}/stats", enc(fed)))
            .await
    }

    /// Classifies codes (labels and names are stripped before sending).
    pub async fn classify_codes(&self, fed: &str, codes: &CodeTable) -> Result<Classification> {
        let stripped = crate::joint::strip(codes, false)?;
        self.classify_raw(fed, stripped.to_bytes()).await
    }

    /// Sends raw bytes to classify (tests of hostile input).
    pub async fn classify_raw(&self, fed: &str, body: Vec<u8>) -> Result<Classification> {
        let path = format!("/v1/federations/{}/classify", enc(fed));
        let r = self
            .send_bytes(reqwest::Method::POST, &path, body, None)
            .await?;
        r.json().await.map_err(client_err)
    }

    /// The OpenAPI document.
    pub async fn openapi(&self) -> Result<String> {
        let r = self
            .req(reqwest::Method::GET, "/v1/openapi.json")
            .send()
            .await
            .map_err(client_err)?;
        Self::check(r).await?.text().await.map_err(client_err)
    }

    /// Prometheus metrics text.
    pub async fn metrics(&self) -> Result<String> {
        let r = self
            .req(reqwest::Method::GET, "/metrics")
            .send()
            .await
            .map_err(client_err)?;
        Self::check(r).await?.text().await.map_err(client_err)
    }
}

/// Percent-encodes a path segment or query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Extracts the 88 eGeMAPS functionals of audio files, locally.
pub fn extract_features(files: &[PathBuf]) -> Result<FeatureTable> {
    let mut table = FeatureTable::new(
        privox_egemaps::FEATURE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    for f in files {
        let name = f.display().to_string();
        let audio = privox_audio::decode_file(f).map_err(|e| ServiceError::input(&name, e))?;
        let feats = privox_egemaps::extract(&audio.samples, audio.sample_rate)
            .map_err(|e| ServiceError::input(&name, e))?;
        table
            .push(name.clone(), String::new(), String::new(), feats.values())
            .map_err(|e| ServiceError::input(name, e))?;
    }
    Ok(table)
}

/// Scales rows with a shared scaler and hashes them with the federation's
/// SMH key; keeps labels only when asked (contributions). The result holds
/// no file or speaker names.
pub fn hash_rows(
    key: &SmhKey,
    scaler: &MinMaxScaler,
    x: &Matrix,
    labels: Option<Vec<String>>,
) -> Result<CodeTable> {
    let scaled = scaler
        .transform(x)
        .map_err(|e| ServiceError::input("scaling", e))?;
    let codes = key
        .hash(scaled.as_slice(), scaled.cols())
        .map_err(|e| ServiceError::input("hashing", e))?;
    CodeTable::new(codes, Vec::new(), Vec::new(), labels.unwrap_or_default())
        .map_err(|e| ServiceError::input("labels", e))
}

/// Local HE state of one tenant for one model: the model (for planning and
/// scaling), the secret key, and the uploaded keys' fingerprint.
pub struct HeSession {
    /// Planner, scaler, encryptor and decryptor.
    pub client: HeClient,
    /// Never leaves this process (zeroized on drop by privox-ckks).
    pub secret: SecretKey,
    /// Fingerprint the server knows the evaluation keys by.
    pub keys_fingerprint: String,
    /// Model name on the server.
    pub model: String,
}

/// Reads the packing the server published a model with.
pub fn packing_of(entry: &ModelEntry) -> Result<Packing> {
    Packing::parse(&entry.packing)
        .ok_or_else(|| ServiceError::UnknownPacking(entry.packing.clone()))
}

impl HeSession {
    /// Downloads the model, generates keys locally (secret key from OS
    /// entropy), uploads the evaluation keys.
    pub async fn create(api: &ApiClient, model: &str, progress: Option<Progress>) -> Result<Self> {
        let entry = api.model(model).await?;
        let nn = api.model_file(model).await?;
        let client = HeClient::new(nn, packing_of(&entry)?).map_err(he("planning"))?;
        let found = client.plan().fingerprint().to_hex();
        if found != entry.plan_fingerprint {
            return Err(ServiceError::WrongPlan {
                what: "the downloaded model",
                expected: entry.plan_fingerprint,
                found,
            });
        }
        let (sk, evk) = client.keygen().map_err(he("key generation"))?;
        let bytes =
            eval_keys_to_bytes(client.plan(), &evk).map_err(he("encoding evaluation keys"))?;
        let up = api.upload_keys(model, bytes, progress).await?;
        Ok(HeSession {
            client,
            secret: sk,
            keys_fingerprint: up.fingerprint,
            model: model.to_string(),
        })
    }

    /// Resumes with a saved secret key and known fingerprint.
    pub async fn resume(
        api: &ApiClient,
        model: &str,
        sk_path: &Path,
        fingerprint: &str,
    ) -> Result<Self> {
        let entry = api.model(model).await?;
        let nn = api.model_file(model).await?;
        let client = HeClient::new(nn, packing_of(&entry)?).map_err(he("planning"))?;
        let secret = client
            .load_secret_key(sk_path)
            .map_err(he("loading the secret key"))?;
        Ok(HeSession {
            client,
            secret,
            keys_fingerprint: fingerprint.to_string(),
            model: model.to_string(),
        })
    }

    /// Scales and encrypts raw feature rows, sends them (one request per
    /// query, or one batch request), decrypts the scores.
    pub async fn classify(
        &self,
        api: &ApiClient,
        raw: &[Vec<f64>],
        batch: bool,
        progress: Option<Progress>,
    ) -> Result<Scores> {
        let scaled = self
            .client
            .scale(raw)
            .map_err(|e| ServiceError::input("features", e))?;
        let queries = self
            .client
            .encrypt_all(&self.secret, &scaled)
            .map_err(he("encryption"))?;
        let plan = self.client.plan();
        let responses: Vec<Response> = if batch {
            let bundle = queries_to_bytes(plan, &queries).map_err(he("encoding queries"))?;
            let out = api
                .infer_batch(&self.model, &self.keys_fingerprint, bundle)
                .await?;
            if let Some(p) = &progress {
                p(queries.len() as u64, queries.len() as u64);
            }
            responses_from_bytes(plan, &out).map_err(he("reading the responses"))?
        } else {
            let mut v = Vec::with_capacity(queries.len());
            for (i, q) in queries.iter().enumerate() {
                let bytes = q.to_bytes(plan).map_err(he("encoding a query"))?;
                let out = api
                    .infer(&self.model, &self.keys_fingerprint, bytes)
                    .await?;
                v.push(Response::from_bytes(plan, &out).map_err(he("reading a response"))?);
                if let Some(p) = &progress {
                    p(i as u64 + 1, queries.len() as u64);
                }
            }
            v
        };
        self.client
            .decrypt_all(&self.secret, &responses)
            .map_err(he("decryption"))
    }
}
