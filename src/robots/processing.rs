//! 処理ロボット: the built-in catalogue of workflow.md §3.2 and user-defined rules, with the two
//! switches 有効 (enabled) and 適用 (applied to converters), evaluated in a configured order.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::msg::Msg;

use super::rules::{RuleAction, UserRule};
use crate::domain::{Instruction, PaymentFlag, Status, TraceEntry};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BuiltinRule {
    RequireProductMaster,
    NoDuplicateOrderNo,
    PaymentStatusCheck,
    UnpaidToPaymentHold,
    FutureshopRelease,
    GenericRelease,
    /// 同梱候補を保留: acts on groups after each fetch (see `robots::bundle`), not per order.
    BundleCandidates,
}

impl BuiltinRule {
    pub const ALL: [BuiltinRule; 7] = [
        BuiltinRule::RequireProductMaster,
        BuiltinRule::NoDuplicateOrderNo,
        BuiltinRule::PaymentStatusCheck,
        BuiltinRule::UnpaidToPaymentHold,
        BuiltinRule::FutureshopRelease,
        BuiltinRule::GenericRelease,
        BuiltinRule::BundleCandidates,
    ];

    /// The catalogue number, which is also the robot's ID.
    pub fn number(self) -> u64 {
        match self {
            BuiltinRule::RequireProductMaster => 1,
            BuiltinRule::NoDuplicateOrderNo => 2,
            BuiltinRule::PaymentStatusCheck => 3,
            BuiltinRule::UnpaidToPaymentHold => 4,
            BuiltinRule::FutureshopRelease => 5,
            BuiltinRule::GenericRelease => 6,
            BuiltinRule::BundleCandidates => 7,
        }
    }

    pub fn from_number(n: u64) -> Option<BuiltinRule> {
        BuiltinRule::ALL.into_iter().find(|r| r.number() == n)
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRule::RequireProductMaster => "商品マスタ登録がない場合注文を取り込みしない",
            BuiltinRule::NoDuplicateOrderNo => "同一注文番号を取り込まない(重複注文のみ)",
            BuiltinRule::PaymentStatusCheck => "futureshop 出荷指示取込み時入金ステータス確認",
            BuiltinRule::UnpaidToPaymentHold => "未入金の注文を保留(入金確認)に振り分け",
            BuiltinRule::FutureshopRelease => {
                "futureshopの出荷指示を対象に入金済みかつ、エラーが無くなったら出荷待ちへ移動 (連携ロボット用)"
            }
            BuiltinRule::GenericRelease => "エラーが無くなったら出荷待ちへ移動",
            BuiltinRule::BundleCandidates => "同梱候補を保留",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRule::RequireProductMaster => {
                "品番が商品マスタにない商品を含む注文は取込エラーにする"
            }
            BuiltinRule::NoDuplicateOrderNo => {
                "同じ受注コードの出荷指示が既にあれば、再取得された注文は何もしない"
            }
            BuiltinRule::PaymentStatusCheck => {
                "futureshop の入金状況から入金フラグを設定する (入金不要の支払方法は入金不要)"
            }
            BuiltinRule::UnpaidToPaymentHold => "未入金の出荷指示を保留(入金確認)へ",
            BuiltinRule::FutureshopRelease => {
                "入金済(または入金不要)で保留理由が無ければ出荷待ちへ"
            }
            BuiltinRule::GenericRelease => "保留理由が無ければ出荷待ちへ (入金状況は見ない)",
            BuiltinRule::BundleCandidates => {
                "同じ注文者・同じ配送先・同じ配送方法と支払方法の未発行の出荷指示をまとめ、担当者が同梱するか決めるまで保留 (同梱候補)"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleKind {
    Builtin(BuiltinRule),
    User(UserRule),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingRobot {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub kind: RuleKind,
    /// 有効.
    pub enabled: bool,
    /// 適用: the converters whose instructions this robot acts on.
    pub applied_to: BTreeSet<u64>,
}

impl ProcessingRobot {
    /// The ship-from ids this robot's actions set (their existence is looked up before the
    /// rules run).
    pub fn ship_from_ids(&self) -> impl Iterator<Item = u64> + '_ {
        let actions: &[RuleAction] = match &self.kind {
            RuleKind::User(u) => &u.actions,
            RuleKind::Builtin(_) => &[],
        };
        actions.iter().filter_map(|a| match a {
            RuleAction::SetShipFrom { ship_from_id } => Some(*ship_from_id),
            _ => None,
        })
    }

    pub fn builtin(rule: BuiltinRule) -> ProcessingRobot {
        ProcessingRobot {
            id: rule.number(),
            name: rule.name().to_string(),
            description: rule.description().to_string(),
            kind: RuleKind::Builtin(rule),
            enabled: false,
            applied_to: BTreeSet::new(),
        }
    }

    pub fn builtin_rule(&self) -> Option<BuiltinRule> {
        match self.kind {
            RuleKind::Builtin(r) => Some(r),
            RuleKind::User(_) => None,
        }
    }

    /// Acts on instructions of this converter: 有効 AND 適用.
    pub fn active_for(&self, converter_id: u64) -> bool {
        self.enabled && self.applied_to.contains(&converter_id)
    }

    /// Enabled but applied nowhere: does nothing, and the UI says so.
    pub fn half_set(&self) -> bool {
        self.enabled && self.applied_to.is_empty()
    }

    pub fn label(&self) -> String {
        format!("ID:{} {}", self.id, self.name)
    }
}

/// Rules 5 and 6 must never be enabled together.
pub fn check_conflicts(robots: &[ProcessingRobot]) -> Result<(), Msg> {
    let on = |r: BuiltinRule| {
        robots
            .iter()
            .find(|x| x.enabled && x.builtin_rule() == Some(r))
    };
    if let (Some(a), Some(b)) = (
        on(BuiltinRule::FutureshopRelease),
        on(BuiltinRule::GenericRelease),
    ) {
        let (a, b) = (a.label(), b.label());
        return Err(crate::msg!(
            "処理ロボット {a} と {b} は同時に有効にできません: どちらか一方だけを有効にしてください (futureshop では 5 を使います)",
            "Processing robots {a} and {b} cannot be enabled together: enable only one of them (with futureshop, use 5)"
        ));
    }
    Ok(())
}

/// When a rule runs: at intake (a fetched order becoming an instruction) or later, applied to
/// stored instructions by the 出荷指示 処理ロボット適用 action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Intake,
    Apply,
}

/// What the rules can consult.
pub struct Env<'a> {
    pub phase: Phase,
    pub now: DateTime<FixedOffset>,
    pub known_sku: &'a dyn Fn(&str) -> bool,
    pub ship_from_exists: &'a dyn Fn(u64) -> bool,
    /// An instruction for this (shop, orderNo) already exists.
    pub already_exists: bool,
    /// futureshop says the order is paid.
    pub upstream_paid: bool,
    /// Payment types collected on or after delivery.
    pub no_prepayment: &'a [String],
}

/// An instruction on its way through the rules.
#[derive(Clone, Debug)]
pub struct Working {
    pub instr: Instruction,
    pub refused: Option<(u64, String)>,
    pub duplicate: bool,
}

impl Working {
    pub fn new(instr: Instruction) -> Working {
        Working {
            instr,
            refused: None,
            duplicate: false,
        }
    }

