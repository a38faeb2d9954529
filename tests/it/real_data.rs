//! Real futureshop data (issue 12): responses in the real shapes (tests/fixtures/futureshop),
//! served by a replay server on loopback, and the simulator held to the same shapes.
//!
//! The replay server answers like futureshop but ignores the search filters — so an order that
//! arrives shipped anyway (a COMPLETED one, a partly shipped one) reaches the engine, which must
//! never queue what futureshop already shipped.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use shukka::domain::*;
use shukka::engine::{Engine, RunOptions, SetupFile};
use shukka::robots::linkage::{EASY_STATUS, EASY_TRACKING};
use shukka::robots::rules::{Condition, Field, Op, RuleAction, UserRule};

use crate::common::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/futureshop")
}

fn read(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(rel)).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// What the replay server was asked and answers.
#[derive(Default)]
struct Replay {
    list: Value,
    details: HashMap<String, Value>,
    /// Orders whose detail answers 500 (until removed).
    broken: BTreeSet<String>,
    detail_requests: Vec<String>,
    shipping_updates: Vec<Value>,
    search_queries: Vec<String>,
}

type Shared = Arc<Mutex<Replay>>;

async fn token() -> impl IntoResponse {
    axum::Json(json!({"access_token": "replay-token", "token_type": "Bearer", "expires_in": 3600}))
}

async fn shipping(
    State(s): State<Shared>,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> impl IntoResponse {
    let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
    let q = q.unwrap_or_default();
    st.search_queries.push(q.clone());
    // A search by orderNo (status sync) gets those orders; any other search everything, as a
    // futureshop that ignored the filter would.
    let wanted: Option<Vec<String>> = url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "orderNo")
        .map(|(_, v)| v.split(',').map(str::to_string).collect());
    let mut list = st.list.clone();
    if let Some(nos) = wanted
        && let Some(orders) = list["orderList"].as_array_mut()
    {
        orders.retain(|o| nos.iter().any(|n| o["orderNo"] == n.as_str()));
    }
    axum::Json(list)
}

async fn detail(State(s): State<Shared>, Path(no): Path<String>) -> axum::response::Response {
    let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
    st.detail_requests.push(no.clone());
    if st.broken.contains(&no) {
        return (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(json!({"code": "OrderNotFound", "message": "replay: not now"})),
        )
            .into_response();
    }
    match st.details.get(&no) {
        Some(d) => axum::Json(d.clone()).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no such order").into_response(),
    }
}

async fn ship(State(s): State<Shared>, body: axum::Json<Value>) -> impl IntoResponse {
    s.lock()
        .unwrap_or_else(|e| e.into_inner())
        .shipping_updates
        .push(body.0);
    axum::Json(json!({"results": []}))
}

async fn inventory() -> impl IntoResponse {
    axum::Json(read("inventory.json"))
}

/// The replay server on an ephemeral loopback port.
async fn replay_server() -> (String, Shared) {
    let mut details = HashMap::new();
    for e in std::fs::read_dir(fixtures().join("orders")).expect("orders") {
        let e = e.expect("entry");
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).expect("read")).expect("json");
        details.insert(v["orderNo"].as_str().expect("orderNo").to_string(), v);
    }
    let state: Shared = Arc::new(Mutex::new(Replay {
        list: read("shipping.json"),
        details,
        broken: ["100000101005".to_string()].into(),
        ..Replay::default()
    }));
    let app = axum::Router::new()
        .route("/oauth/token", post(token))
        .route("/admin-api/v1/shipping", get(shipping))
        .route("/admin-api/v1/shipping/status", post(ship))
        .route("/admin-api/v1/orders/{no}", get(detail))
        .route("/admin-api/v1/inventory", get(inventory))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

