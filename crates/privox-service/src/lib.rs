//! privox as a service: `privox serve` and `privox client`.
//!
//! * [`server`]: axum on tokio behind rustls; HE inference
//!   (`privox-cryptonet`'s server half: no secret-key type reaches it),
//!   SMH classification and Secure Joint Learning (`privox-svm` on
//!   `privox-smh` codes); CPU-bound work on the blocking pool behind
//!   semaphores (HE answers 503 + Retry-After when full).
//! * [`storage`]: SQLite (default, embedded) or PostgreSQL, one schema.
//! * [`client`]: the HTTP client `privox client` uses; everything secret
//!   (audio, features, CKKS secret keys, SMH keys) stays on its side.
//! * [`admin`]: what `privox serve admin` does (tenants, tokens shown once,
//!   federations, published models), directly on the storage.
//! * [`auth`], [`problem`], [`api`], [`openapi`], [`metrics`], [`tls`],
//!   [`joint`]: tokens and names, RFC 9457 errors, JSON types, the
//!   OpenAPI document, Prometheus metrics, TLS setup, the joint model.

pub mod admin;
pub mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod joint;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod server;
pub mod storage;
pub mod tls;

pub use error::{Result, ServiceError};
