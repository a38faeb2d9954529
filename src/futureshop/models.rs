//! futureshop order and product models.
//!
//! The order search API (list shape) and the order detail API (detail shape) describe an order
//! differently: `postalCode` vs `zipCode`, a nested `shippingInfo` vs flat shipment fields, and
//! `paymentStatus`/`shipped` only in the detail. Each shape has its own serde type; both
//! normalise into [`Order`], which also keeps the raw JSON so that no field is ever lost.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::enums::{OrderStatus, OrderType, PaymentStatus, PaymentType};
use super::lenient::*;
use crate::rawjson::RawJson;
use serde_json::value::RawValue;

fn to_raw(v: &Value) -> Result<Box<RawValue>, String> {
    serde_json::value::to_raw_value(v).map_err(|e| e.to_string())
}

/// Which endpoint an order came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderShape {
    List,
    Detail,
}

/// A futureshop order, normalised from either shape. `raw` is the JSON exactly as received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub shape: OrderShape,
    pub order_no: String,
    pub order_type: Option<OrderType>,
    pub date: Option<NaiveDateTime>,
    pub status: Option<OrderStatus>,
    pub payment_type: Option<PaymentType>,
    /// Only when futureshop sent it (detail shape, newer list shapes).
    pub payment_status: Option<PaymentStatus>,
    pub receipt_date: Option<NaiveDate>,
    pub amounts: Amounts,
    pub buyer: Person,
    pub shipments: Vec<Shipment>,
    pub communication: Option<String>,
    pub shop_memo: Option<String>,
    pub date_last_updated: Option<NaiveDateTime>,
    pub raw: RawJson,
}

impl Order {
    /// Paid according to futureshop: an explicit `RECEIVED`, or — where the shape carries no
    /// `paymentStatus` — a recorded `receiptDate` (the natural reading of the list shape).
    pub fn is_paid(&self) -> bool {
        match &self.payment_status {
            Some(PaymentStatus::Received) => true,
            Some(_) => false,
            None => self.receipt_date.is_some(),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self.status, Some(OrderStatus::Cancelled))
    }

    /// 処理済: the shop closed the order (after shipping it).
    pub fn is_completed(&self) -> bool {
        matches!(self.status, Some(OrderStatus::Completed))
    }

    /// Every shipment is shipped in futureshop (or the order is closed).
    pub fn fully_shipped(&self) -> bool {
        self.is_completed()
            || (!self.shipments.is_empty() && self.shipments.iter().all(|s| s.shipped))
    }

    pub fn skus(&self) -> impl Iterator<Item = &str> {
        self.shipments
            .iter()
            .flat_map(|s| s.products.iter().map(|p| p.sku_no.as_str()))
    }

    /// Parses one element of `orderList` (list shape), straight from its text.
    pub fn from_list_text(raw: &RawValue) -> Result<Order, String> {
        let parsed: ListOrder = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        parsed.into_order(RawJson::from_raw(raw))
    }

    /// Parses a whole order detail response (detail shape), straight from its text.
    pub fn from_detail_text(raw: &RawValue) -> Result<Order, String> {
        let parsed: DetailOrder = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        parsed.into_order(RawJson::from_raw(raw))
    }

    pub fn from_list_json(raw: Value) -> Result<Order, String> {
        Order::from_list_text(&to_raw(&raw)?)
    }

    pub fn from_detail_json(raw: Value) -> Result<Order, String> {
        Order::from_detail_text(&to_raw(&raw)?)
    }

