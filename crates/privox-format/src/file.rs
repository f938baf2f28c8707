//! Crash-safe file writes: never leave a half-written key or model behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O failure, naming the file involved.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {cause}")]
pub struct FileError {
    pub path: PathBuf,
    // `cause`, not `source`: the message already contains it, and a source
    // would make reports that print the chain (anyhow's `{:#}`) repeat it.
    pub cause: std::io::Error,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// fsync, then rename. An existing file is replaced only once the new one is
/// complete, so a crash never loses the old content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_with_mode(path, bytes, None)
}

/// Like [`write_atomic`], with permissions 0600 on Unix, for secret keys.
pub fn write_secret_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_with_mode(path, bytes, Some(0o600))
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FileError> {
    let err = |cause| FileError {
        path: path.to_path_buf(),
        cause,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if let Some(m) = mode {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(m);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_private_and_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.bin");
        write_secret_atomic(&p, b"one").unwrap();
        write_secret_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn a_failed_write_names_file_and_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir/k.bin");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("missing-dir"), "{e}");
        assert!(e.to_string().contains(&e.cause.to_string()), "{e}");
        // Not also the source: chain-printing reports would repeat it.
        assert!(std::error::Error::source(&e).is_none());
    }
}
