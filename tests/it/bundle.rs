//! 同梱: the rules as a table of pairs (merge / do not merge, and why), a property that a
//! group never mixes shops, payment types or recipients, and — against the simulator — a
//! repeat customer's two orders proposed as 同梱候補, merged into one label row, the tracking
//! number reaching both orders' shipments through 出荷実績連携 exactly once; 同梱しない never
//! proposed again; a cancelled member dissolving its group; the CLI and the console popup.

use proptest::prelude::*;
use shukka::backend::Backend;
use shukka::domain::*;
use shukka::engine::Engine;
use shukka::engine::labels::{ExportRequest, ImportRequest};
use shukka::labels::LabelSettings;
use shukka::labels::charset::decode;
use shukka::robots::BuiltinRule;
use shukka::robots::bundle::{self, Candidate};
use shukka::robots::linkage::{EASY_STATUS, EASY_TRACKING};
use shukka::sim::{NewOrder, SimHandle};
use shukka::tui::model::Queue;
use shukka::tui::text::Lang;

use crate::common::*;
use crate::console_fixtures::{ch, draw, empty_app, goto_queue, key, screen};
use crate::console_labels::drive;
use crate::labels::{b2_issued, instruction};

// -----------------------------------------------------------------------------------------
// The rules, pair by pair

fn tokyo(addr: &str, postal: &str, phone: &str) -> Address {
    Address {
        name: "山田 太郎".into(),
        name_kana: String::new(),
        postal_code: postal.into(),
        prefecture: "TOKYO".into(),
        address: addr.into(),
        phone: phone.into(),
    }
}

fn one(no: &str, id: u64, payment: &str, a: Address) -> Instruction {
    let mut i = instruction(
        no,
        payment,
        3_300,
        vec![Destination {
            shipment_no: 1,
            address: a,
            delivery_method: "宅配便".into(),
            items: vec![Item {
                sku_no: format!("SKU-{no}"),
                name: "商品".into(),
                count: 1,
                price: 3_000,
                ..Item::default()
            }],
            ..Destination::default()
        }],
    );
    i.id = id;
    i
}

fn base() -> Instruction {
    one(
        "A",
        1,
        "BANK_TRANSFER",
        tokyo("千代田区丸の内1-2-3 コーポ101", "100-0005", "090-1234-5678"),
    )
}

