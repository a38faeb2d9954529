//! Crash safety: `shukka sync` runs in a child process against a simulator holding a few
//! thousand orders and is killed with SIGKILL at seeded random moments. After every kill the
//! store must reopen, hold every order it holds exactly once (as an instruction or an intake
//! error), have no fetch cursor ahead of its committed data, and keep the audit log in step
//! with the statuses. A final sync on every crashed store must leave it equal to what one
//! clean run produces.
//!
//! The run is organised in epochs: each epoch is a copy of a freshly set-up data directory,
//! crashed again and again until its first 差分 fetch has completed (or the iterations run
//! out); then `sync --once` finishes it and it is compared with the clean run. So kills keep
//! landing before, during and after a real fetch instead of only on an idle scheduler.
//!
//! Once an epoch equals the clean run, its store grows old: one order in three is marked
//! shipped and told to futureshop (as robots and operators would have left it), and the next
//! kills land in `shukka archive run` and `shukka compact` (issue 16): after each, every
//! instruction is in exactly one place (the hot store or one archive frame) with the counts
//! to match, and finishing both leaves the store equal to the clean run's, moved alike.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shukka::domain::{PaymentFlag, RunState, Status, Target};
use shukka::robots::linkage::{EASY_FETCH, LinkAction};
use shukka::sim::{self, Settings, SimConfig, SimHandle};
use shukka::store::archive::Entry;
use shukka::store::{Store, SyncCursor};

const ORDERS: usize = 2500;
const PAGE_SIZE: usize = 50;
/// The orders are spread over this many days before the reference time (one day ago).
const DAYS: u32 = 3;
/// Longer than DAYS + 1, so the first 差分 window covers every order.
const LOOKBACK_DAYS: u64 = 7;
const UNKNOWN_SKU_RATE: f64 = 0.02;
const ITERATIONS: usize = 50;
/// Kills in an epoch's upkeep (archive moves and compactions), after its fetch completed.
const UPKEEP_KILLS: usize = 4;
/// Instructions per archive frame in the killed runs: many commits, so kills land between.
const ARCHIVE_BATCH: &str = "3";
const SEED: u64 = 0x5eed_0c4a_54ed;

/// A soak run: `SHUKKA_CRASH_ITERATIONS=500 SHUKKA_CRASH_SEED=9 cargo test --test it crash::`.
fn soak_setting(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const SECRET_VAR: &str = "SHUKKA_CRASH_TEST_SECRET";

/// The shop, frozen: every order number with its order date.
struct Shop {
    /// Sorted by (date, order number), the simulator's paging order.
    orders: Vec<(NaiveDateTime, String)>,
    known: HashSet<String>,
}

/// What the comparison looks at.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    /// order number → (status, payment flag, hold reasons)
    instructions: BTreeMap<String, (Status, PaymentFlag, Vec<String>)>,
    /// order number → reason
    intake_errors: BTreeMap<String, String>,
}

/// How a kill landed, judged from the reopened store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landing {
    /// No fetch run of this child reached the disk (process start, store open, scheduler start).
    Early,
    /// A fetch run of this child was interrupted before its first run completed.
    MidFetch { pages_this_run: u64 },
    /// The first fetch had completed when the child died.
    Completed,
}

