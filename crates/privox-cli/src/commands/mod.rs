//! One module per CLI verb. Each exposes `Args` (or a `Command` enum) and `run`.

pub mod calibrate;
pub mod client;
pub mod demo;
pub mod extract;
pub mod he;
pub mod nn;
pub mod progress;
pub mod repro;
pub mod serve;
pub mod smh;
pub mod svm;
