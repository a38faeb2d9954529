//! `shukka` (the console) and `shukka demo`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::backend::Backend;
use crate::cli::DemoArgs;
use crate::domain::Actor;
use crate::engine::{Engine, SetupFile};
use crate::robots::linkage::{RobotRole, Trigger, find_role};
use crate::secret::Secret;
use crate::server::client::{ConnectError, RemoteClient};
use crate::sim::{self, Behaviour, Settings, SimConfig};
use crate::store::Store;
use crate::tui::{self, ConsoleOptions};

pub fn options(lang: &str, read_only: bool, labels_dir: PathBuf) -> ConsoleOptions {
    ConsoleOptions {
        lang: crate::tui::text::Lang::parse(lang).unwrap_or(crate::tui::text::Lang::Ja),
        read_only,
        defaults: Default::default(),
        labels_dir,
    }
}

fn require_tty() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "the console needs a terminal (run it in a terminal or over ssh -t)"
        ));
    }
    Ok(())
}

/// The console on a data directory, through its server — started in the background (detached,
/// so it outlives this SSH session) when none is running.
pub async fn console(dir: &Path, opts: ConsoleOptions) -> Result<()> {
    require_tty()?;
    let slot: std::sync::Arc<std::sync::Mutex<Option<RemoteClient>>> = Default::default();
    let keep = slot.clone();
    let dir = dir.to_path_buf();
    let connect = async move {
        let c = connect_or_start(&dir).await.map_err(|e| format!("{e:#}"))?;
        if let Ok(mut s) = keep.lock() {
            *s = Some(c.clone());
        }
        Ok(Backend::Remote(c))
    };
    let result = tui::run_connecting(connect, opts).await;
    let client = slot.lock().ok().and_then(|mut s| s.take());
    if let Some(c) = client {
        c.close().await;
    }
    result.map_err(|e| eyre!("{e}"))
}

/// Connects to the data directory's server, starting one if needed.
pub async fn connect_or_start(dir: &Path) -> Result<RemoteClient> {
    let path = crate::server::socket_path(dir);
    match RemoteClient::connect(&path, true, true).await {
        Ok(c) => return Ok(c),
        Err(ConnectError::NotRunning(_)) => {}
        Err(e) => return Err(e.into()),
    }
    super::may_start_here(dir)?;
    crate::store::create_private_dir(dir)?;
    let err_file = dir.join("serve.err");
    let child = std::sync::Arc::new(std::sync::Mutex::new(spawn_server(dir, &err_file)?));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match RemoteClient::connect(&path, true, true).await {
            Ok(c) => {
                // Reap the server whenever it ends, so it never lingers as a zombie of ours.
                let c2 = child.clone();
                std::thread::spawn(move || {
                    if let Ok(mut c) = c2.lock() {
                        let _ = c.wait();
                    }
                });
                return Ok(c);
            }
            Err(ConnectError::NotRunning(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let exited = child.lock().map(|mut c| c.try_wait()).unwrap_or(Ok(None));
        if let Ok(Some(status)) = exited {
            let why = std::fs::read_to_string(&err_file).unwrap_or_default();
            // Another server may have won the race to start.
            if let Ok(c) = RemoteClient::connect(&path, true, true).await {
                return Ok(c);
            }
            return Err(eyre!(
                "the shukka server could not start ({status}): {}",
                crate::sanitize::sanitize(why.trim())
            ));
        }
        if std::time::Instant::now() > deadline {
            return Err(eyre!(
                "the shukka server did not answer on {} within 20 s (see {})",
                path.display(),
                dir.join("shukka.log").display()
            ));
        }
        // Connecting is cheap; a short poll keeps the wait close to the server's real start.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

fn spawn_server(dir: &Path, err_file: &Path) -> Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().wrap_err("locating the shukka binary")?;
    let err = crate::store::create_private_file(err_file)?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(err);
    // A session of its own: the server survives the SSH session (and its SIGHUP) that started it.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    cmd.spawn().wrap_err("starting the shukka server")
}

fn spawn_scheduler(engine: &Engine) -> tokio::task::JoinHandle<()> {
    let e = engine.clone();
    tokio::spawn(async move {
        e.run_scheduler(Duration::from_secs(1), Duration::from_secs(8))
            .await
    })
}

/// The demo shop: a seeded simulator with a live stream of orders, the whole setup guide
/// applied, robots every few seconds, and the console.
pub async fn demo(a: DemoArgs, opts: ConsoleOptions) -> Result<()> {
    require_tty()?;
    let (dir, _tmp): (PathBuf, Option<tempfile::TempDir>) = match &a.keep {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("shukka-demo-")
                .tempdir()
                .wrap_err("temporary directory")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    crate::store::create_private_dir(&dir)?;
    if let Err(e) = crate::logging::init_dir(&dir) {
        eprintln!("shukka demo: cannot log to {}: {e}", dir.display());
    }
    eprintln!("shukka demo: starting the simulator…");
    let sim = sim::start(SimConfig {
        seed: a.seed,
        orders: a.orders,
        days: 3,
        settings: Settings {
            new_orders_per_min: a.orders_per_min.max(0.0),
            behaviour: Behaviour {
                payment_delay: chrono::Duration::seconds(30),
                // Now and then a customer orders twice: 同梱候補 on the dashboard.
                repeat_rate: 0.08,
                ..Behaviour::default()
            },
            ..Settings::default()
        },
        ..SimConfig::default()
    })
    .await
    .wrap_err("simulator")?;
    eprintln!(
        "shukka demo: simulator on {}{}",
        sim.base_url(),
        if a.fresh {
            " — nothing set up: walk the guide on the セットアップ screen (4)"
        } else {
            " — applying the setup guide…"
        }
    );
    let engine = Engine::new(Store::open(&dir)?)?;
    let actor = Actor::Operator(crate::user::current_user());
    let mut opts = opts;
    if opts.labels_dir.as_os_str().is_empty() {
        // No --labels-dir: the demo's own data directory.
        opts.labels_dir = crate::output::label_file::labels_dir(&dir);
    }
    if a.fresh {
        // Nothing set up: the operator walks the guide; the forms offer the simulator's shop.
        opts.defaults = demo_defaults(&sim.base_url());
    } else {
        let setup = SetupFile::parse(&demo_setup(&sim.base_url())).map_err(|e| eyre!(e))?;
        engine
            .apply_setup(&setup, Secret::new(sim::DEMO_SECRET), &actor)
            .await?;
        // A fast cadence, so the queues move while you watch.
        let robots = engine.store().linkage_robots()?;
        for (role, secs) in [
            (RobotRole::EasyFetch, 5),
            (RobotRole::EasyStatus, 10),
            (RobotRole::EasyTracking, 15),
        ] {
            if let Some(r) = find_role(&robots, role) {
                engine.set_linkage_trigger(r.id, Trigger::Every { secs }, &actor)?;
            }
        }
        demo_rules(&engine, &actor)?;
    }
    // Now and then the shop cancels an order the warehouse already works on (出荷後キャンセル),
    // so that the banner and its queue can be seen.
    let late = (!a.fresh).then(|| {
        let (engine, sim) = (engine.clone(), sim.control());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(120));
            tick.tick().await;
            loop {
                tick.tick().await;
                let picked = engine
                    .store()
                    .ids_in(crate::domain::Status::InProgress)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|id| engine.store().instruction(id).ok().flatten())
                    .find(|i| !i.cancelled_after_shipment);
                if let Some(i) = picked {
                    let _ = sim.with_state(|s| s.cancel(&i.order_no));
                }
            }
        })
    });
    let sched = spawn_scheduler(&engine);
    let backend = Backend::local(engine.clone(), actor);
    let result = tui::run(backend, opts).await;
    if let Some(t) = late {
        t.abort();
    }
    engine.request_stop();
    let _ = tokio::time::timeout(Duration::from_secs(10), sched).await;
    sim.shutdown().await;
    if let Some(d) = &a.keep {
        eprintln!("shukka demo: data kept in {}", d.display());
    }
    result.wrap_err("console")
}

