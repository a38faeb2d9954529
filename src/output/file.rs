//! A file the operator names, written by the operator's own process: never through a symlink,
//! never over an existing file without `--force`, never half-written (a temporary file in the
//! same directory is renamed into place), owner-only.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputFileError {
    #[error("{0} already exists: pass --force to replace it")]
    Exists(PathBuf),
    #[error("{0} is a directory")]
    IsDirectory(PathBuf),
    #[error(
        "{path} is inside the data directory {dir}: write it somewhere else (shukka's own files must not be replaced)"
    )]
    InsideDataDir { path: PathBuf, dir: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Refuses a path inside `data_dir` (where a backup could replace the store's own files).
pub fn refuse_inside(path: &Path, data_dir: &Path) -> Result<(), OutputFileError> {
    let parent = absolute_parent(path)?;
    let parent = parent.canonicalize().unwrap_or(parent);
    if let Ok(dir) = data_dir.canonicalize()
        && parent.starts_with(&dir)
    {
        return Err(OutputFileError::InsideDataDir {
            path: path.to_path_buf(),
            dir,
        });
    }
    Ok(())
}

fn absolute_parent(path: &Path) -> Result<PathBuf, OutputFileError> {
    let abs = std::path::absolute(path).map_err(|source| OutputFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/")))
}

/// A new file being written: created as a temporary file next to its name, put in place by
/// [`NewFile::commit`]. Dropped without committing, it leaves nothing behind.
pub struct NewFile {
    path: PathBuf,
    force: bool,
    tmp: tempfile::NamedTempFile,
    buf: Vec<u8>,
}

impl NewFile {
    pub fn create(path: &Path, force: bool) -> Result<NewFile, OutputFileError> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => return Err(OutputFileError::IsDirectory(path.to_path_buf())),
            Ok(_) if !force => return Err(OutputFileError::Exists(path.to_path_buf())),
            _ => {}
        }
        let dir = absolute_parent(path)?;
        // Created O_EXCL and 0600 by tempfile, in the target's directory (so the rename is
        // atomic).
        let tmp = tempfile::Builder::new()
            .prefix(".shukka-")
            .suffix(".part")
            .tempfile_in(&dir)
            .map_err(|source| OutputFileError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(NewFile {
            path: path.to_path_buf(),
            force,
            tmp,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    fn io(&self, source: std::io::Error) -> OutputFileError {
        OutputFileError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Syncs the file and puts it in place.
    pub fn commit(mut self) -> Result<(), OutputFileError> {
        self.flush().map_err(|e| self.io(e))?;
        self.tmp.as_file().sync_all().map_err(|e| self.io(e))?;
        let (path, force) = (self.path.clone(), self.force);
        // rename(2) replaces a symlink itself, never what it points to; without --force the
        // name must still be free (link-based, so a file created meanwhile is not replaced).
        let persisted = if force {
            self.tmp.persist(&path).map(|_| ())
        } else {
            self.tmp.persist_noclobber(&path).map(|_| ())
        };
        match persisted {
            Ok(()) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(OutputFileError::Exists(path))
            }
            Err(e) => Err(OutputFileError::Io {
                path,
                source: e.error,
            }),
        }
    }
}

impl Write for NewFile {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.as_file_mut().write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Writes `path` at once with `bytes` (see [`NewFile`]).
pub fn write_new(path: &Path, force: bool, bytes: &[u8]) -> Result<(), OutputFileError> {
    let mut f = NewFile::create(path, force)?;
    f.write_all(bytes).map_err(|e| f.io(e))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(path: &Path, force: bool, text: &str) -> Result<(), OutputFileError> {
        write_new(path, force, text.as_bytes())
    }

    #[test]
    fn new_files_only_with_force_replace_and_never_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tmp");
        let f = d.path().join("b.json");
        put(&f, false, "one").expect("new file");
        assert_eq!(std::fs::read_to_string(&f).expect("read"), "one");
        let mode = std::fs::metadata(&f).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            put(&f, false, "two"),
            Err(OutputFileError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&f).expect("read"), "one");
        put(&f, true, "two").expect("forced");
        assert_eq!(std::fs::read_to_string(&f).expect("read"), "two");

        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").expect("victim");
        let link = d.path().join("link.json");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert!(matches!(
            put(&link, false, "x"),
            Err(OutputFileError::Exists(_))
        ));
        put(&link, true, "x").expect("forced over the link");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert!(
            !std::fs::symlink_metadata(&link)
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(d.path())
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(left.is_empty());
        assert!(refuse_inside(&d.path().join("store/conf"), d.path()).is_err());
        assert!(refuse_inside(&f, &d.path().join("data")).is_ok());
    }
}
