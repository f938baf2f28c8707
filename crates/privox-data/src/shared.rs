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
/// Returns `None` when the folder or the file is missing; the caller calls
/// [`skip_without_shared`] and returns, as tests must on a clean clone.
pub fn shared_file(relative: impl AsRef<Path>) -> Option<PathBuf> {
    let path = shared_dir()?.join(relative);
    path.is_file().then_some(path)
}

/// The variable that turns a corpus test's skip into a failure: `.ci/run`
/// sets `PRIVOX_REQUIRE_SHARED=1` when `../shared/data` exists, so that corpus
/// tests cannot pass vacuously there while a clean clone still passes.
pub const REQUIRE_SHARED_VAR: &str = "PRIVOX_REQUIRE_SHARED";

/// Whether `PRIVOX_REQUIRE_SHARED` is set to `1`.
pub fn shared_required() -> bool {
    std::env::var_os(REQUIRE_SHARED_VAR).is_some_and(|v| v == "1")
}

/// What a corpus test does when its reference data is missing: prints
/// `skipping: {reason}` and returns, so the caller can `return`; or, when
/// [`shared_required`], fails the test.
///
/// # Panics
///
/// When `PRIVOX_REQUIRE_SHARED=1`: a test that needs `../shared` must then not
/// pass without running. This is for tests only.
pub fn skip_without_shared(reason: impl std::fmt::Display) {
    assert!(
        !shared_required(),
        "{REQUIRE_SHARED_VAR}=1 but {reason}: the corpus test would pass without running"
    );
    eprintln!("skipping: {reason}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shared_file_is_none_not_a_path() {
        assert_eq!(shared_file("no/such/file-for-privox-tests.csv"), None);
    }
}
