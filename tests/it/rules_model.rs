//! Property tests of the processing-robot (処理ロボット) rule engine against a small reference
//! model written here from workflow.md §3.2 and the doc comments — never by calling the engine's
//! rule functions.
//!
//! - `intake_matches_the_model`: `processing::run_all` on the robots active for the instruction's
//!   converter (in the configured order), then `processing::settle`, at `Phase::Intake`.
//! - `apply_matches_the_model`: `processing::run_one` at `Phase::Apply` on a stored-like
//!   instruction, then `settle` when the robot acted (what 処理ロボット適用 and the dry run do).
//! - `conflict_check_matches_the_model`: rules 5 and 6 enabled together are refused.
//! - `intake_through_the_engine_matches_the_model`: the same model against the real intake
//!   (simulator → 範囲指定 fetch → store), which adds the configured order and switches as stored,
//!   the refusal to enable 5 and 6 together, futureshop cancellation and re-delivery.
//! - `tricky_comparisons_agree_with_the_model`: hand-checked 以上/以下 and multi-value cases.
//!
//! Where the spec is silent the model follows the engine's documented behaviour: a hold reason
//! turns 入金確認 into 保留 too (`settle`: "any hold reason means 保留"); an order that is both
//! CANCELLED upstream and refused by a rule goes to 取込エラー; an order already registered is
//! skipped before the rules run, so re-delivery is a no-op even without rule 2; at 処理ロボット適用
//! rule 1 and 取込拒否 record a decision but change nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use shukka::domain::{
    Actor, Address, ApiAuth, Destination, Instruction, Item, PaymentFlag, ProductMaster, RawJson,
    ShipFrom, Status, Upstream,
};
use shukka::engine::{Engine, EngineError, EngineOptions, RunOptions};
use shukka::futureshop::prefecture::prefecture_ja;
use shukka::futureshop::{Amounts, ClientOptions, Order};
use shukka::robots::converter;
use shukka::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use shukka::robots::processing::{
    self, BuiltinRule, Env, Phase, ProcessingRobot, RuleKind, Working,
};
use shukka::robots::rules::{Condition, Field, Op, RuleAction, UserRule};
use shukka::secret::Secret;
use shukka::sim::NewOrder;
use shukka::store::Store;

// ---------------------------------------------------------------------------------------------
// The small domain

/// The two duplicated converters (the IDs a fresh store gives the first two copies) and the
/// standard one.
const CONV_A: u64 = 18026;
const CONV_B: u64 = 18027;
const STANDARD: u64 = converter::STANDARD_ID;
/// IDs of generated user rules (the engine-backed test maps them to the stored ones).
const USER_BASE: u64 = 18100;

const SKUS: &[&str] = &["A-001", "B-002", "C-003", "X-999"];
const PRODUCT_NAMES: &[&str] = &["有機ほうじ茶", "マグカップ (白)", "今治タオル (藍)"];
const PAYMENT_TYPES: &[&str] = &[
    "COD",
    "BANK_TRANSFER",
    "CREDIT_CARD",
    "ATOBARAI",
    "MYSTERY_PAY",
];
const NO_PREPAYMENT_CANDIDATES: &[&str] = &["COD", "ATOBARAI", "MYSTERY_PAY"];
const PREFECTURES: &[&str] = &["TOKYO", "OKINAWA", "HOKKAIDO", "tokyo", "ATLANTIS"];
const NAMES: &[&str] = &["山田 太郎", "佐藤 花子", ""];
const POSTALS: &[&str] = &["150-0001", "900-0001", "0600001"];
const ADDRESSES: &[&str] = &["渋谷区神南1-1", "那覇市泉崎1-2", "札幌市中央区北1条西2"];
const DELIVERY: &[&str] = &["宅配便", "ネコポス", "店舗受取", ""];
const TIMES: &[&str] = &["午前中", "14-16", "19-21"];
const DATES: &[&str] = &["2026-01-10", "2026-02-01", "2025-12-31"];
const NOTES: &[&str] = &["ギフト包装", "至急", "1000", "1,500円", ""];
const ORDER_NOS: &[&str] = &["1000001", "1000002", "2000010"];
const ORDER_TYPES: &[&str] = &["NORMAL", "SUBSCRIPTION"];
const TOTALS: &[i64] = &[0, 980, 1000, 5500, 10000, 123456];
const HOLDS: &[&str] = &["要確認", "住所不備", "ギフト"];
const REFUSALS: &[&str] = &["テスト注文", "離島のため取込拒否"];
const SHIP_FROMS: &[u64] = &[1, 2, 3];

/// Condition values that make sense for any field: empty, numbers in several spellings, a date.
const GENERIC_VALUES: &[&str] = &[
    "",
    "1",
    "3",
    "1000",
    "1,000",
    "¥980",
    "5,500円",
    "2026-01-15",
    "1e3",
    "NaN",
];

fn field_values_pool(f: Field) -> &'static [&'static str] {
    match f {
        Field::OrderNo => &["1000001", "1000002", "2000010", "1000", "0001", "2"],
        Field::PaymentType => &[
            "COD",
            "BANK_TRANSFER",
            "CREDIT_CARD",
            "MYSTERY_PAY",
            "",
            "CO",
            "TRANSFER",
        ],
        Field::PaymentFlag => &["未入金", "入金済", "入金不要", "入金"],
        Field::Total => &[
            "0", "980", "1000", "1,000", "¥5,500", "5500円", "10000", "99999", "abc",
        ],
        Field::ItemCount => &["0", "1", "2", "3", "5", "10"],
        Field::OrderType => &["NORMAL", "SUBSCRIPTION", "", "SUB"],
        Field::BuyerName | Field::RecipientName => &["山田 太郎", "佐藤 花子", "山田", "太郎", ""],
        Field::PostalCode => &["150-0001", "900-0001", "0600001", "150", "-0001"],
        Field::Prefecture => &[
            "TOKYO",
            "東京都",
            "OKINAWA",
            "沖縄県",
            "ATLANTIS",
            "KYO",
            "東京",
            "県",
        ],
        Field::Address => &["渋谷区神南1-1", "那覇市泉崎1-2", "渋谷区", "1-1", "市"],
        Field::DeliveryMethod => &["宅配便", "ネコポス", "店舗受取", "", "宅配", "便"],
        Field::RequestedDate => &[
            "2026-01-10",
            "2026-02-01",
            "2025-12-31",
            "2026-01-20",
            "",
            "2026",
        ],
        Field::RequestedTime => &["午前中", "14-16", "19-21", "", "14", "午前"],
        Field::Sku => &["A-001", "B-002", "C-003", "X-999", "A-", "-002", "X"],
        Field::ProductName => &[
            "有機ほうじ茶",
            "マグカップ (白)",
            "今治タオル (藍)",
            "ほうじ茶",
            "(藍)",
            "マグ",
        ],
        Field::Notes | Field::ShopMemo => {
            &["ギフト包装", "至急", "1000", "1,500円", "", "ギフト", "500"]
        }
        Field::DeliveryInstructions => &["置き配希望", "置き配", "宅配ボックス", "", "希望"],
        Field::GiftLabel => &["御歳暮 (外のし)", "御歳暮", "のし", "", "(外のし)"],
        Field::ProductOption => &["名入れ: あり", "名入れ", "あり", "", ": あり"],
        Field::JanCode => &["4901234567894", "49", "894", ""],
        Field::Phone => &["03-0000-0000", "0300000000", "03", "0000", "090"],
    }
}

fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    prop::sample::select(xs).prop_map(str::to_string)
}

fn pick_opt(xs: &'static [&'static str]) -> impl Strategy<Value = Option<String>> + Clone {
    prop::option::weighted(0.75, pick(xs))
}

fn fs_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn t0() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-01-05T10:00:00+09:00").expect("fixed time")
}

// ---------------------------------------------------------------------------------------------
// Generators

fn arb_item() -> impl Strategy<Value = Item> {
    (
        pick(SKUS),
        pick(PRODUCT_NAMES),
        1i64..=3,
        prop::sample::select(&[500i64, 1000, 2980][..]),
    )
        .prop_map(|(sku_no, name, count, price)| Item {
            options: if count == 2 {
                vec![shukka::domain::ItemOption {
                    name: "名入れ".into(),
                    value: "あり".into(),
                    price: Some(330),
                }]
            } else {
                Vec::new()
            },
            jan_code: if price == 1000 {
                "4901234567894".into()
            } else {
                String::new()
            },
            sku_no,
            name,
            count,
            price,
            ..Item::default()
        })
}

fn arb_destination() -> impl Strategy<Value = Destination> {
    (
        pick(NAMES),
        pick(POSTALS),
        pick(PREFECTURES),
        pick(ADDRESSES),
        pick(DELIVERY),
        pick_opt(DATES),
        pick_opt(TIMES),
        prop::collection::vec(arb_item(), 1..=3),
        (
            pick_opt(&["置き配希望", "宅配ボックスへ"]),
            pick_opt(&["御歳暮 (外のし)", "ラッピング"]),
        ),
    )
        .prop_map(
            |(
                name,
                postal_code,
                prefecture,
                address,
                delivery_method,
                date,
                time,
                items,
                (instructions, gift_label),
            )| {
                Destination {
                    shipment_no: 0,
                    address: Address {
                        name,
                        name_kana: String::new(),
                        postal_code,
                        prefecture,
                        address,
                        phone: "03-0000-0000".into(),
                    },
                    store_pickup: delivery_method == "店舗受取",
                    delivery_method,
                    cool: false,
                    requested_date: date.as_deref().and_then(fs_date),
                    requested_time: time,
                    items,
                    tracking_no: None,
                    upstream_accepted: false,
                    instructions,
                    gift_label,
                    ..Destination::default()
                }
            },
        )
}

/// An instruction as the converter hands it to the rules: 出荷待ち, 未入金, no hold reason.
fn arb_intake_instruction() -> impl Strategy<Value = Instruction> {
    (
        pick(ORDER_NOS),
        prop::sample::select(&[CONV_A, CONV_B][..]),
        prop::option::weighted(0.9, pick(PAYMENT_TYPES)),
        prop::sample::select(TOTALS),
        pick_opt(ORDER_TYPES),
        pick(NAMES),
        prop::collection::vec(arb_destination(), 1..=3),
        pick_opt(NOTES),
    )
        .prop_map(
            |(
                order_no,
                converter_id,
                payment_type,
                total,
                order_type,
                buyer,
                mut destinations,
                notes,
            )| {
                for (n, d) in destinations.iter_mut().enumerate() {
                    d.shipment_no = n as i64 + 1;
                }
                Instruction {
                    id: 0,
                    version: 0,
                    auth_id: 1,
                    order_no,
                    converter_id,
                    ship_from_id: Some(1),
                    order_date: None,
                    order_type,
                    buyer: Address {
                        name: buyer,
                        ..Address::default()
                    },
                    buyer_mail: String::new(),
                    destinations,
                    payment_type,
                    amounts: Amounts {
                        grand_total: total,
                        ..Amounts::default()
                    },
                    payment: PaymentFlag::Unpaid,
                    status: Status::Ready,
                    hold_reasons: BTreeSet::new(),
                    notes,
                    shop_memo: None,
                    detail: shukka::domain::DetailState::Fetched,
                    tracking: None,
                    upstream: Upstream::Idle,
                    cancelled_after_shipment: false,
                    late_cancel_ack: None,
                    bundle: None,
                    bundle_never: Default::default(),
                    upstream_status: None,
                    trace: Vec::new(),
                    created_at: t0(),
                    updated_at: t0(),
                    updated_by: "test".into(),
                    intake: None,
                    raw: RawJson::from_text("{}".into()),
                }
            },
        )
}

/// A stored instruction: any status, any 入金フラグ, some hold reasons, another 発送元.
fn arb_stored_instruction() -> impl Strategy<Value = Instruction> {
    (
        arb_intake_instruction(),
        prop::sample::select(&Status::ALL[..]),
        prop::sample::select(
            &[
                PaymentFlag::Unpaid,
                PaymentFlag::Paid,
                PaymentFlag::NotRequired,
            ][..],
        ),
        prop::sample::subsequence(HOLDS, 0..=2),
        prop::option::of(prop::sample::select(SHIP_FROMS)),
    )
        .prop_map(|(mut i, status, payment, holds, ship_from)| {
            i.id = 7;
            i.version = 3;
            i.status = status;
            i.payment = payment;
            i.hold_reasons = holds.into_iter().map(str::to_string).collect();
            i.ship_from_id = ship_from;
            i
        })
}

