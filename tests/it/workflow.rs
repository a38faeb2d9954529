//! The workflow of workflow.md end to end: simulator on loopback, real sled store, the engine.

use shukka::domain::*;
use shukka::engine::ShipRequest;
use shukka::robots::linkage::{EASY_FETCH, EASY_STATUS, EASY_TRACKING};
use shukka::sim::{NewOrder, ScriptedFault};

use crate::common::*;

fn new_order(sim: &shukka::sim::SimHandle, o: NewOrder) -> String {
    let v = sim
        .with_state(|s| s.create_order(o))
        .expect("order created");
    v["orderNo"].as_str().expect("orderNo").to_string()
}

fn instr(engine: &shukka::engine::Engine, no: &str) -> Instruction {
    engine.find_order(no).expect("instruction exists")
}

fn sku(sim: &shukka::sim::SimHandle) -> String {
    sim.with_state(|s| s.products()[0].skus[0].sku_no.clone())
}

#[tokio::test]
async fn the_setup_guide_then_a_test_fetch_triages_orders_as_the_spec_says() {
    let sim = start_sim(0, 50).await;
    let known = sku(&sim);
    let paid_card = new_order(
        &sim,
        NewOrder {
            payment_type: Some("FREGI_CREDIT_CARD".into()),
            paid: Some(true),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let cod = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            paid: Some(false),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let bank = new_order(
        &sim,
        NewOrder {
            payment_type: Some("BANK_TRANSFER".into()),
            paid: Some(false),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let unknown = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            skus: vec![known.clone(), "NOPE-404".into()],
            ..Default::default()
        },
    );
    let cancelled = new_order(
        &sim,
        NewOrder {
            payment_type: Some("FREGI_CREDIT_CARD".into()),
            paid: Some(true),
            cancelled: true,
            skus: vec![known.clone()],
            ..Default::default()
        },
    );

    let (engine, _dir) = engine_with_setup(&sim).await;
    let items = engine.checklist().expect("checklist");
    for i in &items[..6] {
        assert!(
            i.ok,
            "item {} should be ✓ after setup apply: {}",
            i.number, i.reason
        );
    }
    assert!(!items[6].ok, "no fetch yet: {}", items[6].reason);

    let range = range_robot(&engine);
    let line = run(&engine, range).await;
    assert_eq!(line.state, RunState::Done, "{:?}", line.errors);
    assert_eq!((line.success, line.failure), (4, 1), "成功:4 失敗:1");
    assert!(
        engine.checklist().expect("checklist")[6].ok,
        "the test fetch ticks item 7"
    );

    assert_eq!(instr(&engine, &paid_card).status, Status::Ready);
    assert_eq!(instr(&engine, &paid_card).payment, PaymentFlag::Paid);
    let c = instr(&engine, &cod);
    assert_eq!(
        (c.status, c.payment),
        (Status::Ready, PaymentFlag::NotRequired),
        "COD needs no prepayment"
    );
    let b = instr(&engine, &bank);
    assert_eq!(
        (b.status, b.payment),
        (Status::AwaitingPayment, PaymentFlag::Unpaid)
    );
    assert_eq!(instr(&engine, &cancelled).status, Status::Cancelled);
    let errors = engine.store().intake_errors().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].order_no, unknown);
    assert!(
        errors[0].reason.contains("NOPE-404"),
        "the reason names the SKU: {}",
        errors[0].reason
    );
    assert!(
        engine.find_order(&unknown).is_err(),
        "refused orders are not instructions"
    );

    // Re-delivery (the 差分 overlap does this on purpose) is a no-op.
    let versions: Vec<u64> = [&paid_card, &cod, &bank]
        .iter()
        .map(|n| instr(&engine, n).version)
        .collect();
    let again = run(&engine, range).await;
    assert_eq!((again.success, again.skipped), (0, 4));
    assert_eq!(engine.store().counts().instructions(), 4);
    assert_eq!(
        engine.store().intake_errors().expect("errors").len(),
        1,
        "still one intake error"
    );
    let after: Vec<u64> = [&paid_card, &cod, &bank]
        .iter()
        .map(|n| instr(&engine, n).version)
        .collect();
    assert_eq!(versions, after, "re-delivered orders are untouched");
}

