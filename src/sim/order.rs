//! Simulated orders: generation from a seed, the shop-side state machine, and the two JSON
//! shapes futureshop serves (list shape for the search API, detail shape for the order API).

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use rand::Rng;
use serde_json::{Value, json};

use super::catalog::SimProduct;
use super::people::{SimPerson, person};
use crate::time::{FS_DATE, fmt_fs};

#[derive(Clone, Debug)]
pub struct SimOrder {
    pub order_no: String,
    pub order_type: String,
    pub date: NaiveDateTime,
    pub status: String,
    pub payment_type: String,
    pub receipt_date: Option<NaiveDate>,
    pub buyer: SimPerson,
    pub shipments: Vec<SimShipment>,
    pub used_point_price: i64,
    pub payment_charge: i64,
    pub communication: String,
    pub shop_memo: String,
    pub date_last_updated: NaiveDateTime,
    pub date_processed: Option<NaiveDateTime>,
    /// When a still-unpaid prepaid order will be paid by the simulated customer.
    pub pay_at: Option<NaiveDateTime>,
    /// When the simulated shop will cancel it.
    pub cancel_at: Option<NaiveDateTime>,
    /// Extra top-level fields set through the control API (e.g. hostile strings in tests).
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Clone, Debug)]
pub struct SimShipment {
    pub shipment_no: i64,
    pub address: SimPerson,
    pub delivery_service_name: String,
    pub store_pickup: bool,
    pub cool: bool,
    pub invoice_no: String,
    pub expected_arrival: Option<NaiveDate>,
    pub preferred_delivery_date: Option<NaiveDate>,
    pub preferred_delivery_time: String,
    pub shipping_date: Option<NaiveDate>,
    pub instructions: String,
    pub items: Vec<SimItem>,
    pub postage: i64,
}

#[derive(Clone, Debug)]
pub struct SimItem {
    pub product_no: String,
    pub sku_no: String,
    pub jan_code: String,
    pub name: String,
    pub vertical_name: String,
    pub horizontal_name: String,
    pub price: i64,
    pub count: i64,
    pub preorder: bool,
}

impl SimShipment {
    pub fn shipped(&self) -> bool {
        self.shipping_date.is_some()
    }
    pub fn product_total(&self) -> i64 {
        self.items.iter().map(|i| i.price * i.count).sum()
    }
}

/// How a generated order behaves over time.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// Typical delay between an order and its payment, for prepaid types.
    pub payment_delay: Duration,
    /// Share of orders with an SKU that is not in the catalogue (discontinued product).
    pub unknown_sku_rate: f64,
    pub store_pickup_rate: f64,
    pub cancel_rate: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            payment_delay: Duration::hours(6),
            unknown_sku_rate: 0.003,
            store_pickup_rate: 0.02,
            cancel_rate: 0.03,
        }
    }
}

/// Payment types and their share. `AMAZON_PAY`, `PAYPAY` and `ATODENE` are plausible tokens
/// that this client does not know by name: they exercise the unknown-value path.
const PAYMENTS: &[(&str, u32)] = &[
    ("FREGI_CREDIT_CARD", 40),
    ("COD", 20),
    ("BANK_TRANSFER", 14),
    ("FREGI_CONVENI", 8),
    ("POSTAL_TRANSFER", 2),
    ("AMAZON_PAY", 7),
    ("PAYPAY", 5),
    ("ATODENE", 4),
];

/// Prepaid types: the customer pays after ordering, the shop waits for it.
pub fn is_prepaid(payment_type: &str) -> bool {
    matches!(
        payment_type,
        "BANK_TRANSFER" | "FREGI_CONVENI" | "POSTAL_TRANSFER"
    )
}

/// Paid at checkout (card, wallets).
fn is_paid_at_checkout(payment_type: &str) -> bool {
    matches!(payment_type, "FREGI_CREDIT_CARD" | "AMAZON_PAY" | "PAYPAY")
}

const NOTES: &[&str] = &[
    "ギフト包装をお願いします",
    "不在の場合は宅配ボックスへお願いします",
    "のし紙（御歳暮）をお願いします",
    "領収書を同封してください",
    "置き配希望",
    "急ぎです。できるだけ早く発送してください",
];

const TIME_SLOTS: &[&str] = &[
    "午前中",
    "14時～16時",
    "16時～18時",
    "18時～20時",
    "19時～21時",
];

pub fn order_no(seq: u64) -> String {
    format!("1000{seq:08}")
}

