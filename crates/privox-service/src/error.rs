//! The library's error type. The server turns each into a problem+json
//! response with a stable code (see [`crate::problem`]).
//!
//! Convention: a variant that wraps another error keeps it as its
//! `source` and does not repeat it in its own message (print the chain with
//! [`ServiceError::chain`], or anyhow's `{:#}`); a refusal out of a closed
//! set of cases has a variant of its own; a mismatch carries what was found
//! and what was expected (fingerprints for plans and code spaces).

use std::path::PathBuf;

use thiserror::Error;

// Library errors are boxed so that `Result<T, ServiceError>` stays small.

/// A boxed cause (errors of the libraries below the service).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why the server is too busy to take the request now (HTTP 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusyReason {
    /// Every HE worker slot is taken.
    HePool,
    /// A training run of this server is in progress.
    Training,
}

impl std::fmt::Display for BusyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BusyReason::HePool => "HE pool full; retry after the Retry-After delay",
            BusyReason::Training => "a training run is already in progress",
        })
    }
}

/// Everything the service library can refuse or fail at.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The request lacks a valid bearer token.
    #[error("missing or invalid API token")]
    Unauthorized,
    /// The token is valid but the tenant may not use this resource.
    #[error("tenant {tenant:?} may not use {what} {name:?}")]
    Forbidden {
        /// The requesting tenant.
        tenant: String,
        /// Kind of resource.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// No such resource (or not visible to this tenant).
    #[error("{what} {name:?} not found")]
    NotFound {
        /// Kind of resource.
        what: &'static str,
        /// Its name as given.
        name: String,
    },
    /// A name (tenant, federation, model, idempotency id) is not acceptable.
    #[error("invalid {what}: {reason}")]
    InvalidName {
        /// Which name.
        what: &'static str,
        /// Why (which rule it breaks).
        reason: String,
    },
    /// A body larger than the endpoint accepts.
    #[error("body larger than the {limit}-byte limit of this endpoint")]
    TooLarge {
        /// The endpoint's limit in bytes.
        limit: usize,
    },
    /// The request body could not be read off the connection.
    #[error("reading the body")]
    BodyRead(#[source] axum::Error),
    /// A required header is missing.
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    /// A fingerprint in a request or federation that is not of the expected form.
    #[error("{what} must be {expected}, found {found:?}")]
    BadFingerprint {
        /// Which fingerprint.
        what: &'static str,
        /// Its form.
        expected: &'static str,
        /// What was given (at most 80 characters).
        found: String,
    },
    /// A federation's SMH parameters are not a valid parameter set.
    #[error("invalid SMH parameters")]
    SmhParams(#[source] Box<privox_smh::SmhError>),
    /// A federation definition that breaks a rule (classes, members).
    #[error("invalid federation: {0}")]
    InvalidFederation(&'static str),
    /// A class name that is not acceptable.
    #[error("bad class name {0:?}")]
    BadClassName(String),
    /// Too few or too many codes in one request.
    #[error("{found} codes; send 1 to {max}")]
    CodeCount {
        /// Codes sent.
        found: usize,
        /// Most codes per request.
        max: usize,
    },
    /// A code table that still carries file names or speakers.
    #[error(
        "send codes and labels only: file names and speakers stay with the client (see privox_service::joint::strip)"
    )]
    CodesWithMetadata,
    /// A contribution whose labels do not match its codes one to one.
    #[error("a contribution needs one label per code ({labels} labels for {codes} codes)")]
    LabelCount {
        /// Codes in the table.
        codes: usize,
        /// Labels in the table.
        labels: usize,
    },
    /// A label that is not one of the federation's classes.
    #[error("label {label:?} is not one of the federation's classes {classes:?}")]
    UnknownLabel {
        /// The label (at most 64 characters).
        label: String,
        /// The federation's classes.
        classes: Vec<String>,
    },
    /// A model file given to publish that is not a privox nn model.
    #[error("not a privox nn model")]
    NotAModel(#[source] Box<privox_nn::NnError>),
    /// A model that cannot be evaluated under CKKS.
    #[error("cannot plan this model")]
    Unplannable(#[source] Box<privox_cryptonet::CryptonetError>),
    /// A local input (audio file, feature table) the client cannot use.
    #[error("{what}")]
    Input {
        /// The input and step (`a.wav: decoding`, `scaling`, …).
        what: String,
        /// The library's error.
        #[source]
        source: Cause,
    },
    /// A binary body that is not a valid envelope of the expected kind.
    #[error("malformed {what}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: Cause,
    },
    /// Evaluation keys, queries, responses or a model made for another plan.
    #[error("{what} was made for plan {found}, expected plan {expected}")]
    WrongPlan {
        /// The object concerned.
        what: &'static str,
        /// The plan fingerprint expected.
        expected: String,
        /// The plan fingerprint found.
        found: String,
    },
    /// SMH codes from another key or parameter set than the federation's.
    #[error(
        "federation {federation:?} takes codes of code space {expected}; these are of code space {found}"
    )]
    WrongCodeSpace {
        /// The federation.
        federation: String,
        /// Its code-space fingerprint.
        expected: String,
        /// The code-space fingerprint of the codes sent.
        found: String,
    },
    /// A name that is already taken.
    #[error("{what} {name:?} already exists")]
    AlreadyExists {
        /// Kind of resource.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// An idempotency id reused with another body.
    #[error("idempotency id {key:?} was already used for another body")]
    IdempotencyReused {
        /// The idempotency id.
        key: String,
    },
    /// The server cannot take the request now: try again later.
    #[error("server busy: {0}")]
    Busy(BusyReason),
    /// The storage does not answer (readiness).
    #[error("storage not ready")]
    StorageNotReady(#[source] Box<ServiceError>),
    /// A federation without contributions cannot be trained.
    #[error("federation {federation:?} has no contributions yet: nothing to train on")]
    NoContributions {
        /// The federation.
        federation: String,
    },
    /// A federation without a trained model cannot classify.
    #[error(
        "federation {federation:?} has no trained model yet: POST /v1/federations/{federation}/train"
    )]
    NoJointModel {
        /// The federation.
        federation: String,
    },
    /// The contributions cannot train a model yet (one class only).
    #[error("federation {federation:?} cannot train yet")]
    CannotTrain {
        /// The federation.
        federation: String,
        /// The SVM's refusal.
        #[source]
        source: Box<privox_svm::SvmError>,
    },
    /// SQLite failed.
    #[error("SQLite storage")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostgreSQL storage")]
    Postgres(#[from] tokio_postgres::Error),
    /// Concurrent trainings kept taking the next model version.
    #[error("could not allocate a model version after {attempts} attempts")]
    VersionRace {
        /// Attempts made.
        attempts: u32,
    },
    /// Something stored that cannot be read back (model, contribution, packing).
    #[error("stored {what} is unreadable")]
    Corrupt {
        /// What was read.
        what: String,
        /// Why it cannot be used.
        #[source]
        source: Cause,
    },
    /// A file (data directory, TLS files, spool, client configuration).
    #[error("cannot {action} {}", path.display())]
    File {
        /// `read`, `write`, `create`, ….
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file named on the command line does not exist.
    #[error("config file {} not found", .0.display())]
    ConfigNotFound(PathBuf),
    /// No server URL anywhere.
    #[error(
        "no server: give --server URL, set PRIVOX_SERVER, or write `server = URL` in the config file"
    )]
    NoServer,
    /// No token anywhere.
    #[error(
        "no token: give --token, set PRIVOX_TOKEN, or write `token = pvx_…` in the config file"
    )]
    NoToken,
    /// A server URL that is neither https:// nor http://.
    #[error("server {0:?} must start with https:// (or http:// for a loopback test server)")]
    BadServerUrl(String),
    /// The SQLite database cannot be opened.
    #[error("cannot open the database {}", path.display())]
    OpenDatabase {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL server cannot be reached.
    #[error("cannot connect to PostgreSQL")]
    ConnectDatabase(#[source] tokio_postgres::Error),
    /// The listening socket cannot be opened.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TLS setup (keys, certificates).
    #[error("TLS: {what}")]
    Tls {
        /// What was wrong or being set up.
        what: String,
        /// The TLS library's error, when it reported one.
        #[source]
        source: Option<Cause>,
    },
    /// Plain HTTP asked for on an address that is not loopback.
    #[error("plain HTTP is allowed on loopback only, not on {0}; give --tls-cert and --tls-key")]
    PlainHttpNotLoopback(std::net::SocketAddr),
    /// An HTTP client-side failure (connection, TLS, decoding).
    #[error("HTTP request failed")]
    Http(#[source] reqwest::Error),
    /// The server answered with a problem document.
    #[error("server refused ({status} {code}): {detail}")]
    Remote {
        /// HTTP status.
        status: u16,
        /// The problem's stable code.
        code: String,
        /// The problem's detail.
        detail: String,
    },
    /// A client-side HE step (planning, key generation, encryption, decryption) failed.
    #[error("{step}")]
    He {
        /// The step.
        step: &'static str,
        /// The HE library's error.
        #[source]
        source: Box<privox_cryptonet::CryptonetError>,
    },
    /// A catalogue entry with a packing this client does not know.
    #[error("unknown packing {0:?}")]
    UnknownPacking(String),
    /// A blocking worker task panicked or was cancelled.
    #[error("worker task failed")]
    Worker(#[source] tokio::task::JoinError),
    /// A server semaphore was closed (shutting down).
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Anything else internal (a library refused what the service built).
    #[error("internal error: {what}")]
    Internal {
        /// What was being done.
        what: &'static str,
        /// The library's error.
        #[source]
        source: Cause,
    },
}

impl ServiceError {
    /// The message followed by every cause, `: `-separated (for logs and
    /// problem details, which have no other way to carry the chain).
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }

    /// A [`ServiceError::Malformed`] of `what` caused by `source`.
    pub fn malformed(what: &'static str, source: impl Into<Cause>) -> Self {
        ServiceError::Malformed {
            what,
            source: source.into(),
        }
    }

    /// A [`ServiceError::Internal`] while doing `what`, caused by `source`.
    pub fn internal(what: &'static str, source: impl Into<Cause>) -> Self {
        ServiceError::Internal {
            what,
            source: source.into(),
        }
    }

    /// A [`ServiceError::Corrupt`] of stored `what`, caused by `source`.
    pub fn corrupt(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        ServiceError::Corrupt {
            what: what.into(),
            source: source.into(),
        }
    }

    /// A [`ServiceError::File`] error.
    pub fn file(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ServiceError::File {
            action,
            path: path.into(),
            source,
        }
    }

    /// A [`ServiceError::Input`] about `what`, caused by `source`.
    pub fn input(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        ServiceError::Input {
            what: what.into(),
            source: source.into(),
        }
    }

    /// Whether the details stay in the server log (HTTP 500).
    pub fn is_internal(&self) -> bool {
        crate::problem::code_of(self) == "internal"
    }
}

/// The library's result type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