#[test]
fn bundle_rules_as_a_table_of_pairs() {
    type Change = fn(&mut Instruction);
    // (what differs, the change to the second order, None = they merge / what the refusal says)
    let cases: Vec<(&str, Change, Option<&str>)> = vec![
        ("nothing", |_| {}, None),
        (
            "丁目・番・号",
            |b| b.destinations[0].address.address = "千代田区丸の内1丁目2番3号 コーポ101".into(),
            None,
        ),
        (
            "番地, 漢数字",
            |b| b.destinations[0].address.address = "千代田区丸の内一丁目2番地3 コーポ101".into(),
            None,
        ),
        (
            "全角数字とハイフン",
            |b| b.destinations[0].address.address = "千代田区丸の内１－２－３　コーポ１０１".into(),
            None,
        ),
        (
            "郵便番号のハイフン・全角",
            |b| b.destinations[0].address.postal_code = "１０００００５".into(),
            None,
        ),
        (
            "電話番号のハイフン",
            |b| b.destinations[0].address.phone = "09012345678".into(),
            None,
        ),
        (
            "名前の全角スペース",
            |b| {
                b.buyer.name = "山田　太郎".into();
                b.destinations[0].address.name = "山田　太郎".into();
            },
            None,
        ),
        (
            "メールの大文字",
            |b| b.buyer_mail = "Buyer@Example.JP".into(),
            None,
        ),
        ("API認証設定", |b| b.auth_id = 2, Some("API認証設定")),
        (
            "注文者のメール",
            |b| b.buyer_mail = "other@example.jp".into(),
            Some("メールアドレス"),
        ),
        (
            "注文者",
            |b| b.buyer.name = "山田 花子".into(),
            Some("注文者の名前"),
        ),
        (
            "配送先の名前",
            |b| b.destinations[0].address.name = "山田 花子".into(),
            Some("配送先の名前"),
        ),
        (
            "番地違い",
            |b| b.destinations[0].address.address = "千代田区丸の内1-2-4 コーポ101".into(),
            Some("住所"),
        ),
        (
            "郵便番号",
            |b| b.destinations[0].address.postal_code = "100-0006".into(),
            Some("郵便番号"),
        ),
        (
            "電話番号",
            |b| b.destinations[0].address.phone = "090-1234-0000".into(),
            Some("電話番号"),
        ),
        (
            "支払方法",
            |b| b.payment_type = Some("FREGI_CREDIT_CARD".into()),
            Some("支払方法"),
        ),
        (
            "のし",
            |b| b.destinations[0].gift_label = Some("御祝".into()),
            Some("のし"),
        ),
        (
            "配送方法",
            |b| b.destinations[0].delivery_method = "メール便".into(),
            Some("配送方法"),
        ),
        (
            "時間帯",
            |b| b.destinations[0].requested_time = Some("午前中".into()),
            Some("配送方法"),
        ),
        (
            "クール",
            |b| b.destinations[0].cool = true,
            Some("配送方法"),
        ),
        (
            "出荷作業中",
            |b| b.status = Status::InProgress,
            Some("出荷作業中"),
        ),
        (
            "キャンセル",
            |b| b.status = Status::Cancelled,
            Some("キャンセル"),
        ),
        (
            "送り状発行済",
            |b| {
                b.destinations[0].label = Some(LabelRecord {
                    carrier: "b2".into(),
                    file: "b2.csv".into(),
                    key: "B-1".into(),
                    at: b.created_at,
                    actor: "op".into(),
                })
            },
            Some("送り状発行済"),
        ),
        (
            "店舗受取",
            |b| b.destinations[0].store_pickup = true,
            Some("店舗受取"),
        ),
        (
            "配送先が 2 つ",
            |b| {
                let mut d = b.destinations[0].clone();
                d.shipment_no = 2;
                b.destinations.push(d);
            },
            Some("配送先が複数"),
        ),
        (
            "同梱しないと決めた",
            |b| {
                b.bundle_never.insert(1);
            },
            Some("同梱しない"),
        ),
    ];
    for (what, change, want) in cases {
        let a = base();
        let mut b = one("B", 2, "BANK_TRANSFER", a.destinations[0].address.clone());
        change(&mut b);
        let got = bundle::why_not(&a, &b);
        match want {
            None => assert_eq!(got, None, "{what}: should merge"),
            Some(w) => {
                let got = got.unwrap_or_else(|| panic!("{what}: should not merge"));
                assert!(got.contains(w), "{what}: {got:?} should say {w:?}");
            }
        }
        // The grouping agrees with the pair rule.
        let cands: Vec<Candidate> = [&a, &b]
            .iter()
            .filter_map(|i| {
                bundle::key(i).map(|key| Candidate {
                    id: i.id,
                    key,
                    never: i.bundle_never.clone(),
                    bundle: None,
                })
            })
            .collect();
        let groups = bundle::propose(&cands);
        assert_eq!(
            groups.len(),
            usize::from(want.is_none()),
            "{what}: {groups:?}"
        );
    }
    // A COD pair: same everything, never merged (amounts are never added up).
    let a = one("A", 1, "COD", base().destinations[0].address.clone());
    let b = one("B", 2, "COD", base().destinations[0].address.clone());
    let why = bundle::why_not(&a, &b).expect("COD never merges");
    assert!(why.contains("代金引換"), "{why}");
}