/// A random order time in `[from, to)`, weighted towards evenings as real shops see.
pub fn order_time<R: Rng>(rng: &mut R, from: NaiveDateTime, to: NaiveDateTime) -> NaiveDateTime {
    let span = (to - from).num_seconds().max(1);
    for _ in 0..8 {
        let t = from + Duration::seconds(rng.gen_range(0..span));
        let weight = match t.hour() {
            0..=5 => 0.25,
            6..=11 => 0.6,
            12..=18 => 0.8,
            _ => 1.0,
        };
        if rng.gen_bool(weight) {
            return t;
        }
    }
    from + Duration::seconds(rng.gen_range(0..span))
}

pub struct OrderSpec<'a> {
    pub seq: u64,
    pub date: NaiveDateTime,
    pub now: NaiveDateTime,
    pub catalog: &'a [SimProduct],
    pub behaviour: Behaviour,
}

/// Generates one realistic order. Its payment and cancellation fate is decided now; events
/// already in the past (relative to `now`) are applied at once.
pub fn generate<R: Rng>(rng: &mut R, spec: OrderSpec<'_>) -> SimOrder {
    let payment_type = weighted(rng, PAYMENTS).to_string();
    let buyer = person(rng);
    let n_shipments = if rng.gen_bool(0.07) { 2 } else { 1 };
    let mut shipments = Vec::new();
    let mut any_preorder = false;
    for n in 1..=n_shipments {
        let address = if n == 1 && rng.gen_bool(0.85) {
            buyer.clone()
        } else {
            person(rng)
        };
        let mut items = Vec::new();
        let max_lines = if rng.gen_bool(0.2) { 4 } else { 2 };
        for _ in 0..rng.gen_range(1..=max_lines) {
            let p = &spec.catalog[rng.gen_range(0..spec.catalog.len())];
            let sku = &p.skus[rng.gen_range(0..p.skus.len())];
            if items.iter().any(|i: &SimItem| i.sku_no == sku.sku_no) {
                continue;
            }
            let preorder = p.preorder_enabled && rng.gen_bool(0.3);
            any_preorder |= preorder;
            items.push(SimItem {
                product_no: p.product_no.clone(),
                sku_no: sku.sku_no.clone(),
                jan_code: sku.jan_code.clone(),
                name: p.name.clone(),
                vertical_name: sku.vertical_name.clone(),
                horizontal_name: sku.horizontal_name.clone(),
                price: p.unit_price,
                count: if rng.gen_bool(0.8) {
                    1
                } else {
                    rng.gen_range(2..=3)
                },
                preorder,
            });
        }
        if rng.gen_bool(spec.behaviour.unknown_sku_rate) {
            items.push(SimItem {
                product_no: "OLD-900".into(),
                sku_no: format!("OLD-900-{:02}", rng.gen_range(1..20)),
                jan_code: String::new(),
                name: "旧商品 廃番".into(),
                vertical_name: String::new(),
                horizontal_name: String::new(),
                price: 1500,
                count: 1,
                preorder: false,
            });
        }
        let cool = items.iter().any(|i| {
            spec.catalog
                .iter()
                .any(|p| p.cool && p.product_no == i.product_no)
        });
        let store_pickup = rng.gen_bool(spec.behaviour.store_pickup_rate);
        let subtotal: i64 = items.iter().map(|i| i.price * i.count).sum();
        let remote = matches!(address.prefecture.as_str(), "HOKKAIDO" | "OKINAWA");
        let postage = if store_pickup || subtotal >= 5500 {
            0
        } else if remote {
            1320
        } else {
            660
        };
        let preferred_delivery_date = rng
            .gen_bool(0.2)
            .then(|| (spec.date + Duration::days(rng.gen_range(3..=8))).date());
        shipments.push(SimShipment {
            shipment_no: n as i64,
            address,
            delivery_service_name: if store_pickup {
                "店舗受取".into()
            } else if cool {
                "クール便".into()
            } else if subtotal < 1500 && rng.gen_bool(0.5) {
                "メール便".into()
            } else {
                "宅配便".into()
            },
            store_pickup,
            cool,
            invoice_no: String::new(),
            expected_arrival: None,
            preferred_delivery_date,
            preferred_delivery_time: if rng.gen_bool(0.3) {
                TIME_SLOTS[rng.gen_range(0..TIME_SLOTS.len())].into()
            } else {
                String::new()
            },
            shipping_date: None,
            instructions: String::new(),
            items,
            postage,
        });
    }
    let mut o = SimOrder {
        order_no: order_no(spec.seq),
        order_type: if any_preorder {
            "PREORDER"
        } else if rng.gen_bool(0.05) {
            "SUBSCRIPTION"
        } else {
            "REGULAR"
        }
        .into(),
        date: spec.date,
        status: "AWAITING_PAYMENT".into(),
        payment_charge: if payment_type == "COD" { 330 } else { 0 },
        payment_type,
        receipt_date: None,
        buyer,
        shipments,
        used_point_price: if rng.gen_bool(0.15) {
            rng.gen_range(1..=5) * 100
        } else {
            0
        },
        communication: if rng.gen_bool(0.12) {
            NOTES[rng.gen_range(0..NOTES.len())].into()
        } else {
            String::new()
        },
        shop_memo: String::new(),
        date_last_updated: spec.date,
        date_processed: None,
        pay_at: None,
        cancel_at: None,
        extra: serde_json::Map::new(),
    };
    // Fate: paid at checkout, paid later, never paid (COD, post-pay, abandoned), cancelled.
    if is_paid_at_checkout(&o.payment_type) {
        o.receipt_date = Some(o.date.date());
    } else if is_prepaid(&o.payment_type) {
        if rng.gen_bool(0.85) {
            let secs = spec.behaviour.payment_delay.num_seconds().max(1);
            o.pay_at =
                Some(o.date + Duration::seconds(rng.gen_range(secs / 5..=secs + secs / 2).max(1)));
        } else {
            o.cancel_at = Some(o.date + spec.behaviour.payment_delay * 3);
        }
    }
    if o.cancel_at.is_none() && rng.gen_bool(spec.behaviour.cancel_rate) {
        o.cancel_at = Some(o.date + Duration::minutes(rng.gen_range(5..=600)));
    }
    advance(&mut o, spec.now);
    o
}

