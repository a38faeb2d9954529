//! `shukka backup` / `shukka restore`: everything in the store as one JSON-lines file.
//! Robot configuration, the audit log and tracking numbers cannot be re-fetched from futureshop,
//! so they must be exportable. Secrets are included only when asked for.

use std::io::{BufRead, BufWriter, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AUTH, SCHEMA_VERSION, Store, StoreError};
use crate::domain::ApiAuth;
use crate::msg::Msg;
use crate::secret::Secret;

const FORMAT: &str = "shukka-backup";

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    schema: u64,
    created: String,
    secrets: bool,
    records: usize,
    /// Archive frames after the records (one line each; none in older backups).
    #[serde(default)]
    archive_frames: usize,
}

#[derive(Serialize, Deserialize)]
struct Line {
    k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_for_auth: Option<u64>,
    /// An archive frame of this month (the frame's bytes in `b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archive: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    pub records: usize,
    pub secrets: usize,
    /// Archive frames (each up to a batch of archived instructions).
    #[serde(default)]
    pub archive_frames: usize,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Writes a whole backup to `w`: the header line, then every record (and, if asked, the
/// secrets in the clear — the caller decides who may ask). The records are written to `body`
/// first (a scratch file of the caller's), under the store's write lock so that the backup is
/// one consistent state, and the header that counts them goes first.
pub fn write(
    store: &Store,
    include_secrets: bool,
    body: &mut std::fs::File,
    w: &mut dyn Write,
) -> Result<BackupSummary, StoreError> {
    use std::io::{Seek, SeekFrom};
    let io = |e: std::io::Error| StoreError::Sled(format!("writing a backup: {e}"));
    // No archive run between the records and the frames: each instruction once.
    let _paused = store.archive_paused();
    let records = {
        let mut b = BufWriter::new(&mut *body);
        let n = store.for_each_record(|k, v| {
            let json = if v.is_empty() {
                None
            } else {
                super::record_as_json(k, v)
            };
            let rec = match json {
                Some(j) => Line {
                    k: b64().encode(k),
                    v: Some(j),
                    b: None,
                    secret_for_auth: None,
                    archive: None,
                },
                None => Line {
                    k: b64().encode(k),
                    v: None,
                    b: Some(b64().encode(v)),
                    secret_for_auth: None,
                    archive: None,
                },
            };
            rec.write_to(&mut b)
        })?;
        b.flush().map_err(io)?;
        n
    };
    // The archive's frames as they are on disk (already compressed, checked on restore).
    let archive_frames = {
        let mut b = BufWriter::new(&mut *body);
        let n = store.for_each_archive_frame(|month, frame| {
            Line {
                k: String::new(),
                v: None,
                b: Some(b64().encode(frame)),
                secret_for_auth: None,
                archive: Some(month.to_string()),
            }
            .write_to(&mut b)
        })?;
        b.flush().map_err(io)?;
        n
    };
    let secrets = if include_secrets {
        store.dump_secrets()?
    } else {
        Vec::new()
    };
    let header = Header {
        format: FORMAT.into(),
        schema: SCHEMA_VERSION,
        created: chrono::Utc::now().to_rfc3339(),
        secrets: include_secrets,
        records,
        archive_frames,
    };
    header.write_to(w).map_err(io)?;
    body.seek(SeekFrom::Start(0)).map_err(io)?;
    std::io::copy(body, w).map_err(io)?;
    for (id, s) in &secrets {
        let rec = Line {
            k: String::new(),
            v: Some(Value::String(s.expose().to_string())),
            b: None,
            secret_for_auth: Some(*id),
            archive: None,
        };
        rec.write_to(w).map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(BackupSummary {
        records,
        secrets: secrets.len(),
        archive_frames,
    })
}

/// Replaces the store's content with a backup read from `r`. Refuses a non-empty store unless
/// `force`. Nothing is changed unless the whole backup reads.
pub fn restore(store: &Store, r: impl BufRead, force: bool) -> Result<BackupSummary, StoreError> {
    let bad = |m: String| StoreError::BadBackup(Msg::same(format!("the backup: {m}")));
    let mut lines = r.lines();
    let first = lines
        .next()
        .ok_or_else(|| bad("empty file".into()))?
        .map_err(|e| bad(e.to_string()))?;
    let header: Header =
        serde_json::from_str(&first).map_err(|_| bad("not a shukka backup (no header)".into()))?;
    if header.format != FORMAT {
        return Err(bad("not a shukka backup".into()));
    }
    if header.schema > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: header.schema,
        });
    }
    let c = store.counts();
    if !force && c.instructions() + c.intake_errors + c.archived > 0 {
        return Err(StoreError::BadBackup(Msg::same(
            "this store already holds instructions; restore into an empty data directory, or pass --force to replace everything",
        )));
    }
    let mut entries = Vec::new();
    let mut secrets = Vec::new();
    let mut frames = Vec::new();
    for (n, l) in lines.enumerate() {
        let l = l.map_err(|e| bad(e.to_string()))?;
        if l.trim().is_empty() {
            continue;
        }
        let rec: Line =
            serde_json::from_str(&l).map_err(|e| bad(format!("line {}: {e}", n + 2)))?;
        if let Some(id) = rec.secret_for_auth {
            let s = rec.v.as_ref().and_then(Value::as_str).unwrap_or_default();
            secrets.push((id, Secret::new(s)));
            continue;
        }
        if let Some(month) = rec.archive {
            let bytes = b64()
                .decode(rec.b.unwrap_or_default())
                .map_err(|e| bad(format!("line {}: {e}", n + 2)))?;
            frames.push((month, bytes));
            continue;
        }
        let k = b64()
            .decode(&rec.k)
            .map_err(|e| bad(format!("line {}: {e}", n + 2)))?;
        let v = match (rec.v, rec.b) {
            (Some(j), _) => serde_json::to_vec(&j).map_err(|e| bad(e.to_string()))?,
            (None, Some(b)) => b64()
                .decode(b)
                .map_err(|e| bad(format!("line {}: {e}", n + 2)))?,
            (None, None) => Vec::new(),
        };
        entries.push((k, v));
    }
    if frames.len() != header.archive_frames {
        return Err(bad(format!(
            "truncated: {} of {} archive frames",
            frames.len(),
            header.archive_frames
        )));
    }
    if entries.len() != header.records {
        return Err(bad(format!(
            "truncated: {} of {} records",
            entries.len(),
            header.records
        )));
    }
    // Auth records say whether their secret is present; without the secret, the operator must
    // enter it again (and test the connection).
    for (k, v) in entries.iter_mut() {
        if k.first() == Some(&AUTH)
            && let Ok(mut a) = serde_json::from_slice::<ApiAuth>(v)
        {
            let has = secrets.iter().any(|(id, _)| *id == a.id);
            if !has {
                a.has_secret = false;
                a.last_test = None;
                if let Ok(bytes) = serde_json::to_vec(&a) {
                    *v = bytes;
                }
            }
        }
    }
    let summary = BackupSummary {
        records: entries.len(),
        secrets: secrets.len(),
        archive_frames: frames.len(),
    };
    // The archive is written aside and read back first: a backup whose archive does not read
    // changes nothing.
    let staged = store.stage_archive(frames)?;
    store.replace_all(entries, secrets)?;
    store.swap_archive(&staged)?;
    if header.schema < SCHEMA_VERSION {
        store.migrate(header.schema)?;
        store.rebuild()?;
    }
    Ok(summary)
}

/// One JSON line.
trait WriteLine {
    fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()>;
}

impl<T: Serialize> WriteLine for T {
    fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *w, self)?;
        w.write_all(b"\n")
    }
}
