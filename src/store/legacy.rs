//! Record layouts of earlier schemas, frozen, so that their records can still be read.
//!
//! Schema 2 packed instructions with postcard, which is not self-describing: its records can be
//! read only with the exact struct they were written with. Those structs live here, unchanged
//! forever; schema 3 writes self-describing records (MessagePack with field names), so adding a
//! field no longer needs a copy like this.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::domain::{self, Actor, PaymentFlag, RawJson, Status};

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct AddressV1 {
    name: String,
    name_kana: String,
    postal_code: String,
    prefecture: String,
    address: String,
    phone: String,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ItemV1 {
    sku_no: String,
    name: String,
    count: i64,
    price: i64,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct DestinationV1 {
    shipment_no: i64,
    address: AddressV1,
    delivery_method: String,
    store_pickup: bool,
    cool: bool,
    requested_date: Option<NaiveDate>,
    requested_time: Option<String>,
    items: Vec<ItemV1>,
    tracking_no: Option<String>,
    upstream_accepted: bool,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct TrackingV1 {
    carrier: Option<String>,
    ship_date: NaiveDate,
    expected_arrival: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub enum UpstreamV1 {
    Idle,
    Pending,
    Accepted {
        at: DateTime<FixedOffset>,
    },
    Refused {
        code: String,
        message: String,
        at: DateTime<FixedOffset>,
    },
    Failed {
        message: String,
        attempts: u32,
        at: DateTime<FixedOffset>,
    },
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct TraceEntryV1 {
    at: DateTime<FixedOffset>,
    robot_id: u64,
    robot_name: String,
    decision: String,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub enum ActorV1 {
    Operator(String),
    Robot { id: u64, name: String },
    System,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct IntakeRecordV1 {
    status: Status,
    actor: ActorV1,
    reason: String,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct AmountsV1 {
    grand_total: i64,
    total_cost: i64,
    product_total: i64,
    tax_total: i64,
    postage: i64,
    payment_charge_total: i64,
    discount_total: i64,
    used_point_price: i64,
}

/// An instruction as schema 2 packed it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct InstructionV1 {
    id: u64,
    version: u64,
    auth_id: u64,
    order_no: String,
    converter_id: u64,
    ship_from_id: Option<u64>,
    order_date: Option<NaiveDateTime>,
    order_type: Option<String>,
    buyer: AddressV1,
    buyer_mail: String,
    destinations: Vec<DestinationV1>,
    payment_type: Option<String>,
    amounts: AmountsV1,
    payment: PaymentFlag,
    status: Status,
    hold_reasons: BTreeSet<String>,
    notes: Option<String>,
    tracking: Option<TrackingV1>,
    upstream: UpstreamV1,
    cancelled_after_shipment: bool,
    upstream_status: Option<String>,
    trace: Vec<TraceEntryV1>,
    created_at: DateTime<FixedOffset>,
    updated_at: DateTime<FixedOffset>,
    updated_by: String,
    intake: Option<IntakeRecordV1>,
    raw: RawJson,
}

impl From<AddressV1> for domain::Address {
    fn from(a: AddressV1) -> Self {
        domain::Address {
            name: a.name,
            name_kana: a.name_kana,
            postal_code: a.postal_code,
            prefecture: a.prefecture,
            address: a.address,
            phone: a.phone,
        }
    }
}

impl From<InstructionV1> for domain::Instruction {
    fn from(v: InstructionV1) -> Self {
        domain::Instruction {
            id: v.id,
            version: v.version,
            auth_id: v.auth_id,
            order_no: v.order_no,
            converter_id: v.converter_id,
            ship_from_id: v.ship_from_id,
            order_date: v.order_date,
            order_type: v.order_type,
            buyer: v.buyer.into(),
            buyer_mail: v.buyer_mail,
            destinations: v
                .destinations
                .into_iter()
                .map(|d| domain::Destination {
                    shipment_no: d.shipment_no,
                    address: d.address.into(),
                    delivery_method: d.delivery_method,
                    store_pickup: d.store_pickup,
                    cool: d.cool,
                    requested_date: d.requested_date,
                    requested_time: d.requested_time,
                    items: d
                        .items
                        .into_iter()
                        .map(|i| domain::Item {
                            sku_no: i.sku_no,
                            name: i.name,
                            count: i.count,
                            price: i.price,
                            ..Default::default()
                        })
                        .collect(),
                    tracking_no: d.tracking_no,
                    upstream_accepted: d.upstream_accepted,
                    ..Default::default()
                })
                .collect(),
            payment_type: v.payment_type,
            amounts: crate::futureshop::Amounts {
                grand_total: v.amounts.grand_total,
                total_cost: v.amounts.total_cost,
                product_total: v.amounts.product_total,
                tax_total: v.amounts.tax_total,
                postage: v.amounts.postage,
                payment_charge_total: v.amounts.payment_charge_total,
                discount_total: v.amounts.discount_total,
                used_point_price: v.amounts.used_point_price,
            },
            payment: v.payment,
            status: v.status,
            hold_reasons: v.hold_reasons,
            notes: v.notes,
            shop_memo: None,
            detail: domain::DetailState::NotRequested,
            tracking: v.tracking.map(|t| domain::Tracking {
                carrier: t.carrier,
                ship_date: t.ship_date,
                expected_arrival: t.expected_arrival,
            }),
            upstream: match v.upstream {
                UpstreamV1::Idle => domain::Upstream::Idle,
                UpstreamV1::Pending => domain::Upstream::Pending,
                UpstreamV1::Accepted { at } => domain::Upstream::Accepted { at },
                UpstreamV1::Refused { code, message, at } => {
                    domain::Upstream::Refused { code, message, at }
                }
                UpstreamV1::Failed {
                    message,
                    attempts,
                    at,
                } => domain::Upstream::Failed {
                    message,
                    attempts,
                    at,
                },
            },
            cancelled_after_shipment: v.cancelled_after_shipment,
            late_cancel_ack: None,
            bundle: None,
            bundle_never: Default::default(),
            upstream_status: v.upstream_status,
            trace: v
                .trace
                .into_iter()
                .map(|t| domain::TraceEntry {
                    at: t.at,
                    robot_id: t.robot_id,
                    robot_name: t.robot_name,
                    decision: t.decision,
                })
                .collect(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            updated_by: v.updated_by,
            intake: v.intake.map(|r| domain::IntakeRecord {
                status: r.status,
                actor: match r.actor {
                    ActorV1::Operator(n) => Actor::Operator(n),
                    ActorV1::Robot { id, name } => Actor::Robot { id, name },
                    ActorV1::System => Actor::System,
                },
                reason: r.reason,
            }),
            raw: v.raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, keys};

    fn v1(id: u64) -> InstructionV1 {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00+09:00").expect("date");
        let addr = || AddressV1 {
            name: "山田 太郎".into(),
            name_kana: "ヤマダ タロウ".into(),
            postal_code: "1500001".into(),
            prefecture: "TOKYO".into(),
            address: "渋谷区神宮前1-2-3".into(),
            phone: "03-0000-0000".into(),
        };
        InstructionV1 {
            id,
            version: 4,
            auth_id: 1,
            order_no: format!("1000000000{id:02}"),
            converter_id: 18026,
            ship_from_id: Some(1),
            order_date: None,
            order_type: Some("REGULAR".into()),
            buyer: addr(),
            buyer_mail: "taro@example.jp".into(),
            destinations: vec![DestinationV1 {
                shipment_no: 1,
                address: AddressV1 {
                    name: "山田 花子".into(),
                    ..addr()
                },
                delivery_method: "宅配便".into(),
                store_pickup: false,
                cool: false,
                requested_date: None,
                requested_time: Some("午前中".into()),
                items: vec![ItemV1 {
                    sku_no: "TEA-1".into(),
                    name: "ほうじ茶".into(),
                    count: 2,
                    price: 864,
                }],
                tracking_no: Some("T-1".into()),
                upstream_accepted: true,
            }],
            payment_type: Some("COD".into()),
            amounts: AmountsV1 {
                grand_total: 2058,
                total_cost: 2058,
                product_total: 1728,
                tax_total: 187,
                postage: 0,
                payment_charge_total: 330,
                discount_total: 0,
                used_point_price: 0,
            },
            payment: PaymentFlag::NotRequired,
            status: Status::Shipped,
            hold_reasons: BTreeSet::new(),
            notes: Some("置き配".into()),
            tracking: Some(TrackingV1 {
                carrier: Some("ヤマト".into()),
                ship_date: at.date_naive(),
                expected_arrival: None,
            }),
            upstream: UpstreamV1::Refused {
                code: "CannotUpdateStorePickup".into(),
                message: "x".into(),
                at,
            },
            cancelled_after_shipment: false,
            upstream_status: Some("AWAITING_PAYMENT".into()),
            trace: vec![TraceEntryV1 {
                at,
                robot_id: 3,
                robot_name: "入金".into(),
                decision: "入金不要".into(),
            }],
            created_at: at,
            updated_at: at,
            updated_by: "op".into(),
            intake: Some(IntakeRecordV1 {
                status: Status::Ready,
                actor: ActorV1::Robot {
                    id: 18026,
                    name: "copy".into(),
                },
                reason: "r".into(),
            }),
            raw: RawJson::from_text("{\"orderNo\":\"x\"}".into()),
        }
    }

    /// A schema-2 store (postcard records, summaries without the buyer) is read and rewritten
    /// on open: every field survives, the new ones have their defaults.
    #[test]
    fn a_schema_2_store_is_migrated_on_open() {
        let dir = tempfile::tempdir().expect("tmp");
        drop(Store::open(dir.path()).expect("new store"));
        std::thread::sleep(std::time::Duration::from_millis(50));
        {
            let db = sled::open(dir.path().join("store")).expect("sled");
            let data = db.open_tree("data").expect("tree");
            for id in [7u64, 8] {
                let packed = super::super::pack(&v1(id)).expect("pack");
                let mut rec = vec![super::super::PACKED];
                rec.extend_from_slice(&packed);
                data.insert(keys::id_key(keys::INSTRUCTION, id), rec)
                    .expect("insert");
                // A schema-2 summary: `customer`, no `buyer`.
                let summary = serde_json::json!({
                    "id": id, "version": 4, "auth_id": 1, "order_no": format!("1000000000{id:02}"),
                    "order_date": null, "customer": "山田 花子", "prefecture": "TOKYO",
                    "items": 2, "skus": ["TEA-1"], "amount": 2058, "payment_type": "COD",
                    "payment": "入金不要", "status": "出荷済み", "hold_reasons": [],
                    "upstream_error": true, "cancelled_after_shipment": false,
                    "updated_at": "2026-11-01T10:00:00+09:00"
                });
                data.insert(
                    keys::id_key(keys::SUMMARY, id),
                    serde_json::to_vec(&summary).expect("json"),
                )
                .expect("insert");
            }
            data.insert(keys::str_key(keys::META, "schema"), &2u64.to_be_bytes())
                .expect("schema");
            db.flush().expect("flush");
        }
        let store = Store::open(dir.path()).expect("migrates");
        let i = store.instruction(7).expect("read").expect("exists");
        assert_eq!(i.order_no, "100000000007");
        assert_eq!(i.destinations[0].items[0].count, 2);
        assert_eq!(i.destinations[0].tracking_no.as_deref(), Some("T-1"));
        assert!(
            matches!(i.upstream, domain::Upstream::Refused { .. }),
            "variant kept"
        );
        assert_eq!(i.detail, domain::DetailState::NotRequested);
        assert_eq!(i.destinations[0].gift_label, None);
        let s = &store.summaries(None).expect("summaries")[0];
        assert_eq!(
            (s.buyer.as_str(), s.recipient.as_str()),
            ("山田 太郎", "山田 花子")
        );
        // Rewritten in the current layout.
        let raw = store
            .inner
            .data
            .get(keys::id_key(keys::INSTRUCTION, 8))
            .expect("get")
            .expect("some");
        assert_eq!(raw[0], super::super::codec::Dict::Instruction.tag());
        let raw = store
            .inner
            .data
            .get(keys::id_key(keys::SUMMARY, 8))
            .expect("get")
            .expect("some");
        assert_eq!(raw[0], super::super::codec::Dict::Summary.tag());
        assert_eq!(store.counts().get(Status::Shipped), 2);

        // Schema 3 (lz4 records, JSON summaries) is compressed on open, field for field.
        let before = store.instruction(8).expect("read").expect("exists");
        let summaries = store.summaries(None).expect("summaries");
        drop(store);
        std::thread::sleep(std::time::Duration::from_millis(50));
        {
            let db = sled::open(dir.path().join("store")).expect("sled");
            let data = db.open_tree("data").expect("tree");
            let named = rmp_serde::to_vec_named(&before).expect("msgpack");
            let mut rec = vec![super::super::NAMED];
            rec.extend_from_slice(&lz4_flex::compress_prepend_size(&named));
            data.insert(keys::id_key(keys::INSTRUCTION, 8), rec)
                .expect("insert");
            for s in &summaries {
                data.insert(
                    keys::id_key(keys::SUMMARY, s.id),
                    serde_json::to_vec(s).expect("json"),
                )
                .expect("insert");
            }
            data.insert(keys::str_key(keys::META, "schema"), &3u64.to_be_bytes())
                .expect("schema");
            db.flush().expect("flush");
        }
        let store = Store::open(dir.path()).expect("migrates from 3");
        assert_eq!(store.instruction(8).expect("read").as_ref(), Some(&before));
        assert_eq!(store.summaries(None).expect("summaries"), summaries);
        let raw = store
            .inner
            .data
            .get(keys::id_key(keys::INSTRUCTION, 8))
            .expect("get")
            .expect("some");
        assert_eq!(raw[0], super::super::codec::Dict::Instruction.tag());
    }
}
