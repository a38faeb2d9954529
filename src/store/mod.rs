//! The store: an adapter over sled 0.34. Nothing outside this module touches sled.
//!
//! All data lives in one tree with prefixed keys (see `keys.rs`); every write goes through a
//! [`Txn`] that becomes one atomic sled batch, so a page of orders, its cursor and its run-log
//! line land together or not at all. Writes are serialized by a lock (one writer), which is what
//! makes the compare-and-swap on instruction versions sound. The client secret lives in a
//! separate tree and is never returned by list operations.

pub mod archive;
pub mod backup;
pub mod codec;
pub mod compact;
mod keys;
mod legacy;
pub mod sealed;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use crate::domain::*;
use crate::msg;
use crate::msg::Msg;
use crate::robots::converter::Converter;
use crate::robots::linkage::LinkageRobot;
use crate::robots::processing::ProcessingRobot;
use crate::secret::Secret;
use keys::*;

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data directory {0} is in use by another shukka process; work through that process (or stop it) and try again"
    )]
    Locked(PathBuf),
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store in {path} cannot be opened: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error(
        "the store in {dir} is damaged and cannot be opened ({detail}). Keep that directory for diagnosis, and restore your latest backup into a new one: shukka --data-dir NEW_DIR restore FILE"
    )]
    Damaged { dir: PathBuf, detail: String },
    #[error(
        "the store was written by a newer shukka (schema {found}, this build knows {SCHEMA_VERSION}); upgrade shukka"
    )]
    NewerSchema { found: u64 },
    #[error("storage error: {0}")]
    Sled(String),
    #[error("stored record {key} is unreadable: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("{0}")]
    Conflict(Msg),
    #[error("{0}")]
    NotFound(Msg),
    /// A record could not be encoded (a bug, never the operator's doing).
    #[error("cannot encode {0}")]
    Encode(String),
    /// A backup file that cannot be restored, and why.
    #[error("{0}")]
    BadBackup(Msg),
    #[error(transparent)]
    Sealed(#[from] sealed::SealError),
    #[error(
        "the index snapshot {path} could not be read ({detail}); it has been removed: restart shukka, and the next start rebuilds the index from the records"
    )]
    IndexUnreadable { path: PathBuf, detail: String },
    #[error("cannot make {path} owner-only: {source}")]
    Permissions {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One change, as published to subscribers (console, server clients). Each carries what a
/// console shows of it, so that nobody re-reads what they were just told.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub enum Change {
    Instruction(Box<InstructionSummary>),
    /// An intake error was recorded or refreshed (`Some`), or resolved (`None`).
    IntakeError {
        id: u64,
        error: Option<Box<IntakeErrorSummary>>,
    },
    Run(Box<RunLogEntry>),
    Audit(Box<AuditEntry>),
    /// Robots, setup records or configuration changed.
    Config,
    /// The product master changed; it now holds this many SKUs.
    Products {
        count: usize,
    },
    /// Changes were missed (a slow or reconnected client): reload everything.
    Reload,
}

/// The changes of one committed transaction, and the queue sizes after it.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct StoreEvent {
    pub changes: Vec<Change>,
    /// The queue sizes once the transaction is committed (absent on a reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
}

/// Sizes of the queues.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub by_status: BTreeMap<Status, u64>,
    pub intake_errors: u64,
    /// Shipped instructions futureshop refused (実績連携エラー).
    pub upstream_errors: u64,
    /// SKUs in the product master.
    #[serde(default)]
    pub products: u64,
    /// Instructions moved to the archive (not in any queue).
    #[serde(default)]
    pub archived: u64,
}

impl Counts {
    pub fn get(&self, s: Status) -> u64 {
        self.by_status.get(&s).copied().unwrap_or(0)
    }
    pub fn instructions(&self) -> u64 {
        self.by_status.values().sum()
    }
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// Held while the store is open: see [`lock_dir`].
    _lock: std::fs::File,
    path: PathBuf,
    db: sled::Db,
    data: sled::Tree,
    secrets: sled::Tree,
    /// The key secrets are sealed with, loaded (or created) on first use.
    seal: Mutex<Option<Arc<sealed::SealKey>>>,
    write: Mutex<Counters>,
    counts: RwLock<Counts>,
    index: Arc<IndexCell>,
    events: broadcast::Sender<Arc<StoreEvent>>,
    /// How the indexes were made at open.
    opened: Mutex<IndexSource>,
    /// An index snapshot is on disk: commits then mark what they change ([`DIRTY`]). Without
    /// one (a new store's first sync) there is nothing to bring up to date, and no marks.
    /// Changed under the write lock only.
    snapshot_on_disk: std::sync::atomic::AtomicBool,
    archive: archive::Archive,
    /// Tests: how long the background read of the indexes waits before it starts.
    index_delay: std::time::Duration,
}

/// How a store's indexes were made when it was opened (for logs, the bench and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexSource {
    /// From every record (no usable snapshot).
    #[default]
    Rebuilt,
    /// From the snapshot, with this many instructions changed since read again.
    Snapshot { replayed: usize },
}

type OrderRef = (u64, String);

/// Order numbers come from the shop's own futureshop account, not from strangers, so a fast
/// non-keyed hash is safe here (SipHash was ~5% of the index rebuild in a profile).
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Secondary indexes, kept in memory and rebuilt from the records at open: each is a pure
/// function of the stored instructions and intake errors, and writing them to sled would cost a
/// key per order (sled's cost is per key). A clean shutdown saves them in a snapshot file so that
/// the next open skips the rebuild.
#[derive(Clone, Default)]
struct Index {
    /// (API認証設定, orderNo) → instruction id: one instruction per order.
    by_order: FastMap<OrderRef, u64>,
    by_status: [std::collections::BTreeSet<u64>; 6],
    /// (API認証設定, orderNo) → intake error id.
    intake_by_order: FastMap<OrderRef, u64>,
    /// Every summary's stored JSON, so a console's first load is a concatenation (no scan, no
    /// re-encoding). About 400 bytes per instruction.
    summary_json: std::collections::BTreeMap<u64, Box<str>>,
}

/// The indexes, which a clean start reads from the snapshot in the background: the queue
/// counts (in the snapshot's head) are answered at once, and whatever needs the indexes waits
/// here until they are in.
struct IndexCell {
    index: RwLock<Index>,
    state: Mutex<Readiness>,
    changed: std::sync::Condvar,
}

enum Readiness {
    Ready,
    Loading,
    /// The snapshot's body could not be decoded (it passed its checksum: a bug, not damage).
    Failed {
        path: PathBuf,
        detail: String,
    },
}

impl IndexCell {
    fn new(state: Readiness) -> IndexCell {
        IndexCell {
            index: RwLock::new(Index::default()),
            state: Mutex::new(state),
            changed: std::sync::Condvar::new(),
        }
    }

