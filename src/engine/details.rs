//! The order detail (受注取得API) of every new order: only it carries the customer's note,
//! the delivery instructions, gift labels and product options. One request per new order,
//! paced like every other request; orders already stored are never read again. A detail that
//! cannot be read does not lose the order: it is taken in from the list, held as 詳細未取得,
//! and read again on the next fetch.

use super::pipeline::{DetailErrors, IntakeSetup};
use super::{Engine, Result, audit_entry, instruction_target, now};
use crate::domain::*;
use crate::futureshop::{Client, Order};
use crate::robots::processing::{self, Env, Phase, Working};

/// At most this many 詳細未取得 instructions are read again per fetch run.
const RETRY_PER_RUN: usize = 100;

/// What reading details cost and found.
#[derive(Debug, Default)]
pub struct DetailCount {
    pub requests: u64,
    pub failed: u64,
}

impl Engine {
    /// The page's new orders with their details (the list shape for orders already stored,
    /// and when the API認証設定 switches details off). `None` when a stop was requested.
    pub(crate) async fn with_details(
        &self,
        client: &Client,
        setup: &IntakeSetup,
        orders: Vec<Order>,
        count: &mut DetailCount,
    ) -> Option<(Vec<Order>, DetailErrors)> {
        let mut missing = DetailErrors::new();
        if !setup.auth.fetch_details {
            return Some((orders, missing));
        }
        let store = self.store();
        let mut out = Vec::with_capacity(orders.len());
        for o in orders {
            let known = store
                .instruction_id(setup.auth.id, &o.order_no)
                .ok()
                .flatten()
                .is_some();
            if known {
                out.push(o);
                continue;
            }
            if self.stop_requested() {
                return None;
            }
            count.requests += 1;
            match client.get_order(&o.order_no).await {
                Ok(detail) => out.push(detail),
                Err(e) => {
                    count.failed += 1;
                    tracing::warn!(order = %o.order_no, error = %e, "order detail not read");
                    missing.insert(o.order_no.clone(), e.to_string());
                    out.push(o);
                }
            }
        }
        Some((out, missing))
    }

    /// Reads again the details that could not be read before. A detail that arrives fills in
    /// what the list lacked, lifts the 詳細未取得 hold, and the converter's processing robots
    /// run on the instruction again (a rule on 備考 sees the note now).
    pub(crate) async fn retry_missing_details(
        &self,
        client: &Client,
        setup: &IntakeSetup,
        count: &mut DetailCount,
    ) -> Result<()> {
        let store = self.store();
        let pending = store.detail_pending(setup.auth.id)?;
        for id in pending.into_iter().take(RETRY_PER_RUN) {
            if self.stop_requested() {
                return Ok(());
            }
            let Some(i) = store.instruction(id)? else {
                continue;
            };
            count.requests += 1;
            let fetched = client.get_order(&i.order_no).await;
            let actor = Actor::Robot {
                id: setup.converter.id,
                name: setup.converter.name.clone(),
            };
            store.write(|t| {
                let Some(mut i) = t.instruction(id)? else {
                    return Ok::<(), crate::store::StoreError>(());
                };
                let version = i.version;
                let from = i.status;
                match &fetched {
                    Err(e) => {
                        count.failed += 1;
                        if let DetailState::Missing { attempts, error } = &mut i.detail {
                            *attempts += 1;
                            *error = e.to_string();
                        }
                        t.update_instruction(version, i)?;
                    }
                    Ok(order) => {
                        fill_in(&mut i, order);
                        i.detail = DetailState::Fetched;
                        i.hold_reasons.remove(DETAIL_MISSING);
                        let decisions = rerun_robots(t, setup, &mut i, order)?;
                        i.updated_at = now();
                        i.updated_by = actor.to_string();
                        t.mark_detail_pending(&i, false);
                        let to = i.status;
                        let stored = t.update_instruction(version, i)?;
                        let mut reason =
                            vec!["受注詳細を取得しました (詳細未取得を解除)".to_string()];
                        reason.extend(decisions);
                        t.audit(audit_entry(
                            &actor,
                            instruction_target(&stored),
                            "詳細取得",
                            Some(from),
                            Some(to),
                            reason.join(" / "),
                        ))?;
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// What only the detail carries, copied onto an instruction taken in from the list.
fn fill_in(i: &mut Instruction, o: &Order) {
    i.notes = o.communication.clone().filter(|t| !t.trim().is_empty());
    i.shop_memo = o.shop_memo.clone().filter(|t| !t.trim().is_empty());
    for s in &o.shipments {
        let Some(d) = i
            .destinations
            .iter_mut()
            .find(|d| d.shipment_no == s.shipment_no)
        else {
            continue;
        };
        d.instructions = s.instructions.clone().filter(|t| !t.trim().is_empty());
        d.gift_label = s
            .gift_wrapping_label
            .clone()
            .filter(|t| !t.trim().is_empty());
        d.gift_charge = s.gift_wrapping_charge;
        for item in &mut d.items {
            if let Some(p) = s.products.iter().find(|p| p.sku_no.trim() == item.sku_no) {
                item.jan_code = p.jan_code.clone().unwrap_or_default();
                item.tax_class = p.tax_rate_code.clone().unwrap_or_default();
                item.options = p
                    .options
                    .iter()
                    .map(|o| ItemOption {
                        name: o.name.clone(),
                        value: o.value.clone(),
                        price: o.price,
                    })
                    .collect();
            }
        }
    }
    i.raw = o.raw.clone();
}

/// The converter's processing robots on an instruction whose detail just arrived, as 処理ロボット
/// 適用 runs them. Returns their decisions (also added to the rule trace).
fn rerun_robots(
    t: &mut crate::store::Txn<'_>,
    setup: &IntakeSetup,
    i: &mut Instruction,
    order: &Order,
) -> crate::store::Result<Vec<String>> {
    let looked_up = super::pipeline::Lookups::read(t, i, &setup.robots)?;
    let mut w = Working::new(i.clone());
    let at = now();
    let mut decisions = Vec::new();
    {
        let known = |sku: &str| looked_up.known_sku(sku);
        let ship_from = |id: u64| looked_up.ship_from(id);
        let env = Env {
            phase: Phase::Apply,
            now: at,
            known_sku: &known,
            ship_from_exists: &ship_from,
            already_exists: true,
            upstream_paid: order.is_paid() || w.instr.payment == PaymentFlag::Paid,
            no_prepayment: &setup.no_prepayment,
        };
        for r in &setup.robots {
            if let Some(d) = processing::run_one(r, &mut w, &env) {
                w.instr.trace.push(TraceEntry {
                    at,
                    robot_id: r.id,
                    robot_name: r.name.clone(),
                    decision: d.clone(),
                });
                decisions.push(format!("ID:{} {d}", r.id));
            }
        }
    }
    *i = w.instr;
    decisions.extend(super::labels::decide_delivery(
        &setup.labels,
        i,
        at,
        (setup.converter.id, &setup.converter.name),
    ));
    processing::settle(i);
    Ok(decisions)
}