/// Applies every scheduled event due at `now`. Returns true when the order changed.
pub fn advance(o: &mut SimOrder, now: NaiveDateTime) -> bool {
    let mut changed = false;
    if let Some(at) = o.pay_at
        && at <= now
        && o.status != "CANCELLED"
    {
        o.receipt_date = Some(at.date());
        o.pay_at = None;
        o.date_last_updated = at;
        changed = true;
    }
    if let Some(at) = o.cancel_at
        && at <= now
    {
        o.cancel_at = None;
        // A shipped order is not cancelled by the simulated shop.
        if !o.shipments.iter().any(SimShipment::shipped) && o.status != "CANCELLED" {
            o.status = "CANCELLED".into();
            o.pay_at = None;
            o.date_last_updated = at;
            changed = true;
        }
    }
    changed
}

fn weighted<'a, R: Rng>(rng: &mut R, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    for (v, w) in items {
        if roll < *w {
            return v;
        }
        roll -= w;
    }
    items[0].0
}

impl SimOrder {
    pub fn paid(&self) -> bool {
        self.receipt_date.is_some()
    }

    pub fn shipped(&self) -> bool {
        !self.shipments.is_empty() && self.shipments.iter().all(SimShipment::shipped)
    }

    fn product_total(&self) -> i64 {
        self.shipments.iter().map(SimShipment::product_total).sum()
    }

    fn postage(&self) -> i64 {
        self.shipments.iter().map(|s| s.postage).sum()
    }

    fn total_cost(&self) -> i64 {
        self.product_total() + self.postage() + self.payment_charge
    }

    fn grand_total(&self) -> i64 {
        self.total_cost() - self.used_point_price
    }

    fn tax_total(&self) -> i64 {
        self.total_cost() * 10 / 110
    }

