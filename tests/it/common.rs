//! Shared helpers for the integration tests.

use std::time::Duration;

use shukka::futureshop::{Client, FsConfig};
use shukka::sim::{self, Settings, SimConfig, SimHandle};

/// A seeded simulator on an ephemeral loopback port, with `orders` orders over the last week.
pub async fn start_sim(orders: usize, page_size: usize) -> SimHandle {
    start_sim_with(orders, |s| s.page_size = page_size).await
}

pub async fn start_sim_with(orders: usize, tweak: impl FnOnce(&mut Settings)) -> SimHandle {
    let mut settings = Settings::default();
    tweak(&mut settings);
    sim::start(SimConfig {
        seed: 42,
        orders,
        settings,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts on an ephemeral port")
}

/// A client for the simulator's shop, without pacing and with fast retries.
pub fn client(sim: &SimHandle) -> Client {
    Client::new(sim.client_config(Duration::ZERO)).expect("client")
}

pub fn client_with(sim: &SimHandle, tweak: impl FnOnce(&mut FsConfig)) -> Client {
    let mut cfg = sim.client_config(Duration::ZERO);
    tweak(&mut cfg);
    Client::new(cfg).expect("client")
}

/// The query window that covers every order the simulator can hold.
pub fn everything() -> shukka::futureshop::OrderQuery {
    use chrono::NaiveDate;
    shukka::futureshop::OrderQuery {
        order_date_start: NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        order_date_end: NaiveDate::from_ymd_opt(2100, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
        ..Default::default()
    }
}

/// The setup file of the guide, pointing at `sim` without pacing.
pub fn setup_toml(sim: &SimHandle, secret_var: &str) -> String {
    format!(
        r#"
[ship_from]
name = "出荷テスト商店"
postal_code = "1500001"
prefecture = "東京都"
address = "渋谷区神宮前1-2-3"
phone = "03-1234-5678"

[futureshop]
name = "本店"
shop_key = "demo-shop"
client_id = "demo-client"
client_secret_env = "{secret_var}"
api_base = "{}"
pacing_ms = 0
"#,
        sim.base_url()
    )
}

pub fn operator() -> shukka::domain::Actor {
    shukka::domain::Actor::Operator("tester".into())
}

/// An engine on a fresh temp store, with fast client retries.
pub fn engine_in(dir: &std::path::Path) -> shukka::engine::Engine {
    use shukka::engine::{Engine, EngineOptions};
    use shukka::futureshop::ClientOptions;
    let store = shukka::store::Store::open(dir).expect("store opens");
    Engine::with_options(
        store,
        EngineOptions {
            client: ClientOptions {
                backoff_base: Duration::from_millis(20),
                backoff_max: Duration::from_secs(2),
                max_attempts: 4,
                ..ClientOptions::default()
            },
        },
    )
    .expect("engine")
}

/// An engine with the whole setup guide (steps 1–6) applied against `sim`.
pub async fn engine_with_setup(sim: &SimHandle) -> (shukka::engine::Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_in(dir.path());
    let file = shukka::engine::SetupFile::parse(&setup_toml(sim, "UNUSED_SECRET_VAR"))
        .expect("setup file");
    engine
        .apply_setup(
            &file,
            shukka::secret::Secret::new("demo-secret"),
            &operator(),
        )
        .await
        .expect("setup applies");
    (engine, dir)
}

/// Finds a linkage robot by name.
pub fn robot_id(engine: &shukka::engine::Engine, name: &str) -> u64 {
    engine
        .store()
        .linkage_robots()
        .expect("robots")
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.id)
        .unwrap_or_else(|| panic!("no linkage robot named {name}"))
}

/// Creates a 範囲指定 fetch robot covering every order, through the guide's converter.
pub fn range_robot(engine: &shukka::engine::Engine) -> u64 {
    use shukka::robots::linkage::{LinkAction, LinkageRobot, Trigger};
    let conv = engine
        .store()
        .converters()
        .expect("converters")
        .into_iter()
        .find(|c| c.enabled && !c.standard)
        .expect("the guide's converter");
    let q = everything();
    engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "テスト取得".into(),
                action: LinkAction::FetchRange,
                auth_id: Some(1),
                converter_id: Some(conv.id),
                processing_robot_id: None,
                target_status: None,
                range: q.order_date_start.zip(q.order_date_end),
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &operator(),
        )
        .expect("range robot")
        .id
}

pub async fn run(engine: &shukka::engine::Engine, id: u64) -> shukka::domain::RunLogEntry {
    engine
        .run_robot(
            id,
            shukka::engine::RunOptions {
                trigger: "test".into(),
                chain: true,
                ..Default::default()
            },
        )
        .await
        .expect("robot runs")
}

/// Orders the simulated shop has not fully shipped (a fetch asks for these only).
pub fn open_orders(sim: &SimHandle) -> usize {
    sim.with_state(|s| {
        s.all_order_nos()
            .iter()
            .filter(|no| s.order(no).is_some_and(|o| !o.shipped()))
            .count()
    })
}

/// The store's sled database opened directly (to damage or inspect it). sled lets go of its
/// file lock a moment after the last handle is dropped (its background thread ends): wait for
/// it, as `Store::open` does.
pub fn raw_sled(store_dir: &std::path::Path) -> sled::Db {
    let mut tries = 0;
    loop {
        match sled::open(store_dir) {
            Ok(db) => return db,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("sled: {e:?}"),
        }
    }
}

/// The shukka binary on a data directory, as a user runs it (the test secret in its
/// environment, no colour).
pub async fn shukka(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("FS_TEST_SECRET", "demo-secret")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("the binary runs")
}