/// The setup guide against `base`, plus user rules on 備考 and on the postal code, and every
/// SKU of the fixtures in the product master.
async fn engine_on(base: &str) -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = engine_in(dir.path());
    let file = SetupFile::parse(&format!(
        r#"
[ship_from]
name = "出荷テスト商店"
postal_code = "1500001"
prefecture = "東京都"
address = "渋谷区神宮前1-2-3"
phone = "03-1234-5678"

[futureshop]
name = "本店"
shop_key = "replay-shop"
client_id = "replay-client"
client_secret_env = "UNUSED"
api_base = "{base}"
pacing_ms = 0
product_master = false
"#
    ))
    .expect("setup file");
    engine
        .apply_setup(&file, shukka::secret::Secret::new("s"), &operator())
        .await
        .expect("setup");
    let products: Vec<ProductMaster> = [
        "tea01-100",
        "tea01-200",
        "mug01-wh",
        "twl01-02",
        "twl01-03",
        "swt01-box",
    ]
    .iter()
    .map(|s| ProductMaster {
        sku_no: s.to_string(),
        name: s.to_string(),
        source: "manual".into(),
        ..ProductMaster::default()
    })
    .collect();
    engine
        .put_products(&products, &operator())
        .expect("products");
    let conv = engine
        .store()
        .converters()
        .expect("converters")
        .into_iter()
        .find(|c| c.enabled && !c.standard)
        .expect("copy");
    let rule = |name: &str, field: Field, op: Op, value: &str, reason: &str| {
        let r = engine
            .add_user_rule(
                name,
                "",
                UserRule {
                    conditions: vec![Condition {
                        field,
                        op,
                        value: value.into(),
                    }],
                    match_all: true,
                    actions: vec![RuleAction::AddHoldReason {
                        reason: reason.into(),
                    }],
                },
                &operator(),
            )
            .expect("rule");
        engine
            .apply_processing(r.id, conv.id, true, &operator())
            .expect("apply");
        engine
            .set_processing_enabled(r.id, true, &operator())
            .expect("enable");
    };
    rule(
        "置き配は確認",
        Field::Notes,
        Op::Contains,
        "置き配",
        "置き配確認",
    );
    rule(
        "渋谷の郵便番号",
        Field::PostalCode,
        Op::Equals,
        "1500001",
        "郵便番号(数字のみ)",
    );
    rule(
        "渋谷の郵便番号 (ハイフン)",
        Field::PostalCode,
        Op::Equals,
        "150-0001",
        "郵便番号(ハイフン)",
    );
    rule(
        "のしあり",
        Field::GiftLabel,
        Op::Contains,
        "のし",
        "のし確認",
    );
    // Rule 5 runs last, so it sees the holds the user rules added.
    let mut order: Vec<u64> = engine
        .store()
        .processing_robots()
        .expect("robots")
        .iter()
        .map(|r| r.id)
        .collect();
    order.retain(|id| *id != 5);
    order.push(5);
    engine.set_rule_order(&order, &operator()).expect("order");
    (engine, dir)
}

