//! 出荷指示 (shipping instructions), their statuses, and 取込エラー.

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub use crate::rawjson::RawJson;

use crate::futureshop::Amounts;

crate::named_enum! {
    /// The status of an instruction: the queues operators work.
    #[derive(PartialOrd, Ord)]
    pub enum Status {
        /// Held until payment is confirmed (shown as 保留(入金確認)).
        AwaitingPayment = "入金確認",
        /// Held for any other reason (see hold reasons).
        Held = "保留",
        Ready = "出荷待ち",
        InProgress = "出荷作業中",
        Shipped = "出荷済み",
        Cancelled = "キャンセル",
    }
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::from_name(s).or_else(|| {
            Status::ALL.into_iter().find(|st| {
                (s == "保留(入金確認)" && *st == Status::AwaitingPayment)
                    || st.code().eq_ignore_ascii_case(s)
            })
        })
    }

    /// A stable ASCII code (for keys and for scripts that cannot type Japanese).
    pub fn code(self) -> &'static str {
        match self {
            Status::AwaitingPayment => "awaiting-payment",
            Status::Held => "held",
            Status::Ready => "ready",
            Status::InProgress => "in-progress",
            Status::Shipped => "shipped",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn index(self) -> u8 {
        self as u8
    }

    pub fn from_index(i: u8) -> Option<Status> {
        Status::ALL.get(usize::from(i)).copied()
    }

    /// Still to be worked on (ステータス同期 re-reads these).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::AwaitingPayment | Status::Held | Status::Ready | Status::InProgress
        )
    }
}

crate::named_enum! {
    /// 入金フラグ.
    pub enum PaymentFlag {
        Unpaid = "未入金",
        Paid = "入金済",
        /// Collected on or after delivery (COD, post-pay): never held for payment.
        NotRequired = "入金不要",
    }
}

impl PaymentFlag {
    pub fn settled(self) -> bool {
        !matches!(self, PaymentFlag::Unpaid)
    }
}

crate::named_enum! {
    /// What was done about a 出荷後キャンセル, as the operator who acknowledged it said.
    pub enum LateCancelAction {
        /// The parcel was stopped before it left.
        Stopped = "倉庫で止めた",
        /// The carrier was asked to bring it back.
        ReturnRequested = "運送会社に返送依頼",
        /// It went out anyway (the shop settles with the customer).
        ShippedAnyway = "出荷済みのまま",
    }
}

impl LateCancelAction {
    /// For scripts: `stopped`, `return`, `shipped`.
    pub fn code(self) -> &'static str {
        match self {
            LateCancelAction::Stopped => "stopped",
            LateCancelAction::ReturnRequested => "return",
            LateCancelAction::ShippedAnyway => "shipped",
        }
    }

    pub fn parse(s: &str) -> Option<LateCancelAction> {
        let s = s.trim();
        LateCancelAction::from_name(s).or_else(|| {
            LateCancelAction::ALL
                .into_iter()
                .find(|a| a.code().eq_ignore_ascii_case(s))
        })
    }
}

/// An operator acknowledged a 出荷後キャンセル: who, when, and what was done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateCancelAck {
    pub action: LateCancelAction,
    pub note: String,
    pub at: DateTime<FixedOffset>,
    pub actor: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub name_kana: String,
    pub postal_code: String,
    /// futureshop's token (`TOKYO`) as received.
    pub prefecture: String,
    pub address: String,
    pub phone: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub sku_no: String,
    pub name: String,
    pub count: i64,
    pub price: i64,
    /// JAN code, when futureshop has one.
    #[serde(default)]
    pub jan_code: String,
    /// futureshop's tax class (`taxRateCode`: `STANDARD`, `REDUCED`).
    #[serde(default)]
    pub tax_class: String,
    /// What the customer chose for the product's options (名入れ, サイズ…), with their price.
    #[serde(default)]
    pub options: Vec<ItemOption>,
}

/// One option of an ordered product (`optionList` / `optionPriceList`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOption {
    pub name: String,
    pub value: String,
    /// The option's price, when it has one.
    #[serde(default)]
    pub price: Option<i64>,
}

impl std::fmt::Display for ItemOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.value)?;
        if let Some(p) = self.price {
            write!(f, " (+{p}円)")?;
        }
        Ok(())
    }
}

/// A shipment futureshop reports shipped — by shukka's own 出荷実績連携 or by someone else (the
/// shop's admin screen, another system). Such a shipment is never labelled or sent again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamShipment {
    /// futureshop's invoice (tracking) number, possibly empty.
    pub invoice_no: String,
    pub shipping_date: Option<NaiveDate>,
    /// When shukka learned it.
    pub seen_at: DateTime<FixedOffset>,
}

