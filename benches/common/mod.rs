//! Shared by the benches: the seeded simulator, an engine with the guide applied, fixtures.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use shukka::domain::Actor;
use shukka::domain::RunLogEntry;
use shukka::engine::{Engine, EngineOptions, RunOptions, SetupFile};
use shukka::futureshop::{ClientOptions, OrderQuery};
use shukka::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use shukka::secret::Secret;
use shukka::sim::{self, Settings, SimConfig, SimHandle};
use shukka::store::Store;

pub fn actor() -> Actor {
    Actor::Operator("bench".into())
}

pub async fn sim(orders: usize, page_size: usize) -> SimHandle {
    sim::start(SimConfig {
        seed: 1,
        orders,
        days: 30,
        settings: Settings {
            page_size,
            ..Settings::default()
        },
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

pub fn setup_toml(base: &str, pacing_ms: u64) -> String {
    format!(
        r#"
[ship_from]
name = "ベンチ商店"
postal_code = "1500001"
prefecture = "東京都"
address = "渋谷区神宮前1-2-3"
phone = "03-1234-5678"

[futureshop]
name = "本店"
shop_key = "demo-shop"
client_id = "demo-client"
client_secret_env = "UNUSED"
api_base = "{base}"
pacing_ms = {pacing_ms}
"#
    )
}

/// An engine on `dir` with the guide applied (product master filled), no robot scheduled.
pub async fn engine(dir: &Path, sim: &SimHandle, pacing_ms: u64) -> Engine {
    let engine = Engine::with_options(
        Store::open(dir).expect("store"),
        EngineOptions {
            client: ClientOptions {
                backoff_base: Duration::from_millis(20),
                backoff_max: Duration::from_secs(2),
                ..ClientOptions::default()
            },
        },
    )
    .expect("engine");
    let file = SetupFile::parse(&setup_toml(&sim.base_url(), pacing_ms)).expect("setup");
    engine
        .apply_setup(&file, Secret::new("demo-secret"), &actor())
        .await
        .expect("apply");
    for r in engine.store().linkage_robots().expect("robots") {
        engine
            .set_linkage_enabled(r.id, false, &actor())
            .expect("disable");
    }
    engine
}

pub fn converter(engine: &Engine) -> u64 {
    engine
        .store()
        .converters()
        .expect("converters")
        .into_iter()
        .find(|c| c.enabled && !c.standard)
        .expect("the guide's converter")
        .id
}

/// From before the first to after the last order the simulator can hold.
fn all_time() -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    let at = |y| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("date")
    };
    (at(2000), at(2100))
}

/// The search that covers every order of the simulator.
pub fn everything() -> OrderQuery {
    let (start, end) = all_time();
    OrderQuery {
        order_date_start: Some(start),
        order_date_end: Some(end),
        ..OrderQuery::default()
    }
}

/// One run of a linkage robot, as if started by hand.
pub async fn run(engine: &Engine, robot: u64) -> RunLogEntry {
    engine
        .run_robot(
            robot,
            RunOptions {
                trigger: "bench".into(),
                ..Default::default()
            },
        )
        .await
        .expect("run")
}

pub fn range_robot(engine: &Engine) -> u64 {
    let (start, end) = all_time();
    engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "ベンチ取得".into(),
                action: LinkAction::FetchRange,
                auth_id: Some(1),
                converter_id: Some(converter(engine)),
                processing_robot_id: None,
                target_status: None,
                range: Some((start, end)),
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &actor(),
        )
        .expect("robot")
        .id
}

pub fn robot_named(engine: &Engine, name: &str) -> u64 {
    engine
        .store()
        .linkage_robots()
        .expect("robots")
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.id)
        .expect("robot")
}
