//! The archive's runs: on the scheduler's daily turn and on `shukka archive run`. The moving
//! itself (crash-safe, a frame and a commit per batch) is the store's: see `store/archive.rs`.

use chrono::Duration;

use super::{Engine, EngineError, Result};
use crate::msg;
use crate::store::archive::{ArchiveConfig, ArchiveOptions, ArchiveReport, BATCH, CFG_ARCHIVE};

impl Engine {
    /// `[archive]` as configured (180 days when never set).
    pub fn archive_config(&self) -> Result<ArchiveConfig> {
        Ok(self
            .store()
            .config::<ArchiveConfig>(CFG_ARCHIVE)?
            .unwrap_or_default())
    }

    /// Archives what is finished and older than `older_than_days` (default: the configured
    /// age). Robot runs go on meanwhile; a restore waits for it.
    pub async fn archive_now(
        &self,
        older_than_days: Option<u32>,
        batch: Option<usize>,
        dry_run: bool,
    ) -> Result<ArchiveReport> {
        let days = match older_than_days {
            Some(d) => d,
            None => match self.archive_config()?.after_days {
                0 => {
                    return Err(EngineError::Refused(msg!(
                        "アーカイブは無効です ([archive] after_days = 0): --older-than で日数を指定してください",
                        "Archiving is off ([archive] after_days = 0): give --older-than DAYS"
                    )));
                }
                d => d,
            },
        };
        let cutoff =
            chrono::Utc::now().with_timezone(&crate::time::jst()) - Duration::days(i64::from(days));
        let opts = ArchiveOptions {
            cutoff,
            batch: batch.unwrap_or(BATCH).clamp(1, 10_000),
            dry_run,
        };
        let _gate = self.inner.gate.read().await;
        let store = self.store().clone();
        let report = tokio::task::spawn_blocking(move || {
            store.archive_run(&opts, |b| {
                tracing::debug!(batch = b.batch, month = %b.month, n = b.ids.len(), "archived");
            })
        })
        .await
        .map_err(|e| EngineError::Store(crate::store::StoreError::Sled(e.to_string())))??;
        if report.moved > 0 && !dry_run {
            tracing::info!(
                moved = report.moved,
                months = ?report.months,
                changed = report.changed,
                "finished instructions archived"
            );
        }
        Ok(report)
    }
}
