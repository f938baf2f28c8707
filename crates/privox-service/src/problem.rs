//! RFC 9457 problem details (`application/problem+json`) with a stable
//! machine-readable `code` per kind of error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ServiceError;

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Problem {
    /// URI naming the problem type (`urn:privox:problem:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Stable code clients can match on (see docs/service.md).
    pub code: String,
}

/// Every stable code with its status and title (documented in docs/service.md).
pub const CODES: &[(&str, u16, &str)] = &[
    ("unauthorized", 401, "Missing or invalid API token"),
    ("forbidden", 403, "Not allowed for this tenant"),
    ("not-found", 404, "No such resource"),
    ("invalid-name", 400, "Invalid name"),
    ("body-too-large", 413, "Body too large"),
    ("bad-request", 400, "Bad request"),
    ("malformed-body", 400, "Malformed binary body"),
    ("wrong-plan", 400, "Made for another model plan"),
    (
        "wrong-code-space",
        400,
        "Codes of another SMH key or parameters",
    ),
    ("conflict", 409, "Conflict"),
    ("busy", 503, "Server busy"),
    ("not-ready", 409, "Not ready"),
    ("timeout", 408, "Request timeout"),
    ("internal", 500, "Internal error"),
];

impl Problem {
    /// A problem of a known code.
    pub fn new(code: &str, detail: impl Into<String>) -> Self {
        let (status, title) = CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|&(_, s, t)| (s, t))
            .unwrap_or((500, "Internal error"));
        Problem {
            type_: format!("urn:privox:problem:{code}"),
            title: title.to_string(),
            status,
            detail: detail.into(),
            code: code.to_string(),
        }
    }
}

/// The stable problem code of an error (`internal` for everything that is
/// not the client's doing).
pub fn code_of(e: &ServiceError) -> &'static str {
    use ServiceError as E;
    match e {
        E::Unauthorized => "unauthorized",
        E::Forbidden { .. } => "forbidden",
        E::NotFound { .. } => "not-found",
        E::InvalidName { .. } => "invalid-name",
        E::TooLarge { .. } => "body-too-large",
        E::BodyRead(_)
        | E::MissingHeader(_)
        | E::BadFingerprint { .. }
        | E::SmhParams(_)
        | E::InvalidFederation(_)
        | E::BadClassName(_)
        | E::CodeCount { .. }
        | E::CodesWithMetadata
        | E::LabelCount { .. }
        | E::UnknownLabel { .. }
        | E::NotAModel(_)
        | E::Unplannable(_)
        | E::Input { .. } => "bad-request",
        E::Malformed { .. } => "malformed-body",
        E::WrongPlan { .. } => "wrong-plan",
        E::WrongCodeSpace { .. } => "wrong-code-space",
        E::AlreadyExists { .. } | E::IdempotencyReused { .. } => "conflict",
        E::Busy(_) | E::StorageNotReady(_) => "busy",
        E::NoContributions { .. } | E::NoJointModel { .. } | E::CannotTrain { .. } => "not-ready",
        E::Sqlite(_)
        | E::Postgres(_)
        | E::VersionRace { .. }
        | E::Corrupt { .. }
        | E::File { .. }
        | E::ConfigNotFound(_)
        | E::NoServer
        | E::NoToken
        | E::BadServerUrl(_)
        | E::OpenDatabase { .. }
        | E::ConnectDatabase(_)
        | E::Listen { .. }
        | E::Tls { .. }
        | E::PlainHttpNotLoopback(_)
        | E::Http(_)
        | E::Remote { .. }
        | E::He { .. }
        | E::UnknownPacking(_)
        | E::Worker(_)
        | E::ShuttingDown
        | E::Internal { .. } => "internal",
    }
}

impl From<&ServiceError> for Problem {
    fn from(e: &ServiceError) -> Self {
        let code = code_of(e);
        let detail = if code == "internal" {
            // Internal details stay in the server log.
            "internal error; see the server log".to_string()
        } else {
            // The problem document has one string: the message and its causes.
            e.chain()
        };
        Problem::new(code, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if self.is_internal() {
            tracing::error!(error = %self.chain(), "request failed");
        }
        Problem::from(&self).into_response()
    }
}
