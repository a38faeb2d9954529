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