    fn wait(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match &*state {
                Readiness::Ready => return Ok(()),
                Readiness::Failed { path, detail } => {
                    return Err(StoreError::IndexUnreadable {
                        path: path.clone(),
                        detail: detail.clone(),
                    });
                }
                Readiness::Loading => {
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// The indexes, once they are in.
    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Index>> {
        self.wait()?;
        Ok(self.index.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, Index>> {
        self.wait()?;
        Ok(self.index.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the indexes (at open, from the snapshot or the records).
    fn set(&self, index: Index) {
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        self.finish(Readiness::Ready);
    }

    fn finish(&self, to: Readiness) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.changed.notify_all();
    }

    fn is_loading(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(|e| e.into_inner()),
            Readiness::Loading
        )
    }
}

/// Index changes of one transaction, applied after its batch is written.
#[derive(Default)]
struct IndexDelta {
    orders: HashMap<OrderRef, u64>,
    status: Vec<(u64, Option<Status>, Status)>,
    intake: HashMap<OrderRef, Option<u64>>,
    summaries: Vec<(u64, Box<str>)>,
    /// Moved to the archive: out of every index.
    removed: Vec<(u64, Status, OrderRef)>,
}

/// Sequence counters, kept in memory under the write lock and persisted in each batch.
#[derive(Default)]
struct Counters {
    next: HashMap<&'static str, u64>,
    /// Bumped by every committed write: an index snapshot is valid only for the generation it
    /// was taken at.
    generation: u64,
}

pub const SEQ_INSTRUCTION: &str = "instruction";
pub const SEQ_INTAKE: &str = "intake";
pub const SEQ_AUDIT: &str = "audit";
pub const SEQ_RUN: &str = "run";
pub const SEQ_ROBOT: &str = "robot";
pub const SEQ_SHIP_FROM: &str = "ship_from";
pub const SEQ_AUTH: &str = "auth";
pub const SEQ_ALERT: &str = "alert";
pub const SEQ_BUNDLE: &str = "bundle";
pub const SEQ_ARCHIVE: &str = "archive";
const SEQS: [(&str, u64); 10] = [
    (SEQ_INSTRUCTION, 1),
    (SEQ_INTAKE, 1),
    (SEQ_AUDIT, 1),
    (SEQ_RUN, 1),
    // User-created robots get IDs after the standard converter's.
    (SEQ_ROBOT, 18026),
    (SEQ_SHIP_FROM, 1),
    (SEQ_AUTH, 1),
    (SEQ_ALERT, 1),
    (SEQ_BUNDLE, 1),
    (SEQ_ARCHIVE, 1),
];

/// Configuration keys.
pub const CFG_RULE_ORDER: &str = "rule_order";
pub const CFG_NO_PREPAYMENT: &str = "no_prepayment";
pub const CFG_ENGINE: &str = "engine";

/// Creates `dir` (and parents) owner-only; an existing one that others may read is narrowed.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |source| StoreError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let meta = std::fs::metadata(dir).map_err(err)?;
    // 0710 is what `serve --group` sets (members may reach the socket): kept. Anything wider
    // is narrowed to owner-only.
    if meta.permissions().mode() & 0o067 != 0 && meta.uid_is_ours() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Takes the data directory's lock file for as long as the returned file lives. sled locks its
/// own files too, but only inside `open`; this lock is taken first, so that [`Store::open`] may
/// tidy sled's directory knowing that no other process has it open.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("store.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| StoreError::Open {
            path: path.clone(),
            detail: e.to_string(),
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Open {
            path,
            detail: format!("cannot lock: {e}"),
        }),
    }
}

/// sled 0.34 writes a snapshot of its page table as `snap.<lsn>.generating`, syncs it and
/// renames it to `snap.<lsn>`; but when it opens, it reads whichever `snap.*` file sorts last,
/// `.generating` ones included. A process killed while writing one (sled also writes one
/// during every open that recovers) leaves a half-written file that sorts last, and every later
/// open failed with "Read corrupted data". Such a file was never complete, so sled never relied
/// on it: removing it is exactly the state of a kill a moment before the write began, which sled
/// recovers from (the previous complete snapshot plus the log). Called under [`lock_dir`].
fn remove_unfinished_sled_snapshots(sled_dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(sled_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(StoreError::Open {
                path: sled_dir.to_path_buf(),
                detail: e.to_string(),
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!(file = %name, "removing a sled snapshot left unfinished by an interrupted process");
            std::fs::remove_file(entry.path()).map_err(|e| StoreError::Open {
                path: entry.path(),
                detail: format!("cannot remove an unfinished snapshot: {e}"),
            })?;
        }
    }
    Ok(())
}

/// A new (or truncated) file readable and writable by the owner only.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// From now on, files and directories this process creates are owner-only (umask 077 added to
/// the current one). Called before sled creates anything, and kept: sled writes new snapshot
/// and blob files while it runs.
pub fn restrict_umask() {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(0o077));
    umask(old | Mode::from_bits_truncate(0o077));
}

/// Makes what shukka keeps in `dir` owner-only: `store/` and everything under it (directories
/// 0700, files 0600), and every regular file directly in `dir` (the socket keeps its own mode).
/// Run on every open, so a store written by an older build, or by sled with a wide umask, is
/// mended.
pub fn enforce_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fn set(path: &Path, mode: u32) -> Result<()> {
        let meta = std::fs::symlink_metadata(path).map_err(|source| StoreError::Permissions {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.file_type().is_symlink() || !meta.uid_is_ours() {
            return Ok(());
        }
        if meta.permissions().mode() & 0o7777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
                |source| StoreError::Permissions {
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
        Ok(())
    }
    fn walk(path: &Path) -> Result<()> {
        set(path, 0o700)?;
        let entries = std::fs::read_dir(path).map_err(|source| StoreError::Permissions {
            path: path.to_path_buf(),
            source,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&p)?,
                Ok(t) if t.is_file() => set(&p, 0o600)?,
                _ => {}
            }
        }
        Ok(())
    }
    let store = dir.join("store");
    if store.is_dir() {
        walk(&store)?;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                set(&entry.path(), 0o600)?;
            }
        }
    }
    Ok(())
}

trait UidExt {
    fn uid_is_ours(&self) -> bool;
}

impl UidExt for std::fs::Metadata {
    fn uid_is_ours(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        self.uid() == nix::unistd::geteuid().as_raw()
    }
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1024);
    serde_json::to_writer(&mut out, v).map_err(|e| StoreError::Encode(format!("a record: {e}")))?;
    Ok(out)
}

/// Instruction records: a tag byte, then the record. Schema 3 writes [`NAMED`]: lz4-compressed
/// MessagePack with field names, so that a field added later reads as its default. Schema 2's
/// [`PACKED`] postcard records, and JSON records of earlier builds (first byte `{`), are still
/// read; the migration to schema 3 rewrites them.
const PACKED: u8 = 1;
const NAMED: u8 = 2;

/// postcard, lz4-compressed: the binary form of instruction records and the index snapshot.
fn pack<T: Serialize>(v: &T) -> std::result::Result<Vec<u8>, String> {
    let bin = postcard::to_stdvec(v).map_err(|e| e.to_string())?;
    Ok(lz4_flex::compress_prepend_size(&bin))
}

fn unpack<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    let bin = lz4_flex::decompress_size_prepended(bytes).map_err(|e| e.to_string())?;
    postcard::from_bytes(&bin).map_err(|e| e.to_string())
}

/// Schema 4 writes tag [`codec::Dict::Instruction`]: the same MessagePack, zstd with a
/// dictionary.
fn enc_instruction(i: &Instruction) -> Result<Vec<u8>> {
    let named = rmp_serde::to_vec_named(i)
        .map_err(|e| StoreError::Encode(format!("an instruction: {e}")))?;
    let packed = codec::compress(codec::Dict::Instruction, &named)
        .map_err(|e| StoreError::Encode(format!("an instruction: {e}")))?;
    let mut out = Vec::with_capacity(packed.len() + 1);
    out.push(codec::Dict::Instruction.tag());
    out.extend_from_slice(&packed);
    Ok(out)
}

fn dec_instruction(key: &[u8], bytes: &[u8]) -> Result<Instruction> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).chars().take(40).collect(),
        detail,
    };
    match bytes.first() {
        Some(&t) if t == codec::Dict::Instruction.tag() => {
            let bin = codec::decompress(codec::Dict::Instruction, &bytes[1..]).map_err(corrupt)?;
            rmp_serde::from_slice(&bin).map_err(|e| corrupt(e.to_string()))
        }
        Some(&NAMED) => {
            let bin = lz4_flex::decompress_size_prepended(&bytes[1..])
                .map_err(|e| corrupt(e.to_string()))?;
            rmp_serde::from_slice(&bin).map_err(|e| corrupt(e.to_string()))
        }
        Some(&PACKED) => unpack::<legacy::InstructionV1>(&bytes[1..])
            .map(Instruction::from)
            .map_err(corrupt),
        _ => dec(key, bytes),
    }
}

/// A summary as stored: its JSON, compressed with the summary dictionary behind a tag byte.
fn enc_summary(json: &[u8]) -> Result<Vec<u8>> {
    let z = codec::compress(codec::Dict::Summary, json)
        .map_err(|e| StoreError::Encode(format!("a summary: {e}")))?;
    let mut out = Vec::with_capacity(z.len() + 1);
    out.push(codec::Dict::Summary.tag());
    out.extend_from_slice(&z);
    Ok(out)
}

/// A stored summary, whole.
fn dec_summary(key: &[u8], bytes: &[u8]) -> Result<InstructionSummary> {
    dec(key, &summary_text(key, bytes)?)
}

/// A stored summary's JSON text: decompressed, or as it is when it was written as JSON (older
/// schemas, restored backups).
fn summary_text<'a>(key: &[u8], bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    match bytes.first() {
        Some(&t) if t == codec::Dict::Summary.tag() => {
            codec::decompress(codec::Dict::Summary, &bytes[1..])
                .map(std::borrow::Cow::Owned)
                .map_err(|detail| StoreError::Corrupt {
                    key: String::from_utf8_lossy(key).chars().take(40).collect(),
                    detail,
                })
        }
        _ => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// A stored record as JSON, for backups that do not depend on the record encoding: packed
/// instruction records are unpacked, JSON records are parsed, anything else is `None`.
pub(crate) fn record_as_json(key: &[u8], bytes: &[u8]) -> Option<serde_json::Value> {
    if key.first() == Some(&INSTRUCTION)
        && matches!(bytes.first(), Some(&PACKED) | Some(&NAMED) | Some(&3))
    {
        let i = dec_instruction(key, bytes).ok()?;
        return serde_json::to_value(&i).ok();
    }
    if key.first() == Some(&SUMMARY) {
        return serde_json::from_slice(&summary_text(key, bytes).ok()?).ok();
    }
    serde_json::from_slice(bytes).ok()
}

fn dec_borrowed<'a, T: serde::Deserialize<'a>>(key: &[u8], bytes: &'a [u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).chars().take(40).collect(),
        detail: e.to_string(),
    })
}

fn dec<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).chars().take(40).collect(),
        detail: e.to_string(),
    })
}

/// Opens the sled database of the store in `dir` (whose lock the caller holds).
fn open_sled(dir: &Path, path: &Path) -> Result<sled::Db> {
    let open = || {
        sled::Config::new()
            .path(path)
            .mode(sled::Mode::LowSpace)
            .cache_capacity(256 * 1024 * 1024)
            .flush_every_ms(Some(200))
            .open()
    };
    let is_lock = |e: &sled::Error| {
        matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock
            || io.to_string().contains("lock"))
    };
    // We hold the directory's lock, so sled's own lock can only be held by a handle that is
    // closing (sled's background writes keep its file open for a moment after the last
    // `Db` is dropped), or by a program other than shukka: wait a little before refusing.
    let mut attempt = open();
    for _ in 0..50 {
        match &attempt {
            Err(e) if is_lock(e) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                attempt = open();
            }
            _ => break,
        }
    }
    attempt.map_err(|e| match &e {
        e if is_lock(e) => StoreError::Locked(dir.to_path_buf()),
        sled::Error::Corruption { .. } => StoreError::Damaged {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        },
        _ => StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    })
}

/// Compacts the store in `dir` if it has grown [`compact::GROWTH`]× since its last
/// compaction and is at least `min_size` bytes — after `shukka serve` stops, when nobody waits
/// for it (never on the way up: a restart after a crash must be quick). `None` when it was not
/// due, or when another process has the store open.
pub fn compact_if_due(dir: &Path, min_size: u64) -> Result<Option<compact::Compacted>> {
    match compact_under_lock(dir, Some(min_size)) {
        Err(StoreError::Locked(_)) => Ok(None),
        other => other,
    }
}