fn arb_condition() -> impl Strategy<Value = Condition> {
    (
        prop::sample::select(&Field::ALL[..]),
        prop::sample::select(&Op::ALL[..]),
    )
        .prop_flat_map(|(field, op)| {
            prop_oneof![3 => pick(field_values_pool(field)), 1 => pick(GENERIC_VALUES)]
                .prop_map(move |value| Condition { field, op, value })
        })
}

fn arb_action() -> impl Strategy<Value = RuleAction> {
    let settable = prop_oneof![
        pick(DELIVERY).prop_map(|v| (Field::DeliveryMethod, v)),
        prop_oneof![3 => pick(DATES), 1 => Just(String::new())]
            .prop_map(|v| (Field::RequestedDate, v)),
        prop_oneof![3 => pick(TIMES), 1 => Just(String::new())]
            .prop_map(|v| (Field::RequestedTime, v)),
        pick(NOTES).prop_map(|v| (Field::Notes, v)),
    ];
    prop_oneof![
        4 => settable.prop_map(|(field, value)| RuleAction::SetField { field, value }),
        2 => pick(DELIVERY).prop_map(|method| RuleAction::SetDeliveryMethod { method }),
        3 => pick(HOLDS).prop_map(|reason| RuleAction::AddHoldReason { reason }),
        1 => pick(REFUSALS).prop_map(|reason| RuleAction::RefuseIntake { reason }),
        1 => prop::sample::select(SHIP_FROMS).prop_map(|ship_from_id| RuleAction::SetShipFrom { ship_from_id }),
    ]
}

fn arb_user_rule() -> impl Strategy<Value = UserRule> {
    (
        prop::collection::vec(arb_condition(), 0..=3),
        any::<bool>(),
        prop::collection::vec(arb_action(), 1..=3),
    )
        .prop_map(|(conditions, match_all, actions)| UserRule {
            conditions,
            match_all,
            actions,
        })
}

/// 有効 and 適用.
fn arb_switches() -> impl Strategy<Value = (bool, BTreeSet<u64>)> {
    (
        prop::bool::weighted(0.8),
        prop_oneof![
            1 => Just(Vec::new()),
            5 => prop::sample::subsequence(vec![CONV_A, CONV_B, STANDARD], 1..=3),
        ],
    )
        .prop_map(|(enabled, applied)| (enabled, applied.into_iter().collect()))
}

fn user_robot(
    n: usize,
    rule: UserRule,
    enabled: bool,
    applied_to: BTreeSet<u64>,
) -> ProcessingRobot {
    ProcessingRobot {
        id: USER_BASE + n as u64,
        name: format!("独自ルール{n}"),
        description: String::new(),
        kind: RuleKind::User(rule),
        enabled,
        applied_to,
    }
}

/// The six per-order built-ins (7 off) and up to three user rules, each with its switches, in a random order.
fn arb_robots() -> impl Strategy<Value = Vec<ProcessingRobot>> {
    (
        prop::collection::vec(arb_switches(), 6),
        prop::collection::vec((arb_user_rule(), arb_switches()), 0..=3),
    )
        .prop_map(|(builtin, user)| {
            let mut all: Vec<ProcessingRobot> = BuiltinRule::ALL
                .into_iter()
                .zip(builtin)
                .map(|(rule, (enabled, applied_to))| ProcessingRobot {
                    enabled,
                    applied_to,
                    ..ProcessingRobot::builtin(rule)
                })
                .collect();
            // 7 (同梱候補を保留) groups orders across a fetch: its own tests are in bundle.rs.
            all.push(ProcessingRobot::builtin(BuiltinRule::BundleCandidates));
            for (n, (rule, (enabled, applied_to))) in user.into_iter().enumerate() {
                all.push(user_robot(n, rule, enabled, applied_to));
            }
            all
        })
        .prop_shuffle()
}

fn arb_one_robot() -> impl Strategy<Value = ProcessingRobot> {
    prop_oneof![
        prop::sample::select(&BuiltinRule::ALL[..6]).prop_map(|r| ProcessingRobot {
            enabled: true,
            applied_to: [CONV_A].into(),
            ..ProcessingRobot::builtin(r)
        }),
        arb_user_rule().prop_map(|r| user_robot(0, r, true, [CONV_A].into())),
    ]
}

/// What the rules consult besides the instruction.
#[derive(Clone, Debug)]
struct World {
    known_skus: BTreeSet<String>,
    ship_froms: BTreeSet<u64>,
    already_exists: bool,
    upstream_paid: bool,
    no_prepayment: Vec<String>,
}

