//! Where shukka keeps its data.

use std::path::PathBuf;

/// `--data-dir`, else `$SHUKKA_DATA_DIR` (clap reads it into the option), else the platform
/// data directory (e.g. `~/.local/share/shukka`).
pub fn data_dir(opt: Option<PathBuf>) -> PathBuf {
    if let Some(d) = opt {
        return d;
    }
    directories::ProjectDirs::from("jp", "shukka", "shukka")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".shukka"))
}