/// Rewrites the store in `dir` into a fresh directory and swaps it in (see [`compact`]): for
/// `shukka compact`, when no shukka has the store open.
pub fn compact_store(dir: &Path) -> Result<compact::Compacted> {
    compact_under_lock(dir, None)?.ok_or_else(|| StoreError::Sled("compaction not done".into()))
}

/// Takes the store's lock and compacts — always, or (`due_from`) only when due for stores of
/// at least that size.
fn compact_under_lock(dir: &Path, due_from: Option<u64>) -> Result<Option<compact::Compacted>> {
    restrict_umask();
    let _lock = lock_dir(dir)?;
    compact::recover(dir)?;
    if due_from.is_some_and(|min| !compact::due(dir, min)) {
        return Ok(None);
    }
    let path = dir.join("store");
    remove_unfinished_sled_snapshots(&path)?;
    let db = open_sled(dir, &path)?;
    let done = compact::compact_locked(dir, db);
    if done.is_err() {
        compact::recover(dir)?;
    }
    enforce_private(dir)?;
    done.map(Some)
}

impl Store {
    /// Opens (creating if needed) the store in `dir`. The directory is created owner-only.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, std::time::Duration::ZERO)
    }

    /// [`Store::open`], with the background read of the indexes held back by `index_delay`
    /// (for tests of what a start does before the indexes are in).
    #[doc(hidden)]
    pub fn open_with(dir: &Path, index_delay: std::time::Duration) -> Result<Store> {
        restrict_umask();
        create_private_dir(dir)?;
        let lock = lock_dir(dir)?;
        let path = dir.join("store");
        compact::recover(dir)?;
        remove_unfinished_sled_snapshots(&path)?;
        enforce_private(dir)?;
        let t0 = std::time::Instant::now();
        let db = open_sled(dir, &path)?;
        tracing::debug!(ms = t0.elapsed().as_millis(), "sled opened");
        let data = db.open_tree("data")?;
        let secrets = db.open_tree("secrets")?;
        let (events, _) = broadcast::channel(4096);
        let store = Store {
            inner: Arc::new(Inner {
                _lock: lock,
                path: dir.to_path_buf(),
                db,
                data,
                secrets,
                seal: Mutex::new(None),
                write: Mutex::new(Counters::default()),
                counts: RwLock::new(Counts::default()),
                index: Arc::new(IndexCell::new(Readiness::Ready)),
                events,
                opened: Mutex::new(IndexSource::Rebuilt),
                snapshot_on_disk: std::sync::atomic::AtomicBool::new(false),
                archive: archive::Archive::new(dir),
                index_delay,
            }),
        };
        store.init()?;
        store.archive_recover()?;
        store.seal_plain_secrets()?;
        // sled created its files while we opened it; make sure of them too.
        enforce_private(dir)?;
        Ok(store)
    }

    /// The sealing key; created on first use when `create`.
    fn seal_key(&self, create: bool) -> Result<Option<Arc<sealed::SealKey>>> {
        let mut slot = self.inner.seal.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let key = if create {
                Some(sealed::load_or_create(&self.inner.path)?)
            } else {
                sealed::load(&self.inner.path)?
            };
            *slot = key.map(Arc::new);
        }
        Ok(slot.clone())
    }

    fn seal_value(&self, tree_key: &[u8], plain: &Secret) -> Result<Vec<u8>> {
        let key = self.seal_key(true)?.ok_or_else(|| {
            StoreError::Sealed(sealed::SealError::KeyFile {
                path: sealed::key_path(&self.inner.path),
                detail: "not created".into(),
            })
        })?;
        Ok(key.seal(tree_key, plain.expose().as_bytes()))
    }

    fn unseal_value(&self, tree_key: &[u8], stored: &[u8]) -> Result<Secret> {
        let fail = || {
            StoreError::Sealed(sealed::SealError::Open {
                path: sealed::key_path(&self.inner.path),
            })
        };
        if !sealed::is_sealed(stored) {
            // Not sealed yet (written by an older build, sealed on the next open).
            return Ok(Secret::new(String::from_utf8_lossy(stored).into_owned()));
        }
        let key = self.seal_key(false)?.ok_or_else(fail)?;
        let plain = key.open(tree_key, stored).ok_or_else(fail)?;
        Ok(Secret::new(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Secrets stored in the clear by an older build are sealed.
    fn seal_plain_secrets(&self) -> Result<()> {
        let plain: Vec<(sled::IVec, sled::IVec)> = self
            .inner
            .secrets
            .iter()
            .filter_map(|kv| kv.ok())
            .filter(|(_, v)| !sealed::is_sealed(v))
            .collect();
        for (k, v) in plain {
            let sealed = self.seal_value(&k, &Secret::new(String::from_utf8_lossy(&v)))?;
            self.inner.secrets.insert(k, sealed)?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.inner.path
    }

    fn init(&self) -> Result<()> {
        let found = self.meta_u64("schema")?;
        match found {
            Some(v) if v > SCHEMA_VERSION => return Err(StoreError::NewerSchema { found: v }),
            Some(v) if v < SCHEMA_VERSION => self.migrate(v)?,
            Some(_) => {}
            None => self.seed()?,
        }
        // Counters: stored value, never below what the keys show.
        let generation = self.meta_u64("generation")?.unwrap_or(0);
        {
            let mut c = self.lock();
            for (name, start) in SEQS {
                let stored = self.meta_u64(&format!("next/{name}"))?.unwrap_or(start);
                c.next.insert(name, stored.max(start));
            }
            c.generation = generation;
        }
        let t0 = std::time::Instant::now();
        let source = match self.load_snapshot(generation) {
            Some(replayed) => {
                self.set_snapshot_on_disk(true);
                IndexSource::Snapshot { replayed }
            }
            None => {
                // A file that could not be used must not be used later either: the marks of
                // the writes to come would not cover what it lacks.
                self.drop_snapshot();
                self.recount()?;
                IndexSource::Rebuilt
            }
        };
        tracing::debug!(?source, ms = t0.elapsed().as_millis(), "store indexes");
        *self.inner.opened.lock().unwrap_or_else(|e| e.into_inner()) = source;
        self.mark_interrupted_runs()?;
        Ok(())
    }

    fn snapshot_path(&self) -> PathBuf {
        self.inner.path.join("index.snapshot")
    }

    /// Uses the index snapshot. Taken at the store's current generation, it is the index: its
    /// head gives the counts at once and its body is read in the background (whatever needs
    /// the indexes waits for it, see [`IndexCell`]). Taken earlier (the process was killed
    /// after writing more), the instructions changed since — every commit marks them
    /// ([`DIRTY`], in its own batch) — are read again on top of it, and the intake errors and
    /// products are counted anew (few). Anything else — no file, a snapshot from the future or
    /// another schema, a damaged file — means a rebuild from the records.
    fn load_snapshot(&self, generation: u64) -> Option<usize> {
        let path = self.snapshot_path();
        let bytes = std::fs::read(&path).ok()?;
        let (head, body_at) = snapshot_head(&bytes)?;
        if head.generation > generation || head.schema != SCHEMA_VERSION {
            return None;
        }
        let mut counts = head.counts.into_owned();
        if head.generation == generation {
            // The archive's count is the record's (a snapshot may have been taken mid-run).
            self.load_archived_count(&mut counts).ok()?;
            self.load_index_in_background(bytes, body_at, path).ok()?;
            *self.inner.counts.write().unwrap_or_else(|e| e.into_inner()) = counts;
            return Some(0);
        }
        let mut index = decode_index(&bytes[body_at..]).ok()?;
        let replayed = self.replay_dirty(&mut counts, &mut index).ok()?;
        *self.inner.counts.write().unwrap_or_else(|e| e.into_inner()) = counts;
        self.inner.index.set(index);
        Some(replayed)
    }

    /// Decodes the snapshot's body (checked whole by [`snapshot_head`]) on a thread of its own.
    fn load_index_in_background(
        &self,
        bytes: Vec<u8>,
        body_at: usize,
        path: PathBuf,
    ) -> std::io::Result<()> {
        let cell = self.inner.index.clone();
        cell.finish(Readiness::Loading);
        let delay = self.inner.index_delay;
        let spawned = std::thread::Builder::new()
            .name("shukka-index".into())
            .spawn(move || {
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                let t0 = std::time::Instant::now();
                match decode_index(&bytes[body_at..]) {
                    Ok(index) => {
                        drop(bytes);
                        cell.set(index);
                        tracing::debug!(ms = t0.elapsed().as_millis(), "indexes read");
                    }
                    Err(detail) => {
                        tracing::error!(%detail, "the index snapshot passed its checksum but cannot be decoded; removed");
                        let _ = std::fs::remove_file(&path);
                        cell.finish(Readiness::Failed { path, detail });
                    }
                }
            });
        if let Err(e) = spawned {
            // Rebuilt from the records instead (which makes the indexes ready).
            self.inner.index.finish(Readiness::Ready);
            return Err(e);
        }
        Ok(())
    }

    /// The indexes are still being read from the snapshot (a clean start): whatever needs them
    /// waits; the queue counts do not.
    pub fn index_loading(&self) -> bool {
        self.inner.index.is_loading()
    }

    /// How the indexes were made when the store was opened.
    pub fn index_source(&self) -> IndexSource {
        *self.inner.opened.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings a snapshot's index up to the records: every instruction marked [`DIRTY`] is read
    /// again; intake errors and products are recounted.
    fn replay_dirty(&self, counts: &mut Counts, index: &mut Index) -> Result<usize> {
        let mut replayed = 0;
        #[derive(serde::Deserialize)]
        struct Indexed {
            auth_id: u64,
            order_no: String,
            status: Status,
            upstream_error: bool,
        }
        let parse = |key: &[u8], json: &[u8]| dec::<Indexed>(key, json);
        for k in self.inner.data.scan_prefix([DIRTY]).keys() {
            let k = k?;
            let Some(id) = be_u64(&k[1..]) else {
                continue;
            };
            replayed += 1;
            // Out with what the snapshot knew of it …
            if let Some(old) = index.summary_json.remove(&id) {
                let o = parse(&k, old.as_bytes())?;
                index.by_status[usize::from(o.status.index())].remove(&id);
                // Gone for good when it was archived (no summary below).
                index.by_order.remove(&(o.auth_id, o.order_no.clone()));
                let e = counts.by_status.entry(o.status).or_default();
                *e = e.saturating_sub(1);
                if o.upstream_error {
                    counts.upstream_errors = counts.upstream_errors.saturating_sub(1);
                }
            }
            // … in with the record as it is.
            let key = id_key(SUMMARY, id);
            let Some(v) = self.inner.data.get(&key)? else {
                continue;
            };
            let text = summary_text(&key, &v)?;
            let n = parse(&key, &text)?;
            index.by_status[usize::from(n.status.index())].insert(id);
            *counts.by_status.entry(n.status).or_default() += 1;
            if n.upstream_error {
                counts.upstream_errors += 1;
            }
            index.by_order.insert((n.auth_id, n.order_no), id);
            index
                .summary_json
                .insert(id, String::from_utf8_lossy(&text).into());
        }
        self.count_intake_and_products(counts, index)?;
        Ok(replayed)
    }

    /// Intake errors and products, counted from their records (few: read whole at every open).
    fn count_intake_and_products(&self, counts: &mut Counts, index: &mut Index) -> Result<()> {
        self.load_archived_count(counts)?;
        counts.products = self.inner.data.scan_prefix([PRODUCT]).keys().count() as u64;
        counts.intake_errors = 0;
        index.intake_by_order.clear();
        for kv in self.inner.data.scan_prefix([INTAKE]) {
            let (k, v) = kv?;
            let e: IntakeError = dec(&k, &v)?;
            counts.intake_errors += 1;
            if !e.order_no.is_empty() {
                index.intake_by_order.insert((e.auth_id, e.order_no), e.id);
            }
        }
        Ok(())
    }

    /// Instructions changed since the last index snapshot.
    pub fn dirty_count(&self) -> usize {
        self.inner.data.scan_prefix([DIRTY]).keys().count()
    }

    /// Saves the indexes for a fast next open (on a clean shutdown, and every few minutes while
    /// the scheduler runs). Written to a temporary file and renamed, so a crash leaves either
    /// the old snapshot or the new one.
    pub fn save_snapshot(&self) -> Result<()> {
        let counters = self.lock();
        self.inner.db.flush()?;
        let index = self.inner.index.read()?;
        let counts = self.counts();
        let body =
            encode_index(&index).map_err(|e| StoreError::Encode(format!("a snapshot: {e}")))?;
        drop(index);
        let head = SnapshotHead {
            schema: SCHEMA_VERSION,
            generation: counters.generation,
            counts: Cow::Borrowed(&counts),
            body_len: body.len() as u64,
            body_crc: crc32fast::hash(&body),
        };
        let head = pack(&head).map_err(|e| StoreError::Encode(format!("a snapshot: {e}")))?;
        let mut packed = Vec::with_capacity(SNAPSHOT_MAGIC.len() + 4 + head.len() + body.len());
        packed.extend_from_slice(SNAPSHOT_MAGIC);
        packed.extend_from_slice(&(head.len() as u32).to_le_bytes());
        packed.extend_from_slice(&head);
        packed.extend_from_slice(&body);
        drop(body);
        let tmp = self.inner.path.join("index.snapshot.tmp");
        let io = |e: std::io::Error| StoreError::Sled(format!("writing the index snapshot: {e}"));
        {
            use std::io::Write;
            let mut f = create_private_file(&tmp).map_err(io)?;
            f.write_all(&packed).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, self.snapshot_path()).map_err(io)?;
        self.set_snapshot_on_disk(true);
        // The snapshot holds them now (a crash before this only means reading them again).
        let mut batch = sled::Batch::default();
        for k in self.inner.data.scan_prefix([DIRTY]).keys() {
            batch.remove(k?);
        }
        self.inner.data.apply_batch(batch)?;
        self.inner.db.flush()?;
        drop(counters);
        Ok(())
    }

    fn drop_snapshot(&self) {
        let _ = std::fs::remove_file(self.snapshot_path());
        self.set_snapshot_on_disk(false);
    }

    fn set_snapshot_on_disk(&self, on: bool) {
        self.inner
            .snapshot_on_disk
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// The scheduler's question: is a snapshot missing, or behind the records?
    pub fn snapshot_due(&self) -> bool {
        !self
            .inner
            .snapshot_on_disk
            .load(std::sync::atomic::Ordering::SeqCst)
            || self.inner.data.scan_prefix([DIRTY]).keys().next().is_some()
    }

    /// Schema upgrades go here, one step at a time.
    pub(crate) fn migrate(&self, from: u64) -> Result<()> {
        self.drop_snapshot();
        let mut v = from;
        while v < SCHEMA_VERSION {
            if v == 1 {
                // Schema 1 kept the order, status and intake indexes on disk; schema 2 keeps them
                // in memory.
                for prefix in [b's', b'o', b'E'] {
                    let mut batch = sled::Batch::default();
                    for k in self.inner.data.scan_prefix([prefix]).keys() {
                        batch.remove(k?);
                    }
                    self.inner.data.apply_batch(batch)?;
                }
            }
            if v == 2 || v == 3 {
                // Schema 3: self-describing instruction records, and summaries that name the
                // buyer and the recipient apart. Schema 4: both compressed with zstd and a
                // dictionary (a store a third of the size).
                self.rewrite_instructions()?;
                v = 3;
            }
            v += 1;
        }
        self.inner
            .data
            .insert(str_key(META, "schema"), &SCHEMA_VERSION.to_be_bytes())?;
        Ok(())
    }

    /// Reads every instruction in whatever layout it was written and writes it, and its
    /// summary, in the current one. Batches of 1,000, each atomic; a crash in between leaves
    /// records that are still readable, and the schema key is written only at the end, so the
    /// next open does it again.
    fn rewrite_instructions(&self) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in self.inner.data.scan_prefix([INSTRUCTION]) {
            let (k, v) = kv?;
            let i = dec_instruction(&k, &v)?;
            batch.insert(k.to_vec(), enc_instruction(&i)?);
            batch.insert(id_key(SUMMARY, i.id), enc_summary(&enc(&i.summary())?)?);
            n += 1;
            if n % 1000 == 0 {
                self.inner.data.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        self.inner.data.apply_batch(batch)?;
        Ok(())
    }

    /// A new store: only its schema. The engine puts the robot catalogue in.
    fn seed(&self) -> Result<()> {
        self.inner
            .data
            .insert(str_key(META, "schema"), &SCHEMA_VERSION.to_be_bytes())?;
        Ok(())
    }

    /// Rebuilds the counts and indexes (after a migration).
    pub(crate) fn rebuild(&self) -> Result<()> {
        self.recount()
    }

    /// Rebuilds the counts and the in-memory indexes from the records.
    fn recount(&self) -> Result<()> {
        let mut counts = Counts::default();
        let mut index = Index::default();
        /// The fields the indexes need; the rest of each summary is skipped, not built.
        #[derive(serde::Deserialize)]
        struct Indexed<'a> {
            id: u64,
            auth_id: u64,
            #[serde(borrow)]
            order_no: std::borrow::Cow<'a, str>,
            status: Status,
            upstream_error: bool,
        }
        for kv in self.inner.data.scan_prefix([SUMMARY]) {
            let (k, v) = kv?;
            let v = summary_text(&k, &v)?;
            let s: Indexed<'_> = dec_borrowed(&k, &v)?;
            *counts.by_status.entry(s.status).or_default() += 1;
            if s.upstream_error {
                counts.upstream_errors += 1;
            }
            index.by_status[usize::from(s.status.index())].insert(s.id);
            // Valid UTF-8 (serde_json just read it), so the fast check; lossy only as a fallback.
            let json: Box<str> = match std::str::from_utf8(&v) {
                Ok(t) => t.into(),
                Err(_) => String::from_utf8_lossy(&v).into(),
            };
            index.summary_json.insert(s.id, json);
            index
                .by_order
                .insert((s.auth_id, s.order_no.into_owned()), s.id);
        }
        self.count_intake_and_products(&mut counts, &mut index)?;
        *self.inner.counts.write().unwrap_or_else(|e| e.into_inner()) = counts;
        self.inner.index.set(index);
        Ok(())
    }

    /// A run left "running" by a process that stopped is marked 中断.
    fn mark_interrupted_runs(&self) -> Result<()> {
        let stale: Vec<RunLogEntry> = self
            .runs(usize::MAX)?
            .into_iter()
            .filter(|r| r.state == RunState::Running)
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        self.write(|t| {
            for mut r in stale {
                r.state = RunState::Interrupted;
                r.errors
                    .push("shukka が実行中に停止しました (次回の実行で取り直します)".into());
                t.put_run(&r)?;
            }
            Ok(())
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.inner.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn meta_u64(&self, name: &str) -> Result<Option<u64>> {
        Ok(self
            .inner
            .data
            .get(str_key(META, name))?
            .and_then(|v| be_u64(&v)))
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreEvent>> {
        self.inner.events.subscribe()
    }

    /// Runs `f` in one transaction and commits it atomically. `f` may fail with its own error
    /// type (the engine's refusals), which then aborts the transaction unchanged.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Txn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // A change applies to the indexes as they are: never to ones still being read.
        self.inner.index.wait()?;
        let mut counters = self.lock();
        let mut txn = Txn {
            archive: &self.inner.archive,
            data: &self.inner.data,
            secrets: &self.inner.secrets,
            index: &self.inner.index,
            delta: IndexDelta::default(),
            counters: &mut counters,
            batch: sled::Batch::default(),
            overlay: HashMap::new(),
            secret_ops: Vec::new(),
            counts: self.counts(),
            changes: Vec::new(),
            bumped: Vec::new(),
        };
        let out = f(&mut txn)?;
        self.commit(txn)?;
        drop(counters);
        Ok(out)
    }

    /// Writes a finished transaction: secrets, the batch, the in-memory index and counts, and
    /// the event (sent under the write lock, so consoles see changes in commit order).
    fn commit(&self, txn: Txn<'_>) -> Result<()> {
        let Txn {
            counters,
            mut batch,
            secret_ops,
            counts,
            changes,
            bumped,
            delta,
            ..
        } = txn;
        for name in bumped {
            let next = counters.next.get(name).copied().unwrap_or(1);
            batch.insert(str_key(META, &format!("next/{name}")), &next.to_be_bytes());
        }
        counters.generation += 1;
        batch.insert(
            str_key(META, "generation"),
            &counters.generation.to_be_bytes(),
        );
        // Changed since the snapshot, in the same atomic batch as the change.
        if self
            .inner
            .snapshot_on_disk
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            for id in delta
                .summaries
                .iter()
                .map(|(id, _)| *id)
                .chain(delta.removed.iter().map(|(id, ..)| *id))
            {
                batch.insert(id_key(DIRTY, id), &[]);
            }
        }
        // Secrets first: a secret without its record is harmless, the reverse is not.
        for (id, secret) in secret_ops {
            let key = id.to_be_bytes();
            match secret {
                Some(s) => {
                    let sealed = self.seal_value(&key, &s)?;
                    self.inner.secrets.insert(key, sealed)?
                }
                None => self.inner.secrets.remove(key)?,
            };
        }
        self.inner.data.apply_batch(batch)?;
        {
            let mut index = self.inner.index.write()?;
            for (k, id) in delta.orders {
                index.by_order.insert(k, id);
            }
            for (id, old, new) in delta.status {
                if let Some(o) = old {
                    index.by_status[usize::from(o.index())].remove(&id);
                }
                index.by_status[usize::from(new.index())].insert(id);
            }
            for (k, v) in delta.intake {
                match v {
                    Some(id) => index.intake_by_order.insert(k, id),
                    None => index.intake_by_order.remove(&k),
                };
            }
            for (id, json) in delta.summaries {
                index.summary_json.insert(id, json);
            }
            for (id, status, order) in delta.removed {
                index.by_status[usize::from(status.index())].remove(&id);
                index.by_order.remove(&order);
                index.summary_json.remove(&id);
            }
        }
        *self.inner.counts.write().unwrap_or_else(|e| e.into_inner()) = counts.clone();
        if !changes.is_empty() {
            let _ = self.inner.events.send(Arc::new(StoreEvent {
                changes,
                counts: Some(counts),
            }));
        }
        Ok(())
    }

    /// Makes every committed write durable.
    pub fn flush(&self) -> Result<()> {
        self.inner.db.flush()?;
        Ok(())
    }

    pub async fn flush_async(&self) -> Result<()> {
        self.inner.db.flush_async().await?;
        Ok(())
    }

    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    // -----------------------------------------------------------------------------------
    // Reads

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.inner.data.get(key)? {
            Some(v) => Ok(Some(dec(key, &v)?)),
            None => Ok(None),
        }
    }

    fn scan<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for kv in self.inner.data.scan_prefix(prefix) {
            let (k, v) = kv?;
            out.push(dec(&k, &v)?);
        }
        Ok(out)
    }

    pub fn counts(&self) -> Counts {
        self.inner
            .counts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn instruction(&self, id: u64) -> Result<Option<Instruction>> {
        let key = id_key(INSTRUCTION, id);
        match self.inner.data.get(&key)? {
            Some(v) => Ok(Some(dec_instruction(&key, &v)?)),
            None => Ok(None),
        }
    }

    pub fn instruction_id(&self, auth_id: u64, order_no: &str) -> Result<Option<u64>> {
        let index = self.inner.index.read()?;
        Ok(index
            .by_order
            .get(&(auth_id, order_no.to_string()))
            .copied())
    }

    /// Instructions with this futureshop order number, across every API認証設定.
    pub fn instructions_by_order_no(&self, order_no: &str) -> Result<Vec<Instruction>> {
        let mut out = Vec::new();
        for a in self.auths()? {
            if let Some(id) = self.instruction_id(a.id, order_no)?
                && let Some(i) = self.instruction(id)?
            {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Summaries of every instruction, or of one status, in id order.
    /// Every summary as one JSON array, from memory.
    pub fn summaries_json(&self) -> Result<String> {
        let index = self.inner.index.read()?;
        let mut out = String::with_capacity(
            index
                .summary_json
                .values()
                .map(|v| v.len() + 1)
                .sum::<usize>()
                + 2,
        );
        out.push('[');
        for (n, v) in index.summary_json.values().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(v);
        }
        out.push(']');
        Ok(out)
    }

    pub fn summaries(&self, status: Option<Status>) -> Result<Vec<InstructionSummary>> {
        match status {
            None => {
                serde_json::from_str(&self.summaries_json()?).map_err(|e| StoreError::Corrupt {
                    key: "v/*".into(),
                    detail: e.to_string(),
                })
            }
            Some(st) => {
                let mut out = Vec::new();
                for id in self.ids_in(st)? {
                    let key = id_key(SUMMARY, id);
                    if let Some(v) = self.inner.data.get(&key)? {
                        out.push(dec_summary(&key, &v)?);
                    }
                }
                Ok(out)
            }
        }
    }

    /// The first `n` instructions of a queue in the console's order (order date, then id):
    /// its first screen, sent ahead of the whole list. Only each summary's order date is read
    /// to choose them.
    pub fn first_summaries(&self, status: Status, n: usize) -> Result<Vec<InstructionSummary>> {
        #[derive(serde::Deserialize)]
        struct Dated {
            order_date: Option<chrono::NaiveDateTime>,
        }
        let index = self.inner.index.read()?;
        let finder = memchr::memmem::Finder::new(ORDER_DATE_KEY);
        let mut keyed: Vec<(Option<Cow<'_, str>>, u64)> = index.by_status
            [usize::from(status.index())]
        .iter()
        .filter_map(|id| {
            let json = index.summary_json.get(id)?;
            let date = match summary_order_date(&finder, json) {
                Some(d) => d.map(Cow::Borrowed),
                None => serde_json::from_str::<Dated>(json)
                    .ok()?
                    .order_date
                    .map(|d| Cow::Owned(d.format(ORDER_DATE_TEXT).to_string())),
            };
            Some((date, *id))
        })
        .collect();
        if keyed.len() > n && n > 0 {
            keyed.select_nth_unstable(n - 1);
            keyed.truncate(n);
        }
        keyed.sort_unstable();
        keyed
            .iter()
            .filter_map(|(_, id)| index.summary_json.get(id))
            .map(|json| {
                serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
                    key: "v/*".into(),
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Instructions of `auth_id` whose detail is still to be read.
    pub fn detail_pending(&self, auth_id: u64) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for kv in self.inner.data.scan_prefix([DETAIL_PENDING]) {
            let (k, v) = kv?;
            if be_u64(&v) == Some(auth_id)
                && let Some(id) = be_u64(&k[1..])
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn ids_in(&self, status: Status) -> Result<Vec<u64>> {
        let index = self.inner.index.read()?;
        Ok(index.by_status[usize::from(status.index())]
            .iter()
            .copied()
            .collect())
    }

    pub fn instructions_in(&self, status: Status) -> Result<Vec<Instruction>> {
        let mut out = Vec::new();
        for id in self.ids_in(status)? {
            if let Some(i) = self.instruction(id)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    pub fn intake_errors(&self) -> Result<Vec<IntakeError>> {
        self.scan(&[INTAKE])
    }

    pub fn intake_error(&self, id: u64) -> Result<Option<IntakeError>> {
        self.get(&id_key(INTAKE, id))
    }

    pub fn intake_error_id(&self, auth_id: u64, order_no: &str) -> Result<Option<u64>> {
        let index = self.inner.index.read()?;
        Ok(index
            .intake_by_order
            .get(&(auth_id, order_no.to_string()))
            .copied())
    }

    pub fn product(&self, sku: &str) -> Result<Option<ProductMaster>> {
        self.get(&str_key(PRODUCT, sku))
    }

    pub fn has_product(&self, sku: &str) -> Result<bool> {
        Ok(self.inner.data.contains_key(str_key(PRODUCT, sku))?)
    }

    pub fn products(&self) -> Result<Vec<ProductMaster>> {
        self.scan(&[PRODUCT])
    }

    /// SKUs in the product master (kept with the counts).
    pub fn product_count(&self) -> Result<usize> {
        Ok(self.counts().products as usize)
    }

    pub fn ship_froms(&self) -> Result<Vec<ShipFrom>> {
        self.scan(&[SHIP_FROM])
    }

    pub fn ship_from(&self, id: u64) -> Result<Option<ShipFrom>> {
        self.get(&id_key(SHIP_FROM, id))
    }

    pub fn auths(&self) -> Result<Vec<ApiAuth>> {
        self.scan(&[AUTH])
    }

    /// Every 同梱 group, oldest first.
    pub fn bundles(&self) -> Result<Vec<Bundle>> {
        self.scan(&[BUNDLE])
    }

    pub fn bundle(&self, id: u64) -> Result<Option<Bundle>> {
        self.get(&id_key(BUNDLE, id))
    }

    pub fn auth(&self, id: u64) -> Result<Option<ApiAuth>> {
        self.get(&id_key(AUTH, id))
    }

    /// The client secret of one API認証設定: only the engine's client factory calls this.
    pub fn secret(&self, auth_id: u64) -> Result<Option<Secret>> {
        let key = auth_id.to_be_bytes();
        match self.inner.secrets.get(key)? {
            Some(v) => Ok(Some(self.unseal_value(&key, &v)?)),
            None => Ok(None),
        }
    }

    pub fn converters(&self) -> Result<Vec<Converter>> {
        self.scan(&[CONVERTER])
    }

    pub fn converter(&self, id: u64) -> Result<Option<Converter>> {
        self.get(&id_key(CONVERTER, id))
    }

    /// Processing robots in their configured order (robots missing from the order come last).
    pub fn processing_robots(&self) -> Result<Vec<ProcessingRobot>> {
        let mut all: Vec<ProcessingRobot> = self.scan(&[PROCESSING])?;
        let order = self.rule_order()?;
        all.sort_by_key(|r| {
            (
                order.iter().position(|x| *x == r.id).unwrap_or(usize::MAX),
                r.id,
            )
        });
        Ok(all)
    }

    pub fn processing_robot(&self, id: u64) -> Result<Option<ProcessingRobot>> {
        self.get(&id_key(PROCESSING, id))
    }

    pub fn linkage_robots(&self) -> Result<Vec<LinkageRobot>> {
        self.scan(&[LINKAGE])
    }

    pub fn linkage_robot(&self, id: u64) -> Result<Option<LinkageRobot>> {
        self.get(&id_key(LINKAGE, id))
    }

    pub fn rule_order(&self) -> Result<Vec<u64>> {
        Ok(self.config(CFG_RULE_ORDER)?.unwrap_or_default())
    }

    pub fn no_prepayment(&self) -> Result<Vec<String>> {
        Ok(self
            .config(CFG_NO_PREPAYMENT)?
            .unwrap_or_else(|| vec!["COD".into()]))
    }

    pub fn config<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.get(&str_key(CONFIG, name))
    }

    pub fn cursor(&self, robot_id: u64) -> Result<Option<SyncCursor>> {
        self.get(&id_key(CURSOR, robot_id))
    }

    /// Run log, newest first.
    /// Alerts after `after` (oldest first), at most `limit`.
    pub fn alerts_after(&self, after: u64, limit: usize) -> Result<Vec<crate::notify::Alert>> {
        let mut out = Vec::new();
        for kv in self
            .inner
            .data
            .range(id_key(ALERT, after.saturating_add(1))..id_key(ALERT, u64::MAX))
            .take(limit)
        {
            let (k, v) = kv?;
            out.push(dec(&k, &v)?);
        }
        Ok(out)
    }

    /// The newest alert's sequence number (0: none yet).
    pub fn last_alert_id(&self) -> Result<u64> {
        match self.inner.data.scan_prefix([ALERT]).next_back() {
            Some(kv) => Ok(be_u64(&kv?.0[1..]).unwrap_or(0)),
            None => Ok(0),
        }
    }

    pub fn notify_state(&self, target: &str) -> Result<Option<crate::notify::TargetState>> {
        self.get(&str_key(NOTIFY_STATE, target))
    }

    pub fn runs(&self, limit: usize) -> Result<Vec<RunLogEntry>> {
        let mut out = Vec::new();
        for kv in self.inner.data.scan_prefix([RUN]).rev().take(limit) {
            let (k, v) = kv?;
            out.push(dec(&k, &v)?);
        }
        Ok(out)
    }

    /// The newest run of each of `robots`, reading back from the newest line only until each
    /// has one (or `limit` lines were read).
    pub fn latest_runs(
        &self,
        robots: &std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> Result<BTreeMap<u64, RunLogEntry>> {
        let mut out = BTreeMap::new();
        for kv in self.inner.data.scan_prefix([RUN]).rev().take(limit) {
            if out.len() == robots.len() {
                break;
            }
            let (k, v) = kv?;
            let r: RunLogEntry = dec(&k, &v)?;
            if robots.contains(&r.robot_id) && !out.contains_key(&r.robot_id) {
                out.insert(r.robot_id, r);
            }
        }
        Ok(out)
    }

    /// Audit log, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        for kv in self.inner.data.scan_prefix([AUDIT]).rev().take(limit) {
            let (k, v) = kv?;
            out.push(dec(&k, &v)?);
        }
        Ok(out)
    }

    /// The history of one instruction, oldest first: its intake, then every change.
    pub fn audit_for(&self, instruction_id: u64) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        if let Some(i) = self.instruction(instruction_id)?
            && let Some(rec) = &i.intake
        {
            out.push(AuditEntry {
                seq: 0,
                at: i.created_at,
                actor: rec.actor.clone(),
                target: Target::Instruction {
                    id: i.id,
                    order_no: i.order_no.clone(),
                },
                action: "取込".into(),
                from: None,
                to: Some(rec.status),
                reason: rec.reason.clone(),
            });
        }
        out.extend(self.audit_entries(instruction_id)?);
        Ok(out)
    }

    /// The stored audit entries of one instruction, oldest first (without the intake line
    /// that [`Store::audit_for`] makes from the record).
    pub(crate) fn audit_entries(&self, instruction_id: u64) -> Result<Vec<AuditEntry>> {
        let mut out = Vec::new();
        let mut prefix = vec![AUDIT_BY_INSTRUCTION];
        prefix.extend_from_slice(&instruction_id.to_be_bytes());
        for k in self.inner.data.scan_prefix(&prefix).keys() {
            let k = k?;
            if let Some(seq) = be_u64(&k[9..])
                && let Some(e) = self.get(&id_key(AUDIT, seq))?
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub(crate) fn dump_secrets(&self) -> Result<Vec<(u64, Secret)>> {
        let mut out = Vec::new();
        for kv in self.inner.secrets.iter() {
            let (k, v) = kv?;
            if let Some(id) = be_u64(&k) {
                out.push((id, self.unseal_value(&k, &v)?));
            }
        }
        Ok(out)
    }

    /// Calls `f` with every record of the data tree while no write can happen, so that a
    /// backup is one consistent state.
    pub(crate) fn for_each_record(
        &self,
        mut f: impl FnMut(&[u8], &[u8]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let _writes = self.lock();
        let mut n = 0;
        for kv in self.inner.data.iter() {
            let (k, v) = kv?;
            f(&k, &v).map_err(|e| StoreError::Sled(format!("writing a backup: {e}")))?;
            n += 1;
        }
        Ok(n)
    }

    #[doc(hidden)]
    pub fn _snapshot_exists(&self) -> bool {
        self.snapshot_path().exists()
    }

    /// Replaces everything with `entries` (restore). Counters and counts are rebuilt.
    pub(crate) fn replace_all(
        &self,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        secrets: Vec<(u64, Secret)>,
    ) -> Result<()> {
        let mut counters = self.lock();
        self.drop_snapshot();
        self.inner.data.clear()?;
        self.inner.secrets.clear()?;
        let mut batch = sled::Batch::default();
        for (k, v) in entries {
            batch.insert(k, v);
        }
        self.inner.data.apply_batch(batch)?;
        for (id, s) in secrets {
            let key = id.to_be_bytes();
            let sealed = self.seal_value(&key, &s)?;
            self.inner.secrets.insert(key, sealed)?;
        }
        counters.next.clear();
        for (name, start) in SEQS {
            let stored = self.meta_u64(&format!("next/{name}"))?.unwrap_or(start);
            counters.next.insert(name, stored.max(start));
        }
        drop(counters);
        self.recount()?;
        self.flush()?;
        // Everything changed: every console reloads.
        let _ = self.inner.events.send(Arc::new(StoreEvent {
            changes: vec![Change::Reload],
            counts: None,
        }));
        Ok(())
    }
}

/// The index snapshot file: [`SNAPSHOT_MAGIC`], the head's length (u32, little-endian), the
/// head, then the body — the indexes, packed. The head alone gives the queue counts, so a
/// clean start answers them before the body is decoded.
const SNAPSHOT_MAGIC: &[u8; 8] = b"SHKIDX02";

/// Borrowed when saved, owned when read.
#[derive(Serialize, serde::Deserialize)]
struct SnapshotHead<'a> {
    schema: u64,
    generation: u64,
    counts: Cow<'a, Counts>,
    body_len: u64,
    /// CRC-32 of the body: a file cut or changed on disk is never decoded.
    body_crc: u32,
}

/// The order date of a stored summary as its text, read without parsing the rest of it (the
/// first screen looks at every summary of a queue): `Some(None)` for null, None when it is not
/// in that form. Inside JSON strings every quote is escaped, so the key's text can only be the
/// key. The text is chrono's ([`ORDER_DATE_TEXT`]), whose order is the dates' order.
fn summary_order_date<'a>(
    finder: &memchr::memmem::Finder<'_>,
    json: &'a str,
) -> Option<Option<&'a str>> {
    let at = finder.find(json.as_bytes())? + ORDER_DATE_KEY.len();
    let value = json.get(at..)?;
    if value.starts_with("null") {
        return Some(None);
    }
    let text = value.strip_prefix('"')?;
    let end = text.find('"')?;
    let date = &text[..end];
    date.bytes()
        .all(|b| b.is_ascii_digit() || b"-T:.".contains(&b))
        .then_some(Some(date))
}

const ORDER_DATE_KEY: &[u8] = b"\"order_date\":";
/// How serde writes a `NaiveDateTime`.
const ORDER_DATE_TEXT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The snapshot's body is in parts decoded side by side (on a clean start nothing waits for
/// more than the slowest part): the keys, then the summaries in id order, in chunks.
const SUMMARY_PARTS: usize = 4;

#[derive(Serialize)]
struct KeysOut<'a> {
    by_order: &'a FastMap<OrderRef, u64>,
    by_status: &'a [std::collections::BTreeSet<u64>; 6],
    intake_by_order: &'a FastMap<OrderRef, u64>,
}

#[derive(serde::Deserialize)]
struct KeysIn {
    by_order: FastMap<OrderRef, u64>,
    by_status: [std::collections::BTreeSet<u64>; 6],
    intake_by_order: FastMap<OrderRef, u64>,
}

/// Each part packed on its own, with its length (u32, little-endian) in front.
fn encode_index(index: &Index) -> std::result::Result<Vec<u8>, String> {
    let mut parts = vec![pack(&KeysOut {
        by_order: &index.by_order,
        by_status: &index.by_status,
        intake_by_order: &index.intake_by_order,
    })?];
    let all: Vec<(u64, &str)> = index
        .summary_json
        .iter()
        .map(|(id, json)| (*id, &**json))
        .collect();
    let per = all.len().div_ceil(SUMMARY_PARTS).max(1);
    for chunk in all.chunks(per) {
        parts.push(pack(&chunk)?);
    }
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        let len = u32::try_from(p.len()).map_err(|_| "a part over 4 GiB".to_string())?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&p);
    }
    Ok(out)
}

fn decode_index(body: &[u8]) -> std::result::Result<Index, String> {
    let mut parts = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or("a part's length is cut")?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|e| e.to_string())?;
        if tail.len() < len {
            return Err("a part is cut".into());
        }
        let (part, tail) = tail.split_at(len);
        parts.push(part);
        rest = tail;
    }
    let (keys, summaries) = parts.split_first().ok_or("no parts")?;
    let (keys, chunks) = std::thread::scope(|s| {
        let chunks: Vec<_> = summaries
            .iter()
            .map(|p| s.spawn(move || unpack::<Vec<(u64, Box<str>)>>(p)))
            .collect();
        let keys = unpack::<KeysIn>(keys);
        let chunks: Vec<_> = chunks
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a decoding thread failed".into()))
            })
            .collect();
        (keys, chunks)
    });
    let keys = keys?;
    let mut summary_json = Vec::new();
    for c in chunks {
        summary_json.extend(c?);
    }
    Ok(Index {
        by_order: keys.by_order,
        by_status: keys.by_status,
        intake_by_order: keys.intake_by_order,
        // In id order: built in one pass, not entry by entry.
        summary_json: summary_json.into_iter().collect(),
    })
}

/// The head of a snapshot file and where its body starts, if the file is whole.
fn snapshot_head(bytes: &[u8]) -> Option<(SnapshotHead<'static>, usize)> {
    let rest = bytes.strip_prefix(SNAPSHOT_MAGIC)?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    if rest.len() < len {
        return None;
    }
    let (head, body) = rest.split_at(len);
    let head: SnapshotHead<'static> = unpack(head).ok()?;
    if head.body_len != body.len() as u64 || crc32fast::hash(body) != head.body_crc {
        return None;
    }
    Some((head, bytes.len() - body.len()))
}

/// Progress of a fetch robot (差分), committed with each page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncCursor {
    /// End of the window of the last run that completed.
    pub last_success_end: Option<chrono::NaiveDateTime>,
    /// The newest order date committed by the run in progress (or the last run).
    pub high_water: Option<chrono::NaiveDateTime>,
    /// The run-log line of the run that last advanced this cursor.
    pub run_seq: Option<u64>,
    pub pages: u64,
    /// Last start of this robot (for time triggers).
    pub last_start: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Last time a run of this robot ended (in any state). A start after the last end means
    /// the process stopped mid-run: the robot is due again at once.
    #[serde(default)]
    pub last_finish: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// One atomic write. Reads see the transaction's own writes.
pub struct Txn<'a> {
    archive: &'a archive::Archive,
    data: &'a sled::Tree,
    index: &'a IndexCell,
    delta: IndexDelta,
    #[allow(dead_code)]
    secrets: &'a sled::Tree,
    counters: &'a mut Counters,
    batch: sled::Batch,
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    secret_ops: Vec<(u64, Option<Secret>)>,
    counts: Counts,
    changes: Vec<Change>,
    bumped: Vec<&'static str>,
}

impl Txn<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.overlay.get(key) {
            return Ok(v.clone());
        }
        Ok(self.data.get(key)?.map(|v| v.to_vec()))
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.get_raw(key)? {
            Some(v) => Ok(Some(dec(key, &v)?)),
            None => Ok(None),
        }
    }

    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        // Audit entries and run-log lines are never read back inside a write: skip keeping a
        // second copy of them. (Summaries are: `update_instruction` checks the version in the
        // summary, and one write may change an instruction twice.)
        if matches!(
            key.first(),
            Some(&AUDIT) | Some(&AUDIT_BY_INSTRUCTION) | Some(&RUN)
        ) {
            self.batch.insert(key, value);
            return;
        }
        self.batch.insert(key.clone(), value.clone());
        self.overlay.insert(key, Some(value));
    }

    fn put<T: Serialize>(&mut self, key: Vec<u8>, v: &T) -> Result<()> {
        let bytes = enc(v)?;
        self.put_raw(key, bytes);
        Ok(())
    }

    fn del(&mut self, key: Vec<u8>) {
        self.batch.remove(key.clone());
        self.overlay.insert(key, None);
    }

    /// The next value of a sequence.
    pub fn next_id(&mut self, seq: &'static str) -> u64 {
        let n = self.counters.next.entry(seq).or_insert(1);
        let id = *n;
        *n += 1;
        if !self.bumped.contains(&seq) {
            self.bumped.push(seq);
        }
        id
    }

    pub fn instruction(&self, id: u64) -> Result<Option<Instruction>> {
        let key = id_key(INSTRUCTION, id);
        match self.get_raw(&key)? {
            Some(v) => Ok(Some(dec_instruction(&key, &v)?)),
            None => Ok(None),
        }
    }

    pub fn instruction_id(&self, auth_id: u64, order_no: &str) -> Result<Option<u64>> {
        let k = (auth_id, order_no.to_string());
        if let Some(id) = self.delta.orders.get(&k) {
            return Ok(Some(*id));
        }
        let index = self.index.read()?;
        Ok(index.by_order.get(&k).copied())
    }

    /// Stores a new instruction: assigns its id, version 1. Refuses a second instruction for
    /// the same (shop, orderNo).
    pub fn insert_instruction(&mut self, mut i: Instruction) -> Result<Instruction> {
        if self.instruction_id(i.auth_id, &i.order_no)?.is_some() {
            let no = &i.order_no;
            return Err(StoreError::Conflict(msg!(
                "受注 {no} の出荷指示は既にあります",
                "Order {no} already has a shipping instruction"
            )));
        }
        i.id = self.next_id(SEQ_INSTRUCTION);
        i.version = 1;
        self.delta
            .orders
            .insert((i.auth_id, i.order_no.clone()), i.id);
        self.write_instruction(None, &i)?;
        Ok(i)
    }

    /// Replaces an instruction if its stored version is still `expected_version`
    /// (compare-and-swap); bumps the version.
    pub fn update_instruction(
        &mut self,
        expected_version: u64,
        mut i: Instruction,
    ) -> Result<Instruction> {
        // The stored summary (written with the record, a tenth of its size) has the version
        // and what the counts and indexes were made from: the whole record is not read again
        // (a label export or a tracking import rewrites thousands).
        let key = id_key(SUMMARY, i.id);
        let old: InstructionSummary = match self.get_raw(&key)? {
            Some(v) => dec_summary(&key, &v)?,
            None => {
                let no = &i.order_no;
                return Err(StoreError::NotFound(msg!(
                    "出荷指示 {no} がありません",
                    "No shipping instruction for order {no}"
                )));
            }
        };
        if old.version != expected_version {
            let by = self
                .instruction(i.id)?
                .map(|o| o.updated_by)
                .unwrap_or_default();
            let (no, at) = (&old.order_no, old.updated_at.format("%H:%M:%S"));
            return Err(StoreError::Conflict(msg!(
                "出荷指示 {no} は {at} に {by} が変更しました",
                "Order {no}'s instruction was changed by {by} at {at}"
            )));
        }
        i.version = old.version + 1;
        self.write_instruction(Some(&old), &i)?;
        Ok(i)
    }

    fn write_instruction(
        &mut self,
        old: Option<&InstructionSummary>,
        i: &Instruction,
    ) -> Result<()> {
        let summary = i.summary();
        if let Some(o) = old {
            adjust(&mut self.counts, o, -1);
        }
        if old.is_none_or(|o| o.status != summary.status) {
            self.delta
                .status
                .push((i.id, old.map(|o| o.status), summary.status));
        }
        adjust(&mut self.counts, &summary, 1);
        let record = enc_instruction(i)?;
        self.put_raw(id_key(INSTRUCTION, i.id), record);
        let json = enc(&summary)?;
        let packed = enc_summary(&json)?;
        self.delta
            .summaries
            .push((i.id, String::from_utf8_lossy(&json).into()));
        self.put_raw(id_key(SUMMARY, i.id), packed);
        self.changes.push(Change::Instruction(Box::new(summary)));
        Ok(())
    }

    pub fn intake_error_id(&self, auth_id: u64, order_no: &str) -> Result<Option<u64>> {
        let k = (auth_id, order_no.to_string());
        if let Some(v) = self.delta.intake.get(&k) {
            return Ok(*v);
        }
        let index = self.index.read()?;
        Ok(index.intake_by_order.get(&k).copied())
    }

    pub fn intake_error(&self, id: u64) -> Result<Option<IntakeError>> {
        self.get(&id_key(INTAKE, id))
    }

    /// Records (or refreshes) an intake error; one per (shop, orderNo).
    pub fn put_intake_error(&mut self, mut e: IntakeError) -> Result<IntakeError> {
        let existing = if e.order_no.is_empty() {
            None
        } else {
            self.intake_error_id(e.auth_id, &e.order_no)?
        };
        match existing.and_then(|id| self.intake_error(id).ok().flatten()) {
            Some(old) => {
                e.id = old.id;
                e.first_seen = old.first_seen;
                e.attempts = old.attempts + 1;
            }
            None => {
                e.id = self.next_id(SEQ_INTAKE);
                self.counts.intake_errors += 1;
                if !e.order_no.is_empty() {
                    self.delta
                        .intake
                        .insert((e.auth_id, e.order_no.clone()), Some(e.id));
                }
            }
        }
        self.put(id_key(INTAKE, e.id), &e)?;
        self.changes.push(Change::IntakeError {
            id: e.id,
            error: Some(Box::new(e.summary())),
        });
        Ok(e)
    }

    pub fn delete_intake_error(&mut self, e: &IntakeError) -> Result<()> {
        if self.get_raw(&id_key(INTAKE, e.id))?.is_some() {
            self.counts.intake_errors = self.counts.intake_errors.saturating_sub(1);
        }
        self.del(id_key(INTAKE, e.id));
        if !e.order_no.is_empty() {
            self.delta
                .intake
                .insert((e.auth_id, e.order_no.clone()), None);
        }
        self.changes.push(Change::IntakeError {
            id: e.id,
            error: None,
        });
        Ok(())
    }

    /// Appends to the audit log; returns the entry with its sequence number.
    pub fn audit(&mut self, mut e: AuditEntry) -> Result<AuditEntry> {
        e.seq = self.next_id(SEQ_AUDIT);
        if let Target::Instruction { id, .. } = &e.target {
            self.put_raw(audit_instruction_key(*id, e.seq), Vec::new());
        }
        self.put(id_key(AUDIT, e.seq), &e)?;
        self.changes.push(Change::Audit(Box::new(e.clone())));
        Ok(e)
    }

    /// Queues an alert for the notification targets (committed with the change it reports).
    pub fn alert(&mut self, mut a: crate::notify::Alert) -> Result<crate::notify::Alert> {
        a.id = self.next_id(SEQ_ALERT);
        self.put(id_key(ALERT, a.id), &a)?;
        Ok(a)
    }

    pub fn notify_state(&self, target: &str) -> Result<Option<crate::notify::TargetState>> {
        self.get(&str_key(NOTIFY_STATE, target))
    }

    pub fn bundle(&self, id: u64) -> Result<Option<Bundle>> {
        self.get(&id_key(BUNDLE, id))
    }

    /// Writes a 同梱 group (a new one gets its id).
    pub fn put_bundle(&mut self, mut b: Bundle) -> Result<Bundle> {
        if b.id == 0 {
            b.id = self.next_id(SEQ_BUNDLE);
        }
        self.put(id_key(BUNDLE, b.id), &b)?;
        Ok(b)
    }

    pub fn put_notify_state(&mut self, target: &str, s: &crate::notify::TargetState) -> Result<()> {
        self.put(str_key(NOTIFY_STATE, target), s)
    }

    /// Writes a run-log line (new lines get a sequence number).
    pub fn put_run(&mut self, r: &RunLogEntry) -> Result<RunLogEntry> {
        let mut r = r.clone();
        if r.seq == 0 {
            r.seq = self.next_id(SEQ_RUN);
        }
        self.put(id_key(RUN, r.seq), &r)?;
        self.changes.push(Change::Run(Box::new(r.clone())));
        Ok(r)
    }

    pub fn cursor(&self, robot_id: u64) -> Result<Option<SyncCursor>> {
        self.get(&id_key(CURSOR, robot_id))
    }

    pub fn put_cursor(&mut self, robot_id: u64, c: &SyncCursor) -> Result<()> {
        self.put(id_key(CURSOR, robot_id), c)
    }

    pub fn product(&self, sku: &str) -> Result<Option<ProductMaster>> {
        self.get(&str_key(PRODUCT, sku))
    }

    pub fn has_product(&self, sku: &str) -> Result<bool> {
        Ok(self.get_raw(&str_key(PRODUCT, sku))?.is_some())
    }

    pub fn ship_from_exists(&self, id: u64) -> Result<bool> {
        Ok(self.get_raw(&id_key(SHIP_FROM, id))?.is_some())
    }

    pub fn put_product(&mut self, p: &ProductMaster) -> Result<()> {
        let key = str_key(PRODUCT, &p.sku_no);
        if self.get_raw(&key)?.is_none() {
            self.counts.products += 1;
        }
        let count = self.counts.products as usize;
        match self
            .changes
            .iter_mut()
            .find(|c| matches!(c, Change::Products { .. }))
        {
            Some(c) => *c = Change::Products { count },
            None => self.changes.push(Change::Products { count }),
        }
        self.put(key, p)
    }

    fn config_changed(&mut self) {
        if !self.changes.iter().any(|c| matches!(c, Change::Config)) {
            self.changes.push(Change::Config);
        }
    }

    pub fn put_ship_from(&mut self, mut s: ShipFrom) -> Result<ShipFrom> {
        if s.id == 0 {
            s.id = self.next_id(SEQ_SHIP_FROM);
        }
        self.put(id_key(SHIP_FROM, s.id), &s)?;
        self.config_changed();
        Ok(s)
    }

    pub fn auth(&self, id: u64) -> Result<Option<ApiAuth>> {
        self.get(&id_key(AUTH, id))
    }

    pub fn put_auth(&mut self, mut a: ApiAuth) -> Result<ApiAuth> {
        if a.id == 0 {
            a.id = self.next_id(SEQ_AUTH);
        }
        self.put(id_key(AUTH, a.id), &a)?;
        self.config_changed();
        Ok(a)
    }

    /// Keeps the set of instructions whose detail is still to be read (詳細未取得).
    pub fn mark_detail_pending(&mut self, i: &Instruction, pending: bool) {
        let key = id_key(DETAIL_PENDING, i.id);
        if pending {
            self.put_raw(key, i.auth_id.to_be_bytes().to_vec());
        } else {
            self.del(key);
        }
    }

    pub fn put_secret(&mut self, auth_id: u64, secret: Secret) {
        self.secret_ops.push((auth_id, Some(secret)));
    }

    pub fn delete_secret(&mut self, auth_id: u64) {
        self.secret_ops.push((auth_id, None));
    }

    pub fn converter(&self, id: u64) -> Result<Option<Converter>> {
        self.get(&id_key(CONVERTER, id))
    }

    pub fn put_converter(&mut self, c: &Converter) -> Result<()> {
        self.config_changed();
        self.put(id_key(CONVERTER, c.id), c)
    }

    pub fn processing_robot(&self, id: u64) -> Result<Option<ProcessingRobot>> {
        self.get(&id_key(PROCESSING, id))
    }

    pub fn put_processing(&mut self, r: &ProcessingRobot) -> Result<()> {
        self.config_changed();
        self.put(id_key(PROCESSING, r.id), r)
    }

    pub fn delete_processing(&mut self, id: u64) {
        self.config_changed();
        self.del(id_key(PROCESSING, id));
    }

    pub fn linkage_robot(&self, id: u64) -> Result<Option<LinkageRobot>> {
        self.get(&id_key(LINKAGE, id))
    }

    pub fn put_linkage(&mut self, r: &LinkageRobot) -> Result<()> {
        self.config_changed();
        self.put(id_key(LINKAGE, r.id), r)
    }

    pub fn delete_linkage(&mut self, id: u64) {
        self.config_changed();
        self.del(id_key(LINKAGE, id));
    }

    pub fn config<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.get(&str_key(CONFIG, name))
    }

    pub fn put_config<T: Serialize>(&mut self, name: &str, v: &T) -> Result<()> {
        self.config_changed();
        self.put(str_key(CONFIG, name), v)
    }
}