#[tokio::test]
async fn payment_then_status_sync_then_chained_rule_5_moves_to_ready() {
    let sim = start_sim(0, 50).await;
    let known = sku(&sim);
    let bank = new_order(
        &sim,
        NewOrder {
            payment_type: Some("BANK_TRANSFER".into()),
            paid: Some(false),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    assert_eq!(instr(&engine, &bank).status, Status::AwaitingPayment);

    // Status sync before payment changes nothing.
    let status = robot_id(&engine, EASY_STATUS);
    run(&engine, status).await;
    assert_eq!(instr(&engine, &bank).status, Status::AwaitingPayment);

    sim.with_state(|s| s.mark_paid(&bank)).expect("paid");
    let line = run(&engine, status).await;
    assert_eq!(line.state, RunState::Done);
    let i = instr(&engine, &bank);
    assert_eq!(i.payment, PaymentFlag::Paid);
    assert_eq!(
        i.status,
        Status::Ready,
        "the chained 処理ロボット適用 (rule 5) released it"
    );
    let history = engine.store().audit_for(i.id).expect("history");
    let last = history.last().expect("entries");
    assert_eq!(
        (last.from, last.to),
        (Some(Status::AwaitingPayment), Some(Status::Ready))
    );
    assert!(
        matches!(&last.actor, Actor::Robot { id: 5, .. }),
        "moved by processing robot 5: {:?}",
        last.actor
    );
    assert!(
        history.iter().any(|h| h.action == "ステータス同期"),
        "the sync recorded the payment"
    );
    let runs = engine.store().runs(10).expect("runs");
    assert!(
        runs.iter().any(|r| r.trigger.contains(EASY_STATUS)),
        "the chained run says what triggered it"
    );
}

#[tokio::test]
async fn cancellations_found_by_status_sync() {
    let sim = start_sim(0, 50).await;
    let known = sku(&sim);
    let ready = new_order(
        &sim,
        NewOrder {
            payment_type: Some("FREGI_CREDIT_CARD".into()),
            paid: Some(true),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let picked = new_order(
        &sim,
        NewOrder {
            payment_type: Some("FREGI_CREDIT_CARD".into()),
            paid: Some(true),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let p = instr(&engine, &picked);
    engine
        .start_work(p.id, Some(p.version), &operator())
        .expect("picked");

    sim.with_state(|s| s.cancel(&ready)).expect("cancel");
    sim.with_state(|s| s.cancel(&picked)).expect("cancel");
    run(&engine, robot_id(&engine, EASY_STATUS)).await;
    assert_eq!(
        instr(&engine, &ready).status,
        Status::Cancelled,
        "a cancellation after 出荷待ち → キャンセル"
    );
    let p = instr(&engine, &picked);
    assert_eq!(
        p.status,
        Status::InProgress,
        "goods may be on their way: it stays"
    );
    assert!(
        p.cancelled_after_shipment,
        "and is flagged 出荷後キャンセル"
    );
}

#[tokio::test]
async fn tracking_reaches_futureshop_exactly_once_despite_a_503_and_store_pickup_is_an_error() {
    let sim = start_sim(0, 50).await;
    let known = sku(&sim);
    let normal = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let pickup = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            skus: vec![known.clone()],
            store_pickup: true,
            ..Default::default()
        },
    );
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    for (no, t) in [(&normal, "1111-2222-3333"), (&pickup, "4444-5555-6666")] {
        let i = instr(&engine, no);
        engine
            .ship(
                i.id,
                Some(i.version),
                &ShipRequest {
                    tracking: vec![t.into()],
                    carrier: Some("ヤマト運輸".into()),
                    ..Default::default()
                },
                &operator(),
            )
            .expect("shipped");
    }
    sim.with_state(|s| {
        s.faults.fail_next = vec![ScriptedFault {
            status: 503,
            retry_after: None,
            path_prefix: Some("/admin-api/v1/shipping/status".into()),
        }]
    });
    let tracking = robot_id(&engine, EASY_TRACKING);
    let line = run(&engine, tracking).await;
    assert_eq!((line.success, line.failure), (1, 1), "{:?}", line.errors);
    run(&engine, tracking).await;
    run(&engine, tracking).await;
    let received = sim.with_state(|s| s.shipping_received().to_vec());
    let for_normal: Vec<_> = received.iter().filter(|r| r.order_no == normal).collect();
    assert_eq!(
        for_normal.len(),
        1,
        "sent once, never again after futureshop accepted it"
    );
    assert_eq!(for_normal[0].invoice_no.as_deref(), Some("1111-2222-3333"));
    assert!(for_normal[0].code.is_none());
    let n = instr(&engine, &normal);
    assert!(matches!(n.upstream, Upstream::Accepted { .. }));
    let p = instr(&engine, &pickup);
    match &p.upstream {
        Upstream::Refused { code, .. } => assert_eq!(code, "CannotUpdateStorePickup"),
        other => panic!("store pickup should be 実績連携エラー, got {other:?}"),
    }
    assert_eq!(
        engine.store().counts().upstream_errors,
        1,
        "visible in the 実績連携エラー list"
    );
    // A refused item is not retried on every run.
    assert_eq!(received.iter().filter(|r| r.order_no == pickup).count(), 1);
}

#[tokio::test]
async fn the_diff_fetch_window_overlaps_and_is_a_no_op_on_rereads() {
    let sim = start_sim(30, 50).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let fetch = robot_id(&engine, EASY_FETCH);
    let first = run(&engine, fetch).await;
    assert_eq!(first.state, RunState::Done);
    let (start, end) = first.window.expect("window");
    assert!(
        end - start >= chrono::Duration::days(7) - chrono::Duration::seconds(5),
        "first run looks back 7 days"
    );
    let stored = engine.store().counts().instructions() + engine.store().counts().intake_errors;
    assert_eq!(
        stored as usize,
        open_orders(&sim),
        "every order not yet shipped"
    );
    let new = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            skus: vec![sku(&sim)],
            ..Default::default()
        },
    );
    let second = run(&engine, fetch).await;
    let (s2, _) = second.window.expect("window");
    assert_eq!(
        s2,
        end - chrono::Duration::minutes(10),
        "from the last end minus the 10 min overlap"
    );
    assert_eq!(second.success, 1);
    assert!(engine.find_order(&new).is_ok());
    let cursor = engine
        .store()
        .cursor(fetch)
        .expect("cursor")
        .expect("exists");
    assert_eq!(cursor.last_success_end, second.window.map(|w| w.1));
}

#[tokio::test]
async fn operator_actions_check_transitions_and_versions() {
    let sim = start_sim(0, 50).await;
    let known = sku(&sim);
    let bank = new_order(
        &sim,
        NewOrder {
            payment_type: Some("BANK_TRANSFER".into()),
            paid: Some(false),
            skus: vec![known.clone()],
            ..Default::default()
        },
    );
    let card = new_order(
        &sim,
        NewOrder {
            payment_type: Some("FREGI_CREDIT_CARD".into()),
            paid: Some(true),
            skus: vec![known],
            ..Default::default()
        },
    );
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let op = operator();

    let b = instr(&engine, &bank);
    let err = engine
        .ship(
            b.id,
            None,
            &ShipRequest {
                tracking: vec!["1".into()],
                ..Default::default()
            },
            &op,
        )
        .expect_err("not from 入金確認");
    assert!(err.to_string().contains("出荷待ち"), "{err}");
    assert!(
        engine.hold(b.id, None, "  ", &op).is_err(),
        "a hold needs a reason"
    );

    let c = instr(&engine, &card);
    let held = engine
        .hold(c.id, Some(c.version), "住所確認", &op)
        .expect("hold");
    assert_eq!(held.status, Status::Held);
    assert!(held.hold_reasons.contains("住所確認"));
    // Someone acting on the version they saw before the hold loses, with a clear message.
    let stale = engine
        .cancel(c.id, Some(c.version), "", &op)
        .expect_err("stale version");
    assert!(matches!(stale, shukka::engine::EngineError::Conflict(_)));
    assert!(
        stale.to_string().contains("tester"),
        "names who changed it: {stale}"
    );
    let released = engine
        .release(c.id, Some(held.version), &op)
        .expect("release");
    assert_eq!(released.status, Status::Ready);
    let shipped = engine
        .ship(
            c.id,
            Some(released.version),
            &ShipRequest {
                tracking: vec!["9999".into()],
                ..Default::default()
            },
            &op,
        )
        .expect("ship");
    assert_eq!(shipped.status, Status::Shipped);
    assert!(
        engine.cancel(c.id, None, "", &op).is_err(),
        "shipped cannot be cancelled"
    );
    let history = engine.store().audit_for(c.id).expect("history");
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, vec!["取込", "保留", "保留解除", "出荷済み"]);
    assert!(history[1..].iter().all(|h| h.actor == op));
    assert_eq!(history[1].reason, "住所確認");
}

#[tokio::test]
async fn concurrent_actions_on_one_instruction_exactly_one_wins() {
    let sim = start_sim(0, 50).await;
    let card = new_order(
        &sim,
        NewOrder {
            payment_type: Some("COD".into()),
            skus: vec![sku(&sim)],
            ..Default::default()
        },
    );
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let i = instr(&engine, &card);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let e = engine.clone();
        let (id, v) = (i.id, i.version);
        tasks.push(tokio::task::spawn_blocking(move || {
            let actor = Actor::Operator(format!("op{n}"));
            if n % 2 == 0 {
                e.hold(id, Some(v), "確認", &actor).map(|_| ())
            } else {
                e.cancel(id, Some(v), "", &actor).map(|_| ())
            }
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(()) => ok += 1,
            Err(shukka::engine::EngineError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 7));
    assert_eq!(instr(&engine, &card).version, i.version + 1);
}

#[tokio::test]
async fn applying_the_setup_twice_changes_nothing() {
    let sim = start_sim(5, 50).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let audit_before = engine.store().audit(usize::MAX).expect("audit").len();
    let robots_before = engine.store().linkage_robots().expect("robots");
    let file = shukka::engine::SetupFile::parse(&setup_toml(&sim, "X")).expect("file");
    let report = engine
        .apply_setup(
            &file,
            shukka::secret::Secret::new("demo-secret"),
            &operator(),
        )
        .await
        .expect("second apply");
    assert!(!report.changed(), "{:?}", report.steps);
    assert_eq!(
        engine.store().audit(usize::MAX).expect("audit").len(),
        audit_before
    );
    assert_eq!(
        engine.store().linkage_robots().expect("robots"),
        robots_before
    );
}

#[tokio::test]
async fn setup_files_refuse_inline_secrets_and_typos() {
    let base = "[ship_from]\nname='a'\npostal_code='1'\nprefecture='東京都'\naddress='x'\nphone='0'\n[futureshop]\nname='n'\nshop_key='k'\nclient_id='c'\napi_base='http://127.0.0.1:1'\n";
    let inline = format!("{base}client_secret='oops'\n");
    let e = shukka::engine::SetupFile::parse(&inline).expect_err("inline secret refused");
    assert!(e.contains("client_secret_env"), "{e}");
    assert!(!e.contains("oops"), "the refused secret is not echoed: {e}");
    let typo = format!("{base}client_secret_env='S'\nshopkey='x'\n");
    assert!(
        shukka::engine::SetupFile::parse(&typo)
            .expect_err("unknown key")
            .contains("shopkey")
    );
    let ok = format!("{base}client_secret_env='S'\n");
    assert!(shukka::engine::SetupFile::parse(&ok).is_ok());
}
