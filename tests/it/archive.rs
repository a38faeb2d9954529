//! The archive (issue 16 §3): finished instructions past the age leave the hot store for
//! one append-only file per month, stay readable (`shukka order`, `shukka archive search`),
//! are never taken in again, travel in backups, and a kill at any moment of a move leaves
//! each instruction in exactly one place.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shukka::domain::{Instruction, Status, Upstream};
use shukka::store::Store;

use crate::common::*;

/// What became of the instructions: which stay, which may go.
struct Fixture {
    dir: tempfile::TempDir,
    /// Shipped and told to futureshop, or cancelled: to the archive.
    finished: BTreeMap<u64, Instruction>,
    /// Shipped but not yet told to futureshop, or a 出荷後キャンセル nobody acknowledged:
    /// must stay live whatever their age.
    unfinished: BTreeSet<u64>,
    auth_id: u64,
    sim: shukka::sim::SimHandle,
}

/// A shop with `orders` fetched; then, as robots and operators would have left them over
/// months: two in three finished for good, a few shipped but not yet reported, a few
/// 出荷後キャンセル not acknowledged.
async fn fixture(orders: usize) -> Fixture {
    let sim = start_sim(orders, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let store = engine.store();
    let ids: Vec<u64> = store
        .summaries(None)
        .expect("summaries")
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(ids.len() > orders / 2, "the fetch took orders in");
    let mut finished = BTreeMap::new();
    let mut unfinished = BTreeSet::new();
    let at = chrono::Utc::now().with_timezone(&shukka::time::jst());
    let mut auth_id = 0;
    store
        .write(|t| {
            for (n, id) in ids.iter().enumerate() {
                let Some(mut i) = t.instruction(*id)? else {
                    continue;
                };
                auth_id = i.auth_id;
                let v = i.version;
                match n % 9 {
                    0..=3 => {
                        i.status = Status::Shipped;
                        i.upstream = Upstream::Accepted { at };
                    }
                    4 | 5 => i.status = Status::Cancelled,
                    6 => {
                        i.status = Status::Shipped;
                        i.upstream = Upstream::Pending;
                    }
                    7 => {
                        i.status = Status::Cancelled;
                        i.cancelled_after_shipment = true;
                    }
                    // Left as fetched; the shop's own cancellations are finished too.
                    _ => {
                        if i.status == Status::Cancelled && !i.cancelled_after_shipment {
                            finished.insert(i.id, i);
                        } else if matches!(i.status, Status::Shipped | Status::Cancelled) {
                            unfinished.insert(i.id);
                        }
                        continue;
                    }
                }
                let to = i.status;
                let i = t.update_instruction(v, i)?;
                t.audit(shukka::domain::AuditEntry {
                    seq: 0,
                    at,
                    actor: operator(),
                    target: shukka::domain::Target::Instruction {
                        id: i.id,
                        order_no: i.order_no.clone(),
                    },
                    action: "テスト".into(),
                    from: None,
                    to: Some(to),
                    reason: "months ago".into(),
                })?;
                if n % 9 <= 5 {
                    finished.insert(i.id, i);
                } else {
                    unfinished.insert(i.id);
                }
            }
            Ok::<_, shukka::store::StoreError>(())
        })
        .expect("finish instructions");
    store.flush().expect("flush");
    drop(engine);
    Fixture {
        dir,
        finished,
        unfinished,
        auth_id,
        sim,
    }
}

/// Every archived id, by reading every frame (a search for what every order number holds).
fn archived_ids(store: &Store, fx_ids: &[String]) -> Vec<u64> {
    let mut out = Vec::new();
    for no in fx_ids {
        for (_, a) in store.archived_order(no).expect("archived order") {
            out.push(a.instruction.id);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_moves_only_finished_instructions_and_keeps_them_readable() {
    let fx = fixture(300).await;
    let engine = engine_in(fx.dir.path());
    let before = engine.store().counts();
    let (first_id, _) = fx.finished.iter().next().expect("one");
    let history: Vec<_> = engine
        .store()
        .audit_for(*first_id)
        .expect("audit")
        .into_iter()
        .filter(|e| e.seq != 0)
        .collect();
    assert!(
        !history.is_empty(),
        "the fixture's change is in the history"
    );
    // Nothing is old enough at the default age (180 days).
    let r = engine.archive_now(None, None, false).await.expect("run");
    assert_eq!(r.moved, 0, "nothing is 180 days old");
    let dry = engine.archive_now(Some(0), None, true).await.expect("dry");
    assert_eq!(dry.moved as usize, fx.finished.len());
    assert_eq!(engine.store().counts(), before, "a dry run moves nothing");

    let r = engine
        .archive_now(Some(0), Some(40), false)
        .await
        .expect("run");
    assert_eq!(r.moved as usize, fx.finished.len(), "{r:?}");
    assert!(r.batches >= (fx.finished.len() as u64).div_ceil(40));
    let store = engine.store();
    let c = store.counts();
    assert_eq!(c.archived as usize, fx.finished.len());
    assert_eq!(
        c.instructions() + c.archived,
        before.instructions(),
        "every instruction in one place"
    );
    for (id, i) in &fx.finished {
        assert!(store.instruction(*id).expect("read").is_none());
        assert_eq!(
            store.instruction_id(i.auth_id, &i.order_no).expect("id"),
            None
        );
        assert!(store.audit_for(*id).expect("audit").is_empty());
    }
    for id in &fx.unfinished {
        assert!(
            store.instruction(*id).expect("read").is_some(),
            "unfinished {id} stays live"
        );
    }
    let listed: BTreeSet<u64> = store
        .summaries(None)
        .expect("summaries")
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(fx.finished.keys().all(|id| !listed.contains(id)));

    // Readable as it was, with its history.
    let (id, original) = fx.finished.iter().next().expect("one");
    let found = store.archived_order(&original.order_no).expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].0,
        shukka::store::archive::month_of(original.order_date)
    );
    assert_eq!(&found[0].1.instruction, original);
    assert_eq!(found[0].1.audit, history, "its history moved with it");
    // A month file per month of the order dates, owner-only.
    let months = store.archive_months().expect("months");
    let total: u64 = months.iter().map(|m| m.instructions).sum();
    assert_eq!(total as usize, fx.finished.len());
    {
        use std::os::unix::fs::PermissionsExt;
        let d = fx.dir.path().join("archive");
        assert_eq!(
            std::fs::metadata(&d).expect("dir").permissions().mode() & 0o777,
            0o700
        );
        for m in &months {
            let f = d.join(format!("{}.arc", m.month));
            assert_eq!(
                std::fs::metadata(&f).expect("file").permissions().mode() & 0o777,
                0o600
            );
        }
    }
    // Search by the buyer's name (as typed, without the space) and by phone digits.
    let name = original.buyer.name.replace([' ', '　'], "");
    let hits = store.archive_search(&name, 1000).expect("search");
    assert!(hits.iter().any(|h| h.summary.id == *id), "{name}: {hits:?}");
    assert!(hits.iter().all(|h| fx.finished.contains_key(&h.summary.id)));
    assert!(
        store
            .archive_search("該当しない文字列", 10)
            .expect("search")
            .is_empty()
    );

    // Reopened (snapshot or rebuild): the same queues.
    let counts = store.counts();
    drop(engine);
    let store = Store::open(fx.dir.path()).expect("reopen");
    assert_eq!(store.counts(), counts);
    drop(store);
    let _ = std::fs::remove_file(fx.dir.path().join("index.snapshot"));
    let store = Store::open(fx.dir.path()).expect("reopen without a snapshot");
    assert_eq!(store.counts(), counts, "a rebuild counts the archive too");
    drop(store);

    // The CLI: order NO shows it from the archive; an action on it says why not.
    let no = original.order_no.as_str();
    let out = shukka(fx.dir.path(), &["order", no]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("アーカイブ") && text.contains(no), "{text}");
    let out = shukka(fx.dir.path(), &["hold", no, "--reason", "x"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("アーカイブ済み"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shukka(fx.dir.path(), &["archive", "search", &name]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains(no), "{text}");
    let out = shukka(fx.dir.path(), &["archive", "list"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&months[0].month), "{text}");
    // One month's contents, from the frames' heads: every order archived in it, once.
    let mut listed = BTreeSet::new();
    for m in &months {
        let out = shukka(
            fx.dir.path(),
            &["archive", "list", &m.month, "--format", "json"],
        )
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let entries: Vec<shukka::store::archive::Entry> =
            serde_json::from_slice(&out.stdout).expect("json entries");
        assert_eq!(entries.len() as u64, m.instructions, "{}", m.month);
        for e in entries {
            assert!(listed.insert(e.id), "{} listed twice", e.order_no);
        }
    }
    assert_eq!(listed, fx.finished.keys().copied().collect());
    let out = shukka(fx.dir.path(), &["archive", "list", &months[0].month]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(no) && text.contains("件"), "{text}");
    // A month that is not one of the archive's files is refused by name, never opened: not
    // even a path that would reach a file if it were made into one.
    for bad in ["1999-01", "../store/conf", "2026-05\u{1b}[2J"] {
        let out = shukka(fx.dir.path(), &["archive", "list", bad]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: {err}");
        assert!(
            err.contains("shukka archive list") && !err.contains('\u{1b}'),
            "{bad}: {err}"
        );
    }
    drop(fx.sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_order_fetched_again_is_not_taken_in_again() {
    let fx = fixture(200).await;
    let engine = engine_in(fx.dir.path());
    engine
        .archive_now(Some(0), None, false)
        .await
        .expect("archive");
    let after = engine.store().counts();
    // futureshop sends every order again (a range fetch over all of them).
    run(&engine, range_robot(&engine)).await;
    let store = engine.store();
    assert_eq!(store.counts(), after, "nothing came back as new work");
    for i in fx.finished.values() {
        assert_eq!(
            store.instruction_id(fx.auth_id, &i.order_no).expect("id"),
            None,
            "{} came back",
            i.order_no
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_carry_the_archive_and_restore_it() {
    let fx = fixture(150).await;
    let engine = engine_in(fx.dir.path());
    engine
        .archive_now(Some(0), Some(25), false)
        .await
        .expect("archive");
    let counts = engine.store().counts();
    drop(engine);
    let file = fx
        .dir
        .path()
        .join("..")
        .join(format!("archive-backup-{}.jsonl", std::process::id()));
    let out = shukka(fx.dir.path(), &["backup", file.to_str().expect("utf-8")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = tempfile::tempdir().expect("tmp");
    let out = shukka(fresh.path(), &["restore", file.to_str().expect("utf-8")]).await;
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(fresh.path()).expect("open restored");
    assert_eq!(store.counts(), counts);
    let (_, original) = fx.finished.iter().next_back().expect("one");
    let found = store.archived_order(&original.order_no).expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(&found[0].1.instruction, original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_archive_is_reported_not_trusted() {
    let fx = fixture(120).await;
    let engine = engine_in(fx.dir.path());
    engine
        .archive_now(Some(0), Some(10), false)
        .await
        .expect("archive");
    let months = engine.store().archive_months().expect("months");
    drop(engine);
    let path = fx
        .dir
        .path()
        .join("archive")
        .join(format!("{}.arc", months[0].month));
    let mut bytes = std::fs::read(&path).expect("read");
    let at = bytes.len() - 7;
    bytes[at] ^= 0x5a;
    std::fs::write(&path, &bytes).expect("write");
    let out = shukka(fx.dir.path(), &["archive", "search", "山"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checksum") && err.contains(&months[0].month),
        "{err}"
    );
    // A file cut short (no move in progress): said, not silently shorter.
    bytes[at] ^= 0x5a;
    std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("write");
    let out = shukka(fx.dir.path(), &["archive", "list"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cut frame"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `shukka archive run` in a child, killed with SIGKILL at seeded random moments, again and
/// again on the same data directory; after each kill the store opens and every instruction
/// is in exactly one place (the hot store or one archive frame), with the counts to match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_killed_at_any_moment_leaves_each_instruction_in_one_place() {
    let fx = fixture(400).await;
    let all: BTreeSet<u64> = fx
        .finished
        .keys()
        .copied()
        .chain(fx.unfinished.iter().copied())
        .collect();
    let nos: Vec<String> = fx.finished.values().map(|i| i.order_no.clone()).collect();
    let total_live = Store::open(fx.dir.path())
        .expect("open")
        .counts()
        .instructions();
    let mut rng = StdRng::seed_from_u64(0x0a4c_11e5);
    let mut kills = 0;
    for iteration in 0..20 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shukka"))
            .arg("--data-dir")
            .arg(fx.dir.path())
            .args(["archive", "run", "--older-than", "0", "--batch", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..250)));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        let store = Store::open(fx.dir.path())
            .unwrap_or_else(|e| panic!("iteration {iteration}: the store does not reopen: {e}"));
        let hot: BTreeSet<u64> = all
            .iter()
            .copied()
            .filter(|id| store.instruction(*id).expect("read").is_some())
            .collect();
        let archived = archived_ids(&store, &nos);
        let archived_set: BTreeSet<u64> = archived.iter().copied().collect();
        assert_eq!(
            archived.len(),
            archived_set.len(),
            "iteration {iteration}: an instruction archived twice"
        );
        assert!(
            hot.is_disjoint(&archived_set),
            "iteration {iteration}: in both places: {:?}",
            hot.intersection(&archived_set).collect::<Vec<_>>()
        );
        let everywhere: BTreeSet<u64> = hot.union(&archived_set).copied().collect();
        assert_eq!(
            everywhere, all,
            "iteration {iteration}: an instruction was lost"
        );
        let c = store.counts();
        assert_eq!(c.archived as usize, archived.len(), "iteration {iteration}");
        assert_eq!(
            c.instructions() + c.archived,
            total_live,
            "iteration {iteration}"
        );
        assert!(fx.unfinished.iter().all(|id| hot.contains(id)));
        if archived.len() == fx.finished.len() {
            break;
        }
    }
    // Finished by a last run: everything finished is archived, once.
    let out = shukka(fx.dir.path(), &["archive", "run", "--older-than", "0"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(fx.dir.path()).expect("open");
    let archived = archived_ids(&store, &nos);
    assert_eq!(archived.len(), fx.finished.len());
    assert_eq!(store.counts().archived as usize, fx.finished.len());
    eprintln!("archive crash test: {kills} kills");
    assert!(kills > 0, "no run was ever killed: the test proved nothing");
}

#[test]
fn months_are_named_by_order_date() {
    use shukka::store::archive::month_of;
    let d = chrono::NaiveDate::from_ymd_opt(2026, 5, 31).and_then(|d| d.and_hms_opt(23, 59, 0));
    assert_eq!(month_of(d), "2026-05");
    assert_eq!(month_of(None), "undated");
}
