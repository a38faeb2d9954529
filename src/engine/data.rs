//! Backup and restore as data: the engine never opens a path a caller names. A backup goes to
//! the caller piece by piece (its own process writes the file, as its own user); a restore
//! comes from the caller the same way. Both are audited with their actor.

use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};

use tokio::sync::mpsc;

use super::{Engine, EngineError, Result, audit_entry};
use crate::domain::*;
use crate::msg;
use crate::store::StoreError;
use crate::store::backup::{self, BackupSummary};

/// Longest accepted restore (a backup of a decade of orders is far smaller).
const MAX_RESTORE_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// How long a restore waits for robot runs in flight.
const RUN_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Size of one piece sent to the caller.
const PIECE: usize = 512 * 1024;

fn io_error(what: &str, e: std::io::Error) -> EngineError {
    EngineError::Store(StoreError::Sled(format!("{what}: {e}")))
}

impl Engine {
    /// Streams a backup to `out` in pieces of whole lines. Secrets are included only when
    /// asked (the service allows that only to the server's own user).
    pub async fn backup(
        &self,
        include_secrets: bool,
        out: mpsc::Sender<String>,
        actor: &Actor,
    ) -> Result<BackupSummary> {
        let store = self.store().clone();
        let summary = tokio::task::spawn_blocking(move || -> Result<BackupSummary> {
            // Anonymous scratch files in the data directory (owner-only, no name anyone could
            // reach): the records, then the whole backup as it will be sent.
            let scratch =
                || tempfile::tempfile_in(store.dir()).map_err(|e| io_error("scratch file", e));
            let mut body = scratch()?;
            let mut whole = scratch()?;
            let summary = {
                let mut w = std::io::BufWriter::new(&mut whole);
                let s = backup::write(&store, include_secrets, &mut body, &mut w)?;
                w.flush().map_err(|e| io_error("scratch file", e))?;
                s
            };
            drop(body);
            whole
                .seek(SeekFrom::Start(0))
                .map_err(|e| io_error("scratch file", e))?;
            let mut piece = String::with_capacity(PIECE + 4096);
            for line in BufReader::new(whole).lines() {
                piece.push_str(&line.map_err(|e| io_error("scratch file", e))?);
                piece.push('\n');
                if piece.len() >= PIECE && out.blocking_send(std::mem::take(&mut piece)).is_err() {
                    return Err(EngineError::Busy(msg!(
                        "バックアップの受け取り側が切断しました",
                        "the receiving side of the backup went away"
                    )));
                }
            }
            if !piece.is_empty() && out.blocking_send(piece).is_err() {
                return Err(EngineError::Busy(msg!(
                    "バックアップの受け取り側が切断しました",
                    "the receiving side of the backup went away"
                )));
            }
            Ok(summary)
        })
        .await
        .map_err(|e| EngineError::Store(StoreError::Sled(e.to_string())))??;
        let records = summary.records;
        self.store().write(|t| {
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "バックアップ".into(),
                },
                "バックアップ",
                None,
                None,
                if include_secrets {
                    format!("{records} 件 (シークレットを含む)")
                } else {
                    format!("{records} 件 (シークレットは含まない)")
                },
            ))
        })?;
        Ok(summary)
    }

    /// Replaces the store with the backup that arrives on `input`. Waits for robot runs in
    /// flight to finish and holds new ones back until it is done (their pages would land on
    /// the restored store).
    pub async fn restore(
        &self,
        mut input: mpsc::Receiver<String>,
        force: bool,
        actor: &Actor,
    ) -> Result<BackupSummary> {
        let mut file =
            tempfile::tempfile_in(self.store().dir()).map_err(|e| io_error("scratch file", e))?;
        let mut total: u64 = 0;
        while let Some(piece) = input.recv().await {
            total += piece.len() as u64;
            if total > MAX_RESTORE_BYTES {
                return Err(EngineError::Refused(msg!(
                    "バックアップが大きすぎます",
                    "the backup is too large"
                )));
            }
            file.write_all(piece.as_bytes())
                .map_err(|e| io_error("scratch file", e))?;
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_error("scratch file", e))?;
        let Ok(_alone) = tokio::time::timeout(RUN_WAIT, self.inner.gate.write()).await else {
            return Err(EngineError::Busy(msg!(
                "ロボットの実行が終わらないため復元できません: しばらくしてからもう一度試してください",
                "a robot run did not finish in time: try the restore again in a while"
            )));
        };
        let store = self.store().clone();
        let summary = tokio::task::spawn_blocking(move || {
            backup::restore(&store, BufReader::new(file), force)
        })
        .await
        .map_err(|e| EngineError::Store(StoreError::Sled(e.to_string())))??;
        let (records, secrets) = (summary.records, summary.secrets);
        self.store().write(|t| {
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "復元".into(),
                },
                "復元",
                None,
                None,
                format!("{records} 件 (シークレット {secrets} 件)"),
            ))
        })?;
        Ok(summary)
    }
}
