//! The archive: 出荷済み and キャンセル instructions past a configurable age leave the hot store
//! for one append-only file per month of their order date (`DATA/archive/2026-05.arc`), so that
//! the queues, the indexes and a start after a crash only ever deal with what is live.
//!
//! A file is a sequence of frames. Each frame holds up to a batch of instructions (with their
//! history): a small uncompressed head naming them (order number, shop, status), so that
//! `shukka order NO` and the intake's "was this order archived?" read heads only, then the
//! records compressed with the store's instruction dictionary. A CRC covers head and body.
//!
//! Moving a batch is crash-safe in three steps (see [`Store::archive_run`]): an intent is
//! committed to the store (which file, at which length, which instruction versions); the
//! frame is appended and synced; then the instructions are removed in the same atomic batch
//! that clears the intent. An open that finds an intent finishes it — the frame is whole and
//! the versions unchanged: remove them — or undoes it: cut the file back to its old length.
//! Either way each instruction is in exactly one place.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::keys::*;
use super::{Result, Store, StoreError, Txn, codec, pack, unpack};
use crate::domain::{AuditEntry, Instruction, InstructionSummary, Status, Upstream};

/// The archive's directory inside the data directory.
pub const DIR: &str = "archive";
const EXT: &str = "arc";
const MAGIC: [u8; 4] = *b"SKA1";
/// magic, batch, head length, body length, CRC.
const FRAME_HEAD: usize = 4 + 8 + 4 + 4 + 4;
/// Instructions per frame by default (one commit of the hot store each).
pub const BATCH: usize = 500;
/// A frame larger than this is not a frame (a damaged length): never allocated.
const MAX_PART: u32 = 256 * 1024 * 1024;
/// Default age after which finished instructions are archived.
pub const DEFAULT_AFTER_DAYS: u32 = 180;
/// The configuration record (`[archive]` of the setup file).
pub const CFG_ARCHIVE: &str = "archive";
const INTENT: &str = "archive/intent";
const ARCHIVED: &str = "archived";

/// `[archive]`: how old a finished instruction must be before it is archived (0: never).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    pub after_days: u32,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            after_days: DEFAULT_AFTER_DAYS,
        }
    }
}

/// What a frame's head says of one archived instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    pub auth_id: u64,
    pub order_no: String,
    pub status: Status,
}

/// One archived instruction: the record as it was in the hot store, and its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Archived {
    pub instruction: Instruction,
    pub audit: Vec<AuditEntry>,
    pub archived_at: DateTime<FixedOffset>,
}

/// One hit of `shukka archive search`: where, and what the queues would show of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchiveHit {
    pub month: String,
    pub summary: InstructionSummary,
}

/// One month file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthInfo {
    pub month: String,
    pub instructions: u64,
    pub frames: u64,
    pub bytes: u64,
}

/// What one archive run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveReport {
    /// Instructions moved to the archive.
    pub moved: u64,
    /// Batches committed.
    pub batches: u64,
    /// Finished and old enough, but changed while being archived: left for the next run.
    pub changed: u64,
    /// Months written to.
    pub months: Vec<String>,
}

/// Options of one run.
#[derive(Clone, Debug)]
pub struct ArchiveOptions {
    /// Finished instructions last changed before this are archived.
    pub cutoff: DateTime<FixedOffset>,
    /// Instructions per frame.
    pub batch: usize,
    /// Only count what would move.
    pub dry_run: bool,
}

/// An archive run committed this batch (for progress lines and the crash test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchDone {
    pub batch: u64,
    pub month: String,
    pub ids: Vec<u64>,
}

/// The open archive: its directory, and the heads of the months read so far (the intake asks
/// of every new order whether it was archived; most orders are recent, with no month file).
pub(crate) struct Archive {
    dir: PathBuf,
    months: Mutex<MonthCache>,
    /// One archive run at a time.
    pub(crate) running: Mutex<()>,
}