    fn common(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        let d = |d: Option<NaiveDate>| d.map(|d| d.format(FS_DATE).to_string()).unwrap_or_default();
        m.insert("orderNo".into(), json!(self.order_no));
        m.insert("type".into(), json!(self.order_type));
        m.insert("date".into(), json!(fmt_fs(self.date)));
        m.insert("status".into(), json!(self.status));
        m.insert("grandTotal".into(), json!(self.grand_total()));
        m.insert("totalCost".into(), json!(self.total_cost()));
        m.insert("productTotal".into(), json!(self.product_total()));
        m.insert("taxTotal".into(), json!(self.tax_total()));
        m.insert("discountTotal".into(), json!(0));
        m.insert("giftWrappingChargeTotal".into(), json!(0));
        m.insert("postage".into(), json!(self.postage()));
        m.insert("coolDeliveryChargeTotal".into(), json!(0));
        m.insert("paymentChargeTotal".into(), json!(self.payment_charge));
        m.insert("taxConfigEnabled".into(), json!(true));
        m.insert("taxRate".into(), json!(10));
        m.insert("taxRoundingType".into(), json!("ROUND_DOWN"));
        m.insert("standardTax".into(), json!(10));
        m.insert("reducedTax".into(), json!(8));
        m.insert("usedPointPrice".into(), json!(self.used_point_price));
        m.insert("paymentType".into(), json!(self.payment_type));
        m.insert("receiptDate".into(), json!(d(self.receipt_date)));
        m.insert("oricoProcedureDate".into(), json!(""));
        m.insert("isMember".into(), json!(true));
        m
    }

    fn buyer_json(&self, detail: bool) -> Value {
        let b = &self.buyer;
        let mut v = json!({
            "memberId": (self.order_no.len() % 97).to_string(),
            "lastName": b.last_name, "firstName": b.first_name,
            "lastNameKana": b.last_name_kana, "firstNameKana": b.first_name_kana,
            "mail": b.mail, "mobileMail": "", "zipCode": b.postal_code,
            "prefecture": b.prefecture, "address1": b.address1, "address2": b.address2,
            "address3": b.address3, "telNoMain": b.phone, "faxNo": "", "birthday": "",
            "companyName": "", "companyNameKana": "", "departmentName": "",
            "departmentNameKana": "", "companyTelNo": "", "companyFaxNo": "",
        });
        if detail {
            v["telNoAlternate"] = json!("");
            v["gender"] = json!("UNSPECIFIED");
            v["nickName"] = json!("");
            v["orderCount"] = json!("1");
            v["totalOrderCount"] = json!("1");
            v["memberStageName"] = json!("");
        }
        v
    }