/// A small world of orders: two shops, three payment types (COD among them), two recipients
/// written four ways, statuses, gifts and declined pairs.
fn world() -> impl Strategy<Value = Vec<Instruction>> {
    let order = (
        1u64..=2,
        0usize..3,
        0usize..2,
        0usize..4,
        0usize..4,
        any::<bool>(),
        proptest::collection::btree_set(1u64..=12, 0..3),
    );
    proptest::collection::vec(order, 2..12).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (auth, pay, who, spelling, status, gift, never))| {
                let (addr, postal) = [
                    ("千代田区丸の内1-2-3", "100-0005"),
                    ("大阪市北区梅田3-1-1", "530-0001"),
                ][who];
                let addr = match spelling {
                    0 => addr.to_string(),
                    1 => addr.replacen('-', "丁目", 1).replacen('-', "番", 1) + "号",
                    2 => addr
                        .chars()
                        .map(|c| match c {
                            '0'..='9' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
                            c => c,
                        })
                        .collect(),
                    _ => addr.replace('-', "ー"),
                };
                let payment = ["BANK_TRANSFER", "FREGI_CREDIT_CARD", "COD"][pay];
                let mut i = one(
                    &format!("{n:04}"),
                    n as u64 + 1,
                    payment,
                    tokyo(&addr, postal, "090-1234-5678"),
                );
                i.auth_id = auth;
                i.status = [
                    Status::Ready,
                    Status::Held,
                    Status::AwaitingPayment,
                    Status::InProgress,
                ][status];
                if gift {
                    i.destinations[0].gift_label = Some("御祝".into());
                }
                i.bundle_never = never;
                i
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_group_never_mixes_shops_payments_or_recipients(orders in world()) {
        let cands: Vec<Candidate> = orders
            .iter()
            .filter_map(|i| bundle::key(i).map(|key| Candidate {
                id: i.id,
                key,
                never: i.bundle_never.clone(),
                bundle: None,
            }))
            .collect();
        let by_id = |id: u64| orders.iter().find(|i| i.id == id).expect("member");
        let mut seen = std::collections::BTreeSet::new();
        for g in bundle::propose(&cands) {
            prop_assert!(g.members.len() >= 2);
            let first = by_id(g.members[0]);
            for id in &g.members {
                prop_assert!(seen.insert(*id), "{id} in two groups");
                let m = by_id(*id);
                prop_assert_eq!(m.auth_id, first.auth_id);
                prop_assert_eq!(&m.payment_type, &first.payment_type);
                prop_assert!(m.payment_type.as_deref() != Some("COD"));
                let (ka, kb) = (bundle::key(first).expect("key"), bundle::key(m).expect("key"));
                prop_assert_eq!(&ka.address, &kb.address);
                prop_assert_eq!(&ka.postal, &kb.postal);
                prop_assert_eq!(&ka.recipient_name, &kb.recipient_name);
                prop_assert!(bundle::exclusion(m).is_none());
                for other in g.members.iter().filter(|o| *o != id) {
                    prop_assert!(!m.bundle_never.contains(other), "declined pair grouped");
                }
            }
        }
    }
}

// -----------------------------------------------------------------------------------------
// Against the simulator

/// A shop whose customer ordered twice (the second time writing the address another way),
/// plus a COD customer who ordered twice and an unrelated order; 同梱候補を保留 on; fetched.
async fn repeat_customer() -> (SimHandle, Engine, tempfile::TempDir, String, String) {
    let sim = start_sim(0, 50).await;
    let sku = |n: usize| sim.with_state(|s| s.products()[n].skus[0].sku_no.clone());
    let mk = |o: NewOrder| {
        let v = sim.with_state(|s| s.create_order(o)).expect("order");
        v["orderNo"].as_str().expect("orderNo").to_string()
    };
    let first = mk(NewOrder {
        skus: vec![sku(0)],
        payment_type: Some("BANK_TRANSFER".into()),
        paid: Some(true),
        delivery_service_name: Some("宅配便".into()),
        cool: Some(false),
        ..Default::default()
    });
    let second = mk(NewOrder {
        skus: vec![sku(1)],
        repeat_of: Some(first.clone()),
        paid: Some(true),
        ..Default::default()
    });
    let cod = mk(NewOrder {
        skus: vec![sku(2)],
        payment_type: Some("COD".into()),
        delivery_service_name: Some("宅配便".into()),
        cool: Some(false),
        ..Default::default()
    });
    mk(NewOrder {
        skus: vec![sku(3)],
        repeat_of: Some(cod),
        ..Default::default()
    });
    mk(NewOrder {
        skus: vec![sku(4)],
        payment_type: Some("BANK_TRANSFER".into()),
        paid: Some(true),
        ..Default::default()
    });
    let (engine, dir) = engine_with_setup(&sim).await;
    engine
        .set_label_settings(
            &LabelSettings {
                carriers: std::collections::BTreeMap::from([(
                    "b2".to_string(),
                    std::collections::BTreeMap::from([
                        (
                            "billing_customer_code".to_string(),
                            "012345678901".to_string(),
                        ),
                        ("freight_no".to_string(), "01".to_string()),
                    ]),
                )]),
                ..Default::default()
            },
            &operator(),
        )
        .expect("label settings");
    let fetch = range_robot(&engine);
    let conv = engine
        .store()
        .linkage_robot(fetch)
        .expect("robot")
        .and_then(|r| r.converter_id)
        .expect("converter");
    let seven = BuiltinRule::BundleCandidates.number();
    engine
        .set_processing_enabled(seven, true, &operator())
        .expect("on");
    engine
        .apply_processing(seven, conv, true, &operator())
        .expect("applied");
    run(&engine, fetch).await;
    (sim, engine, dir, first, second)
}

