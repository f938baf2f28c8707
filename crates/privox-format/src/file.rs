//! Crash-safe file writes: never leave a half-written key or model behind.
//!
//! The new content goes to a temporary file in the target's folder, which is
//! fsynced and then renamed over the target. The temporary name carries 128
//! bits of operating-system randomness and is opened with `O_CREAT|O_EXCL`
//! (`create_new`) and `O_NOFOLLOW`, with its final permissions from the
//! start: a file or symlink planted in the folder by someone else can
//! neither be predicted nor be opened in its place, so a secret never lands
//! in an attacker's file or with looser permissions.

use rand_core::{OsRng, TryRngCore};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An I/O failure, naming the file involved.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct FileError {
    /// The file that could not be written.
    pub path: PathBuf,
    /// The I/O error (the error's source; not repeated in its message).
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically: a fresh temporary file in the same
/// folder (random name, never an existing file or symlink), fsync, then
/// rename. An existing file is replaced only once the new one is complete,
/// so a crash never loses the old content. A symlink at `path` is replaced
/// by the file, its target is left alone.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_with_mode(path, bytes, None)
}

/// Like [`write_atomic`], with permissions 0600 on Unix from the moment the
/// temporary file exists, for secret keys.
pub fn write_secret_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_with_mode(path, bytes, Some(0o600))
}

/// Attempts at a fresh temporary name before giving up (a collision of 128
/// random bits only happens if someone else creates that very name).
const TEMP_ATTEMPTS: usize = 8;

/// At most this many bytes of the target's name go into the temporary name,
/// which must stay below the usual 255-byte limit.
const TEMP_NAME_PREFIX: usize = 100;

fn write_with_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FileError> {
    let err = |source| FileError {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut f) = create_temp(&dir, &name, mode).map_err(err)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Ours: created with create_new just above.
        let _ = fs::remove_file(&tmp);
        return result.map_err(err);
    }
    sync_dir(&dir);
    Ok(())
}

/// Creates `.<name>.tmp-<32 random hex digits>` in `dir`, new (never an
/// existing file or symlink), retrying on a name that already exists.
fn create_temp(dir: &Path, name: &str, mode: Option<u32>) -> io::Result<(PathBuf, fs::File)> {
    let prefix: String = name
        .char_indices()
        .take_while(|(i, c)| i + c.len_utf8() <= TEMP_NAME_PREFIX)
        .map(|(_, c)| c)
        .collect();
    for _ in 0..TEMP_ATTEMPTS {
        let tmp = dir.join(format!(".{prefix}.tmp-{}", random_hex()?));
        match open_new(&tmp, mode) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no fresh temporary file name in {TEMP_ATTEMPTS} attempts"),
    ))
}

/// 128 bits of operating-system randomness as hex.
fn random_hex() -> io::Result<String> {
    let mut b = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| io::Error::other(format!("no operating-system randomness: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Opens a new file for writing: `create_new` (O_CREAT|O_EXCL: fails on any
/// existing entry, a dangling symlink included) and, on Unix, O_NOFOLLOW and
/// the permissions `mode` from creation on.
fn open_new(path: &Path, mode: Option<u32>) -> io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
        if let Some(m) = mode {
            opts.mode(m);
        }
    }
    #[cfg(not(unix))]
    let _ = mode;
    opts.open(path)
}

/// Makes the rename durable (best effort: the data itself is already synced).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
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

    /// The old temporary name `.k.bin.tmp-<pid>` was predictable and opened
    /// with create + truncate, following symlinks: a symlink planted there
    /// made the secret land in the attacker's file (with its permissions).
    /// Now the name is random and the open refuses existing entries, so the
    /// planted links are never followed; the key ends up in a regular 0600
    /// file. A symlink at the final path is replaced, not written through.
    #[cfg(unix)]
    #[test]
    fn planted_symlinks_cannot_capture_a_secret() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let captured = elsewhere.path().join("captured");
        fs::write(&captured, b"").unwrap();
        fs::set_permissions(&captured, fs::Permissions::from_mode(0o644)).unwrap();
        let p = dir.path().join("k.bin");
        // Every name the old code could have used in this process, and a
        // dangling link, as an attacker would plant them.
        symlink(
            &captured,
            dir.path()
                .join(format!(".k.bin.tmp-{}", std::process::id())),
        )
        .unwrap();
        symlink(elsewhere.path().join("new"), dir.path().join(".k.bin.tmp")).unwrap();
        write_secret_atomic(&p, b"the secret").unwrap();
        assert_eq!(
            fs::read(&captured).unwrap(),
            b"",
            "secret written through the link"
        );
        assert!(!elsewhere.path().join("new").exists());
        let meta = fs::symlink_metadata(&p).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"the secret");

        // A symlink at the final path: replaced by the file, target untouched.
        let q = dir.path().join("k2.bin");
        symlink(&captured, &q).unwrap();
        write_secret_atomic(&q, b"another secret").unwrap();
        assert_eq!(fs::read(&captured).unwrap(), b"");
        let meta = fs::symlink_metadata(&q).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    /// The temporary file is opened new and without following links: an
    /// existing symlink (live or dangling) or file at that name is an error,
    /// never opened; names are fresh each time.
    #[cfg(unix)]
    #[test]
    fn temporary_files_are_new_never_followed_and_unpredictable() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let live = dir.path().join("live");
        symlink(&target, &live).unwrap();
        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        for planted in [&live, &dangling, &target] {
            let e = open_new(planted, Some(0o600)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{planted:?}: {e}");
        }
        assert_eq!(fs::read(&target).unwrap(), b"keep");
        assert!(!dir.path().join("nowhere").exists());
        let a = random_hex().unwrap();
        let b = random_hex().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        // Long names still give a valid temporary name.
        let long = dir.path().join("x".repeat(250));
        write_secret_atomic(&long, b"k").unwrap();
        assert_eq!(fs::read(&long).unwrap(), b"k");
    }

    #[test]
    fn a_failed_write_names_the_file_and_chains_the_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir/k.bin");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("missing-dir"), "{e}");
        // The cause is the source, and the message does not repeat it.
        let cause = std::error::Error::source(&e).expect("the I/O error is the source");
        assert!(!e.to_string().contains(&cause.to_string()), "{e}");
        let report = crate::Report(&e).to_string();
        assert_eq!(report.matches(&cause.to_string()).count(), 1, "{report}");
    }
}
