//! The library's error type. The server turns each into a problem+json
//! response with a stable code (see [`crate::problem`]).

use thiserror::Error;

/// Everything the service library can refuse or fail at.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The request lacks a valid bearer token.
    #[error("missing or invalid API token")]
    Unauthorized,
    /// The token is valid but the resource belongs to someone else.
    #[error("{0}")]
    Forbidden(String),
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
        /// Why.
        reason: String,
    },
    /// A body larger than the endpoint accepts.
    #[error("body larger than the {limit}-byte limit of this endpoint")]
    TooLarge {
        /// The endpoint's limit in bytes.
        limit: usize,
    },
    /// A malformed request (JSON, envelope, parameters).
    #[error("{0}")]
    BadRequest(String),
    /// A binary body that is not a valid envelope of the expected kind.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// The parser's complaint.
        detail: String,
    },
    /// Evaluation keys, queries or responses made for another plan.
    #[error("{0}")]
    WrongPlan(String),
    /// SMH codes from another key or parameter set than the federation's.
    #[error("{0}")]
    WrongCodeSpace(String),
    /// Already exists with other content (idempotency id reused for another body, name taken).
    #[error("{0}")]
    Conflict(String),
    /// The HE (or training) pool is full: try again later.
    #[error("server busy: {0}")]
    Busy(String),
    /// A joint model cannot be trained yet (no contributions, one class only).
    #[error("{0}")]
    NotReady(String),
    /// Storage failure.
    #[error("storage: {0}")]
    Storage(String),
    /// TLS or network setup.
    #[error("{0}")]
    Setup(String),
    /// An HTTP client-side failure (connection, TLS, decoding).
    #[error("{0}")]
    Client(String),
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
    /// Anything else internal.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Storage(e.to_string())
    }
}

impl From<tokio_postgres::Error> for ServiceError {
    fn from(e: tokio_postgres::Error) -> Self {
        ServiceError::Storage(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })
    }
}

/// The library's result type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
