//! The store's size: instruction records compressed with the shipped zstd dictionary. The
//! dictionary is trained from the seeded simulator (`SHUKKA_UPDATE_DICT=1 cargo test --test it
//! store_dictionary` writes `src/store/instruction.zdict`); the test checks it on a shop it
//! was not trained on.

use shukka::domain::Instruction;
use shukka::store::codec::{self, Dict};

use crate::common::*;

async fn instructions(seed: u64, orders: usize) -> (Vec<Instruction>, tempfile::TempDir) {
    let sim = shukka::sim::start(shukka::sim::SimConfig {
        seed,
        orders,
        days: 30,
        settings: shukka::sim::Settings {
            page_size: 100,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("sim");
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let store = engine.store();
    let all = store
        .summaries(None)
        .expect("summaries")
        .iter()
        .filter_map(|s| store.instruction(s.id).expect("read"))
        .collect();
    (all, dir)
}

fn named(i: &Instruction) -> Vec<u8> {
    rmp_serde::to_vec_named(i).expect("msgpack")
}

fn summary(i: &Instruction) -> Vec<u8> {
    serde_json::to_vec(&i.summary()).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_dictionary_compresses_orders_it_was_not_trained_on() {
    if std::env::var_os("SHUKKA_UPDATE_DICT").is_some() {
        let (train, _dir) = instructions(42, 4_000).await;
        for (d, samples, size) in [
            (
                Dict::Instruction,
                train.iter().map(named).collect::<Vec<_>>(),
                112 * 1024,
            ),
            (
                Dict::Summary,
                train.iter().map(summary).collect(),
                16 * 1024,
            ),
        ] {
            let dict = codec::train(&samples, size).expect("train");
            let mut path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src/store")
                .join(d.file_name());
            // A shipped dictionary is never replaced: stores hold records made with it. A new
            // one goes beside it, for a new tag (see store/codec.rs).
            if !d.bytes().is_empty() {
                path.set_extension("zdict.new");
            }
            std::fs::write(&path, &dict).expect("write the dictionary");
            eprintln!(
                "wrote {} ({} bytes) from {} records",
                path.display(),
                dict.len(),
                samples.len()
            );
        }
        return;
    }
    for d in Dict::ALL {
        assert!(
            !d.bytes().is_empty(),
            "the shipped dictionary {d:?} is missing"
        );
    }
    let (held_out, dir) = instructions(7, 400).await;
    assert!(held_out.len() > 300);
    let (mut raw, mut lz4, mut ours) = (0usize, 0usize, 0usize);
    let (mut sraw, mut sours) = (0usize, 0usize);
    for i in &held_out {
        let m = named(i);
        raw += m.len();
        lz4 += lz4_flex::compress_prepend_size(&m).len();
        let z = codec::compress(Dict::Instruction, &m).expect("compress");
        assert_eq!(
            codec::decompress(Dict::Instruction, &z).expect("decompress"),
            m,
            "round trip"
        );
        ours += z.len();
        let s = summary(i);
        sraw += s.len();
        let z = codec::compress(Dict::Summary, &s).expect("compress");
        assert_eq!(codec::decompress(Dict::Summary, &z).expect("decompress"), s);
        sours += z.len();
        // A record compressed with one dictionary is not read with the other.
        assert!(codec::decompress(Dict::Instruction, &z).is_err());
    }
    let n = held_out.len();
    eprintln!(
        "per record: msgpack {} B, lz4 {} B, zstd+dictionary {} B; summary {} B → {} B",
        raw / n,
        lz4 / n,
        ours / n,
        sraw / n,
        sours / n
    );
    assert!(
        ours * 5 <= raw,
        "at least 5× smaller than the record: {ours} of {raw}"
    );
    assert!(
        ours * 5 <= lz4 * 2,
        "at most 40 % of lz4's: {ours} vs {lz4}"
    );
    assert!(
        sours * 2 <= sraw,
        "summaries at least halved: {sours} of {sraw}"
    );
    // And the store reads back what it wrote.
    let engine = engine_in(dir.path());
    for i in held_out.iter().take(50) {
        assert_eq!(
            engine.store().instruction(i.id).expect("read").as_ref(),
            Some(i)
        );
    }
}

/// A damaged compressed record is a clear error naming the key, not a crash or a huge
/// allocation.
#[test]
fn store_a_damaged_compressed_record_is_reported_not_trusted() {
    let m = vec![7u8; 10_000];
    let mut z = codec::compress(Dict::Instruction, &m).expect("compress");
    let mid = z.len() / 2;
    z[mid] ^= 0xff;
    z.truncate(z.len() - 3);
    assert!(codec::decompress(Dict::Instruction, &z).is_err());
    assert!(codec::decompress(Dict::Summary, b"not zstd").is_err());
}

// -----------------------------------------------------------------------------------------
// Compaction

/// Every record of every tree, as sled holds it.
fn all_records(dir: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let db = raw_sled(&dir.join("store"));
    let mut out = Vec::new();
    for name in db.tree_names() {
        let t = db.open_tree(&name).expect("tree");
        for kv in t.iter() {
            let (k, v) = kv.expect("kv");
            out.push((name.to_vec(), k.to_vec(), v.to_vec()));
        }
    }
    out
}

/// A store with `orders` instructions, every one rewritten `rounds` times (status changes),
/// closed.
async fn churned(orders: usize, rounds: usize) -> tempfile::TempDir {
    let (all, dir) = instructions(11, orders).await;
    let engine = engine_in(dir.path());
    for round in 0..rounds {
        for i in &all {
            let i = engine.store().instruction(i.id).expect("r").expect("i");
            if !matches!(
                i.status,
                shukka::domain::Status::Ready | shukka::domain::Status::Held
            ) {
                continue;
            }
            let r = if round % 2 == 0 {
                engine.hold(i.id, Some(i.version), "churn", &operator())
            } else {
                engine.release(i.id, Some(i.version), &operator())
            };
            r.expect("status change");
        }
    }
    engine.store().flush().expect("flush");
    drop(engine);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_compaction_gives_space_back_and_keeps_every_record() {
    let dir = churned(300, 6).await;
    let before_records = all_records(dir.path());
    let data = dir.path();
    let size_before = shukka::store::compact::dir_size(&data.join("store"));
    let out = shukka(data, &["compact"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("MiB →"), "{said}");
    let size_after = shukka::store::compact::dir_size(&data.join("store"));
    assert!(size_after < size_before, "{size_after} < {size_before}");
    assert_eq!(
        all_records(data),
        before_records,
        "every record, byte for byte"
    );
    for leftover in ["store.compact", "store.compact.done", "store.old"] {
        assert!(!data.join(leftover).exists(), "{leftover} left behind");
    }
    // Owner-only, like every file shukka makes.
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(data.join("store"))
        .expect("dir")
        .flatten()
    {
        let mode = e.metadata().expect("meta").permissions().mode() & 0o077;
        assert_eq!(mode, 0, "{} is owner-only", e.path().display());
    }
    // It opens, with its indexes, and refuses to run under an open store.
    let engine = engine_in(data);
    assert!(
        !engine
            .store()
            .summaries(None)
            .expect("summaries")
            .is_empty()
    );
    let out = shukka(data, &["compact"]).await;
    assert!(!out.status.success(), "refused while the store is open");
    assert!(String::from_utf8_lossy(&out.stderr).contains("使用中"));
}

/// A store grown 1.5× under rewrites since it was last measured is compacted when the server
/// stops (`compact_if_due`, what `shukka serve` calls on its way out); one that has not grown is
/// left alone, and so is one another process has open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_grown_under_rewrites_is_compacted_after_the_server_stops() {
    use shukka::store::{compact, compact_if_due};
    let dir = churned(200, 0).await;
    let data = dir.path();
    // The first look measures the size it starts from, and does nothing.
    assert_eq!(compact_if_due(data, 1).expect("first look"), None);
    assert!(data.join("store.size").exists());
    assert_eq!(compact_if_due(data, 1).expect("not grown"), None);
    let base: u64 = std::fs::read_to_string(data.join("store.size"))
        .expect("baseline")
        .trim()
        .parse()
        .expect("number");
    let engine = engine_in(data);
    assert_eq!(compact_if_due(data, 1).expect("open elsewhere"), None);
    let ids: Vec<u64> = engine
        .store()
        .summaries(None)
        .expect("s")
        .iter()
        .map(|s| s.id)
        .collect();
    for round in 0..6 {
        for id in &ids {
            let i = engine.store().instruction(*id).expect("r").expect("i");
            if matches!(
                i.status,
                shukka::domain::Status::Ready | shukka::domain::Status::Held
            ) {
                let _ = if round % 2 == 0 {
                    engine.hold(i.id, Some(i.version), "churn", &operator())
                } else {
                    engine.release(i.id, Some(i.version), &operator())
                };
            }
        }
    }
    engine.store().flush().expect("flush");
    drop(engine);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let grown = compact::dir_size(&data.join("store"));
    assert!(
        grown as f64 > base as f64 * compact::GROWTH,
        "{grown} vs {base}"
    );
    let records = all_records(data);
    let c = compact_if_due(data, 1)
        .expect("compacts")
        .expect("it was due");
    assert!(c.after < c.before, "{c:?}");
    let after = compact::dir_size(&data.join("store"));
    assert!(after < grown, "{after} < {grown}");
    assert_eq!(all_records(data), records);
    assert_eq!(
        compact_if_due(data, 1).expect("again"),
        None,
        "not due again at once"
    );
}

/// SIGKILL at seeded moments of `shukka compact`: after every kill the store opens and holds
/// every record exactly as before — the old store or the new one, never a mix or neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_compaction_killed_at_any_moment_loses_nothing() {
    use rand::{Rng, SeedableRng};
    let dir = churned(300, 4).await;
    let data = dir.path().to_path_buf();
    let records = all_records(&data);
    // How long a whole compaction takes here sets the range of the kills.
    let t0 = std::time::Instant::now();
    let out = shukka(&data, &["compact"]).await;
    assert!(out.status.success());
    let whole = t0.elapsed().as_millis() as u64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc0_4ac7);
    let mut outcomes = std::collections::BTreeMap::new();
    for n in 0..20 {
        let delay = rng.gen_range(0..=whole + whole / 4);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
            .arg("--data-dir")
            .arg(&data)
            .arg("compact")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        *outcomes.entry(status.success()).or_insert(0) += 1;
        // What is left must open (the open finishes or discards the compaction) …
        let store = shukka::store::Store::open(&data)
            .unwrap_or_else(|e| panic!("kill {n} after {delay} ms: the store does not open: {e}"));
        drop(store);
        // … and hold exactly what it held.
        assert_eq!(all_records(&data), records, "kill {n} after {delay} ms");
        for leftover in ["store.compact", "store.compact.done", "store.old"] {
            assert!(
                !data.join(leftover).exists(),
                "kill {n}: {leftover} left behind"
            );
        }
    }
    eprintln!("compactions killed / finished: {outcomes:?} (whole run {whole} ms)");
}

/// Every state a kill can leave between the copy and the swap, made by hand: the open
/// finishes the swap when the copy is whole (the marker), discards it otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_every_interrupted_swap_is_finished_or_discarded_at_open() {
    let dir = churned(100, 2).await;
    let data = dir.path().to_path_buf();
    let records = all_records(&data);
    let cp = |from: &str, to: &str| {
        let s = std::process::Command::new("cp")
            .arg("-a")
            .arg(data.join(from))
            .arg(data.join(to))
            .status()
            .expect("cp");
        assert!(s.success());
    };
    let mv = |from: &str, to: &str| std::fs::rename(data.join(from), data.join(to)).expect("mv");
    let mark = || std::fs::write(data.join("store.compact.done"), b"").expect("marker");
    type Make<'a> = Box<dyn Fn() + 'a>;
    let states: Vec<(&str, Make)> = vec![
        ("a partial copy", Box::new(|| cp("store", "store.compact"))),
        (
            "a whole copy, marked",
            Box::new(|| {
                cp("store", "store.compact");
                mark();
            }),
        ),
        (
            "the old store moved aside",
            Box::new(|| {
                cp("store", "store.compact");
                mark();
                mv("store", "store.old");
            }),
        ),
        (
            "the copy in place, marker and old store left",
            Box::new(|| {
                cp("store", "store.old");
                mark();
            }),
        ),
        (
            "only the old store left",
            Box::new(|| cp("store", "store.old")),
        ),
    ];
    for (what, make) in states {
        make();
        drop(shukka::store::Store::open(&data).unwrap_or_else(|e| panic!("{what}: {e}")));
        assert_eq!(all_records(&data), records, "{what}");
        for leftover in ["store.compact", "store.compact.done", "store.old"] {
            assert!(
                !data.join(leftover).exists(),
                "{what}: {leftover} left behind"
            );
        }
    }
}

// -----------------------------------------------------------------------------------------
// Cold start after a crash

/// What the indexes answer: counts, every summary, the ids per status, order lookups.
type IndexView = (
    shukka::store::Counts,
    String,
    Vec<Vec<u64>>,
    Vec<(String, Option<u64>)>,
);

fn index_view(store: &shukka::store::Store) -> IndexView {
    let all = store.summaries(None).expect("summaries");
    let lookups = all
        .iter()
        .map(|s| {
            (
                s.order_no.clone(),
                store
                    .instruction_id(s.auth_id, &s.order_no)
                    .expect("lookup"),
            )
        })
        .collect();
    (
        store.counts(),
        serde_json::to_string(&all).expect("json"),
        shukka::domain::Status::ALL
            .iter()
            .map(|st| store.ids_in(*st).expect("ids"))
            .collect(),
        lookups,
    )
}

/// A process killed after the index snapshot: the next open reads the snapshot and only the
/// instructions changed since, and ends with exactly the indexes a full rebuild gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_a_crash_after_the_snapshot_replays_only_what_changed() {
    use shukka::domain::Status;
    use shukka::store::{IndexSource, Store};
    let sim = start_sim(150, 50).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    let fetch = range_robot(&engine);
    run(&engine, fetch).await;
    engine.store().save_snapshot().expect("snapshot");
    assert_eq!(
        engine.store().dirty_count(),
        0,
        "the snapshot holds everything"
    );
    // After the snapshot: holds, releases, picks, new orders, an intake error.
    let ready = engine
        .store()
        .summaries(Some(Status::Ready))
        .expect("ready");
    for s in ready.iter().take(6) {
        engine
            .hold(s.id, None, "住所確認", &operator())
            .expect("hold");
    }
    engine
        .release(ready[0].id, None, &operator())
        .expect("release");
    engine
        .start_work(ready[7].id, None, &operator())
        .expect("pick");
    sim.with_state(|s| {
        s.generate_now(12);
        s.create_order(shukka::sim::NewOrder {
            skus: vec!["NO-SUCH-SKU".into()],
            ..Default::default()
        })
    })
    .expect("order");
    run(&engine, fetch).await;
    let changed = engine.store().dirty_count();
    assert!(changed >= 19, "{changed} instructions marked as changed");
    let expected = index_view(engine.store());
    drop(engine); // killed: no snapshot on the way out
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let store = Store::open(dir.path()).expect("reopens");
    assert_eq!(
        store.index_source(),
        IndexSource::Snapshot { replayed: changed },
        "the snapshot and the changes, not a rebuild"
    );
    assert_eq!(index_view(&store), expected);
    drop(store);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    std::fs::remove_file(dir.path().join("index.snapshot")).expect("rm");
    let store = Store::open(dir.path()).expect("reopens");
    assert_eq!(store.index_source(), IndexSource::Rebuilt);
    assert_eq!(index_view(&store), expected, "a rebuild agrees");
}