fn export_b2(engine: &Engine, orders: Vec<String>) -> (String, shukka::labels::ExportReport) {
    let (bytes, report) = engine
        .export_labels(
            &ExportRequest {
                carrier: "b2".into(),
                orders,
                file_name: "b2.csv".into(),
                ship_date: Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")),
                ..Default::default()
            },
            &operator(),
        )
        .expect("export");
    (decode(&bytes).expect("cp932").0, report)
}

#[tokio::test]
async fn bundle_a_repeat_customer_ships_in_one_parcel_and_both_orders_get_the_number_once() {
    let (sim, engine, _dir, first, second) = repeat_customer().await;
    let groups = engine.bundles(false).expect("groups");
    assert_eq!(
        groups.len(),
        1,
        "one group (the COD pair never): {groups:?}"
    );
    let g = &groups[0];
    assert_eq!(g.bundle.state, BundleState::Candidate);
    assert_eq!(g.bundle.order_nos, vec![first.clone(), second.clone()]);
    for no in [&first, &second] {
        let i = engine.find_order(no).expect("member");
        assert_eq!(i.status, Status::Held, "{no} locked out of 出荷待ち");
        assert!(i.hold_reasons.contains(BUNDLE_CANDIDATE));
        assert_eq!(i.bundle, Some(g.bundle.id));
        assert!(
            i.trace.iter().any(|t| t.robot_id == 7),
            "the robot says why"
        );
        let history = engine.store().audit_for(i.id).expect("history");
        assert!(history.iter().any(|h| h.action == BUNDLE_CANDIDATE));
    }
    // An alert names both orders.
    let alerts = engine.store().alerts_after(0, 100).expect("alerts");
    let alert = alerts
        .iter()
        .find(|a| a.kind == shukka::notify::AlertKind::BundleCandidate)
        .expect("同梱候補 alert");
    assert_eq!(alert.orders, vec![first.clone(), second.clone()]);
    // Undecided: no label, and a manual release is refused with what to do.
    let (_, report) = export_b2(&engine, vec![first.clone(), second.clone()]);
    assert!(report.exported.is_empty(), "{report:?}");
    let i = engine.find_order(&first).expect("first");
    let e = engine
        .release(i.id, None, &operator())
        .expect_err("decide first");
    assert!(e.to_string().contains("同梱"), "{e}");
    // A second fetch proposes nothing new.
    run(&engine, range_robot(&engine)).await;
    assert_eq!(engine.bundles(true).expect("groups").len(), 1);

    // 同梱する: both to 出荷待ち; one row with both orders' items under the first's key.
    let merged = engine
        .decide_bundle(g.bundle.id, BundleDecision::Merge, &operator())
        .expect("merge");
    assert_eq!(merged.bundle.state, BundleState::Merged);
    for no in [&first, &second] {
        assert_eq!(engine.find_order(no).expect("m").status, Status::Ready);
    }
    // Asking for the second order alone exports the group.
    let (text, report) = export_b2(&engine, vec![second.clone()]);
    let rows: Vec<&str> = text.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 1, "one parcel: {text}");
    let key = &report.exported[0].key;
    assert!(key.starts_with(&first), "the first order's key: {key}");
    assert!(rows[0].starts_with(key.as_str()), "{}", rows[0]);
    assert!(rows[0].contains("他1点"), "both orders' items: {}", rows[0]);
    assert_eq!(report.exported.len(), 2);
    assert!(
        report
            .exported
            .iter()
            .all(|e| e.key == report.exported[0].key)
    );
    for no in [&first, &second] {
        let i = engine.find_order(no).expect("m");
        assert_eq!(i.status, Status::InProgress);
        assert!(i.destinations[0].label.is_some());
    }
    assert_eq!(
        engine.bundle(g.bundle.id).expect("g").bundle.state,
        BundleState::Exported
    );
    // Not twice, and the decision is final.
    let (_, again) = export_b2(&engine, vec![first.clone(), second.clone()]);
    assert!(again.exported.is_empty());
    assert!(
        again
            .skipped
            .iter()
            .all(|s| s.reason.contains("送り状発行済")),
        "{again:?}"
    );
    let e = engine
        .decide_bundle(g.bundle.id, BundleDecision::Undo, &operator())
        .expect_err("exported");
    assert!(e.to_string().contains("送り状発行済"), "{e}");

    // The carrier's file has one number: it goes to both orders.
    let (issued, numbers) = b2_issued(&text, 500_000_000_000, true);
    assert_eq!(numbers.len(), 1);
    let tracking = numbers[0].1.clone();
    let done = engine
        .import_tracking(&issued, &ImportRequest::default(), &operator())
        .expect("import");
    assert_eq!((done.registered, done.refused), (1, 0), "{:?}", done.rows);
    for no in [&first, &second] {
        let i = engine.find_order(no).expect("m");
        assert_eq!(i.status, Status::Shipped, "{no}");
        assert_eq!(
            i.destinations[0].tracking_no.as_deref(),
            Some(tracking.as_str())
        );
    }
    let again = engine
        .import_tracking(&issued, &ImportRequest::default(), &operator())
        .expect("import");
    assert_eq!(again.unchanged, 1);

    // 出荷実績連携: each order's shipment gets the number, once.
    let up = robot_id(&engine, EASY_TRACKING);
    run(&engine, up).await;
    run(&engine, up).await;
    let received = sim.with_state(|s| s.shipping_received().to_vec());
    for no in [&first, &second] {
        let got: Vec<_> = received.iter().filter(|r| &r.order_no == no).collect();
        assert_eq!(got.len(), 1, "{no} sent once: {got:?}");
        assert_eq!(got[0].invoice_no.as_deref(), Some(tracking.as_str()));
    }
}