fn arb_world() -> impl Strategy<Value = World> {
    (
        prop_oneof![
            2 => Just(SKUS[..3].to_vec()),
            1 => prop::sample::subsequence(SKUS, 0..=4),
        ],
        prop::sample::subsequence(SHIP_FROMS, 0..=3),
        prop::bool::weighted(0.15),
        any::<bool>(),
        prop_oneof![
            2 => Just(vec!["COD"]),
            1 => prop::sample::subsequence(NO_PREPAYMENT_CANDIDATES, 0..=3),
        ],
    )
        .prop_map(
            |(known, ship_froms, already_exists, upstream_paid, np)| World {
                known_skus: known.into_iter().map(str::to_string).collect(),
                ship_froms: ship_froms.into_iter().collect(),
                already_exists,
                upstream_paid,
                no_prepayment: np.into_iter().map(str::to_string).collect(),
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The reference model

/// The values of a field: one per destination or per item where the field lives there; a
/// prefecture counts as its token and as its Japanese name.
fn model_values(field: Field, i: &Instruction) -> Vec<String> {
    let mut out = Vec::new();
    match field {
        Field::OrderNo => out.push(i.order_no.clone()),
        Field::PaymentType => out.push(i.payment_type.clone().unwrap_or_default()),
        Field::PaymentFlag => out.push(
            match i.payment {
                PaymentFlag::Unpaid => "未入金",
                PaymentFlag::Paid => "入金済",
                PaymentFlag::NotRequired => "入金不要",
            }
            .to_string(),
        ),
        Field::Total => out.push(format!("{}", i.amounts.grand_total)),
        Field::ItemCount => {
            let mut n = 0;
            for d in &i.destinations {
                for it in &d.items {
                    n += it.count;
                }
            }
            out.push(format!("{n}"));
        }
        Field::OrderType => out.push(i.order_type.clone().unwrap_or_default()),
        Field::BuyerName => out.push(i.buyer.name.clone()),
        Field::Notes => out.push(i.notes.clone().unwrap_or_default()),
        Field::ShopMemo => out.push(i.shop_memo.clone().unwrap_or_default()),
        _ => {
            for d in &i.destinations {
                match field {
                    Field::RecipientName => out.push(d.address.name.clone()),
                    Field::PostalCode => out.push(d.address.postal_code.clone()),
                    Field::Prefecture => {
                        out.push(d.address.prefecture.clone());
                        if let Some(ja) = prefecture_ja(&d.address.prefecture) {
                            out.push(ja.to_string());
                        }
                    }
                    Field::Address => out.push(d.address.address.clone()),
                    Field::DeliveryMethod => out.push(d.delivery_method.clone()),
                    Field::RequestedDate => out.push(
                        d.requested_date
                            .map(|x| x.format("%Y-%m-%d").to_string())
                            .unwrap_or_default(),
                    ),
                    Field::RequestedTime => out.push(d.requested_time.clone().unwrap_or_default()),
                    Field::Sku => out.extend(d.items.iter().map(|x| x.sku_no.clone())),
                    Field::ProductName => out.extend(d.items.iter().map(|x| x.name.clone())),
                    Field::DeliveryInstructions => {
                        out.push(d.instructions.clone().unwrap_or_default())
                    }
                    Field::GiftLabel => out.push(d.gift_label.clone().unwrap_or_default()),
                    Field::ProductOption => {
                        for it in &d.items {
                            for o in &it.options {
                                out.push(format!("{}: {}", o.name, o.value));
                            }
                        }
                    }
                    Field::JanCode => out.extend(d.items.iter().map(|x| x.jan_code.clone())),
                    Field::Phone => out.push(d.address.phone.clone()),
                    _ => unreachable!("single-valued fields are handled above"),
                }
            }
        }
    }
    out
}

/// A number as an operator writes it: optional sign, digits, optional decimals; commas, ¥ and
/// 円 are ignored. Anything else (including "1e3", "NaN", "inf") is text.
fn model_number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '¥' | '円'))
        .collect();
    let body = cleaned.strip_prefix(['+', '-']).unwrap_or(&cleaned);
    let (int, frac) = match body.split_once('.') {
        Some((a, b)) => (a, b),
        None => (body, ""),
    };
    let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    cleaned.parse().ok()
}

/// 以上 (at_least) / 以下: numbers as numbers, otherwise text; an empty value never satisfies.
fn model_bound(actual: &str, expected: &str, at_least: bool) -> bool {
    if actual.trim().is_empty() {
        return false;
    }
    match (model_number(actual), model_number(expected)) {
        (Some(a), Some(b)) => {
            if at_least {
                a >= b
            } else {
                a <= b
            }
        }
        _ => {
            if at_least {
                actual >= expected
            } else {
                actual <= expected
            }
        }
    }
}

/// Postal codes and phone numbers are compared by their digits (when the rule's value has any).
fn model_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .filter(char::is_ascii_digit)
        .collect()
}

fn model_condition(c: &Condition, i: &Instruction) -> bool {
    let mut values = model_values(c.field, i);
    let mut v = c.value.clone();
    if matches!(c.field, Field::PostalCode | Field::Phone) && !model_digits(&v).is_empty() {
        v = model_digits(&v);
        values = values.iter().map(|x| model_digits(x)).collect();
    }
    let v = v.as_str();
    match c.op {
        // ではない: no value equals.
        Op::NotEquals => !values.iter().any(|x| x == v),
        // Positive operators: any value matches.
        Op::Equals => values.iter().any(|x| x == v),
        Op::Contains => values.iter().any(|x| x.contains(v)),
        Op::StartsWith => values.iter().any(|x| x.starts_with(v)),
        Op::EndsWith => values.iter().any(|x| x.ends_with(v)),
        Op::AtLeast => values.iter().any(|x| model_bound(x, v, true)),
        Op::AtMost => values.iter().any(|x| model_bound(x, v, false)),
    }
}

fn model_rule_matches(r: &UserRule, i: &Instruction) -> bool {
    if r.conditions.is_empty() {
        return true;
    }
    let results: Vec<bool> = r.conditions.iter().map(|c| model_condition(c, i)).collect();
    if r.match_all {
        !results.contains(&false)
    } else {
        results.contains(&true)
    }
}

/// What the model expects.
#[derive(Clone, Debug)]
struct Outcome {
    /// Refused at intake: the robot and the reason (for rule 1: the missing SKUs).
    refused: Option<(u64, String)>,
    duplicate: bool,
    /// The robots that made a decision, in order.
    acted: Vec<u64>,
    instr: Instruction,
}

/// What one robot did.
#[derive(Default)]
struct Step {
    acted: bool,
    refused: Option<String>,
    duplicate: bool,
}

fn acted() -> Step {
    Step {
        acted: true,
        ..Step::default()
    }
}

