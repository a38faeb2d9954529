//! Compaction: sled 0.34 does not give back the space of rewritten records (a store whose
//! every instruction changed status ten times is about twice its size; `segment_cleanup_*`
//! are no-ops in 0.34), so the store is rewritten into a fresh sled directory under the store's
//! lock and swapped in. Crash-safe: the copy is complete and flushed before a marker file says
//! so, the swap is two renames, and the next open finishes or discards whatever a kill left.
//!
//! ```text
//! store/            the store
//! store.compact/    the copy being written (discarded at open without the marker)
//! store.compact.done  the marker: the copy is whole (the next open completes the swap)
//! store.old/        the store before the swap (removed once the copy is in place)
//! ```

use std::path::{Path, PathBuf};

use super::{Result, StoreError};

/// Grown this much since the last compaction (or since it was first measured), a store is
/// compacted when `shukka serve` stops.
pub const GROWTH: f64 = 1.5;

/// Stores smaller than this are not compacted when the server stops (not worth the time).
pub const MIN_SIZE: u64 = 32 * 1024 * 1024;

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compacted {
    pub before: u64,
    pub after: u64,
    pub records: u64,
}

struct Paths {
    store: PathBuf,
    copy: PathBuf,
    done: PathBuf,
    old: PathBuf,
    baseline: PathBuf,
}

fn paths(dir: &Path) -> Paths {
    Paths {
        store: dir.join("store"),
        copy: dir.join("store.compact"),
        done: dir.join("store.compact.done"),
        old: dir.join("store.old"),
        baseline: dir.join("store.size"),
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Open {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io(dir))
}

/// The bytes of the files under `p`.
pub fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Finishes or discards a compaction a kill interrupted. Called with the store's lock held,
/// before sled opens the store.
pub(crate) fn recover(dir: &Path) -> Result<()> {
    let p = paths(dir);
    if p.done.exists() {
        // The copy is whole: finish the swap wherever it stopped.
        if p.copy.exists() {
            if p.store.exists() {
                std::fs::rename(&p.store, &p.old).map_err(io(&p.store))?;
            }
            std::fs::rename(&p.copy, &p.store).map_err(io(&p.copy))?;
            sync_dir(dir)?;
        }
        std::fs::remove_file(&p.done).map_err(io(&p.done))?;
        sync_dir(dir)?;
    }
    if p.copy.exists() {
        std::fs::remove_dir_all(&p.copy).map_err(io(&p.copy))?;
    }
    if p.old.exists() {
        std::fs::remove_dir_all(&p.old).map_err(io(&p.old))?;
    }
    Ok(())
}

/// Whether the store grew enough since its last compaction to be compacted now. The first
/// look records the size it starts from.
pub(crate) fn due(dir: &Path, min_size: u64) -> bool {
    let p = paths(dir);
    let size = dir_size(&p.store);
    let base = std::fs::read_to_string(&p.baseline)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match base {
        Some(b) => size >= min_size && size as f64 > b as f64 * GROWTH,
        None => {
            let _ = write_baseline(dir, size);
            false
        }
    }
}

fn write_baseline(dir: &Path, size: u64) -> Result<()> {
    let p = paths(dir);
    let tmp = dir.join("store.size.tmp");
    std::fs::write(&tmp, size.to_string()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &p.baseline).map_err(io(&p.baseline))?;
    Ok(())
}

/// Copies every tree of `from` into a fresh database at `to`, in batches, and flushes it.
fn copy(from: &sled::Db, to: &Path) -> Result<u64> {
    let new = sled::Config::new()
        .path(to)
        .mode(sled::Mode::LowSpace)
        .cache_capacity(64 * 1024 * 1024)
        .open()?;
    let mut records = 0u64;
    for name in from.tree_names() {
        let (src, dst) = (from.open_tree(&name)?, new.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in src.iter() {
            let (k, v) = kv?;
            batch.insert(k, v);
            n += 1;
            if n % 1000 == 0 {
                dst.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        dst.apply_batch(batch)?;
        records += n;
    }
    new.flush()?;
    drop(new);
    Ok(records)
}

/// Rewrites the store (whose directory `dir` the caller has locked and whose sled database
/// `db` is open and idle) and swaps the copy in. `db` is closed on the way.
pub(crate) fn compact_locked(dir: &Path, db: sled::Db) -> Result<Compacted> {
    let p = paths(dir);
    let before = dir_size(&p.store);
    if p.copy.exists() {
        std::fs::remove_dir_all(&p.copy).map_err(io(&p.copy))?;
    }
    db.flush()?;
    let records = copy(&db, &p.copy)?;
    drop(db);
    // sled's background thread lets go of the old files a moment after the last handle.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let marker = std::fs::File::create(&p.done).map_err(io(&p.done))?;
    marker.sync_all().map_err(io(&p.done))?;
    sync_dir(dir)?;
    recover(dir)?;
    let after = dir_size(&p.store);
    write_baseline(dir, after)?;
    Ok(Compacted {
        before,
        after,
        records,
    })
}
