//! Intake: fetched orders → converter → processing robots (enabled AND applied, in order) →
//! triage → one atomic commit per page.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};

use super::{EngineError, Result, audit_entry, no_such};
use crate::domain::*;
use crate::futureshop::{Order, Unreadable};
use crate::msg;
use crate::robots::converter::{self, Converter};
use crate::robots::processing::{self, Env, Phase, ProcessingRobot, Working};
use crate::store::{Store, Txn};

/// Everything intake needs, loaded once per run.
pub struct IntakeSetup {
    pub auth: ApiAuth,
    pub converter: Converter,
    /// Active for this converter, in the configured order.
    pub robots: Vec<ProcessingRobot>,
    pub no_prepayment: Vec<String>,
    /// 配送方法の判定 (none configured: nothing is decided at intake).
    pub labels: crate::labels::LabelSettings,
}

impl IntakeSetup {
    pub fn load(store: &Store, auth_id: u64, converter_id: u64) -> Result<IntakeSetup> {
        let auth = store
            .auth(auth_id)?
            .ok_or_else(|| EngineError::Setup(no_such("API認証設定", "API認証設定", auth_id)))?;
        let converter = store.converter(converter_id)?.ok_or_else(|| {
            EngineError::Setup(no_such("変換ロボット", "converter robot", converter_id))
        })?;
        if !converter.enabled {
            let c = converter.label();
            return Err(EngineError::Setup(msg!(
                "変換ロボット {c} が有効ではありません: 取込口として使うには有効にしてください",
                "Converter robot {c} is not enabled: enable it to take orders in through it"
            )));
        }
        let robots = store
            .processing_robots()?
            .into_iter()
            .filter(|r| r.active_for(converter.id))
            .collect();
        Ok(IntakeSetup {
            auth,
            converter,
            robots,
            no_prepayment: store.no_prepayment()?,
            labels: store.config(super::labels::CFG_LABELS)?.unwrap_or_default(),
        })
    }

    fn actor(&self) -> Actor {
        Actor::Robot {
            id: self.converter.id,
            name: self.converter.name.clone(),
        }
    }
}

/// What one page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub created: u64,
    pub refused: u64,
    /// Orders that already had an instruction (re-delivery, the 差分 overlap).
    pub skipped: u64,
    pub by_status: BTreeMap<Status, u64>,
}

enum One {
    Created(Status),
    Refused,
    Skipped,
}

/// Orders whose detail (受注取得API) could not be read, by orderNo, with why.
pub type DetailErrors = std::collections::HashMap<String, String>;

