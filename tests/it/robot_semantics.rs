//! Processing robots (処理ロボット) through the real engine, store and simulator (ephemeral port,
//! temporary data directory): the two switches 有効/適用, the 5/6 conflict, the configured order,
//! the dry run, and the rule trace with its audit entry (workflow.md §3.2).

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use shukka::domain::*;
use shukka::engine::{DryRunChange, Engine, EngineError, EngineOptions, RunOptions};
use shukka::futureshop::ClientOptions;
use shukka::robots::converter::{self, STANDARD_ID};
use shukka::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use shukka::robots::processing::{BuiltinRule, ProcessingRobot};
use shukka::robots::rules::{Condition, Field, Op, RuleAction, UserRule};
use shukka::secret::Secret;
use shukka::sim::{NewOrder, SimHandle};
use shukka::store::Store;
use tempfile::TempDir;

use crate::common::start_sim;

const UNKNOWN_SKU: &str = "NO-SUCH-SKU";

/// An engine on a fresh store with a 発送元, an API認証設定 for the simulator (connection test
/// passed), one duplicated, renamed and enabled converter, and the product master fetched from
/// the simulator. No processing robot is enabled.
struct Rig {
    sim: SimHandle,
    engine: Engine,
    _dir: TempDir,
    auth: u64,
    conv: u64,
    op: Actor,
    orders: u32,
}

fn fast_engine(dir: &std::path::Path) -> Engine {
    Engine::with_options(
        Store::open(dir).expect("store opens"),
        EngineOptions {
            client: ClientOptions {
                backoff_base: Duration::from_millis(20),
                backoff_max: Duration::from_secs(2),
                ..ClientOptions::default()
            },
        },
    )
    .expect("engine")
}

async fn rig() -> Rig {
    let sim = start_sim(0, 100).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = fast_engine(dir.path());
    let op = Actor::Operator("test".into());
    let sf = engine
        .save_ship_from(
            ShipFrom {
                id: 0,
                name: "本社倉庫".into(),
                postal_code: "150-0001".into(),
                prefecture: "東京都".into(),
                address: "渋谷区神宮前1-1-1".into(),
                phone: "03-0000-0000".into(),
            },
            &op,
        )
        .expect("ship from");
    let auth = engine
        .save_auth(
            ApiAuth {
                name: "テスト店".into(),
                api: "futureshop".into(),
                ship_from_id: Some(sf.id),
                shop_key: "demo-shop".into(),
                client_id: "demo-client".into(),
                endpoint: sim.base_url(),
                pacing_ms: 0,
                ..ApiAuth::default()
            },
            Some(Secret::new("demo-secret")),
            &op,
        )
        .expect("auth");
    let test = engine
        .test_connection(auth.id, &op)
        .await
        .expect("connection test runs");
    assert!(test.ok, "connection test: {}", test.message);
    let conv = new_converter(&engine, converter::GUIDE_NAME, &op);
    let master = engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "商品マスタ取得".into(),
                action: LinkAction::ProductMasterFetch,
                auth_id: Some(auth.id),
                converter_id: None,
                processing_robot_id: None,
                target_status: None,
                range: None,
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &op,
        )
        .expect("product master robot");
    let line = engine
        .run_robot(master.id, RunOptions::default())
        .await
        .expect("product master fetch");
    assert_eq!(line.state, RunState::Done, "{:?}", line.errors);
    assert!(
        !engine.store().products().expect("products").is_empty(),
        "product master filled"
    );
    assert!(!engine.store().has_product(UNKNOWN_SKU).expect("lookup"));
    Rig {
        sim,
        engine,
        _dir: dir,
        auth: auth.id,
        conv,
        op,
        orders: 0,
    }
}

/// Duplicates ID:18025, renames and enables the copy.
fn new_converter(engine: &Engine, name: &str, op: &Actor) -> u64 {
    let c = engine
        .duplicate_converter(STANDARD_ID, op)
        .expect("duplicate");
    engine.rename_converter(c.id, name, op).expect("rename");
    engine
        .set_converter_enabled(c.id, true, op)
        .expect("enable")
        .id
}

impl Rig {
    fn robot(&self, id: u64) -> ProcessingRobot {
        self.engine
            .store()
            .processing_robot(id)
            .expect("read")
            .expect("robot exists")
    }