    /// The shape of `GET /admin-api/v1/shipping` elements.
    pub fn list_json(&self) -> Value {
        let mut m = self.common();
        m.insert("buyerInfo".into(), self.buyer_json(false));
        let d = |d: Option<NaiveDate>| d.map(|d| d.format(FS_DATE).to_string()).unwrap_or_default();
        let shipments: Vec<Value> = self
            .shipments
            .iter()
            .map(|s| {
                json!({
                    "shipmentNo": s.shipment_no,
                    "addressInfo": {
                        "lastName": s.address.last_name, "firstName": s.address.first_name,
                        "lastNameKana": s.address.last_name_kana, "firstNameKana": s.address.first_name_kana,
                        "postalCode": s.address.postal_code, "prefecture": s.address.prefecture,
                        "address1": s.address.address1, "address2": s.address.address2,
                        "address3": s.address.address3, "phoneNo": s.address.phone,
                    },
                    "shippingInfo": {
                        "deliveryServiceName": s.delivery_service_name,
                        "isCoolDelivery": s.cool,
                        "invoiceNo": s.invoice_no,
                        "expectedArrival": d(s.expected_arrival),
                        "preferredDeliveryDate": d(s.preferred_delivery_date),
                        "preferredDeliveryTime": s.preferred_delivery_time,
                        "shippingDate": d(s.shipping_date),
                    },
                    "productTotal": s.product_total(),
                    "taxTotal": s.product_total() * 10 / 110,
                    "postage": s.postage, "coolDeliveryCharge": 0, "giftWrappingCharge": 0,
                    "paymentCharge": if s.shipment_no == 1 { self.payment_charge } else { 0 },
                    "productList": s.items.iter().map(|i| json!({
                        "skuNo": i.sku_no, "name": i.name, "hanpukaiName": "",
                        "verticalVariationName": i.vertical_name,
                        "horizontalVariationName": i.horizontal_name,
                        "janCode": i.jan_code, "taxRateCode": "STANDARD", "price": i.price,
                        "count": i.count, "taxIncluded": "TAX_INCLUDED", "tax": i.price * 10 / 110,
                        "shippingDate": "", "optionList": [], "optionPriceList": [],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        m.insert("shipmentList".into(), Value::Array(shipments));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        overlay(m, &self.extra)
    }

    /// The shape of `GET /admin-api/v1/orders/{orderNo}`.
    pub fn detail_json(&self) -> Value {
        let mut m = self.common();
        let d = |d: Option<NaiveDate>| d.map(|d| d.format(FS_DATE).to_string()).unwrap_or_default();
        m.insert(
            "paymentStatus".into(),
            json!(if self.paid() {
                "RECEIVED"
            } else {
                "NOTRECEIVED"
            }),
        );
        m.insert("conveniType".into(), json!(""));
        m.insert("conveniPayoutNo".into(), json!(""));
        m.insert("deviceType".into(), json!("PC"));
        m.insert("communication".into(), json!(self.communication));
        m.insert("customerContact".into(), json!(""));
        m.insert("shopMemo".into(), json!(self.shop_memo));
        m.insert("orderEmailDateSent".into(), json!(fmt_fs(self.date)));
        m.insert("multipleShipments".into(), json!(self.shipments.len() > 1));
        m.insert(
            "dateLastUpdated".into(),
            json!(fmt_fs(self.date_last_updated)),
        );
        m.insert(
            "dateProcessed".into(),
            json!(self.date_processed.map(fmt_fs).unwrap_or_default()),
        );
        m.insert("couponList".into(), json!([]));
        m.insert("bundleDiscountTotal".into(), json!(""));
        m.insert("subscriptionTotalNumPeriods".into(), json!(""));
        m.insert("buyerInfo".into(), self.buyer_json(true));
        let shipments: Vec<Value> = self
            .shipments
            .iter()
            .map(|s| {
                json!({
                    "shipmentNo": s.shipment_no, "giftWrappingLabel": "",
                    "productTotal": s.product_total(), "taxTotal": s.product_total() * 10 / 110,
                    "postage": s.postage, "coolDeliveryCharge": 0, "giftWrappingCharge": 0,
                    "paymentCharge": if s.shipment_no == 1 { self.payment_charge } else { 0 },
                    "contactLater": false, "invoiceNo": s.invoice_no,
                    "expectedArrival": d(s.expected_arrival),
                    "preferredDeliveryDate": d(s.preferred_delivery_date),
                    "preferredDeliveryTime": s.preferred_delivery_time,
                    "instructions": s.instructions, "shipped": s.shipped(),
                    "shippingDate": d(s.shipping_date), "isCoolDelivery": s.cool,
                    "deliveryServiceName": s.delivery_service_name,
                    "shipmentEmailNumSent": 0, "shipmentEmailDateSent": "",
                    "addressInfo": {
                        "lastName": s.address.last_name, "firstName": s.address.first_name,
                        "lastNameKana": s.address.last_name_kana, "firstNameKana": s.address.first_name_kana,
                        "zipCode": s.address.postal_code, "prefecture": s.address.prefecture,
                        "address1": s.address.address1, "address2": s.address.address2,
                        "address3": s.address.address3, "phoneNo": s.address.phone,
                    },
                    "productList": s.items.iter().map(|i| json!({
                        "productNo": i.product_no, "skuNo": i.sku_no, "janCode": i.jan_code,
                        "name": i.name, "hanpukaiName": "",
                        "verticalVariationName": i.vertical_name,
                        "horizontalVariationName": i.horizontal_name,
                        "price": i.price, "count": i.count, "taxIncluded": "TAX_INCLUDED",
                        "tax": i.price * 10 / 110, "taxRateCode": "STANDARD", "preorder": i.preorder,
                        "nextShippingDate": "", "shippingDateLabel": "",
                        "optionPriceList": [], "optionList": [],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        m.insert("shipmentList".into(), Value::Array(shipments));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        overlay(m, &self.extra)
    }
}

/// `extra` may hold dotted paths such as `buyerInfo.lastName` or
/// `shipmentList.0.addressInfo.lastName`, applied after the shape is built, so tests can place
/// any value in any field.
fn overlay(m: serde_json::Map<String, Value>, extra: &serde_json::Map<String, Value>) -> Value {
    let mut v = Value::Object(m);
    for (k, val) in extra {
        let Some((parent, last)) = k.rsplit_once('.') else {
            continue;
        };
        if let Value::Object(top) = &mut v {
            top.remove(k);
        }
        let pointer = format!("/{}", parent.replace('.', "/"));
        match v.pointer_mut(&pointer) {
            Some(Value::Object(o)) => {
                o.insert(last.to_string(), val.clone());
            }
            Some(Value::Array(a)) => {
                if let Some(slot) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                    *slot = val.clone();
                }
            }
            _ => {}
        }
    }
    v
}