fn shukka(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shukka"));
    c.arg("--data-dir")
        .arg(dir)
        .env("NO_COLOR", "1")
        .env_remove("SHUKKA_DATA_DIR")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// Runs a shukka command to completion and insists it succeeds.
fn run_ok(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start shukka: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A data directory set up as an operator would (`setup apply`), with the 差分 fetch on a 1 s
/// trigger (so every fresh `sync` starts it at once) and the robots that do not fetch
/// disabled (nothing is shipped, the product master is already filled). The same for the
/// crashed stores and the clean one. Returns the fetch robot's ID.
fn prepare(root: &Path, data: &Path, base_url: &str, secret: &str) -> u64 {
    let file = root.join("setup.toml");
    let toml = format!(
        r#"[ship_from]
name = "本店倉庫"
postal_code = "100-0001"
prefecture = "東京都"
address = "千代田区千代田1-1"
phone = "03-0000-0000"

[futureshop]
name = "シミュレータ"
shop_key = "demo-shop"
client_id = "demo-client"
client_secret_env = "{SECRET_VAR}"
api_base = "{base_url}"
pacing_ms = 0

[sync]
interval_minutes = 10
overlap_minutes = 10
first_lookback_days = {LOOKBACK_DAYS}
no_prepayment = ["COD"]
"#
    );
    std::fs::write(&file, toml).expect("write setup.toml");
    let mut apply = shukka(data);
    apply
        .arg("setup")
        .arg("apply")
        .arg(&file)
        .env(SECRET_VAR, secret);
    run_ok(apply, "shukka setup apply");

    let (fetch, others) = {
        let store = Store::open(data).expect("open the store after setup");
        assert!(
            !store.products().expect("products").is_empty(),
            "setup apply filled no product master"
        );
        let robots = store.linkage_robots().expect("linkage robots");
        let fetch = robots
            .iter()
            .find(|r| r.name == EASY_FETCH && r.action == LinkAction::FetchDiff)
            .map(|r| r.id)
            .expect("setup apply creates the 差分 fetch robot");
        let others: Vec<u64> = robots
            .iter()
            .filter(|r| {
                matches!(
                    r.action,
                    LinkAction::StatusSync
                        | LinkAction::TrackingUpload
                        | LinkAction::InventorySync
                        | LinkAction::ProductMasterFetch
                        | LinkAction::FetchRange
                )
            })
            .map(|r| r.id)
            .collect();
        (fetch, others)
    };
    let mut trigger = shukka(data);
    trigger.args(["robots", "trigger", &fetch.to_string(), "1s"]);
    run_ok(trigger, "shukka robots trigger");
    for id in others {
        let mut disable = shukka(data);
        disable.args(["robots", "disable", &id.to_string()]);
        run_ok(disable, "shukka robots disable");
    }
    fetch
}

/// Invariants 1–3 on a reopened store. Returns every violation, each naming the order.
fn violations(store: &Store, fetch_id: u64, shop: &Shop) -> Vec<String> {
    let mut v = Vec::new();
    let summaries = store.summaries(None).expect("read instruction summaries");
    let errors = store.intake_errors().expect("read intake errors");
    let archived = archived_entries(store);

    // 1. Each order once, as an instruction, an intake error or an archived instruction, and
    // only orders the shop has.
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let items = summaries
        .iter()
        .map(|s| (s.order_no.as_str(), "出荷指示"))
        .chain(errors.iter().map(|e| (e.order_no.as_str(), "取込エラー")))
        .chain(archived.iter().map(|e| (e.order_no.as_str(), "アーカイブ")));
    for (no, kind) in items {
        if let Some(prev) = seen.insert(no, kind) {
            v.push(format!(
                "order {no} is stored twice: as {prev} and as {kind}"
            ));
        }
        if !shop.known.contains(no) {
            v.push(format!(
                "order {no} ({kind}) does not exist in the simulator"
            ));
        }
    }

    // 2. No cursor ahead of committed data.
    let cursor = store
        .cursor(fetch_id)
        .expect("read cursor")
        .unwrap_or_default();
    if let Some(hw) = cursor.high_water {
        // Pages are committed in (date, orderNo) order, so every order strictly older than the
        // high-water mark is committed, and so is at least one order dated exactly at it (the
        // rest of that second may be on the next page).
        for (date, no) in shop.orders.iter().take_while(|(d, _)| *d < hw) {
            if !seen.contains_key(no.as_str()) {
                v.push(format!("cursor high_water {hw} is ahead of the data: order {no} dated {date} is missing"));
            }
        }
        let at_mark = shop
            .orders
            .iter()
            .filter(|(d, _)| *d == hw)
            .collect::<Vec<_>>();
        if !at_mark.iter().any(|(_, no)| seen.contains_key(no.as_str())) {
            v.push(format!(
                "cursor high_water {hw} is ahead of the data: no order dated at it is stored (shop has {:?})",
                at_mark.iter().map(|(_, no)| no.as_str()).collect::<Vec<_>>()
            ));
        }
    }
    if let Some(end) = cursor.last_success_end {
        for (date, no) in shop.orders.iter().take_while(|(d, _)| *d <= end) {
            if !seen.contains_key(no.as_str()) {
                v.push(format!("cursor last_success_end {end} is ahead of the data: order {no} dated {date} is missing"));
            }
        }
    }
    // The run log is committed with each page: it must agree with the cursor and the data.
    let runs = store.runs(usize::MAX).expect("read run log");
    let fetch_runs: Vec<_> = runs.iter().filter(|r| r.robot_id == fetch_id).collect();
    let pages: u64 = fetch_runs.iter().map(|r| r.pages).sum();
    if pages != cursor.pages {
        v.push(format!(
            "cursor counts {} pages but the fetch run log {pages}",
            cursor.pages
        ));
    }
    let created: u64 = fetch_runs.iter().map(|r| r.success).sum();
    if created != (summaries.len() + archived.len()) as u64 {
        v.push(format!(
            "the fetch run log counts {created} instructions created but the store holds {} and the archive {}",
            summaries.len(),
            archived.len()
        ));
    }
    let counted = store.counts().archived;
    if counted != archived.len() as u64 {
        v.push(format!(
            "the store counts {counted} archived instructions but the archive holds {}",
            archived.len()
        ));
    }
    if let Some(seq) = cursor.run_seq
        && !fetch_runs.iter().any(|r| r.seq == seq)
    {
        v.push(format!(
            "cursor names run {seq}, which is not in the run log"
        ));
    }
    for r in runs.iter().filter(|r| r.state == RunState::Running) {
        v.push(format!(
            "run {} ({}) is still 実行中 after reopening",
            r.seq, r.robot_name
        ));
    }
    // The shop injects no faults: a fetch may be interrupted, never fail.
    for r in fetch_runs.iter().filter(|r| r.state == RunState::Failed) {
        v.push(format!("fetch run {} failed: {:?}", r.seq, r.errors));
    }

    // 3. The audit log matches the statuses.
    for s in &summaries {
        if store
            .instruction_id(s.auth_id, &s.order_no)
            .expect("read order index")
            != Some(s.id)
        {
            v.push(format!(
                "instruction {} (ID {}) is missing from the order index",
                s.order_no, s.id
            ));
        }
        let audit = store.audit_for(s.id).expect("read audit");
        if audit.is_empty() {
            v.push(format!(
                "instruction {} (ID {}) has no audit entry",
                s.order_no, s.id
            ));
            continue;
        }
        let last = audit.iter().rev().find_map(|a| a.to);
        if last != Some(s.status) {
            v.push(format!(
                "instruction {} is {:?} but its audit log ends at {last:?}",
                s.order_no, s.status
            ));
        }
    }
    // The status queues (committed with each instruction) agree with the summaries.
    let mut queued: HashMap<u64, Vec<Status>> = HashMap::new();
    for st in Status::ALL {
        for id in store.ids_in(st).expect("read status index") {
            queued.entry(id).or_default().push(st);
        }
    }
    for s in &summaries {
        match queued.remove(&s.id) {
            Some(q) if q == [s.status] => {}
            q => v.push(format!(
                "instruction {} is {:?} but queued under {q:?}",
                s.order_no, s.status
            )),
        }
    }
    for (id, q) in queued {
        v.push(format!(
            "instruction ID {id} is queued under {q:?} but has no summary"
        ));
    }
    let audited: HashSet<u64> = store
        .audit(usize::MAX)
        .expect("read audit")
        .into_iter()
        .filter_map(|a| match a.target {
            Target::IntakeError { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    for e in &errors {
        if !audited.contains(&e.id) {
            v.push(format!(
                "intake error {} (ID {}) has no audit entry",
                e.order_no, e.id
            ));
        }
    }
    v
}

/// Every shop order is stored (once: `violations` checks that).
fn missing(store: &Store, shop: &Shop) -> Vec<String> {
    let s = snapshot(store);
    shop.orders
        .iter()
        .filter(|(_, no)| !s.instructions.contains_key(no) && !s.intake_errors.contains_key(no))
        .map(|(d, no)| format!("order {no} dated {d} is missing after a full sync"))
        .collect()
}

fn snapshot(store: &Store) -> Snapshot {
    Snapshot {
        instructions: store
            .summaries(None)
            .expect("summaries")
            .into_iter()
            .map(|s| (s.order_no, (s.status, s.payment, s.hold_reasons)))
            .collect(),
        intake_errors: store
            .intake_errors()
            .expect("intake errors")
            .into_iter()
            .map(|e| (e.order_no, e.reason))
            .collect(),
    }
}

/// Human-readable differences between two snapshots (first few).
fn diff(got: &Snapshot, want: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let nos: std::collections::BTreeSet<&String> = got
        .instructions
        .keys()
        .chain(want.instructions.keys())
        .chain(got.intake_errors.keys())
        .chain(want.intake_errors.keys())
        .collect();
    for no in nos {
        let g = (got.instructions.get(no), got.intake_errors.get(no));
        let w = (want.instructions.get(no), want.intake_errors.get(no));
        if g != w {
            out.push(format!("order {no}: crashed store {g:?}, clean run {w:?}"));
        }
    }
    out
}

fn fail_on(what: &str, v: &[String]) {
    if v.is_empty() {
        return;
    }
    for line in v.iter().take(30) {
        eprintln!("  VIOLATION: {line}");
    }
    panic!("{what}: {} violation(s), first: {}", v.len(), v[0]);
}

/// A crashed store's last steps: `sync --once` (which finishes or resumes the fetch), then the
/// invariants, completeness and equality with the clean run.
fn finish_epoch(data: &Path, fetch_id: u64, shop: &Shop, clean: &Snapshot, label: &str) {
    let mut once = shukka(data);
    once.args(["sync", "--once"]);
    run_ok(once, &format!("{label}: shukka sync --once"));
    let store = Store::open(data)
        .unwrap_or_else(|e| panic!("{label}: the store does not reopen after the final sync: {e}"));
    fail_on(
        &format!("{label} after the final sync"),
        &violations(&store, fetch_id, shop),
    );
    fail_on(
        &format!("{label} after the final sync"),
        &missing(&store, shop),
    );
    fail_on(
        &format!("{label} compared with the clean run"),
        &diff(&snapshot(&store), clean),
    );
}

/// Every archived instruction, from every month's frame heads.
fn archived_entries(store: &Store) -> Vec<Entry> {
    let months = store.archive_months().expect("read the archive's months");
    months
        .iter()
        .flat_map(|m| {
            store
                .archive_month(&m.month)
                .expect("read an archive month")
        })
        .collect()
}

/// Where an order is once its epoch's upkeep began, and what it is.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Hot(Status, PaymentFlag, Vec<String>),
    Archived(Status),
}

/// An epoch after its fetch: what must hold across the kills in archiving and compaction.
struct Upkeep {
    /// Order number → instruction ID of every instruction when the upkeep began.
    all: BTreeMap<String, u64>,
    /// The ones `archive run` is to move (finished for good).
    to_move: BTreeSet<String>,
    kills: usize,
}

/// Ages a store as its operators and robots would have over months: one instruction in three
/// (by order number, so alike in every store) shipped and told to futureshop, with its audit
/// entry. Returns what the upkeep checks against.
fn grow_old(data: &Path) -> Upkeep {
    let store = Store::open(data).expect("open the store to age it");
    let mut summaries = store.summaries(None).expect("summaries");
    summaries.sort_by(|a, b| a.order_no.cmp(&b.order_no));
    let at = chrono::Utc::now().with_timezone(&shukka::time::jst());
    store
        .write(|t| {
            for (n, s) in summaries.iter().enumerate() {
                if n % 3 != 0 || s.status == Status::Cancelled {
                    continue;
                }
                let Some(mut i) = t.instruction(s.id)? else {
                    continue;
                };
                let (version, from) = (i.version, i.status);
                i.status = Status::Shipped;
                i.upstream = shukka::domain::Upstream::Accepted { at };
                let i = t.update_instruction(version, i)?;
                t.audit(shukka::domain::AuditEntry {
                    seq: 0,
                    at,
                    actor: crate::common::operator(),
                    target: Target::Instruction {
                        id: i.id,
                        order_no: i.order_no.clone(),
                    },
                    action: "出荷実績登録".into(),
                    from: Some(from),
                    to: Some(Status::Shipped),
                    reason: "months ago".into(),
                })?;
            }
            Ok::<_, shukka::store::StoreError>(())
        })
        .expect("age the store");
    store.flush().expect("flush");
    // Everything shipped-and-told or cancelled for good is to move, whatever its age.
    let far = at + chrono::Duration::days(1);
    let mut all = BTreeMap::new();
    let mut to_move = BTreeSet::new();
    for s in store.summaries(None).expect("summaries") {
        let i = store
            .instruction(s.id)
            .expect("read")
            .expect("summarised instruction exists");
        if shukka::store::archive::archivable(&i, far) {
            to_move.insert(s.order_no.clone());
        }
        all.insert(s.order_no, s.id);
    }
    assert!(
        to_move.len() * 4 > all.len(),
        "aging left too little to archive: {} of {}",
        to_move.len(),
        all.len()
    );
    Upkeep {
        all,
        to_move,
        kills: 0,
    }
}

/// After a kill in the upkeep: every instruction in exactly one place, none lost, nothing
/// unfinished moved, the counts to match (and `violations`, which sees the archive too).
fn upkeep_violations(store: &Store, up: &Upkeep) -> Vec<String> {
    let mut v = Vec::new();
    let hot: BTreeMap<String, u64> = store
        .summaries(None)
        .expect("summaries")
        .into_iter()
        .map(|s| (s.order_no, s.id))
        .collect();
    let mut archived: BTreeMap<String, u64> = BTreeMap::new();
    for e in archived_entries(store) {
        if archived.insert(e.order_no.clone(), e.id).is_some() {
            v.push(format!("order {} is archived twice", e.order_no));
        }
    }
    for (no, id) in &up.all {
        match (hot.get(no), archived.get(no)) {
            (Some(_), Some(_)) => v.push(format!("order {no} is live and archived")),
            (None, None) => v.push(format!("order {no} (ID {id}) was lost")),
            (Some(got), None) | (None, Some(got)) if got != id => {
                v.push(format!("order {no} is ID {got}, was {id}"))
            }
            (None, Some(_)) if !up.to_move.contains(no) => {
                v.push(format!("order {no} was archived but is not finished"))
            }
            _ => {}
        }
        if store.instruction(*id).expect("read").is_some() != hot.contains_key(no) {
            v.push(format!(
                "order {no}: the record and the summary disagree on whether it is live"
            ));
        }
    }
    for no in hot.keys().chain(archived.keys()) {
        if !up.all.contains_key(no) {
            v.push(format!("order {no} appeared during the upkeep"));
        }
    }
    let c = store.counts();
    if c.instructions() + c.archived != up.all.len() as u64 {
        v.push(format!(
            "the counts say {} live + {} archived, the store held {}",
            c.instructions(),
            c.archived,
            up.all.len()
        ));
    }
    v
}

/// Where every order is, for comparing a finished upkeep with the clean run's.
fn placed(store: &Store) -> BTreeMap<String, Place> {
    let mut out: BTreeMap<String, Place> = store
        .summaries(None)
        .expect("summaries")
        .into_iter()
        .map(|s| (s.order_no, Place::Hot(s.status, s.payment, s.hold_reasons)))
        .collect();
    for e in archived_entries(store) {
        out.insert(e.order_no, Place::Archived(e.status));
    }
    out
}

/// A shukka maintenance command to completion (`archive run` or `compact`).
fn upkeep_command(data: &Path, args: &[&str]) -> Command {
    let mut c = shukka(data);
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// The killed move to the archive: everything finished, whatever its age, in small frames.
const ARCHIVE_RUN: [&str; 6] = [
    "archive",
    "run",
    "--older-than",
    "0",
    "--batch",
    ARCHIVE_BATCH,
];

/// The upkeep's last steps: a whole archive run and a whole compaction, then everything
/// finished is archived once and the store equals the clean run's after the same.
fn finish_upkeep(
    data: &Path,
    fetch_id: u64,
    shop: &Shop,
    up: &Upkeep,
    clean: &BTreeMap<String, Place>,
    label: &str,
) {
    run_ok(
        upkeep_command(data, &ARCHIVE_RUN),
        &format!("{label}: shukka archive run"),
    );
    run_ok(
        upkeep_command(data, &["compact"]),
        &format!("{label}: shukka compact"),
    );
    let store = Store::open(data)
        .unwrap_or_else(|e| panic!("{label}: the store does not reopen after the upkeep: {e}"));
    fail_on(
        &format!("{label} after the upkeep"),
        &violations(&store, fetch_id, shop),
    );
    fail_on(
        &format!("{label} after the upkeep"),
        &upkeep_violations(&store, up),
    );
    let got = placed(&store);
    let archived: BTreeSet<&String> = got
        .iter()
        .filter(|(_, p)| matches!(p, Place::Archived(_)))
        .map(|(no, _)| no)
        .collect();
    assert_eq!(
        archived,
        up.to_move.iter().collect(),
        "{label}: the finished upkeep did not archive exactly what was finished"
    );
    let differ: Vec<String> = got
        .iter()
        .filter(|(no, p)| clean.get(*no) != Some(*p))
        .take(10)
        .map(|(no, p)| format!("order {no}: {p:?}, clean run {:?}", clean.get(no)))
        .collect();
    assert!(
        differ.is_empty() && got.len() == clean.len(),
        "{label}: after the upkeep the store differs from the clean run's: {differ:?}"
    );
}

/// Copies a (closed) data directory.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// sled's directory (names and sizes), for telling which of sled's recovery paths refused it.
fn sled_files(data: &Path) -> String {
    let mut files: Vec<String> = std::fs::read_dir(data.join("store"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    format!("{} ({len} B)", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.join(", ")
}

struct Epoch {
    _root: tempfile::TempDir,
    data: PathBuf,
    log: PathBuf,
    fetch_id: u64,
    number: usize,
    /// The highest run-log sequence number seen after the previous kill.
    last_seq: u64,
    /// Set once the epoch's fetch completed and it equals the clean run.
    upkeep: Option<Upkeep>,
}

#[test]
fn sync_killed_at_random_moments_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The shop's data is generated as of one day ago: every scheduled payment or cancellation
    // (at most ~18 h after an order) is already due, so once the clock has applied them the
    // shop never changes again and every run sees the same orders.
    let mut settings = Settings {
        page_size: PAGE_SIZE,
        new_orders_per_min: 0.0,
        ..Settings::default()
    };
    settings.behaviour.unknown_sku_rate = UNKNOWN_SKU_RATE;
    let sim: SimHandle = rt
        .block_on(sim::start(SimConfig {
            seed: 7,
            orders: ORDERS,
            days: DAYS,
            now: Some(shukka::time::now_jst() - chrono::Duration::days(1)),
            settings,
            ..SimConfig::default()
        }))
        .expect("simulator starts on an ephemeral port");
    // Apply every due event now rather than waiting for the clock's next tick; a second tick
    // finds nothing left to do.
    sim.with_state(|s| s.tick(shukka::time::now_jst(), Duration::ZERO));
    let pending = sim.with_state(|s| s.tick(shukka::time::now_jst(), Duration::ZERO));
    assert_eq!(
        pending, 0,
        "the shop still changes after its events were applied"
    );
    let base_url = sim.base_url();
    let secret = sim.with_state(|s| s.settings.shops[0].client_secret.clone());
    let shop = sim.with_state(|s| {
        let known: HashSet<String> = s.all_order_nos().into_iter().collect();
        // What a fetch takes in: the orders not yet shipped (it asks for notShipped).
        let mut orders: Vec<(NaiveDateTime, String)> = known
            .iter()
            .filter_map(|no| {
                let o = s.order(no).expect("listed order exists");
                (!o.shipped()).then(|| (o.date, no.clone()))
            })
            .collect();
        orders.sort();
        Shop { orders, known }
    });
    assert_eq!(shop.known.len(), ORDERS);
    assert!(shop.orders.len() > ORDERS * 9 / 10, "{}", shop.orders.len());
    let oldest = shop.orders.first().map(|(d, _)| *d).expect("orders");
    assert!(
        oldest > shukka::time::now_jst() - chrono::Duration::days(LOOKBACK_DAYS as i64 - 1),
        "the first 差分 window must cover every order"
    );

    // The clean run: one setup, one `sync --once`. Its duration sets the range of kill delays.
    let clean_root = tempfile::tempdir().expect("tempdir");
    let clean_data = clean_root.path().join("data");
    let clean_fetch = prepare(clean_root.path(), &clean_data, &base_url, &secret);
    let t = Instant::now();
    let mut once = shukka(&clean_data);
    once.args(["sync", "--once"]);
    run_ok(once, "clean shukka sync --once");
    let full_fetch = t.elapsed();
    let clean = {
        let store = Store::open(&clean_data).expect("open the clean store");
        fail_on("clean run", &violations(&store, clean_fetch, &shop));
        fail_on("clean run", &missing(&store, &shop));
        snapshot(&store)
    };
    assert!(
        !clean.intake_errors.is_empty(),
        "the clean run produced no intake errors"
    );
    assert!(
        !clean.instructions.is_empty(),
        "the clean run produced no instructions"
    );
    eprintln!(
        "crash: clean run: {} instructions, {} intake errors, full fetch {:.2}s (setup + fetch {:.2}s since start)",
        clean.instructions.len(),
        clean.intake_errors.len(),
        full_fetch.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // The clean run's upkeep: aged alike, archived and compacted whole. Their durations set
    // the range of the kills in them.
    let clean_upkeep = grow_old(&clean_data);
    let t = Instant::now();
    run_ok(
        upkeep_command(&clean_data, &ARCHIVE_RUN),
        "clean shukka archive run",
    );
    let whole_archive = t.elapsed();
    let t = Instant::now();
    run_ok(
        upkeep_command(&clean_data, &["compact"]),
        "clean shukka compact",
    );
    let whole_compact = t.elapsed();
    let clean_placed = {
        let store = Store::open(&clean_data).expect("open the clean store after its upkeep");
        fail_on("clean upkeep", &violations(&store, clean_fetch, &shop));
        fail_on("clean upkeep", &upkeep_violations(&store, &clean_upkeep));
        placed(&store)
    };
    eprintln!(
        "crash: clean upkeep: {} of {} instructions to the archive in {:.2}s (frames of {ARCHIVE_BATCH}), compaction {:.2}s",
        clean_upkeep.to_move.len(),
        clean_upkeep.all.len(),
        whole_archive.as_secs_f64(),
        whole_compact.as_secs_f64()
    );

    // Every crashed store starts as a copy of one set-up data directory (set up exactly as the
    // clean one), which saves running `setup apply` for each epoch.
    let template_root = tempfile::tempdir().expect("tempdir");
    let template_data = template_root.path().join("data");
    let template_fetch = prepare(template_root.path(), &template_data, &base_url, &secret);

    let iterations = soak_setting("SHUKKA_CRASH_ITERATIONS", ITERATIONS as u64) as usize;
    let mut rng = StdRng::seed_from_u64(soak_setting("SHUKKA_CRASH_SEED", SEED));
    let max_delay_ms = (full_fetch.as_millis() as u64).max(500);
    let mut epoch: Option<Epoch> = None;
    let mut epochs = 0usize;
    let (mut before, mut mid, mut mid_with_pages, mut after) = (0usize, 0usize, 0usize, 0usize);
    let mut violation_count = 0usize;
    let (mut sync_kills, mut archive_kills, mut compact_kills, mut upkeep_unkilled) =
        (0usize, 0usize, 0usize, 0usize);
    for iteration in 1..=iterations {
        let e = epoch.get_or_insert_with(|| {
            epochs += 1;
            let root = tempfile::tempdir().expect("tempdir");
            let data = root.path().join("data");
            let log = root.path().join("children.log");
            copy_dir(&template_data, &data);
            Epoch {
                _root: root,
                data,
                log,
                fetch_id: template_fetch,
                number: epochs,
                last_seq: 0,
                upkeep: None,
            }
        });
        if let Some(up) = e.upkeep.as_mut() {
            // Alternately in a move to the archive and in a compaction.
            let archiving = up.kills % 2 == 0;
            let (args, whole): (&[&str], _) = if archiving {
                (&ARCHIVE_RUN, whole_archive)
            } else {
                (&["compact"], whole_compact)
            };
            let delay = Duration::from_millis(rng.gen_range(0..=whole.as_millis() as u64));
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&e.log)
                .expect("child log");
            let mut child = shukka(&e.data)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn shukka upkeep");
            std::thread::sleep(delay);
            let killed = match child.try_wait().expect("poll child") {
                Some(status) => {
                    assert!(
                        status.success(),
                        "iteration {iteration}: shukka {} failed ({status}); see {}",
                        args.join(" "),
                        e.log.display()
                    );
                    false
                }
                None => {
                    child.kill().expect("SIGKILL shukka upkeep");
                    true
                }
            };
            child.wait().expect("reap shukka upkeep");
            match (archiving, killed) {
                (true, true) => archive_kills += 1,
                (false, true) => compact_kills += 1,
                _ => upkeep_unkilled += 1,
            }
            let store = Store::open(&e.data).unwrap_or_else(|err| {
                panic!(
                    "iteration {iteration}: the store does not reopen after SIGKILL in shukka {}: {err}\nsled's files: {}",
                    args.join(" "),
                    sled_files(&e.data)
                )
            });
            let what = format!(
                "iteration {iteration} (epoch {}, shukka {} killed after {delay:?})",
                e.number,
                args.join(" ")
            );
            let mut v = violations(&store, e.fetch_id, &shop);
            v.extend(upkeep_violations(&store, up));
            violation_count += v.len();
            fail_on(&what, &v);
            let c = store.counts();
            eprintln!(
                "crash: iteration {iteration:>2} epoch {:>2} {} after {:>5} ms{}: {} live, {} archived",
                e.number,
                if archiving {
                    "archive run"
                } else {
                    "compact    "
                },
                delay.as_millis(),
                if killed { "" } else { " (had finished)" },
                c.instructions(),
                c.archived
            );
            drop(store);
            up.kills += 1;
            if up.kills >= UPKEEP_KILLS
                && let Some(done) = epoch.take()
                && let Some(up) = done.upkeep.as_ref()
            {
                finish_upkeep(
                    &done.data,
                    done.fetch_id,
                    &shop,
                    up,
                    &clean_placed,
                    &format!("epoch {}", done.number),
                );
            }
            continue;
        }
        // Mostly anywhere in a full fetch; sometimes right at the start (process start, store
        // open, first page).
        let delay = if rng.gen_bool(0.25) {
            Duration::from_millis(rng.gen_range(0..=300))
        } else {
            Duration::from_millis(rng.gen_range(0..=max_delay_ms))
        };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&e.log)
            .expect("child log");
        let mut child = shukka(&e.data)
            .arg("sync")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn shukka sync");
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().expect("poll child") {
            let tail = std::fs::read_to_string(&e.log).unwrap_or_default();
            let tail: String = tail
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "iteration {iteration}: shukka sync exited by itself ({status}) before the kill:\n{tail}"
            );
        }
        child.kill().expect("SIGKILL shukka sync");
        child.wait().expect("reap shukka sync");

        // 4. The store reopens every time.
        let store = Store::open(&e.data).unwrap_or_else(|err| {
            panic!(
                "iteration {iteration}: the store does not reopen after SIGKILL: {err}\nsled's files: {}",
                sled_files(&e.data)
            )
        });
        let v = violations(&store, e.fetch_id, &shop);
        violation_count += v.len();
        fail_on(
            &format!(
                "iteration {iteration} (epoch {}, kill after {delay:?})",
                e.number
            ),
            &v,
        );

        let cursor = store
            .cursor(e.fetch_id)
            .expect("cursor")
            .unwrap_or_default();
        let runs = store.runs(usize::MAX).expect("runs");
        let new_fetch_runs: Vec<_> = runs
            .iter()
            .filter(|r| r.robot_id == e.fetch_id && r.seq > e.last_seq)
            .collect();
        e.last_seq = runs.iter().map(|r| r.seq).max().unwrap_or(e.last_seq);
        let landing = if cursor.last_success_end.is_some() {
            Landing::Completed
        } else if let Some(r) = new_fetch_runs
            .iter()
            .find(|r| r.state == RunState::Interrupted)
        {
            Landing::MidFetch {
                pages_this_run: r.pages,
            }
        } else {
            Landing::Early
        };
        match landing {
            Landing::Early => before += 1,
            Landing::MidFetch { pages_this_run } => {
                mid += 1;
                if pages_this_run > 0 {
                    mid_with_pages += 1;
                }
            }
            Landing::Completed => after += 1,
        }
        let stored = store.summaries(None).map(|s| s.len()).unwrap_or(0)
            + store.intake_errors().map(|s| s.len()).unwrap_or(0);
        eprintln!(
            "crash: iteration {iteration:>2} epoch {:>2} kill after {:>5} ms: {landing:?}, {stored}/{} orders stored, cursor pages {}",
            e.number,
            delay.as_millis(),
            shop.orders.len(),
            cursor.pages
        );
        store.flush().expect("flush the reopened store");
        drop(store);
        sync_kills += 1;
        if landing == Landing::Completed {
            finish_epoch(
                &e.data,
                e.fetch_id,
                &shop,
                &clean,
                &format!("epoch {}", e.number),
            );
            e.upkeep = Some(grow_old(&e.data));
        }
    }
    if let Some(done) = epoch.take() {
        let label = format!("epoch {} (unfinished)", done.number);
        match &done.upkeep {
            Some(up) => finish_upkeep(&done.data, done.fetch_id, &shop, up, &clean_placed, &label),
            None => finish_epoch(&done.data, done.fetch_id, &shop, &clean, &label),
        }
    }
    // The checker is not vacuous: a cursor moved ahead of an empty store is reported, naming
    // the oldest order.
    {
        let root = tempfile::tempdir().expect("tempdir");
        let data = root.path().join("data");
        copy_dir(&template_data, &data);
        let fetch_id = template_fetch;
        let store = Store::open(&data).expect("open");
        let newest = shop.orders.last().map(|(d, _)| *d);
        store
            .write(|t| {
                t.put_cursor(
                    fetch_id,
                    &SyncCursor {
                        high_water: newest,
                        ..SyncCursor::default()
                    },
                )
            })
            .expect("move the cursor ahead");
        let v = violations(&store, fetch_id, &shop);
        let oldest = &shop.orders[0].1;
        assert!(
            v.iter()
                .any(|m| m.contains("ahead of the data") && m.contains(oldest.as_str())),
            "a cursor ahead of the data went unnoticed: {v:?}"
        );
    }
    eprintln!(
        "crash: {iterations} iterations, {epochs} epochs: {sync_kills} kills in sync ({before} before the fetch, {mid} mid-fetch ({mid_with_pages} after committing pages in that run), {after} after it completed), {archive_kills} in archive run, {compact_kills} in compact, {upkeep_unkilled} upkeep runs finished before their kill; violations: {violation_count}; every epoch equals the clean run; total {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(violation_count, 0);
    if iterations >= ITERATIONS {
        assert!(
            archive_kills > 0 && compact_kills > 0,
            "no kill landed in archiving ({archive_kills}) or compaction ({compact_kills}): the upkeep went untested"
        );
    }
    drop(sim);
}
