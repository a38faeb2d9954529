//! Logging setup, done exactly once per process by the command that runs. Logs never go to
//! stdout (scripts read it) and never include secrets.

use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings only).
pub fn init_stderr() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Days of log files kept in the data directory.
pub const KEEP_DAYS: usize = 14;

/// Logs to the data directory (the console owns the terminal; the server has none): one file
/// per day, `shukka.YYYY-MM-DD.log`, the last [`KEEP_DAYS`] kept, and `shukka.log` pointing at
/// today's. Files are owner-only (the process runs with umask 077). Returns false when the log
/// cannot be opened (then nothing is logged, and the caller says so).
pub fn init_dir(dir: &std::path::Path) -> Result<(), String> {
    use tracing_appender::rolling::{Builder, Rotation};
    crate::store::restrict_umask();
    // An older build wrote shukka.log as a plain file; it becomes the link to today's file.
    let latest = dir.join("shukka.log");
    if std::fs::symlink_metadata(&latest).is_ok_and(|m| m.is_file()) {
        let _ = std::fs::rename(&latest, dir.join("shukka.old.log"));
    }
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("shukka")
        .filename_suffix("log")
        .max_log_files(KEEP_DAYS)
        .latest_symlink("shukka.log")
        .build(dir)
        .map_err(|e| e.to_string())?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(appender)
        .try_init()
        .map_err(|e| e.to_string())
}
