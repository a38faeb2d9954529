//! What futureshop says about an order shukka already has: paid, cancelled, shipped. ステータス
//! 同期 applies all of it; 出荷実績連携 checks the shipped state just before it sends, so that a
//! shipment futureshop already reports shipped is never sent again.

use chrono::{DateTime, FixedOffset};

use crate::domain::*;
use crate::futureshop::Order;

/// What changed, as lines for the history (empty: nothing an operator needs to know).
#[derive(Debug, Default)]
pub struct Reconciled {
    pub notes: Vec<String>,
    /// The instruction moved to 出荷済み because futureshop shipped it (shipped outside shukka).
    pub shipped_outside: bool,
}

/// Payment, cancellation and shipping state from `o` onto `i`.
pub fn reconcile(i: &mut Instruction, o: &Order, now: DateTime<FixedOffset>) -> Reconciled {
    let mut out = Reconciled::default();
    if o.is_paid() && i.payment == PaymentFlag::Unpaid {
        i.payment = PaymentFlag::Paid;
        out.notes
            .push("入金確認: futureshop で入金済みになりました".to_string());
    }
    if o.is_cancelled() && i.status != Status::Cancelled {
        match i.status {
            Status::InProgress | Status::Shipped => {
                if !i.cancelled_after_shipment {
                    i.cancelled_after_shipment = true;
                    out.notes.push(format!(
                        "出荷後キャンセル: futureshop でキャンセルされましたが {} のため移動しません",
                        i.status
                    ));
                }
            }
            _ => {
                i.status = Status::Cancelled;
                out.notes
                    .push("futureshop でキャンセルされました".to_string());
            }
        }
        return out;
    }
    let shipped = reconcile_shipping(i, o, now);
    out.notes.extend(shipped.notes);
    out.shipped_outside = shipped.shipped_outside;
    out
}

/// The shipments futureshop reports shipped (or all of them, for a COMPLETED order) that shukka
/// did not send: marked, never sent; when none is left to ship, an open instruction becomes
/// 出荷済み, flagged as shipped outside shukka.
pub fn reconcile_shipping(
    i: &mut Instruction,
    o: &Order,
    now: DateTime<FixedOffset>,
) -> Reconciled {
    let mut out = Reconciled::default();
    let all = o.is_completed();
    let mut newly = Vec::new();
    for s in &o.shipments {
        if !(s.shipped || all) {
            continue;
        }
        let Some(d) = i
            .destinations
            .iter_mut()
            .find(|d| d.shipment_no == s.shipment_no)
        else {
            continue;
        };
        // Shipped by shukka's own upload, or already known: nothing new.
        if d.upstream_accepted || d.shipped_in_futureshop.is_some() {
            continue;
        }
        let invoice = s.invoice_no.clone().unwrap_or_default();
        d.shipped_in_futureshop = Some(UpstreamShipment {
            invoice_no: invoice.clone(),
            shipping_date: s.shipping_date,
            seen_at: now,
        });
        // Never sent: futureshop has its own data for this shipment.
        d.upstream_accepted = true;
        newly.push(if invoice.is_empty() {
            format!("配送先 {}", s.shipment_no)
        } else {
            format!("配送先 {} (送り状番号 {invoice})", s.shipment_no)
        });
    }
    if newly.is_empty() {
        return out;
    }
    let what = newly.join(", ");
    let every_one = i.destinations.iter().all(|d| !d.is_open());
    match i.status {
        Status::AwaitingPayment | Status::Held | Status::Ready | Status::InProgress
            if every_one =>
        {
            super::pipeline::mark_shipped_outside(i, now);
            out.shipped_outside = true;
            out.notes.push(format!(
                "futureshop で出荷済み (shukka 以外で出荷): {what}: 出荷実績連携では送信しません"
            ));
        }
        Status::Shipped => {
            if i.destinations.iter().all(|d| d.upstream_accepted) && i.upstream.needs_sending() {
                i.upstream = Upstream::External { at: now };
            }
            out.notes.push(format!(
                "futureshop で既に出荷済み: {what}: 出荷実績連携では送信しません (futureshop の送り状番号を上書きしません)"
            ));
        }
        Status::Cancelled => out.notes.push(format!(
            "キャンセル済みの出荷指示が futureshop で出荷済みになりました: {what}"
        )),
        _ => out.notes.push(format!(
            "futureshop で一部出荷済み (shukka 以外で出荷): {what}: 残りの配送先だけを出荷します"
        )),
    }
    out
}