/// The heads read so far, and a count of the writes since: a set read while a frame was being
/// written is not kept (it could lack that frame).
#[derive(Default)]
struct MonthCache {
    sets: HashMap<String, Arc<HashSet<(u64, String)>>>,
    writes: u64,
}

/// The pending move, committed before the frame is written.
#[derive(Serialize, Deserialize)]
struct Intent {
    batch: u64,
    month: String,
    /// The file's length before the frame.
    offset: u64,
    /// Each instruction and the version that was written to the frame.
    ids: Vec<(u64, u64)>,
}

/// The archive's month for an order date: `2026-05`, or `undated`.
pub fn month_of(order_date: Option<NaiveDateTime>) -> String {
    match order_date {
        Some(d) => format!("{:04}-{:02}", d.year(), d.month()),
        None => "undated".into(),
    }
}

fn valid_month(m: &str) -> bool {
    m == "undated"
        || (m.len() == 7
            && m.as_bytes()[4] == b'-'
            && m.bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit()))
}

fn damaged(path: &Path, at: u64, what: &str) -> StoreError {
    StoreError::Corrupt {
        key: format!("{}@{at}", path.display()),
        detail: format!(
            "{what}; keep the file, and restore it from your latest backup (shukka restore) if the orders in it are needed"
        ),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Sled(format!("archive {}: {e}", path.display()))
}

/// One frame as read: where it starts, its batch, its head, and (when asked) its body.
pub(crate) struct Frame {
    pub offset: u64,
    pub len: u64,
    pub batch: u64,
    pub entries: Vec<Entry>,
    body: Option<Vec<u8>>,
}

impl Frame {
    fn records(&self, path: &Path) -> Result<Vec<Archived>> {
        let Some(body) = &self.body else {
            return Ok(Vec::new());
        };
        let plain = codec::decompress(codec::Dict::Instruction, body)
            .map_err(|e| damaged(path, self.offset, &format!("a frame does not unpack: {e}")))?;
        unpack(&plain)
            .map_err(|e| damaged(path, self.offset, &format!("a frame does not read: {e}")))
    }
}

/// Encodes a frame.
fn encode_frame(batch: u64, entries: &[Entry], records: &[Archived]) -> Result<Vec<u8>> {
    let head = pack(&entries).map_err(StoreError::Encode)?;
    let plain = pack(&records).map_err(StoreError::Encode)?;
    let body = codec::compress(codec::Dict::Instruction, &plain).map_err(StoreError::Encode)?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head);
    crc.update(&body);
    let mut out = Vec::with_capacity(FRAME_HEAD + head.len() + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&batch.to_be_bytes());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
    Ok(out)
}

/// How a file reads: its whole frames, and whether it ends in a torn one (at that offset).
pub(crate) struct FileRead {
    pub frames: Vec<Frame>,
    pub torn_at: Option<u64>,
}

/// Reads a month file's frames (bodies only when `bodies`). A frame cut short at the end of
/// the file is a torn tail (a write that never finished); a whole frame that fails its CRC is
/// damage, and an error.
pub(crate) fn read_file(path: &Path, bodies: bool) -> Result<FileRead> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let len = f.metadata().map_err(|e| io_err(path, e))?.len();
    let mut frames = Vec::new();
    let mut at = 0u64;
    while at < len {
        match read_frame(&mut f, path, at, len, bodies)? {
            Some(frame) => {
                at += frame.len;
                frames.push(frame);
            }
            None => {
                return Ok(FileRead {
                    frames,
                    torn_at: Some(at),
                });
            }
        }
    }
    Ok(FileRead {
        frames,
        torn_at: None,
    })
}