/// One delivery address of an instruction (one futureshop shipment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub shipment_no: i64,
    pub address: Address,
    pub delivery_method: String,
    pub store_pickup: bool,
    pub cool: bool,
    pub requested_date: Option<NaiveDate>,
    pub requested_time: Option<String>,
    pub items: Vec<Item>,
    pub tracking_no: Option<String>,
    /// futureshop accepted this shipment's tracking data (never sent again).
    #[serde(default)]
    pub upstream_accepted: bool,
    /// 配送指示: the customer's delivery instructions for this shipment.
    #[serde(default)]
    pub instructions: Option<String>,
    /// のし・ラッピング: the gift wrapping label the customer asked for.
    #[serde(default)]
    pub gift_label: Option<String>,
    #[serde(default)]
    pub gift_charge: i64,
    /// futureshop reports this shipment shipped, not through shukka (see [`UpstreamShipment`]).
    #[serde(default)]
    pub shipped_in_futureshop: Option<UpstreamShipment>,
    /// 配送方法の判定: the carrier, service and time code decided for it.
    #[serde(default)]
    pub delivery: Option<super::DeliveryDecision>,
    /// The label exported for it (送り状発行済).
    #[serde(default)]
    pub label: Option<super::LabelRecord>,
}

impl Destination {
    /// Still to be shipped by shukka: futureshop does not report it shipped already.
    pub fn is_open(&self) -> bool {
        self.shipped_in_futureshop.is_none()
    }
}

/// Whether intake read the order's detail (受注取得API), which alone carries the customer's
/// notes, delivery instructions, gift labels and product options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DetailState {
    /// Taken in from the search list only (details switched off, or an older build).
    #[default]
    NotRequested,
    Fetched,
    /// The detail could not be read (詳細未取得): held, and read again on the next fetch.
    Missing {
        attempts: u32,
        error: String,
    },
}

impl DetailState {
    pub fn is_missing(&self) -> bool {
        matches!(self, DetailState::Missing { .. })
    }
}

/// The hold reason of an instruction whose detail could not be read.
pub const DETAIL_MISSING: &str = "詳細未取得";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    pub carrier: Option<String>,
    pub ship_date: NaiveDate,
    pub expected_arrival: Option<NaiveDate>,
}

/// Whether the shipment data reached futureshop (出荷実績連携).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Upstream {
    /// Nothing to send (not shipped yet).
    #[default]
    Idle,
    /// Shipped here, waiting for the next 出荷実績連携 run.
    Pending,
    /// futureshop accepted it: never sent again.
    Accepted { at: DateTime<FixedOffset> },
    /// futureshop reports it shipped already, by someone other than shukka: nothing to send.
    External { at: DateTime<FixedOffset> },
    /// futureshop refused it (e.g. CannotUpdateStorePickup): 実績連携エラー.
    Refused {
        code: String,
        message: String,
        at: DateTime<FixedOffset>,
    },
    /// Could not be sent (network, 5xx): retried on later runs.
    Failed {
        message: String,
        attempts: u32,
        at: DateTime<FixedOffset>,
    },
}

impl Upstream {
    pub fn needs_sending(&self) -> bool {
        matches!(self, Upstream::Pending | Upstream::Failed { .. })
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Upstream::Refused { .. })
    }
}

/// One decision of a processing robot on an instruction (the rule trace).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub at: DateTime<FixedOffset>,
    pub robot_id: u64,
    pub robot_name: String,
    pub decision: String,
}

/// 出荷指示.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instruction {
    pub id: u64,
    /// Bumped on every change: writers compare it to refuse lost updates.
    pub version: u64,
    pub auth_id: u64,
    pub order_no: String,
    pub converter_id: u64,
    pub ship_from_id: Option<u64>,
    pub order_date: Option<NaiveDateTime>,
    pub order_type: Option<String>,
    pub buyer: Address,
    pub buyer_mail: String,
    pub destinations: Vec<Destination>,
    /// futureshop's token (`COD`, `BANK_TRANSFER`, or an unknown one kept verbatim).
    pub payment_type: Option<String>,
    pub amounts: Amounts,
    pub payment: PaymentFlag,
    pub status: Status,
    pub hold_reasons: BTreeSet<String>,
    /// The customer's note (futureshop `communication`).
    pub notes: Option<String>,
    /// The shop's own memo on the order (`shopMemo`).
    #[serde(default)]
    pub shop_memo: Option<String>,
    #[serde(default)]
    pub detail: DetailState,
    pub tracking: Option<Tracking>,
    pub upstream: Upstream,
    /// futureshop cancelled it after the warehouse started (出荷後キャンセル).
    pub cancelled_after_shipment: bool,
    /// The operator's acknowledgement of that cancellation (until then every console shows it).
    #[serde(default)]
    pub late_cancel_ack: Option<LateCancelAck>,
    /// The 同梱 group it belongs to while that group is open (proposed or merged).
    #[serde(default)]
    pub bundle: Option<u64>,
    /// Instructions an operator said 同梱しない with: never proposed together again.
    #[serde(default)]
    pub bundle_never: BTreeSet<u64>,
    /// futureshop's order status as last seen.
    pub upstream_status: Option<String>,
    pub trace: Vec<TraceEntry>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub updated_by: String,
    /// How intake triaged it: the first line of its history.
    #[serde(default)]
    pub intake: Option<IntakeRecord>,
    /// The futureshop order exactly as fetched.
    pub raw: RawJson,
}

/// The status intake gave an instruction, by which converter, and why (the rule trace then).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub status: Status,
    pub actor: super::Actor,
    pub reason: String,
}