    /// Parses either shape, telling them apart by their shipment layout.
    pub fn from_any_json(raw: Value) -> Result<Order, String> {
        let detail_like = raw
            .get("shipmentList")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .map(|s| s.get("shippingInfo").is_none())
            .unwrap_or_else(|| raw.get("paymentStatus").is_some());
        if detail_like {
            Order::from_detail_json(raw)
        } else {
            Order::from_list_json(raw)
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Amounts {
    pub grand_total: i64,
    pub total_cost: i64,
    pub product_total: i64,
    pub tax_total: i64,
    pub postage: i64,
    pub payment_charge_total: i64,
    pub discount_total: i64,
    pub used_point_price: i64,
}

/// A person and address (buyer or recipient).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub last_name: String,
    pub first_name: String,
    pub last_name_kana: String,
    pub first_name_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub address1: String,
    pub address2: String,
    pub address3: String,
    pub phone: String,
    pub mail: String,
    pub company_name: String,
}

impl Person {
    pub fn full_name(&self) -> String {
        match (self.last_name.is_empty(), self.first_name.is_empty()) {
            (false, false) => format!("{} {}", self.last_name, self.first_name),
            (false, true) => self.last_name.clone(),
            (true, false) => self.first_name.clone(),
            (true, true) => self.company_name.clone(),
        }
    }

    pub fn address(&self) -> String {
        [&self.address1, &self.address2, &self.address3]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub shipment_no: i64,
    pub address: Person,
    pub delivery_service_name: Option<String>,
    pub is_cool_delivery: bool,
    pub invoice_no: Option<String>,
    pub expected_arrival: Option<NaiveDate>,
    pub preferred_delivery_date: Option<NaiveDate>,
    pub preferred_delivery_time: Option<String>,
    pub shipping_date: Option<NaiveDate>,
    /// Detail shape has an explicit flag; the list shape implies it by a shipping date.
    pub shipped: bool,
    /// 配送指示 (detail shape only).
    pub instructions: Option<String>,
    /// のし・ラッピング (detail shape only).
    pub gift_wrapping_label: Option<String>,
    pub gift_wrapping_charge: i64,
    pub products: Vec<LineItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku_no: String,
    pub product_no: Option<String>,
    pub jan_code: Option<String>,
    pub name: String,
    pub vertical_variation_name: Option<String>,
    pub horizontal_variation_name: Option<String>,
    pub price: i64,
    pub count: i64,
    pub preorder: bool,
    /// `taxRateCode` (`STANDARD`, `REDUCED`).
    pub tax_rate_code: Option<String>,
    pub options: Vec<ProductOption>,
}

/// One chosen product option: `optionList` gives the choice, `optionPriceList` its price.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductOption {
    pub name: String,
    pub value: String,
    pub price: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Wire types (list shape)

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListOrder {
    #[serde(default, deserialize_with = "opt_string")]
    order_no: Option<String>,
    #[serde(default, rename = "type")]
    order_type: Option<OrderType>,
    #[serde(default, deserialize_with = "opt_datetime")]
    date: Option<NaiveDateTime>,
    #[serde(default)]
    status: Option<OrderStatus>,
    #[serde(flatten)]
    amounts: WireAmounts,
    #[serde(default)]
    payment_type: Option<PaymentType>,
    #[serde(default, deserialize_with = "opt_payment_status")]
    payment_status: Option<PaymentStatus>,
    #[serde(default, deserialize_with = "opt_date")]
    receipt_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "obj_or_default")]
    buyer_info: WirePerson,
    #[serde(default, deserialize_with = "vec_or_empty")]
    shipment_list: Vec<ListShipment>,
    #[serde(default, deserialize_with = "opt_string")]
    communication: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    shop_memo: Option<String>,
    #[serde(default, deserialize_with = "opt_datetime")]
    date_last_updated: Option<NaiveDateTime>,
}

impl ListOrder {
    fn into_order(self, raw: RawJson) -> Result<Order, String> {
        Ok(Order {
            shape: OrderShape::List,
            order_no: require_order_no(self.order_no)?,
            order_type: self.order_type,
            date: self.date,
            status: self.status,
            payment_type: self.payment_type,
            payment_status: self.payment_status,
            receipt_date: self.receipt_date,
            amounts: self.amounts.into(),
            buyer: self.buyer_info.into(),
            shipments: self.shipment_list.into_iter().map(Into::into).collect(),
            communication: self.communication,
            shop_memo: self.shop_memo,
            date_last_updated: self.date_last_updated,
            raw,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListShipment {
    #[serde(default, deserialize_with = "i64_or_zero")]
    shipment_no: i64,
    #[serde(default, deserialize_with = "obj_or_default")]
    address_info: WirePerson,
    #[serde(default, deserialize_with = "obj_or_default")]
    shipping_info: ListShippingInfo,
    #[serde(default, deserialize_with = "vec_or_empty")]
    product_list: Vec<WireProduct>,
    #[serde(default, deserialize_with = "opt_string")]
    instructions: Option<String>,
    #[serde(default, deserialize_with = "i64_or_zero")]
    gift_wrapping_charge: i64,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListShippingInfo {
    #[serde(default, deserialize_with = "opt_string")]
    delivery_service_name: Option<String>,
    #[serde(default, deserialize_with = "bool_lenient")]
    is_cool_delivery: bool,
    #[serde(default, deserialize_with = "opt_string")]
    invoice_no: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    expected_arrival: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_date")]
    preferred_delivery_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_string")]
    preferred_delivery_time: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    shipping_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_bool")]
    shipped: Option<bool>,
}

impl From<ListShipment> for Shipment {
    fn from(s: ListShipment) -> Self {
        let info = s.shipping_info;
        Shipment {
            shipment_no: s.shipment_no,
            address: s.address_info.into(),
            delivery_service_name: info.delivery_service_name,
            is_cool_delivery: info.is_cool_delivery,
            invoice_no: info.invoice_no,
            expected_arrival: info.expected_arrival,
            preferred_delivery_date: info.preferred_delivery_date,
            preferred_delivery_time: info.preferred_delivery_time,
            shipped: info.shipped.unwrap_or(info.shipping_date.is_some()),
            shipping_date: info.shipping_date,
            instructions: s.instructions,
            gift_wrapping_label: None,
            gift_wrapping_charge: s.gift_wrapping_charge,
            products: s.product_list.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types (detail shape)

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetailOrder {
    #[serde(default, deserialize_with = "opt_string")]
    order_no: Option<String>,
    #[serde(default, rename = "type")]
    order_type: Option<OrderType>,
    #[serde(default, deserialize_with = "opt_datetime")]
    date: Option<NaiveDateTime>,
    #[serde(default)]
    status: Option<OrderStatus>,
    #[serde(flatten)]
    amounts: WireAmounts,
    #[serde(default)]
    payment_type: Option<PaymentType>,
    #[serde(default, deserialize_with = "opt_payment_status")]
    payment_status: Option<PaymentStatus>,
    #[serde(default, deserialize_with = "opt_date")]
    receipt_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "obj_or_default")]
    buyer_info: WirePerson,
    #[serde(default, deserialize_with = "vec_or_empty")]
    shipment_list: Vec<DetailShipment>,
    #[serde(default, deserialize_with = "opt_string")]
    communication: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    shop_memo: Option<String>,
    #[serde(default, deserialize_with = "opt_datetime")]
    date_last_updated: Option<NaiveDateTime>,
}

impl DetailOrder {
    fn into_order(self, raw: RawJson) -> Result<Order, String> {
        Ok(Order {
            shape: OrderShape::Detail,
            order_no: require_order_no(self.order_no)?,
            order_type: self.order_type,
            date: self.date,
            status: self.status,
            payment_type: self.payment_type,
            payment_status: self.payment_status,
            receipt_date: self.receipt_date,
            amounts: self.amounts.into(),
            buyer: self.buyer_info.into(),
            shipments: self.shipment_list.into_iter().map(Into::into).collect(),
            communication: self.communication,
            shop_memo: self.shop_memo,
            date_last_updated: self.date_last_updated,
            raw,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetailShipment {
    #[serde(default, deserialize_with = "i64_or_zero")]
    shipment_no: i64,
    #[serde(default, deserialize_with = "obj_or_default")]
    address_info: WirePerson,
    #[serde(default, deserialize_with = "opt_string")]
    delivery_service_name: Option<String>,
    #[serde(default, deserialize_with = "bool_lenient")]
    is_cool_delivery: bool,
    #[serde(default, deserialize_with = "opt_string")]
    invoice_no: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    expected_arrival: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_date")]
    preferred_delivery_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_string")]
    preferred_delivery_time: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    shipping_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_bool")]
    shipped: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    instructions: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    gift_wrapping_label: Option<String>,
    #[serde(default, deserialize_with = "i64_or_zero")]
    gift_wrapping_charge: i64,
    #[serde(default, deserialize_with = "vec_or_empty")]
    product_list: Vec<WireProduct>,
}

impl From<DetailShipment> for Shipment {
    fn from(s: DetailShipment) -> Self {
        Shipment {
            shipment_no: s.shipment_no,
            address: s.address_info.into(),
            delivery_service_name: s.delivery_service_name,
            is_cool_delivery: s.is_cool_delivery,
            invoice_no: s.invoice_no,
            expected_arrival: s.expected_arrival,
            preferred_delivery_date: s.preferred_delivery_date,
            preferred_delivery_time: s.preferred_delivery_time,
            shipped: s.shipped.unwrap_or(s.shipping_date.is_some()),
            shipping_date: s.shipping_date,
            instructions: s.instructions,
            gift_wrapping_label: s.gift_wrapping_label,
            gift_wrapping_charge: s.gift_wrapping_charge,
            products: s.product_list.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types shared by both shapes

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireAmounts {
    #[serde(default, deserialize_with = "i64_or_zero")]
    grand_total: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    total_cost: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    product_total: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    tax_total: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    postage: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    payment_charge_total: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    discount_total: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    used_point_price: i64,
}

impl From<WireAmounts> for Amounts {
    fn from(a: WireAmounts) -> Self {
        Amounts {
            grand_total: a.grand_total,
            total_cost: a.total_cost,
            product_total: a.product_total,
            tax_total: a.tax_total,
            postage: a.postage,
            payment_charge_total: a.payment_charge_total,
            discount_total: a.discount_total,
            used_point_price: a.used_point_price,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WirePerson {
    #[serde(default, deserialize_with = "string")]
    last_name: String,
    #[serde(default, deserialize_with = "string")]
    first_name: String,
    #[serde(default, deserialize_with = "string")]
    last_name_kana: String,
    #[serde(default, deserialize_with = "string")]
    first_name_kana: String,
    // List shape says postalCode, detail shape and buyerInfo say zipCode.
    #[serde(default, deserialize_with = "string")]
    postal_code: String,
    #[serde(default, deserialize_with = "string")]
    zip_code: String,
    #[serde(default, deserialize_with = "string")]
    prefecture: String,
    #[serde(default, deserialize_with = "string")]
    address1: String,
    #[serde(default, deserialize_with = "string")]
    address2: String,
    #[serde(default, deserialize_with = "string")]
    address3: String,
    #[serde(default, deserialize_with = "string")]
    phone_no: String,
    #[serde(default, deserialize_with = "string")]
    tel_no_main: String,
    #[serde(default, deserialize_with = "string")]
    mail: String,
    #[serde(default, deserialize_with = "string")]
    company_name: String,
}

impl From<WirePerson> for Person {
    fn from(p: WirePerson) -> Self {
        Person {
            last_name: p.last_name,
            first_name: p.first_name,
            last_name_kana: p.last_name_kana,
            first_name_kana: p.first_name_kana,
            postal_code: if p.postal_code.is_empty() {
                p.zip_code
            } else {
                p.postal_code
            },
            prefecture: p.prefecture,
            address1: p.address1,
            address2: p.address2,
            address3: p.address3,
            phone: if p.phone_no.is_empty() {
                p.tel_no_main
            } else {
                p.phone_no
            },
            mail: p.mail,
            company_name: p.company_name,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProduct {
    #[serde(default, deserialize_with = "string")]
    sku_no: String,
    #[serde(default, deserialize_with = "opt_string")]
    product_no: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    jan_code: Option<String>,
    #[serde(default, deserialize_with = "string")]
    name: String,
    #[serde(default, deserialize_with = "opt_string")]
    vertical_variation_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    horizontal_variation_name: Option<String>,
    #[serde(default, deserialize_with = "i64_or_zero")]
    price: i64,
    #[serde(default, deserialize_with = "i64_or_zero")]
    count: i64,
    #[serde(default, deserialize_with = "bool_lenient")]
    preorder: bool,
    #[serde(default, deserialize_with = "opt_string")]
    tax_rate_code: Option<String>,
    #[serde(default, deserialize_with = "vec_or_empty")]
    option_list: Vec<WireOption>,
    #[serde(default, deserialize_with = "vec_or_empty")]
    option_price_list: Vec<WireOption>,
}

/// An element of `optionList` (`name`, `selectionItem`) or of `optionPriceList` (`name`,
/// `selectionName`, `price`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireOption {
    #[serde(default, deserialize_with = "string")]
    name: String,
    #[serde(default, deserialize_with = "string")]
    selection_item: String,
    #[serde(default, deserialize_with = "string")]
    selection_name: String,
    #[serde(default, deserialize_with = "opt_i64")]
    price: Option<i64>,
}

/// The choices of `optionList`, each with its price from `optionPriceList` when it has one;
/// priced options missing from `optionList` are kept too.
fn merge_options(list: Vec<WireOption>, prices: Vec<WireOption>) -> Vec<ProductOption> {
    let mut out: Vec<ProductOption> = list
        .into_iter()
        .map(|o| {
            let value = if o.selection_item.is_empty() {
                o.selection_name
            } else {
                o.selection_item
            };
            ProductOption {
                price: prices
                    .iter()
                    .find(|p| p.name == o.name && p.selection_name == value)
                    .and_then(|p| p.price),
                name: o.name,
                value,
            }
        })
        .collect();
    for p in prices {
        if !out
            .iter()
            .any(|o| o.name == p.name && o.value == p.selection_name)
        {
            out.push(ProductOption {
                name: p.name,
                value: p.selection_name,
                price: p.price,
            });
        }
    }
    out
}

impl From<WireProduct> for LineItem {
    fn from(p: WireProduct) -> Self {
        LineItem {
            sku_no: p.sku_no,
            product_no: p.product_no,
            jan_code: p.jan_code,
            name: p.name,
            vertical_variation_name: p.vertical_variation_name,
            horizontal_variation_name: p.horizontal_variation_name,
            price: p.price,
            count: p.count,
            preorder: p.preorder,
            tax_rate_code: p.tax_rate_code,
            options: merge_options(p.option_list, p.option_price_list),
        }
    }
}

fn require_order_no(no: Option<String>) -> Result<String, String> {
    match no {
        Some(no) if !no.trim().is_empty() => Ok(no.trim().to_string()),
        _ => Err("order has no orderNo".to_string()),
    }
}

fn opt_payment_status<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<PaymentStatus>, D::Error> {
    Ok(opt_string(d)?.map(|s| PaymentStatus::parse(&s)))
}

fn opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Inventory (在庫検索API)

/// One product of the inventory search. Only the fields shukka uses are typed; the raw JSON is
/// kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: Option<i64>,
    pub product_no: String,
    pub name: String,
    pub unit_price: i64,
    pub skus: Vec<SkuStock>,
    pub raw: RawJson,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SkuStock {
    pub sku_no: String,
    pub vertical_no: String,
    pub horizontal_no: String,
    pub jan_code: String,
    pub count: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProductEntry {
    #[serde(default, deserialize_with = "opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    product_no: Option<String>,
    #[serde(default, deserialize_with = "string")]
    name: String,
    #[serde(default, deserialize_with = "i64_or_zero")]
    unit_price: i64,
    #[serde(default)]
    inventory_info: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireSku {
    #[serde(default, deserialize_with = "string")]
    sku_no: String,
    #[serde(default, deserialize_with = "string")]
    vertical_no: String,
    #[serde(default, deserialize_with = "string")]
    horizontal_no: String,
    #[serde(default, deserialize_with = "string")]
    jan_code: String,
    #[serde(default, deserialize_with = "i64_or_zero")]
    count: i64,
}

impl Product {
    pub fn from_json(raw: Value) -> Result<Product, String> {
        Product::from_text(&to_raw(&raw)?)
    }

    pub fn from_text(raw: &RawValue) -> Result<Product, String> {
        let p: WireProductEntry = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
        let product_no = match p.product_no {
            Some(no) if !no.trim().is_empty() => no,
            _ => return Err("product has no productNo".into()),
        };
        let skus = p
            .inventory_info
            .as_ref()
            .and_then(|i| i.get("regular"))
            .and_then(|r| r.get("inventoryList"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| serde_json::from_value::<WireSku>(v.clone()).ok())
                    .map(|s| SkuStock {
                        sku_no: s.sku_no,
                        vertical_no: s.vertical_no,
                        horizontal_no: s.horizontal_no,
                        jan_code: s.jan_code,
                        count: s.count,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Product {
            id: p.id,
            product_no,
            name: p.name,
            unit_price: p.unit_price,
            skus,
            raw: RawJson::from_raw(raw),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Updates (発送API, 在庫更新API)

/// One shipment's tracking data for the 発送API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingUpdate {
    pub order_no: String,
    pub shipment_no: i64,
    pub invoice_no: String,
    pub shipping_date: Option<NaiveDate>,
    pub expected_arrival: Option<NaiveDate>,
}

/// The outcome of one item of a batch update, in the order the items were given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub key: String,
    pub accepted: bool,
    /// futureshop answered for this item (accepted or refused it). False when the request
    /// could not be completed at all: the item may be sent again later.
    pub answered: bool,
    /// futureshop's result code (`CannotUpdateStorePickup`, `ProductNotFound`, …) on failure.
    pub code: Option<String>,
    pub message: Option<String>,
}

/// A stock change for the 在庫更新API: an absolute count or a relative delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockCount {
    Set(i64),
    Delta(i64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryUpdate {
    pub product_no: String,
    pub vertical_no: String,
    pub horizontal_no: String,
    pub count: StockCount,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list_order() -> Value {
        json!({
            "orderNo": "100000020732", "type": "REGULAR", "date": "2021-07-07T21:16:17",
            "status": "AWAITING_PAYMENT", "grandTotal": 3280, "totalCost": "3280",
            "paymentType": "COD", "receiptDate": "", "isMember": true,
            "buyerInfo": {"memberId": "1", "lastName": "山田", "firstName": "太郎",
                          "zipCode": "1500001", "prefecture": "TOKYO", "orderCount": "4"},
            "shipmentList": [{
                "shipmentNo": 1,
                "addressInfo": {"lastName": "山田", "firstName": "花子", "postalCode": "1500001",
                                "prefecture": "TOKYO", "address1": "渋谷区神宮前", "address2": "1-2-3",
                                "address3": "", "phoneNo": "090-0000-0000"},
                "shippingInfo": {"deliveryServiceName": "宅配便", "isCoolDelivery": false,
                                 "invoiceNo": "", "expectedArrival": "", "preferredDeliveryDate": "",
                                 "preferredDeliveryTime": "", "shippingDate": ""},
                "productList": [{"skuNo": "TEA-001", "name": "ほうじ茶", "price": 1080, "count": "3"}]
            }],
            "someFutureField": {"x": 1}
        })
    }

    #[test]
    fn list_shape_normalises() {
        let o = Order::from_list_json(list_order()).expect("parse");
        assert_eq!(o.order_no, "100000020732");
        assert_eq!(o.amounts.total_cost, 3280);
        assert_eq!(o.payment_type, Some(PaymentType::Cod));
        assert!(!o.is_paid());
        let s = &o.shipments[0];
        assert_eq!(s.address.postal_code, "1500001");
        assert_eq!(s.address.phone, "090-0000-0000");
        assert_eq!(s.delivery_service_name.as_deref(), Some("宅配便"));
        assert!(!s.shipped);
        assert_eq!(s.products[0].count, 3);
        assert_eq!(o.buyer.postal_code, "1500001");
        // Unknown keys survive in raw.
        assert_eq!(o.raw.to_value()["someFutureField"]["x"], 1);
    }

    #[test]
    fn detail_shape_normalises() {
        let raw = json!({
            "orderNo": "100000020733", "date": "2021-07-08T10:00:00", "status": "AWAITING_PAYMENT",
            "paymentType": "BANK_TRANSFER", "paymentStatus": "RECEIVED", "receiptDate": "2021-07-09",
            "grandTotal": 5000, "dateLastUpdated": "2021-07-09T11:00:00",
            "buyerInfo": {"lastName": "佐藤", "orderCount": "2", "totalOrderCount": "7"},
            "shipmentList": [{
                "shipmentNo": 1, "deliveryServiceName": "宅配便", "shipped": true,
                "shippingDate": "2021-07-10", "invoiceNo": "1234",
                "addressInfo": {"lastName": "佐藤", "zipCode": "5300001", "prefecture": "OSAKA"},
                "productList": [{"productNo": "P1", "skuNo": "P1-01", "name": "x", "price": 500, "count": 10}]
            }]
        });
        let o = Order::from_detail_json(raw.clone()).expect("parse");
        assert_eq!(o.shape, OrderShape::Detail);
        assert!(o.is_paid());
        assert_eq!(o.shipments[0].address.postal_code, "5300001");
        assert!(o.shipments[0].shipped);
        assert_eq!(o.shipments[0].products[0].product_no.as_deref(), Some("P1"));
        assert_eq!(
            Order::from_any_json(raw).expect("any").shape,
            OrderShape::Detail
        );
        assert_eq!(
            Order::from_any_json(list_order()).expect("any").shape,
            OrderShape::List
        );
    }

    #[test]
    fn unknown_payment_type_is_preserved() {
        let mut raw = list_order();
        raw["paymentType"] = json!("QUANTUM_PAY");
        let o = Order::from_list_json(raw).expect("parse");
        assert_eq!(
            o.payment_type,
            Some(PaymentType::Other("QUANTUM_PAY".into()))
        );
        assert_eq!(o.raw.to_value()["paymentType"], "QUANTUM_PAY");
    }

    #[test]
    fn missing_order_no_is_an_error_not_a_panic() {
        let mut raw = list_order();
        raw["orderNo"] = json!("");
        assert!(Order::from_list_json(raw).is_err());
        assert!(Order::from_list_json(json!("not an object")).is_err());
    }

    #[test]
    fn list_shape_receipt_date_means_paid() {
        let mut raw = list_order();
        raw["receiptDate"] = json!("2021-07-08");
        assert!(Order::from_list_json(raw).expect("parse").is_paid());
    }

    #[test]
    fn odd_shapes_do_not_fail() {
        let raw = json!({"orderNo": 100000000001i64, "shipmentList": "", "buyerInfo": "",
                         "grandTotal": null, "status": "SOMETHING_NEW"});
        let o = Order::from_list_json(raw).expect("parse");
        assert_eq!(o.order_no, "100000000001");
        assert!(o.shipments.is_empty());
        assert_eq!(o.status, Some(OrderStatus::Other("SOMETHING_NEW".into())));
    }

    #[test]
    fn product_parses_inventory_list() {
        let raw = json!({"id": 6, "productNo": "A001", "name": "タオル", "unitPrice": "1200",
        "inventoryInfo": {"regular": {"inventoryList": [
            {"skuNo": "A001-01", "verticalNo": "", "horizontalNo": "01", "janCode": "", "count": 5}
        ]}}});
        let p = Product::from_json(raw).expect("parse");
        assert_eq!(p.unit_price, 1200);
        assert_eq!(p.skus.len(), 1);
        assert_eq!(p.skus[0].horizontal_no, "01");
        assert!(Product::from_json(json!({"id": 7})).is_err());
    }
}