fn by_order(engine: &Engine, no: &str) -> Instruction {
    engine
        .store()
        .instructions_by_order_no(no)
        .expect("read")
        .pop()
        .unwrap_or_else(|| panic!("no instruction for {no}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_shapes_never_queue_a_shipped_order_and_carry_what_the_customer_wrote() {
    let (base, replay) = replay_server().await;
    let (engine, _dir) = engine_on(&base).await;
    let fetch = range_robot(&engine);
    let line = run(&engine, fetch).await;
    assert_eq!(line.state, RunState::Done, "{line:?}");
    assert_eq!((line.success, line.failure), (5, 0), "{line:?}");
    assert_eq!(line.details, 4, "one detail per new order (one failed)");
    assert_eq!(line.errors.len(), 1, "{:?}", line.errors);
    {
        let r = replay.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            r.search_queries[0].contains("shippingStatus=notShipped"),
            "the fetch asks only for what still has to be shipped: {}",
            r.search_queries[0]
        );
        assert_eq!(r.detail_requests.len(), 5, "{:?}", r.detail_requests);
    }

    // A: paid, ready, and both postal-code rules match the hyphenated real value.
    let a = by_order(&engine, "100000101001");
    assert_eq!(
        a.destinations[0].address.postal_code, "150-0001",
        "raw kept"
    );
    let holds: Vec<&str> = a.hold_reasons.iter().map(String::as_str).collect();
    assert_eq!(holds, vec!["郵便番号(ハイフン)", "郵便番号(数字のみ)"]);
    assert_eq!(a.detail, DetailState::Fetched);

    // B: COMPLETED and shipped in futureshop: 出荷済み, flagged, nothing to send.
    let b = by_order(&engine, "100000101002");
    assert_eq!(b.status, Status::Shipped);
    assert!(b.shipped_outside(), "{:?}", b.upstream);
    assert!(!b.upstream.needs_sending());
    assert_eq!(
        b.destinations[0].tracking_no.as_deref(),
        Some("398201234561")
    );
    assert!(
        b.trace
            .iter()
            .any(|t| t.decision.contains("shukka 以外で出荷")),
        "{:?}",
        b.trace
    );
    let b_history = engine.store().audit_for(b.id).expect("history");
    assert!(b_history.iter().all(|h| h.to != Some(Status::Ready)));

    // C: the first shipment shipped in futureshop, the second is shukka's to ship.
    let c = by_order(&engine, "100000101003");
    assert_eq!(c.status, Status::Ready);
    assert!(c.destinations[0].shipped_in_futureshop.is_some());
    assert!(c.destinations[0].upstream_accepted, "never sent");
    assert!(c.destinations[1].is_open());

    // D: the customer's note, 配送指示, のし, options, JAN and tax class, and the rules on them.
    let d = by_order(&engine, "100000101004");
    assert_eq!(d.notes.as_deref(), Some("置き配希望 玄関前にお願いします"));
    assert_eq!(d.shop_memo.as_deref(), Some("リピーター (3回目)"));
    let dest = &d.destinations[0];
    assert_eq!(
        dest.instructions.as_deref(),
        Some("不在時は宅配ボックスへお願いします")
    );
    assert_eq!(dest.gift_label.as_deref(), Some("御歳暮 (外のし)"));
    assert_eq!(dest.gift_charge, 220);
    assert_eq!(dest.requested_time.as_deref(), Some("午前中"));
    let item = &dest.items[0];
    assert_eq!(item.jan_code, "4580000000042");
    assert_eq!(item.tax_class, "REDUCED");
    assert_eq!(
        item.options,
        vec![
            ItemOption {
                name: "名入れ".into(),
                value: "あり".into(),
                price: Some(330)
            },
            ItemOption {
                name: "メッセージカード".into(),
                value: "ありがとう".into(),
                price: None
            },
        ]
    );
    assert_eq!(d.status, Status::Held);
    assert!(d.hold_reasons.contains("置き配確認") && d.hold_reasons.contains("のし確認"));

    // E: the detail failed: an instruction, held 詳細未取得, and read again on the next run.
    let e = by_order(&engine, "100000101005");
    assert_eq!(e.status, Status::Held);
    assert!(e.hold_reasons.contains(DETAIL_MISSING));
    assert!(matches!(e.detail, DetailState::Missing { .. }));
    assert_eq!(e.notes, None, "the list has no note");
    replay
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .broken
        .clear();
    let again = run(&engine, fetch).await;
    assert_eq!(again.success, 0, "nothing new: {again:?}");
    assert_eq!(again.details, 1, "only the missing detail is read again");
    let e = by_order(&engine, "100000101005");
    assert_eq!(e.detail, DetailState::Fetched);
    assert_eq!(e.notes.as_deref(), Some("急ぎでお願いします"));
    assert_eq!(e.status, Status::Ready, "released once the detail came");
    assert!(
        engine
            .store()
            .audit_for(e.id)
            .expect("history")
            .iter()
            .any(|h| h.action == "詳細取得")
    );
    // Orders already stored are never read again.
    assert_eq!(
        replay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .detail_requests
            .len(),
        6
    );

    // C's second destination ships through shukka: only shipment 2 goes to futureshop.
    engine
        .ship(
            c.id,
            None,
            &shukka::engine::ShipRequest {
                tracking: vec!["T-0002".into()],
                ..Default::default()
            },
            &operator(),
        )
        .expect("ship");
    let c = by_order(&engine, "100000101003");
    assert_eq!(
        c.destinations[0].tracking_no.as_deref(),
        Some("512300004321"),
        "futureshop's own number kept"
    );
    assert_eq!(c.destinations[1].tracking_no.as_deref(), Some("T-0002"));
    let upload = robot_id(&engine, EASY_TRACKING);
    run(&engine, upload).await;
    let sent = replay
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .shipping_updates
        .clone();
    let shipments: Vec<(String, i64)> = sent
        .iter()
        .flat_map(|b| b["orderList"].as_array().cloned().unwrap_or_default())
        .flat_map(|o| {
            let no = o["orderNo"].as_str().unwrap_or("").to_string();
            o["shipmentList"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |s| (no.clone(), s["shipmentNo"].as_i64().unwrap_or(0)))
        })
        .collect();
    assert_eq!(
        shipments,
        vec![("100000101003".to_string(), 2)],
        "never B (shipped in futureshop), never C's first shipment"
    );
}

/// ステータス同期 reads the shipped state: an instruction futureshop reports shipped leaves
/// 出荷待ち for 出荷済み (shipped outside shukka) and 出荷実績連携 never sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_sync_moves_an_order_shipped_in_futureshop_out_of_the_queue() {
    let sim = start_sim(0, 100).await;
    let made = |shipments: Option<usize>| {
        sim.with_state(|s| {
            s.create_order(shukka::sim::NewOrder {
                payment_type: Some("COD".into()),
                shipments,
                ..Default::default()
            })
        })
        .expect("order")["orderNo"]
            .as_str()
            .expect("no")
            .to_string()
    };
    let single = made(None);
    let double = made(Some(2));
    let shipped_here = made(None);
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    for no in [&single, &double, &shipped_here] {
        assert_eq!(by_order(&engine, no).status, Status::Ready, "{no}");
    }
    // shukka ships one; the shop ships the others in its admin screen.
    let here = by_order(&engine, &shipped_here);
    engine
        .ship(
            here.id,
            None,
            &shukka::engine::ShipRequest {
                tracking: vec!["SHUKKA-1".into()],
                ..Default::default()
            },
            &operator(),
        )
        .expect("ship");
    sim.with_state(|s| s.ship_in_admin(&single, None, Some("777700001111".into())))
        .expect("ship in admin");
    sim.with_state(|s| s.ship_in_admin(&double, Some(1), Some("777700002222".into())))
        .expect("ship one shipment");
    // And a shipment shukka shipped is shipped by the shop too before the upload (its own number).
    sim.with_state(|s| s.ship_in_admin(&shipped_here, None, Some("ADMIN-9".into())))
        .expect("ship in admin");
    let sync = robot_id(&engine, EASY_STATUS);
    engine
        .run_robot(
            sync,
            RunOptions {
                trigger: "test".into(),
                chain: false,
                ..Default::default()
            },
        )
        .await
        .expect("sync");
    let s = by_order(&engine, &single);
    assert_eq!(s.status, Status::Shipped);
    assert!(s.shipped_outside());
    assert_eq!(
        s.destinations[0].tracking_no.as_deref(),
        Some("777700001111")
    );
    let h = engine.store().audit_for(s.id).expect("history");
    let last = h.last().expect("entry");
    assert_eq!(last.action, "ステータス同期 (shukka 以外で出荷)");
    assert_eq!(
        (last.from, last.to),
        (Some(Status::Ready), Some(Status::Shipped))
    );
    assert!(last.reason.contains("777700001111"), "{}", last.reason);
    let d = by_order(&engine, &double);
    assert_eq!(d.status, Status::Ready, "one shipment is still to ship");
    assert!(d.destinations[0].shipped_in_futureshop.is_some());
    assert!(d.destinations[1].is_open());
    let here = by_order(&engine, &shipped_here);
    assert!(!here.upstream.needs_sending(), "{:?}", here.upstream);

    // 出荷実績連携 sends nothing of these.
    let before = sim.with_state(|s| s.shipping_received().len());
    run(&engine, robot_id(&engine, EASY_TRACKING)).await;
    let received = sim.with_state(|s| s.shipping_received()[before..].to_vec());
    assert!(received.is_empty(), "sent: {received:?}");
    // The status sync of the next run changes nothing more.
    let count = engine.store().audit(1000).expect("audit").len();
    engine
        .run_robot(sync, RunOptions::default())
        .await
        .expect("sync");
    let again = engine.store().audit(1000).expect("audit");
    assert!(
        again[..again.len() - count]
            .iter()
            .all(|a| a.action != "ステータス同期 (shukka 以外で出荷)")
    );
}

