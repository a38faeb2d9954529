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
    /// The buyer's `orderCount` / `totalOrderCount` (detail shape).
    pub buyer_orders: (u32, u32),
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
    /// のし・ラッピング label, empty for none.
    pub gift_label: String,
    pub gift_charge: i64,
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
    /// Chosen options: (name, choice, price).
    pub options: Vec<(String, String, i64)>,
}

impl SimShipment {
    pub fn shipped(&self) -> bool {
        self.shipping_date.is_some()
    }
    pub fn product_total(&self) -> i64 {
        self.items.iter().map(SimItem::total).sum()
    }
}

impl SimItem {
    /// Price × count, options included (futureshop's productTotal includes option prices).
    pub fn total(&self) -> i64 {
        (self.price + self.options.iter().map(|o| o.2).sum::<i64>()) * self.count
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
    /// Share of older orders the shop already shipped and closed in its admin screen.
    pub shipped_elsewhere_rate: f64,
    /// Share of new orders placed by the customer of the order just before (同梱 candidates),
    /// their address written another way. 0 keeps every seeded shop as it was.
    pub repeat_rate: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            payment_delay: Duration::hours(6),
            unknown_sku_rate: 0.003,
            store_pickup_rate: 0.02,
            cancel_rate: 0.03,
            shipped_elsewhere_rate: 0.04,
            repeat_rate: 0.0,
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

/// 配送指示 customers write on a shipment.
const INSTRUCTIONS: &[&str] = &[
    "置き配希望 (玄関前)",
    "不在時は宅配ボックスへお願いします",
    "インターホンは押さないでください",
    "日時指定を必ず守ってください",
    "管理人室に預けてください",
];

/// のし・ラッピング labels.
const GIFT_LABELS: &[&str] = &[
    "御歳暮 (外のし)",
    "御祝 (内のし)",
    "内祝 (外のし・名入れ: 山田)",
    "ラッピング (リボン)",
];

/// Product options: (name, choices with their prices).
const OPTIONS: &[(&str, &[(&str, i64)])] = &[
    ("名入れ", &[("あり", 330), ("なし", 0)]),
    ("ギフトボックス", &[("白箱", 110), ("木箱", 550)]),
    ("メッセージカード", &[("お誕生日", 0), ("ありがとう", 0)]),
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
                options: if rng.gen_bool(0.08) {
                    let (name, choices) = OPTIONS[rng.gen_range(0..OPTIONS.len())];
                    let (choice, price) = choices[rng.gen_range(0..choices.len())];
                    vec![(name.to_string(), choice.to_string(), price)]
                } else {
                    Vec::new()
                },
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
                options: Vec::new(),
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
            instructions: if rng.gen_bool(0.1) {
                INSTRUCTIONS[rng.gen_range(0..INSTRUCTIONS.len())].into()
            } else {
                String::new()
            },
            gift_label: String::new(),
            gift_charge: 0,
            items,
            postage,
        });
        if rng.gen_bool(0.06) {
            let last = shipments.len() - 1;
            shipments[last].gift_label = GIFT_LABELS[rng.gen_range(0..GIFT_LABELS.len())].into();
            shipments[last].gift_charge = 220;
        }
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
        buyer_orders: {
            let n = rng.gen_range(1..=6);
            (n, n + rng.gen_range(0..=3))
        },
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
    // Orders a few days old that the shop already handled in its admin screen: shipped and
    // closed (COMPLETED), or — with several destinations — the first one shipped.
    let age = spec.now - o.date;
    if age > Duration::days(2) && o.cancel_at.is_none() && (o.paid() || o.pay_at.is_none()) {
        let ship_date = (o.date + Duration::days(1)).date();
        if rng.gen_bool(spec.behaviour.shipped_elsewhere_rate) {
            for s in &mut o.shipments {
                s.shipping_date = Some(ship_date);
                s.invoice_no = format!("{:012}", rng.gen_range(0..1_000_000_000_000i64));
            }
            o.status = "COMPLETED".into();
            o.date_processed = Some(o.date + Duration::days(2));
            o.date_last_updated = o.date + Duration::days(2);
        } else if o.shipments.len() > 1 && rng.gen_bool(0.4) {
            o.shipments[0].shipping_date = Some(ship_date);
            o.shipments[0].invoice_no = format!("{:012}", rng.gen_range(0..1_000_000_000_000i64));
            o.date_last_updated = o.date + Duration::days(1);
        }
    }
    advance(&mut o, spec.now);
    o
}