    /// 有効 and 適用 to the rig's converter.
    fn enable_and_apply(&self, id: u64) {
        self.engine
            .set_processing_enabled(id, true, &self.op)
            .expect("enable");
        self.engine
            .apply_processing(id, self.conv, true, &self.op)
            .expect("apply");
    }

    fn user_rule(&self, name: &str, rule: UserRule) -> u64 {
        self.engine
            .add_user_rule(name, "", rule, &self.op)
            .expect("user rule saved")
            .id
    }

    /// A simulator order alone in its minute (so a 範囲指定 fetch of that minute takes only it).
    fn order(&mut self, o: NewOrder) -> (String, NaiveDateTime) {
        self.orders += 1;
        let date = NaiveDate::from_ymd_opt(2025, 6, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("date")
            + chrono::Duration::minutes(i64::from(self.orders));
        let v = self
            .sim
            .with_state(|s| {
                s.create_order(NewOrder {
                    date: Some(date.format("%Y-%m-%dT%H:%M:%S").to_string()),
                    ..o
                })
            })
            .expect("order created");
        (v["orderNo"].as_str().expect("orderNo").to_string(), date)
    }

    /// An unpaid bank-transfer order of catalogue products.
    fn unpaid_bank_transfer(&mut self) -> (String, NaiveDateTime) {
        self.order(NewOrder {
            payment_type: Some("BANK_TRANSFER".into()),
            paid: Some(false),
            ..NewOrder::default()
        })
    }

    /// 出荷指示取得(範囲指定) of [from, to] through `converter`, run by hand.
    async fn fetch(&self, converter: u64, from: NaiveDateTime, to: NaiveDateTime) -> RunLogEntry {
        let robot = self
            .engine
            .create_linkage(
                LinkageRobot {
                    id: 0,
                    name: format!("取得テスト {converter}"),
                    action: LinkAction::FetchRange,
                    auth_id: Some(self.auth),
                    converter_id: Some(converter),
                    processing_robot_id: None,
                    target_status: None,
                    range: Some((from, to)),
                    trigger: Trigger::Manual,
                    enabled: true,
                    role: None,
                },
                &self.op,
            )
            .expect("fetch robot");
        let line = self
            .engine
            .run_robot(robot.id, RunOptions::default())
            .await
            .expect("fetch runs");
        assert_eq!(line.state, RunState::Done, "{:?}", line.errors);
        line
    }

    fn instruction(&self, order_no: &str) -> Option<Instruction> {
        let id = self
            .engine
            .store()
            .instruction_id(self.auth, order_no)
            .expect("index")?;
        self.engine.store().instruction(id).expect("read")
    }

    fn intake_error(&self, order_no: &str) -> Option<IntakeError> {
        let errors = self.engine.store().intake_errors().expect("intake errors");
        errors.into_iter().find(|e| e.order_no == order_no)
    }
}

fn trace_ids(i: &Instruction) -> Vec<u64> {
    i.trace.iter().map(|e| e.robot_id).collect()
}

// ---------------------------------------------------------------------------------------------
// 有効 without 適用

#[tokio::test]
async fn a_rule_enabled_but_applied_nowhere_does_nothing() {
    let mut rig = rig().await;
    let rule1 = BuiltinRule::RequireProductMaster.number();
    rig.engine
        .set_processing_enabled(rule1, true, &rig.op)
        .expect("enable rule 1");
    assert!(
        rig.robot(rule1).half_set(),
        "enabled but applied nowhere is shown as such"
    );

    let (no, at) = rig.order(NewOrder {
        skus: vec![UNKNOWN_SKU.into()],
        ..NewOrder::default()
    });
    let line = rig.fetch(rig.conv, at, at).await;
    assert_eq!((line.success, line.failure), (1, 0));
    let i = rig
        .instruction(&no)
        .expect("an order with an unknown SKU became an instruction");
    assert!(i.skus().any(|s| s == UNKNOWN_SKU));
    assert!(
        i.trace.iter().all(|e| e.robot_id != rule1),
        "rule 1 acted: {:?}",
        i.trace
    );
    assert!(rig.intake_error(&no).is_none());

    // Once applied, the same kind of order is refused: the switch is what made the difference.
    rig.engine
        .apply_processing(rule1, rig.conv, true, &rig.op)
        .expect("apply rule 1");
    assert!(!rig.robot(rule1).half_set());
    let (no, at) = rig.order(NewOrder {
        skus: vec![UNKNOWN_SKU.into()],
        ..NewOrder::default()
    });
    let line = rig.fetch(rig.conv, at, at).await;
    assert_eq!((line.success, line.failure), (0, 1));
    assert!(rig.instruction(&no).is_none());
    let e = rig.intake_error(&no).expect("取込エラー");
    assert_eq!(e.robot_id, Some(rule1));
    assert!(e.reason.contains(UNKNOWN_SKU), "{}", e.reason);
}

#[tokio::test]
async fn a_rule_applied_to_another_converter_does_nothing() {
    let mut rig = rig().await;
    let other = new_converter(&rig.engine, "出荷指示登録(futureshop API用)- 卸", &rig.op);
    let rule1 = BuiltinRule::RequireProductMaster.number();
    rig.engine
        .set_processing_enabled(rule1, true, &rig.op)
        .expect("enable rule 1");
    rig.engine
        .apply_processing(rule1, other, true, &rig.op)
        .expect("apply rule 1 to the other converter");
    assert!(rig.robot(rule1).active_for(other) && !rig.robot(rule1).active_for(rig.conv));

    let (no, at) = rig.order(NewOrder {
        skus: vec![UNKNOWN_SKU.into()],
        ..NewOrder::default()
    });
    rig.fetch(rig.conv, at, at).await;
    let i = rig
        .instruction(&no)
        .expect("taken in through the converter rule 1 is not applied to");
    assert_eq!(i.converter_id, rig.conv);
    assert!(
        i.trace.iter().all(|e| e.robot_id != rule1),
        "rule 1 acted: {:?}",
        i.trace
    );
    assert!(rig.intake_error(&no).is_none());

    // Through the converter it is applied to, the same kind of order is refused.
    let (no, at) = rig.order(NewOrder {
        skus: vec![UNKNOWN_SKU.into()],
        ..NewOrder::default()
    });
    rig.fetch(other, at, at).await;
    assert!(rig.instruction(&no).is_none());
    let e = rig.intake_error(&no).expect("取込エラー");
    assert_eq!((e.robot_id, e.converter_id), (Some(rule1), other));
}

// ---------------------------------------------------------------------------------------------
// 5 and 6

/// Everything the refusal could have touched.
fn config_snapshot(engine: &Engine) -> (Vec<ProcessingRobot>, Vec<u64>, Vec<AuditEntry>) {
    let store = engine.store();
    (
        store.processing_robots().expect("robots"),
        store.rule_order().expect("order"),
        store.audit(usize::MAX).expect("audit"),
    )
}

#[tokio::test]
async fn rules_5_and_6_cannot_be_enabled_together_whichever_comes_second() {
    let five = BuiltinRule::FutureshopRelease;
    let six = BuiltinRule::GenericRelease;
    for (first, second) in [(five, six), (six, five)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = fast_engine(dir.path());
        let op = Actor::Operator("test".into());
        engine
            .set_processing_enabled(first.number(), true, &op)
            .expect("the first one alone is fine");
        let before = config_snapshot(&engine);
        match engine.set_processing_enabled(second.number(), true, &op) {
            Err(EngineError::Refused(m)) => {
                for r in [five, six] {
                    for text in [&m.ja, &m.en] {
                        assert!(
                            text.contains(&format!("ID:{}", r.number())) && text.contains(r.name()),
                            "the message names ID:{} {} in both languages: {m:?}",
                            r.number(),
                            r.name()
                        );
                    }
                }
            }
            other => panic!(
                "enabling {} after {} must be refused, got {:?}",
                second.number(),
                first.number(),
                other
            ),
        }
        assert_eq!(
            config_snapshot(&engine),
            before,
            "a refused change changes nothing"
        );
        assert!(
            !engine
                .store()
                .processing_robot(second.number())
                .expect("read")
                .expect("robot")
                .enabled
        );
        // The refusal is about the pair: with the first one off, the second one is accepted.
        engine
            .set_processing_enabled(first.number(), false, &op)
            .expect("disable the first");
        engine
            .set_processing_enabled(second.number(), true, &op)
            .expect("now the second one alone is fine");
    }
}

// ---------------------------------------------------------------------------------------------
// Order

#[tokio::test]
async fn the_order_of_builtin_rules_changes_the_outcome() {
    let mut rig = rig().await;
    for r in [3, 4, 6] {
        rig.enable_and_apply(r);
    }
    // 6 before 4: 6 finds nothing to release, then 4 holds the unpaid order.
    rig.engine
        .set_rule_order(&[1, 2, 3, 6, 4, 5, 7], &rig.op)
        .expect("order");
    let (no, at) = rig.unpaid_bank_transfer();
    rig.fetch(rig.conv, at, at).await;
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!(i.status, Status::AwaitingPayment);
    assert_eq!(trace_ids(&i), vec![3, 4]);

    // 4 before 6: 4 holds it, then 6 releases it (6 does not look at payment).
    let order = rig
        .engine
        .move_processing(4, -1, &rig.op)
        .expect("move 4 up");
    let pos = |id: u64| order.iter().position(|x| *x == id).expect("in the order");
    assert!(pos(4) < pos(6), "{order:?}");
    assert_eq!(rig.engine.store().rule_order().expect("order"), order);
    let (no, at) = rig.unpaid_bank_transfer();
    rig.fetch(rig.conv, at, at).await;
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!(i.status, Status::Ready);
    assert_eq!(i.payment, PaymentFlag::Unpaid);
    assert_eq!(trace_ids(&i), vec![3, 4, 6]);
}

#[tokio::test]
async fn the_order_of_user_rules_changes_the_outcome() {
    let mut rig = rig().await;
    let set_urgent = rig.user_rule(
        "備考を至急にする",
        UserRule {
            conditions: vec![],
            match_all: true,
            actions: vec![RuleAction::SetField {
                field: Field::Notes,
                value: "至急".into(),
            }],
        },
    );
    let hold_urgent = rig.user_rule(
        "至急は確認",
        UserRule {
            conditions: vec![Condition {
                field: Field::Notes,
                op: Op::Equals,
                value: "至急".into(),
            }],
            match_all: true,
            actions: vec![RuleAction::AddHoldReason {
                reason: "至急確認".into(),
            }],
        },
    );
    rig.enable_and_apply(set_urgent);
    rig.enable_and_apply(hold_urgent);
    let paid = || NewOrder {
        payment_type: Some("CREDIT_CARD".into()),
        paid: Some(true),
        communication: Some(String::new()),
        ..NewOrder::default()
    };

    // New rules come last, in creation order: the setter runs first, the condition sees it.
    let (no, at) = rig.order(paid());
    rig.fetch(rig.conv, at, at).await;
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!(i.notes.as_deref(), Some("至急"));
    assert_eq!(i.hold_reasons.iter().collect::<Vec<_>>(), vec!["至急確認"]);
    assert_eq!(i.status, Status::Held);
    assert_eq!(trace_ids(&i), vec![set_urgent, hold_urgent]);

    // The condition first: it sees the order's own (empty) note, so nothing is held.
    rig.engine
        .set_rule_order(&[hold_urgent, set_urgent, 1, 2, 3, 4, 5, 6, 7], &rig.op)
        .expect("order");
    let (no, at) = rig.order(paid());
    rig.fetch(rig.conv, at, at).await;
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!(i.notes.as_deref(), Some("至急"));
    assert!(i.hold_reasons.is_empty(), "{:?}", i.hold_reasons);
    assert_eq!(i.status, Status::Ready);
    assert_eq!(trace_ids(&i), vec![set_urgent]);
}

// ---------------------------------------------------------------------------------------------
// Dry run

/// Everything a dry run could change.
#[derive(Debug, PartialEq)]
struct StoreSnapshot {
    summaries: Vec<InstructionSummary>,
    instructions: Vec<Instruction>,
    audit: usize,
    runs: usize,
    counts: shukka::store::Counts,
    robots: Vec<ProcessingRobot>,
}

fn snapshot(engine: &Engine) -> StoreSnapshot {
    let store = engine.store();
    let summaries = store.summaries(None).expect("summaries");
    let instructions = summaries
        .iter()
        .map(|s| store.instruction(s.id).expect("read").expect("instruction"))
        .collect();
    StoreSnapshot {
        summaries,
        instructions,
        audit: store.audit(usize::MAX).expect("audit").len(),
        runs: store.runs(usize::MAX).expect("runs").len(),
        counts: store.counts(),
        robots: store.processing_robots().expect("robots"),
    }
}

#[tokio::test]
async fn a_dry_run_reports_what_would_change_and_changes_nothing() {
    let mut rig = rig().await;
    rig.enable_and_apply(3);
    rig.enable_and_apply(4);
    let (unpaid1, from) = rig.unpaid_bank_transfer();
    let (unpaid2, _) = rig.unpaid_bank_transfer();
    let (card, to) = rig.order(NewOrder {
        payment_type: Some("CREDIT_CARD".into()),
        paid: Some(true),
        ..NewOrder::default()
    });
    let line = rig.fetch(rig.conv, from, to).await;
    assert_eq!(line.success, 3);
    let id = |no: &str| rig.instruction(no).expect("instruction").id;
    assert_eq!(
        rig.instruction(&unpaid1).map(|i| i.status),
        Some(Status::AwaitingPayment)
    );
    assert_eq!(
        rig.instruction(&card).map(|i| i.status),
        Some(Status::Ready)
    );
    // A user rule, neither enabled nor applied.
    let check_cards = rig.user_rule(
        "カード決済は確認",
        UserRule {
            conditions: vec![Condition {
                field: Field::PaymentType,
                op: Op::Equals,
                value: "CREDIT_CARD".into(),
            }],
            match_all: true,
            actions: vec![RuleAction::AddHoldReason {
                reason: "カード確認".into(),
            }],
        },
    );
    let before = snapshot(&rig.engine);

    // Rule 6 (off, applied nowhere) would release both unpaid orders; the user rule would hold
    // the card order.
    let six = rig.engine.dry_run(6).expect("dry run of rule 6");
    let mut moved: Vec<(u64, Status, Status)> = six.iter().map(|c| (c.id, c.from, c.to)).collect();
    moved.sort_unstable();
    let mut want = vec![
        (id(&unpaid1), Status::AwaitingPayment, Status::Ready),
        (id(&unpaid2), Status::AwaitingPayment, Status::Ready),
    ];
    want.sort_unstable();
    assert_eq!(moved, want);
    assert!(six.iter().all(|c| !c.decision.is_empty()));
    let user = rig
        .engine
        .dry_run(check_cards)
        .expect("dry run of the user rule");
    assert_eq!(
        user.iter()
            .map(|c| (c.order_no.as_str(), c.from, c.to))
            .collect::<Vec<_>>(),
        vec![(card.as_str(), Status::Ready, Status::Held)]
    );
    assert_eq!(snapshot(&rig.engine), before, "a dry run changes nothing");

    // Applied for real (出荷指示 処理ロボット適用 on 入金確認), rule 6 does what the dry run said.
    rig.enable_and_apply(6);
    let apply = rig
        .engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "入金確認に 6 を適用".into(),
                action: LinkAction::ApplyProcessingRobot,
                auth_id: None,
                converter_id: None,
                processing_robot_id: Some(6),
                target_status: Some(Status::AwaitingPayment),
                range: None,
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &rig.op,
        )
        .expect("apply robot");
    let line = rig
        .engine
        .run_robot(apply.id, RunOptions::default())
        .await
        .expect("apply runs");
    assert_eq!(line.success, 2);
    let after = snapshot(&rig.engine);
    let changed: Vec<DryRunChange> = six
        .iter()
        .filter(|c| {
            let was = before
                .instructions
                .iter()
                .find(|i| i.id == c.id)
                .expect("was there");
            let now = after
                .instructions
                .iter()
                .find(|i| i.id == c.id)
                .expect("still there");
            now.status == c.to && now.version > was.version
        })
        .cloned()
        .collect();
    assert_eq!(changed, six, "the dry run predicted the real run");
    assert_eq!(
        rig.instruction(&card).map(|i| i.status),
        Some(Status::Ready)
    );
}

