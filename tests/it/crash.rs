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

use std::collections::{BTreeMap, HashMap, HashSet};
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
use shukka::store::{Store, SyncCursor};

const ORDERS: usize = 2500;
const PAGE_SIZE: usize = 50;
/// The orders are spread over this many days before the reference time (one day ago).
const DAYS: u32 = 3;
/// Longer than DAYS + 1, so the first 差分 window covers every order.
const LOOKBACK_DAYS: u64 = 7;
const UNKNOWN_SKU_RATE: f64 = 0.02;
const ITERATIONS: usize = 50;
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

    // 1. Each order once, as an instruction or an intake error, and only orders the shop has.
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let items = summaries
        .iter()
        .map(|s| (s.order_no.as_str(), "出荷指示"))
        .chain(errors.iter().map(|e| (e.order_no.as_str(), "取込エラー")));
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
    if created != summaries.len() as u64 {
        v.push(format!(
            "the fetch run log counts {created} instructions created but the store holds {}",
            summaries.len()
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
            }
        });
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
        if landing == Landing::Completed
            && let Some(done) = epoch.take()
        {
            finish_epoch(
                &done.data,
                done.fetch_id,
                &shop,
                &clean,
                &format!("epoch {}", done.number),
            );
        }
    }
    if let Some(done) = epoch.take() {
        finish_epoch(
            &done.data,
            done.fetch_id,
            &shop,
            &clean,
            &format!("epoch {} (unfinished)", done.number),
        );
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
        "crash: {iterations} iterations (SIGKILL each), {epochs} epochs: {before} kills before the fetch, {mid} mid-fetch ({mid_with_pages} after committing pages in that run), {after} after it completed; violations: {violation_count}; every epoch equals the clean run; total {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(violation_count, 0);
    drop(sim);
}