/// One robot on one instruction, from the catalogue of workflow.md §3.2.
fn model_step(robot: &ProcessingRobot, i: &mut Instruction, world: &World, intake: bool) -> Step {
    // Later (処理ロボット適用) the rules only move instructions between the holding queues and
    // 出荷待ち: shipped, in-progress and cancelled instructions are left alone.
    if !intake
        && !matches!(
            i.status,
            Status::AwaitingPayment | Status::Held | Status::Ready
        )
    {
        return Step::default();
    }
    let settled = |p: PaymentFlag| p == PaymentFlag::Paid || p == PaymentFlag::NotRequired;
    match &robot.kind {
        // 1: refuse at intake when a SKU is missing from the product master.
        RuleKind::Builtin(BuiltinRule::RequireProductMaster) => {
            let missing: BTreeSet<String> = i
                .destinations
                .iter()
                .flat_map(|d| &d.items)
                .filter(|it| !world.known_skus.contains(&it.sku_no))
                .map(|it| it.sku_no.clone())
                .collect();
            if missing.is_empty() {
                Step::default()
            } else if intake {
                Step {
                    acted: true,
                    refused: Some(missing.into_iter().collect::<Vec<_>>().join(", ")),
                    duplicate: false,
                }
            } else {
                // Reported, but nothing to refuse any more.
                acted()
            }
        }
        // 2: an order that already exists is a no-op at intake.
        RuleKind::Builtin(BuiltinRule::NoDuplicateOrderNo) => {
            if intake && world.already_exists {
                Step {
                    acted: true,
                    duplicate: true,
                    ..Step::default()
                }
            } else {
                Step::default()
            }
        }
        // 3: 入金フラグ from futureshop; COD and the configured post-payment types need none.
        RuleKind::Builtin(BuiltinRule::PaymentStatusCheck) => {
            let pt = i.payment_type.clone().unwrap_or_default();
            let flag = if world.no_prepayment.contains(&pt) {
                PaymentFlag::NotRequired
            } else if world.upstream_paid {
                PaymentFlag::Paid
            } else {
                PaymentFlag::Unpaid
            };
            let changed = i.payment != flag;
            i.payment = flag;
            // At intake it always reports the flag; later only a change counts.
            if intake || changed {
                acted()
            } else {
                Step::default()
            }
        }
        // 4: unpaid → 入金確認.
        RuleKind::Builtin(BuiltinRule::UnpaidToPaymentHold) => {
            if i.payment == PaymentFlag::Unpaid && i.status != Status::AwaitingPayment {
                i.status = Status::AwaitingPayment;
                acted()
            } else {
                Step::default()
            }
        }
        // 5: paid (or needing no payment) and no hold reason left → 出荷待ち.
        RuleKind::Builtin(BuiltinRule::FutureshopRelease) => {
            if settled(i.payment) && i.hold_reasons.is_empty() && i.status != Status::Ready {
                i.status = Status::Ready;
                acted()
            } else {
                Step::default()
            }
        }
        // 6: no hold reason left → 出荷待ち, whatever the payment.
        RuleKind::Builtin(BuiltinRule::GenericRelease) => {
            if i.hold_reasons.is_empty() && i.status != Status::Ready {
                i.status = Status::Ready;
                acted()
            } else {
                Step::default()
            }
        }
        // 7: acts on groups across orders after a fetch, never on one order.
        RuleKind::Builtin(BuiltinRule::BundleCandidates) => Step::default(),
        RuleKind::User(rule) => {
            if !model_rule_matches(rule, i) {
                return Step::default();
            }
            let mut step = acted();
            for a in &rule.actions {
                match a {
                    RuleAction::SetField { field, value } => {
                        let opt = if value.is_empty() {
                            None
                        } else {
                            Some(value.clone())
                        };
                        match field {
                            Field::Notes => i.notes = opt,
                            Field::DeliveryMethod => {
                                for d in &mut i.destinations {
                                    d.delivery_method = value.clone();
                                }
                            }
                            Field::RequestedDate => {
                                for d in &mut i.destinations {
                                    d.requested_date = fs_date(value);
                                }
                            }
                            Field::RequestedTime => {
                                for d in &mut i.destinations {
                                    d.requested_time = opt.clone();
                                }
                            }
                            other => panic!("the generator only sets settable fields, not {other}"),
                        }
                    }
                    RuleAction::SetShipFrom { ship_from_id } => {
                        if world.ship_froms.contains(ship_from_id) {
                            i.ship_from_id = Some(*ship_from_id);
                        }
                    }
                    RuleAction::SetDeliveryMethod { method } => {
                        for d in &mut i.destinations {
                            d.delivery_method = method.clone();
                        }
                    }
                    RuleAction::AddHoldReason { reason } => {
                        i.hold_reasons.insert(reason.clone());
                    }
                    RuleAction::RefuseIntake { reason } => {
                        // Only an order being taken in can be refused; later it is a no-op.
                        if intake {
                            step.refused = Some(reason.clone());
                            break;
                        }
                    }
                }
            }
            step
        }
    }
}

/// Any hold reason means 保留 (unless the instruction is already past the holding queues).
fn model_settle(i: &mut Instruction) {
    if !i.hold_reasons.is_empty()
        && (i.status == Status::Ready || i.status == Status::AwaitingPayment)
    {
        i.status = Status::Held;
    }
}

/// Intake: the robots that are enabled AND applied to the instruction's converter, in order,
/// until one refuses the order or finds it is a duplicate; then settle.
fn model_intake(robots: &[ProcessingRobot], input: &Instruction, world: &World) -> Outcome {
    let mut out = Outcome {
        refused: None,
        duplicate: false,
        acted: Vec::new(),
        instr: input.clone(),
    };
    for r in robots {
        if !(r.enabled && r.applied_to.contains(&input.converter_id)) {
            continue;
        }
        let step = model_step(r, &mut out.instr, world, true);
        if step.acted {
            out.acted.push(r.id);
        }
        if let Some(reason) = step.refused {
            out.refused = Some((r.id, reason));
            return out;
        }
        if step.duplicate {
            out.duplicate = true;
            return out;
        }
    }
    model_settle(&mut out.instr);
    out
}

/// 処理ロボット適用 on one stored instruction: the robot, then settle when it acted.
fn model_apply(robot: &ProcessingRobot, stored: &Instruction, world: &World) -> Outcome {
    let mut instr = stored.clone();
    let step = model_step(robot, &mut instr, world, false);
    if step.acted {
        model_settle(&mut instr);
    }
    Outcome {
        refused: None,
        duplicate: false,
        acted: if step.acted {
            vec![robot.id]
        } else {
            Vec::new()
        },
        instr,
    }
}

// ---------------------------------------------------------------------------------------------
// The engine, driven directly

fn engine_run(
    robots: &[&ProcessingRobot],
    input: &Instruction,
    world: &World,
    phase: Phase,
) -> (Working, Vec<u64>) {
    let known = |s: &str| world.known_skus.contains(s);
    let ship_from = |id: u64| world.ship_froms.contains(&id);
    let env = Env {
        phase,
        now: t0(),
        known_sku: &known,
        ship_from_exists: &ship_from,
        already_exists: world.already_exists,
        upstream_paid: world.upstream_paid,
        no_prepayment: &world.no_prepayment,
    };
    let mut w = Working::new(input.clone());
    let mut acted = Vec::new();
    match phase {
        Phase::Intake => {
            processing::run_all(robots, &mut w, &env);
            if w.refused.is_none() && !w.duplicate {
                processing::settle(&mut w.instr);
            }
            acted = w.instr.trace.iter().map(|e| e.robot_id).collect();
        }
        Phase::Apply => {
            for r in robots {
                if processing::run_one(r, &mut w, &env).is_some() {
                    acted.push(r.id);
                    processing::settle(&mut w.instr);
                }
            }
        }
    }
    (w, acted)
}