fn adjust(c: &mut Counts, s: &InstructionSummary, delta: i64) {
    let e = c.by_status.entry(s.status).or_default();
    *e = e.saturating_add_signed(delta);
    if s.upstream_error {
        c.upstream_errors = c.upstream_errors.saturating_add_signed(delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_screen_reads_order_dates_as_text_in_date_order() {
        let finder = memchr::memmem::Finder::new(ORDER_DATE_KEY);
        let date = |json: &'static str| summary_order_date(&finder, json);
        assert_eq!(
            date(r#"{"id":1,"order_date":"2026-05-01T10:00:00","buyer":"a"}"#),
            Some(Some("2026-05-01T10:00:00"))
        );
        assert_eq!(date(r#"{"id":1,"order_date":null}"#), Some(None));
        // A buyer's name holding the key's text is escaped: only the real key is found.
        assert_eq!(
            date(r#"{"buyer":"\"order_date\":\"1999","order_date":"2026-05-01T10:00:00.5"}"#),
            Some(Some("2026-05-01T10:00:00.5"))
        );
        assert_eq!(date(r#"{"id":1}"#), None);
        assert_eq!(date(r#"{"order_date":"not a date"}"#), None);
        // The text's order is the dates' order, fractions included.
        let mut texts = vec![
            "2026-05-01T10:00:00.25",
            "2026-05-01T10:00:00",
            "2025-12-31T23:59:59",
            "2026-05-01T10:00:00.5",
            "2026-05-01T09:59:59.999",
        ];
        texts.sort();
        let dates: Vec<chrono::NaiveDateTime> = texts
            .iter()
            .map(|t| serde_json::from_str(&format!("\"{t}\"")).expect("a date"))
            .collect();
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
    }
}
