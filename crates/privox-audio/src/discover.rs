//! Finding the audio files under a folder.
//!
//! `walkdir` does the walking: it follows symlinks and detects loops (a
//! folder that links to itself or to an ancestor is reported once, not
//! walked again), which a hand-written recursion got wrong.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// File extensions taken as audio when a folder is searched (any case).
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "wave", "flac", "ogg", "oga", "mp3"];

/// True when `path` ends in one of [`AUDIO_EXTENSIONS`].
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| e.eq_ignore_ascii_case(a)))
}

/// What [`find_audio_files`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Audio files, sorted by path, each real file once (a file reached
    /// through two symlinked folders is listed under its first path).
    pub files: Vec<PathBuf>,
    /// Entries that could not be read, or symlink loops, with the reason;
    /// the walk goes on past them.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Every audio file under `dir`, recursively, following symlinks.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("a")).unwrap();
/// std::fs::write(dir.path().join("a/x.WAV"), b"").unwrap();
/// std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
/// let found = privox_audio::find_audio_files(dir.path());
/// assert_eq!(found.files, vec![dir.path().join("a/x.WAV")]);
/// ```
pub fn find_audio_files(dir: &Path) -> Discovered {
    let mut out = Discovered::default();
    let mut seen = HashSet::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walk {
        match entry {
            Ok(e) if e.file_type().is_file() && has_audio_extension(e.path()) => {
                // The canonical path tells a file reached twice through links.
                let key =
                    std::fs::canonicalize(e.path()).unwrap_or_else(|_| e.path().to_path_buf());
                if seen.insert(key) {
                    out.files.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(err) => {
                let path = err
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.to_path_buf());
                let why = if err.loop_ancestor().is_some() {
                    "symlink loop: it leads back to a folder being walked".to_string()
                } else {
                    err.io_error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| err.to_string())
                };
                out.skipped.push((path, why));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_folder_linking_to_itself_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.wav"), b"").unwrap();
        std::fs::write(root.join("b.flac"), b"").unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("alias")).unwrap();
        let found = find_audio_files(root);
        assert_eq!(
            found.files,
            vec![root.join("alias/a.wav"), root.join("b.flac")]
        );
        assert!(
            found.skipped.iter().any(|(_, why)| why.contains("loop")),
            "{:?}",
            found.skipped
        );
    }
}