/// `o` becomes a second order by `prev`'s customer: the same buyer, recipient (the address
/// written another way, as people do), payment type and delivery wishes, one shipment.
/// Returns false (and changes nothing) when `prev` is not a plain one-parcel order.
pub fn repeat_customer<R: Rng>(rng: &mut R, o: &mut SimOrder, prev: &SimOrder) -> bool {
    let [p] = prev.shipments.as_slice() else {
        return false;
    };
    if p.store_pickup || o.shipments.is_empty() {
        return false;
    }
    o.buyer = prev.buyer.clone();
    o.payment_type = prev.payment_type.clone();
    o.payment_charge = prev.payment_charge;
    o.buyer_orders = (prev.buyer_orders.0 + 1, prev.buyer_orders.1 + 1);
    // The payment follows the payment type now: paid at checkout, paid a little later, or
    // collected on delivery.
    if is_paid_at_checkout(&o.payment_type) {
        o.receipt_date = Some(o.date.date());
        o.pay_at = None;
    } else if !is_prepaid(&o.payment_type) {
        o.receipt_date = None;
        o.pay_at = None;
    } else if o.receipt_date.is_none() && o.pay_at.is_none() {
        o.pay_at = Some(o.date + Duration::minutes(2));
    }
    o.shipments.truncate(1);
    let s = &mut o.shipments[0];
    s.address = respell(rng, &p.address);
    s.delivery_service_name = p.delivery_service_name.clone();
    s.cool = p.cool;
    s.store_pickup = false;
    s.preferred_delivery_date = p.preferred_delivery_date;
    s.preferred_delivery_time = p.preferred_delivery_time.clone();
    s.gift_label = p.gift_label.clone();
    s.gift_charge = p.gift_charge;
    true
}

/// The same address as a customer might type it another time: 丁目/番地 or dashes,
/// full-width digits, the postal code and phone without hyphens.
pub fn respell<R: Rng>(rng: &mut R, a: &SimPerson) -> SimPerson {
    let mut a = a.clone();
    let parts: Vec<&str> = a.address2.split('-').collect();
    if let [c, b, g] = parts.as_slice() {
        a.address2 = match rng.gen_range(0..4) {
            0 => format!("{c}丁目{b}番{g}号"),
            1 => format!("{c}丁目{b}-{g}"),
            2 => to_full_width(&a.address2),
            _ => format!(
                "{}丁目{b}番地{g}",
                ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
                    .get(c.parse::<usize>().unwrap_or(0))
                    .unwrap_or(&"〇")
            ),
        };
    }
    if rng.gen_bool(0.5) {
        a.postal_code = a.postal_code.replace('-', "");
    }
    if rng.gen_bool(0.5) {
        a.phone = to_full_width(&a.phone);
    }
    a
}