/// Two rules of the kind shops write on what the customer wrote: orders with のし and with
/// 置き配 wait in 保留 for a look (their detail view shows why).
fn demo_rules(engine: &Engine, actor: &Actor) -> Result<()> {
    use crate::robots::rules::{Condition, Field, Op, RuleAction, UserRule};
    let Some(conv) = engine
        .store()
        .converters()?
        .into_iter()
        .find(|c| c.enabled && !c.standard)
    else {
        return Ok(());
    };
    for (name, field, value, reason) in [
        ("のしは確認してから", Field::GiftLabel, "のし", "のし確認"),
        ("置き配は確認してから", Field::Notes, "置き配", "置き配確認"),
    ] {
        let r = engine.add_user_rule(
            name,
            "デモ: お客様の記入を見てから出荷",
            UserRule {
                conditions: vec![Condition {
                    field,
                    op: Op::Contains,
                    value: value.into(),
                }],
                match_all: true,
                actions: vec![RuleAction::AddHoldReason {
                    reason: reason.into(),
                }],
            },
            actor,
        )?;
        engine.apply_processing(r.id, conv.id, true, actor)?;
        engine.set_processing_enabled(r.id, true, actor)?;
    }
    // Before rule 5, which releases what has no hold reason left.
    let mut order: Vec<u64> = engine
        .store()
        .processing_robots()?
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != 5)
        .collect();
    order.push(5);
    engine.set_rule_order(&order, actor)?;
    Ok(())
}

/// The demo shop as the setup forms offer it in `shukka demo --fresh`.
fn demo_defaults(base: &str) -> crate::tui::context::FormDefaults {
    use crate::tui::context::{AuthDefaults, FormDefaults};
    FormDefaults {
        ship_from: Some(crate::domain::ShipFrom {
            id: 0,
            name: "デモ商店 出荷センター".into(),
            postal_code: "1500001".into(),
            prefecture: "東京都".into(),
            address: "渋谷区神宮前1-2-3".into(),
            phone: "03-1234-5678".into(),
        }),
        auth: Some(AuthDefaults {
            name: "デモ商店".into(),
            shop_key: sim::DEMO_SHOP_KEY.into(),
            client_id: sim::DEMO_CLIENT_ID.into(),
            secret: Secret::new(sim::DEMO_SECRET),
            endpoint: base.to_string(),
            pacing_ms: 0,
        }),
    }
}

fn demo_setup(base: &str) -> String {
    format!(
        r#"
[ship_from]
name = "デモ商店 出荷センター"
postal_code = "1500001"
prefecture = "東京都"
address = "渋谷区神宮前1-2-3"
phone = "03-1234-5678"

[futureshop]
name = "デモ商店"
shop_key = "demo-shop"
client_id = "demo-client"
client_secret_env = "SHUKKA_DEMO_UNUSED"
api_base = "{base}"
pacing_ms = 0

[sync]
interval_minutes = 1
no_prepayment = ["COD", "ATODENE"]
bundle = true

[carriers.b2]
billing_customer_code = "012345678901"
freight_no = "01"

[[delivery]]
name = "メール便はネコポス"
service_name = "メール便"
max_items = 2
carrier = "b2"
service = "nekopos"

[delivery_default]
carrier = "b2"
service = "hatsubarai"
cod_payments = ["COD"]
unknown_time = "hold"
"#
    )
}
