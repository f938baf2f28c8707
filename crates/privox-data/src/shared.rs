//! Locating the reference corpora (`../shared`), which clean clones lack.

use std::path::PathBuf;

/// The shared data folder: `$PRIVOX_SHARED` if set, else `<workspace>/../shared`.
///
/// Returns `None` when it does not exist, so tests and benches can skip with a
/// printed reason instead of failing on a clean clone.
pub fn shared_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os("PRIVOX_SHARED") {
        Some(p) => PathBuf::from(p),
        // crates/privox-data -> workspace root -> its sibling `shared`.
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    candidate
        .is_dir()
        .then(|| candidate.canonicalize().unwrap_or(candidate))
}