fn to_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
            '-' => '－',
            c => c,
        })
        .collect()
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
        self.product_total() + self.postage() + self.payment_charge + self.gift_total()
    }

    fn grand_total(&self) -> i64 {
        self.total_cost() - self.used_point_price
    }

    fn tax_total(&self) -> i64 {
        self.total_cost() * 10 / 110
    }

    fn gift_total(&self) -> i64 {
        self.shipments.iter().map(|s| s.gift_charge).sum()
    }

    /// The buyer, in the list shape (`birthday` as `yyyymmdd`) or the detail shape
    /// (`yyyy-mm-dd`, and the member fields only the detail has). Keys in futureshop's order.
    fn buyer_json(&self, detail: bool) -> Value {
        let b = &self.buyer;
        let birthday = b
            .birthday
            .map(|d| {
                d.format(if detail { "%Y-%m-%d" } else { "%Y%m%d" })
                    .to_string()
            })
            .unwrap_or_default();
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("memberId", json!((self.order_no.len() % 97).to_string()));
        put("lastName", json!(b.last_name));
        put("firstName", json!(b.first_name));
        put("lastNameKana", json!(b.last_name_kana));
        put("firstNameKana", json!(b.first_name_kana));
        put("mail", json!(b.mail));
        put("mobileMail", json!(""));
        put("zipCode", json!(b.postal_code));
        put("prefecture", json!(b.prefecture));
        put("address1", json!(b.address1));
        put("address2", json!(b.address2));
        put("address3", json!(b.address3));
        put("telNoMain", json!(b.phone));
        if detail {
            put("telNoAlternate", json!(""));
        }
        put("faxNo", json!(""));
        put("gender", json!(b.gender));
        put("birthday", json!(birthday));
        if detail {
            put("nickName", json!(""));
        }
        for k in [
            "companyName",
            "companyNameKana",
            "departmentName",
            "departmentNameKana",
            "companyTelNo",
            "companyFaxNo",
        ] {
            put(k, json!(""));
        }
        if detail {
            put("orderCount", json!(self.buyer_orders.0.to_string()));
            put("totalOrderCount", json!(self.buyer_orders.1.to_string()));
            put("memberStageName", json!(""));
            for n in 1..=20 {
                put(&format!("additionalItem{n}"), json!(""));
            }
        }
        Value::Object(m)
    }

    fn address_json(a: &SimPerson, postal_key: &str) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("lastName".into(), json!(a.last_name));
        m.insert("firstName".into(), json!(a.first_name));
        m.insert("lastNameKana".into(), json!(a.last_name_kana));
        m.insert("firstNameKana".into(), json!(a.first_name_kana));
        m.insert(postal_key.into(), json!(a.postal_code));
        m.insert("prefecture".into(), json!(a.prefecture));
        m.insert("address1".into(), json!(a.address1));
        m.insert("address2".into(), json!(a.address2));
        m.insert("address3".into(), json!(a.address3));
        m.insert("phoneNo".into(), json!(a.phone));
        Value::Object(m)
    }

    fn option_lists(i: &SimItem) -> (Value, Value) {
        let list: Vec<Value> = i
            .options
            .iter()
            .map(|(n, c, _)| json!({"name": n, "selectionItem": c}))
            .collect();
        let prices: Vec<Value> = i
            .options
            .iter()
            .filter(|(_, _, p)| *p > 0)
            .map(|(n, c, p)| json!({"name": n, "selectionName": c, "price": p}))
            .collect();
        (Value::Array(list), Value::Array(prices))
    }

    /// The shape of `GET /admin-api/v1/shipping` elements, keys in futureshop's order.
    pub fn list_json(&self) -> Value {
        let d = |d: Option<NaiveDate>| d.map(|d| d.format(FS_DATE).to_string()).unwrap_or_default();
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("orderNo", json!(self.order_no));
        put("type", json!(self.order_type));
        put("date", json!(fmt_fs(self.date)));
        put("status", json!(self.status));
        put("grandTotal", json!(self.grand_total()));
        put("totalCost", json!(self.total_cost()));
        put("productTotal", json!(self.product_total()));
        put("taxTotal", json!(self.tax_total()));
        put("discountTotal", json!(0));
        put("giftWrappingChargeTotal", json!(self.gift_total()));
        put("postage", json!(self.postage()));
        put("coolDeliveryChargeTotal", json!(0));
        put("taxConfigEnabled", json!(true));
        put("taxRate", json!(10));
        put("taxRoundingType", json!("ROUND_DOWN"));
        put("standardTax", json!(10));
        put("reducedTax", json!(8));
        put("usedPointPrice", json!(self.used_point_price));
        put("paymentType", json!(self.payment_type));
        put("paymentChargeTotal", json!(self.payment_charge));
        put("receiptDate", json!(d(self.receipt_date)));
        put("oricoProcedureDate", json!(""));
        put("isMember", json!(true));
        put("buyerInfo", self.buyer_json(false));
        let shipments: Vec<Value> = self
            .shipments
            .iter()
            .map(|s| {
                let products: Vec<Value> = s
                    .items
                    .iter()
                    .map(|i| {
                        let (options, prices) = Self::option_lists(i);
                        json!({
                            "skuNo": i.sku_no, "name": i.name, "hanpukaiName": "",
                            "verticalVariationName": i.vertical_name,
                            "horizontalVariationName": i.horizontal_name,
                            "janCode": i.jan_code, "taxRateCode": "STANDARD", "price": i.price,
                            "count": i.count, "taxIncluded": "TAX_EXCLUDED",
                            "tax": i.total() * 10 / 110 / i.count.max(1),
                            "shippingDate": "", "optionList": options, "optionPriceList": prices,
                        })
                    })
                    .collect();
                json!({
                    "shipmentNo": s.shipment_no,
                    "addressInfo": Self::address_json(&s.address, "postalCode"),
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
                    "postage": s.postage, "coolDeliveryCharge": 0,
                    "giftWrappingCharge": s.gift_charge,
                    "paymentCharge": if s.shipment_no == 1 { self.payment_charge } else { 0 },
                    "productList": products,
                })
            })
            .collect();
        put("shipmentList", Value::Array(shipments));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        overlay(m, &self.extra)
    }

    /// The shape of `GET /admin-api/v1/orders/{orderNo}`, keys in futureshop's order. It has
    /// ~50 keys the list lacks and lacks 5 the list has (`discountTotal`, `isMember`,
    /// `taxRate`, `standardTax`, `reducedTax`).
    pub fn detail_json(&self) -> Value {
        let d = |d: Option<NaiveDate>| d.map(|d| d.format(FS_DATE).to_string()).unwrap_or_default();
        let total = self.total_cost();
        let std_tax = total * 10 / 110;
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("orderNo", json!(self.order_no));
        put("date", json!(fmt_fs(self.date)));
        put("grandTotal", json!(self.grand_total()));
        put("totalCost", json!(total));
        put("productTotal", json!(self.product_total()));
        put("taxTotal", json!(self.tax_total()));
        put("giftWrappingChargeTotal", json!(self.gift_total()));
        put("postage", json!(self.postage()));
        put("paymentChargeTotal", json!(self.payment_charge));
        put("coolDeliveryChargeTotal", json!(0));
        put("paymentType", json!(self.payment_type));
        put("conveniType", json!(""));
        put("conveniPayoutNo", json!(""));
        put("deviceType", json!("PC"));
        put("communication", json!(self.communication));
        put("customerContact", json!(""));
        put("shopMemo", json!(self.shop_memo));
        put("status", json!(self.status));
        put(
            "paymentStatus",
            json!(if self.paid() {
                "RECEIVED"
            } else {
                "NOTRECEIVED"
            }),
        );
        put("receiptDate", json!(d(self.receipt_date)));
        put("orderEmailDateSent", json!(fmt_fs(self.date)));
        put("paymentEmailNumSent", json!(0));
        put("paymentEmailDateSent", json!(""));
        put("oricoProcedureDate", json!(""));
        put("multipleShipments", json!(self.shipments.len() > 1));
        put("usedPointPrice", json!(self.used_point_price));
        put("earnedPointStatus", json!(""));
        put("dateLastUpdated", json!(fmt_fs(self.date_last_updated)));
        put("fregiOrderNo", json!(""));
        put("fregiAuthNo", json!(""));
        put("thanksEmailNumSent", json!(0));
        put("thanksEmailDateSent", json!(""));
        put("type", json!(self.order_type));
        put("productCouponDiscountName", json!(""));
        put("productCouponDiscountTotal", json!(0));
        put("postageCouponDiscountName", json!(""));
        put("postageCouponDiscountTotal", json!(0));
        put("couponName", json!(""));
        put("couponList", json!([]));
        put("volumeDiscountName", json!(""));
        put("volumeDiscountTotal", json!(0));
        put("blackOrder", json!(false));
        put(
            "dateProcessed",
            json!(self.date_processed.map(fmt_fs).unwrap_or_default()),
        );
        put("bundleDiscountCaption", json!(""));
        put("bundleDiscountTotal", json!(""));
        put("bundleUrls", json!(""));
        put("bundleNames", json!(""));
        put("amazonOrderReferenceId", json!(""));
        put("rakutenPayOrderId", json!(""));
        put("subscriptionNo", json!(""));
        put("subscriptionPeriodNo", json!(""));
        put("subscriptionTotalNumPeriods", json!(""));
        put("taxConfigEnabled", json!(true));
        put("taxRoundingType", json!("ROUND_DOWN"));
        put("standardTaxRate", json!(10));
        put("reducedTaxRate", json!(8));
        put("rateDiscountTargetPriceStdTaxIncl", json!(total));
        put("rateDiscountTargetPriceReducedTaxIncl", json!(0));
        put("rateDiscountTargetPriceStdTax", json!(std_tax));
        put("rateDiscountTargetPriceReducedTax", json!(0));
        put("priorityDiscountTargetPriceStdTaxIncl", json!(total));
        put("priorityDiscountTargetPriceReducedTaxIncl", json!(0));
        put("priorityDiscountTargetPriceStdTax", json!(std_tax));
        put("priorityDiscountTargetPriceReducedTax", json!(0));
        put("sbpsTrackingId", json!(""));
        put("sbpsAlert", json!(""));
        put("buyerInfo", self.buyer_json(true));
        let shipments: Vec<Value> = self
            .shipments
            .iter()
            .map(|s| {
                let products: Vec<Value> = s
                    .items
                    .iter()
                    .map(|i| {
                        let (options, prices) = Self::option_lists(i);
                        json!({
                            "productNo": i.product_no, "skuNo": i.sku_no, "janCode": i.jan_code,
                            "name": i.name, "hanpukaiName": "",
                            "verticalVariationName": i.vertical_name,
                            "horizontalVariationName": i.horizontal_name,
                            "price": i.price, "count": i.count, "taxIncluded": "TAX_EXCLUDED",
                            "tax": i.total() * 10 / 110 / i.count.max(1), "taxRateCode": "STANDARD",
                            "preorder": i.preorder, "nextShippingDate": "", "shippingDateLabel": "",
                            "optionPriceList": prices, "optionList": options,
                        })
                    })
                    .collect();
                json!({
                    "shipmentNo": s.shipment_no, "giftWrappingLabel": s.gift_label,
                    "productTotal": s.product_total(), "taxTotal": s.product_total() * 10 / 110,
                    "postage": s.postage, "coolDeliveryCharge": 0,
                    "giftWrappingCharge": s.gift_charge,
                    "paymentCharge": if s.shipment_no == 1 { self.payment_charge } else { 0 },
                    "contactLater": false, "invoiceNo": s.invoice_no,
                    "expectedArrival": d(s.expected_arrival),
                    "preferredDeliveryDate": d(s.preferred_delivery_date),
                    "preferredDeliveryTime": s.preferred_delivery_time,
                    "instructions": s.instructions, "shipped": s.shipped(),
                    "shippingDate": d(s.shipping_date), "isCoolDelivery": s.cool,
                    "deliveryServiceName": s.delivery_service_name,
                    "shipmentEmailNumSent": if s.shipped() { 1 } else { 0 },
                    "shipmentEmailDateSent": s.shipping_date.map(|d| format!("{}T10:00:00", d.format(FS_DATE))).unwrap_or_default(),
                    "productList": products,
                    "addressInfo": Self::address_json(&s.address, "zipCode"),
                })
            })
            .collect();
        put("shipmentList", Value::Array(shipments));
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
