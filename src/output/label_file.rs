//! Label files (送り状) as the caller writes them: into `DATA/labels/` by default, never
//! elsewhere in the data directory, never over an existing file, owner-only.

use std::path::{Path, PathBuf};

use super::file::{NewFile, OutputFileError, refuse_inside};

/// Where label files go by default: `DATA/labels/` (owner-only, created when missing).
pub fn labels_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("labels")
}

/// The labels directory asked for (`--labels-dir`, `$SHUKKA_LABELS_DIR`), else `DATA/labels/`.
/// A directory inside the data directory other than `DATA/labels/` is refused: the store and
/// its keys live there.
pub fn configured_dir(data_dir: &Path, asked: Option<&Path>) -> Result<PathBuf, OutputFileError> {
    let default = labels_dir(data_dir);
    match asked {
        Some(d) if d != default => {
            refuse_inside(&d.join("label.csv"), data_dir)?;
            Ok(d.to_path_buf())
        }
        _ => Ok(default),
    }
}

/// `LABELS/b2-20261201-153000.csv`.
pub fn default_file(labels: &Path, carrier: &str, now: chrono::NaiveDateTime) -> PathBuf {
    labels.join(format!("{carrier}-{}.csv", now.format("%Y%m%d-%H%M%S")))
}

/// A label file may go into the labels directory (created owner-only when missing), never
/// elsewhere in the data directory (the store and its keys live there).
pub fn check_output(path: &Path, data_dir: &Path, labels: &Path) -> Result<(), OutputFileError> {
    let labels = labels.to_path_buf();
    let in_labels = path
        .parent()
        .is_some_and(|p| p == labels || p.canonicalize().ok() == labels.canonicalize().ok());
    if in_labels {
        crate::store::create_private_dir(&labels).map_err(|e| OutputFileError::Io {
            path: labels.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        return Ok(());
    }
    refuse_inside(path, data_dir)
}

/// Writes a label file the way every caller does: a new file (never over an existing one
/// unless `force`), owner-only, complete or not at all.
pub fn write_label_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), OutputFileError> {
    use std::io::Write;
    let mut out = NewFile::create(path, force)?;
    out.write_all(bytes).map_err(|e| OutputFileError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    out.commit()
}

/// Reads a carrier's file the way every caller does (as the caller's own user), refusing one
/// larger than an import may be before reading it.
pub fn read_carrier_file(path: &Path) -> Result<Vec<u8>, String> {
    let max = crate::service::MAX_IMPORT_BYTES;
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if len > max as u64 {
        return Err(format!(
            "{} is larger than {} MiB: split it",
            path.display(),
            max >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `LABELS/b2-20261201-153000.csv`, or `…-2.csv`, `…-3.csv` when that name is taken: a label
/// file is never written over another.
pub fn unused_file(labels: &Path, carrier: &str, now: chrono::NaiveDateTime) -> PathBuf {
    let first = default_file(labels, carrier, now);
    if !first.exists() {
        return first;
    }
    let stem = first
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    (2..)
        .map(|n| labels.join(format!("{stem}-{n}.csv")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}