/// The frame starting at `at` of a file `len` bytes long (`f` positioned there), or `None`
/// when the file ends inside it.
fn read_frame(
    f: &mut std::fs::File,
    path: &Path,
    at: u64,
    len: u64,
    bodies: bool,
) -> Result<Option<Frame>> {
    let mut head = [0u8; FRAME_HEAD];
    if len - at < FRAME_HEAD as u64 {
        return Ok(None);
    }
    f.read_exact(&mut head).map_err(|e| io_err(path, e))?;
    if head[..4] != MAGIC {
        return Err(damaged(path, at, "not the start of an archive frame"));
    }
    let num = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&head[r]);
        u32::from_be_bytes(b)
    };
    let mut b8 = [0u8; 8];
    b8.copy_from_slice(&head[4..12]);
    let batch = u64::from_be_bytes(b8);
    let (hl, bl, crc) = (num(12..16), num(16..20), num(20..24));
    if hl > MAX_PART || bl > MAX_PART {
        return Err(damaged(path, at, "a frame length is out of range"));
    }
    let total = FRAME_HEAD as u64 + u64::from(hl) + u64::from(bl);
    if len - at < total {
        return Ok(None);
    }
    let mut h = vec![0u8; hl as usize];
    f.read_exact(&mut h).map_err(|e| io_err(path, e))?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h);
    let body = if bodies {
        let mut b = vec![0u8; bl as usize];
        f.read_exact(&mut b).map_err(|e| io_err(path, e))?;
        hasher.update(&b);
        if hasher.finalize() != crc {
            return Err(damaged(path, at, "a frame fails its checksum"));
        }
        Some(b)
    } else {
        f.seek(SeekFrom::Current(i64::from(bl)))
            .map_err(|e| io_err(path, e))?;
        None
    };
    let entries: Vec<Entry> =
        unpack(&h).map_err(|e| damaged(path, at, &format!("a frame head does not read: {e}")))?;
    Ok(Some(Frame {
        offset: at,
        len: total,
        batch,
        entries,
        body,
    }))
}

/// Reads a month file that no move is writing to: a cut frame at its end is damage (every
/// move that was cut short is finished or undone at open), and an error.
fn read_whole(path: &Path, bodies: bool) -> Result<FileRead> {
    let read = read_file(path, bodies)?;
    match read.torn_at {
        Some(at) => Err(damaged(path, at, "the file ends in a cut frame")),
        None => Ok(read),
    }
}

/// The one frame at `offset`, read in full, if a whole one with a good CRC is there.
fn frame_at(path: &Path, offset: u64) -> Option<Frame> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if offset >= len {
        return None;
    }
    f.seek(SeekFrom::Start(offset)).ok()?;
    read_frame(&mut f, path, offset, len, true).ok().flatten()
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