/// The upload checks futureshop just before sending: a shipment the shop shipped in its admin
/// screen after the last status sync is not overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_never_overwrites_a_shipment_futureshop_already_shipped() {
    let sim = start_sim(0, 100).await;
    let no = sim
        .with_state(|s| {
            s.create_order(shukka::sim::NewOrder {
                payment_type: Some("COD".into()),
                ..Default::default()
            })
        })
        .expect("order")["orderNo"]
        .as_str()
        .expect("no")
        .to_string();
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let i = by_order(&engine, &no);
    engine
        .ship(
            i.id,
            None,
            &shukka::engine::ShipRequest {
                tracking: vec!["SHUKKA-2".into()],
                ..Default::default()
            },
            &operator(),
        )
        .expect("ship");
    sim.with_state(|s| s.ship_in_admin(&no, None, Some("ADMIN-2".into())))
        .expect("admin");
    run(&engine, robot_id(&engine, EASY_TRACKING)).await;
    assert!(sim.with_state(|s| s.shipping_received().is_empty()));
    let i = by_order(&engine, &no);
    assert!(
        matches!(i.upstream, Upstream::External { .. }),
        "{:?}",
        i.upstream
    );
    // And resending by hand is refused with the reason.
    let e = engine
        .resend_tracking(i.id, None, &operator())
        .expect_err("refused");
    assert!(e.to_string().contains("futureshop で出荷済み"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The simulator looks like the real API

/// Every key path of a JSON value (`/a/[]/b`).
fn key_paths(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}/{k}");
                out.insert(p.clone());
                key_paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                key_paths(x, &format!("{path}/[]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_simulator_serves_the_real_shapes() {
    let sim = start_sim(400, 500).await;
    let list = sim.with_state(|s| s.search_orders(&[])).expect("search");
    let orders = list["orderList"].as_array().expect("orderList");
    let mut sim_list = BTreeSet::new();
    let mut sim_detail = BTreeSet::new();
    for o in orders {
        key_paths(o, "", &mut sim_list);
        let no = o["orderNo"].as_str().expect("no");
        let d = sim.with_state(|s| s.order_detail(no)).expect("detail");
        key_paths(&d, "", &mut sim_detail);
    }
    let mut real_list = BTreeSet::new();
    for o in read("shipping.json")["orderList"].as_array().expect("list") {
        key_paths(o, "", &mut real_list);
    }
    let mut real_detail = BTreeSet::new();
    for e in std::fs::read_dir(fixtures().join("orders")).expect("orders") {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(e.expect("entry").path()).expect("read"))
                .expect("json");
        key_paths(&v, "", &mut real_detail);
    }
    assert_eq!(
        sim_list
            .symmetric_difference(&real_list)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "list shape"
    );
    assert_eq!(
        sim_detail
            .symmetric_difference(&real_detail)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "detail shape"
    );
    // Key order too (futureshop's own order), for the first order.
    let first = &orders[0];
    let keys: Vec<&String> = first.as_object().expect("object").keys().collect();
    let real_first = &read("shipping.json")["orderList"][0];
    let real_keys: Vec<&String> = real_first.as_object().expect("object").keys().collect();
    assert_eq!(keys, real_keys);
    let inv = sim
        .with_state(|s| s.search_inventory(&[]))
        .expect("inventory");
    let mut sim_inv = BTreeSet::new();
    for p in inv["productList"].as_array().expect("products") {
        key_paths(p, "", &mut sim_inv);
    }
    let real_inv = {
        let mut s = BTreeSet::new();
        for p in read("inventory.json")["productList"].as_array().expect("p") {
            key_paths(p, "", &mut s);
        }
        s
    };
    assert_eq!(sim_inv, real_inv, "inventory shape");

    // Values as futureshop writes them, and the realistic content shukka must handle.
    let mut hyphenated = 0;
    let (mut completed, mut partly, mut notes, mut gifts, mut options, mut instructions) =
        (0, 0, 0, 0, 0, 0);
    let mut list_birthday = false;
    let mut empty_jan = 0;
    for o in orders {
        let zip = o["buyerInfo"]["zipCode"].as_str().expect("zip");
        if zip.len() == 8 && zip.as_bytes()[3] == b'-' {
            hyphenated += 1;
        }
        if let Some(b) = o["buyerInfo"]["birthday"].as_str()
            && b.len() == 8
        {
            list_birthday = true;
        }
        if o["status"] == "COMPLETED" {
            completed += 1;
        }
        let ships = o["shipmentList"].as_array().expect("shipments");
        let shipped = ships
            .iter()
            .filter(|s| s["shippingInfo"]["shippingDate"] != "")
            .count();
        if shipped > 0 && shipped < ships.len() {
            partly += 1;
        }
        for s in ships {
            for p in s["productList"].as_array().expect("products") {
                assert_eq!(p["taxIncluded"], "TAX_EXCLUDED");
                if p["janCode"] == "" {
                    empty_jan += 1;
                }
                if !p["optionList"].as_array().expect("options").is_empty() {
                    options += 1;
                }
            }
        }
        let d = sim
            .with_state(|s| s.order_detail(o["orderNo"].as_str().expect("no")))
            .expect("detail");
        if d["communication"] != "" {
            notes += 1;
        }
        for s in d["shipmentList"].as_array().expect("s") {
            if s["giftWrappingLabel"] != "" {
                gifts += 1;
            }
            if s["instructions"] != "" {
                instructions += 1;
            }
        }
        if let Some(b) = d["buyerInfo"]["birthday"].as_str() {
            assert!(b.is_empty() || b.len() == 10, "detail birthday {b}");
        }
    }
    assert_eq!(hyphenated, orders.len(), "postal codes as 000-0000");
    assert!(list_birthday, "yyyymmdd birthdays in the list");
    for (what, n) in [
        ("COMPLETED", completed),
        ("partly shipped", partly),
        ("notes", notes),
        ("のし", gifts),
        ("options", options),
        ("配送指示", instructions),
        ("empty janCode", empty_jan),
    ] {
        assert!(n > 0, "no order with {what} among {}", orders.len());
    }
}

#[tokio::test]
async fn next_url_follows_the_host_the_client_used_or_the_public_url() {
    let sim = start_sim(30, 10).await;
    let port = sim.addr.port();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("X-SHOP-KEY", "demo-shop")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let bearer = token["access_token"].as_str().expect("token").to_string();
    let first = |url: String| {
        let http = http.clone();
        let bearer = bearer.clone();
        async move {
            let v: Value = http
                .get(url)
                .bearer_auth(bearer)
                .header("X-SHOP-KEY", "demo-shop")
                .send()
                .await
                .expect("search")
                .json()
                .await
                .expect("json");
            v["nextUrl"].as_str().expect("nextUrl").to_string()
        }
    };
    let via_localhost = first(format!("http://localhost:{port}/admin-api/v1/shipping")).await;
    assert!(
        via_localhost.starts_with(&format!("http://localhost:{port}/admin-api/v1/shipping?")),
        "{via_localhost}"
    );
    sim.with_state(|s| s.settings.public_url = Some("https://proxy.example.jp/fs".into()));
    let via_proxy = first(format!("{}/admin-api/v1/shipping", sim.base_url())).await;
    assert!(
        via_proxy.starts_with("https://proxy.example.jp/fs/admin-api/v1/shipping?"),
        "{via_proxy}"
    );
}

/// `shukka sim --tls --tls-cert FILE`, and a client trusting FILE: HTTPS end to end, paging
/// orders and inventory through absolute HTTPS `nextUrl`s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_pages_through_the_simulator_over_https() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().expect("tmp");
    let cert = dir.path().join("sim.pem");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
        .args([
            "sim",
            "--addr",
            "127.0.0.1:0",
            "--orders",
            "35",
            "--page-size",
            "10",
        ])
        .arg("--tls")
        .arg("--tls-cert")
        .arg(&cert)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sim");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("starts")
        .expect("read")
        .expect("a line");
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = std::fs::read(&cert).expect("certificate written");
    assert!(String::from_utf8_lossy(&pem).contains("BEGIN CERTIFICATE"));

    // Plain reqwest with the certificate as a root, following nextUrl verbatim.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .build()
        .expect("client");
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("X-SHOP-KEY", "demo-shop")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token over https")
        .json()
        .await
        .expect("json");
    let bearer = token["access_token"].as_str().expect("token").to_string();
    for (path, key, at_least) in [
        ("/admin-api/v1/shipping", "orderList", 35usize),
        ("/admin-api/v1/inventory", "productList", 11),
    ] {
        let mut url = format!("{base}{path}");
        let (mut pages, mut items) = (0, 0);
        loop {
            let page: Value = http
                .get(&url)
                .bearer_auth(&bearer)
                .header("X-SHOP-KEY", "demo-shop")
                .send()
                .await
                .expect("page")
                .json()
                .await
                .expect("json");
            pages += 1;
            items += page[key].as_array().expect("list").len();
            match page["nextUrl"].as_str() {
                Some(next) => {
                    assert!(next.starts_with(&format!("{base}{path}?")), "{next}");
                    url = next.to_string();
                }
                None => break,
            }
        }
        assert!(pages >= 3, "{path}: {pages} pages");
        assert!(items >= at_least, "{path}: {items}");
    }

    // shukka's own client, trusting the same file.
    let client = shukka::futureshop::Client::new(shukka::futureshop::FsConfig {
        credentials: shukka::futureshop::Credentials {
            shop_key: "demo-shop".into(),
            client_id: "demo-client".into(),
            client_secret: shukka::secret::Secret::new("demo-secret"),
        },
        base_url: url::Url::parse(&base).expect("url"),
        options: shukka::futureshop::ClientOptions {
            pacing: Duration::ZERO,
            extra_roots: vec![pem.clone()],
            ..Default::default()
        },
    })
    .expect("client");
    let pager = client.search_orders(&everything()).expect("pager");
    let (orders, bad) = pager.collect_all().await.expect("all pages over https");
    assert_eq!(orders.len() + bad.len(), 35);
    let products = client
        .search_inventory(&[])
        .expect("pager")
        .collect_all()
        .await
        .expect("inventory");
    assert!(products.0.len() >= 11);
    // Without the certificate the client refuses the connection.
    let untrusting = shukka::futureshop::Client::new(shukka::futureshop::FsConfig {
        credentials: client.config().credentials.clone(),
        base_url: client.config().base_url.clone(),
        options: shukka::futureshop::ClientOptions {
            pacing: Duration::ZERO,
            max_attempts: 1,
            ..Default::default()
        },
    })
    .expect("client");
    assert!(untrusting.test_connection().await.is_err());
    let _ = child.kill().await;
}
