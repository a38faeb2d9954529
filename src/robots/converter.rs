//! 変換ロボット: maps a futureshop order to a shipping instruction.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Address, ApiAuth, Destination, DetailState, Instruction, Item, ItemOption, PaymentFlag, Status,
    Upstream, UpstreamShipment,
};
use crate::futureshop::Order;
use crate::futureshop::models::Person;

pub const STANDARD_ID: u64 = 18025;
pub const STANDARD_NAME: &str = "出荷指示登録(futureshop API用)";
/// What a duplicate is called before the operator renames it.
pub const COPY_SUFFIX: &str = "- コピー";
/// The name the setup guide gives the copy.
pub const GUIDE_NAME: &str = "出荷指示登録(futureshop API用)- 独自";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converter {
    pub id: u64,
    pub name: String,
    /// Standard converters are read-only: they are duplicated, never edited.
    pub standard: bool,
    pub enabled: bool,
    pub copied_from: Option<u64>,
}

impl Converter {
    pub fn standard() -> Converter {
        Converter {
            id: STANDARD_ID,
            name: STANDARD_NAME.to_string(),
            standard: true,
            enabled: false,
            copied_from: None,
        }
    }

    /// A copy with a new ID, named `…- コピー`, disabled until the operator enables it.
    pub fn duplicate(&self, new_id: u64) -> Converter {
        Converter {
            id: new_id,
            name: format!("{}{}", self.name, COPY_SUFFIX),
            standard: false,
            enabled: false,
            copied_from: Some(self.id),
        }
    }

    pub fn label(&self) -> String {
        format!("ID:{} {}", self.id, self.name)
    }
}

/// Converts one order into an instruction (id 0, version 0: the store assigns both). Errors are
/// reasons for 取込エラー.
pub fn convert(
    order: &Order,
    converter: &Converter,
    auth: &ApiAuth,
    now: DateTime<FixedOffset>,
) -> Result<Instruction, String> {
    if order.shipments.is_empty() {
        return Err("変換エラー: 配送先(shipmentList)がありません".into());
    }
    let mut destinations = Vec::with_capacity(order.shipments.len());
    for s in &order.shipments {
        if s.products.is_empty() {
            return Err(format!(
                "変換エラー: 配送先 {} に商品がありません",
                s.shipment_no
            ));
        }
        if let Some(p) = s.products.iter().find(|p| p.sku_no.trim().is_empty()) {
            return Err(format!(
                "変換エラー: 品番(skuNo)のない商品があります: {}",
                p.name
            ));
        }
        let service = s.delivery_service_name.clone().unwrap_or_default();
        // futureshop says it went out already (by the shop's admin screen, another system):
        // never labelled or sent by shukka. A COMPLETED (処理済) order counts as shipped.
        let shipped = s.shipped || order.is_completed();
        let shipped_in_futureshop = shipped.then(|| UpstreamShipment {
            invoice_no: s.invoice_no.clone().unwrap_or_default(),
            shipping_date: s.shipping_date,
            seen_at: now,
        });
        destinations.push(Destination {
            shipment_no: s.shipment_no,
            address: address(&s.address),
            store_pickup: service.contains("店舗受取"),
            delivery_method: service,
            cool: s.is_cool_delivery,
            requested_date: s.preferred_delivery_date,
            requested_time: s.preferred_delivery_time.clone(),
            items: s
                .products
                .iter()
                .map(|p| Item {
                    sku_no: p.sku_no.trim().to_string(),
                    name: item_name(p),
                    count: p.count,
                    price: p.price,
                    jan_code: p.jan_code.clone().unwrap_or_default(),
                    tax_class: p.tax_rate_code.clone().unwrap_or_default(),
                    options: p
                        .options
                        .iter()
                        .map(|o| ItemOption {
                            name: o.name.clone(),
                            value: o.value.clone(),
                            price: o.price,
                        })
                        .collect(),
                })
                .collect(),
            tracking_no: s.invoice_no.clone().filter(|t| !t.is_empty()),
            upstream_accepted: shipped,
            instructions: s.instructions.clone().filter(|t| !t.trim().is_empty()),
            gift_label: s
                .gift_wrapping_label
                .clone()
                .filter(|t| !t.trim().is_empty()),
            gift_charge: s.gift_wrapping_charge,
            shipped_in_futureshop,
            delivery: None,
            label: None,
        });
    }
    Ok(Instruction {
        id: 0,
        version: 0,
        auth_id: auth.id,
        order_no: order.order_no.clone(),
        converter_id: converter.id,
        ship_from_id: auth.ship_from_id,
        order_date: order.date,
        order_type: order.order_type.as_ref().map(|t| t.as_str().to_string()),
        buyer: address(&order.buyer),
        buyer_mail: order.buyer.mail.clone(),
        destinations,
        payment_type: order.payment_type.as_ref().map(|p| p.as_str().to_string()),
        amounts: order.amounts.clone(),
        // Until rule 3 says otherwise, nothing is known to be paid.
        payment: PaymentFlag::Unpaid,
        status: Status::Ready,
        hold_reasons: BTreeSet::new(),
        notes: order.communication.clone().filter(|t| !t.trim().is_empty()),
        shop_memo: order.shop_memo.clone().filter(|t| !t.trim().is_empty()),
        detail: if order.shape == crate::futureshop::models::OrderShape::Detail {
            DetailState::Fetched
        } else {
            DetailState::NotRequested
        },
        tracking: None,
        upstream: Upstream::Idle,
        cancelled_after_shipment: false,
        late_cancel_ack: None,
        bundle: None,
        bundle_never: Default::default(),
        upstream_status: order.status.as_ref().map(|s| s.as_str().to_string()),
        trace: Vec::new(),
        created_at: now,
        updated_at: now,
        updated_by: converter.label(),
        intake: None,
        raw: order.raw.clone(),
    })
}

fn address(p: &Person) -> Address {
    Address {
        name: p.full_name(),
        name_kana: [p.last_name_kana.as_str(), p.first_name_kana.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        postal_code: p.postal_code.clone(),
        prefecture: p.prefecture.clone(),
        address: p.address(),
        phone: p.phone.clone(),
    }
}

fn item_name(p: &crate::futureshop::LineItem) -> String {
    let variations: Vec<&str> = [&p.vertical_variation_name, &p.horizontal_variation_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if variations.is_empty() {
        p.name.clone()
    } else {
        format!("{} ({})", p.name, variations.join("/"))
    }
}