/// Cuts a month file back to `len` (an unfinished frame), durably.
fn truncate(path: &Path, len: u64) -> Result<()> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => {
            if f.metadata().map_err(|e| io_err(path, e))?.len() > len {
                f.set_len(len).map_err(|e| io_err(path, e))?;
                f.sync_all().map_err(|e| io_err(path, e))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

impl Archive {
    pub(crate) fn new(data_dir: &Path) -> Archive {
        Archive {
            dir: data_dir.join(DIR),
            months: Mutex::new(MonthCache::default()),
            running: Mutex::new(()),
        }
    }

    pub(crate) fn path(&self, month: &str) -> PathBuf {
        self.dir.join(format!("{month}.{EXT}"))
    }

    /// The months on disk, oldest first.
    pub(crate) fn months(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        for e in rd {
            let e = e.map_err(|e| io_err(&self.dir, e))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(m) = name.strip_suffix(&format!(".{EXT}"))
                && valid_month(m)
            {
                out.push(m.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether (shop, order number) was archived: the month of its order date is asked.
    pub(crate) fn contains(
        &self,
        auth_id: u64,
        order_no: &str,
        order_date: Option<NaiveDateTime>,
    ) -> Result<bool> {
        let month = month_of(order_date);
        let set = self.month_set(&month)?;
        Ok(set.contains(&(auth_id, order_no.to_string())))
    }

    fn month_set(&self, month: &str) -> Result<Arc<HashSet<(u64, String)>>> {
        let writes = {
            let c = self.months.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = c.sets.get(month) {
                return Ok(Arc::clone(s));
            }
            c.writes
        };
        let path = self.path(month);
        let mut set = HashSet::new();
        if path.exists() {
            for f in read_file(&path, false)?.frames {
                for e in f.entries {
                    set.insert((e.auth_id, e.order_no));
                }
            }
        }
        let set = Arc::new(set);
        let mut c = self.months.lock().unwrap_or_else(|e| e.into_inner());
        if c.writes == writes {
            c.sets.insert(month.to_string(), Arc::clone(&set));
        }
        Ok(set)
    }

    /// Forgets what was read of `month` (it was written to, or restored).
    pub(crate) fn forget(&self, month: Option<&str>) {
        let mut c = self.months.lock().unwrap_or_else(|e| e.into_inner());
        c.writes += 1;
        match month {
            Some(month) => {
                c.sets.remove(month);
            }
            None => c.sets.clear(),
        }
    }

    /// Appends a frame at `offset` (cutting anything after it first) and syncs it.
    fn append(&self, month: &str, offset: u64, frame: &[u8]) -> Result<()> {
        super::create_private_dir(&self.dir)?;
        let path = self.path(month);
        let created = !path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io_err(&path, e))?;
        }
        f.set_len(offset).map_err(|e| io_err(&path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| io_err(&path, e))?;
        f.write_all(frame).map_err(|e| io_err(&path, e))?;
        f.sync_all().map_err(|e| io_err(&path, e))?;
        if created {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Where the next frame goes: after the last whole frame (a torn tail that no intent
    /// explains is written over, never left in front of good frames).
    fn end(&self, month: &str) -> Result<u64> {
        let path = self.path(month);
        if !path.exists() {
            return Ok(0);
        }
        let read = read_file(&path, false)?;
        match read.torn_at {
            Some(at) => {
                tracing::warn!(file = %path.display(), at, "an archive file ended in a cut frame that no move explains; writing after its last whole frame");
                Ok(at)
            }
            None => self.len(month),
        }
    }

    fn len(&self, month: &str) -> Result<u64> {
        let path = self.path(month);
        match std::fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(io_err(&path, e)),
        }
    }
}

/// Whether an instruction is finished for good and old enough to leave the hot store:
/// 出荷済み with futureshop told (or shipped outside shukka), or キャンセル with any
/// 出荷後キャンセル acknowledged; nothing still in a 同梱 decision; last changed before `cutoff`.
pub fn archivable(i: &Instruction, cutoff: DateTime<FixedOffset>) -> bool {
    if i.updated_at >= cutoff {
        return false;
    }
    match i.status {
        Status::Shipped => matches!(
            i.upstream,
            Upstream::Accepted { .. } | Upstream::External { .. }
        ),
        Status::Cancelled => !i.cancelled_after_shipment || i.late_cancel_ack.is_some(),
        _ => false,
    }
}

impl Txn<'_> {
    /// Adds `n` to the stored count of archived instructions, in this transaction (read from
    /// the record, never from memory: it moves only with the removals it counts).
    fn count_archived(&mut self, n: u64) -> Result<()> {
        let key = str_key(META, ARCHIVED);
        let now = self.get_raw(&key)?.as_deref().and_then(be_u64).unwrap_or(0) + n;
        self.put_raw(key, now.to_be_bytes().to_vec());
        self.counts.archived = now;
        Ok(())
    }

    /// Whether futureshop's order was archived already (never taken in a second time).
    pub fn archived(
        &self,
        auth_id: u64,
        order_no: &str,
        order_date: Option<NaiveDateTime>,
    ) -> Result<bool> {
        self.archive.contains(auth_id, order_no, order_date)
    }

    /// Takes an instruction, its summary and its history out of the hot store (it is in a
    /// frame already), in this transaction.
    fn archive_out(&mut self, i: &Instruction) -> Result<()> {
        let summary = i.summary();
        super::adjust(&mut self.counts, &summary, -1);
        self.del(id_key(INSTRUCTION, i.id));
        self.del(id_key(SUMMARY, i.id));
        self.del(id_key(DETAIL_PENDING, i.id));
        let mut prefix = vec![AUDIT_BY_INSTRUCTION];
        prefix.extend_from_slice(&i.id.to_be_bytes());
        for k in self.data.scan_prefix(&prefix).keys() {
            let k = k?;
            if let Some(seq) = be_u64(&k[9..]) {
                self.del(id_key(AUDIT, seq));
            }
            self.del(k.to_vec());
        }
        self.delta
            .removed
            .push((i.id, summary.status, (i.auth_id, i.order_no.clone())));
        Ok(())
    }
}

impl Store {
    /// Instructions in the archive.
    fn archived_count(&self) -> Result<u64> {
        Ok(self.meta_u64(ARCHIVED)?.unwrap_or(0))
    }

    pub(crate) fn load_archived_count(&self, counts: &mut super::Counts) -> Result<()> {
        counts.archived = self.archived_count()?;
        Ok(())
    }

    /// The archive's months, with what each holds.
    pub fn archive_months(&self) -> Result<Vec<MonthInfo>> {
        let a = &self.inner.archive;
        let _running = self.archive_paused();
        let mut out = Vec::new();
        for m in a.months()? {
            let path = a.path(&m);
            let read = read_whole(&path, false)?;
            out.push(MonthInfo {
                instructions: read.frames.iter().map(|f| f.entries.len() as u64).sum(),
                frames: read.frames.len() as u64,
                bytes: a.len(&m)?,
                month: m,
            });
        }
        Ok(out)
    }

    /// What one month holds (order numbers, IDs, statuses, in the order they were archived),
    /// from the frames' heads only. `month` must name one of the archive's files: it is
    /// looked up among them, never made into a path.
    pub fn archive_month(&self, month: &str) -> Result<Vec<Entry>> {
        let a = &self.inner.archive;
        let _running = self.archive_paused();
        let Some(m) = a.months()?.into_iter().find(|m| m == month) else {
            let month = crate::sanitize::sanitize(month);
            return Err(StoreError::NotFound(crate::msg!(
                "アーカイブに {month} の月はありません (shukka archive list で一覧できます)",
                "the archive has no month {month} (shukka archive list shows them)",
            )));
        };
        let read = read_whole(&a.path(&m), false)?;
        Ok(read.frames.into_iter().flat_map(|f| f.entries).collect())
    }

    /// Every archived instruction with this order number (any shop), newest month first.
    pub fn archived_order(&self, order_no: &str) -> Result<Vec<(String, Archived)>> {
        let a = &self.inner.archive;
        let _running = self.archive_paused();
        let mut out = Vec::new();
        for m in a.months()?.into_iter().rev() {
            let path = a.path(&m);
            let heads = read_whole(&path, false)?;
            for f in heads.frames {
                if !f.entries.iter().any(|e| e.order_no == order_no) {
                    continue;
                }
                let Some(full) = frame_at(&path, f.offset) else {
                    return Err(damaged(&path, f.offset, "a frame fails its checksum"));
                };
                for r in full.records(&path)? {
                    if r.instruction.order_no == order_no {
                        out.push((m.clone(), r));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Archived instructions matching `text`: an order number, or a piece of a name, kana,
    /// e-mail address, phone number, postal code, address or tracking number (width and case
    /// folded). Newest month first, at most `limit`.
    pub fn archive_search(&self, text: &str, limit: usize) -> Result<Vec<ArchiveHit>> {
        let needles = needles(text);
        if needles[0].is_empty() {
            return Ok(Vec::new());
        }
        let a = &self.inner.archive;
        let _running = self.archive_paused();
        let mut out = Vec::new();
        for m in a.months()?.into_iter().rev() {
            let path = a.path(&m);
            for f in read_whole(&path, true)?.frames {
                for r in f.records(&path)? {
                    let hay = search_text(&r.instruction);
                    if needles.iter().any(|n| hay.contains(n.as_str())) {
                        out.push(ArchiveHit {
                            month: m.clone(),
                            summary: r.instruction.summary(),
                        });
                        if out.len() >= limit {
                            return Ok(out);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Every frame of every month, raw (for backups): (month, frame bytes).
    pub(crate) fn for_each_archive_frame(
        &self,
        mut f: impl FnMut(&str, &[u8]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let a = &self.inner.archive;
        let mut n = 0;
        for m in a.months()? {
            let path = a.path(&m);
            let read = read_whole(&path, false)?;
            let mut file = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
            for fr in read.frames {
                let mut buf = vec![0u8; fr.len as usize];
                file.seek(SeekFrom::Start(fr.offset))
                    .map_err(|e| io_err(&path, e))?;
                file.read_exact(&mut buf).map_err(|e| io_err(&path, e))?;
                f(&m, &buf).map_err(|e| io_err(&path, e))?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Holds archive runs off (a backup must see records and frames of one moment).
    pub(crate) fn archive_paused(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .archive
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Writes a restored archive beside the live one, each file read back whole: nothing is
    /// swapped in unless every frame reads (see [`Store::swap_archive`]).
    pub(crate) fn stage_archive(&self, frames: Vec<(String, Vec<u8>)>) -> Result<PathBuf> {
        let a = &self.inner.archive;
        let staged = a.dir.with_extension("restore");
        let _ = std::fs::remove_dir_all(&staged);
        super::create_private_dir(&staged)?;
        let mut by_month: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (m, bytes) in frames {
            if !valid_month(&m) {
                return Err(StoreError::BadBackup(crate::msg::Msg::same(format!(
                    "the backup: archive month {m:?} is not a month"
                ))));
            }
            by_month.entry(m).or_default().extend_from_slice(&bytes);
        }
        for (m, bytes) in &by_month {
            let path = staged.join(format!("{m}.{EXT}"));
            let mut f = super::create_private_file(&path).map_err(|e| io_err(&path, e))?;
            f.write_all(bytes).map_err(|e| io_err(&path, e))?;
            f.sync_all().map_err(|e| io_err(&path, e))?;
            let read = read_file(&path, true).map_err(|e| {
                StoreError::BadBackup(crate::msg::Msg::same(format!(
                    "the backup: archive month {m}: {e}"
                )))
            })?;
            for f in &read.frames {
                f.records(&path)?;
            }
            if read.torn_at.is_some() {
                return Err(StoreError::BadBackup(crate::msg::Msg::same(format!(
                    "the backup: archive month {m} ends in a cut frame"
                ))));
            }
        }
        sync_dir(&staged)?;
        Ok(staged)
    }

    /// Puts a staged archive in place of the live one.
    pub(crate) fn swap_archive(&self, staged: &Path) -> Result<()> {
        let a = &self.inner.archive;
        let _running = a.running.lock().unwrap_or_else(|e| e.into_inner());
        let old = a.dir.with_extension("old");
        let _ = std::fs::remove_dir_all(&old);
        if a.dir.exists() {
            std::fs::rename(&a.dir, &old).map_err(|e| io_err(&a.dir, e))?;
        }
        std::fs::rename(staged, &a.dir).map_err(|e| io_err(&a.dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
        a.forget(None);
        Ok(())
    }

    /// Finishes or undoes a move that a stop interrupted (see the module's comment). Run at
    /// every open and before every run.
    pub(crate) fn archive_recover(&self) -> Result<()> {
        let key = str_key(META, INTENT);
        let Some(raw) = self.inner.data.get(&key)? else {
            return Ok(());
        };
        let intent: Intent = unpack(&raw).map_err(|e| StoreError::Corrupt {
            key: INTENT.into(),
            detail: e,
        })?;
        let a = &self.inner.archive;
        let path = a.path(&intent.month);
        let whole = frame_at(&path, intent.offset).filter(|f| f.batch == intent.batch);
        let finished = match whole {
            Some(_) => unchanged(self.write(|t| {
                let mut n = 0;
                for (id, version) in &intent.ids {
                    match t.instruction(*id)? {
                        Some(i) if i.version == *version => {
                            t.archive_out(&i)?;
                            n += 1;
                        }
                        Some(_) => return Err(changed()),
                        None => {}
                    }
                }
                t.count_archived(n)?;
                t.del(key.clone());
                Ok::<_, StoreError>(())
            }))?,
            None => false,
        };
        if !finished {
            truncate(&path, intent.offset)?;
            self.inner.data.remove(&key)?;
        }
        self.inner.db.flush()?;
        a.forget(Some(&intent.month));
        tracing::info!(
            batch = intent.batch,
            month = %intent.month,
            finished,
            "an interrupted archive move was {}",
            if finished { "finished" } else { "undone" }
        );
        Ok(())
    }

    /// Moves finished instructions older than the cutoff to the archive, a batch (one frame,
    /// one commit) at a time. `done` hears of each committed batch.
    pub fn archive_run(
        &self,
        opts: &ArchiveOptions,
        mut done: impl FnMut(&BatchDone),
    ) -> Result<ArchiveReport> {
        let a = &self.inner.archive;
        let _running = a.running.lock().unwrap_or_else(|e| e.into_inner());
        self.archive_recover()?;
        let mut report = ArchiveReport::default();
        // Candidates from the index (summaries: no record read), grouped by month.
        let mut by_month: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        {
            let index = self.inner.index.read()?;
            for s in [Status::Shipped, Status::Cancelled] {
                for id in &index.by_status[usize::from(s.index())] {
                    let Some(json) = index.summary_json.get(id) else {
                        continue;
                    };
                    let Ok(sum) = serde_json::from_str::<InstructionSummary>(json) else {
                        continue;
                    };
                    if sum.updated_at < opts.cutoff && !sum.upstream_error && !sum.late_cancel_open
                    {
                        by_month
                            .entry(month_of(sum.order_date))
                            .or_default()
                            .push(*id);
                    }
                }
            }
        }
        let batch_size = opts.batch.max(1);
        for (month, ids) in by_month {
            for chunk in ids.chunks(batch_size) {
                let mut records = Vec::new();
                for id in chunk {
                    let Some(i) = self.instruction(*id)? else {
                        continue;
                    };
                    if !archivable(&i, opts.cutoff) {
                        continue;
                    }
                    // The stored entries (the intake line is made from the record itself).
                    let audit = self.audit_entries(i.id)?;
                    records.push(Archived {
                        instruction: i,
                        audit,
                        archived_at: chrono::Utc::now().with_timezone(&crate::time::jst()),
                    });
                }
                if records.is_empty() {
                    continue;
                }
                if opts.dry_run {
                    report.moved += records.len() as u64;
                    continue;
                }
                match self.archive_batch(&month, &records)? {
                    Some(b) => {
                        report.moved += b.ids.len() as u64;
                        report.batches += 1;
                        if !report.months.contains(&month) {
                            report.months.push(month.clone());
                        }
                        done(&b);
                    }
                    None => report.changed += records.len() as u64,
                }
            }
        }
        if report.moved > 0 && self.snapshot_due() {
            // Every removal left a change mark for the index snapshot: bring the snapshot up
            // to date now, which clears them (a store that archived a year in one run would
            // otherwise carry a mark per archived instruction until the scheduler's turn).
            self.save_snapshot()?;
        }
        if report.moved > 0 {
            // The consoles' lists lost rows: every console reloads.
            let _ = self.inner.events.send(Arc::new(super::StoreEvent {
                changes: vec![super::Change::Reload],
                counts: Some(self.counts()),
            }));
        }
        Ok(report)
    }

    /// One batch: intent, frame, removal (see the module's comment). `None` when one of the
    /// instructions changed meanwhile (the frame is cut away again; the next run retries).
    fn archive_batch(&self, month: &str, records: &[Archived]) -> Result<Option<BatchDone>> {
        let a = &self.inner.archive;
        let offset = a.end(month)?;
        let batch = self.write(|t| Ok::<_, StoreError>(t.next_id(super::SEQ_ARCHIVE)))?;
        let intent = Intent {
            batch,
            month: month.to_string(),
            offset,
            ids: records
                .iter()
                .map(|r| (r.instruction.id, r.instruction.version))
                .collect(),
        };
        let key = str_key(META, INTENT);
        self.inner
            .data
            .insert(&key, pack(&intent).map_err(StoreError::Encode)?)?;
        self.inner.db.flush()?;
        let entries: Vec<Entry> = records
            .iter()
            .map(|r| Entry {
                id: r.instruction.id,
                auth_id: r.instruction.auth_id,
                order_no: r.instruction.order_no.clone(),
                status: r.instruction.status,
            })
            .collect();
        let frame = encode_frame(batch, &entries, records)?;
        a.append(month, offset, &frame)?;
        // Before the commit takes them out of the hot index: the intake must find them in
        // one of the two at every moment.
        a.forget(Some(month));
        let committed = unchanged(self.write(|t| {
            for r in records {
                match t.instruction(r.instruction.id)? {
                    Some(i) if i.version == r.instruction.version => t.archive_out(&i)?,
                    _ => return Err(changed()),
                }
            }
            t.count_archived(records.len() as u64)?;
            t.del(key.clone());
            Ok::<_, StoreError>(())
        }))?;
        if !committed {
            truncate(&a.path(month), offset)?;
            self.inner.data.remove(&key)?;
        }
        self.inner.db.flush()?;
        a.forget(Some(month));
        Ok(committed.then(|| BatchDone {
            batch,
            month: month.to_string(),
            ids: entries.iter().map(|e| e.id).collect(),
        }))
    }
}

/// The refusal that aborts a move's transaction (nothing of it is written): an instruction
/// changed since its frame was made.
fn changed() -> StoreError {
    StoreError::Conflict(crate::msg::Msg::same(
        "an instruction changed while it was being archived",
    ))
}

/// Whether a move's transaction went through (`false`: aborted by [`changed`]).
fn unchanged(r: Result<()>) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Width and case folded, for matching what an operator types against what a customer typed.
fn fold(s: &str) -> String {
    crate::normalize::fold_width(s).to_lowercase()
}

/// What a search looks through, of one instruction: the order number, the buyer's and each
/// recipient's name, kana, postal code, address and phone (also as bare digits), the e-mail
/// address and the tracking numbers.
fn search_text(i: &Instruction) -> String {
    let mut s = String::new();
    let mut add = |t: &str| {
        if !t.is_empty() {
            s.push_str(t);
            s.push('\n');
        }
    };
    add(&i.order_no);
    add(&i.buyer_mail);
    for a in std::iter::once(&i.buyer).chain(i.destinations.iter().map(|d| &d.address)) {
        for t in [&a.name, &a.name_kana, &a.postal_code, &a.address, &a.phone] {
            add(t);
        }
        add(&crate::normalize::name_key(&a.name));
        add(&crate::normalize::name_key(&a.name_kana));
        add(&crate::normalize::phone_digits(&a.phone));
        add(&crate::normalize::digits(&a.postal_code));
    }
    for d in &i.destinations {
        if let Some(t) = &d.tracking_no {
            add(t);
            add(&crate::normalize::digits(t));
        }
    }
    fold(&s)
}

/// The needle as typed, and as bare digits when it is a number typed with dashes or spaces
/// (`090-1234-5678`, `123 4567`).
fn needles(text: &str) -> Vec<String> {
    let folded = fold(text.trim());
    let mut out = vec![folded.clone()];
    let key = crate::normalize::name_key(&folded);
    if key != folded && !key.is_empty() {
        out.push(key);
    }
    if folded.chars().any(|c| c.is_ascii_digit())
        && folded
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | 'ー' | '−'))
    {
        let d = crate::normalize::digits(&folded);
        if d != folded {
            out.push(d);
        }
    }
    out
}