/// Converts, triages and commits one page, together with whatever `also` writes (the cursor
/// and the run-log line), in one atomic batch. An order in `missing_details` is taken in from
/// the list, held as 詳細未取得 and read again later.
pub fn ingest_page(
    store: &Store,
    setup: &IntakeSetup,
    orders: &[Order],
    unreadable: &[Unreadable],
    missing_details: &DetailErrors,
    also: impl FnOnce(&mut Txn<'_>, &PageOutcome) -> crate::store::Result<()>,
) -> Result<PageOutcome> {
    let now = super::now();
    store
        .write(|t| {
            let mut out = PageOutcome::default();
            for o in orders {
                let missing = missing_details.get(&o.order_no).map(String::as_str);
                match ingest_one(t, setup, o, missing, now)? {
                    One::Created(st) => {
                        out.created += 1;
                        *out.by_status.entry(st).or_default() += 1;
                    }
                    One::Refused => out.refused += 1,
                    One::Skipped => out.skipped += 1,
                }
            }
            for u in unreadable {
                unreadable_error(t, setup, u, now)?;
                out.refused += 1;
            }
            if out.created > 0 {
                let mut by: Vec<String> = out
                    .by_status
                    .iter()
                    .map(|(st, n)| format!("{st} {n}"))
                    .collect();
                if out.refused > 0 {
                    by.push(format!("取込エラー {}", out.refused));
                }
                t.audit(audit_entry(
                    &setup.actor(),
                    Target::Orders { count: out.created },
                    "取込",
                    None,
                    None,
                    by.join(", "),
                ))?;
            }
            also(t, &out)?;
            Ok::<_, crate::store::StoreError>(out)
        })
        .map_err(EngineError::from)
}

fn ingest_one(
    t: &mut Txn<'_>,
    setup: &IntakeSetup,
    order: &Order,
    missing_detail: Option<&str>,
    now: DateTime<FixedOffset>,
) -> crate::store::Result<One> {
    let auth_id = setup.auth.id;
    if t.instruction_id(auth_id, &order.order_no)?.is_some() {
        return Ok(One::Skipped);
    }
    let previous_error = t.intake_error_id(auth_id, &order.order_no)?;
    let mut instr = match converter::convert(order, &setup.converter, &setup.auth, now) {
        Ok(i) => i,
        Err(reason) => {
            refuse(t, setup, order, None, reason, now)?;
            return Ok(One::Refused);
        }
    };
    // Archived long ago (出荷済み or キャンセル): futureshop may send an old order again when
    // it is edited, and it must never come back as new work.
    if t.archived(auth_id, &instr.order_no, instr.order_date)? {
        tracing::debug!(order_no = %instr.order_no, "archived already: not taken in again");
        return Ok(One::Skipped);
    }
    if let Some(error) = missing_detail {
        // Without its detail the customer's notes are unknown: held until they are read.
        instr.detail = DetailState::Missing {
            attempts: 1,
            error: error.to_string(),
        };
        instr.hold_reasons.insert(DETAIL_MISSING.to_string());
        instr.trace.push(TraceEntry {
            at: now,
            robot_id: setup.converter.id,
            robot_name: setup.converter.name.clone(),
            decision: format!("{DETAIL_MISSING}: 受注詳細を取得できませんでした ({error}): 次回の取得で再試行します"),
        });
    }
    let looked_up = Lookups::read(t, &instr, &setup.robots)?;
    let mut w = Working::new(instr);
    {
        let known = |sku: &str| looked_up.known_sku(sku);
        let ship_from = |id: u64| looked_up.ship_from(id);
        let env = Env {
            phase: Phase::Intake,
            now,
            known_sku: &known,
            ship_from_exists: &ship_from,
            already_exists: false,
            upstream_paid: order.is_paid(),
            no_prepayment: &setup.no_prepayment,
        };
        let robots: Vec<&ProcessingRobot> = setup.robots.iter().collect();
        processing::run_all(&robots, &mut w, &env);
    }
    if let Some((robot_id, reason)) = w.refused.take() {
        refuse(t, setup, order, Some(robot_id), reason, now)?;
        return Ok(One::Refused);
    }
    if w.duplicate {
        return Ok(One::Skipped);
    }
    let mut instr = w.instr;
    super::labels::decide_delivery(
        &setup.labels,
        &mut instr,
        now,
        (setup.converter.id, &setup.converter.name),
    );
    processing::settle(&mut instr);
    if order.is_cancelled() {
        instr.status = Status::Cancelled;
        instr.trace.push(TraceEntry {
            at: now,
            robot_id: setup.converter.id,
            robot_name: setup.converter.name.clone(),
            decision: "futureshop でキャンセル済みのためキャンセル".into(),
        });
    } else if order.fully_shipped() {
        // Shipped in futureshop before shukka saw it: never a queue that leads to shipping.
        mark_shipped_outside(&mut instr, now);
        instr.trace.push(TraceEntry {
            at: now,
            robot_id: setup.converter.id,
            robot_name: setup.converter.name.clone(),
            decision: format!(
                "futureshop で出荷済みのため出荷済み (shukka 以外で出荷{})",
                invoices(&instr)
            ),
        });
    }

    let reason = if instr.trace.is_empty() {
        "適用された処理ロボットなし".to_string()
    } else {
        instr
            .trace
            .iter()
            .map(|e| format!("ID:{} {}", e.robot_id, e.decision))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let status = instr.status;
    // The intake is the first line of the instruction's history; the audit log gets one line
    // per page (see ingest_page).
    instr.intake = Some(IntakeRecord {
        status,
        actor: setup.actor(),
        reason,
    });
    let stored = t.insert_instruction(instr)?;
    if stored.detail.is_missing() {
        t.mark_detail_pending(&stored, true);
    }
    if let Some(id) = previous_error
        && let Some(e) = t.intake_error(id)?
    {
        t.delete_intake_error(&e)?;
        t.audit(audit_entry(
            &setup.actor(),
            Target::IntakeError {
                id: e.id,
                order_no: e.order_no.clone(),
            },
            "取込エラー解消",
            None,
            Some(status),
            format!("再取得で取り込み (以前の理由: {})", e.reason),
        ))?;
    }
    Ok(One::Created(status))
}

/// Every destination is shipped in futureshop: the instruction is 出荷済み, with futureshop's
/// invoice numbers and date, and nothing to send.
/// What the rules consult, read before they run. A read error stops the intake with that
/// error — never "SKU not in the product master" for a SKU that could not be read.
pub(crate) struct Lookups {
    known: BTreeSet<String>,
    ship_froms: BTreeSet<u64>,
}

impl Lookups {
    pub(crate) fn read<'r>(
        t: &Txn<'_>,
        i: &Instruction,
        robots: impl IntoIterator<Item = &'r ProcessingRobot>,
    ) -> crate::store::Result<Lookups> {
        let mut known = BTreeSet::new();
        for sku in i.skus() {
            if !known.contains(sku) && t.has_product(sku)? {
                known.insert(sku.to_string());
            }
        }
        let mut ship_froms = BTreeSet::new();
        for r in robots {
            for id in r.ship_from_ids() {
                if !ship_froms.contains(&id) && t.ship_from_exists(id)? {
                    ship_froms.insert(id);
                }
            }
        }
        Ok(Lookups { known, ship_froms })
    }

    pub(crate) fn known_sku(&self, sku: &str) -> bool {
        self.known.contains(sku)
    }

    pub(crate) fn ship_from(&self, id: u64) -> bool {
        self.ship_froms.contains(&id)
    }
}

pub(crate) fn mark_shipped_outside(i: &mut Instruction, now: DateTime<FixedOffset>) {
    let date = i
        .destinations
        .iter()
        .filter_map(|d| {
            d.shipped_in_futureshop
                .as_ref()
                .and_then(|u| u.shipping_date)
        })
        .max()
        .unwrap_or_else(|| now.date_naive());
    for d in &mut i.destinations {
        d.upstream_accepted = true;
        if let Some(u) = &d.shipped_in_futureshop
            && !u.invoice_no.is_empty()
        {
            d.tracking_no = Some(u.invoice_no.clone());
        }
    }
    i.hold_reasons.clear();
    i.status = Status::Shipped;
    i.tracking = Some(Tracking {
        carrier: None,
        ship_date: date,
        expected_arrival: None,
    });
    i.upstream = Upstream::External { at: now };
}

/// "、送り状番号 X, Y" for the audit line, when futureshop gave any.
pub(crate) fn invoices(i: &Instruction) -> String {
    let nos: Vec<&str> = i
        .destinations
        .iter()
        .filter_map(|d| d.shipped_in_futureshop.as_ref())
        .map(|u| u.invoice_no.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    if nos.is_empty() {
        String::new()
    } else {
        format!("、送り状番号 {}", nos.join(", "))
    }
}

fn refuse(
    t: &mut Txn<'_>,
    setup: &IntakeSetup,
    order: &Order,
    robot_id: Option<u64>,
    reason: String,
    now: DateTime<FixedOffset>,
) -> crate::store::Result<()> {
    let e = t.put_intake_error(IntakeError {
        id: 0,
        auth_id: setup.auth.id,
        order_no: order.order_no.clone(),
        converter_id: setup.converter.id,
        reason: reason.clone(),
        robot_id,
        order_date: order.date,
        first_seen: now,
        last_seen: now,
        attempts: 1,
        raw: order.raw.clone(),
    })?;
    if e.attempts == 1 {
        t.alert(crate::notify::Alert::new(
            crate::notify::AlertKind::IntakeError,
            format!(
                "取込エラー 受注 {}: {reason} — 原因を直して「出荷指示 → 取込エラー」で R (再取込)",
                e.order_no
            ),
            format!(
                "Intake error, order {}: {reason} — fix the cause, then R on 出荷指示 → 取込エラー",
                e.order_no
            ),
            vec![e.order_no.clone()],
        ))?;
        t.audit(audit_entry(
            &setup.actor(),
            Target::IntakeError {
                id: e.id,
                order_no: e.order_no.clone(),
            },
            "取込拒否",
            None,
            None,
            reason,
        ))?;
    }
    Ok(())
}

fn unreadable_error(
    t: &mut Txn<'_>,
    setup: &IntakeSetup,
    u: &Unreadable,
    now: DateTime<FixedOffset>,
) -> crate::store::Result<()> {
    // Keyed by its orderNo when it has one, else by a digest of its content, so that the same
    // broken order fetched again is one error, not many.
    let order_no = u
        .raw
        .get("orderNo")
        .and_then(|v| crate::futureshop::lenient::value_to_opt_string(Some(v)))
        .unwrap_or_else(|| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            u.raw.to_string().hash(&mut h);
            format!("(不明:{:08x})", h.finish() as u32)
        });
    let e = t.put_intake_error(IntakeError {
        id: 0,
        auth_id: setup.auth.id,
        order_no,
        converter_id: setup.converter.id,
        reason: format!("変換エラー: 注文を読み取れません ({})", u.reason),
        robot_id: None,
        order_date: None,
        first_seen: now,
        last_seen: now,
        attempts: 1,
        raw: RawJson::from_value(&u.raw),
    })?;
    if e.attempts == 1 {
        t.audit(audit_entry(
            &setup.actor(),
            Target::IntakeError {
                id: e.id,
                order_no: e.order_no.clone(),
            },
            "取込拒否",
            None,
            None,
            e.reason.clone(),
        ))?;
    }
    Ok(())
}
