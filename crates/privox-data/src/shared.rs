//! Locating the reference corpora (`../shared`), which clean clones lack.

use std::path::{Path, PathBuf};

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

/// A file inside the shared data folder, e.g. `shared_file("data/emodb/egemaps_v02_opensmile.csv")`.
///
/// Returns `None` when the folder or the file is missing; the caller prints a
/// `skipping: …` reason and returns, as tests must on a clean clone.
pub fn shared_file(relative: impl AsRef<Path>) -> Option<PathBuf> {
    let path = shared_dir()?.join(relative);
    path.is_file().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shared_file_is_none_not_a_path() {
        assert_eq!(shared_file("no/such/file-for-privox-tests.csv"), None);
    }
}