/// Compares the engine's result with the model's.
fn compare(
    engine: &Working,
    engine_acted: &[u64],
    model: &Outcome,
    input: &Instruction,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(engine_acted, &model.acted[..], "robots that acted (trace)");
    prop_assert_eq!(engine.duplicate, model.duplicate, "duplicate");
    match (&engine.refused, &model.refused) {
        (None, None) => {}
        (Some((eid, ereason)), Some((mid, mreason))) => {
            prop_assert_eq!(eid, mid, "refusing robot");
            if *mid == BuiltinRule::RequireProductMaster.number() {
                // The reason names exactly the missing SKUs.
                for sku in SKUS {
                    let missing = mreason.split(", ").any(|m| m == *sku);
                    prop_assert_eq!(
                        ereason.contains(sku),
                        missing,
                        "reason {:?} naming {}",
                        ereason,
                        sku
                    );
                }
            } else {
                prop_assert_eq!(ereason, mreason, "refusal reason");
            }
        }
        (e, m) => prop_assert!(false, "refused: engine {:?}, model {:?}", e, m),
    }
    if model.refused.is_some() || model.duplicate {
        return Ok(());
    }
    let mut got = engine.instr.clone();
    // Every trace entry names its robot and says something.
    for e in &got.trace {
        prop_assert!(
            !e.decision.is_empty() && !e.robot_name.is_empty(),
            "trace entry {:?}",
            e
        );
    }
    got.trace.clone_from(&input.trace);
    prop_assert_eq!(&got, &model.instr, "instruction after the rules");
    Ok(())
}