// ---------------------------------------------------------------------------------------------
// Rule trace and audit

#[tokio::test]
async fn the_rule_trace_records_each_decision_in_order_and_the_audit_names_the_robots() {
    let mut rig = rig().await;
    let yamato = rig.user_rule(
        "銀行振込はヤマト便",
        UserRule {
            conditions: vec![Condition {
                field: Field::PaymentType,
                op: Op::Equals,
                value: "BANK_TRANSFER".into(),
            }],
            match_all: true,
            actions: vec![RuleAction::SetDeliveryMethod {
                method: "ヤマト便".into(),
            }],
        },
    );
    for r in [1, 2, 3, yamato, 4, 5] {
        rig.enable_and_apply(r);
    }
    rig.engine
        .set_rule_order(&[1, 2, 3, yamato, 4, 5, 6, 7], &rig.op)
        .expect("order");
    let (no, at) = rig.unpaid_bank_transfer();
    rig.fetch(rig.conv, at, at).await;
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!(i.status, Status::AwaitingPayment);
    assert!(
        i.destinations
            .iter()
            .all(|d| d.delivery_method == "ヤマト便")
    );
    // 1 (all SKUs known), 2 (new order) and 5 (unpaid) decide nothing; 3, the user rule and 4 do.
    assert_eq!(trace_ids(&i), vec![3, yamato, 4]);
    for e in &i.trace {
        assert_eq!(e.robot_name, rig.robot(e.robot_id).name);
    }
    assert!(
        i.trace[0].decision.contains("未入金"),
        "{}",
        i.trace[0].decision
    );
    assert!(
        i.trace[1].decision.contains("ヤマト便"),
        "{}",
        i.trace[1].decision
    );
    assert!(
        i.trace[2].decision.contains("入金確認"),
        "{}",
        i.trace[2].decision
    );

    let audit = rig.engine.store().audit_for(i.id).expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let intake = &audit[0];
    assert_eq!(intake.action, "取込");
    assert_eq!(intake.to, Some(Status::AwaitingPayment));
    assert!(
        matches!(&intake.actor, Actor::Robot { id, .. } if *id == rig.conv),
        "{:?}",
        intake.actor
    );
    let positions: Vec<usize> = [3, yamato, 4]
        .iter()
        .map(|r| {
            intake
                .reason
                .find(&format!("ID:{r} "))
                .unwrap_or_else(|| panic!("ID:{r} missing from {:?}", intake.reason))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in order: {:?}",
        intake.reason
    );
    for silent in [1, 2, 5] {
        assert!(
            !intake.reason.contains(&format!("ID:{silent} ")),
            "{:?}",
            intake.reason
        );
    }

    // Later decisions are appended: payment arrives, ステータス同期 records it, and rule 5 —
    // chained after the sync, on 入金確認 — releases the order.
    let sync = rig
        .engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "ステータス同期".into(),
                action: LinkAction::StatusSync,
                auth_id: Some(rig.auth),
                converter_id: None,
                processing_robot_id: None,
                target_status: None,
                range: None,
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &rig.op,
        )
        .expect("sync robot");
    rig.engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "入金確認に 5 を適用".into(),
                action: LinkAction::ApplyProcessingRobot,
                auth_id: None,
                converter_id: None,
                processing_robot_id: Some(5),
                target_status: Some(Status::AwaitingPayment),
                range: None,
                trigger: Trigger::After { robot_id: sync.id },
                enabled: true,
                role: None,
            },
            &rig.op,
        )
        .expect("release robot");
    rig.sim
        .with_state(|s| s.mark_paid(&no))
        .expect("paid in futureshop");
    let line = rig
        .engine
        .run_robot(
            sync.id,
            RunOptions {
                chain: true,
                ..RunOptions::default()
            },
        )
        .await
        .expect("sync runs");
    assert_eq!(line.state, RunState::Done, "{:?}", line.errors);
    let i = rig.instruction(&no).expect("instruction");
    assert_eq!((i.status, i.payment), (Status::Ready, PaymentFlag::Paid));
    assert_eq!(trace_ids(&i), vec![3, yamato, 4, 5]);
    let audit = rig.engine.store().audit_for(i.id).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert_eq!(actions[..2], ["取込", "ステータス同期"]);
    assert!(
        actions[2].starts_with(LinkAction::ApplyProcessingRobot.name()),
        "{actions:?}"
    );
    assert!(
        matches!(&audit[2].actor, Actor::Robot { id: 5, .. }),
        "{:?}",
        audit[2].actor
    );
    assert_eq!(
        (audit[2].from, audit[2].to),
        (Some(Status::AwaitingPayment), Some(Status::Ready))
    );
}