#[tokio::test]
async fn bundle_split_is_never_proposed_again_undo_brings_it_back_and_a_cancel_dissolves() {
    let (sim, engine, _dir, first, second) = repeat_customer().await;
    let g = engine.bundles(false).expect("groups")[0].bundle.id;
    let split = engine
        .decide_bundle(g, BundleDecision::Split, &operator())
        .expect("split");
    assert_eq!(split.bundle.state, BundleState::Declined);
    for no in [&first, &second] {
        let i = engine.find_order(no).expect("m");
        assert_eq!(i.status, Status::Ready, "released");
        assert_eq!(i.bundle, None);
        let history = engine.store().audit_for(i.id).expect("history");
        assert!(history.iter().any(|h| h.action == "同梱しない"));
    }
    run(&engine, range_robot(&engine)).await;
    assert!(
        engine.bundles(false).expect("groups").is_empty(),
        "never proposed again"
    );

    // Undo (before any label): back to 同梱候補.
    let back = engine
        .decide_bundle(g, BundleDecision::Undo, &operator())
        .expect("undo");
    assert_eq!(back.bundle.state, BundleState::Candidate);
    assert!(
        engine
            .find_order(&second)
            .expect("m")
            .hold_reasons
            .contains(BUNDLE_CANDIDATE)
    );
    // Merge then undo: candidates again.
    engine
        .decide_bundle(g, BundleDecision::Merge, &operator())
        .expect("merge");
    engine
        .decide_bundle(g, BundleDecision::Undo, &operator())
        .expect("undo a merge");
    assert_eq!(engine.find_order(&first).expect("m").status, Status::Held);

    // The shop cancels the second order: ステータス同期 cancels it, the group is dissolved
    // and the first order goes back to 出荷待ち.
    sim.with_state(|s| s.cancel(&second)).expect("cancel");
    run(&engine, robot_id(&engine, EASY_STATUS)).await;
    let b = engine.bundle(g).expect("g").bundle;
    assert_eq!(b.state, BundleState::Dissolved, "{b:?}");
    assert!(b.note.contains(&second), "{}", b.note);
    let i = engine.find_order(&first).expect("first");
    assert_eq!(i.status, Status::Ready);
    assert_eq!(i.bundle, None);
    assert!(!i.hold_reasons.contains(BUNDLE_CANDIDATE));
}