impl Instruction {
    /// The first destination's recipient (配送先), or the buyer when it has no name.
    pub fn recipient_name(&self) -> &str {
        self.destinations
            .first()
            .map(|d| d.address.name.as_str())
            .filter(|n| !n.is_empty())
            .unwrap_or(self.buyer.name.as_str())
    }

    /// A 出荷後キャンセル no operator has acknowledged yet.
    pub fn late_cancel_open(&self) -> bool {
        self.cancelled_after_shipment && self.late_cancel_ack.is_none()
    }

    /// futureshop reports it shipped by someone other than shukka.
    pub fn shipped_outside(&self) -> bool {
        matches!(self.upstream, Upstream::External { .. })
    }

    /// Destinations shukka still has to ship.
    pub fn open_destinations(&self) -> impl Iterator<Item = &Destination> {
        self.destinations.iter().filter(|d| d.is_open())
    }

    pub fn prefecture(&self) -> &str {
        self.destinations
            .first()
            .map(|d| d.address.prefecture.as_str())
            .unwrap_or(self.buyer.prefecture.as_str())
    }

    pub fn item_count(&self) -> i64 {
        self.destinations
            .iter()
            .flat_map(|d| &d.items)
            .map(|i| i.count)
            .sum()
    }

    pub fn skus(&self) -> impl Iterator<Item = &str> {
        self.destinations
            .iter()
            .flat_map(|d| d.items.iter().map(|i| i.sku_no.as_str()))
    }

    pub fn summary(&self) -> InstructionSummary {
        InstructionSummary {
            id: self.id,
            version: self.version,
            auth_id: self.auth_id,
            order_no: self.order_no.clone(),
            order_date: self.order_date,
            buyer: self.buyer.name.clone(),
            recipient: self.recipient_name().to_string(),
            prefecture: self.prefecture().to_string(),
            items: self.item_count(),
            skus: self
                .skus()
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            amount: self.amounts.grand_total,
            payment_type: self.payment_type.clone().unwrap_or_default(),
            payment: self.payment,
            status: self.status,
            hold_reasons: self.hold_reasons.iter().cloned().collect(),
            upstream_error: self.upstream.is_error(),
            cancelled_after_shipment: self.cancelled_after_shipment,
            late_cancel_open: self.late_cancel_open(),
            shipped_outside: self.shipped_outside(),
            bundle: self.bundle,
            updated_at: self.updated_at,
        }
    }
}

/// What a list of instructions shows: small, so that 100,000 of them load fast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstructionSummary {
    pub id: u64,
    pub version: u64,
    pub auth_id: u64,
    pub order_no: String,
    pub order_date: Option<NaiveDateTime>,
    /// 注文者: who ordered.
    #[serde(default)]
    pub buyer: String,
    /// 配送先: who receives the (first) parcel.
    #[serde(alias = "customer")]
    pub recipient: String,
    /// The recipient's prefecture.
    pub prefecture: String,
    pub items: i64,
    pub skus: Vec<String>,
    pub amount: i64,
    pub payment_type: String,
    pub payment: PaymentFlag,
    pub status: Status,
    pub hold_reasons: Vec<String>,
    pub upstream_error: bool,
    pub cancelled_after_shipment: bool,
    /// A 出荷後キャンセル no operator has acknowledged yet.
    #[serde(default)]
    pub late_cancel_open: bool,
    /// Shipped in futureshop by someone other than shukka.
    #[serde(default)]
    pub shipped_outside: bool,
    /// The 同梱 group it is in.
    #[serde(default)]
    pub bundle: Option<u64>,
    pub updated_at: DateTime<FixedOffset>,
}

/// 取込エラー: an order refused at intake, kept with its raw JSON so it can be re-tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntakeError {
    pub id: u64,
    pub auth_id: u64,
    /// Empty when the order could not even be read.
    pub order_no: String,
    pub converter_id: u64,
    pub reason: String,
    /// Which robot refused it (None for conversion errors).
    pub robot_id: Option<u64>,
    pub order_date: Option<NaiveDateTime>,
    pub first_seen: DateTime<FixedOffset>,
    pub last_seen: DateTime<FixedOffset>,
    pub attempts: u32,
    pub raw: RawJson,
}

impl IntakeError {
    /// What a list (and an event) carries: everything but the raw order.
    pub fn summary(&self) -> IntakeErrorSummary {
        IntakeErrorSummary {
            id: self.id,
            auth_id: self.auth_id,
            order_no: self.order_no.clone(),
            converter_id: self.converter_id,
            reason: self.reason.clone(),
            robot_id: self.robot_id,
            order_date: self.order_date,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            attempts: self.attempts,
        }
    }
}

/// 取込エラー without its raw order: what the queue shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeErrorSummary {
    pub id: u64,
    pub auth_id: u64,
    pub order_no: String,
    pub converter_id: u64,
    pub reason: String,
    pub robot_id: Option<u64>,
    pub order_date: Option<NaiveDateTime>,
    pub first_seen: DateTime<FixedOffset>,
    pub last_seen: DateTime<FixedOffset>,
    pub attempts: u32,
}