    fn stopped(&self) -> bool {
        self.refused.is_some() || self.duplicate
    }
}

/// Runs `robots` (already filtered and ordered) on `w`, recording each decision in the trace.
pub fn run_all(robots: &[&ProcessingRobot], w: &mut Working, env: &Env<'_>) {
    for r in robots {
        if w.stopped() {
            break;
        }
        if let Some(decision) = run_one(r, w, env) {
            w.instr.trace.push(TraceEntry {
                at: env.now,
                robot_id: r.id,
                robot_name: r.name.clone(),
                decision,
            });
        }
    }
}

/// Runs one robot. Returns what it decided, or None when it did not act.
pub fn run_one(robot: &ProcessingRobot, w: &mut Working, env: &Env<'_>) -> Option<String> {
    // Rules move instructions only between the holding queues and 出荷待ち.
    if env.phase == Phase::Apply
        && !matches!(
            w.instr.status,
            Status::AwaitingPayment | Status::Held | Status::Ready
        )
    {
        return None;
    }
    match &robot.kind {
        RuleKind::Builtin(rule) => run_builtin(*rule, robot.id, w, env),
        RuleKind::User(rule) => run_user(rule, robot.id, w, env),
    }
}

fn run_builtin(rule: BuiltinRule, id: u64, w: &mut Working, env: &Env<'_>) -> Option<String> {
    let i = &mut w.instr;
    match rule {
        BuiltinRule::RequireProductMaster => {
            let mut missing: Vec<&str> = i.skus().filter(|s| !(env.known_sku)(s)).collect();
            missing.sort_unstable();
            missing.dedup();
            if missing.is_empty() {
                return None;
            }
            let reason = format!("商品マスタ登録なし: {}", missing.join(", "));
            if env.phase == Phase::Intake {
                w.refused = Some((id, reason.clone()));
                Some(format!("取込拒否 ({reason})"))
            } else {
                Some(format!("{reason} (取込時のみ拒否: 変更なし)"))
            }
        }
        BuiltinRule::NoDuplicateOrderNo => {
            if env.phase == Phase::Intake && env.already_exists {
                w.duplicate = true;
                Some("同一注文番号の出荷指示があるため取り込まない (重複)".into())
            } else {
                None
            }
        }
        BuiltinRule::PaymentStatusCheck => {
            let pt = i.payment_type.clone().unwrap_or_default();
            let flag = if env.no_prepayment.iter().any(|p| p == &pt) {
                PaymentFlag::NotRequired
            } else if env.upstream_paid {
                PaymentFlag::Paid
            } else {
                PaymentFlag::Unpaid
            };
            let before = i.payment;
            i.payment = flag;
            if env.phase == Phase::Apply && before == flag {
                return None;
            }
            Some(format!(
                "入金フラグ: {} (支払方法 {})",
                flag.name(),
                if pt.is_empty() { "-" } else { &pt }
            ))
        }
        BuiltinRule::UnpaidToPaymentHold => {
            if i.payment == PaymentFlag::Unpaid && i.status != Status::AwaitingPayment {
                i.status = Status::AwaitingPayment;
                Some("未入金のため保留(入金確認)へ".into())
            } else {
                None
            }
        }
        BuiltinRule::FutureshopRelease => {
            if i.payment.settled() && i.hold_reasons.is_empty() && i.status != Status::Ready {
                i.status = Status::Ready;
                Some(format!(
                    "{}・保留理由なしのため出荷待ちへ",
                    i.payment.name()
                ))
            } else {
                None
            }
        }
        BuiltinRule::GenericRelease => {
            if i.hold_reasons.is_empty() && i.status != Status::Ready {
                i.status = Status::Ready;
                Some("保留理由なしのため出荷待ちへ".into())
            } else {
                None
            }
        }
        // Groups are formed across orders, after the fetch's pages are in.
        BuiltinRule::BundleCandidates => None,
    }
}

fn run_user(rule: &UserRule, id: u64, w: &mut Working, env: &Env<'_>) -> Option<String> {
    if !rule.matches(&w.instr) {
        return None;
    }
    let mut done = Vec::new();
    for a in &rule.actions {
        let i = &mut w.instr;
        match a {
            RuleAction::SetField { field, value } => {
                set_field(i, *field, value);
                done.push(a.to_string());
            }
            RuleAction::SetShipFrom { ship_from_id } => {
                if (env.ship_from_exists)(*ship_from_id) {
                    i.ship_from_id = Some(*ship_from_id);
                    done.push(a.to_string());
                } else {
                    done.push(format!("発送元 ID:{ship_from_id} は存在しないため設定せず"));
                }
            }
            RuleAction::SetDeliveryMethod { method } => {
                for d in &mut i.destinations {
                    d.delivery_method = method.clone();
                }
                done.push(a.to_string());
            }
            RuleAction::AddHoldReason { reason } => {
                i.hold_reasons.insert(reason.clone());
                done.push(a.to_string());
            }
            RuleAction::RefuseIntake { reason } => {
                if env.phase == Phase::Intake {
                    w.refused = Some((id, reason.clone()));
                    done.push(a.to_string());
                    break;
                }
                done.push(format!("{a} (取込時のみ: 変更なし)"));
            }
        }
    }
    let conds: Vec<String> = rule.conditions.iter().map(|c| c.to_string()).collect();
    Some(format!(
        "条件一致 [{}] → {}",
        if conds.is_empty() {
            "常に".to_string()
        } else {
            conds.join(if rule.match_all {
                " かつ "
            } else {
                " または "
            })
        },
        done.join("、")
    ))
}

fn set_field(i: &mut Instruction, field: super::rules::Field, value: &str) {
    use super::rules::Field;
    let opt = |v: &str| {
        if v.is_empty() {
            None
        } else {
            Some(v.to_string())
        }
    };
    match field {
        Field::Notes => i.notes = opt(value),
        Field::DeliveryMethod => {
            for d in &mut i.destinations {
                d.delivery_method = value.to_string();
            }
        }
        Field::RequestedDate => {
            for d in &mut i.destinations {
                d.requested_date = crate::time::parse_fs_date(value);
            }
        }
        Field::RequestedTime => {
            for d in &mut i.destinations {
                d.requested_time = opt(value);
            }
        }
        // validate() refuses the others when the rule is saved.
        _ => {}
    }
}

/// The status an instruction ends in after the rules: any hold reason means 保留.
pub fn settle(i: &mut Instruction) {
    if !i.hold_reasons.is_empty() && matches!(i.status, Status::Ready | Status::AwaitingPayment) {
        i.status = Status::Held;
    }
}