#[tokio::test]
async fn bundle_cli_lists_side_by_side_and_decides() {
    let (_sim, engine, dir, first, second) = repeat_customer().await;
    drop(engine);
    let out = shukka(dir.path(), &["bundle", "list"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("G1 同梱候補"), "{text}");
    let orders_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("受注"))
        .expect("受注 row");
    assert!(
        orders_line.contains(&first) && orders_line.contains(&second),
        "{orders_line}"
    );
    let out = shukka(dir.path(), &["bundle", "merge", "1"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("G1 同梱する"));
    let out = shukka(dir.path(), &["bundle", "merge", "1"]).await;
    assert!(!out.status.success(), "a second merge is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("同梱する"));
}

#[tokio::test]
async fn bundle_console_shows_the_group_side_by_side_and_merges_with_one_key() {
    let (_sim, engine, dir, first, second) = repeat_customer().await;
    let labels_dir = dir.path().join("labels");
    let backend = Backend::local(engine.clone(), operator());
    let mut events = engine.subscribe();
    let mut app = empty_app(Lang::Ja, false, false, 160, 40);
    let fx = app.load_all();
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    ch(&mut app, '2');
    goto_queue(&mut app, Queue::Status(Status::Held));
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let detail = screen(&draw(&app));
    assert!(detail.contains("同梱グループ G1"), "{detail}");
    let fx = ch(&mut app, 'B');
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let popup = screen(&draw(&app));
    let row = popup
        .lines()
        .find(|l| l.contains("受注") && l.contains(&first))
        .expect("the 受注 row");
    assert!(row.contains(&second), "side by side: {popup}");
    assert!(popup.contains("m 同梱する"), "{popup}");
    let fx = ch(&mut app, 'm');
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    assert_eq!(
        engine.bundle(1).expect("g").bundle.state,
        BundleState::Merged
    );
    let after = screen(&draw(&app));
    assert!(after.contains("G1 — 同梱する"), "{after}");
    for no in [&first, &second] {
        assert_eq!(engine.find_order(no).expect("m").status, Status::Ready);
    }
}

/// A store of an earlier build (robots 1–6) gets 7 at the next start: off, applied nowhere,
/// last in the order; nothing else changes.
#[test]
fn bundle_robot_seven_is_added_to_an_older_store_switched_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = engine_in(dir.path());
    engine
        .store()
        .write(|t| {
            t.delete_processing(7);
            t.put_config("rule_order", &vec![1u64, 2, 3, 4, 5, 6])?;
            Ok::<_, shukka::store::StoreError>(())
        })
        .expect("an older store");
    engine.store().flush().expect("flush");
    assert!(engine.store().processing_robot(7).expect("r").is_none());
    drop(engine);
    let engine = engine_in(dir.path());
    let seven = engine
        .store()
        .processing_robot(7)
        .expect("r")
        .expect("robot 7 added");
    assert!(!seven.enabled && seven.applied_to.is_empty());
    assert_eq!(seven.name, "同梱候補を保留");
    assert_eq!(
        engine.store().rule_order().expect("order"),
        vec![1, 2, 3, 4, 5, 6, 7]
    );
}