/// Hand-checked comparisons, each against the spelled-out expectation, the model and the
/// engine. "1e3", "NaN" and "inf" are text, not numbers (the engine used to parse them with
/// f64's parser: 980 以上 "1e3" was false and anything against "NaN" never matched).
#[test]
fn tricky_comparisons_agree_with_the_model() {
    let base = || {
        let mut runner = TestRunner::deterministic();
        let mut i = arb_intake_instruction()
            .new_tree(&mut runner)
            .expect("instruction")
            .current();
        i.destinations.truncate(1);
        i.destinations[0].address.prefecture = "TOKYO".into();
        i.destinations[0].items = vec![
            Item {
                sku_no: "A-001".into(),
                name: "x".into(),
                count: 1,
                price: 1,
                ..Item::default()
            },
            Item {
                sku_no: "B-002".into(),
                name: "y".into(),
                count: 2,
                price: 1,
                ..Item::default()
            },
        ];
        i
    };
    let with_total = |t: i64| {
        let mut i = base();
        i.amounts.grand_total = t;
        i
    };
    let with_notes = |n: &str| {
        let mut i = base();
        i.notes = Some(n.to_string()).filter(|n| !n.is_empty());
        i
    };
    let cases: Vec<(Instruction, Field, Op, &str, bool)> = vec![
        (with_total(980), Field::Total, Op::AtLeast, "1e3", true),
        (with_total(980), Field::Total, Op::AtMost, "1e3", false),
        (with_total(1000), Field::Total, Op::AtMost, "NaN", true),
        (with_total(1000), Field::Total, Op::AtLeast, "NaN", false),
        (with_notes("NaN"), Field::Notes, Op::AtLeast, "5", true),
        (with_notes("inf"), Field::Notes, Op::AtMost, "5", false),
        (with_total(1000), Field::Total, Op::AtLeast, "1,000", true),
        (with_total(1000), Field::Total, Op::AtMost, "¥980", false),
        (with_total(5500), Field::Total, Op::AtMost, "5,500円", true),
        (with_total(980), Field::Total, Op::AtMost, "1000", true),
        (with_total(980), Field::Total, Op::AtLeast, "abc", false),
        (with_notes(""), Field::Notes, Op::AtMost, "5", false),
        (with_notes(""), Field::Notes, Op::AtLeast, "", false),
        (with_notes("至急"), Field::Notes, Op::AtLeast, "", true),
        (with_notes(""), Field::Notes, Op::Equals, "", true),
        (base(), Field::ItemCount, Op::AtLeast, "3", true),
        (base(), Field::ItemCount, Op::AtMost, "2", false),
        (base(), Field::Prefecture, Op::Equals, "東京都", true),
        (base(), Field::Prefecture, Op::NotEquals, "東京都", false),
        (base(), Field::Prefecture, Op::NotEquals, "TOKYO", false),
        (base(), Field::Prefecture, Op::NotEquals, "沖縄県", true),
        (base(), Field::Sku, Op::Equals, "B-002", true),
        (base(), Field::Sku, Op::NotEquals, "B-002", false),
        (base(), Field::Sku, Op::StartsWith, "C-", false),
        (base(), Field::Sku, Op::AtLeast, "B-000", true),
        (base(), Field::Sku, Op::AtMost, "A-000", false),
    ];
    for (i, field, op, value, want) in cases {
        let c = Condition {
            field,
            op,
            value: value.into(),
        };
        let shown = format!("{c} on {:?}", model_values(field, &i));
        assert_eq!(model_condition(&c, &i), want, "model: {shown}");
        assert_eq!(c.matches(&i), want, "engine: {shown}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn intake_matches_the_model(robots in arb_robots(), input in arb_intake_instruction(), world in arb_world()) {
        for r in &robots {
            if let RuleKind::User(u) = &r.kind {
                prop_assert!(u.validate().is_ok(), "generated rule must be valid: {:?}", u);
            }
        }
        let active: Vec<&ProcessingRobot> = robots.iter().filter(|r| r.active_for(input.converter_id)).collect();
        let (w, acted) = engine_run(&active, &input, &world, Phase::Intake);
        let expected = model_intake(&robots, &input, &world);
        compare(&w, &acted, &expected, &input)?;
    }

    #[test]
    fn apply_matches_the_model(robot in arb_one_robot(), stored in arb_stored_instruction(), world in arb_world()) {
        let (w, acted) = engine_run(&[&robot], &stored, &world, Phase::Apply);
        let expected = model_apply(&robot, &stored, &world);
        prop_assert!(w.refused.is_none() && !w.duplicate, "nothing is refused after intake");
        compare(&w, &acted, &expected, &stored)?;
    }

    #[test]
    fn conflict_check_matches_the_model(robots in arb_robots()) {
        let on = |r: BuiltinRule| robots.iter().any(|x| x.enabled && x.kind == RuleKind::Builtin(r));
        let conflict = on(BuiltinRule::FutureshopRelease) && on(BuiltinRule::GenericRelease);
        match processing::check_conflicts(&robots) {
            Ok(()) => prop_assert!(!conflict, "5 and 6 both enabled but accepted"),
            Err(m) => {
                prop_assert!(conflict, "refused without a conflict: {}", m);
                for r in [BuiltinRule::FutureshopRelease, BuiltinRule::GenericRelease] {
                    for text in [&m.ja, &m.en] {
                        prop_assert!(text.contains(&format!("ID:{}", r.number())) && text.contains(r.name()), "{:?}", m);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The same model against the real intake: simulator → 範囲指定 fetch → store

/// One order as the test asks the simulator to create it.
#[derive(Clone, Debug)]
struct OrderSpec {
    payment_type: Option<String>,
    paid: bool,
    cancelled: bool,
    skus: Vec<String>,
    shipments: usize,
    notes: Option<String>,
    converter: u64,
}

fn arb_order_spec() -> impl Strategy<Value = OrderSpec> {
    (
        prop::option::weighted(0.9, pick(PAYMENT_TYPES)),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::collection::vec(pick(SKUS), 1..=3),
        1usize..=2,
        pick_opt(NOTES),
        prop::sample::select(&[CONV_A, CONV_B][..]),
    )
        .prop_map(
            |(payment_type, paid, cancelled, skus, shipments, notes, converter)| OrderSpec {
                payment_type,
                paid,
                cancelled,
                skus,
                shipments,
                notes,
                converter,
            },
        )
}

fn fast_engine(dir: &std::path::Path) -> Engine {
    let store = Store::open(dir).expect("store opens");
    Engine::with_options(
        store,
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

/// Sets the store up as the case says and returns the robots as they ended up stored (user
/// rules with their real IDs, 有効 as the engine accepted it), in the stored order.
fn configure(
    engine: &Engine,
    robots: &[ProcessingRobot],
    world: &World,
    op: &Actor,
) -> Result<Vec<ProcessingRobot>, TestCaseError> {
    let fail = |what: &str, e: EngineError| TestCaseError::fail(format!("{what}: {e}"));
    engine
        .set_no_prepayment(&world.no_prepayment, op)
        .map_err(|e| fail("no_prepayment", e))?;
    let products: Vec<ProductMaster> = world
        .known_skus
        .iter()
        .map(|s| ProductMaster {
            sku_no: s.clone(),
            name: s.clone(),
            source: "manual".into(),
            ..ProductMaster::default()
        })
        .collect();
    if !products.is_empty() {
        engine
            .put_products(&products, op)
            .map_err(|e| fail("products", e))?;
    }
    // User rules get their IDs from the store.
    let mut ids: BTreeMap<u64, u64> = BTreeMap::new();
    for r in robots {
        if let RuleKind::User(rule) = &r.kind {
            let saved = engine
                .add_user_rule(&r.name, "", rule.clone(), op)
                .map_err(|e| fail("add_user_rule", e))?;
            ids.insert(r.id, saved.id);
        } else {
            ids.insert(r.id, r.id);
        }
    }
    let order: Vec<u64> = robots.iter().map(|r| ids[&r.id]).collect();
    engine
        .set_rule_order(&order, op)
        .map_err(|e| fail("set_rule_order", e))?;
    // 適用 first (only enabled converters can be chosen: the standard one never is), then 有効
    // in the configured order. The second of 5 and 6 must be refused.
    let mut expected = Vec::new();
    let mut release_on: Option<u64> = None;
    for r in robots {
        let id = ids[&r.id];
        let mut applied = BTreeSet::new();
        for c in &r.applied_to {
            let res = engine.apply_processing(id, *c, true, op);
            if *c == STANDARD {
                prop_assert!(
                    matches!(res, Err(EngineError::Refused(_))),
                    "applying to the standard converter: {:?}",
                    res.map(|_| ())
                );
            } else {
                res.map_err(|e| fail("apply_processing", e))?;
                applied.insert(*c);
            }
        }
        let release = matches!(
            r.kind,
            RuleKind::Builtin(BuiltinRule::FutureshopRelease | BuiltinRule::GenericRelease)
        );
        let mut enabled = r.enabled;
        if r.enabled {
            let res = engine.set_processing_enabled(id, true, op);
            match (release, release_on) {
                (true, Some(other)) => {
                    match res {
                        Err(EngineError::Refused(m)) => {
                            prop_assert!(
                                m.ja.contains(&format!("ID:{id} "))
                                    && m.ja.contains(&format!("ID:{other} ")),
                                "{}",
                                m
                            )
                        }
                        other => prop_assert!(
                            false,
                            "5 and 6 together accepted: {:?}",
                            other.map(|_| ())
                        ),
                    }
                    enabled = false;
                }
                _ => {
                    res.map_err(|e| fail("set_processing_enabled", e))?;
                    if release {
                        release_on = Some(id);
                    }
                }
            }
        }
        expected.push(ProcessingRobot {
            id,
            enabled,
            applied_to: applied,
            ..r.clone()
        });
    }
    let stored = engine
        .store()
        .processing_robots()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let stored_view: Vec<(u64, bool, BTreeSet<u64>)> = stored
        .iter()
        .map(|r| (r.id, r.enabled, r.applied_to.clone()))
        .collect();
    let expected_view: Vec<(u64, bool, BTreeSet<u64>)> = expected
        .iter()
        .map(|r| (r.id, r.enabled, r.applied_to.clone()))
        .collect();
    prop_assert_eq!(
        stored_view,
        expected_view,
        "stored robots, in the stored order"
    );
    Ok(expected)
}

async fn intake_case(
    sim: &shukka::sim::SimHandle,
    seq: u32,
    robots: Vec<ProcessingRobot>,
    spec: OrderSpec,
    world: World,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let engine = fast_engine(dir.path());
    let op = Actor::Operator("test".into());
    let fail = |what: &str, e: EngineError| TestCaseError::fail(format!("{what}: {e}"));
    let sf = engine
        .save_ship_from(
            ShipFrom {
                name: "本社倉庫".into(),
                ..ShipFrom::default()
            },
            &op,
        )
        .map_err(|e| fail("ship_from", e))?;
    let auth = engine
        .save_auth(
            ApiAuth {
                name: "shop".into(),
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
        .map_err(|e| fail("auth", e))?;
    for want in [CONV_A, CONV_B] {
        let c = engine
            .duplicate_converter(STANDARD, &op)
            .map_err(|e| fail("duplicate", e))?;
        prop_assert_eq!(c.id, want);
        engine
            .set_converter_enabled(c.id, true, &op)
            .map_err(|e| fail("enable converter", e))?;
    }
    let stored_robots = configure(&engine, &robots, &world, &op)?;

    // The order, alone in its minute.
    let date = NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        + chrono::Duration::minutes(i64::from(seq));
    let created = sim
        .with_state(|s| {
            s.create_order(NewOrder {
                payment_type: spec.payment_type.clone(),
                paid: Some(spec.paid),
                cancelled: spec.cancelled,
                skus: spec.skus.clone(),
                shipments: Some(spec.shipments),
                date: Some(date.format("%Y-%m-%dT%H:%M:%S").to_string()),
                communication: spec.notes.clone(),
                ..NewOrder::default()
            })
        })
        .map_err(|e| TestCaseError::fail(format!("sim create_order: {e:?}")))?;
    let order_no = created["orderNo"].as_str().expect("orderNo").to_string();
    let fetch = engine
        .create_linkage(
            LinkageRobot {
                id: 0,
                name: "範囲取得".into(),
                action: LinkAction::FetchRange,
                auth_id: Some(auth.id),
                converter_id: Some(spec.converter),
                processing_robot_id: None,
                target_status: None,
                range: Some((date, date)),
                trigger: Trigger::Manual,
                enabled: true,
                role: None,
            },
            &op,
        )
        .map_err(|e| fail("create_linkage", e))?;
    let line = engine
        .run_robot(fetch.id, RunOptions::default())
        .await
        .map_err(|e| fail("run", e))?;
    prop_assert!(line.errors.is_empty(), "run errors: {:?}", line.errors);

    // The instruction the converter makes of the order as the detail API serves it (intake
    // reads the detail of every new order).
    let detail = sim
        .with_state(|s| s.order_detail(&order_no))
        .map_err(|e| TestCaseError::fail(format!("sim detail: {e:?}")))?;
    let order = Order::from_detail_json(detail).map_err(TestCaseError::fail)?;
    let conv = engine
        .store()
        .converter(spec.converter)
        .ok()
        .flatten()
        .expect("converter");
    let auth = engine.store().auth(auth.id).ok().flatten().expect("auth");
    let input = converter::convert(&order, &conv, &auth, t0()).map_err(TestCaseError::fail)?;
    let world = World {
        ship_froms: [sf.id].into(),
        already_exists: false,
        upstream_paid: spec.paid,
        ..world
    };
    let expected = model_intake(&stored_robots, &input, &world);
    let store = engine.store();
    let errors = store
        .intake_errors()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let id = store
        .instruction_id(auth.id, &order_no)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    match &expected.refused {
        Some((robot, reason)) => {
            prop_assert!(id.is_none(), "refused orders are not instructions");
            prop_assert_eq!(errors.len(), 1);
            let e = &errors[0];
            prop_assert_eq!(
                (e.robot_id, e.converter_id, e.order_no.as_str()),
                (Some(*robot), spec.converter, order_no.as_str())
            );
            prop_assert!(
                e.reason
                    .contains(reason.split(", ").next().unwrap_or_default()),
                "{} / {}",
                e.reason,
                reason
            );
            prop_assert_eq!((line.success, line.failure), (0, 1));
        }
        None => {
            prop_assert!(errors.is_empty(), "unexpected intake errors: {:?}", errors);
            let id = id.expect("an instruction was registered");
            let got = store.instruction(id).ok().flatten().expect("instruction");
            let mut want = expected.instr.clone();
            // futureshop already cancelled it: キャンセル at once, whatever the rules said.
            let mut acted = expected.acted.clone();
            if spec.cancelled {
                want.status = Status::Cancelled;
                acted.push(spec.converter);
            }
            let got_acted: Vec<u64> = got.trace.iter().map(|e| e.robot_id).collect();
            prop_assert_eq!(&got_acted, &acted, "trace");
            want.id = got.id;
            want.version = got.version;
            want.created_at = got.created_at;
            want.updated_at = got.updated_at;
            want.trace.clone_from(&got.trace);
            // The intake record is checked through the history below.
            want.intake.clone_from(&got.intake);
            prop_assert_eq!(&got, &want, "stored instruction");
            prop_assert_eq!((line.success, line.failure), (1, 0));
            // The audit entry of the intake names the robots that acted, in order.
            let audit = store
                .audit_for(id)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(audit.len(), 1);
            prop_assert_eq!(audit[0].action.as_str(), "取込");
            prop_assert_eq!(audit[0].to, Some(want.status));
            let mut at = 0;
            for r in &expected.acted {
                let needle = format!("ID:{r} ");
                let pos = audit[0].reason[at..].find(&needle);
                prop_assert!(
                    pos.is_some(),
                    "audit reason {:?} lacks {} after byte {}",
                    audit[0].reason,
                    needle,
                    at
                );
                at += pos.unwrap_or_default() + needle.len();
            }
            if expected.acted.is_empty() && !spec.cancelled {
                prop_assert_eq!(audit[0].reason.as_str(), "適用された処理ロボットなし");
            }
        }
    }
    // Re-delivery (the 差分 overlap) changes nothing and never makes a second instruction.
    let before = id.and_then(|id| store.instruction(id).ok().flatten());
    let again = engine
        .run_robot(fetch.id, RunOptions::default())
        .await
        .map_err(|e| fail("rerun", e))?;
    let after = id.and_then(|id| store.instruction(id).ok().flatten());
    prop_assert_eq!(before, after, "re-delivery changed the instruction");
    prop_assert_eq!(store.counts().instructions(), u64::from(id.is_some()));
    if id.is_some() {
        prop_assert_eq!((again.success, again.failure, again.skipped), (0, 0, 1));
    } else {
        let errors = store
            .intake_errors()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(errors.len(), 1);
        prop_assert_eq!(errors[0].attempts, 2);
    }
    drop(engine);
    Ok(())
}

#[test]
fn intake_through_the_engine_matches_the_model() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = rt.block_on(crate::common::start_sim(0, 100));
    let mut runner = TestRunner::new(Config {
        cases: 32,
        ..Config::default()
    });
    let seq = std::cell::Cell::new(0u32);
    let result = runner.run(
        &(arb_robots(), arb_order_spec(), arb_world()),
        |(robots, spec, world)| {
            seq.set(seq.get() + 1);
            rt.block_on(intake_case(&sim, seq.get(), robots, spec, world))
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    drop(sim);
}
